"""The seed's maintenance scenarios: retrain on changed data through the CLI, the schema follows.

(The served form following these changes is checked in tests/browser.)"""
import json

import pandas as pd
import pytest

from helpers import ADULT_CSV, run_cli

ROWS = '4000'


def _schema(store, name='adult'):
    card = json.loads(run_cli('card', name, models=store, check=0).stdout)
    return {c['name']: c for c in card['schema']['inputs']}, card


def _train(store, csv):
    r = run_cli('train-tabular', '--csv', csv, '--target', 'salary', '--name', 'adult', '--epochs', '1',
                '--max-rows', ROWS, models=store, check=0)
    return r.stdout.split()[-1]


@pytest.fixture(scope='module')
def base(tmp_path_factory):
    d = tmp_path_factory.mktemp('maint')
    df = pd.read_csv(ADULT_CSV).sample(int(ROWS), random_state=0).reset_index(drop=True)
    df.to_csv(d / 'base.csv', index=False)
    store = d / 'models'
    assert _train(store, d / 'base.csv') == 'v1'
    return d, df, store


def test_new_category_value_appears_in_schema(base):
    d, df, store = base
    df = df.copy(); df.loc[:199, 'native-country'] = ' United-Kingdom'
    df.to_csv(d / 'uk.csv', index=False)
    before, _ = _schema(store)
    assert ' United-Kingdom' not in before['native-country']['values']
    _train(store, d / 'uk.csv')
    after, card = _schema(store)
    assert ' United-Kingdom' in after['native-country']['values'] and card['version'] == 'v2'


def test_new_continuous_and_categorical_columns(base):
    d, df, store = base
    df = df.copy()
    df['years-in-job'] = (df['age'] - 17).clip(0, 45)
    df['work-location'] = ['remote', 'on-site', 'mixed'] * (len(df) // 3) + ['remote'] * (len(df) % 3)
    df.to_csv(d / 'cols.csv', index=False)
    v = _train(store, d / 'cols.csv')
    cols, card = _schema(store)
    assert cols['years-in-job']['kind'] == 'continuous' and cols['years-in-job']['min'] == 0
    assert cols['years-in-job']['max'] == 45 and cols['years-in-job']['integer']
    assert sorted(cols['work-location']['values']) == ['mixed', 'on-site', 'remote']
    # predictions need the new column now, and say so if it is missing
    f = d / 'old_layout.csv'; df.drop(columns=['work-location']).head(3).to_csv(f, index=False)
    r = run_cli('predict', 'adult', f, models=store)
    assert r.returncode == 1 and 'work-location' in r.stdout
    # rollback: the previous version is active again and its schema has no new columns
    run_cli('activate', 'adult', 'v1', models=store, check=0)
    cols, card = _schema(store)
    assert card['version'] == 'v1' and 'years-in-job' not in cols and 'work-location' not in cols
    run_cli('activate', 'adult', v, models=store, check=0)

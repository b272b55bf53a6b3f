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


def test_a_retrain_keeps_what_the_card_said_unless_told_otherwise(base, tmp_path):
    """The README's retrain (no --describe) registered a card with `templates: {}`: answers lost "(this person
    earns $50k a year or less)" (#26 item 5). Labels, help and sentences carry over; --describe replaces them."""
    d, _, _ = base
    store, spec = tmp_path / 'models', tmp_path / 'labels.json'
    train = ('train-tabular', '--csv', d / 'base.csv', '--target', 'salary', '--name', 'adult', '--epochs', '1',
             '--max-rows', '800')
    run_cli(*train, '--describe', '>=50k=earns more', '--describe', '<50k=earns less', models=store, check=0)
    spec.write_text(json.dumps({'labels': {'age': 'Age (years)'}, 'help': {'age': 'in whole years'}}))
    run_cli('labels', 'adult', spec, models=store, check=0)
    r = run_cli(*train, models=store, check=0)
    assert 'adult: kept the sentences of v1 for >=50k, <50k (--describe to change them)' in r.stderr
    _, card = _schema(store)
    assert card['version'] == 'v2' and card['templates'] == {'>=50k': 'earns more', '<50k': 'earns less'}
    assert card['labels'] == {'age': 'Age (years)'} and card['help'] == {'age': 'in whole years'}
    run_cli(*train, '--describe', '<50k=at most $50k', models=store, check=0)
    _, card = _schema(store)
    assert card['version'] == 'v3' and card['templates'] == {'<50k': 'at most $50k'}


@pytest.fixture(scope='module')
def loop_store(base):
    "A store of its own, with the base model as v1: the other tests here change the schema of `base`'s."
    d, df, _ = base
    assert _train(d / 'loop_models', d / 'base.csv') == 'v1'
    return d / 'loop_models'


@pytest.mark.parametrize('change', ['new category value', 'new column', 'new categorical column'])
def test_retrain_compare_shadow_promote_and_roll_back(base, loop_store, change, tmp_path):
    "The safe path from 'retrained' to 'serving': --no-activate, compare, shadow, promote, roll back."
    from predictors import ModelStore
    from predictors.monitoring.log import PredictionLog
    from predictors.service.local import LocalModels
    _, df, _ = base
    store = loop_store
    df = df.copy()
    if change == 'new category value': df.loc[:199, 'native-country'] = ' United-Kingdom'
    if change == 'new column': df['tenure'] = (df['age'] - 16).clip(lower=0)
    if change == 'new categorical column': df['region'] = df['native-country'].map(lambda c: 'US' if 'States' in c else 'abroad')
    df.to_csv(tmp_path / 'new.csv', index=False)
    st = ModelStore(store)
    active = st.active_version('adult')
    r = run_cli('train-tabular', '--csv', tmp_path / 'new.csv', '--target', 'salary', '--name', 'adult', '--epochs', '1',
                '--max-rows', ROWS, '--no-activate', models=store, check=0)
    new = r.stdout.split()[1 + r.stdout.split().index('adult')]
    assert r.stdout.strip().endswith('(not active)') and st.active_version('adult') == active != new
    # compare on labelled rows: accuracy of both, McNemar, and what the schema added
    df.sample(500, random_state=1).to_csv(tmp_path / 'labelled.csv', index=False)
    r = run_cli('compare', 'adult', active, new, '--csv', tmp_path / 'labelled.csv', models=store)
    assert r.returncode in (0, 1) and f'adult {active} (A) vs {new} (B) on 500 labelled row(s)' in r.stdout
    added = {'new column': 'tenure', 'new categorical column': 'region'}.get(change)
    assert f'columns added: {added or "none"}; removed: none' in r.stdout
    if change == 'new category value': assert 'native-country: new value(s) United-Kingdom' in r.stdout
    # shadow: the active version keeps answering; the new one answers too, logged beside it
    run_cli('activate', 'adult', new, '--shadow', models=store, check=0)
    assert st.active_version('adult') == active and st.shadow_version('adult') == new
    listed = {line.split()[1]: line.split()[3] for line in run_cli('list', models=store, check=0).stdout.splitlines()[1:]}
    assert listed[new] == 'shadow', listed
    log = PredictionLog(tmp_path / 'log.db')
    models = LocalModels(st, log)
    people = df.drop(columns='salary').head(40).to_dict('records')
    answers = models.predict('adult', people)
    assert all(a.ok for a in answers) and log.read('adult')['version'].unique().tolist() == [active]
    models.feedback('adult', [(a.id, t) for a, t in zip(answers, df['salary'].head(40))])
    pairs = log.shadow_pairs('adult')
    assert len(pairs) == 40 and set(pairs['shadow_version']) == {new} and pairs['truth'].notna().all()
    r = run_cli('performance', 'adult', '--log', tmp_path / 'log.db', models=store, check=0)
    assert f'shadow {new}: agrees with the answers shown on' in r.stdout and 'on 40 labelled: shown' in r.stdout
    # promote, then roll back
    run_cli('activate', 'adult', new, models=store, check=0)
    assert st.active_version('adult') == new and st.shadow_version('adult') is None
    assert models.predict('adult', people[:1])[0].ok and log.read('adult', limit=1)['version'][0] == new
    run_cli('activate', 'adult', active, models=store, check=0)
    assert st.active_version('adult') == active
    # a promoted shadow does not come back as the shadow after a roll back (#26 item 1)
    assert st.shadow_version('adult') is None and not (store / 'adult' / 'SHADOW').exists()
    assert 'shadow' not in run_cli('list', models=store, check=0).stdout.split('created', 1)[1]

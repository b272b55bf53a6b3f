"""Tabular regression (#24), the demo `bike_rentals` (hour.csv, the latest 20 % of hours held out): answers
equal fastai's own, in the target's units with an honest range, on every surface a classifier has."""
import io
import json
import shutil

import httpx
import numpy as np
import pandas as pd
import pytest

from helpers import ROOT, run_cli
from harness.voila_server import demo_model_server

BIKES = ROOT / 'data' / 'bike_sharing' / 'hour.csv'
INPUTS = ['season', 'yr', 'mnth', 'hr', 'holiday', 'weekday', 'workingday', 'weathersit', 'temp', 'atemp', 'hum',
          'windspeed']


@pytest.fixture(scope='module')
def bikes():
    return pd.read_csv(BIKES)


@pytest.fixture(scope='module')
def held_out(bikes):
    "The hours the card's figures were measured on: the latest 20 % by date."
    order = np.argsort(pd.to_datetime(bikes['dteday']).to_numpy(), kind='stable')
    return bikes.iloc[sorted(order[int(round(len(bikes) * 0.8)):])].reset_index(drop=True)


@pytest.fixture(scope='module')
def bike_pred(demo_store):
    from predictors import load_predictor
    return load_predictor('bike_rentals', store=demo_store)


def test_the_card_says_what_the_model_does_on_the_latest_hours(demo_store, bike_pred, held_out):
    "MAE, RMSE and R² on the card are the served predictor's on the held-out latest hours; the baseline is beside them."
    card = demo_store.card('bike_rentals')
    assert card['task'] == 'regression' and card['target'] == 'cnt' and card['classes'] == []
    assert [c['name'] for c in card['schema']['inputs']] == INPUTS          # dteday, casual, registered left out
    res = bike_pred.predict_frame(held_out)
    assert not res.errors
    e = held_out['cnt'].to_numpy(float) - res.values
    m = card['metrics']
    assert m['valid_rows'] == len(held_out)
    assert abs(np.abs(e).mean() - m['mae']) <= 1e-3 and abs(np.sqrt((e ** 2).mean()) - m['rmse']) <= 1e-3
    assert abs(1 - (e ** 2).sum() / ((held_out['cnt'] - held_out['cnt'].mean()) ** 2).sum() - m['r2']) <= 1e-5
    assert m['baseline']['model'].startswith('HistGradientBoostingRegressor') and m['baseline']['rows'] == len(held_out)
    assert card['data_source']['valid'] == 'the latest 20% of rows by dteday'
    assert card['regression']['transform'] == 'log1p' and card['regression']['units'] == 'bikes'


def test_served_numbers_equal_learn_predict(bike_pred, held_out):
    "Our answers equal fastai's learn.predict, brought back from the log1p it learnt (≤ 1e-5 relative)."
    rows = held_out.sample(20, random_state=3)
    ours = bike_pred.predict_frame(rows[INPUTS]).values
    theirs = [float(np.expm1(bike_pred.learn.predict(r)[1][0])) for _, r in rows[INPUTS].iterrows()]
    assert np.allclose(ours, theirs, rtol=1e-5, atol=1e-4)


def test_categories_that_are_numbers_may_come_as_text(bike_pred, held_out):
    "An hour or a month sent as text ('7' for 7: JSON from a form, a protocol's BYTES tensor) is that category."
    rows = held_out.head(20).to_dict('records')
    cats = set(bike_pred.prep.cat_names)
    as_text = [{k: str(v) if k in cats else v for k, v in r.items()} for r in rows]
    want, got = bike_pred.predict_records(rows), bike_pred.predict_records(as_text)
    assert [p.prediction for p in got] == [p.prediction for p in want]
    assert not any('not seen in training' in w for p in got for w in p.warnings)


def test_the_range_holds_the_share_it_says(bike_pred, held_out, demo_store):
    "About 80 % of the held-out hours' real counts fall in their answer's range (the range is not decoration)."
    res = bike_pred.predict_frame(held_out)
    y = held_out['cnt'].to_numpy(float)
    inside = ((y >= res.low) & (y <= res.high)).mean()
    assert demo_store.card('bike_rentals')['regression']['interval'] == 0.8
    assert 0.76 <= inside <= 0.84, inside
    assert (res.low <= res.values).all() and (res.values <= res.high).all() and (res.low >= 0).all()


def test_the_answer_in_words(bike_pred, demo_store):
    from predictors.core.results import sentence
    card = demo_store.card('bike_rentals')
    p = bike_pred.predict_one(dict(season=3, yr=1, mnth=7, hr=17, holiday=0, weekday=3, workingday=1, weathersit=1,
                                   temp=0.7, atemp=0.65, hum=0.5, windspeed=0.2))
    lo, hi = (f'{round(x):,}' for x in p.range)
    assert sentence(card, p) == f'About {round(p.prediction):,} bikes rented in that hour (80 % of similar hours: {lo}–{hi}).'
    assert sentence(card, bike_pred.predict_one({'temp': 'warm'})) == "No prediction: Temperature (temp): 'warm' is not a number."


def test_a_scored_csv_has_the_number_and_its_range(bike_pred, held_out):
    from predictors.service.scored import ScoredCsv
    df = held_out.head(6).copy().astype({'temp': object})
    df.loc[2, 'temp'] = 'hot'
    scored = ScoredCsv(bike_pred, df.to_csv(index=False).encode())
    out = pd.read_csv(io.BytesIO(b''.join(scored)))
    assert list(out.columns) == list(df.columns) + ['prediction', 'low', 'high', 'problem']
    assert scored.unused == ['dteday', 'casual', 'registered']
    assert out['prediction'].isna().tolist() == [False, False, True, False, False, False]
    assert out.loc[2, 'problem'] == "error: Temperature (temp): 'hot' is not a number"
    assert (out.drop(index=2)['low'] <= out.drop(index=2)['prediction']).all()


def test_contributions_are_in_bikes_and_add_up(demo_store, bike_pred):
    from predictors.kinds import kind
    e = kind('regression').explainer(bike_pred).explain([dict(hr=8, workingday=1, temp=0.5)])[0]
    assert e.measure == 'value' and e.target == 'cnt'
    assert e.probability == pytest.approx(bike_pred.predict_one(dict(hr=8, workingday=1, temp=0.5)).prediction, rel=1e-5)
    assert abs(e.base + sum(c['contribution'] for c in e.contributions) - e.probability) <= 1e-4 * e.probability
    assert e.contributions[0]['field'] == 'hr'          # the hour decides rentals most (8 am: the rush hour)


@pytest.fixture(scope='module')
def api(tmp_path_factory):
    with demo_model_server(tmp_path_factory.mktemp('regression-api')) as srv:
        yield srv


def test_the_model_server_answers_numbers_with_ranges(api, bike_pred, held_out):
    rows = held_out[INPUTS].head(5).to_dict('records')
    body = api.http.post('/v1/models/bike_rentals/predict', json={'records': rows + [{'hr': 'x', 'temp': 'y'}]}).json()
    got = body['results']
    assert [sorted(r) for r in got[:5]] == [['id', 'prediction', 'probabilities', 'range']] * 5
    assert np.allclose([r['prediction'] for r in got[:5]], bike_pred.predict_records(rows).values, rtol=1e-6)
    assert all(r['range'][0] <= r['prediction'] <= r['range'][1] for r in got[:5])
    assert got[5]['error'] == "Temperature (temp): 'y' is not a number"
    csv = api.http.post('/v1/models/bike_rentals/predict', content=held_out.head(4).to_csv(index=False),
                        headers={'Content-Type': 'text/csv'})
    assert csv.status_code == 200 and csv.text.splitlines()[0].endswith(',prediction,low,high,problem')
    why = api.http.post('/v1/models/bike_rentals/explain', json={'records': rows[:1]}).json()['results'][0]
    assert why['measure'] == 'value' and abs(why['base'] + sum(c['contribution'] for c in why['contributions'])
                                             - why['probability']) <= 1e-4 * why['probability']
    assert api.http.get('/v1/models').json()['models'][1] == dict(name='bike_rentals', task='regression', takes='records',
                                                                    active='v1', versions=['v1'])


def test_feedback_is_the_real_number_and_live_error_is_judged_against_the_card(api):
    "Labels are numbers (text refused); live MAE against the card's: ok for honest labels, below the card for bad answers."
    from predictors.kinds.base import PerformanceSettings
    from predictors.monitoring.log import PredictionLog
    from predictors.monitoring.performance import performance_report, performance_text
    from predictors.service.remote import RemoteModels
    app = RemoteModels(api.url, session='bikes1')
    answers = app.predict('bike_rentals', [dict(hr=h, workingday=1, temp=0.5) for h in range(24)] * 2)
    assert app.feedback('bike_rentals', [(answers[0].id, 'many')]) == [
        "'many' is not a number: give the real cnt as a number"]
    card = httpx.get(f'{api.url}/v1/models/bike_rentals').json()
    # people report numbers 0.5, 1 and 1.5 MAE away from the answers, above and below: on average what the card says
    mae = card['metrics']['mae']
    honest = [(a.id, str(round(a.prediction + (1 if i % 2 else -1) * mae * (0.5 + (i % 3) * 0.5), 3)))
              for i, a in enumerate(answers)]
    assert app.feedback('bike_rentals', honest) == [None] * len(answers)
    labelled = PredictionLog(api.log_db).labelled('bike_rentals', 'v1')
    r = performance_report(labelled, card, PerformanceSettings())
    assert r['measure'] == 'error' and r['labelled'] == 48 and r['verdict'] == 'ok'
    assert r['mae'] == pytest.approx(mae, rel=1e-3)
    worse = labelled.assign(truth=pd.to_numeric(labelled['prediction']) + 3 * mae)
    r = performance_report(worse, card, PerformanceSettings())
    assert r['verdict'] == 'below the card' and r['p_value'] < 1e-4
    assert 'below the card — MAE' in performance_text(r)


def test_drift_compares_the_predicted_numbers_with_the_held_out_ones(demo_store, bike_pred, held_out):
    from predictors.monitoring.drift import drift_report
    card = demo_store.card('bike_rentals')
    same = held_out.sample(400, random_state=1)
    r = drift_report(card, same[INPUTS], bike_pred.predict_frame(same).values)
    assert r['predictions']['test'] == 'KS (predicted values)' and r['predictions']['verdict'] == 'ok'
    night = same.assign(hr=2)                       # every answer at 2 am: far fewer bikes than the reference
    r = drift_report(card, night[INPUTS], bike_pred.predict_frame(night).values)
    assert r['predictions']['verdict'] == 'drifted' and 'hr' in r['drifted_columns']


def test_compare_and_shadow_use_paired_absolute_errors(demo_store, held_out, tmp_path):
    from predictors import ModelStore
    from predictors.monitoring.compare import compare_text, compare_versions, shadow_report, shadow_text
    shutil.copytree(demo_store.root / 'bike_rentals', tmp_path / 'bike_rentals')
    store = ModelStore(tmp_path)
    r = compare_versions(store, 'bike_rentals', 'v1', 'v1', held_out.head(300))
    assert r['measure'] == 'error' and r['mae_a'] == r['mae_b'] and r['verdict'] == 'no significant difference'
    assert r['wilcoxon']['rows'] == 0 and 'Wilcoxon' in compare_text(r)
    pairs = pd.DataFrame(dict(prediction=['100.0', '200.0', '50.0'], shadow_prediction=['110.0', '190.0', '50.0'],
                              truth=['100', None, '60'], version='v1', shadow_version='v2'))
    s = shadow_report(pairs, card=demo_store.card('bike_rentals'))
    assert s['mean_difference'] == pytest.approx(20 / 3) and s['labelled'] == 2
    assert s['mae_shown'] == pytest.approx(5.0) and s['mae_shadow'] == pytest.approx(10.0)
    assert shadow_text(s).startswith('shadow v2: 6.667 away from the answers shown on average')


def test_train_tabular_trains_a_regression_for_a_numeric_target(tmp_path, bikes):
    small = tmp_path / 'bikes.csv'
    bikes.head(2000).to_csv(small, index=False)
    r = run_cli('train-tabular', '--csv', small, '--target', 'cnt', '--name', 'b', '--exclude', 'casual,registered,dteday',
                '--epochs', '1', models=tmp_path / 'models', check=0)
    assert 'held-out MAE' in r.stderr and 'registered b v1' in r.stdout
    card = json.loads(run_cli('card', 'b', models=tmp_path / 'models', check=0).stdout)
    assert card['task'] == 'regression' and card['regression']['transform'] is None
    out = run_cli('predict', 'b', small, '--no-log', models=tmp_path / 'models', check=0).stdout.splitlines()
    first = json.loads(out[0])
    assert len(out) == 2000 and isinstance(first['prediction'], float) and len(first['range']) == 2
    bad = run_cli('train-tabular', '--csv', small, '--target', 'cnt', '--name', 'c', '--target-transform', 'log',
                  '--classify', models=tmp_path / 'models', check=2)
    assert 'target_transform go(es) with a regression' in bad.stderr


def test_a_learner_trained_on_the_log_is_imported_with_that_said(tmp_path, bikes):
    "`import --target-transform log`: answers and the card's errors are in bikes, not log-bikes."
    from fastai.tabular.all import Categorify, Normalize, RegressionBlock, TabularPandas, tabular_learner
    df = bikes.head(3000).assign(cnt=np.log(bikes['cnt'].head(3000)))
    to = TabularPandas(df, procs=[Categorify, Normalize], cat_names=['hr', 'workingday'], cont_names=['temp', 'hum'],
                       y_names='cnt', y_block=RegressionBlock(), splits=(list(range(2400)), list(range(2400, 3000))))
    learn = tabular_learner(to.dataloaders(bs=128, num_workers=0), y_range=(0, 7.5))
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2)
    learn.export(tmp_path / 'log_bikes.pkl')
    verify = run_cli('verify', tmp_path / 'log_bikes.pkl', check=0).stdout
    assert 'a model the apps serve: regression of cnt (a number), 4 input columns' in verify
    csv = tmp_path / 'train.csv'
    bikes.head(3000).to_csv(csv, index=False)
    run_cli('import', tmp_path / 'log_bikes.pkl', '--name', 'logbikes', '--csv', csv, '--target-transform', 'log',
            '--units', 'bikes', models=tmp_path / 'models', check=0)
    from predictors import ModelStore, load_predictor
    store = ModelStore(tmp_path / 'models')
    card, pred = store.card('logbikes'), load_predictor('logbikes', store=store)
    row = bikes.iloc[2500][['hr', 'workingday', 'temp', 'hum']]
    assert pred.predict_one(row.to_dict()).prediction == pytest.approx(float(np.exp(learn.predict(row)[1][0])), rel=1e-5)
    assert card['regression']['transform'] == 'log' and 10 < card['metrics']['mae'] < 300     # bikes, not log-bikes
    refused = run_cli('import', tmp_path / 'log_bikes.pkl', '--name', 'x', '--target-transform', 'cube',
                      models=tmp_path / 'models', check=2)
    assert 'invalid choice' in refused.stderr

"Monitoring: the prediction log and drift against the training data."
import multiprocessing as mp
import warnings

import pandas as pd
import pytest

from helpers import run_cli, image_files
from predictors.monitoring.drift import DriftSettings, drift_report
from predictors.monitoring.log import PredictionLog
from predictors.service.local import LocalModels


@pytest.fixture(scope='module')
def card(demo_store):
    return demo_store.card('adult_income')


@pytest.mark.parametrize('seed', range(5))
def test_sample_from_training_distribution_is_not_flagged(card, adult_df, seed):
    r = drift_report(card, adult_df.sample(1000, random_state=seed))
    assert r['verdict'] == 'ok' and r['drifted_columns'] == []
    assert len(r['columns']) == 14 and all(c['verdict'] == 'ok' for c in r['columns'].values())


def _shift(df, how):
    df = df.copy()
    if how == 'age': df['age'] += 15
    if how == 'workclass': df['workclass'] = ' Private'
    if how == 'native-country': df.loc[df.index[:150], 'native-country'] = ' Atlantis'
    return df


@pytest.mark.parametrize('how', ['age', 'workclass', 'native-country'])
def test_shifted_samples_are_flagged_on_exactly_the_shifted_column(card, adult_df, how):
    r = drift_report(card, _shift(adult_df.sample(500, random_state=7), how))
    assert r['drifted_columns'] == [how]
    assert r['verdict'] == 'watch'      # one column of 14 is below the dataset share
    if how == 'native-country':
        c = r['columns'][how]
        assert c['unseen'] == {' Atlantis': 150} and c['unseen_share'] == 0.3


def test_a_p_value_too_small_to_print_reads_below_it_never_zero(card, adult_df):
    "The HTML report shows p < 1e-4 as '< 0.0001' (a '0' beside a verdict reads as certainty)."
    from predictors.monitoring.report import report_html
    r = drift_report(card, _shift(adult_df.sample(500, random_state=7), 'age'))
    assert r['columns']['age']['p_value'] < 1e-4
    row = report_html(r, plots=False).split('data-column="age"')[1].split('</tr>')[0]
    assert '<td>&lt; 0.0001</td>' in row


def test_dataset_is_drifted_when_enough_columns_are(card, adult_df):
    df = _shift(_shift(_shift(adult_df.sample(500, random_state=1), 'age'), 'workclass'), 'native-country')
    r = drift_report(card, df, settings=DriftSettings(dataset_share=0.2))
    assert r['verdict'] == 'drifted' and r['drift_share'] == pytest.approx(3 / 14, abs=1e-4)


def test_too_small_a_sample_says_so(card, adult_df):
    r = drift_report(card, _shift(adult_df.sample(30, random_state=0), 'age'))
    assert r['verdict'] == 'not enough data'
    assert all(c['verdict'] == 'not enough data' for c in r['columns'].values())


def test_predicted_class_distribution_drift(card, adult_df):
    df = adult_df.sample(500, random_state=0)
    assert drift_report(card, df, ['<50k'] * 380 + ['>=50k'] * 120)['predictions']['verdict'] == 'ok'
    assert drift_report(card, df, ['>=50k'] * 500)['predictions']['verdict'] == 'drifted'


def test_image_statistics_drift(demo_store):
    card = demo_store.card('fruits')
    stats = pd.DataFrame(card['reference']['image_stats'])
    same = stats.sample(200, replace=True, random_state=0)
    assert drift_report(card, same, settings=DriftSettings(min_rows=50))['drifted_columns'] == []
    dark = same.assign(brightness=same['brightness'] * 0.3)
    assert drift_report(card, dark, settings=DriftSettings(min_rows=50))['drifted_columns'] == ['brightness']


def test_predictions_are_logged(log_target, demo_store, adult_df):
    "The service logs each call with its session and source; batch scoring is logged as batch."
    log = PredictionLog(log_target, source='test')
    models = LocalModels(demo_store, log, session='visitor-1', source='test')
    models.predict('adult_income', [{'age': 40, 'workclass': ' Private'}])
    models.predict_frame('adult_income', adult_df.head(5).assign(age=['x', 30, 31, 32, 33]))
    img = image_files()[0]
    models.predict('fruits', [(img.name, img.read_bytes()), ('bad.txt', b'hello')])
    df = log.read()
    assert len(df) == 8 and set(df['session']) == {'visitor-1'}
    assert df['source'].tolist() == ['test'] + ['test:batch'] * 5 + ['test'] * 2
    tab = df[df['model'] == 'adult_income']
    assert tab.iloc[0]['inputs']['age'] == 40 and tab.iloc[0]['inputs']['education'] is None
    assert tab.iloc[1]['error'].startswith("Age: 'x'") and tab.iloc[2]['prediction'] in ('<50k', '>=50k')
    assert abs(sum(tab.iloc[2]['probabilities'].values()) - 1) < 1e-4
    img_rows = df[df['model'] == 'fruits']
    assert img_rows.iloc[0]['inputs']['file'] == img.name and 'brightness' in img_rows.iloc[0]['inputs']
    assert img_rows.iloc[1]['error'].startswith('bad.txt:')
    assert (df['version'] == 'v1').all() and df['latency_ms'].notna().sum() == 6


def test_a_log_that_cannot_be_written_never_breaks_a_prediction(tmp_path, demo_store):
    blocker = tmp_path / 'file'; blocker.write_text('x')
    log = PredictionLog(blocker / 'sub' / 'log.db')          # a folder inside a file: cannot exist
    models = LocalModels(demo_store, log)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        p1, = models.predict('adult_income', [{'age': 40}])
        p2, = models.predict('adult_income', [{'age': 50}])
    assert p1.ok and p2.ok
    assert log.problem and 'not being logged' in log.problem
    assert len([x for x in w if 'not being logged' in str(x.message)]) == 1, 'reported once'


def test_an_unreachable_database_never_breaks_a_prediction(tmp_path, demo_store):
    log = PredictionLog(f'postgresql+psycopg://app:secret@/predictions?host={tmp_path}&port=1')
    assert 'secret' not in log.where
    models = LocalModels(demo_store, log)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        assert models.predict('adult_income', [{'age': 40}])[0].ok and models.predict('adult_income', [{'age': 50}])[0].ok
    assert log.problem.startswith('predictions are not being logged to postgresql+psycopg://app:***@')
    assert 'secret' not in log.problem and 'connection' in log.problem.lower()
    assert len([x for x in w if 'not being logged' in str(x.message)]) == 1, 'reported once'


def _writer(path, k, n):
    log = PredictionLog(path, source=f'proc{k}')
    for i in range(n):
        assert log.record('m', 'v1', 'tabular', [dict(inputs={'i': i}, prediction='a', probabilities={'a': 1.0})])


def test_many_processes_logging_at_once_lose_no_row(log_target):
    path = log_target
    ctx = mp.get_context('spawn')
    procs = [ctx.Process(target=_writer, args=(path, k, 60)) for k in range(4)]
    for p in procs: p.start()
    for p in procs: p.join(120)
    assert all(p.exitcode == 0 for p in procs)
    df = PredictionLog(path).read()
    assert len(df) == 240
    assert sorted(df.groupby('source').size().tolist()) == [60, 60, 60, 60]


def test_cli_drift_from_csv_and_html_report(tmp_path, demo_store, adult_df):
    ok = tmp_path / 'ok.csv'; adult_df.sample(800, random_state=0).to_csv(ok, index=False)
    r = run_cli('drift', 'adult_income', '--csv', ok, models=demo_store.root)
    assert r.returncode == 0 and r.stdout.startswith('adult_income (card v1): ok')
    bad = tmp_path / 'bad.csv'
    _shift(_shift(adult_df.sample(800, random_state=0), 'age'), 'workclass').to_csv(bad, index=False)
    html = tmp_path / 'report.html'
    r = run_cli('drift', 'adult_income', '--csv', bad, '--share', '0.1', '--html', html, models=demo_store.root)
    assert r.returncode == 1, r.stdout
    assert 'drifted' in r.stdout.splitlines()[0]
    page = html.read_text()
    assert page.startswith('<!doctype html>') and page.count('<svg class="drift-hist"') >= 15
    assert 'http://' not in page and 'https://' not in page


def test_cli_drift_from_the_prediction_log(tmp_path, log_target, demo_store, adult_df):
    log = log_target
    rows = tmp_path / 'rows.csv'; _shift(adult_df.sample(300, random_state=0), 'age').to_csv(rows, index=False)
    run_cli('predict', 'adult_income', rows, '--log', log, models=demo_store.root, check=0)
    assert PredictionLog(log).count('adult_income') == 300
    r = run_cli('drift', 'adult_income', '--log', log, '--since', '1h', models=demo_store.root, check=0)
    assert 'not enough data' in r.stdout.splitlines()[0] and '300 other logged prediction(s) left out' in r.stdout
    r = run_cli('drift', 'adult_income', '--log', log, '--since', '1h', '--traffic', 'batch', models=demo_store.root,
                check=0)
    assert 'age' in r.stdout and 'drifted' in [l.split()[1] for l in r.stdout.splitlines()[1:] if l.split()[0] == 'age']
    r = run_cli('drift', 'adult_income', '--log', log, '--since', '2099-01-01', models=demo_store.root, check=0)
    assert 'not enough data' in r.stdout.splitlines()[0]
    r = run_cli('drift', 'adult_income', '--log', log, '--since', 'yesterday', models=demo_store.root)
    assert r.returncode == 2 and 'cannot read the time' in r.stderr


def _entries(df):
    return [dict(inputs=r, prediction='<50k', probabilities={'<50k': 0.9, '>=50k': 0.1})
            for r in df.to_dict('records')]


def test_a_scored_file_does_not_swamp_what_people_enter(log_target, card, adult_df):
    "300 identical rows of one CSV upload made the monitor say 'drifted'; drift looks at each kind of traffic apart."
    from predictors.monitoring.drift import report_from_log
    log = PredictionLog(log_target)
    people = adult_df.sample(150, random_state=1).drop(columns=['salary'])
    log.record('adult_income', 'v1', 'tabular', _entries(people), session='s1', source='app')
    one_row = pd.concat([people.iloc[[0]]] * 300)
    log.record('adult_income', 'v1', 'tabular', _entries(one_row), session='s2', source='app:batch')
    single, df = report_from_log(log, card)
    assert len(df) == 150 and single['rows'] == 150 and single['traffic_left_out'] == 300
    assert single['verdict'] in ('ok', 'watch') and not single['drifted_columns']
    batch, _ = report_from_log(log, card, traffic='batch')
    assert batch['rows'] == 300 and batch['verdict'] == 'drifted'
    every, _ = report_from_log(log, card, traffic='all')
    assert every['rows'] == 450 and every['traffic_left_out'] == 0
    with pytest.raises(ValueError, match='traffic must be one of'):
        report_from_log(log, card, traffic='weekly')


def test_prune_deletes_what_is_older_than_the_setting_and_nothing_newer(log_target, monkeypatch):
    import time
    log, now = PredictionLog(log_target), time.time()
    for age_days, n in ((45, 3), (31, 2), (29, 4), (0, 5)):
        monkeypatch.setattr('predictors.monitoring.log.time.time', lambda a=age_days: now - a * 86400)
        log.record('m', 'v1', 'tabular', [dict(inputs={'i': i}, prediction='a') for i in range(n)])
    monkeypatch.undo()
    r = run_cli('prune', '--keep', '30d', '--log', log_target, check=0)
    assert r.returncode == 0 and r.stdout.startswith('5 prediction(s) logged before')
    left = PredictionLog(log_target).read()
    assert len(left) == 9 and (left['ts'] >= now - 30 * 86400 - 60).all()
    assert PredictionLog(log_target).prune(None) == 0 and PredictionLog(log_target).count() == 9
    r = run_cli('prune', '--keep', 'forever', '--log', log_target, check=2)
    assert r.returncode == 2 and 'cannot read the time' in r.stderr


def test_personal_inputs_can_be_logged_as_drift_bins_only(tmp_path, demo_store, card, adult_df):
    "FASTAI_APPS_LOG_INPUTS=bins: no raw value (nor a file name) is stored, and drift still works from the bins."
    from predictors.monitoring.drift import report_from_log
    log = PredictionLog(tmp_path / 'log.db')
    models = LocalModels(demo_store, log, log_inputs='bins')
    models.predict('adult_income', [{'age': 37, 'workclass': ' Private', 'native-country': ' Atlantis',
                                     'fnlwgt': 123456}])
    img = image_files()[0]
    models.predict('fruits', [(img.name, img.read_bytes())])
    tab, pic = log.read(model='adult_income').iloc[0], log.read(model='fruits').iloc[0]
    assert tab['inputs']['age'].startswith('bin:') and tab['inputs']['fnlwgt'].startswith('bin:')
    assert tab['inputs']['workclass'] == ' Private' and tab['inputs']['native-country'] == '(unseen)'
    assert '37' not in str(tab['inputs'].values()) and '123456' not in str(tab['inputs'])
    assert 'file' not in pic['inputs'] and img.name not in str(pic['inputs'])
    assert pic['inputs']['brightness'].startswith('bin:')
    # drift from bins: a same-distribution sample is not flagged, an older one is, on age only
    for shift, day in ((0, 'a'), (15, 'b')):
        rows = adult_df.sample(600, random_state=3).drop(columns=['salary'])
        rows['age'] += shift
        blog = PredictionLog(tmp_path / f'{day}.db')
        LocalModels(demo_store, blog, log_inputs='bins').predict('adult_income', rows.to_dict('records'))
        r, _ = report_from_log(blog, card)
        assert r['columns']['age']['test'].startswith('chi-square on bins')
        assert r['drifted_columns'] == ([] if shift == 0 else ['age']), (shift, r['drifted_columns'])
    with pytest.raises(ValueError, match='FASTAI_APPS_LOG_INPUTS must be one of raw, bins'):
        LocalModels(demo_store, log, log_inputs='hashed')


def test_drift_matches_categories_as_the_predictor_does(card, adult_df):
    "'Private' typed without the training data's leading space is the known ' Private', not a value never seen."
    df = adult_df.sample(300, random_state=2)
    stripped = df.assign(**{c: df[c].str.strip() for c in ('workclass', 'education', 'native-country')})
    r = drift_report(card, stripped)
    for c in ('workclass', 'education', 'native-country'):
        assert r['columns'][c]['unseen'] == {} and r['columns'][c]['verdict'] == 'ok', (c, r['columns'][c]['unseen'])
    assert drift_report(card, df.assign(workclass='Astronaut'))['columns']['workclass']['unseen'] == {'Astronaut': 300}


def test_a_drift_report_reads_a_bounded_number_of_rows_whatever_the_log_holds(tmp_path, demo_store):
    """The monitor read the whole window (596k batch rows: 51 s and a 2.7 GB kernel). A report reads the newest
    `most` rows of its traffic and says how many the window holds; the counts come from SQL."""
    from predictors import ModelStore
    from predictors.monitoring.drift import report_from_log
    from predictors.monitoring.log import PredictionLog
    from predictors.monitoring.report import report_html
    store = ModelStore(demo_store.root)
    card = store.card('adult_income')
    log = PredictionLog(tmp_path / 'log.db')
    row = {c['name']: c.get('default') for c in card['schema']['inputs']}
    entry = dict(inputs=row, prediction='<50k', probabilities={'<50k': 0.9, '>=50k': 0.1})
    log.record('adult_income', 'v1', 'tabular', [entry] * 700, source='app', ids=False)
    log.record('adult_income', 'v1', 'tabular', [entry] * 3000, source='app:batch', ids=False)
    report, df = report_from_log(log, card, traffic='batch', most=500)
    assert len(df) == 500 and report['rows'] == 500 and report['in_window'] == 3000
    assert report['traffic_left_out'] == 700
    assert '500 prediction(s) compared with the training data (the newest of the 3,000 in this window)' in report_html(report)
    report, df = report_from_log(log, card, traffic='single', most=5000)
    assert len(df) == 700 and report['in_window'] is None and report['traffic_left_out'] == 3000


@pytest.mark.parametrize('span,unit,bins', [(7 * 60, 'minute', 8), (5 * 3600, '5 minutes', 61), (2 * 86400, 'hour', 49),
                                            (30 * 86400, 'day', 31)])
def test_traffic_is_counted_in_bins_that_fit_its_span(span, unit, bins):
    "Seven minutes of answers are seven bars a minute each, not one bar of 40 minutes (#26 item 12); empty bins count 0."
    from predictors.monitoring.report import traffic_counts
    t0 = 1_764_806_400 + 20                              # 20 s past midnight UTC
    ts = [t0, t0 + 61, t0 + span - 1] + [t0 + 5] * 3
    name, counts = traffic_counts(ts)
    assert name == unit and len(counts) == bins and counts.sum() == 6
    assert counts.iloc[0] == (4 if unit == "minute" else 5) and counts.iloc[-1] == 1
    step = counts.index[1] - counts.index[0]
    assert step.total_seconds() == dict(minute=60, hour=3600, day=86400).get(unit, 300)

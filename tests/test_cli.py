"The command line: every verb, JSON lines out, exit codes and one-line reasons."
import json

import pytest

from helpers import ADULT_CSV, TEST_IMAGES, run_cli, image_files


def test_help_on_each_verb():
    r = run_cli('--help', check=0)
    for verb in ('train-tabular', 'train-image', 'import', 'list', 'activate', 'card', 'predict', 'verify'):
        assert verb in r.stdout
        assert run_cli(verb, '--help', check=0).stdout.startswith('usage:')


def test_list_and_card(demo_store):
    r = run_cli('list', models=demo_store.root, check=0)
    assert 'adult_income' in r.stdout and 'fruits' in r.stdout and '*' in r.stdout
    card = json.loads(run_cli('card', 'adult_income', models=demo_store.root, check=0).stdout)
    assert card['task'] == 'tabular' and card['target'] == 'salary' and len(card['sha256']) == 64


def test_predict_csv_rows_one_json_line_each(tmp_path, demo_store, adult_df):
    df = adult_df.head(5).astype({'age': object}).copy(); df.loc[3, 'age'] = 'old'
    f = tmp_path / 'rows.csv'; df.to_csv(f, index=False)
    r = run_cli('predict', 'adult_income', f, models=demo_store.root, check=1)
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert [l['row'] for l in lines] == [1, 2, 3, 4, 5]
    assert 'error' in lines[3] and "'old' is not a number" in lines[3]['error']
    for l in lines[:3] + lines[4:]:
        assert l['prediction'] in ('<50k', '>=50k')
        assert sum(l['probabilities'].values()) == pytest.approx(1, abs=1e-5)


def test_predict_images(tmp_path, demo_store):
    imgs = image_files()[:2]
    bad = tmp_path / 'bad.png'; bad.write_bytes(b'nope')
    r = run_cli('predict', 'fruits', *imgs, bad, models=demo_store.root, check=1)
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert len(lines) == 3 and lines[0]['prediction'] and len(lines[0]['probabilities']) == 3
    assert 'not an image' in lines[2]['error']


@pytest.mark.parametrize('args,msg', [
    (('card', 'nope'), "no model called 'nope'"),
    (('activate', 'adult_income', 'v99'), "no version 'v99'"),
    (('train-tabular', '--csv', ADULT_CSV, '--target', 'income'), "target column 'income' is not in the CSV"),
])
def test_bad_input_exits_nonzero_with_one_line_reason(demo_store, args, msg):
    r = run_cli(*args, models=demo_store.root)
    assert r.returncode == 2
    assert msg in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_missing_csv_fails_alone(tmp_path, demo_store):
    ok = tmp_path / 'ok.csv'; ok.write_text(''.join(open(ADULT_CSV).readlines()[:3]))
    r = run_cli('predict', 'adult_income', tmp_path / 'missing.csv', ok, '--no-log', models=demo_store.root, check=1)
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert lines[0]['error'].endswith('missing.csv cannot be opened: No such file or directory.')
    assert [l['row'] for l in lines[1:]] == [1, 2] and all(l['prediction'] for l in lines[1:])


def test_import_registers_an_external_learner(tmp_path, adult_df):
    "A learner exported elsewhere: schema from the learner; ranges only with --csv."
    from predictors import ModelStore
    demo = ModelStore(ADULT_CSV.parent.parent.parent / 'models')
    src = demo.path('adult_income') / 'model.pkl'
    store = tmp_path / 'models'
    run_cli('import', src, '--name', 'ext', models=store, check=0)
    card = json.loads(run_cli('card', 'ext', models=store, check=0).stdout)
    age = next(c for c in card['schema']['inputs'] if c['name'] == 'age')
    assert age['min'] is None and card['schema']['ranges_known'] is False and card['reference'] is None
    run_cli('import', src, '--name', 'ext', '--csv', ADULT_CSV, models=store, check=0)
    card = json.loads(run_cli('card', 'ext', models=store, check=0).stdout)
    age = next(c for c in card['schema']['inputs'] if c['name'] == 'age')
    assert card['version'] == 'v2' and age['min'] == 17 and age['max'] == 90
    assert card['reference']['columns']['age']['kind'] == 'continuous'
    assert card['metrics']['accuracy_on_csv'] > 0.8


def test_import_of_an_image_learner(tmp_path, demo_store):
    src = demo_store.path('fruits') / 'model.pkl'
    run_cli('import', src, '--name', 'pics', models=tmp_path / 'models', check=0)
    card = json.loads(run_cli('card', 'pics', models=tmp_path / 'models', check=0).stdout)
    assert card['task'] == 'image' and card['schema']['input_size'] == [64, 64] and len(card['classes']) == 20


def test_import_registers_a_regression_learner_as_one(tmp_path, adult_df):
    "A learner whose target is a number (#24: served since) is registered as a regression and answers a number."
    from fastai.tabular.all import Categorify, Normalize, RandomSplitter, TabularPandas, range_of, tabular_learner
    df = adult_df.head(200)
    to = TabularPandas(df, procs=[Categorify, Normalize], cat_names=['workclass'], cont_names=['age'],
                       y_names='hours-per-week', splits=RandomSplitter(seed=0)(range_of(df)))
    learn = tabular_learner(to.dataloaders(bs=32))
    learn.export(tmp_path / 'reg.pkl')
    r = run_cli('import', tmp_path / 'reg.pkl', '--name', 'reg', models=tmp_path / 'models')
    assert r.returncode == 0 and r.stdout == 'registered reg v1\n', r.stderr
    card = json.loads(run_cli('card', 'reg', models=tmp_path / 'models', check=0).stdout)
    assert card['task'] == 'regression' and card['target'] == 'hours-per-week' and card['classes'] == []
    row = tmp_path / 'row.csv'
    adult_df.head(1).to_csv(row, index=False)
    got = json.loads(run_cli('predict', 'reg', row, '--no-log', models=tmp_path / 'models', check=0).stdout)
    assert isinstance(got['prediction'], float) and 'range' not in got      # no CSV given: no errors to draw a range from


def test_the_command_line_as_a_newcomer_meets_it(tmp_path, demo_store):
    """#26 item 13: a folder of images is its images (it said "the file is empty (0 bytes)"); `… | head` ends
    quietly (a BrokenPipeError traceback); `--models` after the verb works and a store that is not there is
    refused ("(no models)", exit 0); each verb's --help says what it does and its defaults; the top-level help
    names the three processes `serve` runs; CSV answers carry their log id, so they can be labelled by it."""
    import subprocess
    import sys
    from helpers import ROOT
    r = run_cli('predict', 'fruits', TEST_IMAGES, '--no-log', models=demo_store.root, check=1)
    lines = {line['file']: line for line in map(json.loads, r.stdout.splitlines())}
    assert list(lines) == sorted(str(p) for p in TEST_IMAGES.rglob('*') if p.is_file())     # test_images/mix/ too
    assert 'not an image file' in lines[str(TEST_IMAGES / 'make_test_images.py')]['error']    # fails alone
    assert all(line.get('prediction') for f, line in lines.items() if not f.endswith('.py'))
    # every answer says whether it is sure (#27): the drawings not, by the card's calibrated threshold
    assert all(isinstance(line['unsure'], bool) for f, line in lines.items() if not f.endswith('.py'))
    assert sum(line['unsure'] for f, line in lines.items() if '/drawing_' in f) >= 3
    r = run_cli('predict', 'fruits', tmp_path / 'nothing_here', models=demo_store.root, check=1)
    assert json.loads(r.stdout)['error'].endswith('nothing_here: no such file or folder.')
    for verb in (('card', 'fruits'), ('predict', 'fruits', TEST_IMAGES, '--no-log')):
        shell = f'{sys.executable} -m predictors {" ".join(map(str, verb))} | head -1'
        p = subprocess.run(['bash', '-c', shell], capture_output=True, text=True, cwd=ROOT,
                           env=dict(__import__('os').environ, FASTAI_APPS_MODELS=str(demo_store.root)))
        assert p.stderr == '' and len(p.stdout.splitlines()) == 1, (verb, p.stderr[-500:])
    assert 'fruits' in run_cli('list', '--models', demo_store.root, check=0).stdout
    r = run_cli('--models', tmp_path / 'no_such_store', 'list', check=2)
    assert r.stdout == '' and 'no_such_store: no such folder' in r.stderr
    predict_help = run_cli('predict', '--help', check=0).stdout
    assert 'predict CSV rows or image files' in predict_help and '(default: 3)' in predict_help
    assert '--models MODELS' in predict_help
    assert 'Ctrl-C stops all three' in ' '.join(run_cli('--help', check=0).stdout.split())
    f = tmp_path / 'rows.csv'; f.write_text(''.join(open(ADULT_CSV).readlines()[:3]))
    log = tmp_path / 'log.db'
    lines = [json.loads(line) for line in run_cli('predict', 'adult_income', f, models=demo_store.root, log=log,
                                                    check=0).stdout.splitlines()]
    ids = [line['id'] for line in lines]
    assert len(set(ids)) == 2
    labels = tmp_path / 'labels.csv'; labels.write_text(f'id,truth\n{ids[0]},>=50k\n')
    run_cli('feedback', 'adult_income', labels, '--log', log, models=demo_store.root, check=0)
    from predictors.monitoring.log import PredictionLog
    got = PredictionLog(log).labelled('adult_income')
    assert got[['id', 'truth']].values.tolist() == [[ids[0], '>=50k']]

"""Batch scoring on Dask (#17): a LocalCluster of 2 workers gives the single-process answers, in order."""
import json
import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

from helpers import ADULT_CSV, ROOT, TEST_IMAGES, run_cli, image_files


@pytest.fixture(scope='module')
def client():
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host='127.0.0.1')
    c = Client(cluster)
    yield c
    c.close(); cluster.close()


def _local(pred, path) -> pd.DataFrame:
    "The single-process path (`predict NAME FILE.csv --out`): the file scored in chunks by ScoredCsv."
    import io
    from predictors.service.scored import ScoredCsv
    return pd.read_csv(io.BytesIO(b''.join(ScoredCsv(pred, path))))


def _same(got: pd.DataFrame, want: pd.DataFrame):
    assert list(got.columns) == list(want.columns) and len(got) == len(want)
    probs = [c for c in want.columns if c.startswith('probability_')]
    g, w = got[probs].to_numpy(float), want[probs].to_numpy(float)
    assert (np.isnan(g) == np.isnan(w)).all() and np.nanmax(np.abs(g - w), initial=0) <= 1e-6
    for c in ('prediction', 'problem'):
        assert got[c].fillna('').tolist() == want[c].fillna('').tolist(), c


@pytest.fixture(scope='module')
def tables(tmp_path_factory, adult_df):
    d = tmp_path_factory.mktemp('tables')
    a, b = adult_df.iloc[:3000], adult_df.iloc[3000:6000].astype(object).copy()
    b.iloc[10, b.columns.get_loc('age')] = 'forty'                # row 11 of b.csv
    b.iloc[2500, b.columns.get_loc('hours-per-week')] = 'inf'     # row 2501
    a.to_csv(d / 'a.csv', index=False); b.to_csv(d / 'b.csv', index=False)
    adult_df.iloc[6000:9000].to_parquet(d / 'c.parquet', index=False)
    adult_df.iloc[9000:10000].to_parquet(d / 'd.parquet', index=False)
    return d


def test_many_csv_files_give_the_single_process_rows_in_order(client, tables, adult_predictor, tmp_path):
    "Two CSV files (a glob), read in 100 KB partitions: every row, probability (≤ 1e-6) and problem as today."
    from predictors import ModelStore
    from predictors.ops.batch import score_on_dask
    r = score_on_dask(ModelStore(ROOT / 'models'), 'adult_income', [tables / '*.csv'], tmp_path / 'out.csv', blocksize='100KB',
                      client=client, progress=False)
    assert r.rows == 6000 and r.parts > 4
    want = pd.concat([_local(adult_predictor, tables / f) for f in ('a.csv', 'b.csv')], ignore_index=True)
    _same(pd.read_csv(tmp_path / 'out.csv'), want)
    assert [(os.path.basename(f), row) for f, row, _ in r.failed] == [('b.csv', 11), ('b.csv', 2501)]
    assert r.failed[0][2] == "Age: 'forty' is not a number"


def test_parquet_files_give_a_parquet_dataset_with_the_same_answers(client, tables, adult_predictor, tmp_path):
    from predictors import ModelStore
    from predictors.ops.batch import score_on_dask
    r = score_on_dask(ModelStore(ROOT / 'models'), 'adult_income', [tables / 'c.parquet', tables / 'd.parquet'], tmp_path / 'out.parquet',
                      client=client, progress=False)
    parts = sorted((tmp_path / 'out.parquet').glob('part.*.parquet'))
    assert r.rows == 4000 and len(parts) == r.parts >= 2 and not r.failed
    got = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    df = pd.concat([pd.read_parquet(tables / f) for f in ('c.parquet', 'd.parquet')], ignore_index=True)
    want = adult_predictor.score_frame(df)
    _same(got, want)
    assert got['age'].tolist() == df['age'].tolist()                      # in input order, typed as stored


def test_a_worker_killed_mid_run_leaves_a_complete_output_without_duplicates(client, adult_df, tmp_path):
    "Dask retries the tasks of a killed worker; each part is written under its position, so none is twice."
    from predictors import ModelStore
    from predictors.ops.batch import score_on_dask
    big = pd.concat([adult_df] * 2, ignore_index=True).assign(rid=lambda d: np.arange(len(d)))
    big.to_csv(tmp_path / 'big.csv', index=False)
    pids = list(client.run(os.getpid).values())
    killed = []

    def kill_when_parts_appear():
        end = time.time() + 120
        while time.time() < end and not killed:
            if any(len(list(p.glob('part.*.csv'))) >= 3 for p in tmp_path.glob('.parts-*')):
                os.kill(pids[0], signal.SIGKILL); killed.append(pids[0])
            time.sleep(0.01)
    t = threading.Thread(target=kill_when_parts_appear); t.start()
    r = score_on_dask(ModelStore(ROOT / 'models'), 'adult_income', [tmp_path / 'big.csv'], tmp_path / 'out.csv', blocksize='256KB',
                      client=client, progress=False)
    t.join()
    assert killed, 'no worker was killed: the run ended too soon'
    out = pd.read_csv(tmp_path / 'out.csv', usecols=['rid', 'prediction'])
    assert r.rows == len(big) == len(out) and out['rid'].tolist() == list(range(len(big)))
    assert out['prediction'].notna().all()
    client.wait_for_workers(2, timeout=120)
    assert pids[0] not in client.run(os.getpid).values()                   # a fresh worker took its place


def test_each_worker_loads_the_model_once_from_checked_bytes(client, tables, tmp_path):
    from predictors import ModelStore
    from predictors.ops.batch import ModelPlugin, score_on_dask
    from predictors.core.store import ModelError
    store = ModelStore(ROOT / 'models')
    card = store.card('adult_income')
    score_on_dask(store, 'adult_income', [tables / 'a.csv'], tmp_path / 'o.csv', blocksize='50KB', client=client,
                  progress=False)

    def loads():
        from predictors.ops import batch
        return dict(batch._LOADS)
    assert all(v == {card['sha256']: 1} for v in client.run(loads).values())   # many partitions, one load each
    with pytest.raises(ModelError, match='do not match the card'):
        client.register_plugin(ModelPlugin(dict(card, sha256='0' * 64), b'not the model'))


def test_a_folder_of_images_with_bad_files_among_them(client, fruits_predictor, tmp_path):
    "Each image gets its top classes; a bad file fails alone with its reason, in file order."
    from predictors import ModelStore
    from predictors.ops.batch import score_on_dask
    d = tmp_path / 'imgs'; (d / 'more').mkdir(parents=True)
    good = image_files()[:5]
    for i, f in enumerate(good): (d / ('more' if i % 2 else '.') / f.name).write_bytes(f.read_bytes())
    (d / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n garbage')
    (d / 'notes.txt').write_text('not an image')
    r = score_on_dask(ModelStore(ROOT / 'models'), 'fruits', [d], tmp_path / 'images.csv', images_per_task=2, client=client,
                      progress=False)
    out = pd.read_csv(tmp_path / 'images.csv')
    files = sorted(str(p) for p in d.rglob('*') if p.is_file())
    assert out['file'].tolist() == files and r.rows == 7 and len(r.failed) == 2
    errors = dict(zip(out['file'], out['error'].fillna('')))
    assert 'truncated or corrupt' in errors[str(d / 'broken.png')] and 'not an image file' in errors[str(d / 'notes.txt')]
    local = {os.path.basename(x.name): x for x in fruits_predictor.predict_files([(f.name, f.read_bytes()) for f in good])}
    for _, row in out[out['error'].isna()].iterrows():
        want = local[os.path.basename(row['file'])]
        assert row['prediction'] == want.prediction and abs(row['probability'] - want.probabilities[want.prediction]) <= 1e-6
        assert [row['class_1'], row['class_2'], row['class_3']] == [c for c, _ in want.top(3)]


def test_cli_predict_engine_dask(tables, tmp_path):
    "The CLI: a local cluster, the dashboard address, one JSON line per failed row, exit 1 when a row failed."
    r = run_cli('predict', 'adult_income', str(tables / '*.csv'), '--engine', 'dask', '--workers', '1',
                '--out', tmp_path / 'out.csv')
    assert r.returncode == 1 and 'Dask dashboard: http://127.0.0.1:' in r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert lines[-1]['rows'] == 6000 and lines[-1]['failed'] == 2
    assert [(os.path.basename(x['file']), x['row']) for x in lines[:-1]] == [('b.csv', 11), ('b.csv', 2501)]
    assert len(pd.read_csv(tmp_path / 'out.csv')) == 6000
    r = run_cli('predict', 'adult_income', str(tables / 'a.csv'), str(tables / 'c.parquet'), '--engine', 'dask',
                '--out', tmp_path / 'x.csv')
    assert r.returncode == 2 and 'mixes CSV and Parquet' in r.stderr
    r = run_cli('predict', 'adult_income', str(tables / 'nothing*.csv'), '--engine', 'dask', '--out', tmp_path / 'x.csv')
    assert r.returncode == 2 and 'no CSV or Parquet file there' in r.stderr
    assert run_cli('predict', 'adult_income', str(ADULT_CSV), '--workers', '2').returncode == 2


def test_a_folder_of_pictures_scored_by_a_multi_label_model_gives_each_its_labels(client, tmp_path):
    "#27: on Dask, a multi-label model's `prediction` is its labels' text (`none of these` for none), as in-process."
    from predictors import ModelStore, load_predictor
    from predictors.ops.batch import score_on_dask
    mix = sorted((TEST_IMAGES / 'mix').glob('*.jpg'))
    r = score_on_dask(ModelStore(ROOT / 'models'), 'mixed_fruits', [TEST_IMAGES / 'mix'], tmp_path / 'mix.csv', images_per_task=2,
                      client=client, progress=False)
    out = pd.read_csv(tmp_path / 'mix.csv', keep_default_na=False)
    assert r.rows == len(mix) and not r.failed and out['file'].tolist() == [str(p) for p in mix]
    want = load_predictor('mixed_fruits', ModelStore(ROOT / 'models')).predict_files([(p.name, p.read_bytes()) for p in mix])
    assert out['prediction'].tolist() == [w.prediction for w in want]
    assert 'Lemon;Orange' in out['prediction'].tolist() and 'none of these' in out['prediction'].tolist()
    assert (out['probability'] == '').all() and (out['unsure'].astype(str) == 'False').all()

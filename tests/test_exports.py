"""Bring the model you have (#24): exports as people publish them load and answer as the original, or are
refused with what they are and what to do, never with a traceback. The files are written from the committed
exports (`pickle_edit`) or made here; `tests/fixtures/fastai27/` holds the fastai 2.7 originals."""
import io
import json
import pickle
import sys
import types

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import ROOT, run_cli
from pickle_edit import edit_export, on_gpu, rename_globals

FIX = ROOT / 'tests' / 'fixtures' / 'fastai27'


def _probs_of(path, rows):
    "Probabilities of the learner at `path` (read as `import` reads it) for `rows`."
    from predictors.importing.convert import read_learner
    from predictors.service.loading import predictor_for_learner
    learn, conv = read_learner(path)
    return predictor_for_learner(learn).predict_frame(rows).probs, conv


@pytest.fixture(scope='module')
def rows():
    return pd.read_csv(FIX / 'tabular_rows.csv')


@pytest.fixture(scope='module')
def original(rows):
    return np.asarray(json.loads((FIX / 'tabular_probs.json').read_text())['probs'])


@pytest.mark.parametrize('what, change, left_out', [
    ('a progress bar\'s display handle of IPython 7', rename_globals(
        {'fastai.callback.progress ProgressCallback': 'IPython.core.display DisplayHandle'}),
     'IPython.core.display.DisplayHandle (not found here, not needed to predict)'),
    ('a callback of a logger that is not installed', rename_globals(
        {'fastai.callback.progress ProgressCallback': 'wandb.integration.fastai WandbCallback'}),
     'wandb.integration.fastai.WandbCallback (not found here, not needed to predict)'),
    ('a scikit-learn metric', rename_globals({'fastai.metrics accuracy': 'sklearn.metrics accuracy_score'}), None),
    ('tensors saved on a GPU', on_gpu, None),
    ('the fastai2 pre-release\'s names', rename_globals({'fastai.': 'fastai2.'}), None),
])
def test_real_world_exports_load_and_answer_as_the_original(tmp_path, rows, original, what, change, left_out):
    path = edit_export(FIX / 'tabular.pkl', tmp_path / 'export.pkl', change)
    probs, conv = _probs_of(path, rows)
    assert np.abs(probs - original).max() <= 1e-5, what
    if left_out: assert left_out in conv.dropped
    r = run_cli('verify', path, check=0)
    assert r.stdout.count('PASS') == 3 and 'Traceback' not in r.stdout + r.stderr


def test_the_cards_left_out_lists_what_predicting_did_not_need(tmp_path):
    path = edit_export(FIX / 'tabular.pkl', tmp_path / 'export.pkl', rename_globals(
        {'fastai.callback.progress ProgressCallback': 'IPython.core.display DisplayHandle'}))
    run_cli('import', path, '--name', 'old', models=tmp_path / 'models', check=0)
    card = json.loads(run_cli('card', 'old', models=tmp_path / 'models', check=0).stdout)
    assert card['converted_from']['left_out'] == ['IPython.core.display.DisplayHandle (not found here, not needed to predict)']
    assert card['converted_from']['fastai'] == '2.7'


def test_a_gpu_saved_fastai28_export_loads_on_this_cpu(tmp_path, demo_store, adult_df):
    from predictors.importing.convert import read_learner
    path = edit_export(demo_store.root / 'adult_income' / 'v1' / 'model.pkl', tmp_path / 'gpu.pkl', on_gpu)
    assert b"cuda:0" in path.read_bytes()
    learn, conv = read_learner(path)
    assert conv is None and next(learn.model.parameters()).device.type == 'cpu'
    from predictors.service.loading import predictor_for_learner
    ours = predictor_for_learner(learn).predict_frame(adult_df.head(20)).probs
    theirs = predictor_for_learner(demo_store.load_learner('adult_income', 'v1')).predict_frame(adult_df.head(20)).probs
    assert np.abs(ours - theirs).max() <= 1e-6


def _fastai_v1_file(path, legacy: bool):
    "A file laid out as fastai v1's `learn.export()` writes it: torch.save of its state, classes of `fastai.basic_train`."
    mods = {n: types.ModuleType(n) for n in ('fastai.basic_train', 'fastai.layers', 'fastai.tabular.data')}
    for n, cls in (('fastai.basic_train', 'Learner'), ('fastai.layers', 'FlattenedLoss'), ('fastai.tabular.data', 'TabularList')):
        c = type(cls, (), {'__module__': n}); setattr(mods[n], cls, c)
    saved = {k: sys.modules.get(k) for k in mods}
    sys.modules.update(mods)
    try:
        state = dict(cls=mods['fastai.basic_train'].Learner, loss_func=mods['fastai.layers'].FlattenedLoss(),
                     data=mods['fastai.tabular.data'].TabularList(), model=torch.nn.Linear(3, 2), metrics=[],
                     callback_fns=[], cb_state={}, true_wd=True, bn_wd=True, wd=0.01, train_bn=True)
        torch.save(state, path, _use_new_zipfile_serialization=not legacy)
    finally:
        for k, v in saved.items():
            if v is None: sys.modules.pop(k, None)
            else: sys.modules[k] = v
    return path


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _sklearn_pipeline(path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(np.random.rand(20, 3), [0, 1] * 10)
    path.write_bytes(pickle.dumps(pipe))
    return path


@pytest.mark.parametrize('name, make, reason', [
    ('empty.pkl', lambda p: _write(p, b''), 'the file is empty (0 bytes)'),
    ('truncated.pkl', lambda p: _write(p, (FIX / 'tabular.pkl').read_bytes()[:40_000]),
     'the file is cut short or damaged'),
    ('page.pkl', lambda p: _write(p, b'<!DOCTYPE html><html><body>export.pkl on GitHub</body></html>'),
     'the file is a web page or text, not a learner export: download the raw file'),
    ('lfs.pkl', lambda p: _write(p, b'version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 12\n'),
     'a Git LFS pointer'),
    ('pipeline.pkl', _sklearn_pipeline, 'this is a scikit-learn model, not a fastai learner'),
    ('v1.pkl', lambda p: _fastai_v1_file(p, legacy=False), 'this is a fastai v1 export'),
    ('v1_legacy.pkl', lambda p: _fastai_v1_file(p, legacy=True), 'this is a fastai v1 export'),
    ('weights.pth', lambda p: torch.save(torch.nn.Linear(3, 2).state_dict(), p) or p,
     'the file holds no fastai learner (nothing from fastai in it)'),
])
def test_files_that_are_no_fastai_2_export_are_refused_with_what_they_are(tmp_path, name, make, reason):
    path = make(tmp_path / name)
    v = run_cli('verify', path, check=1)
    assert reason in v.stdout and 'Traceback' not in v.stdout + v.stderr
    i = run_cli('import', path, '--name', 'x', models=tmp_path / 'models', check=2)
    assert i.stderr.startswith('error: ') and reason in i.stderr and 'Traceback' not in i.stderr
    if 'v1' in name: assert 'retrain with fastai 2' in i.stderr


def test_an_old_tabular_regression_export_is_rebuilt_as_one(tmp_path):
    "A fastai < 2.8 learner whose target is a number (RegressionSetup) is rebuilt as a regression, not refused."
    from predictors.kinds.legacy import stand_in
    from predictors.kinds.tables.legacy import rebuild_table
    S = lambda m, n, **kw: (lambda o: (o.__dict__.update(kw), o)[1])(stand_in(m, n)())
    procs = [S('fastai.tabular.core', 'Categorify', classes={'c': S('fastai.data.transforms', 'CategoryMap', items=['#na#', 'a', 'b'])}),
             S('fastai.data.transforms', 'Normalize', means={'x': 1.0}, stds={'x': 2.0}),
             S('fastai.data.transforms', 'RegressionSetup')]
    to = S('fastai.tabular.core', 'TabularPandas', procs=S('fastcore.foundation', 'L', items=procs),
           cat_names=['c'], cont_names=['x'], y_names=['y'])
    from fastai.tabular.all import TabularModel
    learn = rebuild_table(to, TabularModel([(3, 2)], 1, 1, layers=[4]))
    from predictors.kinds import detect_kind
    assert detect_kind(learn).task == 'regression'
    from predictors.service.loading import predictor_for_learner
    p = predictor_for_learner(learn).predict_one({'c': 'a', 'x': 3.0})
    assert p.ok and isinstance(p.prediction, float)
    # numbers only (a 2022 export of this shape was a traceback): no Categorify classes, no categorical columns
    procs = [S('fastai.data.transforms', 'Normalize', means={'x': 1.0}, stds={'x': 2.0}),
             S('fastai.data.transforms', 'RegressionSetup')]
    to = S('fastai.tabular.core', 'TabularPandas', procs=S('fastcore.foundation', 'L', items=procs),
           cat_names=[], cont_names=['x'], y_names=['y'])
    learn = rebuild_table(to, TabularModel([], 1, 1, layers=[4]))
    assert predictor_for_learner(learn).predict_one({'x': 3.0}).ok


def test_import_and_verify_never_end_in_a_traceback_whatever_the_file(tmp_path):
    "Bytes of every sort through verify and import: each gets one line of reason."
    rng = np.random.default_rng(0)
    for i, data in enumerate([rng.bytes(5000), b'PK\x03\x04' + rng.bytes(100), pickle.dumps({'a': 1}),
                              pickle.dumps(pd.DataFrame({'a': [1]})), b'\x80\x02' + rng.bytes(50)]):
        p = tmp_path / f'f{i}.pkl'; p.write_bytes(data)
        v, imp = run_cli('verify', p), run_cli('import', p, '--name', 'x', models=tmp_path / 'm')
        assert v.returncode == 1 and imp.returncode == 2, (data[:20], v.stdout, imp.stderr)
        assert 'Traceback' not in v.stdout + v.stderr + imp.stderr and imp.stderr.count('\n') == 1, imp.stderr


CUSTOM = '''
from fastai.tabular.all import TabularModel


class Doubled(TabularModel):
    "A TabularModel whose outputs are doubled: a class that only the exporter's notebook had."
    def forward(self, x_cat, x_cont=None):
        return super().forward(x_cat, x_cont) * 2
'''

NOTEBOOK = CUSTOM + '''
if __name__ == '__main__':
    import json, sys
    import pandas as pd
    from fastai.tabular.all import (Categorify, CategoryBlock, FillMissing, Normalize, RandomSplitter, TabularLearner,
                                    TabularPandas, range_of)
    df = pd.read_csv(sys.argv[1]).head(600)
    to = TabularPandas(df, procs=[Categorify, FillMissing, Normalize], cat_names=['workclass'], cont_names=['age'],
                       y_names='salary', y_block=CategoryBlock(), splits=RandomSplitter(seed=0)(range_of(df)))
    learn = TabularLearner(to.dataloaders(bs=64, num_workers=0), Doubled([(len(to.classes['workclass']), 4)], 1, 2, layers=[8]))
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2)
    import pickle
    learn.export(sys.argv[2], pickle_module=pickle)       # by name, as fastai < 2.8 did (2.8's cloudpickle keeps it)
    rows = df[['workclass', 'age']].head(5)
    json.dump([learn.predict(r)[2].tolist() for _, r in rows.iterrows()], open(sys.argv[3], 'w'))
'''


def test_a_model_class_of_the_exporters_notebook_comes_with_code(tmp_path):
    "`import FILE --code my_model.py`: refused without it (saying so), served with it, checked before it runs."
    import subprocess
    from helpers import ADULT_CSV
    (tmp_path / 'notebook.py').write_text(NOTEBOOK)
    subprocess.run([sys.executable, 'notebook.py', str(ADULT_CSV), 'export.pkl', 'probs.json'], cwd=tmp_path, check=True,
                   capture_output=True, timeout=600)
    models = tmp_path / 'models'
    refused = run_cli('import', tmp_path / 'export.pkl', '--name', 'custom', models=models, check=2)
    assert '`Doubled`' in refused.stderr and '--code Doubled.py' in refused.stderr
    (tmp_path / 'my_model.py').write_text(CUSTOM)
    run_cli('import', tmp_path / 'export.pkl', '--name', 'custom', '--code', tmp_path / 'my_model.py', models=models, check=0)
    card = json.loads(run_cli('card', 'custom', models=models, check=0).stdout)
    assert [c['file'] for c in card['code']] == ['my_model.py'] and (models / 'custom' / 'v1' / 'code' / 'my_model.py').is_file()
    rows = tmp_path / 'rows.csv'
    pd.read_csv(ADULT_CSV).head(5).to_csv(rows, index=False)
    got = [json.loads(line) for line in run_cli('predict', 'custom', rows, '--no-log', models=models, check=0).stdout.splitlines()]
    want = json.loads((tmp_path / 'probs.json').read_text())
    classes = card['classes']
    assert np.abs(np.array([[g['probabilities'][c] for c in classes] for g in got]) - np.array(want)).max() <= 1e-5
    (models / 'custom' / 'v1' / 'code' / 'my_model.py').write_text(CUSTOM + '\nprint("changed")\n')
    bad = run_cli('predict', 'custom', rows, '--no-log', models=models)
    assert 'its code file my_model.py is missing or does not match its card' in bad.stdout + bad.stderr


def test_a_2022_export_with_a_pandas_1_frame_and_only_numbers_answers_as_it_did(tmp_path):
    """tests/fixtures/pandas1 (its make.sh: fastai 2.7.19 on pandas 1.5.3, four numeric inputs, no category): the
    pickled frame of its training rows is never rebuilt (a stand-in), and the answers equal fastai 2.7's."""
    fix = ROOT / 'tests' / 'fixtures' / 'pandas1'
    want = json.loads((fix / 'probs.json').read_text())
    assert want['pandas'].startswith('1.5')
    probs, conv = _probs_of(fix / 'numbers_only.pkl', pd.read_csv(fix / 'rows.csv'))
    assert np.abs(probs - np.asarray(want['probs'])).max() <= 1e-5 and conv.fastai == '2.7'
    from predictors.importing.legacy import OldObject, read_old_export
    old, _ = read_old_export(fix / 'numbers_only.pkl')
    frame = old.__dict__['dls'].__dict__['loaders'][0].__dict__['dataset'].__dict__['items']
    assert isinstance(frame, OldObject) and type(frame).__name__ == 'DataFrame'


def test_a_frame_pandas_2_cannot_rebuild_is_read_as_a_stand_in():
    "A BlockManager whose state pandas 2 cannot take (as a pandas 1.x pickle's) raises when unpickled; not here."
    from predictors.importing.legacy import OldObject, _Unpickler
    data = b'\x80\x02cpandas.core.internals.managers\nBlockManager\n)\x81U\x05bogusb.'
    with pytest.raises(Exception):
        pickle.loads(data)
    assert isinstance(_Unpickler(io.BytesIO(data)).load(), OldObject)


def test_a_fastai28_export_naming_a_package_not_installed_is_rebuilt_without_it(tmp_path, demo_store, adult_df):
    "A 2.8 export with a logger's callback (wandb, not installed) answers as the original; the card lists it."
    from predictors.service.loading import predictor_for_learner
    path = edit_export(demo_store.root / 'adult_income' / 'v1' / 'model.pkl', tmp_path / 'wandb.pkl', rename_globals(
        {'fastai.callback.progress ProgressCallback': 'wandb.integration.fastai WandbCallback'}))
    from predictors.importing.convert import read_learner
    learn, conv = read_learner(path)
    assert conv.fastai == '2.8' and conv.dropped == ['wandb.integration.fastai.WandbCallback (not found here, not needed to predict)']
    ours = predictor_for_learner(learn).predict_frame(adult_df.head(30)).probs
    theirs = predictor_for_learner(demo_store.load_learner('adult_income', 'v1')).predict_frame(adult_df.head(30)).probs
    assert np.abs(ours - theirs).max() <= 1e-6

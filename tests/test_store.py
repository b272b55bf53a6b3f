"The model store: versions, activation and rollback, checksums, refusing bad model files."
import subprocess
import sys

import pytest

from predictors import ModelError
from predictors.core.store import load_learner_file


def _fake_register(store, name, payload=b'model-bytes', **card):
    import tempfile, os
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(payload)
    try:
        return store.register(name, f.name, dict(task='tabular', **card))
    finally:
        os.unlink(f.name)


def test_versions_are_ordered_and_newest_is_active(tmp_store):
    for i in range(11):
        assert _fake_register(tmp_store, 'm', payload=bytes([i])) == f'v{i + 1}'
    assert tmp_store.versions('m')[:3] == ['v1', 'v2', 'v3'] and tmp_store.versions('m')[-1] == 'v11'
    assert tmp_store.active_version('m') == 'v11'
    assert tmp_store.card('m')['version'] == 'v11'


def test_activate_older_version_is_a_rollback(tmp_store):
    _fake_register(tmp_store, 'm', b'a'); _fake_register(tmp_store, 'm', b'b')
    tmp_store.activate('m', 'v1')
    assert tmp_store.active_version('m') == 'v1'
    assert [r['active'] for r in tmp_store.list()] == [True, False]
    with pytest.raises(ModelError, match="no version 'v9'"):
        tmp_store.activate('m', 'v9')


def test_card_records_checksum_and_creation(tmp_store):
    _fake_register(tmp_store, 'm', b'abc')
    card = tmp_store.card('m')
    import hashlib
    assert card['sha256'] == hashlib.sha256(b'abc').hexdigest()
    assert card['name'] == 'm' and card['created']


def test_invalid_names_are_refused(tmp_store):
    for bad in ('../evil', '', 'a/b', '.hidden'):
        with pytest.raises(ModelError, match='invalid model name'):
            _fake_register(tmp_store, bad)


def test_unknown_model_is_a_clear_error(tmp_store):
    with pytest.raises(ModelError, match="no model called 'nope'"):
        tmp_store.card('nope')


def test_tampered_model_is_refused_before_unpickling(store_copy, monkeypatch):
    f = store_copy.path('adult_income') / 'model.pkl'
    data = bytearray(f.read_bytes()); data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    import fastai.learner
    called = []
    monkeypatch.setattr(fastai.learner, 'load_learner', lambda *a, **k: called.append(a))
    with pytest.raises(ModelError, match='does not match its card'):
        store_copy.load_learner('adult_income')
    assert not called, 'the tampered pickle must not be loaded'


def test_missing_model_file_is_reported(store_copy):
    (store_copy.path('adult_income') / 'model.pkl').unlink()
    with pytest.raises(ModelError, match='is missing'):
        store_copy.load_learner('adult_income')


def test_garbage_file_is_refused_with_reason(tmp_path):
    f = tmp_path / 'x.pkl'; f.write_bytes(b'not a pickle at all')
    with pytest.raises(ModelError, match='not a readable fastai export'):
        load_learner_file(f)


MAIN_EXPORT = r'''
import sys
from fastai.tabular.all import *
df = pd.read_csv(sys.argv[1]).head(300)
def my_label_func(x): return x
to = TabularPandas(df, procs=[Categorify, FillMissing, Normalize], cat_names=['workclass'], cont_names=['age'],
                   y_names='salary', y_block=CategoryBlock(), splits=RandomSplitter(seed=0)(range_of(df)))
learn = tabular_learner(to.dataloaders(bs=64), metrics=accuracy)
learn.my_func = my_label_func
import pickle
# plain pickle, as fastai < 2.8 and many published learners did (fastai 2.8 uses cloudpickle,
# which stores __main__ functions by value)
learn.export(sys.argv[2], pickle_module=pickle)
'''


def test_learner_with_main_function_names_the_missing_function(tmp_path):
    from helpers import ADULT_CSV
    script = tmp_path / 'export.py'; script.write_text(MAIN_EXPORT)
    out = tmp_path / 'export.pkl'
    subprocess.run([sys.executable, str(script), str(ADULT_CSV), str(out)], check=True, capture_output=True)
    with pytest.raises(ModelError, match=r'function `my_label_func`.*`__main__`'):
        load_learner_file(out)


def test_learner_needing_an_uninstalled_module_names_it(tmp_path):
    import pickle
    import types
    mod = types.ModuleType('someones_helpers')
    exec('def get_y(r): return r', mod.__dict__)
    mod.get_y.__module__ = 'someones_helpers'
    sys.modules['someones_helpers'] = mod
    try:
        import torch
        torch.save({'f': mod.get_y}, tmp_path / 'x.pkl', pickle_module=pickle)
    finally:
        del sys.modules['someones_helpers']
    with pytest.raises(ModelError, match='module `someones_helpers`'):
        load_learner_file(tmp_path / 'x.pkl')


def test_labels_and_help_go_on_the_card_and_unknown_columns_are_refused(store_copy, tmp_path):
    "`labels NAME FILE`: readable names for the form, on the active card; a column the model lacks is refused."
    import json
    from helpers import run_cli
    spec = tmp_path / 'labels.json'
    spec.write_text(json.dumps({'labels': {'education-num': 'Years at school'}, 'help': {'fnlwgt': 'census weight'}}))
    r = run_cli('labels', 'adult_income', spec, models=store_copy.root, check=0)
    assert r.stdout.strip() == 'adult_income v1: 1 label(s), 1 help text(s)'
    card = store_copy.card('adult_income')
    assert card['labels'] == {'education-num': 'Years at school'} and card['help'] == {'fnlwgt': 'census weight'}
    store_copy.verify('adult_income')                     # the model file and its checksum are untouched
    spec.write_text(json.dumps({'labels': {'shoe-size': 'Shoe size'}}))
    r = run_cli('labels', 'adult_income', spec, models=store_copy.root, check=2)
    assert 'has no input columns or classes shoe-size' in r.stderr
    assert store_copy.card('adult_income')['labels'] == {'education-num': 'Years at school'}


def test_learners_exported_before_the_layout_change_still_load(demo_store, tmp_path):
    "An image learner whose pickle names `predictors.train` (where its helpers were before #23) loads."
    from pickle_edit import edit_export, rename_globals
    from predictors.core.code import MOVED
    from predictors.core.store import load_learner_file
    from predictors.importing.legacy import _pickle_strings
    old = edit_export(demo_store.root / 'fruits' / 'v1' / 'model.pkl', tmp_path / 'model.pkl',
                      rename_globals({'predictors.kinds.image.train': 'predictors.train'}))
    assert 'predictors.train' in _pickle_strings(old) and 'predictors.train' in MOVED
    learn = load_learner_file(old)
    from predictors.kinds.image.train import RandomBackground
    assert isinstance(learn.dls.after_item.fs[0], RandomBackground)       # the moved class, found where it is now

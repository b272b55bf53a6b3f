"The setup checks and the verification notebook fail loudly, with the remedy."
import os

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from helpers import ROOT
from predictors.ops.verify import run_checks


def test_all_checks_pass_on_this_setup(demo_store):
    rows = run_checks(demo_store)
    assert all(r['ok'] for r in rows), [r for r in rows if not r['ok']]
    names = ' '.join(r['check'] for r in rows)
    for what in ('Python', 'torch', 'torchvision', 'fastai', 'voila', 'ipywidgets', 'CPU threads',
                 'adult_income', 'fruits', 'loads and answers'):
        assert what in names


def _break(store, how):
    f = store.path('fruits') / 'model.pkl'
    if how == 'missing': f.unlink()
    elif how == 'corrupted': f.write_bytes(f.read_bytes()[:1000])
    elif how == 'mismatch':
        import json
        c = store.path('fruits') / 'card.json'
        card = json.loads(c.read_text()); card['sha256'] = '0' * 64; c.write_text(json.dumps(card))
    return f


@pytest.mark.parametrize('how,detail,remedy', [
    ('missing', 'is missing', 'git checkout --'),
    ('corrupted', 'does not match its card', 'a pickle runs code'),
    ('mismatch', 'does not match its card', 'register the model again'),
])
def test_broken_model_fails_with_remedy(store_copy, how, detail, remedy):
    _break(store_copy, how)
    rows = run_checks(store_copy)
    bad = [r for r in rows if not r['ok']]
    assert len(bad) == 1 and 'fruits' in bad[0]['check']
    assert detail in bad[0]['detail'] and remedy in bad[0]['remedy']
    assert any(r['ok'] and 'adult_income' in r['check'] and 'answers' in r['check'] for r in rows)


def _run_notebook(models):
    nb = nbformat.read(ROOT / 'notebooks' / '00_verify_setup.ipynb', as_version=4)
    os.environ['FASTAI_APPS_MODELS'] = str(models)
    try:
        NotebookClient(nb, timeout=300, kernel_name='python3',
                       resources={'metadata': {'path': str(ROOT / 'notebooks')}}).execute()
    finally:
        del os.environ['FASTAI_APPS_MODELS']
    return nb


def test_notebook_fails_loudly_on_a_corrupted_model(store_copy):
    _break(store_copy, 'corrupted')
    with pytest.raises(CellExecutionError) as e:
        _run_notebook(store_copy.root)
    assert '1 setup check(s) failed' in str(e.value) and 'remedy:' in str(e.value)


def test_notebook_shows_the_table(demo_store):
    nb = _run_notebook(demo_store.root)
    outs = nb.cells[1].outputs
    assert all(o['output_type'] != 'stream' for o in outs), 'no warnings or prints on the page'
    html = next(o['data']['text/html'] for o in outs if 'text/html' in o.get('data', {}))
    assert 'All' in html and 'checks passed' in html and '✘' not in html

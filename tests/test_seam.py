"""The kind seam (#39): a throwaway kind (`tests/constant_kind.py`), registered alone, is recognised on import and served
by `/v1`, `/v2`, the command line and an app page, with nothing else in the project changed."""
import io
import json

import pytest


@pytest.fixture
def constant(tmp_path):
    "A store holding one model of the constant kind, imported from its exported file; the kind registered meanwhile."
    import torch
    from constant_kind import ConstantKind, ConstantLearner
    from predictors import ModelStore
    from predictors.importing.importer import import_learner
    from predictors.kinds import KINDS, register
    register(ConstantKind())
    try:
        learn = ConstantLearner('yes', ['no', 'yes'], {'colour': ['red', 'blue'], 'size': ['S', 'M', 'L']})
        torch.save(learn, tmp_path / 'constant.pkl')           # what `learn.export()` writes
        store = ModelStore(tmp_path / 'models')
        assert import_learner(tmp_path / 'constant.pkl', 'const', store=store) == 'v1'
        yield store
    finally:
        KINDS.pop('constant')


def test_a_kind_registered_alone_is_served_by_v1_and_v2(constant, tmp_path):
    from fastapi.testclient import TestClient
    from predictors.api import create_app
    from predictors.monitoring.log import PredictionLog
    app = create_app(constant, log=PredictionLog(tmp_path / 'log.db', source='api'), token=None)
    with TestClient(app, base_url='http://127.0.0.1') as http:
        rows = http.get('/v1/models').json()['models']
        assert rows == [dict(name='const', task='constant', takes='records', active='v1', versions=['v1'])]
        assert [m['name'] for m in http.get('/v1/models', params={'what': 'tabular_app'}).json()['models']] == ['const']
        assert http.get('/v1/models/const/ready').json() == dict(ready=True, model='const', version='v1')
        got = http.post('/v1/models/const/predict', json={'records': [{'colour': 'red', 'size': 'M'}, {'colour': 'blue'}]})
        first, second = got.json()['results']
        assert first['prediction'] == 'yes' and first['probabilities'] == {'no': 0.0, 'yes': 1.0} and first['id'] > 0
        assert second['error'] == 'size: empty'
        csv = http.post('/v1/models/const/predict', content=b'colour,size,note\nred,S,a\nblue,,b\n',
                        headers={'Content-Type': 'text/csv'})
        assert csv.text.splitlines() == ['colour,size,note,prediction,probability_no,probability_yes,problem',
                                         'red,S,a,yes,0.0,1.0,', 'blue,,b,,0.0,1.0,error: size: empty']
        meta = http.get('/v2/models/const').json()
        assert [(t['name'], t['datatype']) for t in meta['inputs']] == [('colour', 'BYTES'), ('size', 'BYTES')]
        assert [t['name'] for t in meta['outputs']] == ['predicted', 'probabilities', 'id', 'error']
        body = {'inputs': [dict(name='colour', shape=[2], datatype='BYTES', data=['red', 'blue']),
                           dict(name='size', shape=[2], datatype='BYTES', data=['L', 'S'])]}
        out = {t['name']: t for t in http.post('/v2/models/const/infer', json=body).json()['outputs']}
        assert out['predicted']['data'] == ['yes', 'yes'] and out['probabilities']['shape'] == [2, 2]
        assert json.loads(out['probabilities']['parameters']['classes']) == ['no', 'yes']
        assert http.get('/readyz').json()['checks'][0]['detail'] == "answers 'yes' for the default input"


def test_a_kind_registered_alone_is_served_by_the_command_line(constant, tmp_path, capsys):
    from predictors.cli import main
    (tmp_path / 'rows.csv').write_text('colour,size\nred,S\nblue,L\n')
    assert main(['--models', str(constant.root), 'predict', 'const', str(tmp_path / 'rows.csv'), '--no-log']) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(x['row'], x['prediction']) for x in lines] == [(1, 'yes'), (2, 'yes')]
    assert main(['verify', str(tmp_path / 'constant.pkl')]) == 0
    said = capsys.readouterr().out
    assert 'a model the apps serve: constant classifier of 2 classes' in said and "answers 'yes'" in said


def test_a_kind_registered_alone_is_shown_by_the_app_its_view_names(constant):
    from predictors.service.local import LocalModels
    from widgets.tabular import TabularApp
    app = TabularApp(LocalModels(constant, None))
    assert [v for _, v in app.picker.options] == [('const', 'v1')]
    assert sorted(app.form.controls) == ['colour', 'size']
    app.form.controls['size'].value = 'L'
    app.predict()
    assert 'Predicted answer: yes, with probability 100.0%' in app.result.value
    out = io.BytesIO()
    LocalModels(constant, None).score_csv('const', b'colour,size\nred,M\n', out)
    assert out.getvalue().decode().splitlines()[1] == 'red,M,yes,0.0,1.0,'

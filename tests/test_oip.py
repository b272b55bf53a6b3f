"""The Open Inference Protocol beside /v1 (#30, first part), checked with Triton's own client
(`tritonclient[http]`, binary data on and off) and plain HTTP: metadata from each kind's tensors, the same answers as /v1,
logged like them, and every bad request answered 400 (or 404) with its reason."""
import base64
import json
import shutil

import numpy as np
import pytest

from helpers import image_files
from harness.voila_server import demo_model_server


@pytest.fixture(scope='module')
def api(tmp_path_factory):
    "The model server on a copy of the demo store and a fresh log."
    with demo_model_server(tmp_path_factory.mktemp('oip'), timeout=300) as srv:
        srv.wait_ready()
        yield srv


@pytest.fixture(scope='module')
def triton(api):
    import tritonclient.http as tc
    c = tc.InferenceServerClient(api.url.removeprefix('http://'))
    yield c
    c.close()


def _tensors(card, df, binary=False):
    "One tritonclient InferInput per schema field of the rows of `df` (JSON data unless `binary`)."
    import tritonclient.http as tc
    out = []
    for c in card['schema']['inputs']:
        if c['kind'] == 'continuous':
            dtype, arr = ('INT64', df[c['name']].to_numpy('int64')) if c.get('integer') else ('FP64', df[c['name']].to_numpy('float64'))
        else:
            dtype, arr = 'BYTES', df[c['name']].astype(str).to_numpy(object)
        t = tc.InferInput(c['name'], [len(df)], dtype)
        t.set_data_from_numpy(arr, binary_data=binary)
        out.append(t)
    return out


def test_server_and_model_metadata_through_tritonclient(api, triton):
    assert triton.is_server_live() and triton.is_server_ready()
    assert triton.get_server_metadata()['name'] == 'fastai-apps'
    card = api.store.card('adult_income')
    meta = triton.get_model_metadata('adult_income')
    assert [(t['name'], t['datatype']) for t in meta['inputs']] == [
        (c['name'], 'BYTES' if c['kind'] == 'categorical' else 'INT64' if c.get('integer') else 'FP64')
        for c in card['schema']['inputs']]
    assert len(meta['inputs']) == 14 and meta['versions'] == ['v1']
    assert [(t['name'], t['datatype'], t['shape']) for t in meta['outputs']] == [
        ('predicted', 'BYTES', [-1]), ('probabilities', 'FP32', [-1, 2]), ('id', 'INT64', [-1]), ('error', 'BYTES', [-1])]
    assert triton.is_model_ready('adult_income') and triton.is_model_ready('adult_income', 'v1')
    assert not triton.is_model_ready('no_such_model')
    reg = triton.get_model_metadata('bike_rentals')
    assert [(t['name'], t['datatype']) for t in reg['outputs']][:2] == [('predicted', 'FP64'), ('range', 'FP64')]
    assert [t['name'] for t in triton.get_model_metadata('fruits')['inputs']] == ['image']


def test_tabular_infer_equals_v1_and_learn_predict_and_is_logged(api, triton, adult_df, adult_learner):
    "All 14 adult columns as tensors: the classes and probabilities of /v1 and of learn.predict (≤ 1e-5), each logged."
    import tritonclient.http as tc
    card = api.store.card('adult_income')
    rows = adult_df.sample(20, random_state=7).drop(columns=['salary']).reset_index(drop=True)
    outs = [tc.InferRequestedOutput(n, binary_data=False) for n in ('predicted', 'probabilities', 'id', 'error')]
    res = triton.infer('adult_income', _tensors(card, rows), outputs=outs, headers={'X-Session-Id': 'oip-test'})
    probs, predicted = res.as_numpy('probabilities'), res.as_numpy('predicted')
    assert probs.shape == (20, 2) and json.loads(res.get_output('probabilities')['parameters']['classes']) == card['classes']
    v1 = api.http.post('/v1/models/adult_income/predict', json={'records': json.loads(rows.to_json(orient='records'))}).json()
    vocab = [str(c) for c in adult_learner.dls.vocab]
    for i, r in enumerate(v1['results']):
        assert np.abs(probs[i] - [r['probabilities'][c] for c in card['classes']]).max() <= 1e-5
        assert np.abs(probs[i] - adult_learner.predict(rows.iloc[i])[2].numpy()[[vocab.index(c) for c in card['classes']]]).max() <= 1e-5
        assert (predicted[i].decode() if isinstance(predicted[i], bytes) else predicted[i]) == r['prediction']
    ids = res.as_numpy('id')
    assert (ids >= 0).all() and not any(res.as_numpy('error'))
    from predictors.monitoring.log import PredictionLog
    logged = PredictionLog(api.log_db).read(model='adult_income')
    mine = logged[logged['id'].isin(ids.tolist())]
    assert len(mine) == 20 and set(mine['session']) == {'oip-test'}


def test_a_seldon_pandas_request_answers_as_v1(api, adult_df):
    """A DataFrame as Seldon MLServer's `pd` content type sends it (its docs' shape): columns as inputs, text columns
    `BYTES` with `content_type: str`, whole numbers as INT32; the same answers as /v1."""
    rows = adult_df.sample(3, random_state=3).drop(columns=['salary']).reset_index(drop=True)
    inputs = []
    for c in api.store.card('adult_income')['schema']['inputs']:
        if c['kind'] == 'continuous':
            inputs.append(dict(name=c['name'], datatype='INT32', shape=[3], data=[int(x) for x in rows[c['name']]]))
        else:
            inputs.append(dict(name=c['name'], datatype='BYTES', shape=[3], data=rows[c['name']].astype(str).tolist(),
                               parameters={'content_type': 'str'}))
    r = api.http.post('/v2/models/adult_income/infer', json={'parameters': {'content_type': 'pd'}, 'inputs': inputs})
    assert r.status_code == 200, r.text
    out = {t['name']: t['data'] for t in r.json()['outputs']}
    v1 = api.http.post('/v1/models/adult_income/predict', json={'records': json.loads(rows.to_json(orient='records'))}).json()
    assert out['predicted'] == [x['prediction'] for x in v1['results']] and out['error'] == ['', '', '']


def test_tritonclient_defaults_binary_tensors_both_ways(api, triton, adult_df):
    "tritonclient as it comes (binary data on, no outputs named): the same answers as JSON; images as raw bytes."
    import tritonclient.http as tc
    card = api.store.card('adult_income')
    rows = adult_df.sample(12, random_state=3).drop(columns=['salary']).reset_index(drop=True)
    binary = triton.infer('adult_income', _tensors(card, rows, binary=True))
    assert binary.get_response()['outputs'][0]['parameters']['binary_data_size'] > 0       # it came back binary
    plain = triton.infer('adult_income', _tensors(card, rows), outputs=[
        tc.InferRequestedOutput(n, binary_data=False) for n in ('predicted', 'probabilities')])
    assert np.abs(binary.as_numpy('probabilities') - plain.as_numpy('probabilities')).max() <= 1e-6
    assert [x.decode() for x in binary.as_numpy('predicted')] == list(plain.as_numpy('predicted'))
    files = [f.read_bytes() for f in image_files()[:3]] + [b'not an image']
    t = tc.InferInput('image', [4], 'BYTES')
    t.set_data_from_numpy(np.array(files, dtype=object))
    res = triton.infer('fruits', [t])
    errors = [e.decode() for e in res.as_numpy('error')]
    assert [bool(e) for e in errors] == [False, False, False, True] and 'image 4' in errors[3]


def test_regression_and_text_answer_in_their_kind(api):
    card = api.store.card('bike_rentals')
    row = {c['name']: c['default'] for c in card['schema']['inputs']}
    inputs = [dict(name=c['name'], shape=[1, 1], datatype='BYTES' if c['kind'] != 'continuous' else 'FP64',
                   data=[[str(row[c['name']]) if c['kind'] != 'continuous' else float(row[c['name']])]])
              for c in card['schema']['inputs']]
    body = api.http.post('/v2/models/bike_rentals/infer', json={'inputs': inputs, 'id': 'r1'}).json()
    out = {t['name']: t for t in body['outputs']}
    v1 = api.http.post('/v1/models/bike_rentals/predict', json={'records': [row]}).json()['results'][0]
    assert body['id'] == 'r1' and out['predicted']['datatype'] == 'FP64'
    assert abs(out['predicted']['data'][0] - v1['prediction']) < 1e-6 and out['range']['data'] == pytest.approx(v1['range'])
    text = api.http.post('/v2/models/sms_spam/infer', json={'inputs': [dict(
        name='text', shape=[2], datatype='BYTES', data=['WINNER! Claim your free prize now, call 09061701461', 'see you at 6'])],
        'outputs': [{'name': 'predicted'}]}).json()
    assert [t['name'] for t in text['outputs']] == ['predicted'] and text['outputs'][0]['data'] == ['spam', 'ham']


def test_images_a_corrupt_file_fails_alone(api):
    files = [f.read_bytes() for f in image_files()[:7]]
    data = [base64.b64encode(b).decode() for b in files[:3]] + [base64.b64encode(b'not an image').decode()] + \
           [base64.b64encode(b).decode() for b in files[3:]]
    body = api.http.post('/v2/models/fruits/infer', json={'inputs': [dict(name='image', shape=[8], datatype='BYTES', data=data)]}).json()
    out = {t['name']: t['data'] for t in body['outputs']}
    assert len(out['predicted']) == 8 and 'image 4: this is not an image file' in out['error'][3] and out['predicted'][3] == ''
    assert all(i >= 0 for i in out['id'])                 # every answer logged, the refusal too (as /v1 does)
    assert all(out['predicted'][i] and not out['error'][i] for i in range(8) if i != 3)
    v1 = api.http.post('/v1/models/fruits/predict', files=[('files', (f'{i}.jpg', b)) for i, b in enumerate(files)]).json()
    assert [r['prediction'] for r in v1['results']] == out['predicted'][:3] + out['predicted'][4:]


def test_a_multi_label_answer_is_a_multi_hot_tensor_with_each_labels_probability(api, triton):
    "Through tritonclient (binary both ways): `labels` BOOL [n, k] is every label at or above its threshold, as /v1 names them."
    import tritonclient.http as tc
    from helpers import TEST_IMAGES
    mix = TEST_IMAGES / 'mix'
    meta = triton.get_model_metadata('mixed_fruits')
    card = api.store.card('mixed_fruits')
    assert {o['name']: (o['datatype'], o['shape']) for o in meta['outputs']}['labels'] == ('BOOL', [-1, len(card['classes'])])
    names = ['mix_lemon_orange.jpg', 'mix_apple_red_1_kiwi_pear.jpg', 'mix_none.jpg']
    x = tc.InferInput('image', [3], 'BYTES')
    x.set_data_from_numpy(np.array([(mix / n).read_bytes() for n in names], dtype=object))
    res = triton.infer('mixed_fruits', [x])
    hot, probs = res.as_numpy('labels'), res.as_numpy('probabilities')
    out = next(o for o in res.get_response()['outputs'] if o['name'] == 'labels')
    classes, thresholds = json.loads(out['parameters']['classes']), json.loads(out['parameters']['thresholds'])
    assert hot.dtype == np.bool_ and hot.shape == probs.shape == (3, len(card['classes'])) and classes == card['classes']
    assert ((probs >= np.array(thresholds)) == hot).all()
    v1 = api.http.post('/v1/models/mixed_fruits/predict', files=[('files', (n, (mix / n).read_bytes())) for n in names]).json()
    assert [sorted(r['labels']) for r in v1['results']] == [sorted(np.array(classes)[row]) for row in hot]
    assert [sorted(r['labels']) for r in v1['results']] == [['Lemon', 'Orange'], ['Apple Red 1', 'Kiwi', 'Pear'], []]


@pytest.mark.parametrize('change, status, reason', [
    (lambda ins: ins.append(dict(name='colour', shape=[1], datatype='BYTES', data=['red'])), 400, "unknown input 'colour'"),
    (lambda ins: ins[0].update(datatype='FP32'), 400, "input 'age' is 'FP32'; the model reads it as INT64"),
    (lambda ins: ins[0].update(shape=[2]), 400, "input 'age' holds 1 values for its shape [2]"),
    (lambda ins: ins[0].update(shape=[1, 3]), 400, "input 'age' has shape [1, 3]; send [n] or [n, 1]"),
    (lambda ins: ins.pop(), 400, "missing input 'native-country'"),
    (lambda ins: ins[0].update(data=['forty']), 400, "input 'age' is INT64: its elements are numbers"),
])
def test_bad_requests_are_400_with_the_reason(api, change, status, reason):
    card = api.store.card('adult_income')
    ins = [dict(name=c['name'], shape=[1], datatype='BYTES' if c['kind'] != 'continuous' else 'INT64' if c.get('integer') else 'FP64',
                data=[c['default'] if c['kind'] == 'continuous' else str(c['default'])]) for c in card['schema']['inputs']]
    assert api.http.post('/v2/models/adult_income/infer', json={'inputs': ins}).status_code == 200
    change(ins)
    r = api.http.post('/v2/models/adult_income/infer', json={'inputs': ins})
    assert r.status_code == status and reason in r.json()['error'], r.text


def test_unknown_models_and_versions_are_404(api):
    r = api.http.post('/v2/models/nope/infer', json={'inputs': [dict(name='x', shape=[1], datatype='FP64', data=[1.0])]})
    assert r.status_code == 404 and 'nope' in r.json()['error']
    assert api.http.get('/v2/models/adult_income/versions/v9').status_code == 404
    assert api.http.post('/v2/models/adult_income/infer', content=b'{').json()['error'].startswith('the body is not valid JSON')
    many = [dict(name='text', shape=[10_001], datatype='BYTES', data=['hi'] * 10_001)]
    r = api.http.post('/v2/models/sms_spam/infer', json={'inputs': many})
    assert r.status_code == 400 and r.json()['error'] == '10001 rows in one request; at most 10000.'
    short = api.http.post('/v2/models/sms_spam/infer', headers={'Inference-Header-Content-Length': '500'}, content=b'{}')
    assert short.status_code == 400 and 'the body holds 2 bytes' in short.json()['error']


def test_a_version_named_in_the_path_is_the_one_used(api):
    inputs = [dict(name='text', shape=[1], datatype='BYTES', data=['see you at 6'])]
    body = api.http.post('/v2/models/sms_spam/versions/v1/infer', json={'inputs': inputs}).json()
    assert body['model_version'] == 'v1' and api.http.get('/v2/models/sms_spam/versions/v1/ready').json()['ready']
    assert api.http.get('/v2/models/sms_spam/versions/v1').json()['versions'] == ['v1']


@pytest.mark.parametrize('model', ['adult_income', 'bike_rentals', 'sms_spam', 'fruits', 'movie_ratings', 'sms_writer'])
def test_the_use_via_api_panel_calls_work_as_shown(api, model, tmp_path):
    "Each call the app page shows (curl, httpx, tritonclient) answers when run as it is, with the model's real fields."
    import html
    import os
    import re
    import subprocess
    import sys
    from predictors.core.settings import Settings
    from predictors.kinds import kind_of
    from widgets.apicalls import api_calls_html
    page = api_calls_html(api.store.card(model), Settings(api_shown=api.url))
    blocks = [html.unescape(b) for b in re.findall(r'<pre class="app-api-\d"[^>]*>(.*?)</pre>', page, re.S)]
    card = api.store.card(model)
    assert len(blocks) == len(kind_of(card).example_calls(card, api.url)) >= 3
    assert all(f'/{model}' in b or f"'{model}'" in b for b in blocks)
    shutil.copy(image_files()[0], tmp_path / 'photo.jpg'); shutil.copy(image_files()[1], tmp_path / 'other.png')
    env = dict(os.environ, FASTAI_APPS_API_TOKEN='any')          # (this test server asks for none)
    for code in blocks:
        shell = code.startswith('curl')
        r = subprocess.run(['bash', '-c', code] if shell else [sys.executable, '-c', code], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
        answer = ('"rank":1,' if '/recommend' in code else '"continuation"' if '/generate' in code else '"prediction"'
                  ) if shell else ''                                        # a list, a continuation, or an answer
        assert r.returncode == 0 and r.stdout.strip() and answer in r.stdout, r.stdout + r.stderr
        assert ('"error"' if shell else 'error') not in r.stdout, r.stdout + r.stderr


def test_the_docs_examples_are_what_the_live_server_says_and_run_as_shown(api, tmp_path):
    """docs/api-examples.md is `python -m predictors.ops.examples` on the demo models' server (its metadata, calls and
    answers; regenerate it as its first lines say), and each curl and tritonclient call in it answers when run as is."""
    import os
    import re
    import subprocess
    import sys
    from helpers import ROOT, TEST_IMAGES
    from predictors.ops.examples import examples_markdown
    photo = TEST_IMAGES / 'mix' / 'mix_lemon_orange.jpg'
    shown, host = 'http://127.0.0.1:8865', api.url.removeprefix('http://')
    live = examples_markdown(api.url, photo=photo.read_bytes()).replace(api.url, shown).replace(host, '127.0.0.1:8865')
    committed = (ROOT / 'docs' / 'api-examples.md').read_text()
    assert live.strip() == committed.strip(), 'docs/api-examples.md is out of date: regenerate it (its first lines say how)'
    names = [m['name'] for m in api.http.get('/v1/models').json()['models']]
    assert all(f'## `{n}`' in committed for n in names) and '`labels` BOOL' in committed
    shutil.copy(photo, tmp_path / 'photo.jpg')
    env = dict(os.environ, FASTAI_APPS_API_TOKEN='any')          # (this test server asks for none)
    calls = re.findall(r'```(bash|python)\n(.*?)```', committed.replace(shown, api.url).replace('127.0.0.1:8865', host), re.S)
    assert len(calls) == 2 * len(names)
    for lang, code in calls:
        r = subprocess.run(['bash', '-c', code] if lang == 'bash' else [sys.executable, '-c', code], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and 'predicted' in r.stdout, code + r.stdout + r.stderr
        if lang == 'bash': assert json.loads(r.stdout)['outputs'][-1] == dict(name='error', datatype='BYTES', shape=[1], data=[''])
        else: assert "error [b'']" in r.stdout                       # answered, not refused


def test_operators_can_turn_the_panel_off(api):
    from predictors.core.settings import Settings
    from widgets.apicalls import api_calls_html
    assert api_calls_html(api.store.card('adult_income'), Settings.from_env({'FASTAI_APPS_API_PANEL': '0'})) == ''
    assert 'Use via API' in api_calls_html(api.store.card('adult_income'), Settings.from_env({}))


def test_schemathesis_finds_no_server_error_and_no_answer_off_its_schema(api):
    """Property-based requests over the server's own /openapi.json, the /v2 paths (documented with the protocol's
    shapes): no 500, every answer within its documented status codes, content type and schema."""
    import subprocess
    from harness.voila_server import ROOT
    r = subprocess.run([str(ROOT / '.venv' / 'bin' / 'st'), 'run', f'{api.url}/openapi.json', '--include-path-regex', '^/v2',
                        '-c', 'not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance',
                        '-n', '30', '--phases', 'coverage,fuzzing', '--seed', '29'], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:]
    assert ' passed' in r.stdout and ' failed' not in r.stdout.split('SUMMARY')[-1]


def test_the_open_inference_openapi_client_reads_and_infers(api):
    "The protocol's own generated client (open-inference-openapi): metadata, readiness, infer, and a 400 it raises."
    from open_inference.openapi.client import ApiError, BadRequestError, InferenceRequest, OpenInferenceClient
    c = OpenInferenceClient(base_url=api.url)
    c.check_server_liveness(); c.check_server_readiness(); c.check_model_readiness('sms_spam')
    assert c.read_server_metadata().name == 'fastai-apps'
    meta = c.read_model_metadata('adult_income')
    assert [t.name for t in meta.inputs] == [i['name'] for i in api.store.card('adult_income')['schema']['inputs']]
    card = api.store.card('adult_income')
    row = {i['name']: i['default'] for i in card['schema']['inputs']}
    inputs = [{'name': t.name, 'shape': [1], 'datatype': t.datatype, 'data': [row[t.name]]} for t in meta.inputs]
    res = c.model_infer('adult_income', request=InferenceRequest(inputs=inputs))
    out = {o.name: o for o in res.outputs}
    v1 = api.http.post('/v1/models/adult_income/predict', json={'records': [row]}).json()['results'][0]
    assert out['predicted'].data.__root__ == [v1['prediction']]
    assert abs(out['probabilities'].data.__root__[card['classes'].index(v1['prediction'])] - v1['probabilities'][v1['prediction']]) <= 1e-6
    with pytest.raises(BadRequestError):
        c.model_infer('adult_income', request=InferenceRequest(inputs=inputs[:-1]))
    with pytest.raises(ApiError) as e:                  # an unknown model: 404, as KServe says it (the spec: 'typically 400')
        c.read_model_metadata('no_such_model')
    assert e.value.status_code == 404 and 'no_such_model' in e.value.body['error']

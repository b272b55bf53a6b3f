"""#25, critical 1: the model server answers programs of this machine that show its token, never a web page of
another site, never through a host name it does not know; JSON only as JSON; labels only from the session that
received the answer. Each test replays the attack the issue reports."""
import json

import httpx
import pytest

from helpers import ROOT, run_async, run_cli
from harness.voila_server import demo_model_server

TOKEN = 'test-token-0123456789abcdef'
KERNEL_TOKEN = 'test-kernel-token-0123456789'      # the doors' own (make serve makes one per run)


@pytest.fixture(scope='module')
def guarded(tmp_path_factory):
    env = dict(FASTAI_APPS_API_TOKEN=TOKEN, FASTAI_APPS_KERNEL_TOKEN=KERNEL_TOKEN)
    with demo_model_server(tmp_path_factory.mktemp('guarded'), env, timeout=60) as srv, \
            httpx.Client(base_url=srv.url, timeout=60, headers={'Authorization': f'Bearer {TOKEN}'}) as srv.auth:
        srv.bare = srv.http
        yield srv


def test_without_its_token_the_model_server_gives_nothing_but_liveness(guarded):
    for path in ('/v1/models', '/v1/models/adult_income', '/readyz', '/docs', '/openapi.json'):
        r = guarded.bare.get(path)
        assert r.status_code == 401 and 'Authorization: Bearer' in r.json()['detail'], path
        assert r.headers['www-authenticate'] == 'Bearer'
    wrong = guarded.bare.get('/v1/models', headers={'Authorization': 'Bearer ' + TOKEN[:-1] + 'x'})
    assert wrong.status_code == 401
    assert guarded.bare.get('/healthz').json() == {'status': 'ok'}
    assert [m['name'] for m in guarded.auth.get('/v1/models').json()['models']] == ['adult_income', 'bike_rentals', 'fruits', 'mixed_fruits', 'movie_ratings', 'sms_spam', 'sms_writer']


def test_a_host_name_it_does_not_know_is_refused_even_with_the_token(guarded):
    "DNS rebinding: a page at evil.example whose name now points at 127.0.0.1."
    r = guarded.auth.get('/v1/models/adult_income', headers={'Host': 'evil.example'})
    assert r.status_code == 421 and "'evil.example'" in r.json()['detail']
    assert guarded.auth.get('/v1/models', headers={'Host': f'localhost:{guarded.port}'}).status_code == 200


def test_a_web_page_of_another_site_cannot_predict_or_label(guarded):
    "The page at 127.0.0.2 that added 2,000 labels: its requests carry its Origin and are refused before any route."
    a = guarded.auth.post('/v1/models/adult_income/predict', json={'records': [{'age': 40}]},
                          headers={'X-Session-Id': 'visitor'}).json()['results'][0]
    for method, path, kw in (('post', '/v1/models/adult_income/feedback', dict(json={'labels': [{'id': a['id'], 'truth': '<50k'}]})),
                             ('post', '/v1/models/fruits/predict', dict(files=[('files', ('a.png', b'x', 'image/png'))])),
                             ('get', '/v1/models/adult_income', {})):
        r = getattr(guarded.auth, method)(path, headers={'Origin': 'http://127.0.0.2:8000', 'X-Session-Id': 'visitor'}, **kw)
        assert r.status_code == 403 and 'web pages of other sites' in r.json()['detail'], path
    same = guarded.auth.get('/v1/models', headers={'Origin': guarded.url})       # its own /docs page may
    assert same.status_code == 200


def test_json_only_as_json_and_labels_only_from_the_answers_session(guarded):
    body = '{"labels": [{"id": 1, "truth": "<50k"}]}'
    r = guarded.auth.post('/v1/models/adult_income/feedback', content=body, headers={'Content-Type': 'text/plain',
                                                                                      'X-Session-Id': 'visitor'})
    assert r.status_code == 415 and 'application/json' in r.json()['detail']
    a = guarded.auth.post('/v1/models/adult_income/predict', json={'records': [{'age': 40}]},
                          headers={'X-Session-Id': 'owner'}).json()['results'][0]
    r = guarded.auth.post('/v1/models/adult_income/feedback', json={'labels': [{'id': a['id'], 'truth': '<50k'}]})
    assert r.status_code == 422 and 'X-Session-Id' in r.json()['detail']
    r = guarded.auth.post('/v1/models/adult_income/feedback', json={'labels': [{'id': a['id'], 'truth': '<50k'}]},
                          headers={'X-Session-Id': 'someone-else'})
    assert r.json()['results'] == [dict(id=a['id'], error=f'answer {a["id"]} was not given in this session')]
    r = guarded.auth.post('/v1/models/adult_income/feedback', json={'labels': [{'id': 10**20, 'truth': '<50k'}]},
                          headers={'X-Session-Id': 'owner'})
    assert r.status_code == 422 and 'label 1: send' in r.json()['detail']        # was a 500 (OverflowError)


def test_the_remote_client_shows_the_token_and_health_checks_pass(guarded):
    from predictors.service.remote import RemoteModels
    assert RemoteModels(guarded.url, token=TOKEN).models('records')[0]['name'] == 'adult_income'
    from predictors.core.store import ModelError
    with pytest.raises(ModelError, match='Authorization: Bearer'):
        RemoteModels(guarded.url, token='wrong', wait=1).models()
    import os
    env = dict(os.environ, FASTAI_APPS_API_TOKEN=TOKEN)
    import subprocess, sys
    r = subprocess.run([sys.executable, '-m', 'predictors', 'health', '--api', guarded.url], capture_output=True,
                       text=True, cwd=ROOT, env=env, timeout=300)
    assert 'PASS  model server' in r.stdout, r.stdout + r.stderr


def test_serving_the_models_beyond_this_machine_needs_a_token():
    r = run_cli('api', '--host', '0.0.0.0', '--port', '1', check=2)
    assert 'refusing to serve the models on 0.0.0.0 without a token' in r.stderr


def test_a_scored_file_never_carries_a_formula_into_a_spreadsheet(tmp_path, demo_store):
    "#25 item 13 (OWASP CSV injection): formula cells come back as text; numbers written as text stay numbers."
    import pandas as pd
    from predictors import load_predictor
    from predictors.service.scored import ScoredCsv
    from helpers import ADULT_CSV
    df = pd.read_csv(ADULT_CSV).head(6)
    evil = ['=HYPERLINK("http://evil.example","x")', "=cmd|'/c calc'!A0", '+SUM(A1:A2)', '@SUM(A1)', '-3', ' Private']
    df['workclass'] = evil
    out = pd.read_csv(__import__('io').BytesIO(b''.join(ScoredCsv(load_predictor('adult_income', store=demo_store),
                                                                    df.to_csv(index=False).encode()))))
    assert out['workclass'].tolist() == ["'" + e for e in evil[:4]] + ['-3', ' Private']
    assert out['prediction'].notna().all()                       # the model still read what was sent


def test_an_empty_host_is_every_address_and_needs_sign_in():
    "#25 item 6: `--Voila.ip=` listens on 0.0.0.0 and [::]: it is not loopback."
    from predictors.web.appserver import sign_in_problem
    assert sign_in_problem('', None) is not None and sign_in_problem('127.0.0.1', None) is None


def _asgi(app, body_parts, delay=0.0, then_wait=False):
    """Run one HTTP request through ASGI `app`: the messages it sent, and whether it raised. After the body the
    caller disconnects (or, `then_wait`, stays connected, as a caller waiting for its answer)."""
    import asyncio
    sent, parts = [], list(body_parts)

    async def receive():
        await asyncio.sleep(delay)
        if parts:
            chunk = parts.pop(0)
            return {'type': 'http.request', 'body': chunk, 'more_body': bool(parts)}
        if then_wait: await asyncio.sleep(3600)
        return {'type': 'http.disconnect'}

    async def send(m): sent.append(m)

    async def run():
        try:
            await app({'type': 'http', 'method': 'POST', 'path': '/x', 'headers': []}, receive, send)
            return False
        except Exception:  # noqa: BLE001
            return True
    return sent, run_async(run())


def test_the_unexpected_gets_a_plain_500_and_is_not_raised_on(caplog):
    "Starlette answered a 500, then raised again: uvicorn dropped the keep-alive connection and logged it twice."
    from predictors.api.sturdy import Sturdy

    async def broken(scope, receive, send): raise KeyError('/srv/secret/path')
    sent, raised = _asgi(Sturdy(broken), [b'{}'])
    assert not raised and sent[0]['status'] == 500
    assert json.loads(sent[1]['body'])['detail'] == 'the server could not answer (KeyError); its log says why.'
    assert '/srv/secret' not in sent[1]['body'].decode()


def test_a_body_that_stalls_or_trickles_is_answered_408_and_closed():
    "300 connections trickling a byte every 5 s were held for ever."
    from starlette.requests import Request
    from predictors.api.sturdy import Sturdy

    async def reads_body(scope, receive, send):
        await Request(scope, receive).body()
        await send({'type': 'http.response.start', 'status': 200, 'headers': []})
        await send({'type': 'http.response.body', 'body': b'ok'})
    stalled, raised = _asgi(Sturdy(reads_body, stall=0.05), [b'a', b'b'], delay=0.2)
    assert not raised and stalled[0]['status'] == 408 and (b'connection', b'close') in stalled[0]['headers']
    assert 'no part of the body came for 0 s' in json.loads(stalled[1]['body'])['detail']
    trickle, _ = _asgi(Sturdy(reads_body, stall=0.1, min_rate=1000), [b'a'] * 10, delay=0.03)
    assert trickle[0]['status'] == 408 and 'bytes a second' in json.loads(trickle[1]['body'])['detail']
    fine, _ = _asgi(Sturdy(reads_body, stall=1), [b'a' * 100] * 3)
    assert fine[0]['status'] == 200


def test_a_caller_gone_while_sending_is_one_line(caplog):
    "Every disconnected body logged a ~75-line ClientDisconnect traceback (28k lines after one test)."
    import logging
    from starlette.requests import Request
    from predictors.api.sturdy import Sturdy

    async def reads_body(scope, receive, send): await Request(scope, receive).body()
    with caplog.at_level(logging.INFO, 'predictors.api'):
        sent, raised = _asgi(Sturdy(reads_body), [])
    assert not raised and sent == []
    assert [r.getMessage() for r in caplog.records] == ['POST /x: the caller went away while sending its body']
    assert not any(r.exc_info for r in caplog.records)


def test_an_answer_that_takes_long_is_not_cut_once_the_body_is_in():
    "Starlette waits for a disconnect while it streams an answer: no deadline then (a 100 MB CSV takes minutes)."
    import asyncio
    from predictors.api.sturdy import Sturdy

    async def slow_answer(scope, receive, send):
        assert (await receive())['type'] == 'http.request'
        waiting = asyncio.ensure_future(receive())            # as StreamingResponse listens for a disconnect
        await asyncio.sleep(0.3)
        assert not waiting.done(), 'the wait for a disconnect ended early'
        waiting.cancel()
        await send({'type': 'http.response.start', 'status': 200, 'headers': []})
        await send({'type': 'http.response.body', 'body': b'ok'})
    sent, raised = _asgi(Sturdy(slow_answer, stall=0.05), [b'{}'], then_wait=True)
    assert not raised and sent[0]['status'] == 200


def test_only_the_apps_kernels_are_logged_as_the_apps(guarded):
    """`X-Source: app` from a program counted as form answers in drift. The doors' own token (given to the app
    kernels only) is what makes an answer the apps'; a program that says it is one is logged as `api`."""
    from predictors.monitoring.log import PredictionLog
    import pandas as pd
    from helpers import ADULT_CSV
    row = {k: (v.item() if hasattr(v, 'item') else v) for k, v in pd.read_csv(ADULT_CSV, nrows=1).iloc[0].items()}
    row.pop('salary')
    for token, session in ((TOKEN, 'program1'), (KERNEL_TOKEN, 'kernel1')):
        r = guarded.bare.post('/v1/models/adult_income/predict', json={'records': [row]},
                              headers={'Authorization': f'Bearer {token}', 'X-Source': 'app', 'X-Session-Id': session})
        assert r.status_code == 200, r.text
    df = PredictionLog(guarded.log_db).read('adult_income')
    df = df[df['session'].isin(['program1', 'kernel1'])]
    assert dict(zip(df['session'], df['source'])) == {'program1': 'api', 'kernel1': 'app'}

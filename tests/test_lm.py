"""Language models (#41): a fastai 2.8 `language_model_learner` export made here and the demo `sms_writer`, served as
the learner answers: the next-word distribution is its softmax, a continuation with a seed is `learn.predict` after
`torch.manual_seed(seed)`; every surface (/v1 streamed and whole, /v2, the CLI, a CSV), bad input, many writers at once,
feedback, drift and comparing versions."""
import json
import threading

import numpy as np
import pandas as pd
import pytest

from helpers import ROOT, run_cli

SMS = ROOT / 'data' / 'sms_spam' / 'sms.csv'
PROMPTS = ['I will call you', 'Hello! How ARE you doing today?? Sooooo good', 'ok', 'Sorry, I\'ll be late tonight']


@pytest.fixture(scope='module')
def lm(tmp_path_factory):
    "A small language model trained here on 600 messages (fastai 2.8), exported, loaded back and registered."
    import warnings
    from fastai.text.all import AWD_LSTM, TextDataLoaders, awd_lstm_lm_config, language_model_learner, load_learner
    from predictors import ModelStore
    from predictors.kinds import kind
    d = tmp_path_factory.mktemp('lm')
    df = pd.read_csv(SMS).sample(600, random_state=0)
    dls = TextDataLoaders.from_df(df, text_col='text', is_lm=True, valid_pct=0.2, seed=0, bs=32, seq_len=40, num_workers=0)
    learn = language_model_learner(dls, AWD_LSTM, pretrained=False,
                                   config=dict(awd_lstm_lm_config, emb_sz=60, n_hid=120, n_layers=2))
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(2, 1e-2)
    learn.export(d / 'lm.pkl')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = load_learner(d / 'lm.pkl')
    store = ModelStore(d / 'models')
    k = kind('language_model')
    store.register('writer', d / 'lm.pkl', dict(k.card(learn, df[['text']], {}), name='writer'))
    return learn, store, d


@pytest.fixture(scope='module')
def pred(lm):
    from predictors import load_predictor
    return load_predictor('writer', lm[1])


def _softmax(learn, text):
    learn.model.reset()
    with learn.no_bar():
        return learn.get_preds(dl=[(learn.dls.test_dl([text]).items[0][None],)])[0][0][-1].numpy()


def test_it_is_recognised_as_a_language_model_and_not_a_text_classifier(lm):
    from predictors.kinds import detect_kind
    from predictors.ops.verify import check_file
    assert detect_kind(lm[0]).task == 'language_model'
    rows = check_file(str(lm[2] / 'lm.pkl'))
    assert all(r['ok'] for r in rows), rows
    assert 'language model (AWD_LSTM) over a vocabulary of' in rows[1]['detail'] and "answers 'See you' with '" in rows[2]['detail']


def test_next_words_are_the_learners_softmax_and_a_seeded_continuation_is_learn_predict(lm, pred):
    import torch
    learn = lm[0]
    for text in PROMPTS:
        ids = pred.prompt(text)[1]
        assert np.abs(pred.probabilities(ids) - _softmax(learn, text)).max() <= 1e-5
        for temperature, seed in ((1.0, 0), (0.7, 1), (1.5, 7), (1.0, 123)):
            torch.manual_seed(seed)
            want = learn.predict(text, n_words=20, temperature=temperature, no_bar=True)
            got = pred.continuation(text, 20, temperature, seed)
            assert got.text == want and len(got.tokens) == 20 and got.seed == seed
    top = pred.next_of('I will call you', 5).next
    p = _softmax(learn, 'I will call you')
    assert [n.probability for n in top] == sorted((n.probability for n in top), reverse=True)
    assert all(abs(n.probability - p[pred.o2i[n.word]]) <= 1e-6 and not n.word.startswith('xx') for n in top)


def test_the_same_seed_writes_the_same_words_and_temperature_zero_the_likeliest(pred):
    a, b, c = (pred.continuation('See you', 15, 1.0, s) for s in (5, 5, 6))
    assert a.tokens == b.tokens and a.tokens != c.tokens
    greedy = pred.continuation('See you', 10, 0, None)
    ids = pred.prompt('See you')[1]
    probs = pred.probabilities(ids)
    probs[pred.unk] = 0
    assert greedy.tokens[0] == pred.vocab[int(probs.argmax())]
    assert greedy.tokens == pred.continuation('See you', 10, 0, 99).tokens        # no draws at temperature 0
    assert pred.continuation('See you', 10).seed is not None                      # a seed is chosen, and said


def test_bad_input_is_a_clear_message_or_a_stated_bound(pred):
    from predictors.core.written import MOST_WORDS
    said = lambda *a: pred.continuation(*a).error
    assert 'empty' in said('')
    assert 'empty' in said('   \n ')
    assert '1,000,000 characters long' in said('word' * 250_000)                    # 1 MB of one word
    assert 'from 1 to 200' in said('See you', 10_000) and MOST_WORDS == 200
    assert 'temperature runs from 0' in said('See you', 5, 1e9)
    assert 'temperature runs from 0' in said('See you', 5, -1)
    assert 'is a number' in said('See you', 5, float('nan'))
    nul = pred.continuation('See\x00 you', 3, 1.0, 1)
    assert nul.ok and any('NUL' in w for w in nul.warnings)
    lone = pred.continuation('See \ud800 you', 3, 1.0, 1)
    assert lone.ok and any('surrogates' in w for w in lone.warnings)
    unk = pred.continuation('zqxjv blorptastic See you', 3, 1.0, 1)
    assert {'zqxjv', 'blorptastic'} <= set(unk.unknown)


def test_sixteen_writers_at_once_each_get_what_they_would_get_alone(pred):
    "The model is read with an explicit state per writer: 16 threads at once write what each writes alone."
    alone = {s: pred.continuation(PROMPTS[s % 4], 30, 1.0, s).tokens for s in range(16)}
    got, threads = {}, []
    for s in range(16):
        threads.append(threading.Thread(target=lambda s=s: got.__setitem__(s, pred.continuation(PROMPTS[s % 4], 30, 1.0, s).tokens)))
    for t in threads: t.start()
    for t in threads: t.join()
    assert got == alone


def test_every_surface_v1_streamed_and_whole_v2_and_feedback(lm, pred, tmp_path):
    from fastapi.testclient import TestClient
    from predictors.api import create_app
    from predictors.monitoring.log import PredictionLog
    log = PredictionLog(str(tmp_path / 'p.db'))
    want = pred.continuation('See you', 12, 0.9, 42)
    with TestClient(create_app(lm[1], log=log, token=None), base_url='http://127.0.0.1') as http:
        http.headers['X-Session-Id'] = 'a-writer'                      # feedback labels the session's own answers
        r = http.post('/v1/models/writer/generate', json=dict(text='See you', words=12, temperature=0.9, seed=42))
        assert r.status_code == 200 and r.json()['text'] == want.text and r.json()['id'] is not None
        with http.stream('POST', '/v1/models/writer/generate',
                         json=dict(text='See you', words=12, temperature=0.9, seed=42, stream=True)) as s:
            assert s.headers['content-type'] == 'application/x-ndjson'
            lines = [json.loads(x) for x in s.iter_lines() if x]
        assert [x['token'] for x in lines[:-1]] == want.tokens and lines[-1]['continuation'] == want.continuation
        assert ''.join(x['text'] for x in lines[:-1]).strip() == want.continuation
        nxt = http.post('/v1/models/writer/generate', json=dict(text='See you', words=0, next=3)).json()
        assert [n['word'] for n in nxt['next']] == [n.word for n in pred.next_of('See you', 3).next]
        for body, why in ((dict(text=''), 'empty'), (dict(text='x', words=10_000), 'from 1 to 200'),
                          (dict(text='x', temperature=1e9), 'temperature runs')):
            for stream in (False, True):
                r = http.post('/v1/models/writer/generate', json=dict(body, stream=stream))
                assert r.status_code == 422 and why in r.json()['detail'], (body, r.text)
        r = http.post('/v1/models/writer/predict', json=dict(records=[dict(text='See you', words=12, temperature=0.9,
                                                                               seed=42), dict(text='')]))
        res = r.json()['results']
        assert res[0]['prediction'] == want.continuation and 'empty' in res[1]['error']
        fb = http.post('/v1/models/writer/feedback', json=dict(labels=[dict(id=res[0]['id'], truth='kept'),
                                                                      dict(id=res[0]['id'], truth='great')]))
        assert fb.json()['results'][0]['ok'] and 'is not' in fb.json()['results'][1]['error']
        meta = http.get('/v2/models/writer').json()
        assert [o['name'] for o in meta['outputs']][:3] == ['predicted', 'next_words', 'next_probabilities']
        body = dict(inputs=[dict(name='text', datatype='BYTES', shape=[2], data=['See you', 'ok'])],
                    parameters=dict(seed=42, words=12, temperature=0.9))
        out = {o['name']: o for o in http.post('/v2/models/writer/infer', json=body).json()['outputs']}
        assert out['predicted']['data'][0] == want.continuation and out['next_words']['shape'] == [2, 5]
        dist = dict(inputs=[dict(name='text', datatype='BYTES', shape=[1], data=['See you'])],
                    parameters=dict(verb='next_words'))
        o = {o['name']: o for o in http.post('/v2/models/writer/infer', json=dist).json()['outputs']}
        vocab = json.loads(o['probabilities']['parameters']['classes'])
        assert o['probabilities']['shape'] == [1, len(vocab)] and vocab == pred.vocab
        assert np.abs(np.array(o['probabilities']['data']) - _softmax(lm[0], 'See you')).max() <= 1e-5


def test_the_command_line_writes_lists_next_words_and_a_csv(lm, tmp_path):
    out = run_cli('generate', 'writer', '--text', 'See you', '--words', '8', '--seed', '3', models=lm[1].root, check=0)
    assert out.stdout.strip() and 'seed 3' in out.stderr
    again = run_cli('generate', 'writer', '--text', 'See you', '--words', '8', '--seed', '3', models=lm[1].root, check=0)
    assert again.stdout == out.stdout
    nxt = json.loads(run_cli('generate', 'writer', '--text', 'See you', '--next', '4', models=lm[1].root, check=0).stdout)
    assert len(nxt['next']) == 4 and 0 < sum(n['probability'] for n in nxt['next']) <= 1
    pd.DataFrame(dict(text=['See you', '', 'ok'])).to_csv(tmp_path / 'p.csv', index=False)
    r = run_cli('generate', 'writer', '--csv', tmp_path / 'p.csv', '--seed', '1', '--words', '5', models=lm[1].root, check=1)
    scored = pd.read_csv(pd.io.common.StringIO(r.stdout))
    assert list(scored.columns) == ['text', 'continuation', 'seed', 'next_words', 'problem']
    assert scored['continuation'].notna().tolist() == [True, False, True] and 'empty' in scored['problem'][1]
    bad = run_cli('generate', 'writer', '--text', 'See you', '--temperature', '1e9', models=lm[1].root, check=2)
    assert 'temperature runs from 0' in bad.stderr and 'Traceback' not in bad.stderr


def test_monitoring_feedback_drift_and_two_versions_by_perplexity(lm, tmp_path):
    from predictors import ModelStore
    from predictors.kinds import kind
    from predictors.monitoring.compare import compare_text, compare_versions
    from predictors.monitoring.log import PredictionLog
    from predictors.monitoring.performance import performance_text
    from predictors.service.local import LocalModels
    import shutil
    store = ModelStore(tmp_path / 'models')
    shutil.copytree(lm[1].root, store.root, dirs_exist_ok=True)
    models = LocalModels(store, log=PredictionLog(str(tmp_path / 'p.db')))
    ids = []
    for i in range(40):
        *_, last = models.generate('writer', PROMPTS[i % 4] if i < 30 else 'zzqv blorp grmbl ' * 3, 5, 1.0, i)
        ids.append(last.id)
    assert models.feedback('writer', [(i, 'kept' if n % 4 else 'not useful') for n, i in enumerate(ids)]) == [None] * 40
    live = models.live_accuracy('writer')['report']
    assert live['measure'] == 'kept' and live['labelled'] == 40 and live['kept'] == 30
    assert 'kept 75.0%' in performance_text(live) and '40 of 40 answer(s) judged: 100.0%' in performance_text(live)
    from predictors.monitoring.pages import performance_html
    assert '<b class="app-live-kept">75.0%</b>' in performance_html(live)
    drift = models.drift('writer')['report']
    assert {'tokens', 'unknown'} <= set(drift['columns'])
    card = store.card('writer')
    v2 = store.register('writer', store.root / 'writer' / card['version'] / 'model.pkl', dict(card, name='writer'),
                        activate=False)
    texts = pd.read_csv(SMS).sample(60, random_state=5)[['text']]
    same = compare_versions(store, 'writer', card['version'], v2, texts)
    assert same['measure'] == 'perplexity' and same['perplexity_a'] == same['perplexity_b'] and same['compared'] == 60
    assert same['verdict'] == 'no significant difference' and 'perplexity' in compare_text(same)
    assert kind('language_model').check_truth(card, 'kept') is None


def test_a_fastai27_language_model_is_rebuilt_and_answers_as_fastai_27_did(tmp_path):
    "tests/fixtures/fastai27/lm.pkl (fastai 2.7.19): its softmax and seeded `predict` as fastai 2.7 gave them."
    from predictors.importing.convert import read_learner
    from predictors.kinds import detect_kind
    from predictors.kinds.language_model.predictor import LMPredictor
    fx = ROOT / 'tests' / 'fixtures' / 'fastai27'
    learn, conv = read_learner(str(fx / 'lm.pkl'))
    assert conv is not None and conv.fastai.startswith('2.7') and detect_kind(learn).task == 'language_model'
    pred = LMPredictor(learn, {})
    want = json.loads((fx / 'lm_preds.json').read_text())
    assert pred.vocab == want['vocab']
    for r in want['rows']:
        assert np.abs(pred.probabilities(pred.prompt(r['text'])[1]) - np.array(r['probs'])).max() <= 1e-5
        assert pred.continuation(r['text'], r['words'], r['temperature'], r['seed']).text == r['written']
    out = run_cli('import', fx / 'lm.pkl', '--name', 'old_writer', models=tmp_path / 'models', check=0)
    assert 'old_writer' in out.stdout + out.stderr
    said = run_cli('generate', 'old_writer', '--text', 'See you', '--seed', '1', models=tmp_path / 'models', check=0)
    assert said.stdout.strip()

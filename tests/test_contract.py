"""One behaviour suite over both implementations of the predictor interface (#23): `LocalModels` (in this
process) and `RemoteModels` (the model server over HTTP) must behave the same for everything a view calls,
and the server's JSON must fit the pydantic models its `/docs` publish."""
import io

import httpx
import pytest

from helpers import ADULT_CSV, TEST_IMAGES, image_files
from harness.voila_server import demo_model_server
from predictors.monitoring.pages import drift_html, live_html


@pytest.fixture(scope='module')
def served(tmp_path_factory):
    "A copy of the demo store and one log, used by both implementations."
    with demo_model_server(tmp_path_factory.mktemp('contract')) as srv:
        yield srv


@pytest.fixture(params=['local', 'remote'])
def models(request, served):
    from predictors.monitoring.log import PredictionLog
    from predictors.service import ModelService
    from predictors.service.local import LocalModels
    from predictors.service.remote import RemoteModels
    session = f'contract-{request.param}'
    m = (LocalModels(served.store, PredictionLog(served.log_db, source='app'), session=session)
         if request.param == 'local' else RemoteModels(served.url, session=session))
    assert isinstance(m, ModelService)
    return m


def _images(n):
    return [(f.name, f.read_bytes()) for f in image_files()[:n]]


def test_models_cards_and_limits(models, served):
    assert [(m['name'], m['task'], m['takes'], m['active'], m['versions']) for m in models.models()] == [
        ('adult_income', 'tabular', 'records', 'v1', ['v1']), ('bike_rentals', 'regression', 'records', 'v1', ['v1']),
        ('fruits', 'image', 'images', 'v1', ['v1']), ('mixed_fruits', 'multilabel', 'images', 'v1', ['v1']),
        ('movie_ratings', 'collab', 'records', 'v1', ['v1']), ('sms_spam', 'text', 'texts', 'v1', ['v1']),
        ('sms_writer', 'language_model', 'prompts', 'v1', ['v1'])]
    assert [m['name'] for m in models.models('image')] == ['fruits']
    assert [m['name'] for m in models.models('images')] == ['fruits', 'mixed_fruits']
    assert [m['name'] for m in models.models('records')] == ['adult_income', 'bike_rentals', 'movie_ratings']
    assert [m['name'] for m in models.models('texts')] == ['sms_spam']
    assert models.card('adult_income') == served.store.card('adult_income')
    assert models.limits().max_files == 64
    models.check('fruits')


def test_unknown_models_and_wrong_kinds_are_refused_by_name(models):
    from predictors.core.store import ModelError, UnknownModel
    with pytest.raises(UnknownModel, match='nosuch'):
        models.card('nosuch')
    with pytest.raises(ModelError, match='image model'):
        models.predict('fruits', [{'age': 3}])


def test_records_each_answer_alone_and_carry_log_ids(models):
    out = models.predict('adult_income', [{'age': 40, 'workclass': ' Private'}, {'age': 'x'}])
    assert out[0].ok and out[0].prediction in ('<50k', '>=50k') and sum(out[0].probabilities.values()) == pytest.approx(1)
    assert isinstance(out[0].id, int)
    assert out[1].error == "Age: 'x' is not a number" and isinstance(out[1].id, int)     # logged too, not labellable


def test_a_csv_is_scored_the_same_way(models):
    csv = ''.join(open(ADULT_CSV).readlines()[:21]).encode()
    out = io.BytesIO()
    assert models.score_csv('adult_income', csv, out) == []
    lines = out.getvalue().decode().splitlines()
    assert len(lines) == 21 and lines[0].endswith('prediction,probability_<50k,probability_>=50k,problem')


def test_images_each_fail_alone(models):
    got = models.predict('fruits', _images(2) + [('bad.png', b'nope')])
    assert [r.ok for r in got] == [True, True, False] and 'bad.png' in got[2].error
    assert all(isinstance(r.id, int) for r in got[:2])


def test_explanations_add_up_and_heatmaps_are_pngs(models):
    e = models.explain('adult_income', [{'age': 52, 'education-num': 13}])[0]
    assert abs(e.base + sum(c['contribution'] for c in e.contributions) - e.probability) <= 1e-4
    h = models.explain('fruits', _images(1))[0]
    assert h.heatmap[:8] == b'\x89PNG\r\n\x1a\n'


def test_feedback_labels_this_sessions_answers_only(models):
    a = models.predict('adult_income', [{'age': 33}])[0]
    assert models.feedback('adult_income', [(a.id, '>=50k'), (a.id, 'rich')]) == [
        None, "'rich' is not one of the classes of adult_income (<50k, >=50k)"]
    assert models.feedback('adult_income', [(10**9, '<50k')]) == [f'no answer {10**9} of adult_income in the log']


def test_a_multi_label_model_answers_labels_heatmaps_and_label_sets_alike(models):
    "#27: labels (or none), one heatmap per label, feedback as a list of labels, live F1: the same in and out of process."
    mix = [(p.name, p.read_bytes()) for p in sorted((TEST_IMAGES / 'mix').glob('mix_[ln]*.jpg'))]   # lemon+orange, none
    got = models.predict('mixed_fruits', mix)
    assert [sorted(r.labels) for r in got] == [['Lemon', 'Orange'], []] and got[1].prediction == 'none of these'
    h = models.explain('mixed_fruits', mix[:1])[0]
    assert sorted(h.heatmaps) == ['Lemon', 'Orange'] and all(b[:8] == b'\x89PNG\r\n\x1a\n' for b in h.heatmaps.values())
    assert models.feedback('mixed_fruits', [(got[0].id, ['Orange', 'Lemon']), (got[1].id, []), (got[0].id, 'Lemon;Kiwi;x')]) == [
        None, None, "'x' is not among the labels of mixed_fruits (Apple Red 1, Avocado, Grape, Kiwi, Lemon, Orange, Pear, "
                    "Strawberry; separate several with ';')"]
    assert 'Live F1' in live_html(models.live_accuracy('mixed_fruits', '7d'))
    drift = models.drift('mixed_fruits', '7d', 'single')        # the pictures' statistics against the training ones
    assert drift['rows'] >= 2 and 'brightness' in drift_html(drift)


def test_a_text_model_answers_explains_and_takes_feedback_alike(models):
    "#28: messages as records with a text field, a CSV with a text column, why over words, feedback by class."
    got = models.predict('sms_spam', [{'text': 'WINNER! Claim your FREE prize now, call 09061701461'}, {'text': ''}])
    assert got[0].prediction == 'spam' and not got[1].ok and got[1].error.startswith('the message is empty')
    e = models.explain('sms_spam', [{'text': 'Call me when you get home'}])[0]
    assert abs(e.base + sum(c['contribution'] for c in e.contributions) - e.probability) <= 1e-4
    assert [c['value'] for c in e.contributions] == ['Call', 'me', 'when', 'you', 'get', 'home']
    out = io.BytesIO()
    models.score_csv('sms_spam', b'text\n"two\nlines"\nhello\n', out)
    assert out.getvalue().decode().splitlines()[0] == 'text,prediction,probability_ham,probability_spam,problem'
    assert models.feedback('sms_spam', [(got[0].id, 'spam'), (got[0].id, 'eggs')]) == [
        None, "'eggs' is not one of the classes of sms_spam (ham, spam)"]


def test_a_language_model_writes_alike_token_by_token_and_stops_when_asked(models):
    "#41: a continuation as it is written (the same seed, the same words), its feedback, the next words, Stop."
    *pieces, last = models.generate('sms_writer', 'See you', 10, 0.8, 7)
    assert last.ok and [p.token for p in pieces] == last.tokens and len(last.tokens) == 10 and last.seed == 7
    assert ''.join(p.text for p in pieces).strip() == last.continuation and last.id is not None
    assert list(models.generate('sms_writer', 'See you', 10, 0.8, 7))[-1].tokens == last.tokens
    assert models.feedback('sms_writer', [(last.id, 'kept'), (last.id, 'meh')]) == [None, "'meh' is not 'kept' or 'not useful'"]
    seen = []
    for p in models.generate('sms_writer', 'See you', 200, 1.0, 1, stop=lambda: len(seen) >= 3): seen.append(p)
    assert seen[-1].stopped and len(seen[-1].tokens) == 3
    nxt = models.next_words('sms_writer', 'See you', 4)
    assert len(nxt.next) == 4 and nxt.next[0].probability >= nxt.next[-1].probability
    assert models.predict('sms_writer', [{'text': 'See you', 'seed': 7, 'words': 10, 'temperature': 0.8}])[0].prediction \
        == last.continuation


def test_monitoring_reads_the_same_log(models):
    models.predict('adult_income', [{'age': 30}, {'age': 60}])
    live = models.live_accuracy('adult_income', '7d')
    assert 'app-perf' in live_html(live) and live['shadow'] is None
    drift = models.drift('adult_income', '7d', 'single')
    assert drift['rows'] >= 2 and drift['problem'] is None and 'drift-row' in drift_html(drift)
    assert 'drift-hist' in drift_html(models.drift('adult_income', '7d', 'single'))
    from predictors.core.store import ModelError
    with pytest.raises(ModelError, match='cannot read the time'):
        models.drift('adult_income', 'last week')


def test_the_answers_fit_the_published_schemas(served):
    "Every /v1 JSON answer validates against the pydantic model that /docs shows for it."
    from predictors.api import schemas as S
    http = httpx.Client(base_url=served.url, timeout=120)
    S.ModelsOut.model_validate(http.get('/v1/models').json())
    S.ReadyOut.model_validate(http.get('/v1/models/fruits/ready').json())
    S.RecordsOut.model_validate(http.post('/v1/models/adult_income/predict', json={'records': [{'age': 3}, {'age': 'x'}]}).json())
    S.ExplanationsOut.model_validate(http.post('/v1/models/adult_income/explain', json={'records': [{'age': 3}]}).json())
    files = [('files', (n, d, 'image/png')) for n, d in _images(1)] + [('files', ('bad.png', b'x', 'image/png'))]
    S.ImagesOut.model_validate(http.post('/v1/models/fruits/predict', files=files).json())
    S.ImagesOut.model_validate(http.post('/v1/models/fruits/explain', files=files).json())
    mix = [('files', (p.name, p.read_bytes(), 'image/jpeg')) for p in sorted((TEST_IMAGES / 'mix').glob('*.jpg'))[:2]]
    for verb in ('predict', 'explain'):
        out = S.ImagesOut.model_validate(http.post(f'/v1/models/mixed_fruits/{verb}', files=mix).json())
        assert all(r.labels for r in out.results) and (verb == 'predict' or all(r.heatmaps_png for r in out.results))
    # every kind (#39): a number and its range, a message's class; the models refuse a field they do not declare
    bikes = S.RecordsOut.model_validate(http.post('/v1/models/bike_rentals/predict', json={'records': [{'hr': 8}, {'temp': 'x'}]}).json())
    assert isinstance(bikes.results[0].prediction, float) and len(bikes.results[0].range) == 2 and bikes.results[1].error
    S.ExplanationsOut.model_validate(http.post('/v1/models/bike_rentals/explain', json={'records': [{'hr': 8}]}).json())
    sms = S.RecordsOut.model_validate(http.post('/v1/models/sms_spam/predict', json={'records': [{'text': 'hi'}]}).json())
    assert sms.results[0].prediction in ('ham', 'spam')
    S.ExplanationsOut.model_validate(http.post('/v1/models/sms_spam/explain', json={'records': [{'text': 'hi there'}]}).json())
    from pydantic import ValidationError
    with pytest.raises(ValidationError):
        S.PredictionOut.model_validate({'prediction': 'x', 'rank': 1})
    S.FeedbackOut.model_validate(http.post('/v1/models/adult_income/feedback', json={'labels': [{'id': 1, 'truth': 'x'}]},
                                           headers={'X-Session-Id': 'contract'}).json())
    S.LiveOut.model_validate(http.get('/v1/models/adult_income/live').json())
    S.DriftOut.model_validate(http.get('/v1/models/adult_income/drift').json())
    S.ReadyzOut.model_validate(http.get('/readyz').json())
    S.ErrorOut.model_validate(http.get('/v1/models/nosuch').json())
    doc = http.get('/openapi.json').json()
    for path, model in (('/v1/models/{name}/feedback', 'LabelsIn'), ('/v1/models/{name}/predict', 'RecordsIn'),
                        ('/v1/models/{name}/explain', 'RecordsIn')):
        body = doc['paths'][path]['post']['requestBody']['content']['application/json']['schema']
        assert body == {'$ref': f'#/components/schemas/{model}'}, path
    assert doc['components']['schemas']['LabelsIn']['properties']['labels']['items'] == {'$ref': '#/components/schemas/Label'}
    assert {'RecordsIn', 'PredictionOut', 'ImageResultOut', 'FeedbackOut'} <= set(doc['components']['schemas'])
    http.close()

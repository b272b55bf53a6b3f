"""Text classifiers (#28): the `sms_spam` demo, answers equal to `learn.predict`, explanations that add up, hostile
messages that fail alone (or are answered with what was changed said), CSV scoring of a text column, the CLI, a
fastai 2.8 export imported, drift of message length and unknown words."""
import io
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from helpers import ROOT, run_cli

SMS = ROOT / 'data' / 'sms_spam' / 'sms.csv'
SPAM = 'WINNER!! You have won a FREE prize of £1000 cash. Call 09061701461 now to claim, T&Cs apply'
HAM = "Hey, are we still on for lunch tomorrow? I'll be at the station at 12"


@pytest.fixture(scope='module')
def sms(demo_store):
    from predictors import load_predictor
    return load_predictor('sms_spam', store=demo_store)


@pytest.fixture(scope='module')
def messages():
    return pd.read_csv(SMS)['text'].tolist()


def test_the_demo_card_says_what_the_model_reads_and_how_good_it_is(demo_store):
    card = demo_store.card('sms_spam')
    assert card['task'] == 'text' and card['classes'] == ['ham', 'spam'] and card['target'] == 'label'
    m = card['metrics']
    assert m['accuracy'] >= 0.97 and m['valid_rows'] == 891
    assert {p['cls']: p for p in m['per_class']}['spam']['recall'] >= 0.90
    s = card['schema']
    assert s['tokenizer'] == 'SpacyTokenizer' and s['vocab_size'] > 1000 and 'replace_maj' in s['rules']
    assert s['max_len'] == 72 * 20 and s['inputs'] == [dict(name='text', kind='text')]
    ref = card['reference']
    assert set(ref['columns']) == {'tokens', 'unknown'} and len(ref['top_tokens']) == 200


def test_answers_equal_learn_predict_for_50_messages(sms, messages):
    "Many messages in one call (sorted by length, padded as fastai pads) answer as `learn.predict` does one by one."
    picked = messages[:45] + [SPAM, HAM, 'ok', '😀👍 see you ✨', 'a ' * 600]
    res = sms.predict_records([{'text': t} for t in picked])
    assert not res.errors and len(res) == 50
    for t, p in zip(picked, res.probs):
        with sms.learn.no_bar():
            _, _, want = sms.learn.predict(t)
        assert np.abs(p - want.numpy()).max() <= 1e-5, t[:40]
    assert res[45].prediction == 'spam' and res[46].prediction == 'ham'


@pytest.mark.parametrize('text', [SPAM, HAM, 'Free entry', 'x ' * 400])
def test_the_words_contributions_add_up_to_the_answer(sms, text):
    "Shapley values over words: base (an empty message) plus the contributions is the answer's probability."
    e = sms_explainer(sms).explain_text(text)
    assert e.ok and e.background == 'an empty message'
    assert abs(e.base + sum(c['contribution'] for c in e.contributions) - e.probability) <= 1e-5
    assert e.probability == pytest.approx(float(sms.predict_one({'text': text}).probability), abs=1e-5)
    assert e.method.startswith('exact' if len(e.contributions) <= 10 else 'sampled')


def sms_explainer(sms):
    from predictors.kinds import kind
    return kind('text').explainer(sms)


def test_the_spam_words_are_what_pushed_towards_spam(sms):
    e = sms_explainer(sms).explain_text(SPAM)
    assert e.target == 'spam'
    top = [c['value'].lower() for c in sorted(e.contributions, key=lambda c: -c['contribution'])[:5]]
    assert set(top) & {'free', 'prize', 'claim', 'cash', 'call', 'won', 'winner', 'now', '£1000'}, top
    assert ' '.join(c['value'] for c in e.contributions).startswith('WINNER !')       # the message, in order


@pytest.mark.parametrize('text, error, warning', [
    ('', 'the message is empty', None),
    ('   \n\t ', 'the message is empty', None),
    (None, 'the message is empty', None),
    (12, 'the message must be text, not int', None),
    ('free' * 262_144, 'the message is 1,048,576 characters long; the apps read messages of up to 20,000', None),
    ('call\x00 now for your free prize', None, 'NUL characters were removed'),
    ('win \ud800 cash', None, 'lone surrogates'),
    ('\u202eright-to-left \u200f marks \u202c', None, None),
    ('🎉🎉 you won 🎁 ' * 50, None, None),
])
def test_hostile_messages_fail_alone_or_are_answered_with_what_changed(sms, text, error, warning):
    res = sms.predict_records([{'text': HAM}, {'text': text}, {'text': SPAM}])
    assert res[0].ok and res[2].ok                         # the others are answered whatever this one holds
    p = res[1]
    if error:
        assert not p.ok and p.error.startswith(error)
    else:
        assert p.ok and p.prediction in ('ham', 'spam')
        assert (warning is None and not p.warnings) or any(warning in w for w in p.warnings)
    e = sms_explainer(sms).explain_text(text)
    assert e.ok == (error is None)


def test_a_csv_of_messages_with_multi_line_cells_is_scored_row_by_row(demo_store, tmp_path):
    from predictors.core.csvio import read_csv_checked
    from predictors.service.local import LocalModels
    df = pd.DataFrame(dict(id=[1, 2, 3, 4], text=[HAM, 'line one\nline two, "quoted"\nthree', '', SPAM]))
    path = tmp_path / 'messages.csv'
    df.to_csv(path, index=False)
    out = io.BytesIO()
    unused = LocalModels(demo_store, None).score_csv('sms_spam', path.read_bytes(), out)
    scored = pd.read_csv(io.BytesIO(out.getvalue()), keep_default_na=False)
    assert unused == ['id'] and len(scored) == 4 and scored['text'][1] == 'line one\nline two, "quoted"\nthree'
    assert list(scored['prediction']) == ['ham', 'ham', '', 'spam']
    assert scored['problem'][2].startswith('error: the message is empty') and scored['problem'][1] == ''
    assert list(read_csv_checked(path)['id']) == [1, 2, 3, 4]


def test_the_cli_predicts_and_explains_messages(tmp_path):
    pd.DataFrame(dict(text=[HAM, SPAM])).to_csv(tmp_path / 'm.csv', index=False)
    r = run_cli('predict', 'sms_spam', tmp_path / 'm.csv', '--no-log', check=0)
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x['prediction'] for x in lines] == ['ham', 'spam'] and [x['row'] for x in lines] == [1, 2]
    r = run_cli('explain', 'sms_spam', tmp_path / 'm.csv', check=0)
    why = [json.loads(x) for x in r.stdout.splitlines()]
    assert why[1]['target'] == 'spam' and abs(why[1]['base'] + sum(c['contribution'] for c in why[1]['contributions'])
                                              - why[1]['probability']) <= 1e-5


def test_a_fastai28_text_export_imports_and_verifies(tmp_path, demo_store, sms):
    from predictors import ModelStore, load_predictor
    from predictors.core.store import load_learner_file
    load_learner_file(demo_store.path('sms_spam') / 'model.pkl').export(tmp_path / 'theirs.pkl')
    r = run_cli('verify', tmp_path / 'theirs.pkl', check=0)
    assert r.stdout.count('PASS') == 3 and 'text classifier of 2 classes, a vocabulary of' in r.stdout
    run_cli('import', tmp_path / 'theirs.pkl', '--name', 'theirs', '--csv', SMS, models=tmp_path / 'models', check=0)
    store = ModelStore(tmp_path / 'models')
    card = store.card('theirs')
    assert card['task'] == 'text' and card['schema']['vocab_size'] == demo_store.card('sms_spam')['schema']['vocab_size']
    assert card['reference']['columns']['tokens']['kind'] == 'continuous'
    got = load_predictor('theirs', store=store).predict_records([{'text': SPAM}])
    assert np.abs(got.probs - sms.predict_records([{'text': SPAM}]).probs).max() <= 1e-6


def test_drift_watches_message_length_unknown_words_and_the_words_used(tmp_path, demo_store):
    """Logged messages carry their length in tokens, unknown share and counts of the training's most frequent words;
    drift compares them with the training messages (40 messages of made-up words among 80 ordinary ones)."""
    from predictors import ModelStore
    from predictors.monitoring.log import PredictionLog
    from predictors.service.local import LocalModels
    shutil.copytree(demo_store.root / 'sms_spam', tmp_path / 'models' / 'sms_spam')
    models = LocalModels(ModelStore(tmp_path / 'models'), PredictionLog(tmp_path / 'log.db'))
    odd = ['zxq vbn plokm ' * 30] * 40            # long messages of words the model never saw
    out = models.predict('sms_spam', [{'text': t} for t in odd])
    assert all(p.ok for p in out)
    models.predict('sms_spam', [{'text': t} for t in pd.read_csv(SMS)['text'][:80]])      # and 80 ordinary ones
    logged = models.log.read('sms_spam')
    odd_row = logged[logged['inputs'].map(lambda i: i['text'] == odd[0])].iloc[0]['inputs']
    assert odd_row['tokens'] == 90 and odd_row['unknown'] == 1.0 and odd_row['words'] == {'(other words)': 90}
    from predictors.monitoring.drift import report_from_log
    report, _ = report_from_log(models.log, demo_store.card('sms_spam'))
    cols = report['columns']
    assert set(cols) == {'tokens', 'unknown', 'words'} and report['rows'] == 120
    assert cols['unknown']['verdict'] == 'drifted' and cols['words']['verdict'] == 'drifted'
    assert cols['words']['test'].startswith('PSI of the most frequent training words')
    from predictors.monitoring.pages import drift_html
    html = drift_html(models.drift('sms_spam', '7d'))
    assert all(f'data-column="{c}"' in html for c in ('tokens', 'unknown', 'words'))


FIX = ROOT / 'tests' / 'fixtures' / 'fastai27'


@pytest.mark.parametrize('edit', ['as made by fastai 2.7', 'renamed as the fastai2 pre-release wrote it'])
def test_a_fastai27_text_export_gives_the_probabilities_fastai27_gave(tmp_path, edit):
    "Tokenizer rules, vocab, padding, model and weights rebuilt for fastai 2.8: the same answers for 30 messages."
    from pickle_edit import edit_export, rename_globals
    from predictors import ModelStore, load_predictor
    want = json.loads((FIX / 'text_probs.json').read_text())
    path = FIX / 'text.pkl'
    if edit != 'as made by fastai 2.7':
        path = edit_export(path, tmp_path / 'old.pkl', rename_globals({'fastai.': 'fastai2.'}))
    run_cli('import', path, '--name', 'old_sms', models=tmp_path / 'models', check=0)
    store = ModelStore(tmp_path / 'models')
    card = store.card('old_sms')
    assert card['task'] == 'text' and card['classes'] == want['classes'] and card['converted_from']['fastai'] == '2.7'
    res = load_predictor('old_sms', store=store).predict_frame(pd.read_csv(FIX / 'text_rows.csv'))
    assert not res.errors and np.abs(res.probs - np.array(want['probs'])).max() <= 1e-5


def test_a_word_is_its_token_with_the_markers_that_mark_it():
    from predictors.kinds.text.explain import _shown, words_of
    tokens = ['xxup', 'winner', '!', '£', '1', 'xxrep', '3', '0', 'xxmaj', 'call', 'xxmaj', 'xxwrep', '3', 'no']
    words = words_of(tokens)
    assert [_shown(w) for w in words] == ['WINNER', '!', '£', '1', '000', 'Call', 'No no no']
    assert sum(map(len, words)) == len(tokens)


def test_two_versions_of_a_text_model_are_compared_and_shadowed(tmp_path, demo_store):
    "compare on labelled messages (McNemar), and a shadow version answering the same messages beside the active one."
    import json as _json
    from predictors import ModelStore
    from predictors.monitoring.log import PredictionLog
    from predictors.service.local import LocalModels
    store = ModelStore(tmp_path / 'models')
    card = _json.loads((demo_store.path('sms_spam') / 'card.json').read_text())
    for v in ('v1', 'v2'):
        store.register('sms_spam', demo_store.path('sms_spam') / 'model.pkl',
                       {k: x for k, x in card.items() if k not in ('name', 'version', 'sha256', 'created')}, activate=v == 'v1')
    pd.read_csv(SMS).head(60).to_csv(tmp_path / 'labelled.csv', index=False)
    r = run_cli('compare', 'sms_spam', 'v1', 'v2', '--csv', tmp_path / 'labelled.csv', models=store.root, check=0)
    assert 'on 60 labelled row(s)' in r.stdout and 'no significant difference' in r.stdout
    store.set_shadow('sms_spam', 'v2')
    models = LocalModels(store, PredictionLog(tmp_path / 'log.db'))
    models.predict('sms_spam', [{'text': SPAM}, {'text': HAM}])
    pairs = models.log.shadow_pairs('sms_spam')
    assert list(pairs['shadow_version']) == ['v2', 'v2'] and list(pairs['prediction']) == list(pairs['shadow_prediction'])

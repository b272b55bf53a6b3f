"""The text app (#28) in a real browser: paste a message, the answer with its bars and the highlighted words; a
10,000-character message; an empty one; HTML in a message shown as text; a CSV with a text column scored."""
import pandas as pd

from browser_helpers import shot
from test_apps import open_app

SPAM = 'WINNER!! You have won a FREE prize of £1000 cash. Call 09061701461 now to claim, T&Cs apply'


def _type(page, text):
    page.fill('.app-text-input', text)


def _answer(page):
    "Click Get prediction and wait for an answer other than the one on the page before."
    old = page.inner_text('.app-result')
    page.click('.app-predict')
    page.wait_for_function("old => { const r = document.querySelector('.app-result'); return r.querySelector('.app-msg') "
                           "&& r.innerText !== old && !r.innerText.includes('Working') }", arg=old)
    return page.locator('.app-result').inner_text()


def test_a_pasted_message_is_answered_with_the_words_that_decided_it(page, served):
    from predictors.monitoring.log import PredictionLog
    card = served.models.card('sms_spam')
    open_app(page, served, 'text_app.ipynb', '.app-text-input')
    says = page.inner_text('.app-model-says')
    assert f'held-out accuracy {card["metrics"]["accuracy"]:.1%}' in says
    assert 'reads messages of up to 20,000 characters' in says and 'over the last 1,440 tokens' in says
    _type(page, SPAM)
    assert page.inner_text('.app-text-count') == f'{len(SPAM)} / 20,000 characters'
    text = _answer(page)
    assert 'Predicted label: spam (unsolicited advertising or a scam), with probability' in text
    assert page.locator('.app-result .app-bar-row').count() == 2
    page.wait_for_selector('.app-words')
    words = page.locator('.app-word')
    assert words.count() >= 15 and 'WINNER' in page.inner_text('.app-words')
    assert 'They add up to the change from an empty message' in page.inner_text('.app-why-summary')
    greens = [float(w.get_attribute('data-contribution')) for w in words.all()]
    assert max(greens) > 0.01
    shot(page, 'text_app')
    page.locator('.app-feedback-yes').click()
    page.wait_for_selector('.app-feedback-thanks')
    labelled = PredictionLog(served.log_db).labelled('sms_spam')
    assert list(labelled['truth']) == ['spam'] and labelled['inputs'][0]['text'] == SPAM


def test_ctrl_enter_predicts_and_long_empty_and_html_messages_are_handled_as_stated(page, served):
    open_app(page, served, 'text_app.ipynb', '.app-text-input')
    long = ('see you at the station at noon, love you ' * 250)[:10_000]
    _type(page, long)
    page.press('.app-text-input', 'Control+Enter')              # the keyboard way
    page.wait_for_selector('.app-result .app-sentence')
    assert page.inner_text('.app-result .app-sentence').startswith('Predicted label: ham')
    assert page.inner_text('.app-text-count') == '10,000 / 20,000 characters'
    page.wait_for_selector('.app-words', timeout=120_000)
    _type(page, '   ')
    assert 'No prediction: the message is empty: type or paste some text.' in _answer(page)
    assert page.locator('.app-result .app-bar-row').count() == 0
    _type(page, 'x' * 20_050)
    assert 'too long' in page.inner_text('.app-text-count')
    assert 'the apps read messages of up to 20,000 characters' in _answer(page)
    html = '<b id="bold">hi</b><script>window.hacked = 1</script><img src=x onerror="window.hacked = 2"> free entry'
    _type(page, html)
    _answer(page)
    page.wait_for_selector('.app-words')
    assert page.locator('#bold').count() == 0 and page.evaluate('window.hacked') is None
    shown = page.inner_text('.app-words')        # as the model read it: tokens, shown as text
    assert 'b id="bold">hi' in shown and 'window.hacked = 1' in shown and 'onerror' in shown


def test_a_csv_with_a_text_column_is_scored(page, served, tmp_path):
    from predictors import load_predictor
    df = pd.DataFrame(dict(text=[SPAM, 'ok see you\nat 5, "the usual"', '', 'call me when you are home']))
    open_app(page, served, 'text_app.ipynb', '.app-upload')
    with page.expect_file_chooser() as fc:
        page.click('.app-upload')
    fc.value.set_files([dict(name='messages.csv', mimeType='text/csv', buffer=df.to_csv(index=False).encode())])
    page.wait_for_selector('.app-batch-summary')
    assert page.inner_text('.app-batch-summary').startswith('3 of 4 rows scored; 1 could not be scored')
    assert 'row 3: the message is empty' in page.inner_text('.app-batch')
    with page.expect_download() as dl:
        page.click('.app-download')
    dl.value.save_as(tmp_path / 'scored.csv')
    scored = pd.read_csv(tmp_path / 'scored.csv', keep_default_na=False)
    want = load_predictor('sms_spam', store=served.models).predict_frame(df)
    assert list(scored['prediction']) == ['spam', want[1].prediction, '', want[3].prediction]
    assert scored['text'][1] == 'ok see you\nat 5, "the usual"'

"""The writer app (#41) in a real browser: type a beginning, the words appear one after another, Stop stops, a suggested
next word is appended, Try again writes another continuation, *Keep this one* is logged; on a phone, axe-core."""
from browser_helpers import shot
from test_apps import open_app

# every text the continuation box shows while it writes (a MutationObserver, so no update between polls is missed)
_RECORD = """() => { window.__written = []; const el = document.querySelector('.app-result');
  new MutationObserver(() => { const w = el.querySelector('.app-new'); if (w) window.__written.push(w.textContent); })
    .observe(el, {childList: true, subtree: true, characterData: true}); }"""


def _type(page, text):
    page.fill('.app-text-input', text)
    page.wait_for_function("() => document.querySelectorAll('.app-next-word').length === 5")   # the keys follow the text


def test_words_appear_one_after_another_stop_stops_and_a_suggested_word_is_appended(page, served):
    open_app(page, served, 'writer_app.ipynb', '.app-continue')
    says = page.inner_text('.app-model-says')
    assert 'sms_writer' in says and 'held-out perplexity' in says and 'a bigram of the training texts' in says
    _type(page, 'Sorry, I will be late')
    page.evaluate(_RECORD)
    page.click('.app-continue')
    page.wait_for_function("() => !document.querySelector('.app-again').disabled", timeout=60_000)
    seen = page.evaluate('window.__written')
    words = [len(s.split()) for s in seen]
    assert len(set(words)) >= 10 and words == sorted(words), seen          # one after another, never fewer
    assert '20 token(s) written' in page.inner_text('.app-status') and 'stopped' not in page.inner_text('.app-status')
    shot(page, 'writer')
    page.fill('.app-words-asked input', '200'); page.press('.app-words-asked input', 'Enter')
    page.evaluate(_RECORD)
    page.click('.app-continue')
    page.wait_for_function("() => (window.__written || []).length >= 3")
    page.click('.app-stop')
    page.wait_for_selector('text=— stopped', timeout=30_000)
    n = int(page.inner_text('.app-status').split(' token(s)')[0].split()[-1])
    assert 3 <= n < 200
    before = page.input_value('.app-text-input')
    key = page.locator('.app-next-word').first
    word = key.inner_text().split()[0]
    key.click()
    page.wait_for_function("w => document.querySelector('.app-text-input').value.endsWith(' ' + w)", arg=word)
    assert page.input_value('.app-text-input') == before + ' ' + word


def test_try_again_writes_another_and_keep_this_one_is_logged(page, served):
    open_app(page, served, 'writer_app.ipynb', '.app-continue')
    _type(page, 'Are you coming to the party tonight')
    page.click('.app-continue')
    page.wait_for_selector('.app-keep')
    first = page.inner_text('.app-new')
    page.click('.app-again')
    page.wait_for_function("f => document.querySelector('.app-keep') && document.querySelector('.app-new').textContent !== f",
                           arg=first)
    second = page.inner_text('.app-new')
    page.click('.app-keep')
    page.wait_for_selector('.app-feedback-done')
    assert page.input_value('.app-text-input').endswith(second.strip())
    from predictors.monitoring.log import PredictionLog
    labelled = PredictionLog(str(served.log_db)).labelled('sms_writer', 'v1')
    assert labelled['truth'].tolist()[-1] == 'kept'
    _type(page, 'zzqxv blorptastic see you')
    page.click('.app-continue')
    page.wait_for_selector('.app-unknown')
    assert 'zzqxv' in page.inner_text('.app-status') and page.locator('.app-unknown').first.inner_text() == 'zzqxv'
    page.fill('.app-text-input', '')
    page.click('.app-continue')
    page.wait_for_selector('.app-refused')
    assert 'empty' in page.inner_text('.app-refused')


def test_on_a_phone_it_fits_and_passes_an_axe_core_scan(browser, served):
    from test_apps import _SIDEWAYS, _TOO_WIDE, _axe
    ctx = browser.new_context(viewport={'width': 390, 'height': 844}, is_mobile=True, has_touch=True)
    pg = ctx.new_page(); pg.set_default_timeout(90_000)
    try:
        open_app(pg, served, 'writer_app.ipynb', '.app-continue')
        _type(pg, 'See you')
        pg.click('.app-continue')
        pg.wait_for_selector('.app-keep')
        assert pg.evaluate(_TOO_WIDE) == [] and pg.evaluate(_SIDEWAYS) == []
        assert _axe(pg) == []
    finally:
        ctx.close()

"""The recommender app (#40) in a real browser: a known person's list; someone new who rates five films and gets a
list that follows their ratings; search and *people who liked this also liked*; an item rated from the list leaves it."""
from browser_helpers import shot
from test_apps import open_app


def _list(page) -> list[str]:
    "The items of the list on the page, in order."
    return page.locator('.app-rec').evaluate_all('els => els.map(e => e.dataset.item)')


def _wait_for_new_list(page, old: list[str]):
    page.wait_for_function("old => { const l = [...document.querySelectorAll('.app-rec')].map(e => e.dataset.item); "
                           "return l.length > 0 && JSON.stringify(l) !== JSON.stringify(old) }", arg=old)
    return _list(page)


def _pick(page, title: str):
    "Find an item by its title and pick it (the menu's option values are its labels, with plain spaces)."
    page.fill('.app-find input', title)
    page.wait_for_function("t => [...document.querySelectorAll('.app-found option')].some(o => o.value.startsWith(t))",
                           arg=title)
    value = next(v for v in page.locator('.app-found option').evaluate_all('os => os.map(o => o.value)') if v.startswith(title))
    page.select_option('.app-found select', value=value)


def _rate_found(page, title: str, stars: str):
    "Find an item by its title, pick it, and give it stars (a new person's rating)."
    _pick(page, title)
    value = next(v for v in page.locator('.app-stars option').evaluate_all('os => os.map(o => o.value)') if v.endswith(stars))
    page.select_option('.app-stars select', value=value)


def test_a_known_persons_list_then_a_rated_item_leaves_it(page, served):
    open_app(page, served, 'recommender_app.ipynb', '.app-user input')
    assert 'learnt from 83,497 ratings' in page.inner_text('.app-model-says')
    page.fill('.app-user input', '1')
    page.click('.app-recommend')
    page.wait_for_selector('.app-rec')
    first = _list(page)
    seen = set(first)
    assert len(first) == 10 and 'because you liked' in page.inner_text('.app-recs') and 'for user 1' in page.inner_text('.app-result')
    from predictors import load_predictor
    pred = load_predictor('movie_ratings', served.models)
    rated = {pred.item_ids[i] for i in pred.seen[pred.users['1']][0]}
    assert not rated & seen                               # never what they rated
    shot(page, 'recommender_app')
    page.locator('.app-seen select').first.select_option(value='★★★★ 4')       # Seen it? rate it
    after = _wait_for_new_list(page, first)
    assert first[0] not in after and after[0] == first[1]
    from predictors.monitoring.log import PredictionLog
    labelled = PredictionLog(served.log_db).labelled('movie_ratings')
    assert '4' in set(labelled['truth'].astype(str).str.rstrip('0').str.rstrip('.'))


def test_someone_new_rates_five_films_and_gets_a_list_that_follows_them(page, served):
    open_app(page, served, 'recommender_app.ipynb', '.app-user input')
    page.click('text=I\'m new')
    page.wait_for_selector('.app-find input', state='visible')
    lists = []
    for title in ('Toy Story (1995)', 'Toy Story 2', 'Finding Nemo', 'Monsters, Inc.', 'Incredibles, The'):
        old = _list(page)
        _rate_found(page, title, ' 5')
        lists.append(_wait_for_new_list(page, old))
    assert 'Your ratings: Toy Story (1995) ★ 5.0' in page.inner_text('.app-mine')
    assert 'for you: folded in exactly' in page.inner_text('.app-result') and 'from 5 rating(s)' in page.inner_text('.app-result')
    assert len({tuple(x) for x in lists}) == 5            # each rating changed the list
    assert not {'1', '3114', '6377', '4886', '8961'} & set(lists[-1])
    _pick(page, 'Matrix, The')                            # explore: people who liked it also liked
    page.wait_for_selector('.app-similar li')
    assert 'People who liked Matrix, The (1999) also liked' in page.inner_text('.app-similar')
    assert page.locator('.app-similar li').count() == 5
    shot(page, 'recommender_new')


def test_on_a_phone_it_fits_and_passes_an_axe_core_scan(browser, served):
    "At 390x844 nothing is wider than the screen once a list and an item's neighbours show; axe-core finds nothing serious."
    from test_apps import _SIDEWAYS, _TOO_WIDE, _axe
    ctx = browser.new_context(viewport={'width': 390, 'height': 844}, is_mobile=True, has_touch=True)
    pg = ctx.new_page(); pg.set_default_timeout(90_000)
    try:
        open_app(pg, served, 'recommender_app.ipynb', '.app-user input')
        pg.fill('.app-user input', '1')
        pg.click('.app-recommend')
        pg.wait_for_selector('.app-rec')
        pg.click('text=I\'m new')
        _pick(pg, 'Matrix, The')
        pg.wait_for_selector('.app-similar li')
        assert pg.evaluate(_TOO_WIDE) == [] and pg.evaluate(_SIDEWAYS) == []
        assert _axe(pg) == []
    finally:
        ctx.close()

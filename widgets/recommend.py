"""The recommender app: *Who are you?* — someone the model knows (their id) or someone new, who rates a few items found
by title (stars) and gets recommendations at once (placed by their own ratings: no retraining). Each recommendation
says its predicted rating and range, how sure the model is, and *because you liked …*; *Seen it? rate it* logs the
person's real rating and takes the item off the list. *Explore*: the items people who liked one also liked, and what
the person would rate it. A filter by a column of the items' file (genres).
"""
from __future__ import annotations

import ipywidgets as W

from .apicalls import api_calls_html
from .common import APP_CSS, esc, message, model_picker, model_service, waiting_shown_in

__all__ = ['RecommenderApp', 'recommender_app', 'VIEW']

VIEW = 'recommender_app'
STARS = [('☆ rate…', '')] + [(f'{"★" * int(s)}{"½" if s % 1 else ""} {s:g}', s) for s in (5, 4.5, 4, 3.5, 3, 2.5, 2, 1.5, 1, 0.5)]
CSS = """<style>
.app-rec {font-family: system-ui, sans-serif; font-size: 14px; border-bottom: 1px solid #eef0f3; padding: 4px 0}
.app-rec b {font-size: 15px} .app-rec-why {color: #556; font-size: 12px} .app-rec-sure {color: #1f6f3f}
.app-rec-unsure {color: #8a5a00}
</style>"""


def _stars(x: float | None) -> str:
    return '' if x is None else f'★ {x:.1f}'


def rec_html(r, scale=None) -> str:
    "One recommendation as HTML: its title, the predicted rating and range, how sure, its columns, because you liked."
    rng = f' (likely {r.range[0]:.1f}–{r.range[1]:.1f})' if r.range else ''
    sure = f'<span class="app-rec-{"sure" if r.sure == "sure" else "unsure"}">{esc(r.sure)}: {r.ratings:,} ratings</span>'
    about = ' · '.join(esc(str(v).replace('|', ', ')) for v in r.about.values() if v)
    because = f'<div class="app-rec-why">because you liked {esc(", ".join(r.because))}</div>' if r.because else ''
    return (f'<div class="app-rec" data-item="{esc(r.item)}"><b>{r.rank}. {esc(r.title)}</b> — you would rate it '
            f'<span class="app-rec-rating">{_stars(r.rating)}</span>{rng}; {sure}'
            f'{f"<div class=app-rec-why>{about}</div>" if about else ""}{because}</div>')


class RecommenderApp:
    "Model picker; who the person is (an id, or new with their ratings); their recommendations; explore items."

    def __init__(self, models=None, versions: bool = False, top: int = 10):
        self.models, self.top = model_service(models), top
        self.card, self.rated, self.gone = None, {}, []     # a new person's ratings {item: (title, stars)}; rated since
        self.picker = model_picker(self.models, VIEW, versions)
        self.title = W.HTML()
        self.who = W.ToggleButtons(options=[('I have an id', 'known'), ("I'm new", 'new')], value='known',
                                   description='Who are you?', style={'description_width': 'initial'})
        self.user = W.Text(placeholder='your id, e.g. 1', description='Id', layout=W.Layout(width='220px'))
        self.user.add_class('app-user')
        self.go = W.Button(description='Recommend', button_style='primary', icon='check'); self.go.add_class('app-recommend')
        self.find = W.Text(placeholder='find an item by its title', layout=W.Layout(width='320px'))
        self.find.add_class('app-find')
        self.found = W.Dropdown(options=[], description='Found', layout=W.Layout(width='420px'))
        self.found.add_class('app-found')
        self.stars = W.Dropdown(options=STARS, value='', description='Your rating', style={'description_width': 'initial'})
        self.stars.add_class('app-stars')
        self.mine = W.HTML(); self.mine.add_class('app-mine')
        self.where = W.Dropdown(options=[('any', '')], value='', description='Only', layout=W.Layout(width='300px'))
        self.where.add_class('app-where')
        self.result = W.HTML(); self.result.add_class('app-result'); self.result.add_class('app-live')
        self.list = W.VBox(); self.list.add_class('app-recs')
        self.explore = W.HTML(); self.explore.add_class('app-explore')
        self.api = W.HTML()
        self._wire()
        known = W.HBox([self.user, self.go], layout=W.Layout(flex_flow='row wrap'))
        new = W.VBox([W.HBox([self.find, self.found, self.stars], layout=W.Layout(flex_flow='row wrap')), self.mine])
        self.known, self.new = known, new
        new.layout.display = 'none'
        header = W.HBox([self.picker]) if len(self.picker.options) > 1 else W.HBox()
        self.widget = W.VBox([W.HTML(APP_CSS + CSS), header, self.title, self.who, known, new, self.where, self.result,
                              self.list, self.explore, self.api])
        if self.picker.value: self.select(*self.picker.value)
        else: self.title.value = message('There is no recommender in the store yet: train one (see README).', 'warn')

    def _wire(self):
        self.picker.observe(lambda ch: self.select(*ch['new']), 'value')
        self.who.observe(lambda ch: self.switch(ch['new']), 'value')
        self.go.on_click(lambda _: self.recommend())
        self.user.on_submit(lambda _: self.recommend())
        self.find.observe(lambda ch: self.search(ch['new']), 'value')
        self.stars.observe(lambda ch: ch['new'] != '' and self.rate(), 'value')
        self.found.observe(lambda ch: self.show_similar(ch['new']), 'value')
        self.where.observe(lambda ch: self.recommend(quiet=True), 'value')

    def select(self, name: str, version: str):
        "Read a recommender's card: what it was judged on, its filters."
        self.rated, self.gone, self.list.children = {}, [], []
        self.result.value = self.explore.value = self.api.value = ''
        try:
            card = self.models.card(name, version)
            self.models.check(name, version)
        except Exception as e:  # noqa: BLE001 - the reason is shown, the app keeps working
            self.card = None
            self.title.value = message(f'Model {esc(name)} {esc(version)} cannot be used: {esc(e)}', 'err'); return
        self.card = card
        filters = ((card.get('file_info') or {}).get('items.csv') or {}).get('filters') or {}
        self.where.options = [('any', '')] + [(f'{c}: {v}', (c, v)) for c, vs in filters.items() for v in vs]
        self.where.layout.display = None if filters else 'none'
        self.api.value = api_calls_html(card, self.models.settings)
        self.title.value = (f'<h1 style="font-family:system-ui;margin:4px 0;font-size:1.5em">What would you like?</h1>'
                            f'<p class="app-model-says" style="font-family:system-ui;color:#556">{model_says(card)}</p>')

    def switch(self, who: str):
        self.known.layout.display = None if who == 'known' else 'none'
        self.new.layout.display = None if who == 'new' else 'none'
        self.list.children, self.result.value, self.gone = [], '', []
        if who == 'new' and self.rated: self.recommend()

    def search(self, text: str):
        "Items whose title holds what was typed (2 letters at least)."
        if self.card is None or len(text.strip()) < 2: self.found.options = []; return
        try:
            got = self.models.find_items(self.card['name'], text, 20, self.card['version'])
        except Exception as e:  # noqa: BLE001 - the reason is shown, the app keeps working
            self.result.value = message(f'The search failed: {esc(e)}', 'err'); return
        self.found.options = [(f'{g["title"]} ({g["ratings"]:,} ratings)', (g['item'], g['title'])) for g in got]

    def rate(self):
        "A new person rated the item found: keep it, and recommend again at once."
        if self.found.value is None: self.stars.value = ''; return
        item, title = self.found.value
        self.rated[item] = (title, self.stars.value)
        self.stars.value = ''
        self.mine.value = ('<div class="app-mine-list" style="font:13px system-ui">Your ratings: ' + '; '.join(
            f'{esc(t)} {_stars(s)}' for t, s in self.rated.values()) + '</div>')
        self.recommend()

    def person(self) -> dict:
        "Who the recommendations are for: the id typed, or the new person's ratings."
        if self.who.value == 'known': return dict(user=self.user.value.strip() or None)
        return dict(ratings=[(i, s) for i, (_, s) in self.rated.items()])

    def recommend(self, quiet: bool = False):
        "Recommendations for the person, shown with *Seen it? rate it* under each."
        if self.card is None: return
        who = self.person()
        if not who.get('user') and not who.get('ratings'):
            if not quiet: self.result.value = message('Type your id, or say you are new and rate a few items.', 'warn')
            return
        waiting_shown_in(self.models, self.result)
        where = dict([self.where.value]) if self.where.value else None
        try:
            got = self.models.recommend(self.card['name'], top=self.top, where=where, exclude=self.gone,
                                        version=self.card['version'], **who)
        except Exception as e:  # noqa: BLE001 - the reason is shown, the app keeps working
            self.list.children = []
            self.result.value = message(f'No recommendations: {esc(e)}', 'err', 'app-refused'); return
        note = ''.join(message(esc(w), 'warn', 'app-warning') for w in got.warnings)
        self.result.value = message(f'{len(got.items)} for {"you" if got.folded_in else "user " + esc(got.user)}: '
                                    f'{esc(got.how)}.', 'ok') + note
        self.list.children = [self._row(r) for r in got.items]

    def _row(self, r) -> W.Widget:
        seen = W.Dropdown(options=STARS, value='', description='Seen it?', style={'description_width': 'initial'},
                          layout=W.Layout(width='210px'))
        seen.add_class('app-seen')
        seen.observe(lambda ch, r=r: ch['new'] != '' and self.seen(r, ch['new']), 'value')
        row = W.HBox([W.HTML(rec_html(r), layout=W.Layout(flex='1 1 560px')), seen],
                     layout=W.Layout(align_items='center', flex_flow='row wrap'))
        row.add_class('app-rec-row')
        return row

    def seen(self, r, stars: float):
        "The person's real rating of a recommended item: logged against it; the item leaves the list."
        if r.id is not None:
            try: self.models.feedback(self.card['name'], [(r.id, str(stars))])
            except Exception: pass  # noqa: BLE001 - the list goes on; only the feedback is missing
        if self.who.value == 'new': self.rated[r.item] = (r.title, stars)
        else: self.gone.append(r.item)
        self.recommend()

    def show_similar(self, found):
        "Explore the item found: the items people who liked it also liked, and what the person would rate it."
        if self.card is None or found is None: self.explore.value = ''; return
        item, title = found
        try:
            near = self.models.similar(self.card['name'], item, 5, self.card['version'])
            who = self.user.value.strip() if self.who.value == 'known' else ''
            c = self.card.get('collab') or {}
            mine = (self.models.predict(self.card['name'], [{c.get('user'): who, c.get('item'): item}],
                                        self.card['version'])[0] if who else None)
        except Exception as e:  # noqa: BLE001 - the reason is shown, the app keeps working
            self.explore.value = message(f'Nothing to show for it: {esc(e)}', 'warn'); return
        would = (f'<p>User {esc(who)} would rate it <b class="app-would">{_stars(mine.prediction)}</b>.</p>'
                 if mine is not None and mine.ok else '')
        self.explore.value = (f'<div class="app-similar" style="font-family:system-ui"><h3>People who liked '
                              f'{esc(title)} also liked</h3>{would}<ol>' + ''.join(
                                  f'<li>{esc(n.title)} ({n.ratings:,} ratings)</li>' for n in near) + '</ol></div>')


def model_says(card: dict) -> str:
    "What the app says of its recommender (HTML): how many people and items, and its held-out figures beside popularity."
    c, m = card.get('collab') or {}, card.get('metrics') or {}
    text = (f'Model <b>{esc(card.get("name"))}</b> {esc(card.get("version"))} learnt from {c.get("ratings", 0):,} ratings '
            f'of {c.get("items", 0):,} items by {c.get("users", 0):,} people')
    pop = ((m.get('baselines') or {}).get('popularity') or {}).get('hit_rate')
    if m.get('hit_rate') is not None and pop:
        text += (f'. On each person\'s latest ratings, one of its top 10 was an item they went on to rate '
                 f'{4:g}+ for {m["hit_rate"]:.0%} of people (the most popular items: {pop:.0%}); RMSE {m["rmse"]:.2f}')
    return text + '.'


def recommender_app(models=None, versions: bool = False) -> W.Widget:
    "The ready recommender app for every recommender of `models` (default: `predictors.connect()`)."
    return RecommenderApp(models, versions).widget

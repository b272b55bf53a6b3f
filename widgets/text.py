"""The text app: paste or type a message, get the answer as a sentence with a bar per class, whether it was right,
and why: the message with the words that pushed towards the answer and away from it highlighted. A CSV with a
text column is scored below, as in the tabular app."""
from __future__ import annotations

import ipywidgets as W

from predictors.core.results import TEXT_MAX_CHARS, Explanation, class_label, sentence

from .batch import CsvScoring
from .apicalls import api_calls_html
from .common import APP_CSS, esc, message, model_picker, model_service, probability_bars, waiting_shown_in
from .feedback import FeedbackBox
from .numbers import held_out, scored_columns
from .textbox import TextBox

__all__ = ['TextApp', 'text_app', 'words_html']

WORDS_CSS = """<style>
.app-words {font: 14px/1.9 system-ui; max-width: 720px; overflow-wrap: anywhere; white-space: pre-wrap}
.app-word {padding: 1px 2px; border-radius: 3px}
.app-word-unknown {text-decoration: underline dotted}
</style>"""


def _shade(c: float, most: float) -> str:
    "A word's background: green towards the answer, red away from it, as strong as its share of the largest."
    a = min(1.0, abs(c) / most) * 0.75 if most > 0 else 0
    return f'rgba(31,157,85,{a:.2f})' if c > 0 else f'rgba(217,48,37,{a:.2f})'


def words_html(card: dict, e: Explanation) -> str:
    """Why an answer (HTML): the message as the model read it, each word shaded by how much it pushed towards the
    answer (green) or away from it (red), the strongest named, and how the contributions add up."""
    if not e.ok: return message(f'No explanation: {esc(e.error)}.', 'warn', 'app-why')
    cs = e.contributions
    most = max((abs(c['contribution']) for c in cs), default=0)
    spans = ' '.join(
        f'<span class="app-word{" app-word-unknown" if c.get("unknown") else ""}" data-contribution='
        f'"{c["contribution"]:.4f}" style="background:{_shade(c["contribution"], most)}" title="{c["contribution"] * 100:+.1f} '
        f'points{" (a word the model does not know)" if c.get("unknown") else ""}">{esc(c["value"])}</span>' for c in cs)
    up = sorted((c for c in cs if c['contribution'] > 1e-4), key=lambda c: -c['contribution'])[:3]
    down = sorted((c for c in cs if c['contribution'] < -1e-4), key=lambda c: c['contribution'])[:3]
    said = lambda xs: ', '.join(f'“{esc(c["value"])}” ({c["contribution"] * 100:+.1f})' for c in xs) or 'none'
    target = esc(class_label(card, e.target))
    return (WORDS_CSS + f'<div class="app-why" style="font-family:system-ui"><h3 style="margin:6px 0">Why {target}?</h3>'
            f'<div class="app-words">{spans}</div><p class="app-why-summary" style="font-size:13px;color:#445">'
            f'<span style="background:rgba(31,157,85,.5)">Green</span> words pushed towards {target} (most: '
            f'{said(up)}), <span style="background:rgba(217,48,37,.5)">red</span> away from it (most: {said(down)}), '
            f'in points of probability. They add up to the change from an empty message ({e.base:.1%}) to this one '
            f'({e.probability:.1%}): Shapley values over the words, {esc(e.method)}. Dotted: a word the model does '
            f'not know (read as <code>xxunk</code>).</p></div>')


def _reads(card: dict) -> str:
    "What the page says of how the model reads a message (its vocabulary, fastai's handling of long texts)."
    s = card.get('schema') or {}
    reach = (f' The answer pools what the model read over the last {s["max_len"]:,} tokens (fastai\'s <code>max_len'
             f'</code>); the whole message is read.' if s.get('max_len') else '')
    return (f'It knows {s.get("vocab_size", 0):,} words (others read as unknown) and reads messages of up to '
            f'{TEXT_MAX_CHARS:,} characters.{reach}')


class TextApp:
    "Model picker, a message box, the answer with bars, feedback and why; CSV scoring of a text column."

    def __init__(self, models=None, versions: bool = False):
        self.models = model_service(models)
        self.card = None
        self.picker = model_picker(self.models, 'text_app', versions)
        self.title = W.HTML()
        self.box = TextBox(placeholder='Paste or type a message, then Get prediction (or Ctrl+Enter)',
                           limit=TEXT_MAX_CHARS)
        self.box.add_class('app-text')
        self.button = W.Button(description='Get prediction', button_style='primary', icon='check')
        self.button.add_class('app-predict')
        self.result = W.HTML(); self.result.add_class('app-result'); self.result.add_class('app-live')
        self.feedback = W.Box()
        self.why = W.HTML(); self.why.add_class('app-explanation')
        self.scoring = CsvScoring(self.models, self)
        self.button.on_click(lambda _: self.predict())
        self.box.on_submit(self.predict)
        self.picker.observe(lambda ch: self.select(*ch['new']), 'value')
        header = W.HBox([self.picker]) if len(self.picker.options) > 1 else W.HBox()
        self.api = W.HTML()                  # "Use via API" for the model shown
        self.widget = W.VBox([W.HTML(APP_CSS), header, self.title, self.box, self.button, self.result, self.feedback,
                              self.why, self.scoring.widget, self.api])
        if self.picker.value: self.select(*self.picker.value)
        else: self.title.value = message('There is no text model in the store yet: train or import one (see README).',
                                         'warn')

    def select(self, name: str, version: str):
        self.result.value = self.why.value = self.scoring.batch.value = ''
        self.api.value = ''                    # until this model's card is read
        self.feedback.children = []
        try:
            card = self.models.card(name, version)
            self.models.check(name, version)
        except Exception as e:  # noqa: BLE001 - the reason is shown, the app keeps working
            self.card = None
            self.button.disabled = self.box.disabled = self.scoring.upload.disabled = True
            self.title.value = message(f'Model {esc(name)} {esc(version)} cannot be used: {esc(e)}', 'err')
            return
        self.card = card
        self.api.value = api_calls_html(card, self.models.settings)
        col = (card.get('schema') or {}).get('text_column') or 'text'
        about = f' It learnt from {esc(card["about"])}.' if card.get('about') else ''
        self.scoring.note.value = (f'<p style="font-family:system-ui">Upload a CSV with a column <code>{esc(col)}</code> '
                                   f'(one message per row; quoted cells may span lines); you get every row back with '
                                   f'{scored_columns(card)}.</p>')
        self.title.value = (f'<h1 style="font-family:system-ui;margin:4px 0;font-size:1.5em">What is this message?</h1>'
                            f'<p class="app-model-says" style="font-family:system-ui;color:#556">Model <b>{esc(name)}'
                            f'</b> {esc(version)}{esc(held_out(card))}.{about} {_reads(card)}</p>')
        self.button.disabled = self.box.disabled = self.scoring.upload.disabled = False

    def predict(self):
        "Answer the message in the box: the sentence and the bars, *Was this right?*, then why."
        if self.card is None: return
        self.why.value, self.feedback.children = '', []
        waiting_shown_in(self.models, self.result)
        record = {(self.card.get('schema') or {}).get('text_column') or 'text': self.box.value}
        try:
            p = self.models.predict(self.card['name'], [record], self.card['version'])[0]
        except Exception as e:  # noqa: BLE001 - the reason is shown, the app keeps working
            self.result.value = message(f'The prediction failed: {esc(e)}', 'err'); return
        warn = ''.join(message(esc(w), 'warn', 'app-warning') for w in p.warnings)
        if not p.ok:
            self.result.value = message(esc(sentence(self.card, p)), 'err', 'app-refused') + warn; return
        self.result.value = (message(f'<span class="app-sentence">{esc(sentence(self.card, p))}</span>', 'ok') + warn
                             + probability_bars(p.probabilities, None, lambda c: class_label(self.card, c)))
        if p.id is not None:
            send = lambda i, truth: self.models.feedback(self.card['name'], [(i, truth)])[0]
            self.feedback.children = [FeedbackBox(self.card, p.id, p.prediction, send).widget]
        self.why.value = message('Working out why…', 'warn', 'app-why-wait')
        try:
            e = self.models.explain(self.card['name'], [record], self.card['version'])[0]
        except Exception as e:  # noqa: BLE001 - the answer stands; only its explanation is missing
            self.why.value = message(f'No explanation for this answer: {esc(e)}', 'warn', 'app-why'); return
        self.why.value = words_html(self.card, e)


def text_app(models=None, versions: bool = False) -> W.Widget:
    "The ready text app for every text model of `models` (default: `predictors.connect()`; `versions`: all of them)."
    return TextApp(models, versions).widget

"""The writer app: type a beginning, *Continue* writes what comes next a word at a time (the page updates as it writes;
*Stop* ends it), *Try again* draws another continuation of the same beginning; the number of words and the temperature
are set beside; the five words likeliest to come next are keys with a bar each (a click appends one). Words of the
beginning the model does not know are marked as in the text app. *Keep this one* (appended to the beginning) and *Not
useful* are logged as feedback.

The writing runs in a thread of the kernel, so *Stop* is heard while it writes; the page shows at most one token per
`pace` seconds (as typing reads), however fast the model is.
"""
from __future__ import annotations

import threading
import time

import ipywidgets as W

from predictors.core.errors import ModelError
from predictors.core.results import TEXT_MAX_CHARS
from predictors.core.written import KEPT, MOST_TEMPERATURE, MOST_WORDS, NOT_USEFUL, Continuation

from .apicalls import api_calls_html
from .common import APP_CSS, esc, message, model_picker, model_service, waiting_shown_in
from .textbox import TextBox

__all__ = ['WriterApp', 'writer_app', 'written_html', 'model_says']

CSS = """<style>
.app-written {font: 15px/1.7 system-ui; max-width: 720px; white-space: pre-wrap; overflow-wrap: anywhere;
  border: 1px solid #d6dbe4; border-radius: 6px; padding: 8px 10px; min-height: 3em; background: #fbfcfe}
.app-new {color: #0b57d0}
.app-unknown {text-decoration: underline dotted; text-decoration-color: #b3261e}
.app-next-word {min-width: 96px; max-width: 100%}
.app-next-word .app-next-bar {height: 4px; background: #0b57d0; border-radius: 2px}
</style>"""


def model_says(card: dict) -> str:
    "How good the model was on held-out texts, beside the bigram's on the same tokens (empty when the card has none)."
    m = card.get('metrics') or {}
    if m.get('perplexity') is None: return ''
    big = (m.get('baselines') or {}).get('bigram') or {}
    beside = f' (a bigram of the training texts: {big["perplexity"]:,.0f})' if big.get('perplexity') else ''
    return (f', held-out perplexity {m["perplexity"]:,.0f}{beside}; its first guess of the next word is right '
            f'{m["accuracy"]:.0%} of the time' + (f' ({big["accuracy"]:.0%})' if big.get('accuracy') is not None else ''))


def written_html(beginning: str, new: str, unknown=()) -> str:
    "The beginning (its unknown words marked) and the words written after it."
    words = beginning.split(' ')
    marked = ' '.join(f'<span class="app-unknown" title="a word the model does not know">{esc(w)}</span>'
                      if w.strip(' .,!?;:"\'').lower() in unknown else esc(w) for w in words)
    return f'<div class="app-written">{marked}<span class="app-new">{esc(new)}</span></div>'


class WriterApp:
    "Model picker, the beginning, the controls, the continuation as it is written, the next-word keys and feedback."

    def __init__(self, models=None, versions: bool = False, pace: float = 0.05):
        self.models, self.pace = model_service(models), pace
        self.card, self.last, self._writing, self._stop = None, None, None, threading.Event()
        self.picker = model_picker(self.models, 'writer_app', versions)
        self.title = W.HTML()
        self.box = TextBox(placeholder='Type a beginning, then Continue (or Ctrl+Enter)', limit=TEXT_MAX_CHARS)
        self.box.add_class('app-text')
        label = {'description_width': 'initial'}
        self.words = W.BoundedIntText(20, min=1, max=MOST_WORDS, description='Words', style=label)
        self.temperature = W.BoundedFloatText(0.8, min=0, max=MOST_TEMPERATURE, step=0.1, description='Temperature',
                                              style=label)
        self.go = W.Button(description='Continue', button_style='primary', icon='pencil')
        self.stop = W.Button(description='Stop', icon='stop', disabled=True)
        self.again = W.Button(description='Try again', icon='refresh', disabled=True)
        for b, c in ((self.go, 'app-continue'), (self.stop, 'app-stop'), (self.again, 'app-again'),
                     (self.words, 'app-words-asked'), (self.temperature, 'app-temperature')): b.add_class(c)
        wrap = W.Layout(flex_flow='row wrap', max_width='100%')
        self.keys = W.HBox(layout=wrap); self.keys.add_class('app-next-words')
        self.output = W.HTML(); self.output.add_class('app-result'); self.output.add_class('app-live')
        self.status = W.HTML(); self.status.add_class('app-status')
        self.keep = W.Button(description='Keep this one', icon='thumbs-up'); self.keep.add_class('app-keep')
        self.useless = W.Button(description='Not useful', icon='thumbs-down'); self.useless.add_class('app-not-useful')
        self.feedback = W.HBox([]); self.feedback.add_class('app-feedback')
        self.go.on_click(lambda _: self.write())
        self.box.on_submit(self.write)
        self.again.on_click(lambda _: self.write(again=True))
        self.stop.on_click(lambda _: self._stop.set())
        self.keep.on_click(lambda _: self.judge(KEPT))
        self.useless.on_click(lambda _: self.judge(NOT_USEFUL))
        self.box.observe(lambda _: self._suggest_soon(), 'value')
        self._timer = None
        self.picker.observe(lambda ch: self.select(*ch['new']), 'value')
        header = W.HBox([self.picker]) if len(self.picker.options) > 1 else W.HBox()
        self.api = W.HTML()
        self.widget = W.VBox([W.HTML(APP_CSS + CSS), header, self.title, self.box, W.HBox([self.words, self.temperature], layout=wrap),
                              W.HTML('<div style="font:13px system-ui;color:#556">Likeliest next words (a click adds one):'
                                     '</div>'), self.keys, W.HBox([self.go, self.stop, self.again], layout=wrap), self.output,
                              self.status, self.feedback, self.api])
        if self.picker.value: self.select(*self.picker.value)
        else: self.title.value = message('There is no language model in the store yet: train or import one (see '
                                         'README).', 'warn')

    def select(self, name: str, version: str):
        self.output.value = self.status.value = ''
        self.feedback.children, self.keys.children, self.api.value = [], [], ''
        try:
            card = self.models.card(name, version)
            self.models.check(name, version)
        except Exception as e:  # noqa: BLE001 - the reason is shown, the app keeps working
            self.card = None
            self.go.disabled = self.box.disabled = True
            self.title.value = message(f'Model {esc(name)} {esc(version)} cannot be used: {esc(e)}', 'err')
            return
        self.card = card
        w = card.get('writing') or {}
        self.words.value, self.temperature.value = int(w.get('words', 20)), float(w.get('temperature', 0.8))
        s = card.get('schema') or {}
        about = f' It learnt from {esc(card["about"])}.' if card.get('about') else ''
        self.title.value = (f'<h1 style="font-family:system-ui;margin:4px 0;font-size:1.5em">What comes next?</h1>'
                            f'<p class="app-model-says" style="font-family:system-ui;color:#556">Model <b>{esc(name)}</b> '
                            f'{esc(version)}{esc(model_says(card))}.{about} It knows {s.get("vocab_size", 0):,} words '
                            f'(others are marked and read as unknown) and reads beginnings of up to {TEXT_MAX_CHARS:,} '
                            f'characters. Temperature 0 always takes the likeliest word; higher is bolder.</p>')
        self.api.value = api_calls_html(card, self.models.settings)
        self.go.disabled = self.box.disabled = False
        self.suggest()

    # ---- the next-word keys -------------------------------------------------------------------------------------
    def _suggest_soon(self):
        "The keys for the text as typed, once typing pauses."
        if self._timer is not None: self._timer.cancel()
        self._timer = threading.Timer(0.3, self.suggest)
        self._timer.start()

    def suggest(self):
        "The five words likeliest to come after the text in the box, as keys with a bar each."
        if self.card is None or not self.box.value.strip(): self.keys.children = []; return
        try:
            got = self.models.next_words(self.card['name'], self.box.value, 5, self.card['version'])
        except Exception:  # noqa: BLE001 - the keys are a help: without them the app still writes
            return
        if got.error: self.keys.children = []; return
        top = max((n.probability for n in got.next), default=1) or 1
        keys = []
        for n in got.next:
            b = W.Button(description=f'{n.word}  {n.probability:.0%}', tooltip=f'add “{n.word}” ({n.probability:.1%})')
            b.add_class('app-next-word')
            b.on_click(lambda _, w=n.word: self.add_word(w))
            bar = W.HTML(f'<div class="app-next-bar" style="width:{100 * n.probability / top:.0f}%"></div>',
                         layout=W.Layout(width='100%', margin='0'))
            keys.append(W.VBox([b, bar]))
        self.keys.children = keys

    def add_word(self, word: str):
        "Append a suggested word to the beginning."
        text = self.box.value
        self.box.value = text + ('' if not text or text.endswith((' ', '\n')) else ' ') + word
        self.suggest()

    # ---- writing ------------------------------------------------------------------------------------------------
    def write(self, again: bool = False):
        "Write after the text in the box, a word at a time, in a thread (Stop is heard meanwhile)."
        if self.card is None or (self._writing is not None and self._writing.is_alive()): return
        self._stop.clear()
        self.feedback.children, self.status.value, self.last = [], '', None
        self.go.disabled = self.again.disabled = True
        self.stop.disabled = False
        waiting_shown_in(self.models, self.status)
        self._writing = threading.Thread(target=self._write, args=(self.box.value,), daemon=True)
        self._writing.start()

    def _write(self, beginning: str):
        new, last, shown = '', None, 0.0
        try:
            for got in self.models.generate(self.card['name'], beginning, self.words.value, self.temperature.value,
                                            version=self.card['version'], stop=self._stop.is_set):
                if isinstance(got, Continuation): last = got; break
                new += got.text
                time.sleep(max(0.0, shown + self.pace - time.monotonic()))
                shown = time.monotonic()
                self.output.value = written_html(beginning, new)
        except ModelError as e:        # refused before a word is written (an empty beginning, a bound passed)
            self.status.value = message(esc(e), 'err', 'app-refused')
        except Exception as e:  # noqa: BLE001 - the reason is shown, the app keeps working
            self.status.value = message(f'Writing failed: {esc(e)}', 'err')
        finally:
            self.stop.disabled = True
            self.go.disabled = False
        if last is None: return
        if last.error:
            self.status.value = message(esc(last.error), 'err', 'app-refused'); return
        self.last = last
        self.output.value = written_html(beginning, new, set(last.unknown))
        said = [f'{len(last.tokens)} token(s) written' + (' — stopped' if last.stopped else ''),
                f'seed {last.seed}' if last.seed is not None else '']
        if last.unknown: said.append('words it does not know (read as unknown): ' + ', '.join(last.unknown))
        self.status.value = (''.join(message(esc(w), 'warn', 'app-warning') for w in last.warnings)
                             + f'<div style="font:12px system-ui;color:#556">{esc("; ".join(s for s in said if s))}</div>')
        if last.id is not None: self.feedback.children = [self.keep, self.useless]
        self.again.disabled = False          # (last: a page waiting on it finds the rest in place)

    def judge(self, truth: str):
        "Log the person's verdict on the last continuation; *keep* appends it to the beginning."
        if self.last is None or self.last.id is None: return
        why = self.models.feedback(self.card['name'], [(self.last.id, truth)])[0]
        if why: self.status.value = message(f'Not recorded: {esc(why)}', 'warn'); return
        if truth == KEPT: self.box.value = (self.box.value.rstrip() + ' ' + self.last.continuation).strip()
        self.feedback.children = [W.HTML(message('Thanks: kept, and added to the beginning.' if truth == KEPT else
                                                 'Thanks: noted as not useful.', 'ok', 'app-feedback-done'))]


def writer_app(models=None, versions: bool = False) -> W.Widget:
    "The ready writer app for every language model of `models` (default: `predictors.connect()`)."
    return WriterApp(models, versions).widget

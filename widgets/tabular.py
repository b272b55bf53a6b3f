"""The tabular app: the form (`widgets.form`) built from the model's schema, a sentence and bars, batch CSV scoring.

Nothing here names a column or a category: every control comes from the schema in the card.
"""
from __future__ import annotations

import ipywidgets as W

from predictors.core.helpers import input_fields
from predictors.core.results import OUTSIDE, sentence

from .batch import DOWNLOAD_LIMIT, CsvScoring
from .apicalls import api_calls_html
from .common import APP_CSS, esc, message, model_picker, model_service, probability_bars, waiting_shown_in
from .explain import WHY_CSS, explanation_html
from .feedback import FeedbackBox
from .form import TabularForm, typed_number
from .numbers import NumberFeedback, held_out, scored_columns

__all__ = ['TabularApp', 'tabular_app', 'template_link', 'DOWNLOAD_LIMIT']


def template_link(card: dict) -> str:
    "A link that downloads the CSV a file needs: the header of the model's input columns and one row of defaults."
    import base64
    import csv
    import io
    cols = input_fields(card)
    text = io.StringIO()
    w = csv.writer(text)
    w.writerow([c['name'] for c in cols])
    w.writerow(['' if c.get('default') is None else typed_number(c['default']) if c['kind'] == 'continuous'
                else c['default'] for c in cols])
    data = base64.b64encode(text.getvalue().encode()).decode()
    name = f'{card.get("name", "model")}_template.csv'
    return (f'<a class="app-template" download="{esc(name)}" href="data:text/csv;base64,{data}">Download a template'
            f'</a> (the header it needs, and a row of typical values).')


class TabularApp:
    "Model picker, schema form, prediction view and batch scoring for the tabular models of a model service."

    def __init__(self, models=None, versions: bool = False):
        self.models = model_service(models)
        self.card, self.form, self._answer, self._why, self._asked = None, None, None, None, None
        self.picker = model_picker(self.models, 'tabular_app', versions)
        self.title = W.HTML()
        self.form_box = W.VBox()
        self.button = W.Button(description='Get prediction', button_style='primary', icon='check')
        self.button.add_class('app-predict')
        self.result = W.HTML(); self.result.add_class('app-result'); self.result.add_class('app-live')
        self.why = W.HTML(); self.why.add_class('app-explanation')
        # why an answer: worked out when asked (a click), not for every answer (#29: most are never asked about)
        self.why_button = W.Button(description='Why this answer?', icon='question', layout=W.Layout(display='none'))
        self.why_button.add_class('app-why-open')
        self.why_button.on_click(lambda _: self.explain_asked())
        self.feedback = W.Box()
        self.scoring = CsvScoring(self.models, self)
        self.upload, self.batch = self.scoring.upload, self.scoring.batch
        self.button.on_click(lambda _: self.predict())
        self.picker.observe(lambda ch: self.select(*ch['new']), 'value')
        header = W.HBox([self.picker]) if len(self.picker.options) > 1 else W.HBox()
        columns = W.HBox([W.VBox([self.form_box, self.button]), W.VBox([self.result, self.feedback, self.why_button, self.why])])
        for box, cls in ((columns, 'app-columns'), *zip(columns.children, ('app-form-column', 'app-answer-column'))):
            box.add_class(cls)
        self.api = W.HTML()                  # "Use via API" for the model shown
        self.widget = W.VBox([W.HTML(APP_CSS + WHY_CSS), header, self.title, columns,
                              self.scoring.widget, self.api])
        if self.picker.value: self.select(*self.picker.value)
        else: self.title.value = message('There is no tabular model in the store yet: train or import one '
                                         '(see README).', 'warn')

    def select(self, name: str, version: str):
        "Read a model version's card and rebuild the form from its schema."
        self.result.value = self.batch.value = self.why.value = ''
        self._answer = self._why = None
        self.offer_why(None)
        self.api.value = ''                    # until this model's card is read
        self.feedback.children = []
        try:
            card = self.models.card(name, version)
            self.models.check(name, version)
        except Exception as e:  # noqa: BLE001 - the reason is shown, the app keeps working
            self.card, self.form = None, None
            self.form_box.children = []
            self.button.disabled = self.upload.disabled = True
            self.title.value = message(f'Model {esc(name)} {esc(version)} cannot be used: {esc(e)}', 'err')
            return
        self.card = card
        self.api.value = api_calls_html(card, self.models.settings)
        self.form = TabularForm(card['schema'], card.get('labels'), card.get('help'))
        self.form.on_change(self.mark_stale)
        self.form.on_submit(self.predict)
        self.form_box.children = [self.form.widget]
        self.scoring.note.value = (f'<p style="font-family:system-ui">Upload a CSV with the columns above; you get every '
                                 f'row back with {scored_columns(card)}. {template_link(card)}</p>')
        # the title last: once it names the model, the form on the page is that model's
        self.title.value = (f'<h1 style="font-family:system-ui;margin:4px 0;font-size:1.5em">Predict {esc(card.get("target"))}</h1>'
                            f'<p style="font-family:system-ui;color:#556">Model <b>{esc(name)}</b> {esc(version)}'
                            f'{esc(held_out(card))}</p>')
        self.button.disabled = self.upload.disabled = False

    def predict(self):
        "Predict the form's values and show the sentence, the bars and any warnings; offer why (`explain`)."
        if self.card is None: return
        waiting_shown_in(self.models, self.result)
        self.why.value, self._why = '', None
        self.offer_why(None)
        self.feedback.children = []
        problems = self.form.problems()
        if problems:               # refused before predicting: the page shows what was typed, not a guess
            self._answer = None
            self.result.value = message('Not predicted: ' + esc('; '.join(problems)) + '.', 'err', 'app-refused')
            return
        values = self.form.values()
        try:
            p = self.models.predict(self.card['name'], [values], self.card['version'])[0]
        except Exception as e:  # noqa: BLE001 - the reason is shown, the app keeps working
            self.result.value = message(f'The prediction failed: {esc(e)}', 'err'); return
        if not p.ok:
            self.result.value = message(esc(sentence(self.card, p)) +
                                        f'<div class="app-echo">For: {esc(self.form.echo(values))}</div>', 'err')
            return
        # an answer with warnings is not shown as a plain success: the warnings come right under it
        warn = ''.join(message(esc(w), 'warn', 'app-warning') for w in p.warnings if OUTSIDE not in w)   # those: in the sentence
        self._answer = (message(f'<span class="app-sentence">{esc(sentence(self.card, p))}</span>'
                                f'<div class="app-echo">For: {esc(self.form.echo(values))}</div>',
                                'warn' if p.warnings else 'ok') + warn + (probability_bars(p.probabilities)
                                                                          if p.probabilities else ''))
        self.result.value = self._answer      # the answer is on the page before the explanation is computed
        if p.id is not None: self.feedback.children = [self.ask(p).widget]
        self.offer_why(values)

    def ask(self, p) -> FeedbackBox:
        "'Was this right?' for the answer `p` (its log id), stored through the model service."
        name = self.card['name']
        send = lambda i, truth: self.models.feedback(name, [(i, truth)])[0]
        if not p.probabilities: return NumberFeedback(self.card, p.id, p.prediction, send)
        return FeedbackBox(self.card, p.id, p.prediction, send)

    def offer_why(self, values: dict | None):
        "Show 'Why this answer?' for the answer to `values` (None: hide it, there is no current answer)."
        self._asked = values
        self.why_button.layout.display = 'none' if values is None else ''

    def explain_asked(self):
        "The visitor asked why: explain the current answer."
        values = self._asked
        self.offer_why(None)
        if values is not None: self.explain(values)

    def explain(self, values: dict):
        "Why the answer for `values`: each field's contribution, shown under the answer."
        self.why.value = message('Working out why…', 'warn', 'app-why-wait')
        try:
            e = self.models.explain(self.card['name'], [values], self.card['version'])[0]
        except Exception as e:  # noqa: BLE001 - the answer stands; only its explanation is missing
            self.why.value = message(f'No explanation for this answer: {esc(e)}', 'warn', 'app-why'); return
        self._why = self.why.value = explanation_html(self.card, e)

    def mark_stale(self):
        "The inputs changed after an answer: say so and grey the old answer out, so it is not read as current."
        self.feedback.children = []           # the question was about the old inputs
        self.offer_why(None)                  # and so would be the why
        if self._why and self.why.value == self._why:
            self.why.value = f'<div class="app-old-answer" style="opacity:.45">{self._why}</div>'
        if not self._answer or self.result.value != self._answer: return
        self.result.value = (message('The inputs changed since this answer: click <b>Get prediction</b> for a new '
                                     'one.', 'warn', 'app-stale')
                             + f'<div class="app-old-answer" style="opacity:.45">{self._answer}</div>')

def tabular_app(models=None, versions: bool = False) -> W.Widget:
    "The ready tabular app for every tabular model of `models` (default: `predictors.connect()`; `versions`: all of them)."
    return TabularApp(models, versions).widget

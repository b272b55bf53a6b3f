"""The tabular app: the form (`widgets.form`) built from the model's schema, a sentence and bars, batch CSV scoring.

Nothing here names a column or a category: every control comes from the schema in the card.
"""
from __future__ import annotations

import base64

import ipywidgets as W

from predictors.core.helpers import some_names
from predictors.core.results import OUTSIDE, sentence

from .common import APP_CSS, esc, message, model_picker, model_service, probability_bars, waiting_shown_in
from .explain import WHY_CSS, explanation_html
from .feedback import FeedbackBox
from .form import TabularForm, typed_number
from .numbers import NumberFeedback, held_out, scored_columns

__all__ = ['TabularApp', 'tabular_app', 'template_link', 'DOWNLOAD_LIMIT']

DOWNLOAD_LIMIT = 20 * 2 ** 20    # a scored file up to this size is offered as a download from the page
UPLOAD_MESSAGE = 128 * 2 ** 20   # a CSV chosen on the page: up to the server's websocket message limit (voila.json)


def template_link(card: dict) -> str:
    "A link that downloads the CSV a file needs: the header of the model's input columns and one row of defaults."
    import base64
    import csv
    import io
    cols = [c for c in card['schema']['inputs'] if c['name'] != card['schema'].get('target')]
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
        self.card, self.form, self._answer, self._why = None, None, None, None
        self.picker = model_picker(self.models, 'records', versions)
        self.title = W.HTML()
        self.form_box = W.VBox()
        self.button = W.Button(description='Get prediction', button_style='primary', icon='check')
        self.button.add_class('app-predict')
        self.result = W.HTML(); self.result.add_class('app-result'); self.result.add_class('app-live')
        self.why = W.HTML(); self.why.add_class('app-explanation')
        self.feedback = W.Box()
        self.upload = W.FileUpload(accept='.csv,text/csv', multiple=False, description='Score a CSV',
                                   tooltip='Choose a CSV file of rows to score')
        self.upload.add_class('app-upload')
        self.upload.page_max_message = UPLOAD_MESSAGE
        self.progress = W.IntProgress(min=0, max=1, value=0, layout=W.Layout(visibility='hidden', width='420px'))
        self.batch = W.HTML(); self.batch.add_class('app-batch'); self.batch.add_class('app-live')
        self.batch_note = W.HTML()
        self.button.on_click(lambda _: self.predict())
        self.upload.observe(lambda ch: self.score_upload(), 'value')
        self.picker.observe(lambda ch: self.select(*ch['new']), 'value')
        header = W.HBox([self.picker]) if len(self.picker.options) > 1 else W.HBox()
        columns = W.HBox([W.VBox([self.form_box, self.button]), W.VBox([self.result, self.feedback, self.why])])
        for box, cls in ((columns, 'app-columns'), *zip(columns.children, ('app-form-column', 'app-answer-column'))):
            box.add_class(cls)
        self.widget = W.VBox([W.HTML(APP_CSS + WHY_CSS), header, self.title, columns,
                              W.HTML('<hr><h3 style="font-family:system-ui">Score many rows</h3>'), self.batch_note,
                              self.upload, self.progress, self.batch])
        if self.picker.value: self.select(*self.picker.value)
        else: self.title.value = message('There is no tabular model in the store yet: train or import one '
                                         '(see README).', 'warn')

    def select(self, name: str, version: str):
        "Read a model version's card and rebuild the form from its schema."
        self.result.value = self.batch.value = self.why.value = ''
        self._answer = self._why = None
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
        self.form = TabularForm(card['schema'], card.get('labels'), card.get('help'))
        self.form.on_change(self.mark_stale)
        self.form.on_submit(self.predict)
        self.form_box.children = [self.form.widget]
        self.batch_note.value = (f'<p style="font-family:system-ui">Upload a CSV with the columns above; you get every '
                                 f'row back with {scored_columns(card)}. {template_link(card)}</p>')
        # the title last: once it names the model, the form on the page is that model's
        self.title.value = (f'<h1 style="font-family:system-ui;margin:4px 0;font-size:1.5em">Predict {esc(card.get("target"))}</h1>'
                            f'<p style="font-family:system-ui;color:#556">Model <b>{esc(name)}</b> {esc(version)}'
                            f'{esc(held_out(card))}</p>')
        self.button.disabled = self.upload.disabled = False

    def predict(self):
        "Predict the form's values and show the sentence, the bars and any warnings; then why (`explain`)."
        if self.card is None: return
        waiting_shown_in(self.models, self.result)
        self.why.value, self._why = '', None
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
        self.explain(values)

    def ask(self, p) -> FeedbackBox:
        "'Was this right?' for the answer `p` (its log id), stored through the model service."
        name = self.card['name']
        send = lambda i, truth: self.models.feedback(name, [(i, truth)])[0]
        if not p.probabilities: return NumberFeedback(self.card, p.id, p.prediction, send)
        return FeedbackBox(self.card, p.id, p.prediction, send)

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
        if self._why and self.why.value == self._why:
            self.why.value = f'<div class="app-old-answer" style="opacity:.45">{self._why}</div>'
        if not self._answer or self.result.value != self._answer: return
        self.result.value = (message('The inputs changed since this answer: click <b>Get prediction</b> for a new '
                                     'one.', 'warn', 'app-stale')
                             + f'<div class="app-old-answer" style="opacity:.45">{self._answer}</div>')

    def score_upload(self):
        """Score the uploaded CSV as a stream of chunks (memory bounded whatever its size) into a
        temporary file: a table of the first rows, problems by row, a download of the scored file."""
        if not self.upload.value or self.card is None: return
        import io
        import tempfile
        from predictors.core.results import summarise_scored
        f = self.upload.value[0]
        name = _safe_name(f.get('name'))
        content = f['content']
        data = content if isinstance(content, (bytes, bytearray, memoryview)) else bytes(content)
        self.progress.max, self.progress.value = max(1, len(data)), 0
        self.progress.layout.visibility = 'visible'
        waiting_shown_in(self.models, self.batch)

        def progress(done, total): self.progress.value = done
        try:
            with tempfile.TemporaryFile('w+b') as out:
                unused = self.models.score_csv(self.card['name'], data, out, self.card['version'], progress)
                size = out.tell(); out.seek(0)
                text = io.TextIOWrapper(out, encoding='utf-8', newline='')
                summary = summarise_scored(text)
                text.detach(); out.seek(0)              # (a collected wrapper would close the file)
                csv = out.read() if size <= DOWNLOAD_LIMIT else None
        except Exception as e:  # noqa: BLE001 - the reason is shown, the app keeps working
            self.batch.value = message(f'{esc(name)}: {esc(e)}', 'err')
            return
        finally:
            self.progress.layout.visibility = 'hidden'
        self.show_scored(name, summary, unused, csv, size)

    def show_scored(self, fname, s, unused, csv, size):
        out_name = fname.rsplit('.', 1)[0] + '_scored.csv'
        if csv is not None:
            link = (f'<a class="app-download" role="button" download="{esc(out_name)}" '
                    f'href="data:text/csv;base64,{base64.b64encode(csv).decode()}">&#x2B07; Download {esc(out_name)}</a>')
        else:
            link = (f'<span class="app-download-too-large">The scored file ({size / 2**20:.0f} MB) is too large to '
                    f'download from the page: <code>python -m predictors predict {esc(self.card["name"])} FILE.csv '
                    f'--out {esc(out_name)}</code> scores it on the command line.</span>')
        n, n_err = s.rows, s.failed
        summary = message(f'<span class="app-batch-summary">{n - n_err} of {n} rows scored'
                          + (f'; {n_err} could not be scored' if n_err else '') + '.</span> ' + link,
                          'warn' if n_err else 'ok')
        if unused:
            summary += message(f'Columns not used by the model (kept as they are): {esc(some_names(unused))}.', 'warn',
                               'app-unused')
        items = ''.join(f'<li class="app-row-error">row {r}: {esc(p)}</li>'      # the scored file's rows, one each
                        for r, p in s.problems)
        if n_err > len(s.problems): items += f'<li>… and {n_err - len(s.problems)} more (see the problem column)</li>'
        shown = s.warnings[:10]
        warned = ''.join(f'<li class="app-row-warning">row {r}: {esc(w)}</li>' for r, w in shown)
        if s.warned > len(shown): warned += f'<li>… and {s.warned - len(shown)} more (see the problem column)</li>'
        self.batch.value = (summary + (message(f'<ul style="margin:0">{items}</ul>', 'err') if n_err else '')
                            + (message(f'{s.warned} row(s) scored with a warning:<ul style="margin:0">{warned}</ul>',
                                       'warn', 'app-batch-warnings') if s.warned else '')
                            + '<p style="font-family:system-ui">First rows:</p>' + _table(s.header, s.head))


def _table(header: list, rows: list) -> str:
    "An HTML table of a scored CSV's first rows: probabilities as percentages, no prediction as '—'."
    def cell(h, v):
        if h.startswith('probability_'):
            try:
                return f'{float(v) * 100:.1f}%'
            except ValueError:
                return '—'
        if h == 'prediction' and v in ('', 'None', 'nan'): return '—'
        return v
    head = ''.join(f'<th>{esc(h)}</th>' for h in header)
    body = ''.join('<tr>' + ''.join(f'<td>{esc(cell(h, v))}</td>' for h, v in zip(header, r)) + '</tr>' for r in rows)
    return f'<table class="app-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _safe_name(name) -> str:
    "A file name fit to show and to offer as a download: no folders, no odd characters."
    import re
    base = re.split(r'[\\/]', str(name or 'upload.csv'))[-1]
    base = re.sub(r'[^\w.\- ]', '_', base).strip(' .')[:100]
    return base or 'upload.csv'


def tabular_app(models=None, versions: bool = False) -> W.Widget:
    "The ready tabular app for every tabular model of `models` (default: `predictors.connect()`; `versions`: all of them)."
    return TabularApp(models, versions).widget

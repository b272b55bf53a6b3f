"""Scoring a CSV on the page: choose a file, every row back with its answer (a download), the first rows and the
problems by row. Used by the apps whose models take records (the tabular and the text app)."""
from __future__ import annotations

import base64

import ipywidgets as W

from predictors.core.helpers import some_names
from predictors.core.results import summarise_scored

from .common import esc, message, waiting_shown_in

__all__ = ['CsvScoring', 'DOWNLOAD_LIMIT']

DOWNLOAD_LIMIT = 20 * 2 ** 20    # a scored file up to this size is offered as a download from the page
UPLOAD_MESSAGE = 128 * 2 ** 20   # a CSV chosen on the page: up to the server's websocket message limit (voila.json)


class CsvScoring:
    """'Score many rows' for the model service `models` and the card `app.card` (the model the app shows): an upload
    button, a progress bar, the summary with the download and the first rows (`widget`); `note` says what to send."""

    def __init__(self, models, app):
        self.models, self.app = models, app
        self.upload = W.FileUpload(accept='.csv,text/csv', multiple=False, description='Score a CSV',
                                   tooltip='Choose a CSV file of rows to score')
        self.upload.add_class('app-upload')
        self.upload.page_max_message = UPLOAD_MESSAGE
        self.progress = W.IntProgress(min=0, max=1, value=0, layout=W.Layout(visibility='hidden', width='420px'))
        self.batch = W.HTML(); self.batch.add_class('app-batch'); self.batch.add_class('app-live')
        self.note = W.HTML()
        self.upload.observe(lambda ch: self.score_upload(), 'value')
        self.widget = W.VBox([W.HTML('<hr><h3 style="font-family:system-ui">Score many rows</h3>'), self.note,
                              self.upload, self.progress, self.batch])

    @property
    def card(self): return self.app.card

    def score_upload(self):
        """Score the uploaded CSV as a stream of chunks (memory bounded whatever its size) into a
        temporary file: a table of the first rows, problems by row, a download of the scored file."""
        if not self.upload.value or self.card is None: return
        import io
        import tempfile
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



"""The image app: drop or choose one or many images, see each with its top predictions."""
from __future__ import annotations

import io

import ipywidgets as W

from .common import APP_CSS, esc, message, model_picker, model_side, probability_bars
from .dropzone import DropZone

__all__ = ['ImageApp', 'image_app', 'result_card']

THUMB = 128


def _thumb_png(im) -> bytes:
    im = im.copy(); im.thumbnail((THUMB, THUMB))
    buf = io.BytesIO(); im.save(buf, 'PNG')
    return buf.getvalue()


def result_card(r, top: int = 3) -> W.Widget:
    "One file's card: thumbnail and top classes as bars, or the reason it was rejected."
    title = W.HTML(f'<div style="font:12px system-ui;overflow-wrap:anywhere;width:230px" '
                   f'title="{esc(r.name)}">{esc(r.name)}</div>')
    if not r.ok:
        box = W.VBox([title, W.HTML(message(esc(r.error), 'err', 'app-file-error'))],
                     layout=W.Layout(width='250px', padding='6px', border='1px solid #f3c1bd'))
        box.add_class('app-card'); box.add_class('app-card-error')
        return box
    img = W.Image(value=_thumb_png(r.image), format='png', layout=W.Layout(max_width=f'{THUMB}px'))
    bars = W.HTML(f'<div style="font:600 14px system-ui">{esc(r.prediction)}</div>' + probability_bars(r.probabilities, top))
    box = W.VBox([title, img, bars], layout=W.Layout(width='250px', padding='6px', border='1px solid #dde'))
    box.add_class('app-card'); box.add_class('app-card-ok')
    return box


class ImageApp:
    "Model picker, multi-file upload, a results grid with top-3 per image, a summary and a clear button."

    def __init__(self, store=None, load=None, log=None, top: int = 3):
        self.store, self.load, self.log = model_side(store, load, log)
        self.top, self.predictor = top, None
        self.picker = model_picker(self.store, 'image')
        self.title = W.HTML()
        self.upload = DropZone(accept='image/*', multiple=True, label='Drop images here, or click to choose')
        self.upload.add_class('app-upload')
        self.clear_button = W.Button(description='Clear', icon='trash')
        self.clear_button.add_class('app-clear')
        self.summary = W.HTML(); self.summary.add_class('app-summary')
        self.grid = W.Box(layout=W.Layout(display='flex', flex_flow='row wrap', gap='8px'))
        self.grid.add_class('app-grid')
        self.upload.on_upload(self.classify)
        self.clear_button.on_click(lambda _: self.clear())
        self.picker.observe(lambda ch: self.select(*ch['new']), 'value')
        header = W.HBox([self.picker]) if len(self.picker.options) > 1 else W.HBox()
        self.widget = W.VBox([W.HTML(APP_CSS), header, self.title, W.HBox([self.upload, self.clear_button]),
                              self.summary, self.grid])
        if self.picker.value: self.select(*self.picker.value)
        else: self.title.value = message('There is no image model in the store yet: train or import one '
                                         '(see README).', 'warn')

    def select(self, name: str, version: str):
        self.clear()
        try:
            self.predictor = self.load(name, version, store=self.store)
            self.predictor.log = self.log
        except Exception as e:  # noqa: BLE001 - the reason is shown, the app keeps working
            self.predictor = None
            self.upload.disabled = True
            self.title.value = message(f'Model {esc(name)} {esc(version)} cannot be used: {esc(e)}', 'err')
            return
        card, lim = self.predictor.card, self.predictor.limits
        acc = card.get('metrics', {}).get('accuracy')
        classes = card.get('classes', [])
        self.title.value = (
            f'<h2 style="font-family:system-ui;margin:4px 0">What is in the picture?</h2>'
            f'<p style="font-family:system-ui;color:#556">Model <b>{esc(name)}</b> {esc(version)} knows '
            f'{len(classes)} classes' + (f' (held-out accuracy {acc:.1%})' if acc is not None else '') +
            f'. Drop or choose up to {lim.max_files} images, {lim.max_bytes // 2**20} MB each and '
            f'{lim.max_upload_bytes // 2**20} MB in all.</p>')
        self.upload.max_bytes, self.upload.max_files = lim.max_bytes, lim.max_files
        self.upload.max_total_bytes = lim.max_upload_bytes
        self.upload.disabled = False

    def classify(self, files: list, rejected: list = ()):
        "Classify the dropped or chosen files in batches; bad or oversized files fail alone."
        if self.predictor is None: return
        self.summary.value = message(f'Classifying {len(files)} file(s)…', 'warn')
        try:
            results = self.predictor.predict_files(files)
        except Exception as e:  # noqa: BLE001
            self.summary.value = message(f'Classification failed: {esc(e)}', 'err'); return
        from predictors.image import ImageResult
        results += [ImageResult(name=n, size=size, error=f'{n}: {reason}') for n, size, reason in rejected]
        n_ok = sum(r.ok for r in results)
        self.grid.children = [result_card(r, self.top) for r in results]
        self.summary.value = message(f'<span class="app-summary-text">{len(results)} image(s): {n_ok} classified, '
                                     f'{len(results) - n_ok} rejected.</span>', 'ok' if n_ok == len(results) else 'warn')

    def clear(self):
        self.grid.children = []
        self.summary.value = ''


def image_app(store=None, load=None, log=None) -> W.Widget:
    "The ready image app widget for every image model in `store`."
    return ImageApp(store, load, log).widget

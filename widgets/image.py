"""The image app: drop or choose one or many images, see each with its top predictions."""
from __future__ import annotations

import base64
import io

import ipywidgets as W

from predictors.core.imaging import BadImage, decode_image
from predictors.core.results import UNSURE_BELOW, ImageResult, class_label, natural_key
from predictors.kinds import kind_of

from .apicalls import api_calls_html
from .common import APP_CSS, esc, message, model_picker, model_service, probability_bars, waiting_shown_in
from .dropzone import DropZone
from .feedback import FeedbackBox, LabelsFeedback

__all__ = ['ImageApp', 'image_app', 'result_card', 'model_says']

THUMB = 128
VIEW = 'image_app'              # the app this module is: it shows the models of the kinds that name it


def _thumb_png(data: bytes, limits) -> bytes | None:
    "A small PNG of an image the model classified (decoded safely, as the model side does)."
    try:
        im = decode_image(data, 'thumbnail', limits, THUMB)
    except BadImage:
        return None
    im.thumbnail((THUMB, THUMB))
    buf = io.BytesIO(); im.save(buf, 'PNG')
    return buf.getvalue()


def result_card(r: ImageResult, thumb: bytes | None = None, top: int = 3, card: dict | None = None,
                heatmap: bytes | dict | None = None, feedback: W.Widget | None = None) -> W.Widget:
    """One file's card: thumbnail (PNG bytes) and top classes as bars, or the reason it was rejected.
    An answer the model side marked `unsure` reads "Not sure", the closest classes below it.
    `heatmap` (PNG) is shown instead of the thumbnail: where the model looked for its top class ({label: PNG}: for
    each label of a multi-label answer);
    `feedback` ("Was this right?") goes under the answer."""
    card = card or {}
    title = W.HTML(f'<div style="font:12px system-ui;overflow-wrap:anywhere;width:230px" '
                   f'title="{esc(r.name)}">{esc(r.name)}</div>')
    if not r.ok:
        box = W.VBox([title, W.HTML(message(esc(r.error), 'err', 'app-file-error'))],
                     layout=W.Layout(width='250px', padding='6px', border='1px solid #f3c1bd'))
        box.add_class('app-card'); box.add_class('app-card-error')
        return box
    label, unsure = (lambda c: class_label(card, c)), bool(r.unsure)
    img = _pictures(r, thumb, heatmap, label)
    if r.labels is not None: head, border = _labels_head(r, top, label), '1px solid #dde'
    elif unsure:
        n = len(card.get('classes') or r.probabilities)
        head = (f'<div class="app-answer app-unsure" style="font:600 14px system-ui">Not sure — maybe none of the '
                f'{n} classes it knows</div><div style="font:12px system-ui;color:#556">closest:</div>')
        border = '1px solid #e0a100'
    else:
        head, border = f'<div class="app-answer" style="font:600 14px system-ui">{esc(label(r.prediction))}</div>', '1px solid #dde'
    bars = W.HTML(head if r.labels is not None else head + probability_bars(r.probabilities, top, label))
    box = W.VBox([title, *img, bars, *([feedback] if feedback is not None else [])],
                 layout=W.Layout(width='250px', padding='6px', border=border))
    box.add_class('app-card'); box.add_class('app-card-ok')
    if unsure: box.add_class('app-card-unsure')
    return box


def _pictures(r: ImageResult, thumb: bytes | None, heatmap, label) -> list:
    """The picture of an answer: its thumbnail, or its heatmap (PNG), or a multi-label answer's heatmaps ({label: PNG},
    each captioned with its label)."""
    src = lambda png: f'data:image/png;base64,{base64.b64encode(png).decode()}'
    looked = lambda c: f'{r.name}: where the model looked for {label(c)} (red: most, blue: least)'
    if isinstance(heatmap, dict):
        return [W.HTML(''.join(f'<figure class="app-label-heatmap" style="margin:0 0 4px;font:12px system-ui">'
                               f'<img class="app-heatmap" alt="{esc(looked(c))}" style="max-width:{THUMB}px" '
                               f'src="{src(png)}"><figcaption>{"" if c in r.labels else "closest: "}'
                               f'{esc(label(c))}</figcaption></figure>'
                               for c, png in heatmap.items()))]
    if heatmap: return [W.HTML(f'<img class="app-heatmap" alt="{esc(looked(r.prediction))}" '
                               f'style="max-width:{THUMB}px" src="{src(heatmap)}">')]
    said = ('not sure what it shows' if r.unsure else ', '.join(map(label, r.labels)) or 'none of the known labels'
            if r.labels is not None else label(r.prediction))
    return [W.HTML(f'<img class="app-thumb" alt="{esc(r.name)}: {esc(said)}" style="max-width:{THUMB}px" '
                   f'src="{src(thumb)}">')] if thumb else []


def _labels_head(r: ImageResult, top: int, label) -> str:
    "A multi-label answer: each label it names with its probability, or *None of the known labels* and the closest."
    if r.labels:
        return (f'<div class="app-answer app-labels" style="font:600 14px system-ui">'
                f'{esc(", ".join(map(label, r.labels)))}</div>'
                + probability_bars({c: r.probabilities[c] for c in r.labels}, None, label))
    return ('<div class="app-answer app-none" style="font:600 14px system-ui">None of the known labels</div>'
            '<div style="font:12px system-ui;color:#556">closest:</div>' + probability_bars(r.probabilities, top, label))


def _multi_says(card: dict) -> str:
    "What the image app says of a multi-label model (HTML): its held-out F1 and how it decides each label."
    m, n = card.get('metrics') or {}, len(card.get('classes') or [])
    about = f' and learnt from {esc(card["about"])}' if card.get('about') else ''
    text = (f'Model <b>{esc(card.get("name"))}</b> {esc(card.get("version"))} names every one of its {n} labels it sees '
            f'in a picture{about}')
    if m.get('f1') is not None:
        on = f' {m["test_images"]:,} pictures it never saw' if m.get('test_images') else ' held-out pictures'
        text += f'; on{on}: F1 {m["f1"]:.1%}, every label right on {m["exact_match"]:.1%} of them'
    th = list((card.get('thresholds') or {}).values())
    if th:
        span = f'{min(th):.0%}' if min(th) == max(th) else f'{min(th):.0%}–{max(th):.0%}'
        text += f'. A label is named when its probability reaches its threshold ({span}; {esc(card.get("threshold_source") or "")})'
    return text + '.'


def model_says(card: dict) -> str:
    """What the image app says of its model (HTML): what it learnt from and how often it was right on held-out
    pictures, and when it says Not sure: below a calibrated threshold and how often it still answered pictures
    of none of its classes, or below the default 50 % of its own (uncalibrated) probabilities."""
    if kind_of(card).answer.name == 'labels': return _multi_says(card)
    m, u, n = card.get('metrics') or {}, card.get('uncertainty') or {}, len(card.get('classes') or [])
    about = f' and learnt from {esc(card["about"])}' if card.get('about') else ''
    text = f'Model <b>{esc(card.get("name"))}</b> {esc(card.get("version"))} knows {n} classes{about}'
    if m.get('accuracy') is not None:
        on = f' on {m["test_images"]:,} pictures it never saw' if m.get('test_images') else ''
        text += f'; held-out accuracy {m["accuracy"]:.1%}{on}'
    sure = float(card.get('min_confidence', UNSURE_BELOW))
    if u.get('negatives'):
        neg = u['negatives']
        text += (f'. It says <i>Not sure</i> below {sure:.0%} (calibrated); of {neg["test_images"]:,} pictures of none '
                 f'of its classes it never saw, it still named a class for {neg["confidently_wrong"]:.1%}.')
    else:
        text += f'. Answers below {sure:.0%} read <i>Not sure</i> (the model\'s own probabilities, not calibrated).'
    return text


LOOK, PICTURES = 'Show where the model looked', 'Show the pictures'
LEGEND = ('<div class="app-legend" style="font:12px system-ui;color:#445;margin:2px 0">Heatmaps: '
          '<span style="color:#c62828;font-weight:600">red</span> where the model looked most for its top class (for '
          'each label it names), '
          '<span style="color:#1565c0;font-weight:600">blue</span> least.</div>')


class ImageApp:
    "Model picker, multi-file upload, a results grid with top-3 per image, a summary and a clear button."

    def __init__(self, models=None, top: int = 3, versions: bool = False):
        self.models = model_service(models)
        self.top, self.card = top, None
        self.picker = model_picker(self.models, VIEW, versions)
        self.title = W.HTML()
        self.upload = DropZone(accept='image/*', multiple=True, label='Drop images here, or click to choose')
        self.upload.add_class('app-dropzone-host')
        self.upload.add_class('app-upload')
        self.clear_button = W.Button(description='Clear', icon='trash', disabled=True)     # until there are results
        self.clear_button.add_class('app-clear')
        self.looked = W.ToggleButton(value=False, description=LOOK, icon='eye', disabled=True,
                                     tooltip='Heatmaps (Grad-CAM) of the parts of each image that led to its top class',
                                     layout=W.Layout(width='auto'))
        self.looked.add_class('app-heatmap-toggle')
        self.legend = W.HTML()
        self.legend.add_class('app-heatmap-legend')
        self.looked.observe(lambda ch: self.show_cards(), 'value')
        self._shown = None      # the last upload: (files, results, thumbnails, rejected, feedback boxes)
        self._heatmaps = None   # its heatmaps, made once when first asked for
        self.summary = W.HTML(); self.summary.add_class('app-summary'); self.summary.add_class('app-live')
        self.grid = W.Box(layout=W.Layout(display='flex', flex_flow='row wrap', gap='8px'))
        self.api = W.HTML()                  # "Use via API" for the model shown
        self.grid.add_class('app-grid')
        self.upload.on_upload(self.classify)
        self.clear_button.on_click(lambda _: self.clear())
        self.picker.observe(lambda ch: self.select(*ch['new']), 'value')
        header = W.HBox([self.picker]) if len(self.picker.options) > 1 else W.HBox()
        self.widget = W.VBox([W.HTML(APP_CSS), header, self.title,
                              W.HBox([self.upload, self.clear_button, self.looked],
                                     layout=W.Layout(flex_flow='row wrap', grid_gap='6px')),
                              self.legend, self.summary, self.grid, self.api])
        if self.picker.value: self.select(*self.picker.value)
        else: self.title.value = message('There is no image model in the store yet: train or import one '
                                         '(see README).', 'warn')

    def select(self, name: str, version: str):
        self.clear()
        self.api.value = ''                    # until this model's card is read
        try:
            card, lim = self.models.card(name, version), self.models.limits()
            if kind_of(card).view != VIEW: raise ValueError(f'it is a {card.get("task")} model')
            self.models.check(name, version)
        except Exception as e:  # noqa: BLE001 - the reason is shown, the app keeps working
            self.card = None
            self.upload.disabled = True
            self.title.value = message(f'Model {esc(name)} {esc(version)} cannot be used: {esc(e)}', 'err')
            return
        self.card, self.limits = card, lim
        self.api.value = api_calls_html(card, self.models.settings)
        classes = sorted(card.get('classes', []), key=lambda c: natural_key(class_label(card, c)))
        known = ', '.join(esc(class_label(card, c)) for c in classes)
        self.title.value = (
            f'<h1 style="font-family:system-ui;margin:4px 0;font-size:1.5em">What is in the picture?</h1>'
            f'<p class="app-model-says" style="font-family:system-ui;color:#556">{model_says(card)} Drop or choose up '
            f'to {lim.max_files} images, {lim.max_bytes // 2**20} MB each and {lim.max_upload_bytes // 2**20} MB in all.</p>'
            f'<details class="app-classes" style="font-family:system-ui;color:#556;margin-bottom:6px">'
            f'<summary>The {len(classes)} {"labels" if kind_of(card).answer.name == "labels" else "classes"} it knows</summary><p class="app-class-list">{known}</p></details>')
        self.upload.max_bytes, self.upload.max_files = lim.max_bytes, lim.max_files
        self.upload.max_total_bytes = lim.max_upload_bytes
        self.upload.disabled = False

    def classify(self, files: list, rejected: list = (), chosen: int | None = None):
        "Classify the dropped or chosen files in batches; bad or oversized files fail alone."
        if self.card is None: return
        self.summary.value = message(f'Classifying {len(files)} file(s)…', 'warn')
        waiting_shown_in(self.models, self.summary)
        try:
            results = self.models.predict(self.card['name'], files, self.card['version'])
        except Exception as e:  # noqa: BLE001 - the reason is shown, the app keeps working
            self.summary.value = message(f'Classification failed: {esc(e)}', 'err'); return
        thumbs = [_thumb_png(d, self.limits) if r.ok else None for r, (_, d) in zip(results, files)]
        name = self.card['name']
        send = lambda i, truth: self.models.feedback(name, [(i, truth)])[0]
        ask = lambda r: (LabelsFeedback(self.card, r.id, r.prediction, send, compact=True) if r.labels is not None
                         else FeedbackBox(self.card, r.id, r.prediction, send, compact=True, unsure=bool(r.unsure)))
        asks = [ask(r).widget if r.ok and r.id is not None else None for r in results]
        replaced = self._shown is not None
        self._shown, self._heatmaps = (files, results, thumbs, list(rejected), asks), None
        self.clear_button.disabled = self.looked.disabled = False
        self.show_cards()
        n_ok, n = sum(r.ok for r in results), chosen or len(results) + len(rejected)
        self.summary.value = message(f'<span class="app-summary-text">{n} image(s): {n_ok} classified, '
                                     f'{n - n_ok} rejected.</span>'
                                     + (' <span class="app-replaced">These replace the earlier results.</span>'
                                        if replaced else ''), 'ok' if n_ok == n else 'warn')

    def show_cards(self):
        "The last upload's cards, in the order sent, with heatmaps when the toggle is on (computed once, on demand)."
        on = self.looked.value
        self.looked.description = PICTURES if on else LOOK
        self.legend.value = LEGEND if on and self._shown is not None else ''
        if self._shown is None: return
        files, results, thumbs, rejected, asks = self._shown
        heat = [None] * len(results)
        if on:
            if self._heatmaps is None: self._heatmaps = self.heatmaps(files, results)
            heat = self._heatmaps or heat
        cards = [result_card(r, t, self.top, self.card, h, a) for r, t, h, a in zip(results, thumbs, heat, asks)]
        cards += [result_card(ImageResult(name=n, size=size, error=f'{n}: {reason}')) for n, size, reason in rejected]
        self.grid.children = cards

    def heatmaps(self, files, results) -> list | None:
        "A heatmap PNG per classified file (None for the others); None after a failure, said in the summary."
        ok = [i for i, r in enumerate(results) if r.ok]
        out = [None] * len(results)
        if not ok: return out
        note = self.summary.value
        self.summary.value = message('Working out where the model looked…', 'warn')
        try:
            explained = self.models.explain(self.card['name'], [files[i] for i in ok], self.card['version'])
        except Exception as e:  # noqa: BLE001 - the answers stand; only the heatmaps are missing
            self.summary.value = note + message(f'No heatmaps: {esc(e)}', 'warn', 'app-heatmap-error')
            return None
        for i, r in zip(ok, explained): out[i] = r.heatmaps if r.labels is not None else r.heatmap
        self.summary.value = note
        return out

    def clear(self):
        self.grid.children = []
        self.summary.value = self.legend.value = ''
        self._shown = self._heatmaps = None    # (their feedback boxes go with them)
        self.clear_button.disabled = self.looked.disabled = True


def image_app(models=None, versions: bool = False) -> W.Widget:
    "The ready image app for every image model of `models` (default: `predictors.connect()`; `versions`: all of them)."
    return ImageApp(models, versions=versions).widget

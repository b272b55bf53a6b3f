"""Small view pieces shared by the apps: probability bars, messages, the model picker."""
from __future__ import annotations

import ipywidgets as W

from predictors.core.helpers import esc

__all__ = ['probability_bars', 'message', 'model_picker', 'esc', 'APP_CSS', 'model_service', 'waiting_shown_in']


APP_CSS = """<style>
.app-bars {font-family: system-ui, sans-serif; font-size: 13px; min-width: 220px; max-width: 560px}
.app-bar-row {display: flex; align-items: center; gap: 6px; margin: 2px 0}
.app-bar-label {width: 40%; max-width: 160px; overflow-wrap: anywhere}
.app-bar-track {flex: 1; background: #eef0f3; border-radius: 3px; height: 14px}
.app-bar-fill {background: #4a7bd0; height: 14px; border-radius: 3px}
.app-bar-fill.app-top {background: #1f9d55}
.app-bar-pct {width: 52px; text-align: right; font-variant-numeric: tabular-nums}
.app-msg {font-family: system-ui, sans-serif; padding: 6px 10px; border-radius: 4px; margin: 4px 0}
.app-ok {background: #e8f5ec; border-left: 4px solid #1f9d55}
.app-warn {background: #fff6e0; border-left: 4px solid #e0a100}
.app-err {background: #fdecea; border-left: 4px solid #d93025}
.app-sentence {font-size: 17px; font-weight: 600}
.app-table {border-collapse: collapse; font-size: 12px; font-family: system-ui, sans-serif}
.app-unsure {color: #8a5a00}
.app-classes summary {cursor: pointer; color: #2b5cb8}
.app-table td, .app-table th {border: 1px solid #dde; padding: 2px 6px; text-align: left !important}
.app-download {display: inline-block; margin-left: 8px; padding: 5px 12px; border-radius: 4px; background: #1a56b8;
               color: #fff !important; text-decoration: none; font-weight: 600}
.app-download:hover, .app-download:focus {background: #123f88}
.app-echo {font-size: 13px; font-weight: normal; color: #3d4452; margin-top: 4px; overflow-wrap: anywhere}
.app-hint {color: #5a6272}
.app-field-error {color: #b3261e; font-weight: 600}
.app-invalid input {border-color: #d93025 !important; box-shadow: 0 0 0 1px #d93025}
.app-field-warning {color: #8a5a00; font-weight: 600}
.app-outside input {border-color: #b77900 !important; box-shadow: 0 0 0 1px #b77900}
.app-form .widget-hbox {flex-wrap: wrap; row-gap: 2px}
.app-sr {position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap}
.app-predict:focus-visible, .app-clear:focus-visible, .app-heatmap-toggle:focus-visible, .app-feedback-yes:focus-visible
  {outline: 3px solid #1a56b8 !important; outline-offset: 2px}
.app-form .widget-html, .app-form .widget-html-content {max-width: 100%; white-space: normal; line-height: 1.3}
/* wide screens: the answer beside the form, where the button is; narrower ones: below it */
.app-columns {flex-wrap: wrap !important; align-items: flex-start; column-gap: 32px}
.app-form-column {flex: 1 1 560px; max-width: 820px; min-width: 0}
.app-answer-column {flex: 1 1 420px; min-width: 0}
/* a phone: each label above its field, nothing wider than the screen */
@media (max-width: 640px) {
  .app-form .app-input.widget-inline-hbox {flex-wrap: wrap; width: 100% !important; height: auto !important}
  .app-form .app-input select, .app-form .app-input input[type=text] {flex: 1 1 100%; height: 30px}
  .app-dropzone, .app-dropzone-label {max-width: 100% !important; box-sizing: border-box}
  .app-dropzone {width: 100% !important}
  .widget-hbox > .app-dropzone-host, .widget-hbox > .widget-upload {flex: 1 1 100%}
  .app-form .app-input .widget-label {width: 100% !important; max-width: 100%; text-align: left !important}
  .app-form .app-input input, .app-form .app-input select {width: 100%}
  .app-form .widget-html {margin-left: 0}
  /* 100 % less the widgets' own margins (2 px a side): wider, its box would scroll sideways */
  .widget-dropdown, .widget-text, .widget-upload, .widget-button, .widget-hprogress {max-width: calc(100% - 4px)}
  .app-bars {min-width: 0}
  .app-predict {width: auto !important; align-self: stretch; height: 44px !important}   /* a thumb-sized target, margins inside the screen */
  .app-table {display: block; overflow-x: auto; max-width: 100%}
  .widget-html.app-live, .widget-html.app-fit {max-width: 100%; min-width: 0}
  .app-live > .widget-html-content, .app-fit > .widget-html-content
    {max-width: 100%; min-width: 0; white-space: normal; overflow-wrap: anywhere}
  #rendered_cells > div, .jp-Cell, .jp-OutputArea-output {padding-left: 0 !important; padding-right: 0 !important}
  .app-card {width: 100% !important; box-sizing: border-box}
  .app-controls .widget-dropdown {width: 100% !important}
}
</style>"""


def probability_bars(probs: dict, top: int | None = None, label=str) -> str:
    "HTML bars for the probability of each class, the most likely first; `label(cls)` is the text shown."
    items = sorted(probs.items(), key=lambda kv: -kv[1])[:top]
    best = items[0][0] if items else None
    rows = ''.join(
        f'<div class="app-bar-row" data-class="{esc(c)}"><span class="app-bar-label">{esc(label(c))}</span>'
        f'<span class="app-bar-track"><span class="app-bar-fill{" app-top" if c == best else ""}" '
        f'style="display:block;width:{max(0.0, min(1.0, p)) * 100:.1f}%"></span></span>'
        f'<span class="app-bar-pct">{p * 100:.1f}%</span></div>' for c, p in items)
    return f'<div class="app-bars">{rows}</div>'


def message(text: str, kind: str = 'ok', cls: str = '') -> str:
    "A coloured message box: kind is 'ok', 'warn' or 'err'."
    return f'<div class="app-msg app-{kind} {cls}">{text}</div>'


def model_picker(models, app: str | None = None, versions: bool = False) -> W.Dropdown:
    """A Dropdown of (label, (name, version)) for the active version of every model the app `app` shows (None: every
    model); `versions`: every version too, newest first after the active one (for operators: visitors see
    what `activate` chose, never a version registered `--no-activate`)."""
    options = []
    for m in models.models(app):
        options.append((f'{m["name"]} {m["active"]} (active)', (m['name'], m['active'])))
        if versions: options += [(f'{m["name"]} {v}', (m['name'], v)) for v in reversed(m['versions']) if v != m['active']]
    return W.Dropdown(options=options, value=options[0][1] if options else None, description='Model',
                      layout=W.Layout(width='420px'), style={'description_width': '60px'})


def model_service(models=None):
    "The predictor interface an app uses: `models` if given, else `predictors.connect()` (the one place that chooses)."
    if models is not None: return models
    from predictors.service import connect
    return connect()


def waiting_shown_in(models, view: W.HTML) -> None:
    "While the model server restarts, a remote service says so in `view` (it retries meanwhile)."
    if hasattr(models, 'on_wait'): models.on_wait = lambda text: setattr(view, 'value', message(esc(text), 'warn'))

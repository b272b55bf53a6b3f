"""A message box: several lines, a character counter against its limit, Ctrl+Enter (⌘+Enter) to submit.

ipywidgets' Textarea has neither a counter nor key events. This one counts in the browser as the person types
and sends the text to the kernel as it changes; a text over the limit is sent cut at one character past it, so
the kernel can refuse it by its length without a megabyte crossing the websocket.
"""
from __future__ import annotations

import anywidget
import traitlets as T

__all__ = ['TextBox']

_ESM = r"""
function render({ model, el }) {
  const box = document.createElement('textarea');
  box.className = 'app-text-input';
  box.rows = 6;
  box.setAttribute('aria-label', 'Message');
  const count = document.createElement('div');
  count.className = 'app-text-count';
  count.setAttribute('aria-live', 'polite');
  const show = () => {
    const n = box.value.length, limit = model.get('limit');
    count.textContent = `${n.toLocaleString('en')} / ${limit.toLocaleString('en')} characters` +
      (n > limit ? ' — too long: the model reads messages of up to ' + limit.toLocaleString('en') + ' characters' : '');
    count.classList.toggle('app-text-over', n > limit);
  };
  const sync = () => {
    const limit = model.get('limit');
    model.set('value', box.value.length > limit ? box.value.slice(0, limit + 1) : box.value);
    model.save_changes();
  };
  box.addEventListener('input', () => { show(); sync(); });
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); sync(); model.send({ event: 'submit' }); }
  });
  const update = () => {
    box.placeholder = model.get('placeholder');
    box.disabled = model.get('disabled');
    if (model.get('value') !== box.value.slice(0, model.get('limit') + 1)) box.value = model.get('value');
    show();
  };
  model.on('change', update);
  update();
  el.append(box, count);
}
export default { render };
"""

_CSS = """
.app-text-input {width: calc(100% - 4px); max-width: 720px; box-sizing: border-box; font: 14px system-ui;
  padding: 6px; resize: vertical}
.app-text-count {font: 12px system-ui; color: #556; margin: 2px 0 6px}
.app-text-over {color: #b3261e; font-weight: 600}
"""


class TextBox(anywidget.AnyWidget):
    """A message box with a counter against `limit` characters; `on_submit(fn)` calls `fn()` on Ctrl+Enter.
    `value` is the text (cut at `limit` + 1 characters by the page, so an over-long one is known as such)."""
    _esm = _ESM
    _css = _CSS
    value = T.Unicode('').tag(sync=True)
    placeholder = T.Unicode('').tag(sync=True)
    limit = T.Int(20_000).tag(sync=True)
    disabled = T.Bool(False).tag(sync=True)

    page_writable = ('value',)       # the page sets the text; its limit and the rest are the kernel's (widgets.guard)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._handlers = []
        self.on_msg(self._receive)

    @property
    def page_max_message(self) -> int:
        "The largest message the page may send here: the text at its limit (and one more character)."
        return 4 * (self.limit + 1) + 1024

    def on_submit(self, fn): self._handlers.append(fn)

    def _receive(self, _, content, buffers):
        if self.disabled or not isinstance(content, dict) or content.get('event') != 'submit': return
        for fn in self._handlers: fn()

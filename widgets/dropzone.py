"""A file drop zone: drag files onto it or click to choose; sizes are checked in the browser.

ipywidgets' FileUpload has no drag-and-drop, and sends every selected file in one websocket
message, so a selection over the server's message limit closes the connection before Python
sees it. This widget checks the limits in the browser first: files over a limit are not sent,
only their names and sizes with the reason, so the app can say so and keep working.
"""
from __future__ import annotations

import anywidget
import traitlets as T

from predictors.core.results import upload_name

__all__ = ['DropZone']

_ESM = r"""
function render({ model, el }) {
  const zone = document.createElement('div');
  zone.className = 'app-dropzone';
  zone.tabIndex = 0;
  const input = document.createElement('input');
  input.type = 'file';
  input.style.display = 'none';
  const label = document.createElement('div');
  label.className = 'app-dropzone-label';
  const update = () => {
    input.accept = model.get('accept');
    input.multiple = model.get('multiple');
    label.textContent = model.get('label');
    zone.classList.toggle('app-dropzone-disabled', model.get('disabled'));
  };
  update();
  model.on('change:accept change:multiple change:label change:disabled', update);
  zone.append(label, input);
  el.append(zone);
  const mb = (n) => (n / 1048576).toFixed(1) + ' MB';
  async function handle(fileList) {
    if (model.get('disabled')) return;
    const files = Array.from(fileList || []);
    if (!files.length) return;
    const maxBytes = model.get('max_bytes'), maxTotal = model.get('max_total_bytes'), maxFiles = model.get('max_files');
    const meta = [], rejected = [], buffers = [];
    let total = 0, unlisted = 0;
    label.textContent = `Reading ${files.length} file(s)…`;
    for (const [i, f] of files.entries()) {
      let reason = null;
      if (i >= maxFiles) reason = `not sent: an upload may hold at most ${maxFiles} files (${files.length} were chosen).`;
      else if (f.size > maxBytes) reason = `the file is ${mb(f.size)}, over the limit of ${mb(maxBytes)} per file.`;
      else if (total + f.size > maxTotal) reason = `not sent: the files of one upload may hold ${mb(maxTotal)} together; upload the rest separately.`;
      if (reason) {
        if (rejected.length < maxFiles) rejected.push({ name: f.name, size: f.size, reason });
        else unlisted += 1;
        continue;
      }
      total += f.size;
      meta.push({ name: f.name, type: f.type, size: f.size });
      buffers.push(await f.arrayBuffer());
    }
    model.send({ event: 'upload', files: meta, rejected, unlisted }, undefined, buffers);
    update();
  }
  zone.addEventListener('click', () => { if (!model.get('disabled')) { input.value = ''; input.click(); } });
  zone.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') zone.click(); });
  input.addEventListener('change', () => handle(input.files));
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('app-dropzone-over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('app-dropzone-over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault(); zone.classList.remove('app-dropzone-over');
    handle(e.dataTransfer && e.dataTransfer.files);
  });
}
export default { render };
"""

_CSS = """
.app-dropzone {border: 2px dashed #9aa5b1; border-radius: 8px; padding: 22px; text-align: center; cursor: pointer;
               font-family: system-ui, sans-serif; color: #445; background: #fafbfc; min-width: min(420px, 100%);
               box-sizing: border-box}
.app-dropzone:hover, .app-dropzone-over {border-color: #4a7bd0; background: #eef4ff}
.app-dropzone-disabled {opacity: .5; cursor: not-allowed}
"""


class DropZone(anywidget.AnyWidget):
    """Drop files on it or click to choose. `on_upload(fn)` calls `fn(files, rejected, chosen)` with
    `files` a list of `(name, bytes)`, `rejected` a list of `(name, size, reason)` (past `max_files` of
    them, one line says how many more) and `chosen` the number of files the person chose.

    Every value the browser sends is checked again here: a forged message cannot exceed the limits,
    nor make the app list more than `max_files` files it refused (the rest are counted in one line).
    """
    _esm = _ESM
    _css = _CSS
    accept = T.Unicode('').tag(sync=True)
    multiple = T.Bool(True).tag(sync=True)
    label = T.Unicode('Drop files here, or click to choose').tag(sync=True)
    disabled = T.Bool(False).tag(sync=True)
    max_bytes = T.Int(10 * 2**20).tag(sync=True)
    max_total_bytes = T.Int(100 * 2**20).tag(sync=True)
    max_files = T.Int(64).tag(sync=True)

    page_writable = ()        # the page sets nothing here: it sends files (widgets.guard)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._handlers = []
        self.on_msg(self._receive)

    @property
    def page_max_message(self) -> int:
        "The largest message the page may send here: an upload at the limits, and the names beside it."
        return self.max_total_bytes + 2**20

    def on_upload(self, fn): self._handlers.append(fn)

    def _receive(self, _, content, buffers):
        if self.disabled or not isinstance(content, dict) or content.get('event') != 'upload': return
        metas = content.get('files') or []
        if not isinstance(metas, list): metas = []
        files, rejected, total, unlisted = [], [], 0, 0

        def refuse(name, size, reason):
            nonlocal unlisted
            if len(rejected) < self.max_files: rejected.append((name, size, reason))
            else: unlisted += 1

        for i, data in enumerate(buffers or []):
            meta = metas[i] if i < len(metas) and isinstance(metas[i], dict) else {}
            name = upload_name(meta.get('name'), i)
            data = bytes(data)
            if len(files) >= self.max_files:
                refuse(name, len(data), f'not sent: an upload may hold at most {self.max_files} files.')
            elif len(data) > self.max_bytes or total + len(data) > self.max_total_bytes:
                refuse(name, len(data), 'over the upload limits.')
            else:
                total += len(data)
                files.append((name, data))
        listed = content.get('rejected')
        for r in listed if isinstance(listed, list) else []:
            if not isinstance(r, dict): continue
            try:
                size = max(0, int(r.get('size') or 0))
            except (TypeError, ValueError):
                size = 0
            refuse(upload_name(r.get('name'), -1), size, str(r.get('reason'))[:300])
        try:
            unlisted += min(max(0, int(content.get('unlisted') or 0)), 1_000_000)   # refused unread in the browser
        except (TypeError, ValueError):
            pass
        chosen = len(files) + len(rejected) + unlisted
        if unlisted: rejected.append((f'{unlisted} more file(s)', 0, 'not sent: too many files at once.'))
        for fn in self._handlers: fn(files, rejected, chosen)

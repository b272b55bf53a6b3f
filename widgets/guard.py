"""What an app's kernel takes from its page: the widget messages a person's use of the page sends, nothing more.

A page may change only what its controls change — a text's or a checkbox's `value`, a menu's `index` (a
choice that exists), the files of an upload — and click a button that is enabled. Every other update
(`disabled`, `max_files`, `options`, a layout…) is dropped, as are widgets the page tries to create
and any message larger than its widget takes (64 KB; an upload: its own limit). So a forged message can
neither grow the kernel (a 20 MB `Text` made by the page) nor lift a limit the kernel checks.
"""
from __future__ import annotations

import logging

import ipywidgets as W

__all__ = ['install', 'admits', 'MAX_MESSAGE']

MAX_MESSAGE = 64 * 1024      # bytes of one message to a widget (an upload widget says its own)
_log = logging.getLogger(__name__)

# what each kind of control may set: the trait its view changes when a person uses it
_WRITABLE = [((W.Text, W.Textarea, W.Password, W.Combobox, W.Checkbox, W.ToggleButton, W.FloatText, W.IntText,
               W.BoundedFloatText, W.BoundedIntText, W.FileUpload), {'value'}),
             ((W.Dropdown, W.Select, W.RadioButtons, W.ToggleButtons), {'index'}),
             ((W.Tab, W.Accordion, W.Stack), {'selected_index'})]


def _writable(widget) -> set:
    extra = getattr(widget, 'page_writable', None)     # a widget of ours may say what its page sets
    if extra is not None: return set(extra)
    for classes, keys in _WRITABLE:
        if isinstance(widget, classes): return keys
    return set()


def _size(value, limit: int) -> int:
    "The bytes of a message's values (text and buffers), counted until `limit` is passed."
    n, todo = 0, [value]
    while todo and n <= limit:
        v = todo.pop()
        if isinstance(v, str): n += len(v)
        elif isinstance(v, (bytes, bytearray)): n += len(v)
        elif isinstance(v, memoryview): n += v.nbytes
        elif isinstance(v, dict): todo.extend(v.keys()); todo.extend(v.values())
        elif isinstance(v, (list, tuple)): todo.extend(v)
        else: n += 8
    return n


def _good_index(widget, value) -> bool:
    options = getattr(widget, '_options_labels', None) or ()
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(options)


def admits(widget, data: dict, buffers) -> str | None:
    """Why a message from the page to `widget` is dropped (None: it is taken). `data` is the message's
    `content['data']`; an update keeps only the keys the page may set (it is changed in place)."""
    if widget is None: return None                     # no such widget: ipywidgets ignores it
    limit = getattr(widget, 'page_max_message', None) or MAX_MESSAGE
    if _size(data, limit) + _size(list(buffers or []), limit) > limit:
        return f'a message of over {limit:,} bytes'
    method = data.get('method')
    if method == 'update':
        state = data.get('state')
        if not isinstance(state, dict): return 'an update without a state'
        allowed = _writable(widget)
        for key in [k for k in state if k not in allowed]: del state[key]
        if 'index' in state and not _good_index(widget, state['index']): return f'index {state["index"]!r}'
        if 'buffer_paths' in data:
            data['buffer_paths'] = [p for p in data['buffer_paths'] if isinstance(p, list) and p and p[0] in state]
        return None if state else 'an update of what the page may not change'
    if method == 'custom':
        return 'a click on a disabled control' if getattr(widget, 'disabled', False) else None
    return None if method == 'request_state' else f'method {method!r}'


def install(kernel=None) -> bool:
    "Check every widget message this kernel gets from its page (nothing to do outside a kernel); True if installed."
    if kernel is None:
        try:
            from ipykernel.kernelapp import IPKernelApp
        except ImportError:
            return False
        if not IPKernelApp.initialized(): return False
        kernel = IPKernelApp.instance().kernel
    handlers = getattr(kernel, 'shell_handlers', None)
    if not handlers or getattr(handlers.get('comm_msg'), 'guarded', False): return bool(handlers)
    comm_msg, comm_open = handlers['comm_msg'], handlers['comm_open']
    log = getattr(kernel, 'log', None) or _log         # the kernel's own log: the server's output, not the page

    def guarded_msg(stream, ident, msg):
        content = msg.get('content') or {}
        from ipywidgets.widgets.widget import _instances
        widget = _instances.get(content.get('comm_id'))
        why = admits(widget, content.get('data') if isinstance(content.get('data'), dict) else {}, msg.get('buffers'))
        if why:
            log.warning('Dropped a message from the page to %s: %s', type(widget).__name__, why)
            return None
        return comm_msg(stream, ident, msg)

    def guarded_open(stream, ident, msg):
        if (msg.get('content') or {}).get('target_name') == 'jupyter.widget':
            log.warning('Dropped a widget the page tried to create')
            return None
        return comm_open(stream, ident, msg)
    guarded_msg.guarded = True
    handlers['comm_msg'], handlers['comm_open'] = guarded_msg, guarded_open
    return True

"""An app kernel: ipykernel's own, started by the doors (`ThisPython`), with the page guard installed (`widgets.guard`:
only the messages a person's use of the page sends), quiet about the one thing it cannot do when a door stops: reply
on sockets the server already closed (a ZMQError traceback per kernel, every Ctrl-C)."""
from __future__ import annotations

import importlib
import logging
import sys

__all__ = ['replies_after_close', 'run', 'app_kernel_ready', 'AFTER_KERNEL']

# (module, function) run once the kernel exists: ipywidgets' control comm (when it was imported before the kernel was:
# a forked kernel), and the guard of what the page may send, which every app kernel has
AFTER_KERNEL = (('ipywidgets', '_handle_ipython'), ('widgets.guard', 'install'))


def app_kernel_ready() -> None:
    "What an app kernel does once it is initialized (`AFTER_KERNEL`): the guard always, ipywidgets' hook if imported."
    for module, hook in AFTER_KERNEL:
        if module in sys.modules or module == 'widgets.guard': getattr(importlib.import_module(module), hook)()


def replies_after_close(record: logging.LogRecord) -> bool:
    "False for a reply that failed because its socket is closed (the kernel is being shut down); True otherwise."
    import zmq
    e = record.exc_info[1] if record.exc_info else None
    return not (isinstance(e, zmq.ZMQError) and e.errno == zmq.ENOTSOCK)


def run(argv=None, after_init=app_kernel_ready, **traits) -> None:
    """Run ipykernel's kernel app on `argv` (default: this command line), quiet about `replies_after_close`;
    `after_init()` once it is initialized, before it starts (`app_kernel_ready`)."""
    from ipykernel.kernelapp import IPKernelApp
    logging.getLogger('IPKernelApp').addFilter(replies_after_close)
    app = IPKernelApp.instance(**traits)
    app.initialize(argv)
    after_init()
    app.start()


if __name__ == '__main__':
    run()

"""An app kernel: ipykernel's own, started by the doors (`ThisPython`), quiet about the one thing it cannot do
when a door stops: reply on sockets the server already closed (a ZMQError traceback per kernel, every Ctrl-C)."""
from __future__ import annotations

import logging

__all__ = ['replies_after_close', 'run']


def replies_after_close(record: logging.LogRecord) -> bool:
    "False for a reply that failed because its socket is closed (the kernel is being shut down); True otherwise."
    import zmq
    e = record.exc_info[1] if record.exc_info else None
    return not (isinstance(e, zmq.ZMQError) and e.errno == zmq.ENOTSOCK)


def run(argv=None, after_init=lambda: None, **traits) -> None:
    """Run ipykernel's kernel app on `argv` (default: this command line), quiet about `replies_after_close`;
    `after_init()` once it is initialized, before it starts (the fork server's hooks, `predictors.web.forks`)."""
    from ipykernel.kernelapp import IPKernelApp
    logging.getLogger('IPKernelApp').addFilter(replies_after_close)
    app = IPKernelApp.instance(**traits)
    app.initialize(argv)
    after_init()
    app.start()


if __name__ == '__main__':
    run()

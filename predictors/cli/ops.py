"""Running it: the model server, serve (everything), verify, health."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from predictors.cli.common import store_of
from predictors.core.store import ModelError

__all__ = ['VERBS']


def cmd_api(args):
    import uvicorn
    from predictors.api.guard import LOCAL_HOSTS
    from predictors.core.settings import API_TOKEN_ENV
    if not args.settings.api_token:              # (a bad limit in the environment was refused before this)
        if args.host not in LOCAL_HOSTS:
            raise ModelError(f'refusing to serve the models on {args.host or "every address"} without a token: set '
                             f'{API_TOKEN_ENV} (programs then send `Authorization: Bearer <token>`).')
        print(f'no {API_TOKEN_ENV}: any program on this machine may call the model server (other sites\' web pages '
              f'may not)', file=sys.stderr)
    print(f'model server on http://{args.host}:{args.port}/ (docs at /docs); store {store_of(args).root}',
          file=sys.stderr, flush=True)
    if args.models: os.environ['FASTAI_APPS_MODELS'] = str(args.models)   # create_app reads the environment
    uvicorn.run('predictors.api:create_app', factory=True, host=args.host, port=args.port, workers=args.workers,
                log_level=args.log_level, timeout_graceful_shutdown=10)
    return 0


def cmd_serve(args):
    from predictors.ops.supervise import serve
    return serve(host=args.host, port=args.port or [8866], api_port=args.api_port, api_workers=args.api_workers,
                 operator_port=args.operator_port, keep=args.keep, voila_args=args.voila_args)


def cmd_verify(args):
    from predictors.ops.verify import check_file, run_checks
    if args.files: return _print_checks([r for f in args.files for r in check_file(f, args.code or ())])
    return _print_checks(run_checks(store_of(args), args.settings))


def cmd_health(args):
    from predictors.ops.verify import health_checks
    rows = health_checks(args.settings, args.url, store_of(args), api=args.api)
    if args.json:
        print(json.dumps(dict(ok=all(r['ok'] for r in rows), checks=rows)))
        return 0 if all(r['ok'] for r in rows) else 1
    return _print_checks(rows)


def _print_checks(rows):
    for r in rows:
        print(f'{"PASS" if r["ok"] else "FAIL"}  {r["check"]}: {r["detail"]}' +
              ('' if r['ok'] else f'\n      remedy: {r["remedy"]}'))
    return 0 if all(r['ok'] for r in rows) else 1




def _add_api(sub):
    p = sub.add_parser('api', help='the model server: the models over HTTP (FastAPI; docs at /docs)')
    p.add_argument('--host', default='127.0.0.1'); p.add_argument('--port', type=int, default=8865)
    p.add_argument('--workers', type=int, default=1, help='processes, each with the models loaded (default 1)')
    p.add_argument('--log-level', default='warning', help='uvicorn log level (default: warning)')
    p.set_defaults(fn=cmd_api)


def _add_serve(sub):
    p = sub.add_parser('serve', help='the model server, the apps and the operators\' door together (`make serve`); Ctrl-C stops all three')
    p.add_argument('--host', default='127.0.0.1', help='where Voila listens (the model server stays on 127.0.0.1)')
    p.add_argument('--port', type=int, action='append',
                   help='where the apps listen (default 8866); repeat for one Voila process per port behind a proxy')
    p.add_argument('--api-port', type=int, default=8865)
    p.add_argument('--api-workers', type=int, default=1, help='model server processes (each loads the models)')
    p.add_argument('--operator-port', type=int, default=8867,
                   help="the operators' door (monitor, setup check) on 127.0.0.1, behind a token")
    p.add_argument('--keep', help='delete logged predictions older than this (e.g. 30d) at start and daily')
    p.add_argument('voila_args', nargs='*', help='more options for voila (after --)')
    p.set_defaults(fn=cmd_serve)


def _add_verify(sub):
    p = sub.add_parser('verify', help='check the setup and every model, or learner files before importing them '
                                      '(exit 1 if a check fails)')
    p.add_argument('files', nargs='*', metavar='FILE', help='exported learners (.pkl) to check instead of the setup')
    p.add_argument('--code', action='append', type=Path, metavar='FILE.py',
                   help='with FILE: a .py file defining what the export names from `__main__` (as `import --code`)')
    p.set_defaults(fn=cmd_verify)


def _add_health(sub):
    p = sub.add_parser('health', help='for a process supervisor: server up, store readable, each model loads '
                                      'and answers, log readable (exit 1 if not)')
    p.add_argument('--url', help='the served apps, e.g. http://127.0.0.1:8866/ (default: no server check)')
    p.add_argument('--api', help='the model server, e.g. http://127.0.0.1:8865 (default: $FASTAI_APPS_API if set)')
    p.add_argument('--json', action='store_true', help='one JSON object instead of lines')
    p.set_defaults(fn=cmd_health)


VERBS = (_add_api, _add_serve, _add_verify, _add_health)     # each adds its verb to the sub-parsers

"""The store: list, card, activate (rollback, shadow), labels, the kinds' `train-…` verbs, import."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

from predictors.cli.common import models_of, registered, store_of
from predictors.core.store import ModelError

__all__ = ['VERBS']


def cmd_list(args):
    rows = store_of(args).list()
    if not rows: print('(no models)'); return 0
    print(f'{"name":<20} {"version":<8} {"task":<10} {"active":<6} {"held-out":<15} created')
    for r in rows:
        m = r['metrics']
        score = (f'accuracy {m["accuracy"]:.4f}' if m.get('accuracy') is not None else
                 f'MAE {m["mae"]:.4g}' if m.get('mae') is not None else
                 f'F1 {m["f1"]:.4f}' if m.get('f1') is not None else '')
        print(f'{r["name"]:<20} {r["version"]:<8} {r["task"] or "?":<10} {"*" if r["active"] else "shadow" if r["shadow"] else "":<6} '
              f'{score:<15} {r["created"] or ""}')
    return 0


def cmd_card(args):
    print(json.dumps(store_of(args).card(args.name, args.version), indent=1))
    return 0


def cmd_activate(args):
    st = store_of(args)
    if args.version is None and not args.no_shadow: raise ModelError('give the VERSION to activate (or --no-shadow).')
    if args.shadow:
        st.set_shadow(args.name, args.version)
        print(f'{args.name}: {args.version} now answers in the shadow of {st.active_version(args.name)} '
              f'(logged, never shown); `activate {args.name} {args.version}` promotes it')
        return 0
    if args.no_shadow:
        st.set_shadow(args.name, None)
        print(f'{args.name}: no shadow version')
        return 0
    st.activate(args.name, args.version)
    print(f'{args.name}: {args.version} is now active')
    return 0


def cmd_labels(args):
    try:
        spec = json.loads(Path(args.file).read_text())
    except (OSError, ValueError) as e:
        raise ModelError(f'{args.file} is not a readable JSON file: {e}') from None
    if not isinstance(spec, dict) or not set(spec) <= {'labels', 'help'}:
        raise ModelError(f'{args.file} must hold {{"labels": {{column: text}}, "help": {{column: text}}}}.')
    v = store_of(args).set_labels(args.name, args.version, spec.get('labels') or {}, spec.get('help') or {})
    print(f'{args.name} {v}: {len(spec.get("labels") or {})} label(s), {len(spec.get("help") or {})} help text(s)')
    return 0


def cmd_import(args):
    from predictors.importing.importer import import_learner
    options = {k: v for k, v in (('target_transform', args.target_transform), ('units', args.units)) if v}
    v = import_learner(args.path, args.name, csv=args.csv, store=store_of(args, new=True), activate=not args.no_activate,
                       options=options, code=args.code or ())
    registered(args, v)
    return 0




def _add_list(sub):
    p = sub.add_parser('list', help='list models and versions (* = active, shadow = run beside it)'); p.set_defaults(fn=cmd_list)


def _add_card(sub):
    p = sub.add_parser('card', help='print the model card (JSON)')
    p.add_argument('name'); p.add_argument('--version'); p.set_defaults(fn=cmd_card)


def _add_activate(sub):
    p = sub.add_parser('activate', help='make a version active (an older one is a rollback, the shadow a promotion)')
    p.add_argument('name'); p.add_argument('version', nargs='?')
    p.add_argument('--shadow', action='store_true', help='run VERSION beside the active one on every answer, logged, '
                   'never shown (see `performance`, the monitor)')
    p.add_argument('--no-shadow', action='store_true', help='stop running a shadow version')
    p.set_defaults(fn=cmd_activate)


def _add_labels(sub):
    p = sub.add_parser('labels', help='readable labels and help for the form\'s fields, from a JSON file '
                                      '{"labels": {column: text}, "help": {column: text}} (a retrain keeps them)')
    p.add_argument('name'); p.add_argument('file', type=Path)
    p.add_argument('--version', help='default: the active version')
    p.set_defaults(fn=cmd_labels)


def _add_import(sub):
    p = sub.add_parser('import', help='register a learner exported elsewhere (learn.export())')
    p.add_argument('path', type=Path); p.add_argument('--name', required=True)
    p.add_argument('--csv', type=Path, help='its training data: ranges and reference statistics come from it')
    p.add_argument('--no-activate', action='store_true', help='register the new version without making it active')
    p.add_argument('--target-transform', choices=['log', 'log1p'], help='a regression trained on the log of its '
                   'target: answers and errors are shown in the target\'s own units')
    p.add_argument('--units', help='a regression: what the target counts, e.g. "kW", for the answer\'s sentence')
    p.add_argument('--code', action='append', type=Path, metavar='FILE.py', help='a .py file defining what the export '
                   'names from the exporter\'s notebook (`__main__`), e.g. its model class; kept with the version '
                   '(checksummed) and imported before it is loaded; repeat for more files')
    p.set_defaults(fn=cmd_import)


def _add_training(sub):
    "One `train-…` verb per kind that declares its training (`ModelKind.training`), in the order of the registry."
    from predictors.kinds import KINDS
    for training in dict.fromkeys(k.training for k in KINDS.values() if k.training):
        p = sub.add_parser(training.verb, help=training.help)
        training.arguments(p)
        p.set_defaults(fn=lambda args, t=training: _train(args, t))


def _train(args, training) -> int:
    "Run a kind's training with what the CLI lends it (`Training`), and say what it registered."
    context = SimpleNamespace(log=lambda m: print(m, file=sys.stderr),
                              labelled=lambda name, target, log=None: _labelled(name, target, log or args.settings.log))
    registered(args, training.run(args, store_of(args, new=True), context))
    return 0


def _labelled(name: str, target: str, log: str):
    "(the labelled answers of model `name` in the prediction log as training rows, where the log is)."
    from predictors.monitoring.log import PredictionLog
    from predictors.monitoring.performance import feedback_rows
    logged = PredictionLog(log)
    return feedback_rows(logged, name, target), logged.where


def _add_commands(sub):
    "The verbs the kinds bring (`ModelKind.commands`: a recommender's `recommend`, `items`), each once."
    from predictors.kinds import KINDS
    for command in dict.fromkeys(c for k in KINDS.values() for c in k.commands):
        p = sub.add_parser(command.verb, help=command.help)
        command.arguments(p)
        p.set_defaults(fn=lambda args, c=command: c.run(args, SimpleNamespace(
            models=lambda: models_of(args), store=lambda new=False: store_of(args, new),
            log=lambda m: print(m, file=sys.stderr))))


VERBS = (_add_list, _add_card, _add_activate, _add_labels, _add_training, _add_import, _add_commands)     # each adds its verb(s)

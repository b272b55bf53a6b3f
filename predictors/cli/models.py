"""The store: list, card, activate (rollback, shadow), labels, train-tabular, train-image, import."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from predictors.cli.common import add_log, csv_list, registered, store_of
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


def cmd_train_tabular(args):
    from predictors.kinds.tabular.train import train_tabular
    extra = None
    if args.add_feedback:
        from predictors.monitoring.log import PredictionLog
        from predictors.monitoring.performance import feedback_rows
        extra = feedback_rows(PredictionLog(args.log), args.add_feedback, args.target)
        print(f'{len(extra)} labelled answer(s) of {args.add_feedback} added from {PredictionLog(args.log).where}',
              file=sys.stderr)
    number = {k: v for k, v in (('target_transform', args.target_transform), ('units', args.units),
                                ('baseline', args.baseline)) if v}
    v = train_tabular(args.csv, args.target, args.name, cat=csv_list(args.cat), cont=csv_list(args.cont),
                      store=store_of(args, new=True), epochs=args.epochs, seed=args.seed, templates=args.describe,
                      max_rows=args.max_rows, activate=not args.no_activate, extra=extra,
                      log=lambda m: print(m, file=sys.stderr), regression=args.regression,
                      exclude=csv_list(args.exclude), time_column=args.time_column, **number)
    registered(args, v)
    return 0


def cmd_train_image(args):
    from predictors.kinds.image.train import train_image
    v = train_image(args.folder, args.name, store=store_of(args, new=True), valid_style=args.valid_style,
                    epochs=args.epochs, size=args.size, seed=args.seed, repeat=args.repeat, activate=not args.no_activate,
                    test_folder=args.test_folder, negatives=args.negatives or (), test_negatives=args.test_negatives or (),
                    about=args.about, valid_pct=args.valid_pct, ground=args.ground, mixup=not args.no_mixup,
                    log=lambda m: print(m, file=sys.stderr))
    registered(args, v)
    return 0


def cmd_train_multilabel(args):
    from predictors.kinds.multilabel.train import train_multilabel
    v = train_multilabel(args.csv, args.name, store=store_of(args, new=True), valid_csv=args.valid_csv,
                         test_csv=args.test_csv, size=args.size, epochs=args.epochs, seed=args.seed, delim=args.delim,
                         about=args.about, activate=not args.no_activate, log=lambda m: print(m, file=sys.stderr))
    registered(args, v)
    return 0


def cmd_train_text(args):
    from predictors.kinds.text.train import train_text
    v = train_text(args.csv, args.name, text=args.text, label=args.label, store=store_of(args, new=True),
                   epochs=args.epochs, seed=args.seed, describe=args.describe, about=args.about,
                   activate=not args.no_activate, log=lambda m: print(m, file=sys.stderr))
    registered(args, v)
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


def _add_train_tabular(sub):
    p = sub.add_parser('train-tabular', help='train a tabular classifier, or a regression for a numeric target, '
                                             'and register a new version')
    p.add_argument('--csv', required=True, type=Path); p.add_argument('--target', required=True)
    p.add_argument('--name', default='tabular_model')
    p.add_argument('--cat', help='comma-separated categorical columns (default: inferred from dtypes)')
    p.add_argument('--cont', help='comma-separated continuous columns (default: inferred from dtypes)')
    p.add_argument('--epochs', type=int, default=4); p.add_argument('--seed', type=int, default=42)
    p.add_argument('--max-rows', type=int, help='train on a random sample of this many rows')
    p.add_argument('--describe', action='append', metavar='CLASS=TEXT',
                   help='sentence shown for a class, e.g. ">=50k=earns more than $50k a year"; a regression: '
                        '"value=About {value} bikes rented in that hour", "range={share} of similar hours: {low}–{high}"')
    kind = p.add_mutually_exclusive_group()
    kind.add_argument('--regression', action='store_const', const=True, dest='regression',
                      help='predict the target as a number (the default for a numeric target with more than 10 values)')
    kind.add_argument('--classify', action='store_const', const=False, dest='regression',
                      help='predict the target as a class, even a numeric one')
    p.add_argument('--exclude', help='comma-separated columns not to learn from (e.g. parts of the target)')
    p.add_argument('--time-column', help='hold out the latest 20%% of rows by this column (a date or a number) '
                   'instead of a random 20%%; it is not an input')
    p.add_argument('--target-transform', choices=['log', 'log1p'], help='regression: learn the log of the target '
                   '(counts, prices); answers and errors stay in its units')
    p.add_argument('--units', help='regression: what the target counts, e.g. "bikes", for the answer\'s sentence')
    p.add_argument('--baseline', action='store_true', help='regression: also fit scikit-learn\'s '
                   'HistGradientBoostingRegressor on the same rows and put its held-out figures on the card')
    p.add_argument('--no-activate', action='store_true', help='register the new version without making it active')
    p.add_argument('--add-feedback', metavar='NAME', help='also train on the labelled answers of model NAME in the '
                   'prediction log (their inputs and the right class; duplicates dropped)')
    add_log(p)
    p.set_defaults(fn=cmd_train_tabular)


def _add_train_image(sub):
    p = sub.add_parser('train-image', help='train an image classifier and register a new version')
    p.add_argument('--folder', required=True, type=Path,
                   help='one sub-folder per class (--valid-pct of each held out), or <style>/<class>.png with --valid-style')
    p.add_argument('--name', default='image_model')
    p.add_argument('--valid-style', help='style layout: the style sub-folder held out for validation')
    p.add_argument('--test-folder', type=Path, help='one sub-folder per class: half calibrate the model and choose '
                   'Not sure, the other half are what the card reports (default: the held-out part of --folder)')
    p.add_argument('--negatives', type=Path, action='append', help='a folder of pictures of none of the classes, '
                   'to learn to be unsure of such pictures (repeatable); calibrates and chooses Not sure on held-out data')
    p.add_argument('--test-negatives', type=Path, action='append', help='pictures of none of the classes kept apart: '
                   'the card says how often the model answers them (repeatable)')
    p.add_argument('--epochs', type=int, default=100); p.add_argument('--size', type=int, default=64)
    p.add_argument('--repeat', type=int, default=8, help='times each training image is shown per epoch')
    p.add_argument('--about', help="what the pictures are, shown by the image app ('photos of single fruits')")
    p.add_argument('--valid-pct', type=float, default=0.2, help='share of each class held out (class layout)')
    p.add_argument('--no-mixup', action='store_true', help='train without MixUp')
    p.add_argument('--ground', type=float, default=1.0,
                   help='how often a training picture is put on a random background (else on white)')
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--no-activate', action='store_true', help='register the new version without making it active')
    p.set_defaults(fn=cmd_train_image)


def _add_train_multilabel(sub):
    p = sub.add_parser('train-multilabel', help='train a multi-label image classifier and register a new version')
    p.add_argument('--csv', required=True, type=Path, help='columns fname (a picture, relative to the CSV) and labels '
                   '(separated by --delim, empty for a picture of none of them)')
    p.add_argument('--valid-csv', type=Path, help='pictures each label\'s threshold is chosen on (default: a fifth of '
                   '--csv, held out)')
    p.add_argument('--test-csv', type=Path, help='pictures the card reports (default: the validation pictures)')
    p.add_argument('--name', default='multilabel_model')
    p.add_argument('--delim', default=';', help="what separates a picture's labels (default ';')")
    p.add_argument('--epochs', type=int, default=12); p.add_argument('--size', type=int, default=96)
    p.add_argument('--about', help="what the pictures are, shown by the image app ('pictures of 0–3 fruits')")
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--no-activate', action='store_true', help='register the new version without making it active')
    p.set_defaults(fn=cmd_train_multilabel)


def _add_train_text(sub):
    p = sub.add_parser('train-text', help='train a text classifier (AWD-LSTM from scratch) and register a new version')
    p.add_argument('--csv', required=True, type=Path, help='a column of messages (--text) and one of classes (--label)')
    p.add_argument('--text', default='text'); p.add_argument('--label', default='label')
    p.add_argument('--name', default='text_model')
    p.add_argument('--epochs', type=int, default=6); p.add_argument('--seed', type=int, default=42)
    p.add_argument('--describe', action='append', metavar='CLASS=TEXT', help='sentence shown for a class')
    p.add_argument('--about', help="what the messages are, shown by the text app ('SMS messages of 2011')")
    p.add_argument('--no-activate', action='store_true', help='register the new version without making it active')
    p.set_defaults(fn=cmd_train_text)


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


VERBS = (_add_list, _add_card, _add_activate, _add_labels, _add_train_tabular, _add_train_image, _add_train_multilabel,
         _add_train_text, _add_import)     # each adds its verb to the sub-parsers

"""How models of table rows (tabular classifiers and regressions) are trained from the command line: the
`train-tabular` verb's options and its run (`Training`)."""
from __future__ import annotations

from pathlib import Path

from predictors.kinds.base import Training

__all__ = ['TABLE_TRAINING']


def arguments(p) -> None:
    "The options of `train-tabular`."
    p.add_argument('--csv', required=True, type=Path); p.add_argument('--target', required=True)
    p.add_argument('--name', default='tabular_model')
    p.add_argument('--cat', help='comma-separated categorical columns (default: inferred from dtypes)')
    p.add_argument('--cont', help='comma-separated continuous columns (default: inferred from dtypes)')
    p.add_argument('--epochs', type=int, default=4); p.add_argument('--seed', type=int, default=42)
    p.add_argument('--max-rows', type=int, help='train on a random sample of this many rows')
    p.add_argument('--describe', action='append', metavar='CLASS=TEXT',
                   help='sentence shown for a class, e.g. ">=50k=earns more than $50k a year"; a regression: '
                        '"value=About {value} bikes rented in that hour", "range={share} of similar hours: {low}–{high}"')
    target = p.add_mutually_exclusive_group()
    target.add_argument('--regression', action='store_const', const=True, dest='regression',
                        help='predict the target as a number (the default for a numeric target with more than 10 values)')
    target.add_argument('--classify', action='store_const', const=False, dest='regression',
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
    p.add_argument('--log', help='with --add-feedback: the prediction log, a SQLite file or a SQLAlchemy URL '
                   '(default: $FASTAI_APPS_LOG or logs/predictions.db)')


def run(args, store, context) -> str:
    "Train, register and return the new version."
    from predictors.kinds.tables.train import train_tabular
    extra = None
    if args.add_feedback:
        extra, where = context.labelled(args.add_feedback, args.target, args.log)
        context.log(f'{len(extra)} labelled answer(s) of {args.add_feedback} added from {where}')
    number = {k: v for k, v in (('target_transform', args.target_transform), ('units', args.units),
                                ('baseline', args.baseline)) if v}
    return train_tabular(args.csv, args.target, args.name, cat=_names(args.cat), cont=_names(args.cont), store=store,
                         epochs=args.epochs, seed=args.seed, templates=args.describe, max_rows=args.max_rows,
                         activate=not args.no_activate, extra=extra, log=context.log, regression=args.regression,
                         exclude=_names(args.exclude), time_column=args.time_column, **number)


def _names(v):
    "'a, b,c' as ['a', 'b', 'c']; None for nothing."
    return [c.strip() for c in v.split(',') if c.strip()] if v else None


TABLE_TRAINING = Training('train-tabular', 'train a tabular classifier, or a regression for a numeric target, and register a '
                                          'new version', arguments, run)

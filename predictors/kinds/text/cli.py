"""How text classifiers are trained from the command line: the `train-text` verb's options and its run (`Training`)."""
from __future__ import annotations

from pathlib import Path

from predictors.kinds.base import Training

__all__ = ['TRAINING']


def arguments(p) -> None:
    "The options of `train-text`."
    p.add_argument('--csv', required=True, type=Path, help='a column of messages (--text) and one of classes (--label)')
    p.add_argument('--text', default='text'); p.add_argument('--label', default='label')
    p.add_argument('--name', default='text_model')
    p.add_argument('--epochs', type=int, default=6); p.add_argument('--seed', type=int, default=42)
    p.add_argument('--describe', action='append', metavar='CLASS=TEXT', help='sentence shown for a class')
    p.add_argument('--about', help="what the messages are, shown by the text app ('SMS messages of 2011')")
    p.add_argument('--no-activate', action='store_true', help='register the new version without making it active')


def run(args, store, context) -> str:
    "Train, register and return the new version."
    from predictors.kinds.text.train import train_text
    return train_text(args.csv, args.name, text=args.text, label=args.label, store=store, epochs=args.epochs,
                      seed=args.seed, describe=args.describe, about=args.about, activate=not args.no_activate,
                      log=context.log)


TRAINING = Training('train-text', 'train a text classifier (AWD-LSTM from scratch) and register a new version', arguments, run)

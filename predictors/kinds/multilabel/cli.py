"""How multi-label image classifiers are trained from the command line: the `train-multilabel` verb's options and its run (`Training`)."""
from __future__ import annotations

from pathlib import Path

from predictors.kinds.base import Training

__all__ = ['TRAINING']


def arguments(p) -> None:
    "The options of `train-multilabel`."
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


def run(args, store, context) -> str:
    "Train, register and return the new version."
    from predictors.kinds.multilabel.train import train_multilabel
    return train_multilabel(args.csv, args.name, store=store, valid_csv=args.valid_csv, test_csv=args.test_csv,
                            size=args.size, epochs=args.epochs, seed=args.seed, delim=args.delim, about=args.about,
                            activate=not args.no_activate, log=context.log)


TRAINING = Training('train-multilabel', 'train a multi-label image classifier and register a new version', arguments, run)

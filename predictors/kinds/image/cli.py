"""How image classifiers are trained from the command line: the `train-image` verb's options and its run (`Training`)."""
from __future__ import annotations

from pathlib import Path

from predictors.kinds.base import Training

__all__ = ['TRAINING']


def arguments(p) -> None:
    "The options of `train-image`."
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


def run(args, store, context) -> str:
    "Train, register and return the new version."
    from predictors.kinds.image.train import train_image
    return train_image(args.folder, args.name, store=store, valid_style=args.valid_style, epochs=args.epochs,
                       size=args.size, seed=args.seed, repeat=args.repeat, activate=not args.no_activate,
                       test_folder=args.test_folder, negatives=args.negatives or (), test_negatives=args.test_negatives or (),
                       about=args.about, valid_pct=args.valid_pct, ground=args.ground, mixup=not args.no_mixup, log=context.log)


TRAINING = Training('train-image', 'train an image classifier and register a new version', arguments, run)

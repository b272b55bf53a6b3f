"""What a language model brings to the command line: `train-lm` (`Training`) and `generate` (what comes after a text:
the continuation, written as it comes; `--next K`: the K likeliest next words as JSON; `--csv`: one per prompt)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from predictors.core.errors import ModelError
from predictors.core.written import Continuation
from predictors.kinds.base import Command, Training

__all__ = ['TRAINING', 'COMMANDS']


def train_arguments(p) -> None:
    "The options of `train-lm`."
    p.add_argument('--csv', required=True, type=Path, help='a column of texts (--text) to learn to continue')
    p.add_argument('--text', default='text'); p.add_argument('--name', default='writer')
    p.add_argument('--epochs', type=int, default=20); p.add_argument('--seed', type=int, default=42)
    p.add_argument('--temperature', type=float, default=0.8, help="the apps' default temperature (the card's)")
    p.add_argument('--about', help="what the texts are, shown by the writer app ('SMS messages of 2011')")
    p.add_argument('--no-activate', action='store_true', help='register the new version without making it active')


def train_run(args, store, context) -> str:
    "Train, register and return the new version."
    from predictors.kinds.language_model.train import train_lm
    return train_lm(args.csv, args.name, text=args.text, store=store, epochs=args.epochs, seed=args.seed,
                    about=args.about, temperature=args.temperature, activate=not args.no_activate, log=context.log)


def generate_arguments(p) -> None:
    p.add_argument('name')
    p.add_argument('--text', help='the beginning to write after')
    p.add_argument('--csv', type=Path, help="a CSV of beginnings (the model's text column): the continuation of each, as "
                   'CSV on standard output (--out FILE: there)')
    p.add_argument('--out', type=Path)
    p.add_argument('--words', type=int, help="how many tokens to write (fastai's n_words; default: the card's)")
    p.add_argument('--temperature', type=float, help="0: always the likeliest word; 1: as the model says (default: the card's)")
    p.add_argument('--seed', type=int, help='the same seed writes the same words')
    p.add_argument('--next', type=int, metavar='K', help='instead: the K likeliest next words and their probabilities (JSON)')
    p.add_argument('--version')


def generate_run(args, context) -> int:
    "The continuation, written to standard output as it comes (its seed on standard error); a bad request, its reason."
    models = context.models()
    if (args.text is None) == (args.csv is None): raise ModelError('give --text "…" or --csv FILE.')
    if args.csv is not None: return _generate_csv(args, models)
    if args.next is not None:
        got = models.next_words(args.name, args.text, args.next, version=args.version)
        if got.error: raise ModelError(got.error)
        print(json.dumps(dict(text=got.text, next=[n.to_dict() for n in got.next], unknown=got.unknown), indent=1))
        return 0
    last = None
    for last in models.generate(args.name, args.text, words=args.words, temperature=args.temperature, seed=args.seed,
                                version=args.version):
        if isinstance(last, Continuation): break
        sys.stdout.write(last.text); sys.stdout.flush()
    if last.error: raise ModelError(last.error)
    print()
    for w in last.warnings: print(w, file=sys.stderr)
    print(f'(seed {last.seed}, temperature {last.temperature:g}'
          + (f'; words it does not know: {", ".join(last.unknown)}' if last.unknown else '') + ')', file=sys.stderr)
    return 0


def _generate_csv(args, models) -> int:
    "A continuation per row of the CSV (`continuation`, `seed`, `next_words`, `problem` added); a failed row says why."
    from predictors.core.csvio import read_csv_checked
    df = read_csv_checked(args.csv, max_columns=args.settings.max_csv_columns)
    scored = models.generate_frame(args.name, df, words=args.words, temperature=args.temperature, seed=args.seed,
                                   version=args.version)
    scored.to_csv(args.out or sys.stdout, index=False)
    bad = int(scored['problem'].astype(str).str.startswith('error').sum())
    if bad: print(f'{bad} of {len(df)} row(s) have no continuation: see their problem column', file=sys.stderr)
    return 1 if bad else 0


TRAINING = Training('train-lm', 'train a language model (AWD-LSTM from scratch) on texts and register a new version',
                    train_arguments, train_run)
COMMANDS = (Command('generate', 'what comes after a text: the continuation (--next K: the likeliest next words; --csv: '
                    'a continuation per row)', generate_arguments, generate_run),)

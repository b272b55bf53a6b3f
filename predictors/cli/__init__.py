"""Command line: `python -m predictors VERB …` (`--help` on each verb).

Exit status: 0 success; 1 when some inputs of `predict` or `explain` could not be answered (each
has an `error` line), `feedback` refused a row, `performance` finds the accuracy significantly
below the card's, `compare` finds version B significantly worse, or `drift` judges the data
drifted; 2 with a one-line reason on bad input or a model that cannot be used.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

from predictors.cli import models, monitoring, ops, predict
from predictors.core.settings import Settings
from predictors.core.store import ModelError
from predictors.service.loading import LOADED

__all__ = ['main', 'build_parser']


def build_parser() -> argparse.ArgumentParser:
    "Every verb, one group of them per module of `predictors.cli`."
    ap = argparse.ArgumentParser(prog='python -m predictors', description=__doc__.split('\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--models', help=MODELS_HELP)
    sub = ap.add_subparsers(dest='verb', required=True, metavar='VERB')
    for group in (models, predict, ops, monitoring):
        for add in group.VERBS: add(sub)
    for said in sub._choices_actions:                    # each verb's --help: what it does, defaults, --models
        p = sub.choices[said.dest]
        p.description, p.formatter_class = said.help, _Defaults
        p.add_argument('--models', default=argparse.SUPPRESS, help=MODELS_HELP)
    return ap


MODELS_HELP = 'model store folder (default: $FASTAI_APPS_MODELS or models/); before or after the verb'


class _Defaults(argparse.HelpFormatter):
    "Help lines that end with the option's default when it has one worth saying."

    def _get_help_string(self, action):
        h, d = action.help or '', action.default
        if d in (None, False, argparse.SUPPRESS) or 'default' in h or not action.option_strings: return h
        return f'{h} (default: {d})'


def main(argv=None) -> int:
    "The command line's entry point: the verb's arguments, with the process's settings (`args.settings`) for it."
    args = build_parser().parse_args(argv)
    # library chatter (deprecations) is not the user's concern; the log's own RuntimeWarning is
    warnings.filterwarnings('ignore', category=DeprecationWarning)
    warnings.filterwarnings('ignore', category=FutureWarning)
    warnings.filterwarnings('ignore', category=UserWarning)
    warnings.formatwarning = lambda message, category, *a, **k: f'warning: {message}\n'
    try:
        args.settings = Settings.from_env()
        LOADED.configure(args.settings)
        return args.fn(args)
    except BrokenPipeError:                              # `… | head` closed the pipe: stop quietly, as `cat` does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (ModelError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError) as e:
        print(f'error: {e.strerror}: {e.filename}', file=sys.stderr)
        return 2

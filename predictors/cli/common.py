"""What the verbs share: the store and log options, reading a time, the message for a registered version."""
from __future__ import annotations

from predictors.core.helpers import parse_since
from predictors.core.store import ModelError, ModelStore

__all__ = ['store_of', 'log_of', 'models_of', 'csv_list', 'add_log', 'read_since', 'registered']


def store_of(args, new: bool = False) -> ModelStore:
    """The store of `--models`, else the settings' (`$FASTAI_APPS_MODELS`, else models/); a `--models` folder that does
    not exist is refused unless the verb registers a model (`new`: it is made)."""
    if not getattr(args, 'models', None): return ModelStore(args.settings.models)
    from pathlib import Path
    if not new and not Path(args.models).is_dir():
        raise ModelError(f'--models {args.models}: no such folder (a model store is made by `train-tabular`, '
                         '`train-image` or `import` with --models).')
    return ModelStore(args.models)


def log_of(args, source: str = 'cli'):
    "The prediction log of `--log`, else the settings' (`$FASTAI_APPS_LOG`), writing as `source`."
    from predictors.monitoring.log import PredictionLog
    return PredictionLog(getattr(args, 'log', None) or args.settings.log, source=source)


def models_of(args, logged: bool = True):
    "The models of the store in this process, logging to the log (`logged`), with the process's settings."
    from predictors.service.local import LocalModels
    return LocalModels(store_of(args), log_of(args) if logged else None, source='cli', settings=args.settings)


def csv_list(v):
    "'a, b,c' as ['a', 'b', 'c']; None for nothing."
    return [c.strip() for c in v.split(',') if c.strip()] if v else None


def add_log(p, what: str = 'prediction log') -> None:
    "The `--log` option."
    p.add_argument('--log', help=f'{what}: a SQLite file or a SQLAlchemy URL (default: $FASTAI_APPS_LOG or logs/predictions.db)')


def read_since(text):
    "A time given as 24h, 7d, 30m or ISO as a Unix time (None: all), or `ModelError` saying how to write it."
    try: return parse_since(text)
    except ValueError as e: raise ModelError(str(e)) from None


def registered(args, version: str) -> None:
    print(f'registered {args.name} {version}' + (' (not active)' if args.no_activate else ''))

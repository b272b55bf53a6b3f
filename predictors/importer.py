"""Registering a learner exported elsewhere (`learn.export()` in someone's notebook)."""
from __future__ import annotations

from pathlib import Path

from .kinds import detect_kind
from .store import ModelError, ModelStore, load_learner_file

__all__ = ['import_learner']


def import_learner(path, name: str, csv=None, store: ModelStore | None = None, activate: bool = True) -> str:
    """Register the exported learner at `path` as a new version of `name`.

    The schema comes from the learner itself; ranges, defaults and reference statistics need
    its training data, taken from `csv` when given, else marked unknown in the card.
    """
    from .train import library_versions
    store = store or ModelStore()
    path = Path(path)
    if not path.is_file(): raise ModelError(f'no file at {path}.')
    learn = load_learner_file(path)
    k = detect_kind(learn)
    df = None
    if csv is not None and k.task == 'tabular':
        from .tabular import read_csv_checked
        df = read_csv_checked(csv)
    card = dict(task=k.task, classes=[str(c) for c in learn.dls.vocab], library=library_versions(),
                data_source=dict(imported_from=str(path), csv=str(csv) if csv else None), **k.card_fields(learn, df))
    return store.register(name, path, card, activate=activate)

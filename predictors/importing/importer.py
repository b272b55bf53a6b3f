"""Registering a learner exported elsewhere (`learn.export()` in someone's notebook).

fastai 2.8 exports are registered as they are. Exports of fastai 2.0–2.7 (which fastai 2.8
cannot load) are rebuilt as fastai 2.8 learners first (`predictors.convert`), and the card says so.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from predictors.kinds import detect_kind
from predictors.importing.convert import read_learner
from predictors.core.store import ModelError, ModelStore
from predictors.kinds.training import library_versions

__all__ = ['import_learner']


def import_learner(path, name: str, csv=None, store: ModelStore | None = None, activate: bool = True,
                   options: dict | None = None, code=()) -> str:
    """Register the exported learner at `path` as a new version of `name`.

    The schema comes from the learner itself; ranges, defaults and reference statistics need
    its training data, taken from `csv` when given, else marked unknown in the card.
    """
    store = store or ModelStore()
    path = Path(path)
    if not path.is_file(): raise ModelError(f'no file at {path}.')
    learn, converted = read_learner(path, code)
    card = dict(detect_kind(learn).card(learn, csv, options), library=library_versions(),
                data_source=dict(imported_from=str(path), csv=str(csv) if csv else None))
    if converted is None and not code: return store.register(name, path, card, activate=activate)
    if converted is None:          # exported again, so the pickle names the code's module instead of `__main__`
        with tempfile.TemporaryDirectory() as d:
            learn.export(Path(d) / 'model.pkl')
            return store.register(name, Path(d) / 'model.pkl', card, activate=activate, code=code)
    card.update(converted.card_fields(path))
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / 'model.pkl'
        converted.learn.export(out)
        return store.register(name, out, card, activate=activate, code=code)

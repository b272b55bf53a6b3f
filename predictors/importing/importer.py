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
    k = detect_kind(learn)
    df = k.training_frame(csv) if csv is not None else None
    card = dict(k.card(learn, df, options), library=library_versions(),
                data_source=dict(imported_from=str(path), csv=str(csv) if csv else None))
    if converted is not None: card.update(converted.card_fields(path))
    with tempfile.TemporaryDirectory() as d:
        files = k.data_files(learn, df, Path(d))
        if converted is None and not code: return store.register(name, path, card, activate=activate, files=files)
        # exported again: the pickle then names the code's module instead of `__main__`, or is the rebuilt learner
        out = Path(d) / 'model.pkl'
        (learn if converted is None else converted.learn).export(out)
        return store.register(name, out, card, activate=activate, code=code, files=files)

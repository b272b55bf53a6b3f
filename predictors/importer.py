"""Registering a learner exported elsewhere (`learn.export()` in someone's notebook)."""
from __future__ import annotations

from pathlib import Path

from .predictor import learner_task
from .schema import image_schema, reference_stats, tabular_schema
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
    task = learner_task(learn)
    classes = [str(c) for c in learn.dls.vocab]
    card = dict(task=task, classes=classes, metrics={}, library=library_versions(),
                data_source=dict(imported_from=str(path), csv=str(csv) if csv else None))
    if task == 'tabular':
        df = None
        if csv is not None:
            from .tabular import read_csv_checked
            df = read_csv_checked(csv)
        schema = tabular_schema(learn, df)
        card.update(target=schema['target'], schema=schema,
                    reference=reference_stats(df, schema) if df is not None else None)
        if df is not None and schema['target'] in df.columns:
            from .tabular import TabularPredictor
            res = TabularPredictor(learn, dict(schema=schema)).predict_frame(df)
            ok = [i for i in range(len(res)) if i not in res.errors]
            pred = [classes[int(res.probs[i].argmax())] for i in ok]
            truth = df[schema['target']].astype(str).to_numpy()[ok]
            card['metrics'] = dict(accuracy_on_csv=round(float((truth == pred).mean()), 5), csv_rows=len(ok),
                                   note='measured on the given CSV, which may include training rows')
    else:
        card.update(target='label', schema=image_schema(learn), reference=None)
    return store.register(name, path, card, activate=activate)

"""What the kinds of table rows share (the tabular classifier and the regression): recognising a learner of a
`TabularPandas`, the schema and reference statistics (`schema`), the checked, batched predictor (`predictor`) and
the Shapley explainer (`explain`). Not a kind itself: a kind's package composes these."""
from __future__ import annotations

from predictors.core.errors import ModelError

__all__ = ['is_table_learner', 'has_vocab', 'table_references', 'default_answer']


def has_vocab(learn) -> bool:
    "Whether a learner answers with classes (a vocab of two or more)."
    try:
        return len(learn.dls.vocab) > 1
    except (AttributeError, TypeError):
        return False


def is_table_learner(learn) -> bool:
    "Whether a learner reads the rows of a table (its training data is a `TabularPandas`: procs and categorical columns)."
    ds = getattr(getattr(learn, 'dls', None), 'train_ds', None)
    return hasattr(ds, 'procs') and hasattr(ds, 'cat_names')


def table_references(card: dict) -> dict:
    "{column: (its training statistics, 'continuous' or 'categorical')} from the card's reference, for drift."
    return {c: (r, r['kind']) for c, r in ((card.get('reference') or {}).get('columns') or {}).items()}


def default_answer(pred):
    "The answer for the form's default input (every field at its default), or `ModelError` with the reason."
    p = pred.predict_one({c['name']: c.get('default') for c in pred.inputs})
    if not p.ok: raise ModelError(p.error)
    return p

"""Live performance of a multi-label model from the label sets people gave: micro F1 against the card's, the share
of pictures whose every label was right, and each label's precision and recall.

*below the card* when a one-sided bootstrap over the labelled pictures (2,000 resamples, seeded) puts the card's
F1 above what the live answers reach at `alpha` (the share of resamples with an F1 at least the card's is the
p-value); *not enough labels* below `min_labels`; else *ok*.
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd

from predictors.core.helpers import per_class
from predictors.core.results import class_label, label_set
from predictors.kinds.base import PerformanceSettings

__all__ = ['label_performance', 'micro_f1', 'per_label']


def per_label(said: np.ndarray, truth: np.ndarray, classes: list) -> list[dict]:
    "Per label (a column of two boolean matrices, pictures × labels): support, predicted count, precision and recall."
    return [dict(cls=c, **per_class(True, truth[:, j], said[:, j])) for j, c in enumerate(classes)]


def micro_f1(said: np.ndarray, truth: np.ndarray) -> float | None:
    "F1 over every (picture, label) pair of two boolean matrices; None when neither names any label."
    tp, n = (said & truth).sum(), said.sum() + truth.sum()
    return float(2 * tp / n) if n else None


def _matrix(sets, classes) -> np.ndarray:
    return np.array([[c in s for c in classes] for s in sets], dtype=bool).reshape(len(sets), len(classes))


def _p_value(said, truth, card_f1: float, seed: int = 0, rounds: int = 2000) -> float:
    "The share of bootstrap resamples of the pictures whose micro F1 is at least `card_f1` (one-sided)."
    rng = np.random.default_rng(seed)
    n, hits = len(said), 0
    for _ in range(rounds):
        i = rng.integers(0, n, n)
        f = micro_f1(said[i], truth[i])
        hits += f is None or f >= card_f1
    return hits / rounds


def label_performance(labelled: pd.DataFrame, card: dict, settings: PerformanceSettings) -> dict:
    """The live performance of `card`'s multi-label model from `labelled` (columns `ts`, `prediction`, `truth`: the
    label sets as logged, one row per labelled answer)."""
    classes = [str(c) for c in card.get('classes') or []]
    pred, truth = [label_set(p) for p in labelled['prediction']], [label_set(t) for t in labelled['truth']]
    classes += sorted({c for s in truth for c in s} - set(classes))
    said, right = _matrix(pred, classes), _matrix(truth, classes)
    n, card_f1 = len(labelled), (card.get('metrics') or {}).get('f1')
    f1 = micro_f1(said, right) if n else None
    p = _p_value(said, right, float(card_f1)) if n and card_f1 is not None else None
    if n < settings.min_labels: verdict = 'not enough labels'
    elif card_f1 is None: verdict = 'no F1 on the card'
    else: verdict = 'below the card' if p < settings.alpha else 'ok'
    days = pd.to_datetime(labelled['ts'], unit='s', utc=True).dt.strftime('%Y-%m-%d').to_numpy() if n else []
    by_day = [dict(day=d, n=int((days == d).sum()), f1=micro_f1(said[days == d], right[days == d]))
              for d in sorted(set(days))]
    return dict(model=card.get('name'), version=card.get('version'), measure='labels', labelled=n, f1=f1,
                card_f1=card_f1, exact=float((said == right).all(1).mean()) if n else None,
                card_exact=(card.get('metrics') or {}).get('exact_match'), p_value=p, verdict=verdict,
                settings=asdict(settings), classes=classes, names={c: class_label(card, c) for c in classes},
                per_label=per_label(said, right, classes), by_day=by_day)

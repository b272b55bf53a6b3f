"""What the classifier kinds share: live accuracy of labelled answers against the card's (a one-sided
exact binomial test), per-class precision and recall, the confusion matrix, and McNemar's exact test for
two versions answering the same inputs.

*below the card* when the test rejects "the accuracy is at least the card's held-out accuracy"
(p < `alpha`), *not enough labels* below `min_labels`, else *ok*.
"""
from __future__ import annotations

from dataclasses import asdict

import pandas as pd

from predictors.core.helpers import per_class as class_stats
from predictors.core.results import class_label
from predictors.kinds.base import ModelKind, PerformanceSettings

__all__ = ['ClassifierKind', 'class_performance', 'mcnemar', 'paired_verdict', 'per_class_pair']


class ClassifierKind(ModelKind):
    "A kind whose answers are classes: feedback is scored by accuracy."

    def performance(self, labelled, card, settings):
        return class_performance(labelled, card, settings)

    def answer_columns(self, card):
        return ['prediction'] + [f'probability_{c}' for c in card.get('classes') or []] + ['problem']

    def prediction_reference(self, card):
        dist = (card.get('reference') or {}).get('valid_pred_dist')
        return (dict(props=dist), 'categorical') if dist else None

    def check_truth(self, card, truth):
        classes = [str(c) for c in card.get('classes') or []]
        if str(truth) in classes: return None
        return f'{truth!r} is not one of the classes of {card.get("name")} ({", ".join(classes)})'


def class_performance(labelled: pd.DataFrame, card: dict, settings: PerformanceSettings) -> dict:
    """The live performance of `card`'s model from `labelled` (columns `ts`, `prediction`, `truth`:
    one row per labelled prediction, as `PredictionLog.labelled` reads them)."""
    from scipy.stats import binomtest
    classes = [str(c) for c in card.get('classes') or []]
    pred, truth = labelled['prediction'].astype(str), labelled['truth'].astype(str)
    n, correct = len(labelled), int((pred == truth).sum())
    acc = correct / n if n else None
    card_acc = (card.get('metrics') or {}).get('accuracy')
    p = float(binomtest(correct, n, float(card_acc), alternative='less').pvalue) if n and card_acc is not None else None
    if n < settings.min_labels: verdict = 'not enough labels'
    elif card_acc is None: verdict = 'no accuracy on the card'
    else: verdict = 'below the card' if p < settings.alpha else 'ok'
    labels = classes + sorted(set(truth) - set(classes))
    per_class = [dict(cls=c, **class_stats(c, truth, pred)) for c in labels]
    confusion = [[int(((truth == t) & (pred == q)).sum()) for q in labels] for t in labels]
    days = pd.to_datetime(labelled['ts'], unit='s', utc=True).dt.strftime('%Y-%m-%d') if n else pd.Series(dtype=str)
    by_day = [dict(day=d, n=int(len(g)), accuracy=float((g['prediction'].astype(str) == g['truth'].astype(str)).mean()))
              for d, g in labelled.groupby(days.to_numpy())] if n else []
    return dict(model=card.get('name'), version=card.get('version'), labelled=n, correct=correct, accuracy=acc,
                card_accuracy=card_acc, p_value=p, verdict=verdict, settings=asdict(settings), classes=labels,
                names={c: class_label(card, c) for c in labels},
                per_class=per_class, confusion=confusion, by_day=by_day)


def mcnemar(a_only: int, b_only: int) -> dict:
    """McNemar's exact test from the discordant pairs: `a_only` rows only A got right, `b_only` only B.
    Under "equally accurate" each discordant row is a fair coin: p (two-sided), and one-sided p that B
    is worse (`p_b_worse`) or better (`p_b_better`)."""
    from scipy.stats import binom
    n = a_only + b_only
    if n == 0: return dict(a_only=0, b_only=0, p=1.0, p_b_worse=1.0, p_b_better=1.0)
    worse = float(binom.sf(a_only - 1, n, 0.5))        # P(X ≥ a_only)
    better = float(binom.sf(b_only - 1, n, 0.5))       # P(X ≥ b_only)
    return dict(a_only=a_only, b_only=b_only, p=min(1.0, 2 * min(worse, better)), p_b_worse=worse, p_b_better=better)


def paired_verdict(test: dict, alpha: float) -> str:
    "'B is worse', 'B is better' or 'no significant difference' from a `mcnemar` test."
    if test['p_b_worse'] < alpha: return 'B is worse'
    if test['p_b_better'] < alpha: return 'B is better'
    return 'no significant difference'


def per_class_pair(classes, truth, a, b) -> list[dict]:
    "Per class: support, and precision and recall of the predictions `a` and of `b`."
    out = []
    for c in classes:
        sa, sb = class_stats(c, truth, a), class_stats(c, truth, b)
        out.append(dict(cls=c, support=sa['support'], precision_a=sa['precision'], recall_a=sa['recall'],
                        precision_b=sb['precision'], recall_b=sb['recall']))
    return out

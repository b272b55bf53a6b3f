"""What the classifier kinds share: live accuracy of labelled answers against the card's (a one-sided
exact binomial test), per-class precision and recall, the confusion matrix, and McNemar's exact test for
two versions answering the same inputs (`compare_classes` on labelled rows, `shadow_classes` from the log).

*below the card* when the test rejects "the accuracy is at least the card's held-out accuracy"
(p < `alpha`), *not enough labels* below `min_labels`, else *ok*.
"""
from __future__ import annotations

from dataclasses import asdict

from predictors.core.helpers import labels_of, per_class as class_stats
from predictors.core.results import class_label
from predictors.kinds.answers import CLASSES
from predictors.kinds.base import ModelKind, PerformanceSettings

__all__ = ['ClassifierKind', 'class_performance', 'mcnemar', 'paired_verdict', 'per_class_pair', 'compare_classes',
           'shadow_classes']


class ClassifierKind(ModelKind):
    "A kind whose answers are classes: feedback is scored by accuracy, a shadow by agreement and McNemar's test."
    answer = CLASSES

    def performance(self, labelled, card, settings):
        return class_performance(labelled, card, settings)

    def shadow(self, pairs, alpha=0.05):
        return shadow_classes(pairs, alpha)

    def prediction_reference(self, card):
        dist = (card.get('reference') or {}).get('valid_pred_dist')
        return (dict(props=dist), 'categorical') if dist else None

    def check_truth(self, card, truth):
        classes = [str(c) for c in card.get('classes') or []]
        if str(truth) in classes: return None
        return f'{truth!r} is not one of the classes of {card.get("name")} ({", ".join(classes)})'


def class_performance(labelled, card: dict, settings: PerformanceSettings) -> dict:
    """The live performance of `card`'s model from `labelled` (columns `ts`, `prediction`, `truth`:
    one row per labelled prediction, as `PredictionLog.labelled` reads them)."""
    import pandas as pd
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
    return dict(measure='accuracy', model=card.get('name'), version=card.get('version'), labelled=n, correct=correct,
                accuracy=acc,
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


def compare_classes(pred_a, pred_b, df, alpha: float = 0.05) -> dict:
    """Two versions of a classifier of rows on the labelled rows of `df` (the true class in `truth` or the target
    column): rows either version cannot score, or without a label, are left out and counted."""
    import numpy as np
    from predictors.kinds.tables.schema import schema_changes, truth_column
    ca, cb = pred_a.card, pred_b.card
    name, a, b = ca.get('name'), ca.get('version'), cb.get('version')
    tcol = truth_column(ca, df.columns, 'the true class')
    df = df.reset_index(drop=True)
    ra, rb = pred_a.predict_frame(df), pred_b.predict_frame(df)
    truth = df[tcol].astype(str).str.strip().to_numpy(object)
    labelled = df[tcol].notna().to_numpy() & (truth != '')
    ok = labelled.copy(); ok[list(set(ra.errors) | set(rb.errors))] = False
    pick = lambda r: labels_of(r.classes, r.probs)
    strip = np.vectorize(lambda s: str(s).strip(), otypes=[object])
    pa, pb, t = strip(pick(ra)[ok]), strip(pick(rb)[ok]), truth[ok]
    right_a, right_b = pa == t, pb == t
    test = mcnemar(int((right_a & ~right_b).sum()), int((~right_a & right_b).sum()))
    classes = sorted(set(map(str, ca.get('classes') or [])) | set(map(str, cb.get('classes') or [])))
    return dict(measure='accuracy', model=name, a=a, b=b, rows=len(df), compared=int(ok.sum()),
                unlabelled=int((~labelled).sum()), unscored=int((labelled & ~ok).sum()),
                accuracy_a=float(right_a.mean()) if ok.any() else None,
                accuracy_b=float(right_b.mean()) if ok.any() else None,
                agreement=float((pa == pb).mean()) if ok.any() else None, mcnemar=test,
                verdict=paired_verdict(test, alpha) if ok.any() else 'nothing to compare', alpha=alpha,
                per_class=per_class_pair([c.strip() for c in classes], t, pa, pb), **schema_changes(ca, cb))


def shadow_classes(pairs, alpha: float = 0.05) -> dict:
    """From `PredictionLog.shadow_pairs`: how often the shadow agrees with the answers shown and, on the labelled
    ones, the accuracy of both with McNemar's test (A: shown, B: shadow)."""
    n = len(pairs)
    shown, shadow = (pairs[c].astype(str).str.strip() for c in ('prediction', 'shadow_prediction'))
    lab = pairs['truth'].notna()
    t = pairs.loc[lab, 'truth'].astype(str).str.strip()
    right_a, right_b = (shown[lab] == t), (shadow[lab] == t)
    test = mcnemar(int((right_a & ~right_b).sum()), int((~right_a & right_b).sum()))
    return dict(measure='accuracy', answers=n, agreement=float((shown == shadow).mean()) if n else None,
                labelled=int(lab.sum()), accuracy_shown=float(right_a.mean()) if lab.any() else None,
                accuracy_shadow=float(right_b.mean()) if lab.any() else None, mcnemar=test,
                verdict=paired_verdict(test, alpha).replace('B', 'the shadow') if lab.any() else 'no labels yet',
                versions=sorted(set(pairs['version'])), shadow_versions=sorted(set(pairs['shadow_version'])))

"""Two versions of a model side by side: before one replaces the other, and while one runs in the other's shadow.

`compare_versions` scores the same labelled rows with both: accuracy of each, McNemar's exact test
on the rows where exactly one of them is right (a paired test: both saw the same rows), how often
they agree, per-class precision and recall, and which input columns the schema added or removed.
`shadow_report` does the same from the prediction log: the answers shown beside the shadow
version's answers to the same inputs, and where people labelled them, the accuracy of both.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from predictors.core.helpers import figure, p_value as _p, pct as _pct
from predictors.core.store import ModelError
from predictors.kinds import kind
from predictors.kinds.classifier import mcnemar, paired_verdict

__all__ = ['compare_versions', 'compare_text', 'shadow_report', 'shadow_text']


def compare_versions(store, name: str, a: str, b: str, df: pd.DataFrame, alpha: float = 0.05) -> dict:
    """Versions `a` and `b` of a model on the labelled rows of `df`, as the model's kind compares them
    (the true answer in `truth` or the target column)."""
    ca, cb = store.card(name, a), store.card(name, b)
    if ca.get('task') != cb.get('task'):
        raise ModelError(f'{name} {a} is a {ca.get("task")} model and {b} a {cb.get("task")} model: they answer '
                         'differently and cannot be compared.')
    k = kind(ca.get('task'))
    if k.takes == 'images': raise ModelError('compare works on labelled CSV rows: both versions must be tabular or text models.')
    pa, pb = (k.predictor(store.load_learner(name, card['version']), card) for card in (ca, cb))
    return k.compare(pa, pb, df, alpha)


def _heading(r: dict) -> str:
    return (f'{r["model"]} {r["a"]} (A) vs {r["b"]} (B) on {r["compared"]} labelled row(s)'
            + (f' ({r["unscored"]} left out: a version could not score them; {r["unlabelled"]} without a label)'
               if r['unscored'] or r['unlabelled'] else ''))


def _schema_lines(r: dict) -> list[str]:
    lines = [f'  schema     columns added: {", ".join(r["columns_added"]) or "none"}; '
             f'removed: {", ".join(r["columns_removed"]) or "none"}']
    for col, vals in r['values_added'].items():
        lines.append(f'             {col}: new value(s) {", ".join(v.strip() for v in vals[:10])}'
                     + (f' … ({len(vals)})' if len(vals) > 10 else ''))
    return lines


def _errors_text(r: dict) -> str:
    "A regression's comparison as lines for a terminal."
    w, num = r['wilcoxon'], figure
    units = f' {r["units"]}' if r.get('units') else ''
    return '\n'.join([_heading(r),
                      f'  MAE        A {num(r["mae_a"])}{units}   B {num(r["mae_b"])}{units}',
                      f'  RMSE       A {num(r["rmse_a"])}   B {num(r["rmse_b"])}      R²  A {num(r["r2_a"])}   B {num(r["r2_b"])}',
                      f'  Wilcoxon   paired absolute errors on {w["rows"]} row(s) where they differ: p = {_p(w["p"])} '
                      f'(two-sided); B worse p = {_p(w["p_b_worse"])}, B better p = {_p(w["p_b_better"])}',
                      f'  verdict    {r["verdict"]} (alpha {r["alpha"]})', *_schema_lines(r)])


def compare_text(r: dict) -> str:
    "The comparison as lines for a terminal."
    if r.get('measure') == 'error': return _errors_text(r)
    m = r['mcnemar']
    lines = [_heading(r),
             f'  accuracy   A {_pct(r["accuracy_a"])}   B {_pct(r["accuracy_b"])}   agreement {_pct(r["agreement"])}',
             f'  McNemar    only A right {m["a_only"]}, only B right {m["b_only"]}: p = {_p(m["p"])} (two-sided); '
             f'B worse p = {_p(m["p_b_worse"])}, B better p = {_p(m["p_b_better"])}',
             f'  verdict    {r["verdict"]} (alpha {r["alpha"]})',
             f'  {"class":<22} {"labelled":>8} {"recall A":>9} {"recall B":>9} {"prec. A":>8} {"prec. B":>8}']
    lines += [f'  {c["cls"]:<22} {c["support"]:>8} {_pct(c["recall_a"]):>9} {_pct(c["recall_b"]):>9} '
              f'{_pct(c["precision_a"]):>8} {_pct(c["precision_b"]):>8}' for c in r['per_class']]
    return '\n'.join(lines + _schema_lines(r))


def shadow_report(pairs: pd.DataFrame, alpha: float = 0.05, card: dict | None = None) -> dict:
    """From `PredictionLog.shadow_pairs`: how often the shadow agrees with the answers shown and, on
    the labelled ones, the accuracy of both with McNemar's test (A: shown, B: shadow); for a regression
    (`card`), how far its numbers are from those shown and the MAE of both with Wilcoxon's test."""
    if card is not None and card.get('task') == 'regression': return _shadow_numbers(pairs, alpha)
    n = len(pairs)
    shown, shadow = (pairs[c].astype(str).str.strip() for c in ('prediction', 'shadow_prediction'))
    lab = pairs['truth'].notna()
    t = pairs.loc[lab, 'truth'].astype(str).str.strip()
    right_a, right_b = (shown[lab] == t), (shadow[lab] == t)
    test = mcnemar(int((right_a & ~right_b).sum()), int((~right_a & right_b).sum()))
    return dict(answers=n, agreement=float((shown == shadow).mean()) if n else None, labelled=int(lab.sum()),
                accuracy_shown=float(right_a.mean()) if lab.any() else None,
                accuracy_shadow=float(right_b.mean()) if lab.any() else None, mcnemar=test,
                verdict=paired_verdict(test, alpha).replace('B', 'the shadow') if lab.any() else 'no labels yet',
                versions=sorted(set(pairs['version'])), shadow_versions=sorted(set(pairs['shadow_version'])))


def _shadow_numbers(pairs: pd.DataFrame, alpha: float) -> dict:
    "`shadow_report` of a regression."
    from predictors.kinds.regression.stats import paired_verdict_errors, wilcoxon
    num = lambda c: pd.to_numeric(pairs[c], errors='coerce').to_numpy(float)
    shown, shadow, truth = num('prediction'), num('shadow_prediction'), num('truth')
    both = np.isfinite(shown) & np.isfinite(shadow)
    lab = both & np.isfinite(truth)
    ea, eb = np.abs(truth[lab] - shown[lab]), np.abs(truth[lab] - shadow[lab])
    test = wilcoxon(ea, eb)
    return dict(measure='error', answers=len(pairs), labelled=int(lab.sum()),
                mean_difference=float(np.abs(shown[both] - shadow[both]).mean()) if both.any() else None,
                mae_shown=float(ea.mean()) if lab.any() else None, mae_shadow=float(eb.mean()) if lab.any() else None,
                wilcoxon=test, verdict=paired_verdict_errors(test, alpha).replace('B', 'the shadow') if lab.any()
                else 'no labels yet', versions=sorted(set(pairs['version'])),
                shadow_versions=sorted(set(pairs['shadow_version'])))


def shadow_text(r: dict) -> str:
    v = ', '.join(r['shadow_versions']) or '?'
    if r.get('measure') == 'error':
        num = figure
        out = f'shadow {v}: {num(r["mean_difference"])} away from the answers shown on average, over {r["answers"]} answer(s)'
        if r['labelled']:
            out += (f'; on {r["labelled"]} labelled: MAE shown {num(r["mae_shown"])}, shadow {num(r["mae_shadow"])} '
                    f'(Wilcoxon p = {_p(r["wilcoxon"]["p"])}: {r["verdict"]})')
        return out
    out = (f'shadow {v}: agrees with the answers shown on {_pct(r["agreement"])} of {r["answers"]} answer(s)')
    if r['labelled']:
        out += (f'; on {r["labelled"]} labelled: shown {_pct(r["accuracy_shown"])}, shadow {_pct(r["accuracy_shadow"])} '
                f'(McNemar p = {_p(r["mcnemar"]["p"])}: {r["verdict"]})')
    return out

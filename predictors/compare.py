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

__all__ = ['mcnemar', 'compare_versions', 'compare_text', 'shadow_report', 'shadow_text']


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


def _verdict(test: dict, alpha: float) -> str:
    if test['p_b_worse'] < alpha: return 'B is worse'
    if test['p_b_better'] < alpha: return 'B is better'
    return 'no significant difference'


def _per_class(classes, truth, a, b) -> list[dict]:
    out = []
    for c in classes:
        was = truth == c
        row = dict(cls=c, support=int(was.sum()))
        for key, pred in (('a', a), ('b', b)):
            said = pred == c
            tp = int((said & was).sum())
            row[f'precision_{key}'] = tp / int(said.sum()) if said.any() else None
            row[f'recall_{key}'] = tp / int(was.sum()) if was.any() else None
        out.append(row)
    return out


def compare_versions(store, name: str, a: str, b: str, df: pd.DataFrame, alpha: float = 0.05) -> dict:
    """Versions `a` and `b` of a tabular model on the labelled rows of `df` (the true class in `truth`
    or the target column): rows either version cannot score, or without a label, are left out and counted."""
    from .predictor import load_predictor
    from .store import ModelError
    ca, cb = store.card(name, a), store.card(name, b)
    if 'tabular' not in (ca.get('task'), cb.get('task')) or ca.get('task') != cb.get('task'):
        raise ModelError('compare works on labelled CSV rows: both versions must be tabular models.')
    target = ca.get('target')
    tcol = 'truth' if 'truth' in df.columns else target if target in df.columns else None
    if tcol is None: raise ModelError(f'the CSV needs the true class in a column "truth" (or "{target}").')
    df = df.reset_index(drop=True)
    ra, rb = (load_predictor(name, v, store=store).predict_frame(df) for v in (a, b))
    truth = df[tcol].astype(str).str.strip().to_numpy(object)
    labelled = df[tcol].notna().to_numpy() & (truth != '')
    ok = labelled.copy(); ok[list(set(ra.errors) | set(rb.errors))] = False
    pick = lambda r: np.array(r.classes, dtype=object)[np.nan_to_num(r.probs, nan=-1).argmax(1)]
    strip = np.vectorize(lambda s: str(s).strip(), otypes=[object])
    pa, pb, t = strip(pick(ra)[ok]), strip(pick(rb)[ok]), truth[ok]
    right_a, right_b = pa == t, pb == t
    test = mcnemar(int((right_a & ~right_b).sum()), int((~right_a & right_b).sum()))
    inputs = lambda c: {x['name']: x for x in c['schema']['inputs']}
    ia, ib = inputs(ca), inputs(cb)
    new_values = {k: sorted(set(map(str, ib[k].get('values') or [])) - set(map(str, ia[k].get('values') or [])))
                  for k in ia.keys() & ib.keys() if ib[k].get('kind') == 'categorical'}
    classes = sorted(set(map(str, ca.get('classes') or [])) | set(map(str, cb.get('classes') or [])))
    return dict(model=name, a=a, b=b, rows=len(df), compared=int(ok.sum()), unlabelled=int((~labelled).sum()),
                unscored=int((labelled & ~ok).sum()),
                accuracy_a=float(right_a.mean()) if ok.any() else None,
                accuracy_b=float(right_b.mean()) if ok.any() else None,
                agreement=float((pa == pb).mean()) if ok.any() else None, mcnemar=test,
                verdict=_verdict(test, alpha) if ok.any() else 'nothing to compare', alpha=alpha,
                per_class=_per_class([c.strip() for c in classes], t, pa, pb),
                columns_added=sorted(ib.keys() - ia.keys()), columns_removed=sorted(ia.keys() - ib.keys()),
                values_added={k: v for k, v in sorted(new_values.items()) if v})


def _pct(x) -> str: return '–' if x is None else f'{x:.1%}'


def _p(p) -> str: return '< 0.0001' if p < 1e-4 else f'{p:.4f}'


def compare_text(r: dict) -> str:
    "The comparison as lines for a terminal."
    m = r['mcnemar']
    lines = [f'{r["model"]} {r["a"]} (A) vs {r["b"]} (B) on {r["compared"]} labelled row(s)'
             + (f' ({r["unscored"]} left out: a version could not score them; {r["unlabelled"]} without a label)'
                if r['unscored'] or r['unlabelled'] else ''),
             f'  accuracy   A {_pct(r["accuracy_a"])}   B {_pct(r["accuracy_b"])}   agreement {_pct(r["agreement"])}',
             f'  McNemar    only A right {m["a_only"]}, only B right {m["b_only"]}: p = {_p(m["p"])} (two-sided); '
             f'B worse p = {_p(m["p_b_worse"])}, B better p = {_p(m["p_b_better"])}',
             f'  verdict    {r["verdict"]} (alpha {r["alpha"]})',
             f'  {"class":<22} {"labelled":>8} {"recall A":>9} {"recall B":>9} {"prec. A":>8} {"prec. B":>8}']
    lines += [f'  {c["cls"]:<22} {c["support"]:>8} {_pct(c["recall_a"]):>9} {_pct(c["recall_b"]):>9} '
              f'{_pct(c["precision_a"]):>8} {_pct(c["precision_b"]):>8}' for c in r['per_class']]
    lines.append(f'  schema     columns added: {", ".join(r["columns_added"]) or "none"}; '
                 f'removed: {", ".join(r["columns_removed"]) or "none"}')
    for col, vals in r['values_added'].items():
        lines.append(f'             {col}: new value(s) {", ".join(v.strip() for v in vals[:10])}'
                     + (f' … ({len(vals)})' if len(vals) > 10 else ''))
    return '\n'.join(lines)


def shadow_report(pairs: pd.DataFrame, alpha: float = 0.05) -> dict:
    """From `PredictionLog.shadow_pairs`: how often the shadow agrees with the answers shown and, on
    the labelled ones, the accuracy of both with McNemar's test (A: shown, B: shadow)."""
    n = len(pairs)
    shown, shadow = (pairs[c].astype(str).str.strip() for c in ('prediction', 'shadow_prediction'))
    lab = pairs['truth'].notna()
    t = pairs.loc[lab, 'truth'].astype(str).str.strip()
    right_a, right_b = (shown[lab] == t), (shadow[lab] == t)
    test = mcnemar(int((right_a & ~right_b).sum()), int((~right_a & right_b).sum()))
    return dict(answers=n, agreement=float((shown == shadow).mean()) if n else None, labelled=int(lab.sum()),
                accuracy_shown=float(right_a.mean()) if lab.any() else None,
                accuracy_shadow=float(right_b.mean()) if lab.any() else None, mcnemar=test,
                verdict=_verdict(test, alpha).replace('B', 'the shadow') if lab.any() else 'no labels yet',
                versions=sorted(set(pairs['version'])), shadow_versions=sorted(set(pairs['shadow_version'])))


def shadow_text(r: dict) -> str:
    v = ', '.join(r['shadow_versions']) or '?'
    out = (f'shadow {v}: agrees with the answers shown on {_pct(r["agreement"])} of {r["answers"]} answer(s)')
    if r['labelled']:
        out += (f'; on {r["labelled"]} labelled: shown {_pct(r["accuracy_shown"])}, shadow {_pct(r["accuracy_shadow"])} '
                f'(McNemar p = {_p(r["mcnemar"]["p"])}: {r["verdict"]})')
    return out

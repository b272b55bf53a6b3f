"""Two versions of a model side by side: before one replaces the other, and while one runs in the other's shadow.

`compare_versions` scores the same labelled rows with both: accuracy of each, McNemar's exact test
on the rows where exactly one of them is right (a paired test: both saw the same rows), how often
they agree, per-class precision and recall, and which input columns the schema added or removed.
`shadow_report` does the same from the prediction log: the answers shown beside the shadow
version's answers to the same inputs, and where people labelled them, the accuracy of both.
"""
from __future__ import annotations

import pandas as pd

from predictors.core.helpers import figure, p_value as _p, pct as _pct
from predictors.core.store import ModelError
from predictors.kinds import kind
from predictors.kinds.classifier import shadow_classes
from predictors.monitoring.pages import shadow_text

__all__ = ['compare_versions', 'compare_text', 'shadow_report', 'shadow_text']


def compare_versions(store, name: str, a: str, b: str, df: pd.DataFrame, alpha: float = 0.05) -> dict:
    """Versions `a` and `b` of a model on the labelled rows of `df`, as the model's kind compares them
    (the true answer in `truth` or the target column)."""
    ca, cb = store.card(name, a), store.card(name, b)
    if ca.get('task') != cb.get('task'):
        raise ModelError(f'{name} {a} is a {ca.get("task")} model and {b} a {cb.get("task")} model: they answer '
                         'differently and cannot be compared.')
    k = kind(ca.get('task'))
    pa, pb = (k.predictor(store.load_learner(name, card['version']), card, None, store.files(name, card['version']))
              for card in (ca, cb))
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
    "The comparison as lines for a terminal, as its `measure` is read."
    return _COMPARE_TEXT[r.get('measure', 'accuracy')](r)


def _accuracy_text(r: dict) -> str:
    "A classifier's comparison as lines for a terminal."
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
    """From `PredictionLog.shadow_pairs`: the answers shown beside the shadow version's, as the model's kind (`card`)
    judges them: how often they agree and, on the labelled ones, the score of both with a paired test (A: shown, B:
    shadow). Without a card the answers are compared as classes."""
    return kind(card.get('task')).shadow(pairs, alpha) if card is not None else shadow_classes(pairs, alpha)


def _ranking_text(r: dict) -> str:
    "A recommender's comparison as lines for a terminal."
    num, m = figure, r['mcnemar']
    return '\n'.join([
        f'{r["model"]} {r["a"]} (A) vs {r["b"]} (B) on {r["rows"]} later rating(s) of {r["people"]} people both know',
        f'  RMSE       A {num(r["rmse_a"])}   B {num(r["rmse_b"])} on {r["compared"]} rating(s) both predict '
        f'(Wilcoxon p = {_p(r["wilcoxon"]["p"])})',
        f'  hit rate@10  A {_pct(r["hit_rate_a"])}   B {_pct(r["hit_rate_b"])}: only A hit {m["a_only"]}, only B hit '
        f'{m["b_only"]}, McNemar p = {_p(m["p"])}',
        f'  NDCG@10    A {num(r["ndcg_a"])}   B {num(r["ndcg_b"])} (Wilcoxon p = {_p(r["wilcoxon_ndcg"]["p"])})',
        f'  coverage   A {_pct(r["coverage_a"])}   B {_pct(r["coverage_b"])} of the catalogue in someone\'s top 10',
        f'  verdict    {r["verdict"]} (by hit rate; alpha {r["alpha"]})'])


def _perplexity_text(r: dict) -> str:
    "A language model's comparison as lines for a terminal."
    w = r['wilcoxon']
    return '\n'.join([
        f'{r["model"]} {r["a"]} (A) vs {r["b"]} (B) on {r["compared"]} held-out text(s)'
        + (f' ({r["unscored"]} left out: empty or unreadable)' if r['unscored'] else ''),
        f'  perplexity per word  A {figure(r["perplexity_a"])}   B {figure(r["perplexity_b"])} (lower is better)',
        f'  Wilcoxon   paired surprise per word on {w["rows"]} text(s) where they differ: p = {_p(w["p"])} (two-sided); '
        f'B worse p = {_p(w["p_b_worse"])}, B better p = {_p(w["p_b_better"])}',
        f'  verdict    {r["verdict"]} (alpha {r["alpha"]})'])


_COMPARE_TEXT = {'accuracy': _accuracy_text, 'error': _errors_text, 'ranking': _ranking_text,
                 'perplexity': _perplexity_text}   # one renderer per measure

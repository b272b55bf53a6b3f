"""How a language model is watched and compared: live, the share of continuations people kept among those they judged
(*keep this one* / *not useful*) and how many they judged; two versions on the same held-out texts by perplexity
(Wilcoxon's signed-rank test on each text's surprise per word, so versions with different vocabularies compare); a
shadow by how often its likeliest next word is the shown version's.
"""
from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np

from predictors.core.errors import ModelError
from predictors.core.written import KEPT
from predictors.kinds.numbers import paired_verdict_errors, wilcoxon

__all__ = ['kept_performance', 'compare_perplexity', 'shadow_next_words']


def kept_performance(labelled, card: dict, settings) -> dict:
    "The share of judged continuations kept, by day (`labelled`: `PredictionLog.labelled`); there is no card figure to fall below."
    import pandas as pd
    n = len(labelled)
    kept = int((labelled['truth'].astype(str) == KEPT).sum()) if n else 0
    days = pd.to_datetime(labelled['ts'], unit='s', utc=True).dt.strftime('%Y-%m-%d') if n else pd.Series(dtype=str)
    by_day = [dict(day=d, n=int(len(g)), kept=float((g['truth'].astype(str) == KEPT).mean()))
              for d, g in labelled.groupby(days.to_numpy())] if n else []
    verdict = 'not enough labels' if n < settings.min_labels else 'ok'
    return dict(measure='kept', model=card.get('name'), version=card.get('version'), labelled=n, kept=kept,
                kept_share=kept / n if n else None, verdict=verdict, settings=asdict(settings), by_day=by_day,
                card_perplexity=(card.get('metrics') or {}).get('perplexity'))


def _per_word(pred, texts) -> np.ndarray:
    "Each text's surprise (−log p of its tokens, summed) per whitespace word: comparable across vocabularies."
    out = []
    for t in texts:
        nll, n, _ = pred.surprise(t)
        words = len(str(t).split())
        out.append(nll / words if n and words else math.nan)
    return np.array(out)


def compare_perplexity(pred_a, pred_b, df, alpha: float = 0.05) -> dict:
    "Versions A and B on the texts of `df` (the model's text column): per-word perplexity of each and a paired test."
    col = pred_a.column
    if col not in df.columns: raise ModelError(f'the CSV has no column {col!r} (held-out texts to read).')
    texts = df[col].tolist()
    a, b = _per_word(pred_a, texts), _per_word(pred_b, texts)
    ok = np.isfinite(a) & np.isfinite(b)
    test = wilcoxon(a[ok], b[ok])
    ppl = lambda x: float(math.exp(x[ok].mean())) if ok.any() else None
    ca, cb = pred_a.card, pred_b.card
    return dict(measure='perplexity', model=ca.get('name'), a=ca.get('version'), b=cb.get('version'), rows=len(df),
                compared=int(ok.sum()), unscored=int((~ok).sum()), unlabelled=0, perplexity_a=ppl(a), perplexity_b=ppl(b),
                wilcoxon=test, alpha=alpha,
                verdict=paired_verdict_errors(test, alpha) if ok.any() else 'nothing to compare')


def shadow_next_words(pairs, alpha: float = 0.05) -> dict:
    "From `PredictionLog.shadow_pairs`: how often the shadow's continuation starts as the shown one does (its first word)."
    first = lambda s: s.astype(str).str.split().str[0]
    n = len(pairs)
    same = (first(pairs['prediction']) == first(pairs['shadow_prediction'])) if n else None
    return dict(measure='kept', answers=n, agreement=float(same.mean()) if n else None, labelled=0,
                versions=sorted(set(pairs['version'])), shadow_versions=sorted(set(pairs['shadow_version'])))

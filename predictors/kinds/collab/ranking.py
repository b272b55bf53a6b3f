"""Ranking items for people, and judging a ranking: hit rate and NDCG at N of the items people rated well later,
the catalogue's coverage, against the obvious rankings (popularity, the items' mean rating).

A recommendation ranks by the predicted rating plus a nudge towards what many people rated
(`score = rating + weight · log(1 + ratings of the item)`): by predicted rating alone a model names obscure items
with two generous ratings, which people rarely go on to watch. The weight is chosen on held-out ratings, one for
people the model knows and one for people folded in from a handful of ratings (`choose_weight`).
"""
from __future__ import annotations

import numpy as np

__all__ = ['rank_scores', 'top_n', 'top_n_each', 'judge', 'choose_weight', 'WEIGHTS', 'GOOD']

WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)    # the popularity weights tried
GOOD = 4.0                                                       # a rating that says "I liked it" (of 5)


def rank_scores(ratings: np.ndarray, counts: np.ndarray, weight: float) -> np.ndarray:
    "The ranking score of each item: its predicted rating nudged by how many people rated it (`weight`)."
    return ratings + weight * np.log1p(counts)


def top_n(scores: np.ndarray, exclude: np.ndarray | None, n: int) -> np.ndarray:
    "The indices of the `n` highest scores, best first, leaving out `exclude` (indices) and index 0 (#na#)."
    s = np.array(scores, dtype=float, copy=True)
    s[0] = -np.inf
    if exclude is not None and len(exclude): s[exclude] = -np.inf
    n = min(n, int(np.isfinite(s).sum()))
    if n <= 0: return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-s, n - 1)[:n]
    return part[np.argsort(-s[part], kind='stable')]


def top_n_each(scores: np.ndarray, exclude: list, n: int) -> np.ndarray:
    "`top_n` of each row of `scores` (people × items) at once, leaving out each person's `exclude`: people × n indices."
    s = np.array(scores, dtype=float, copy=True)
    s[:, 0] = -np.inf
    lens = [len(x) for x in exclude]
    if sum(lens): s[np.repeat(np.arange(len(s)), lens), np.concatenate([np.asarray(x, int) for x in exclude])] = -np.inf
    n = min(n, s.shape[1] - 1)
    part = np.argpartition(-s, n - 1, axis=1)[:, :n]
    order = np.argsort(-np.take_along_axis(s, part, 1), axis=1, kind='stable')
    return np.take_along_axis(part, order, 1)


def judge(tops: list, positives: list, n_items: int, n: int = 10) -> dict:
    """Hit rate and NDCG at `n` (of each person's `positives`: items they rated well later, among their ranked items
    `tops`), per person and on average, and the share of the catalogue anybody was shown (coverage)."""
    hits, ndcg, shown = [], [], set()
    for top, pos in zip(tops, positives):
        top = list(top[:n]); shown.update(top)
        pos = set(pos)
        gains = [1.0 / np.log2(r + 2) for r, i in enumerate(top) if i in pos]
        ideal = sum(1.0 / np.log2(r + 2) for r in range(min(len(pos), n)))
        hits.append(float(bool(gains))); ndcg.append(sum(gains) / ideal if ideal else 0.0)
    return dict(hit_rate=float(np.mean(hits)) if hits else None, ndcg=float(np.mean(ndcg)) if ndcg else None,
                coverage=len(shown) / max(1, n_items - 1), people=len(hits), per_person=dict(hits=hits, ndcg=ndcg))


def choose_weight(ratings_of, counts: np.ndarray, people: list, n: int = 10) -> tuple[float, dict]:
    """The popularity weight (of `WEIGHTS`) with the best hit rate at `n` on held-out ratings: `people` are
    (index, items to leave out, positives), `ratings_of(index)` gives every item's predicted rating for one of them."""
    rated = [(ratings_of(p), seen, pos) for p, seen, pos in people]
    tried = {}
    for w in WEIGHTS:
        tops = [top_n(rank_scores(r, counts, w), seen, n) for r, seen, _ in rated]
        tried[w] = judge(tops, [pos for _, _, pos in rated], len(counts), n)['hit_rate']
    best = max(tried, key=lambda w: (tried[w], -w))
    return best, tried

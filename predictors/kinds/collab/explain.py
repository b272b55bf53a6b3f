"""Why a recommender predicts a rating: for a dot-product model, the rating built up in three exact steps from an average
person and item (the item's own bias, the person's, then how their factors match: each step's change in the rating,
adding up to it), and for any model with item vectors the items the person liked that are nearest the one asked about.
"""
from __future__ import annotations

import numpy as np

from predictors.core.results import Explanation
from predictors.kinds.collab.predictor import NOTHING_RATED, liked

__all__ = ['CollabExplainer', 'TASTE']

TASTE = 'taste'       # the part of a rating from how a person's factors match an item's


class CollabExplainer:
    "Explanations of a `CollabPredictor`'s ratings, one per (user, item) record."

    def __init__(self, pred):
        self.pred = pred
        f = pred.f
        self.base = float(f.bu[1:].mean() + f.bi[1:].mean()) if f.mode == 'dot' else None

    def explain(self, records: list[dict]) -> list[Explanation]:
        p = self.pred
        res = p.predict_records(records)
        uu, ii, errors = p._index(records)
        return [Explanation(error=errors[k]) if k in errors else self._one(uu[k], ii[k], float(res.values[k]))
                for k in range(len(records))]

    def explain_frame(self, df) -> list[Explanation]:
        "One explanation per row of `df` (its user and item columns)."
        self.pred.require_columns(df.columns)
        return self.explain(df[[self.pred.user, self.pred.item]].astype(object)
                            .where(df[[self.pred.user, self.pred.item]].notna(), None).to_dict('records'))

    def _one(self, u: int, i: int, rating: float) -> Explanation:
        p, f = self.pred, self.pred.f
        related = [p.catalogue.title(p.item_ids[j]) for j in p.nearest(i, liked(*p.seen.get(u, NOTHING_RATED)), 3)]
        title = p.catalogue.title(p.item_ids[i])
        if f.mode != 'dot':
            return Explanation(target=p.rating, probability=rating, base=rating, contributions=[], measure='value',
                               method='a network: its rating does not split into parts', background='', related=related)
        g = lambda z: float(f._squash(np.array([z]))[0])
        steps = [self.base, self.base - f.bi[1:].mean() + f.bi[i], f.bu[u] + f.bi[i], f.bu[u] + f.bi[i] + f.U[u] @ f.V[i]]
        r0, r1, r2, r3 = map(g, steps)
        parts = [dict(field=p.item, value=title, contribution=r1 - r0),
                 dict(field=p.user, value=p.user_ids[u], contribution=r2 - r1),
                 dict(field=TASTE, value='how their factors match', contribution=r3 - r2)]
        return Explanation(target=p.rating, probability=r3, base=r0, measure='value', related=related,
                           contributions=sorted(parts, key=lambda c: -abs(c['contribution'])),
                           method='exact: a dot product (the biases, then the factors)',
                           background='an average person and item')

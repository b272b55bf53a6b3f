"""Two versions of a recommender on later ratings (a time slice neither trained on): RMSE of each on the ratings both
can predict (Wilcoxon's signed-rank test on the paired absolute errors), hit rate at 10 of the items each person rated
well (McNemar's exact test on the people only one version hit), NDCG at 10 (Wilcoxon on the paired values) and the
share of the catalogue each recommends.
"""
from __future__ import annotations

import numpy as np

from predictors.core.errors import ModelError
from predictors.kinds.classifier import mcnemar, paired_verdict
from predictors.kinds.collab.ranking import GOOD, judge, rank_scores, top_n
from predictors.kinds.numbers import wilcoxon

__all__ = ['compare_rankings']


def _ranked(pred, people: dict, n: int = 10):
    "Each person's top `n` (as item ids) and hits among their later good ratings, by one version."
    tops, pos = [], []
    for user, (items, ratings) in people.items():
        u = pred.users.get(user)
        seen = pred.seen.get(u, (np.zeros(0, int), None))[0]
        score = rank_scores(pred.scores(u), pred.counts, pred.weight)
        tops.append([pred.item_ids[i] for i in top_n(score, seen, n)])
        pos.append([i for i, r in zip(items, ratings) if r >= GOOD])
    return judge(tops, pos, len(pred.item_ids), n)


def compare_rankings(pred_a, pred_b, df, alpha: float = 0.05) -> dict:
    "See the module's docstring: `df` holds later ratings (the model's user, item and rating columns)."
    ca, cb = pred_a.card, pred_b.card
    cols = [pred_a.user, pred_a.item, pred_a.rating]
    missing = [c for c in cols if c not in df.columns]
    if missing: raise ModelError(f'the CSV lacks the column(s) {", ".join(missing)} (later ratings: user, item, rating).')
    df = df.dropna(subset=cols).reset_index(drop=True)
    records = df[cols[:2]].astype(str).to_dict('records')
    ra, rb = pred_a.predict_records(records), pred_b.predict_records(records)
    truth = df[cols[2]].astype(float).to_numpy()
    both = np.isfinite(ra.values) & np.isfinite(rb.values)
    ea, eb = np.abs(ra.values[both] - truth[both]), np.abs(rb.values[both] - truth[both])
    good = df[df[cols[2]].astype(float) >= GOOD]
    people = {str(u): (g[cols[1]].astype(str).tolist(), g[cols[2]].astype(float).tolist()) for u, g in df.groupby(cols[0])
              if str(u) in pred_a.users and str(u) in pred_b.users and str(u) in set(good[cols[0]].astype(str))}
    ja, jb = _ranked(pred_a, people), _ranked(pred_b, people)
    ha, hb = np.array(ja['per_person']['hits'], bool), np.array(jb['per_person']['hits'], bool)
    hits = mcnemar(int((ha & ~hb).sum()), int((~ha & hb).sum()))
    ndcg = wilcoxon(-np.array(ja['per_person']['ndcg']), -np.array(jb['per_person']['ndcg']))   # (larger is better)
    rmse = wilcoxon(ea, eb)
    verdict = paired_verdict(hits, alpha) if len(people) else 'nothing to compare'
    return dict(measure='ranking', model=ca.get('name'), a=ca.get('version'), b=cb.get('version'), rows=len(df),
                compared=int(both.sum()), unscored=int((~both).sum()), unlabelled=0, people=len(people),
                rmse_a=float(np.sqrt(np.mean(ea ** 2))) if len(ea) else None,
                rmse_b=float(np.sqrt(np.mean(eb ** 2))) if len(eb) else None, wilcoxon=rmse,
                hit_rate_a=ja['hit_rate'], hit_rate_b=jb['hit_rate'], mcnemar=hits, ndcg_a=ja['ndcg'], ndcg_b=jb['ndcg'],
                wilcoxon_ndcg=ndcg, coverage_a=ja['coverage'], coverage_b=jb['coverage'], alpha=alpha, verdict=verdict)

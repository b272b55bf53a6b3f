"""How fast a recommender's top 10 comes, for one person and for 1,000, against the ways fastai gives the same ratings.

The demo `movie_ratings` (8,699 items): ours (`CollabPredictor.recommend`: one matrix product for the person, the
ranking, leaving out what they rated) against looping fastai over the catalogue one item at a time (`learn.predict`
does not take a collab learner's row in fastai 2.8 — a TypeError in `Categorify` — so its own steps: a one-row
`test_dl` and `get_preds` per item; timed on 100 items and scaled to all of them) and against one batched
`learn.get_preds` of every (person, item) pair. For 1,000 people, ours (`CollabPredictor.recommend_each`, what the CLI's
`--users` and `/v2` serve: the ratings, the ranking and each top 10 in one float32 product per 128 people,
`Factors.top_each`; then each list's titles, ranges and *because you liked*) against the bare matrix product the
ratings are (`U @ V.T` plus the biases, through the sigmoid: the floor), the same with a plain `torch.topk` each, and
`get_preds`. Goals (#40): one person's list ≤ 20 ms; 1,000 people within 1.5× the bare products.

    .venv/bin/python benchmarks/recommend.py [--people 1000]
"""
import argparse
import time
import warnings
from pathlib import Path

from harness.timing import best

ROOT = Path(__file__).resolve().parent.parent
warnings.filterwarnings('ignore')



def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--people', type=int, default=1000)
    args = ap.parse_args()
    import numpy as np
    import pandas as pd
    import torch
    from predictors import ModelStore, load_predictor
    from predictors.kinds.collab.ranking import rank_scores
    torch.set_num_threads(1)
    pred = load_predictor('movie_ratings', ModelStore(ROOT / 'models'))
    learn, f, n = pred.learn, pred.f, len(pred.item_ids) - 1
    user, items = pred.user_ids[1], pred.item_ids[1:]
    ours = best(lambda: pred.recommend(user=user, top=10), 20)
    rows = pd.DataFrame({pred.user: [int(user)] * n, pred.item: [int(i) for i in items]})
    with learn.no_bar():
        t = time.perf_counter()
        for i in range(100): learn.get_preds(dl=learn.dls.test_dl(rows.iloc[i:i + 1]), reorder=False)   # predict's steps
        loop = (time.perf_counter() - t) / 100 * n
        batched = best(lambda: learn.get_preds(dl=learn.dls.test_dl(rows)), 2)
    print(f'one person, top 10 of {n:,} items (one thread)')
    print(f'  ours (recommend)                 {ours * 1000:9.2f} ms   (goal ≤ 20 ms)')
    print(f'  learn.get_preds, all items       {batched * 1000:9.2f} ms   {batched / ours:8.1f}x ours')
    print(f'  one item at a time (est.)        {loop * 1000:9.0f} ms   {loop / ours:8.0f}x ours')
    people = np.resize(np.arange(1, len(pred.user_ids)), args.people)        # (the demo knows 560: some twice)
    seen = [pred.seen.get(int(u), (np.zeros(0, int),))[0] for u in people]

    bonus = rank_scores(np.zeros(len(pred.counts)), pred.counts, pred.weight)

    def ours_many():
        return f.top_each(people, bonus, seen, 10)
    ids = [pred.user_ids[u] for u in people]
    lists = best(lambda: pred.recommend_each(ids, top=10), 5)
    U, V, bu, bi = (torch.from_numpy(a.astype(np.float32)) for a in (f.U, f.V, f.bu, f.bi))
    lo, hi = f.y_range

    def bare():               # the ratings alone, in the same float32 products, in place, 128 people at a time
        with torch.inference_mode():
            for s in range(0, len(people), 128):
                idx = torch.from_numpy(people[s:s + 128])
                torch.addmm(bi.expand(len(idx), -1), U[idx], V.T).add_(bu[idx, None]).sigmoid_().mul_(hi - lo).add_(lo)
    def bare_top():           # the same, and each one's top 10 by rating alone (what any list needs)
        with torch.inference_mode():
            for s in range(0, len(people), 128):
                idx = torch.from_numpy(people[s:s + 128])
                r = torch.addmm(bi.expand(len(idx), -1), U[idx], V.T).add_(bu[idx, None]).sigmoid_().mul_(hi - lo).add_(lo)
                torch.topk(r, 10, dim=1)
    many, floor, floor_top = best(ours_many, 15), best(bare, 15), best(bare_top, 15)
    pairs = pd.DataFrame({pred.user: np.repeat([int(pred.user_ids[u]) for u in people], n),
                          pred.item: np.tile([int(i) for i in items], len(people))})
    with learn.no_bar():
        fastai_many = best(lambda: learn.get_preds(dl=learn.dls.test_dl(pairs)), 1)
    print(f'{len(people):,} people, top 10 each')
    print(f'  ours (ratings, ranking, top 10)  {many * 1000:9.1f} ms  {many / floor:8.2f}x the bare products (goal ≤ 1.5x)')
    print(f'  ours, the lists as answered      {lists * 1000:9.1f} ms  {lists / floor:8.2f}x (titles, ranges, because you liked)')
    print(f'  bare matrix products (the floor) {floor * 1000:9.1f} ms')
    print(f'  the same and a top 10 each       {floor_top * 1000:9.1f} ms   ours: {many / floor_top:.2f}x (the ranking\'s nudge '
          f'and leaving out what each rated)')
    print(f'  learn.get_preds, every pair      {fastai_many:9.2f} s   {fastai_many / many:8.1f}x ours')


if __name__ == '__main__':
    main()

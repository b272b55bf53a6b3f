"""Training a recommender (collaborative filtering: fastai's `collab_learner`) reproducibly and registering it.

Judged on time, as it is used: each person's latest ratings are held out (`split_latest`), and people the model has
never seen are folded in from their first ten ratings. Three fits of the same recipe, seeded:
1. *choose*: on all but each person's latest 20 % (and without two groups of people), the ranking's popularity weight
   is chosen on the next 10 % for people it knows, and on one group, folded in, for new people (`ranking.choose_weight`);
2. *judge*: on all but each person's latest 10 % (without the same two groups), the card's figures: RMSE on the latest
   10 %, hit rate and NDCG at 10 of the items rated 4 or more, coverage; beside the popularity ranking and the items'
   mean rating on the same ratings; and for the other group, folded in from ten ratings, hit rate beside popularity;
3. *serve*: on every rating (the model registered).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from predictors.core.store import ModelError
from predictors.kinds.collab.items import FILE, items_info, read_items
from predictors.kinds.collab.model import read_model
from predictors.core.helpers import json_safe, number_reference
from predictors.kinds.collab.ranking import GOOD, choose_weight, judge, rank_scores, top_n
from predictors.kinds.numbers import error_bins
from predictors.kinds.training import library_versions, seed_everything

__all__ = ['read_ratings', 'split_latest', 'fit', 'train_collab', 'codes']


def read_ratings(csv, user: str, item: str, rating: str, when: str | None) -> pd.DataFrame:
    "The ratings of a CSV: the user, item, rating (a number) and time columns, checked; rows without a rating left out."
    try:
        df = pd.read_csv(csv)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise ModelError(f'cannot read the CSV {csv}: {e}') from None
    missing = [c for c in (user, item, rating, when) if c and c not in df.columns]
    if missing: raise ModelError(f'the CSV lacks the column(s) {", ".join(missing)} (it has {", ".join(df.columns)}).')
    df[rating] = pd.to_numeric(df[rating], errors='coerce')
    df = df.dropna(subset=[user, item, rating]).reset_index(drop=True)
    if len(df) < 100: raise ModelError(f'{len(df)} ratings: too few to learn from (100 at least).')
    return df


def split_latest(df: pd.DataFrame, user: str, when: str | None, share: float, least: int = 5):
    "(earlier rows, held-out rows): each person's latest `share` of ratings (people with fewer than `least`: none)."
    order = df.sort_values([user, when] if when else [user], kind='stable')
    pos = order.groupby(user).cumcount().to_numpy()
    size = order.groupby(user)[user].transform('size').to_numpy()
    held = (size >= least) & (pos >= size - np.ceil(size * share))
    return sorted(order.index[~held].tolist()), sorted(order.index[held].tolist())


def fit(df, cols, factors: int, epochs: int, lr: float, wd: float, use_nn: bool, y_range, seed: int, log=print):
    "A collab learner fitted on all of `df` (`cols`: user, item, rating)."
    from fastai.collab import TabularCollab, collab_learner
    from fastai.data.block import TransformBlock
    from fastai.tabular.core import Categorify
    seed_everything(seed)
    user, item, rating = cols
    df = df[[user, item, rating]].reset_index(drop=True).astype({rating: np.float32})
    rows = list(range(len(df)))
    to = TabularCollab(df, [Categorify], [user, item], y_names=[rating], y_block=TransformBlock(), splits=(rows, rows[:64]))
    dls = to.dataloaders(bs=1024, num_workers=0)
    learn = collab_learner(dls, n_factors=factors, use_nn=use_nn, y_range=y_range, layers=[factors] if use_nn else None)
    t0 = time.time()
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(epochs, lr, wd=wd)
    log(f'  fitted on {len(df):,} ratings in {time.time() - t0:.0f}s')
    return learn


def codes(learn) -> tuple[list, dict, dict]:
    "(user, item and rating column names, {user id: index}, {item id: index}) of a collab learner (index 0: #na#)."
    ds = learn.dls.train_ds
    user, item = ds.cat_names[0], ds.cat_names[1]
    o2i = lambda col: {v: i for i, v in enumerate(learn.dls.classes[col]) if i > 0}
    return [user, item, ds.y_names[0]], o2i(user), o2i(item)


def _people(df, cols, users_o2i, items_o2i):
    "{user index: (item indices, ratings)} of `df`'s rows whose user and item the model knows."
    u = df[cols[0]].map(users_o2i); i = df[cols[1]].map(items_o2i)
    ok = u.notna() & i.notna()
    out = {}
    for uu, g in pd.DataFrame(dict(u=u[ok].astype(int), i=i[ok].astype(int), r=df[cols[2]][ok])).groupby('u'):
        out[uu] = (g['i'].to_numpy(), g['r'].to_numpy(float))
    return out


def _known_people(f, seen: dict, later: dict, counts, weight: float, n: int = 10) -> dict:
    "Held-out figures of people the model knows: their later ratings (RMSE) and the items they later rated well (HR)."
    ids = [u for u in later if u in seen and (later[u][1] >= GOOD).any()]
    scores = f.user_scores(np.array(ids)) if ids else np.zeros((0, len(counts)))
    tops = [top_n(rank_scores(s, counts, weight), seen[u][0], n) for u, s in zip(ids, scores)]
    pos = [later[u][0][later[u][1] >= GOOD] for u in ids]
    uu = np.concatenate([np.full(len(later[u][0]), u) for u in later]) if later else np.zeros(0, int)
    ii = np.concatenate([later[u][0] for u in later]) if later else np.zeros(0, int)
    rr = np.concatenate([later[u][1] for u in later]) if later else np.zeros(0)
    pred = f.pairs(uu, ii)
    err = pred - rr
    return dict(judge(tops, pos, len(counts), n), rmse=float(np.sqrt(np.mean(err ** 2))) if len(err) else None,
                mae=float(np.mean(np.abs(err))) if len(err) else None, rated=int(len(err)),
                errors=dict(bins=error_bins(pred, rr, 0.8), measured_on='held-out ratings', interval=0.8),
                valid_predictions=number_reference(pred) if len(pred) else None)


def _baselines(train_df, test_df, cols, items_o2i, seen: dict, later: dict, counts, n_items, n: int = 10) -> dict:
    "The obvious rankings and guesses on the same held-out ratings: popularity, the items' (damped) mean rating."
    user, item, rating = cols
    ids = [u for u in later if u in seen and (later[u][1] >= GOOD).any()]
    pos = [later[u][0][later[u][1] >= GOOD] for u in ids]
    mean = train_df[rating].mean()
    g = train_df.groupby(item)[rating].agg(['sum', 'count'])
    damped = (g['sum'] + 5 * mean) / (g['count'] + 5)            # an item's mean, pulled to the overall mean by 5 ratings
    item_mean = np.full(n_items, mean)
    for k, v in damped.items():
        if k in items_o2i: item_mean[items_o2i[k]] = v
    pop = judge([top_n(counts.astype(float), seen[u][0], n) for u in ids], pos, n_items, n)
    best = judge([top_n(item_mean, seen[u][0], n) for u in ids], pos, n_items, n)
    idx = test_df[item].map(items_o2i)
    guess = np.where(idx.notna(), item_mean[idx.fillna(0).astype(int)], mean)
    rmse = lambda p: float(np.sqrt(np.mean((p - test_df[rating].to_numpy(float)) ** 2)))
    return dict(popularity=dict(hit_rate=pop['hit_rate'], ndcg=pop['ndcg'], coverage=pop['coverage'],
                                per_person=pop['per_person']),
                item_mean=dict(hit_rate=best['hit_rate'], ndcg=best['ndcg'], coverage=best['coverage'], rmse=rmse(guess)),
                overall_mean=dict(rmse=rmse(np.full(len(test_df), mean))))


def _new_people(f, people: pd.DataFrame, cols, when, items_o2i, counts, noise: float, weight: float | None,
                first: int = 10, n: int = 10):
    """People the model never saw, each folded in from their first `first` ratings (`Factors.fold_in`): the hit rate at
    `n` of the items they rated well afterwards, ranked with `weight` (None: `choose_weight` picks it), and the
    popularity ranking's on the same people. Returns (weight, figures)."""
    user, item, rating = cols
    rows = []
    for _, g in people.sort_values([user, when] if when else [user], kind='stable').groupby(user):
        idx = g[item].map(items_o2i)
        g = g[idx.notna()].assign(i=idx[idx.notna()].astype(int))
        head, tail = g.iloc[:first], g.iloc[first:]
        pos = tail['i'][tail[rating] >= GOOD].to_numpy()
        if len(head) == first and len(pos): rows.append((f.fold_in(head['i'].to_numpy(), head[rating].to_numpy(float), noise),
                                                          head['i'].to_numpy(), pos))
    if not rows: return weight or 0.0, dict(people=0)
    if weight is None: weight, _ = choose_weight(lambda w: f.vector_scores(w), counts, rows, n)
    ours = judge([top_n(rank_scores(f.vector_scores(w), counts, weight), seen, n) for w, seen, _ in rows],
                 [p for *_, p in rows], len(counts), n)
    pop = judge([top_n(counts.astype(float), seen, n) for _, seen, _ in rows], [p for *_, p in rows], len(counts), n)
    return weight, dict(people=ours['people'], first=first, hit_rate=ours['hit_rate'], ndcg=ours['ndcg'],
                        popularity_hit_rate=pop['hit_rate'], popularity_ndcg=pop['ndcg'])


def _stage(df, cols, options, log):
    "A fit and what is measured with it: the model read (`Factors`), its codes, item counts, the people it knows."
    learn = fit(df, cols, log=log, **options)
    (_, users, items) = codes(learn)
    f = read_model(learn.model, len(users) + 1, len(items) + 1)
    counts = np.bincount(df[cols[1]].map(items).dropna().astype(int), minlength=len(items) + 1).astype(float)
    seen = _people(df, cols, users, items)
    residual = np.concatenate([f.pairs(np.full(len(i), u), i) - r for u, (i, r) in seen.items()])
    return learn, f, users, items, counts, seen, float(np.mean(residual ** 2))


def _groups(df, user, seed: int, least: int = 20) -> tuple[set, set]:
    "Two groups of 10 % of the people with `least` ratings or more: one to choose by, one to judge by (never trained on)."
    many = df.groupby(user).size()
    ids = np.random.default_rng(seed).permutation(many[many >= least].index.to_numpy())
    k = max(1, len(many) // 10)
    return set(ids[:k]), set(ids[k:2 * k])


def held_out_figures(df, cols, when, options, share: float, seed: int, log) -> dict:
    "Stages 1 and 2 of the module's docstring: the ranking's weights and the card's held-out figures."
    user = cols[0]
    choose_g, judge_g = _groups(df, user, seed)
    rest = df[~df[user].isin(choose_g | judge_g)]
    early, _ = split_latest(rest, user, when, 2 * share)
    before, latest = split_latest(rest, user, when, share)
    log(f'choosing the ranking on {len(rest) - len(early):,} later ratings and {len(choose_g)} new people')
    _, f, users, items, counts, seen, noise = _stage(rest.loc[early], cols, options, log)
    tune = _people(rest.loc[sorted(set(before) - set(early))], cols, users, items)
    known = [(u, seen[u][0], tune[u][0][tune[u][1] >= GOOD]) for u in tune if u in seen and (tune[u][1] >= GOOD).any()]
    w_known, tried = choose_weight(lambda u: f.user_scores(np.array([u]))[0], counts, known)
    w_new, _ = _new_people(f, df[df[user].isin(choose_g)], cols, when, items, counts, noise, None)
    log(f'judging on the latest {share:.0%} of each person\'s ratings ({len(latest):,}) and {len(judge_g)} new people')
    _, f, users, items, counts, seen, noise = _stage(rest.loc[before], cols, options, log)
    later = _people(rest.loc[latest], cols, users, items)
    ours = _known_people(f, seen, later, counts, w_known)
    base = _baselines(rest.loc[before], rest.loc[latest], cols, items, seen, later, counts, len(counts))
    _, new = _new_people(f, df[df[user].isin(judge_g)], cols, when, items, counts, noise, w_new)
    ours.pop('per_person'); base['popularity'].pop('per_person')
    errors, valid = ours.pop('errors'), ours.pop('valid_predictions')
    return dict(ranking=dict(weight=w_known, new_person_weight=w_new, tried={str(k): v for k, v in tried.items()}),
                errors=errors, valid_predictions=valid,
                metrics=dict(ours, baselines=base, new_people=new, measured_on=(
                    f"each person's latest {share:.0%} of ratings, held out (items they rated {GOOD:g} or more: hits); "
                    f'{new.get("people", 0)} people never trained on, folded in from their first 10 ratings')))


def collab_card(learn, df, cols, ratings_seen: dict | None = None) -> dict:
    "What a recommender's card holds of its learner (and of its training ratings `df`, when known)."
    user, item, rating = cols
    (_, users, items) = codes(learn)
    f = read_model(learn.model, len(users) + 1, len(items) + 1)
    typical = lambda col, known: json_safe(df[col].value_counts().index[0] if df is not None and len(df) else next(iter(known)))
    inputs = [dict(name=user, kind='categorical', role='user', values=None, count=len(users), default=typical(user, users)),
              dict(name=item, kind='categorical', role='item', values=None, count=len(items), default=typical(item, items))]
    out = dict(target=rating, schema=dict(inputs=inputs, target=rating, ranges_known=df is not None),
               collab=dict(user=user, item=item, rating=rating, users=len(users), items=len(items), model=f.mode,
                           y_range=list(f.y_range) if f.y_range else None), metrics={}, reference=None)
    if df is not None:
        r = df[rating].astype(float)
        seen = _people(df, cols, users, items)
        residual = np.concatenate([f.pairs(np.full(len(i), u), i) - rr for u, (i, rr) in seen.items()]) if seen else []
        out['collab'].update(scale=[float(r.min()), float(r.max())], step=_step(r), ratings=int(len(df)),
                             noise=float(np.mean(np.square(residual))) if len(residual) else 0.5)
        counts = df[item].map(df[item].value_counts()).to_numpy(float)
        out['reference'] = dict(rows=int(len(df)), columns=dict(
            known_user=dict(kind='categorical', props={'True': 1.0}), known_item=dict(kind='categorical', props={'True': 1.0}),
            item_ratings=dict(kind='continuous', **number_reference(counts))))
    return out


def _step(r: pd.Series) -> float | None:
    "The step between allowed ratings (0.5 for half stars), when they have one."
    d = np.diff(np.unique(r.to_numpy(float)))
    return float(d.min()) if len(d) and np.allclose(np.unique(r) / d.min(), np.round(np.unique(r) / d.min())) else None


def ratings_file(learn, df, cols, path) -> None:
    "The training ratings as the predictor reads them (`ratings.npz`: user and item indices, rating), for who saw what."
    (_, users, items) = codes(learn)
    u, i = df[cols[0]].map(users), df[cols[1]].map(items)
    ok = u.notna() & i.notna()
    np.savez_compressed(path, user=u[ok].astype(np.int32).to_numpy(), item=i[ok].astype(np.int32).to_numpy(),
                        rating=df[cols[2]][ok].astype(np.float32).to_numpy())


def train_collab(csv, name: str, store, user='userId', item='movieId', rating='rating', when='timestamp', items=None,
                 factors=50, epochs=8, lr=5e-3, wd=0.2, use_nn=False, share=0.1, seed=42, activate=True, log=print) -> str:
    """Train a recommender on the ratings of `csv` and register it as a new version of `name` (see the module's
    docstring); `items`: a CSV of the items' titles and more (`predictors.kinds.collab.items`)."""
    df = read_ratings(csv, user, item, rating, when)
    cols = [user, item, rating]
    lo, hi = float(df[rating].min()), float(df[rating].max())
    options = dict(factors=factors, epochs=epochs, lr=lr, wd=wd, use_nn=use_nn, seed=seed,
                   y_range=(min(0.0, lo), hi + 0.1 * (hi - lo)))
    figures = held_out_figures(df, cols, when, options, share, seed, log)
    log(f'serving: fitted on all {len(df):,} ratings')
    learn = fit(df, cols, log=log, **options)
    card = collab_card(learn, df, cols)
    card['collab'].update(ranking=figures['ranking'], errors=figures['errors'],
                          options=dict(options, y_range=list(options['y_range'])))
    if figures['valid_predictions']: card['reference']['valid_predictions'] = figures['valid_predictions']
    card.update(task='collab', classes=[], metrics=figures['metrics'], library=library_versions(),
                data_source=dict(csv=str(csv), rows=len(df), valid=f"each person's latest {share:.0%} of ratings by {when}"))
    with tempfile.TemporaryDirectory() as d:
        learn.export(Path(d) / 'model.pkl')
        ratings_file(learn, df, cols, Path(d) / 'ratings.npz')
        files = {'ratings.npz': Path(d) / 'ratings.npz'}
        items = items if items is not None else _previous_items(store, name, item, log)
        if items is not None:
            catalogue = read_items(items, item)
            catalogue.to_csv(Path(d) / 'items.csv', index=False); files['items.csv'] = Path(d) / 'items.csv'
            card['file_info'] = {'items.csv': items_info(catalogue, items)}
        m = figures['metrics']
        log(f'{name}: held-out RMSE {m["rmse"]:.3f}, hit rate@10 {m["hit_rate"]:.3f} (popularity '
            f'{m["baselines"]["popularity"]["hit_rate"]:.3f}), new people {m["new_people"].get("hit_rate")}')
        return store.register(name, Path(d) / 'model.pkl', card, activate=activate, files=files)


def _previous_items(store, name: str, item: str, log=print):
    "The active version's items file, which a retrain without --items keeps (None: no version, no file, another item column)."
    try:
        old, path = store.card(name), store.file(name, None, FILE)
    except ModelError:
        return None
    if path is None or (old.get('collab') or {}).get('item') != item: return None
    log(f'{name}: kept the items of {old["version"]} ({FILE}; --items to change them)')
    return path

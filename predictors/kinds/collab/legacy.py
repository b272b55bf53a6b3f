"""Rebuilding a recommender from a fastai 2.0–2.7 export (the collab kind's `rebuild`): the user, item and rating
column names and the fitted `Categorify` classes of its `TabularCollab` go into a fastai 2.8 `CollabDataLoaders`
whose proc carries exactly that state; the model is the exported module (`EmbeddingDotBias`, `EmbeddingNN`, or a
module of the exporter's own given with `--code`), weights and `y_range` untouched.
"""
from __future__ import annotations

from predictors.core.errors import ModelError
from predictors.kinds.legacy import items, old_name, plain, refuse, state

__all__ = ['is_old_collab', 'rebuild_collab']

_PROCS = {'fastai.tabular.core.Categorify', 'fastai.data.transforms.RegressionSetup'}


def is_old_collab(old, models: set) -> bool:
    "Whether an old export's parts (`OldParts`) are a recommender's: a `TabularCollab`, or a table with a collab model."
    return old_name(old.ds).endswith('.TabularCollab') or (old.table and type(old.model).__name__ in models)


def rebuild_collab(old):
    "A fastai 2.8 `Learner` over `CollabDataLoaders` from an old `TabularCollab` (its classes) and the exported model."
    import pandas as pd
    from fastai.collab import CollabDataLoaders
    from fastai.tabular.all import Categorify, CategoryMap, Learner, MSELossFlat
    st = state(old.ds)
    procs = {old_name(p): p for p in items(st.get('procs'))}
    for name in procs:
        if name not in _PROCS: raise refuse('data processing includes', name, 'A recommender rebuilds with Categorify only.')
    cat_names, y_names = list(plain(st.get('cat_names') or [])), list(plain(st.get('y_names') or []))
    if len(cat_names) != 2 or len(y_names) != 1:
        raise ModelError(f'this recommender reads {cat_names} for {y_names}: the apps serve one user and one item '
                         'for one rating.')
    cat = procs.get('fastai.tabular.core.Categorify')
    if cat is None: raise ModelError('this recommender export has no Categorify: its users and items cannot be known.')
    classes = {c: items(v) for c, v in (state(cat).get('classes') or {}).items()}
    if set(classes) != set(cat_names): raise ModelError(f'its Categorify knows {sorted(classes)}, not {cat_names}.')
    (user, item), rating = cat_names, y_names[0]
    first = lambda c: [classes[c][1] if len(classes[c]) > 1 else 'x'] * 2      # a two-row frame to set the proc up
    df = pd.DataFrame({user: first(user), item: first(item), rating: [1.0, 2.0]})
    dls = CollabDataLoaders.from_df(df, user_name=user, item_name=item, rating_name=rating, valid_pct=0.5, bs=64,
                                    num_workers=0)
    for p in dls.train_ds.procs:
        if isinstance(p, Categorify):
            p.classes = {c: CategoryMap(v[1:], sort=False, add_na=True) if v and v[0] == '#na#'
                         else CategoryMap(v, sort=False) for c, v in classes.items()}
    _check_sizes(old.model, {c: len(v) for c, v in classes.items()}, cat_names)
    return Learner(dls, old.model, loss_func=MSELossFlat())


def _check_sizes(model, sizes: dict, cat_names: list) -> None:
    "The model's user and item tables have one row per class (`ModelError` naming the mismatch)."
    import torch
    tables = [m for m in model.modules() if isinstance(m, torch.nn.Embedding)]
    if len(tables) >= 2 and all(hasattr(model, a) for a in ('u_weight', 'i_weight')):
        tables = [model.u_weight, model.i_weight]
    elif hasattr(model, 'embeds'):
        tables = list(model.embeds)
    else:
        return                                      # a module of the exporter's own: its shapes are its business
    for c, t in zip(cat_names, tables[:2]):
        if t.num_embeddings != sizes[c]:
            raise ModelError(f'this export cannot be converted: its model has {t.num_embeddings} rows for {c} but '
                             f'its data processing knows {sizes[c]}.')

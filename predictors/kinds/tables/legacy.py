"""Rebuilding a model of table rows from a fastai 2.0–2.7 export (a kind's `rebuild`: the tabular classifier's and
the regression's): the column names, the fitted `Categorify` classes, `FillMissing`'s fill values, the `Normalize`
means and standard deviations and the target (a vocab, or a number) go into a new `TabularPandas` whose procs carry
exactly that state; the model is the exported module, weights untouched. A proc from the exporter's own code, or a
target of several classes per row, is refused with its name.
"""
from __future__ import annotations

from predictors.core.errors import ModelError
from predictors.kinds.legacy import items, old_name, plain, refuse, state

__all__ = ['table_target', 'rebuild_table']

_TABULAR_PROCS = {'fastai.tabular.core.Categorify', 'fastai.tabular.core.FillMissing',
                  'fastai.data.transforms.Normalize', 'fastai.data.transforms.Categorize',
                  'fastai.data.transforms.RegressionSetup'}
_MULTI_Y = {'MultiCategorize', 'EncodedMultiCategorize'}    # a multi-label target


def _procs(to) -> dict:
    "{dotted name: proc} of an old `TabularPandas`."
    return {old_name(p): p for p in items(state(to)['procs'])}


def table_target(to) -> str:
    """What an old `TabularPandas` predicts: 'classes' (`Categorize`) or 'number' (`RegressionSetup`); `ModelError`
    for what cannot be rebuilt (a proc of the exporter's own, several classes per row, neither target)."""
    procs = _procs(to)
    for name in procs:
        short = name.rpartition('.')[2]
        if short in _MULTI_Y: raise ModelError('this export cannot be served: it is a tabular multi-label '
                                               'classifier (several classes per row); the apps serve one class per row.')
        if name not in _TABULAR_PROCS:
            raise refuse('data processing includes', name, 'Only Categorify, FillMissing and Normalize can be rebuilt.')
    if 'fastai.data.transforms.Categorize' in procs: return 'classes'
    if 'fastai.data.transforms.RegressionSetup' in procs: return 'number'
    raise ModelError('this export cannot be served: its target is neither a category (Categorize) nor a number '
                     '(RegressionSetup).')


def rebuild_table(to, model):
    "A fastai 2.8 `TabularLearner` from an old `TabularPandas` (its procs' fitted state) and the exported model."
    import numpy as np
    import pandas as pd
    from fastai.tabular.all import (Categorify, CategoryBlock, CategoryMap, CrossEntropyLossFlat, FillMissing,
                                    FillStrategy, MSELossFlat, Normalize, RegressionBlock, TabularLearner, TabularPandas)
    procs = _procs(to)
    target = procs.get('fastai.data.transforms.Categorize')
    number = table_target(to) == 'number'
    cat_names, cont_names, y_names = (list(plain(state(to)[k])) for k in ('cat_names', 'cont_names', 'y_names'))
    if number and len(y_names) != 1: raise ModelError(f'this export predicts {len(y_names)} numbers at once; the apps serve one.')
    vocab = items(state(target)['vocab']) if target is not None else None
    cat = procs.get('fastai.tabular.core.Categorify')
    classes = {c: items(v) for c, v in (state(cat).get('classes') or {}).items()} if cat else {}
    fill = procs.get('fastai.tabular.core.FillMissing')
    na_dict = dict(state(fill).get('na_dict') or {}) if fill else {}
    add_col = bool(state(fill).get('add_col', True)) if fill else False
    norm = procs.get('fastai.data.transforms.Normalize')
    derived = {f'{c}_na' for c in na_dict} if add_col else set()
    base_cats = [c for c in cat_names if c not in derived]

    # a two-row frame to set the procs up with; their state is then replaced by the old one
    df = pd.DataFrame({c: [classes[c][1] if len(classes.get(c, [])) > 1 else 'x'] * 2 for c in base_cats}, index=range(2))
    for c in cont_names: df[c] = [np.nan if c in na_dict else 0.0, 1.0]
    for y in y_names: df[y] = [0.0, 1.0] if number else [vocab[0], vocab[-1]]
    new_procs = []
    if cat: new_procs.append(Categorify)
    if fill:
        strategy = state(fill).get('fill_strategy')
        sname = (strategy if isinstance(strategy, str) else old_name(strategy)).rpartition('.')[2]
        fill_vals = state(fill).get('fill_vals')
        new_procs.append(FillMissing(fill_strategy=getattr(FillStrategy, sname, FillStrategy.median), add_col=add_col,
                                     **({'fill_vals': fill_vals} if fill_vals is not None else {})))
    if norm: new_procs.append(Normalize)
    tp = TabularPandas(df, procs=new_procs, cat_names=base_cats, cont_names=cont_names, y_names=y_names,
                       y_block=RegressionBlock() if number else CategoryBlock(vocab=vocab, sort=False),
                       splits=([0, 1], [0, 1]))
    if list(tp.cat_names) != cat_names:
        raise ModelError(f'this export cannot be converted: its categorical columns {cat_names} could not be '
                         f'set up again in the same order (got {list(tp.cat_names)}).')
    for p in tp.procs:
        if isinstance(p, Categorify):
            p.classes = {c: CategoryMap(v[1:], sort=False, add_na=True) if v and v[0] == '#na#'
                         else CategoryMap(v, sort=False) for c, v in classes.items()}
        elif isinstance(p, FillMissing): p.na_dict = na_dict
        elif isinstance(p, Normalize):
            p.means = {c: float(v) for c, v in state(norm)['means'].items()}
            p.stds = {c: float(v) for c, v in state(norm)['stds'].items()}
    _check_tabular_model(model, cat_names, cont_names)
    dls = tp.dataloaders(bs=64, num_workers=0)
    return TabularLearner(dls, model, loss_func=MSELossFlat() if number else CrossEntropyLossFlat())


def _check_tabular_model(model, cat_names, cont_names):
    embeds, n_cont = getattr(model, 'embeds', None), getattr(model, 'n_cont', None)
    if embeds is not None and len(embeds) != len(cat_names):
        raise ModelError(f'this export cannot be converted: its model has {len(embeds)} category embeddings '
                         f'but its data processing gives {len(cat_names)} categorical columns.')
    if n_cont is not None and n_cont != len(cont_names):
        raise ModelError(f'this export cannot be converted: its model takes {n_cont} numbers but its data '
                         f'processing gives {len(cont_names)}.')

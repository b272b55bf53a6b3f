"""Fitting a tabular classifier (`train-tabular` with a target of classes: `predictors.kinds.tables.train`)."""
from __future__ import annotations

import time

from predictors.core.store import ModelError
from predictors.kinds.tables.schema import reference_stats, tabular_schema
from predictors.kinds.training import class_dist, parse_templates, seed_everything

__all__ = ['fit_classifier']


def fit_classifier(df, target, cat, cont, splits, epochs, lr, seed, templates, log, name):
    "A tabular classifier trained on the rows `splits[0]` and judged on `splits[1]`: (learner, its card)."
    from fastai.tabular.all import Categorify, CategoryBlock, FillMissing, Normalize, TabularPandas, accuracy, tabular_learner
    df = df.assign(**{target: df[target].astype(str)})
    if df[target].nunique() < 2: raise ModelError(f'target {target!r} needs at least two classes.')
    seed_everything(seed)
    to = TabularPandas(df, procs=[Categorify, FillMissing, Normalize], cat_names=cat, cont_names=cont,
                       y_names=target, y_block=CategoryBlock(), splits=splits)
    dls = to.dataloaders(bs=int(min(256, max(16, len(splits[0]) // 8))), num_workers=0)  # small data: more steps
    learn = tabular_learner(dls, metrics=accuracy)
    t0 = time.time()
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(epochs, lr)
        preds, y = learn.get_preds(ds_idx=1)
    acc = float((preds.argmax(1) == y.flatten()).float().mean())
    log(f'{name}: trained in {time.time() - t0:.0f}s, held-out accuracy {acc:.4f} on {len(y)} rows')
    train_df = df.iloc[list(splits[0])]
    schema = tabular_schema(learn, train_df)
    classes = [str(c) for c in learn.dls.vocab]
    card = dict(task='tabular', target=target, classes=classes, schema=schema,
                metrics=dict(accuracy=round(acc, 5), valid_rows=len(y), train_rows=len(splits[0]), epochs=epochs),
                reference=reference_stats(train_df, schema,
                                          valid_pred_dist=class_dist(preds.argmax(1).numpy(), classes)),
                templates=parse_templates(templates, classes))
    return learn, card

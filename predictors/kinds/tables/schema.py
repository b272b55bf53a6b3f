"""The input schema of a tabular fastai Learner, extracted from the learner itself, never from hand-written lists.

It lists the input columns the way the learner's own procs see them:
categorical columns with their exact training values (from `Categorify`, leading spaces kept,
`#na#` left out), continuous columns with fill values (from `FillMissing`) and, when the
training data are at hand, integer-ness, min/max/median and defaults.
"""
from __future__ import annotations

import pandas as pd

from predictors.core.helpers import json_safe, number_reference
from predictors.core.store import ModelError

__all__ = ['tabular_schema', 'reference_stats', 'tabular_procs', 'schema_changes', 'truth_column']


def tabular_procs(learn) -> dict:
    "The fitted procs of a tabular learner by kind, with the column names it was trained on."
    from fastai.data.transforms import Normalize
    from fastai.tabular.core import Categorify, FillMissing
    tp = learn.dls.train_ds
    procs = list(getattr(tp, 'procs', []))
    pick = lambda t: next((p for p in procs if isinstance(p, t)), None)
    return dict(to=tp, procs=procs, categorify=pick(Categorify), fill=pick(FillMissing), normalize=pick(Normalize),
                cat_names=list(tp.cat_names), cont_names=list(tp.cont_names), y_names=list(tp.y_names))


def tabular_schema(learn, df: pd.DataFrame | None = None) -> dict:
    """Schema of a tabular learner; `df` (its training data) adds ranges, integer-ness and defaults.

    Without `df` what only the data can tell is `None` (unknown).
    """
    p = tabular_procs(learn)
    cat_proc, fill, norm = p['categorify'], p['fill'], p['normalize']
    na_dict = dict(getattr(fill, 'na_dict', {}) or {})
    derived = {f'{c}_na' for c in na_dict} if fill is not None and getattr(fill, 'add_col', False) else set()
    inputs = []
    for c in p['cat_names']:
        if c in derived: continue
        values = [json_safe(v, True) for v in list(cat_proc.classes[c])[1:]] if cat_proc is not None and c in cat_proc.classes else None
        default = None
        if df is not None and c in df.columns and len(df[c].dropna()):
            default = json_safe(df[c].mode(dropna=True).iloc[0], True)
        if default is None and values: default = values[0]
        inputs.append(dict(name=c, kind='categorical', values=values, default=default))
    for c in p['cont_names']:
        col = dict(name=c, kind='continuous', integer=None, min=None, max=None, median=None,
                   fill=json_safe(na_dict[c], True) if c in na_dict else None,
                   mean=json_safe(norm.means[c], True) if norm is not None and c in getattr(norm, 'means', {}) else None,
                   std=json_safe(norm.stds[c], True) if norm is not None and c in getattr(norm, 'stds', {}) else None)
        if df is not None and c in df.columns:
            s = pd.to_numeric(df[c], errors='coerce').dropna()
            if len(s):
                col.update(integer=bool(pd.api.types.is_integer_dtype(df[c]) or (s % 1 == 0).all()),
                           min=json_safe(s.min(), True), max=json_safe(s.max(), True), median=json_safe(s.median(), True))
        col['default'] = next((v for v in (col['median'], col['fill'], col['mean']) if v is not None), 0)
        if col['integer']: col['default'] = int(round(col['default']))
        inputs.append(col)
    if df is not None:  # the order of the training data's columns, as people know them
        pos = {c: i for i, c in enumerate(df.columns)}
        inputs.sort(key=lambda col: pos.get(col['name'], len(pos)))
    return dict(inputs=inputs, derived=sorted(derived), target=p['y_names'][0] if p['y_names'] else None,
                ranges_known=df is not None)


def reference_stats(df: pd.DataFrame, schema: dict, valid_pred_dist: dict | None = None,
                    bins: int = 10, sample: int = 500, background: int = 100, seed: int = 0) -> dict:
    """Training-data statistics kept in the card so drift can be measured without the data.

    Continuous columns: quantile bin edges with their proportions and a random sample of values;
    categorical columns: the proportion of each value. `background`: `background` whole rows of the
    input columns, the average an explanation starts from (`predictors.explain`).
    """
    out = dict(rows=len(df), columns={}, valid_pred_dist=valid_pred_dist or {})
    fields = [c['name'] for c in schema['inputs'] if c['name'] in df.columns]
    rows = df[fields].sample(n=min(background, len(df)), random_state=seed) if fields and len(df) else df.iloc[:0]
    out['background'] = [{k: json_safe(v, True) for k, v in r.items()} for r in rows.to_dict('records')]
    for col in schema['inputs']:
        c = col['name']
        if c not in df.columns: continue
        if col['kind'] == 'continuous':
            s = pd.to_numeric(df[c], errors='coerce')
            v = s.dropna().to_numpy(dtype=float)
            if not len(v): continue
            ref = number_reference(v, bins, sample, seed)
            out['columns'][c] = dict(kind='continuous', edges=ref['edges'], props=ref['props'],
                                     missing=round(float(s.isna().mean()), 6), sample=ref['sample'])
        else:
            vc = df[c].value_counts(normalize=True, dropna=False)
            out['columns'][c] = dict(kind='categorical',
                                     props={str(k): round(float(p), 6) for k, p in vc.items()})
    return out


def schema_changes(card_a: dict, card_b: dict) -> dict:
    "The input columns version B added or removed against A, and the category values it added, per column."
    inputs = lambda c: {x['name']: x for x in c['schema']['inputs']}
    ia, ib = inputs(card_a), inputs(card_b)
    new_values = {k: sorted(set(map(str, ib[k].get('values') or [])) - set(map(str, ia[k].get('values') or [])))
                  for k in ia.keys() & ib.keys() if ib[k].get('kind') == 'categorical'}
    return dict(columns_added=sorted(ib.keys() - ia.keys()), columns_removed=sorted(ia.keys() - ib.keys()),
                values_added={k: v for k, v in sorted(new_values.items()) if v})


def truth_column(card: dict, columns, what: str) -> str:
    "The column of labelled rows that holds the right answer: `truth`, else the card's target; `ModelError` if neither."
    target = card.get('target')
    if 'truth' in columns: return 'truth'
    if target in columns: return target
    raise ModelError(f'the CSV needs {what} in a column "truth" (or "{target}").')

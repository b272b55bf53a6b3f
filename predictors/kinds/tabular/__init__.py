"""Tabular classifiers (`TabularPandas` learners with a class vocab): the kind's registry entry.

Its predictor (`predictor`), schema (`schema`), explainer (`explain`) and training (`train`) are the
modules beside this one.
"""
from __future__ import annotations

import numpy as np

from predictors.core.helpers import labels_of
from predictors.core.store import ModelError
from predictors.kinds.classifier import ClassifierKind, mcnemar, paired_verdict, per_class_pair
from predictors.kinds.tabular.schema import schema_changes, truth_column

__all__ = ['TabularKind', 'has_vocab']


def has_vocab(learn) -> bool:
    try:
        return len(learn.dls.vocab) > 1
    except (AttributeError, TypeError):
        return False


class TabularKind(ClassifierKind):
    "Tabular classifiers: a form of fields, CSV scoring."
    task, view = 'tabular', 'tabular_app.ipynb'

    def detect(self, learn):
        ds = getattr(learn.dls, 'train_ds', None)
        if not (hasattr(ds, 'procs') and hasattr(ds, 'cat_names')): return False
        return has_vocab(learn)          # a number instead: the regression kind

    def predictor(self, learn, card):
        from predictors.kinds.tabular.predictor import TabularPredictor
        return TabularPredictor(learn, card)

    def card_fields(self, learn, df=None, options=None):
        from predictors.kinds.tabular.schema import reference_stats, tabular_schema
        schema = tabular_schema(learn, df)
        out = dict(target=schema['target'], schema=schema, metrics={},
                   reference=reference_stats(df, schema) if df is not None else None)
        if df is not None and schema['target'] in df.columns:
            res = self.predictor(learn, dict(schema=schema)).predict_frame(df)
            ok = [i for i in range(len(res)) if i not in res.errors]
            pred = labels_of([str(c) for c in learn.dls.vocab], res.probs)[ok]
            truth = df[schema['target']].astype(str).to_numpy()[ok]
            out['metrics'] = dict(accuracy_on_csv=round(float((truth == pred).mean()), 5), csv_rows=len(ok),
                                  note='measured on the given CSV, which may include training rows')
        return out

    def smoke(self, pred):
        p = pred.predict_one({c['name']: c.get('default') for c in pred.inputs})
        if not p.ok: raise ModelError(p.error)
        total = sum(p.probabilities.values())
        if abs(total - 1) > 1e-3: raise ModelError(f'class probabilities sum to {total:.4f}, not 1')
        return f'answers {p.prediction!r} ({p.probability:.1%}) for the default input'

    def drift_references(self, card):
        return {c: (r, r['kind']) for c, r in ((card.get('reference') or {}).get('columns') or {}).items()}

    def explainer(self, pred):
        from predictors.kinds.tabular.explain import TabularExplainer
        return TabularExplainer(pred)

    def compare(self, pred_a, pred_b, df, alpha=0.05):
        """Two versions of a tabular model on the labelled rows of `df` (the true class in `truth` or the
        target column): rows either version cannot score, or without a label, are left out and counted."""
        ca, cb = pred_a.card, pred_b.card
        name, a, b = ca.get('name'), ca.get('version'), cb.get('version')
        tcol = truth_column(ca, df.columns, 'the true class')
        df = df.reset_index(drop=True)
        ra, rb = pred_a.predict_frame(df), pred_b.predict_frame(df)
        truth = df[tcol].astype(str).str.strip().to_numpy(object)
        labelled = df[tcol].notna().to_numpy() & (truth != '')
        ok = labelled.copy(); ok[list(set(ra.errors) | set(rb.errors))] = False
        pick = lambda r: labels_of(r.classes, r.probs)
        strip = np.vectorize(lambda s: str(s).strip(), otypes=[object])
        pa, pb, t = strip(pick(ra)[ok]), strip(pick(rb)[ok]), truth[ok]
        right_a, right_b = pa == t, pb == t
        test = mcnemar(int((right_a & ~right_b).sum()), int((~right_a & right_b).sum()))
        classes = sorted(set(map(str, ca.get('classes') or [])) | set(map(str, cb.get('classes') or [])))
        return dict(model=name, a=a, b=b, rows=len(df), compared=int(ok.sum()), unlabelled=int((~labelled).sum()),
                    unscored=int((labelled & ~ok).sum()),
                    accuracy_a=float(right_a.mean()) if ok.any() else None,
                    accuracy_b=float(right_b.mean()) if ok.any() else None,
                    agreement=float((pa == pb).mean()) if ok.any() else None, mcnemar=test,
                    verdict=paired_verdict(test, alpha) if ok.any() else 'nothing to compare', alpha=alpha,
                    per_class=per_class_pair([c.strip() for c in classes], t, pa, pb), **schema_changes(ca, cb))

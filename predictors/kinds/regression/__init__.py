"""Tabular regression (`TabularPandas` learners whose target is a number): the kind's registry entry.

Its predictor (`predictor`: numbers in the target's units and the range held-out answers fell in), how
its errors are scored (`stats`) and its training (`train`) are the modules beside this one. The form,
the CSV scoring and the explanations are the tabular ones: the inputs are the same kind of record.
"""
from __future__ import annotations

import math

import numpy as np

from predictors.core.helpers import number_reference
from predictors.core.store import ModelError
from predictors.kinds.base import ModelKind

__all__ = ['RegressionKind', 'regression_card']


def regression_card(actual, predicted, transform=None, units=None, interval: float = 0.8,
                    where: str = 'held-out rows') -> dict:
    """The card's `metrics`, `regression` and held-out prediction reference of a regression, from its answers
    (`predicted`, in the target's units) to rows whose true numbers are `actual`; `transform`: the target's
    transform the model learnt through (its errors are binned in that space)."""
    from predictors.kinds.regression.predictor import TRANSFORMS, error_bins
    from predictors.kinds.regression.stats import metrics
    a = np.asarray(actual, float)
    to = TRANSFORMS[transform][0]
    with np.errstate(divide='ignore', invalid='ignore'):
        bins = error_bins(to(np.asarray(predicted, float)), to(a), interval)
    m = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in metrics(a, predicted).items()}
    whole = bool(len(a) and np.all(np.mod(a[np.isfinite(a)], 1) == 0))
    reg = dict(transform=transform, units=units, integer=whole, interval=interval,
               errors=dict(bins=bins, measured_on=where, space='the model\'s outputs' + (f' ({transform})' if transform else '')),
               floor=0.0 if len(a) and np.nanmin(a) >= 0 else None, min=float(np.nanmin(a)), max=float(np.nanmax(a)))
    return dict(metrics=dict(mae=m['mae'], rmse=m['rmse'], r2=m['r2'], valid_rows=m['rows']), regression=reg,
                valid_predictions=number_reference(np.asarray(predicted, float)[np.isfinite(predicted)]))


class RegressionKind(ModelKind):
    "Tabular regression: a form of fields and CSV scoring, a number with its range for an answer."
    task, view, takes = 'regression', 'tabular_app.ipynb', 'records'

    def detect(self, learn):
        from predictors.kinds.tabular import has_vocab
        ds = getattr(learn.dls, 'train_ds', None)
        if not (hasattr(ds, 'procs') and hasattr(ds, 'cat_names')) or has_vocab(learn): return False
        if len(list(getattr(ds, 'y_names', []))) != 1:
            raise ModelError(f'the learner predicts {len(list(ds.y_names))} numbers at once; the apps serve one target.')
        return True

    def classes(self, learn):
        return []

    def describe(self, learn):
        return f'regression of {learn.dls.train_ds.y_names[0]} (a number)'

    def tensors(self, card):
        "The number (`FP64`) and its range (`[n, 2]`: where the card's share of held-out answers of that size fell)."
        out = super().tensors(card)
        out['outputs'][0]['datatype'] = 'FP64'
        out['outputs'].insert(1, dict(name='range', datatype='FP64', shape=[-1, 2]))
        return out

    def predictor(self, learn, card):
        from predictors.kinds.regression.predictor import RegressionPredictor
        return RegressionPredictor(learn, card)

    def card_fields(self, learn, df=None, options=None):
        from predictors.kinds.tabular.schema import reference_stats, tabular_schema
        options = options or {}
        schema = tabular_schema(learn, df)
        transform = options.get('target_transform')
        out = dict(target=schema['target'], schema=schema, metrics={},
                   regression=dict(transform=transform, units=options.get('units'), interval=0.8),
                   reference=reference_stats(df, schema) if df is not None else None)
        if df is not None and schema['target'] in df.columns:
            pred = self.predictor(learn, dict(schema=schema, regression=dict(transform=transform)))
            res = pred.predict_frame(df)
            ok = np.array([i not in res.errors for i in range(len(res))], bool)
            fields = regression_card(df[schema['target']].to_numpy(float)[ok], res.values[ok], transform,
                                     options.get('units'), where='the given CSV, which may include training rows')
            out['metrics'] = dict(fields['metrics'], note='measured on the given CSV, which may include training rows')
            out['regression'] = fields['regression']
            out['reference']['valid_predictions'] = fields['valid_predictions']
        return out

    def smoke(self, pred):
        p = pred.predict_one({c['name']: c.get('default') for c in pred.inputs})
        if not p.ok: raise ModelError(p.error)
        if not math.isfinite(p.prediction): raise ModelError(f'the model answers {p.prediction} for the default input')
        return f'answers {p.prediction:.4g} for the default input'

    def explainer(self, pred):
        from predictors.kinds.tabular.explain import TabularExplainer
        return TabularExplainer(pred)

    def drift_references(self, card):
        return {c: (r, r['kind']) for c, r in ((card.get('reference') or {}).get('columns') or {}).items()}

    def prediction_reference(self, card):
        ref = (card.get('reference') or {}).get('valid_predictions')
        return (ref, 'continuous') if ref else None

    def answer_columns(self, card):
        return ['prediction', 'low', 'high', 'problem']

    def check_truth(self, card, truth):
        try:
            x = float(str(truth).strip().replace(',', ''))
        except ValueError:
            x = math.nan
        if math.isfinite(x): return None
        return f'{truth!r} is not a number: give the real {card.get("target") or "value"} as a number'

    def performance(self, labelled, card, settings):
        from predictors.kinds.regression.stats import error_performance
        return error_performance(labelled, card, settings)

    def compare(self, pred_a, pred_b, df, alpha=0.05):
        """Two versions on the labelled rows of `df` (the true number in `truth` or the target column): MAE, RMSE
        and R² of each, Wilcoxon's signed-rank test on the paired absolute errors; unscored rows left out and counted."""
        from predictors.kinds.regression.stats import metrics, paired_verdict_errors, wilcoxon
        from predictors.kinds.tabular.schema import schema_changes, truth_column
        ca, cb = pred_a.card, pred_b.card
        tcol = truth_column(ca, df.columns, 'the true number')
        df = df.reset_index(drop=True)
        ra, rb = pred_a.predict_frame(df), pred_b.predict_frame(df)
        import pandas as pd
        truth = pd.to_numeric(df[tcol], errors='coerce').to_numpy(float)
        labelled = np.isfinite(truth)
        ok = labelled.copy(); ok[list(set(ra.errors) | set(rb.errors))] = False
        ma, mb = metrics(truth[ok], ra.values[ok]), metrics(truth[ok], rb.values[ok])
        test = wilcoxon(np.abs(truth[ok] - ra.values[ok]), np.abs(truth[ok] - rb.values[ok]))
        return dict(model=ca.get('name'), a=ca.get('version'), b=cb.get('version'), measure='error', rows=len(df),
                    compared=int(ok.sum()), unlabelled=int((~labelled).sum()), unscored=int((labelled & ~ok).sum()),
                    mae_a=ma['mae'], mae_b=mb['mae'], rmse_a=ma['rmse'], rmse_b=mb['rmse'], r2_a=ma['r2'], r2_b=mb['r2'],
                    wilcoxon=test, alpha=alpha, units=(ca.get('regression') or {}).get('units'),
                    verdict=paired_verdict_errors(test, alpha) if ok.any() else 'nothing to compare', **schema_changes(ca, cb))

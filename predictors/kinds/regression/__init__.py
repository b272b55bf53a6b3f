"""Tabular regression (`TabularPandas` learners whose target is a number): the kind.

Its predictor (`predictor`: numbers in the target's units and the range held-out answers fell in), how its errors
are scored (`stats`) and how it is fitted (`train`, reached by `train-tabular` for a numeric target) are the modules
beside this one. The schema, the form, the CSV scoring and the explanations are what the table kinds share
(`predictors.kinds.tables`): the inputs are the same kind of record.
"""
from __future__ import annotations

import math

from predictors.core.store import ModelError
from predictors.kinds.answers import NUMBER
from predictors.kinds.base import ModelKind
from predictors.kinds.inputs import RECORDS
from predictors.kinds.tables import default_answer, has_vocab, is_table_learner, table_references

__all__ = ['RegressionKind']


class RegressionKind(ModelKind):
    "Tabular regression: a form of fields and CSV scoring, a number with its range for an answer."
    task, priority, input, answer, view = 'regression', 10, RECORDS, NUMBER, 'tabular_app'
    noun = 'a tabular regression'
    import_options = ('target_transform', 'units')

    def detect(self, learn):
        if not is_table_learner(learn) or has_vocab(learn): return False
        ds = learn.dls.train_ds
        if len(list(getattr(ds, 'y_names', []))) != 1:
            raise ModelError(f'the learner predicts {len(list(ds.y_names))} numbers at once; the apps serve one target.')
        return True

    def classes(self, learn):
        return []

    def describe(self, learn):
        return f'regression of {learn.dls.train_ds.y_names[0]} (a number)'

    def summary(self, card):
        return f', {len((card.get("schema") or {}).get("inputs") or [])} input columns'

    def predictor(self, learn, card, limits=None, files=None):
        from predictors.kinds.regression.predictor import RegressionPredictor
        return RegressionPredictor(learn, card)

    def fit(self, df, target, cat, cont, splits, epochs, lr, seed, templates, log, name, **options):
        "A regression fitted on the rows `splits[0]` and judged on `splits[1]` (`train-tabular`): (learner, card)."
        from predictors.kinds.regression.train import train_regression
        return train_regression(df, target, cat, cont, splits, epochs, lr, seed, templates, log, name, **options)

    def card_fields(self, learn, df=None, options=None):
        from predictors.kinds.regression.stats import regression_card
        from predictors.kinds.tables.schema import reference_stats, tabular_schema
        options = options or {}
        schema = tabular_schema(learn, df)
        transform = options.get('target_transform')
        out = dict(target=schema['target'], schema=schema, metrics={},
                   regression=dict(transform=transform, units=options.get('units'), interval=0.8),
                   reference=reference_stats(df, schema) if df is not None else None)
        if df is not None and schema['target'] in df.columns:
            pred = self.predictor(learn, dict(schema=schema, regression=dict(transform=transform)))
            res = pred.predict_frame(df)
            ok = [i not in res.errors for i in range(len(res))]
            fields = regression_card(df[schema['target']].to_numpy(float)[ok], res.values[ok], transform,
                                     options.get('units'), where='the given CSV, which may include training rows')
            out['metrics'] = dict(fields['metrics'], note='measured on the given CSV, which may include training rows')
            out['regression'] = fields['regression']
            out['reference']['valid_predictions'] = fields['valid_predictions']
        return out

    def smoke(self, pred):
        p = default_answer(pred)
        if not math.isfinite(p.prediction): raise ModelError(f'the model answers {p.prediction} for the default input')
        return f'answers {p.prediction:.4g} for the default input'

    def rebuild(self, old):
        from predictors.kinds.tables.legacy import rebuild_table, table_target
        return rebuild_table(old.ds, old.model) if old.table and table_target(old.ds) == 'number' else None

    def explainer(self, pred):
        from predictors.kinds.tables.explain import TabularExplainer
        return TabularExplainer(pred)

    def drift_references(self, card):
        return table_references(card)

    def prediction_reference(self, card):
        ref = (card.get('reference') or {}).get('valid_predictions')
        return (ref, 'continuous') if ref else None

    def check_truth(self, card, truth):
        try:
            x = float(str(truth).strip().replace(',', ''))
        except ValueError:
            x = math.nan
        if math.isfinite(x): return None
        return f'{truth!r} is not a number: give the real {card.get("target") or "value"} as a number'

    def performance(self, labelled, card, settings):
        from predictors.kinds.numbers import error_performance
        return error_performance(labelled, card, settings)

    def compare(self, pred_a, pred_b, df, alpha=0.05):
        from predictors.kinds.regression.stats import compare_numbers
        return compare_numbers(pred_a, pred_b, df, alpha)

    def shadow(self, pairs, alpha=0.05):
        from predictors.kinds.numbers import shadow_numbers
        return shadow_numbers(pairs, alpha)

"""Tabular classifiers (`TabularPandas` learners with a class vocab): the kind.

Its predictor, schema and explainer are what the table kinds share (`predictors.kinds.tables`); its training
(`train`: `train-tabular`, which hands a numeric target to the regression kind) is the module beside this one.
"""
from __future__ import annotations

from predictors.core.helpers import labels_of
from predictors.kinds.answers import CLASSES
from predictors.kinds.classifier import ClassifierKind, compare_classes
from predictors.kinds.inputs import RECORDS
from predictors.kinds.tables import default_answer, has_vocab, is_table_learner, table_references
from predictors.kinds.tables.cli import TABLE_TRAINING

__all__ = ['TabularKind']


class TabularKind(ClassifierKind):
    "Tabular classifiers: a form of fields, CSV scoring, the class and the probability of each."
    task, priority, input, answer, view = 'tabular', 10, RECORDS, CLASSES, 'tabular_app'
    noun = 'a tabular classifier'

    training = TABLE_TRAINING

    def detect(self, learn):
        return is_table_learner(learn) and has_vocab(learn)          # a number instead: the regression kind

    def summary(self, card):
        return f', {len((card.get("schema") or {}).get("inputs") or [])} input columns'

    def fit(self, df, target, cat, cont, splits, epochs, lr, seed, templates, log, name, **options):
        "A classifier fitted on the rows `splits[0]` and judged on `splits[1]` (`train-tabular`): (learner, card)."
        from predictors.kinds.tabular.train import fit_classifier
        return fit_classifier(df, target, cat, cont, splits, epochs, lr, seed, templates, log, name)

    def predictor(self, learn, card, limits=None, files=None):
        from predictors.kinds.tables.predictor import TabularPredictor
        return TabularPredictor(learn, card)

    def card_fields(self, learn, df=None, options=None):
        from predictors.kinds.tables.schema import reference_stats, tabular_schema
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
        p = default_answer(pred)
        total = sum(p.probabilities.values())
        if abs(total - 1) > 1e-3:
            from predictors.core.errors import ModelError
            raise ModelError(f'class probabilities sum to {total:.4f}, not 1')
        return f'answers {p.prediction!r} ({p.probability:.1%}) for the default input'

    def drift_references(self, card):
        return table_references(card)

    def rebuild(self, old):
        from predictors.kinds.tables.legacy import rebuild_table, table_target
        return rebuild_table(old.ds, old.model) if old.table and table_target(old.ds) == 'classes' else None

    def explainer(self, pred):
        from predictors.kinds.tables.explain import TabularExplainer
        return TabularExplainer(pred)

    def compare(self, pred_a, pred_b, df, alpha=0.05):
        return compare_classes(pred_a, pred_b, df, alpha)

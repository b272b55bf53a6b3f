"""Text classifiers (`TextBlock` learners: a `Tokenizer` and `Numericalize` input, an AWD-LSTM `SentenceEncoder`,
a class vocab): the kind.

Messages arrive as records with a text field (`{"text": …}`) or a CSV with a text column, so answers, CSV scoring,
feedback, live accuracy and `compare` go the way of rows; drift watches each message's length in tokens and share
of unknown tokens; *why* is Shapley values over its words. Its predictor (`predictor`), explainer (`explain`) and
training (`train`, `cli`: `train-text`) are the modules beside this one.
"""
from __future__ import annotations

from predictors.core.store import ModelError
from predictors.kinds.answers import CLASSES
from predictors.kinds.classifier import ClassifierKind, compare_classes
from predictors.kinds.inputs import TEXTS
from predictors.kinds.tables import table_references
from predictors.kinds.text.cli import TRAINING

__all__ = ['TextKind']

SMOKE = 'Hello! Are we still meeting for lunch at noon tomorrow?'


class TextKind(ClassifierKind):
    "Text classifiers: paste a message, the class and the words that decided it."
    task, priority, input, answer, view, training = 'text', 10, TEXTS, CLASSES, 'text_app', TRAINING
    noun = 'a text classifier'

    def detect(self, learn):
        from predictors.kinds.words import text_parts
        try:
            text_parts(learn)
        except (ModelError, AttributeError, IndexError, TypeError):
            return False
        vocab = getattr(learn.dls, 'vocab', None)
        if not hasattr(vocab, '__len__') or len(vocab) != 2:          # [token vocab, class vocab]
            raise ModelError('the learner reads text but predicts no class (a language model?): the text app serves '
                             'text classifiers (text_classifier_learner).')
        if type(learn.model[0]).__name__ != 'SentenceEncoder':
            raise ModelError(f'the learner reads text with a {type(learn.model[0]).__name__}; the text app serves '
                             'text_classifier_learner models (an AWD-LSTM SentenceEncoder).')
        return True

    def classes(self, learn):
        return [str(c) for c in learn.dls.vocab[1]]

    def summary(self, card):
        s = card.get('schema') or {}
        return f', a vocabulary of {s.get("vocab_size", 0):,} words ({s.get("tokenizer")})'

    def predictor(self, learn, card, limits=None, files=None):
        from predictors.kinds.text.predictor import TextPredictor
        return TextPredictor(learn, card)

    def card_fields(self, learn, df=None, options=None):
        from predictors.kinds.text.train import text_reference, text_schema
        schema = text_schema(learn)
        reference = None
        if df is not None and schema['text_column'] in df.columns:
            reference = text_reference(self.predictor(learn, dict(schema=schema)), df[schema['text_column']].tolist())
        return dict(target=str(getattr(learn.dls, 'label_col', None) or 'label'), schema=schema, metrics={},
                    reference=reference)

    def smoke(self, pred):
        p = pred.predict_one({pred.column: SMOKE})
        if not p.ok: raise ModelError(p.error)
        return f'answers {p.prediction!r} ({p.probability:.1%}) for a test message ({SMOKE!r})'

    def drift_references(self, card):
        "Message length and unknown share (numbers), and the frequencies of the training's most frequent words."
        from predictors.kinds.text.predictor import OTHER_WORDS
        refs = table_references(card)
        top = (card.get('reference') or {}).get('top_tokens')
        if top: refs['words'] = (dict(props={**top, OTHER_WORDS: round(max(0.0, 1 - sum(top.values())), 6)}), 'words')
        return refs

    def rebuild(self, old):
        from predictors.kinds.text.legacy import is_text, rebuild_text
        return rebuild_text(old) if old.pipelines and is_text(old.transforms(0)) else None

    def explainer(self, pred):
        from predictors.kinds.text.explain import TokenShapley
        return TokenShapley(pred)

    def compare(self, pred_a, pred_b, df, alpha=0.05):
        return compare_classes(pred_a, pred_b, df, alpha)

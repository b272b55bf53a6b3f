"""Language models (fastai's `language_model_learner`: an `LMLearner`, an AWD-LSTM encoder and a linear decoder over
the tokens of its vocabulary): the kind.

A beginning arrives as a record with a text field (`{"text": …}`, optionally `words`, `temperature` and `seed`) or a CSV
of them; the answer is the continuation, with the words likeliest to come right after the beginning. The `generate`
verb writes it a token at a time (the app and `/v1/.../generate?stream`), `next_words` gives the next-word
distribution. Its predictor (`predictor`), training (`train`, `cli`: `train-lm` and `generate`) and monitoring
(`monitoring`: kept share, perplexity, a shadow's next words) are the modules beside this one.
"""
from __future__ import annotations

import json

from predictors.core.errors import ModelError
from predictors.core.written import KEPT, NOT_USEFUL
from predictors.kinds.answers import CONTINUATION
from predictors.kinds.base import ModelKind
from predictors.kinds.inputs import PROMPTS
from predictors.kinds.language_model.cli import COMMANDS, TRAINING
from predictors.kinds.tables import table_references

__all__ = ['LanguageModelKind']

SMOKE = 'See you'


class LanguageModelKind(ModelKind):
    "Language models: type a beginning, read what comes next as it is written."
    task, noun, input, answer, view = 'language_model', 'a language model (what comes next)', PROMPTS, CONTINUATION, 'writer_app'
    priority = 20                # a language model reads text as a text classifier does: asked first
    training, commands = TRAINING, COMMANDS
    verbs = frozenset({'generate', 'next_words'})

    def detect(self, learn):
        from predictors.kinds.words import text_parts
        try:
            text_parts(learn)
            vocab, model = learn.dls.vocab, learn.model
        except (ModelError, AttributeError, IndexError, TypeError):
            return False
        if not (isinstance(vocab, (list, tuple)) and vocab and isinstance(vocab[0], str)): return False   # classes too
        if not hasattr(model, '__getitem__') or len(model) < 2 or not hasattr(model[1], 'decoder'):
            raise ModelError(f'the learner reads text and predicts its tokens but its model is a {type(model).__name__}: '
                             'the writer app serves language_model_learner models (an encoder and a LinearDecoder).')
        return True

    def classes(self, learn):
        return []

    def describe(self, learn):
        return f'language model ({type(learn.model[0]).__name__}) over a vocabulary of {len(learn.dls.vocab):,} tokens'

    def summary(self, card):
        s = card.get('schema') or {}
        return f', a vocabulary of {s.get("vocab_size", 0):,} tokens ({s.get("tokenizer")})'

    def predictor(self, learn, card, limits=None, files=None):
        from predictors.kinds.language_model.predictor import LMPredictor
        return LMPredictor(learn, card)

    def card_fields(self, learn, df=None, options=None):
        from predictors.kinds.language_model.predictor import LMPredictor
        from predictors.kinds.language_model.train import lm_reference, lm_schema
        schema = lm_schema(learn)
        reference = None
        if df is not None and schema['text_column'] in df.columns:
            reference = lm_reference(LMPredictor(learn, dict(schema=schema)), df[schema['text_column']].tolist())
        return dict(target=None, schema=schema, reference=reference, writing=dict(words=20, temperature=1.0),
                    metrics={} if df is None else dict(note='the given texts were not held out: no held-out figures'))

    def rebuild(self, old):
        from predictors.kinds.language_model.legacy import is_old_lm, rebuild_lm
        return rebuild_lm(old) if is_old_lm(old) else None

    def smoke(self, pred):
        c = pred.continuation(SMOKE, words=5, temperature=1.0, seed=0)
        if not c.ok: raise ModelError(c.error)
        return (f'answers {SMOKE!r} with {c.continuation!r} (seed 0); likeliest next: '
                + ', '.join(f'{n.word} {n.probability:.1%}' for n in c.next[:3]))

    def explainer(self, pred):
        raise ModelError('a language model is not explained field by field: its next_words are why it writes what it '
                         'writes.')

    def explained_fields(self, card):
        return []

    def drift_references(self, card):
        "A beginning's length in tokens and its share of words the model does not know, against the training texts'."
        return table_references(card)

    def check_truth(self, card, truth):
        return None if str(truth) in (KEPT, NOT_USEFUL) else f'{truth!r} is not {KEPT!r} or {NOT_USEFUL!r}'

    def performance(self, labelled, card, settings):
        from predictors.kinds.language_model.monitoring import kept_performance
        return kept_performance(labelled, card, settings)

    def compare(self, pred_a, pred_b, df, alpha=0.05):
        from predictors.kinds.language_model.monitoring import compare_perplexity
        return compare_perplexity(pred_a, pred_b, df, alpha)

    def shadow(self, pairs, alpha=0.05):
        from predictors.kinds.language_model.monitoring import shadow_next_words
        return shadow_next_words(pairs, alpha)

    def verb_tensors(self, card, verb):
        """`next_words` over /v2: the beginnings (`[n]`, BYTES) in; `probabilities` (`FP32` `[n, vocab]`: the learner's
        softmax, its tokens in `parameters.classes`) and `error` (`[n]`) out."""
        if verb != 'next_words': return super().verb_tensors(card, verb)
        col = (card.get('schema') or {}).get('text_column') or 'text'
        return dict(inputs=[dict(name=col, datatype='BYTES', shape=[-1])],
                    outputs=[dict(name='probabilities', datatype='FP32', shape=[-1, (card.get('schema') or {}).get('vocab_size', -1)]),
                             dict(name='error', datatype='BYTES', shape=[-1])])

    def example_parameters(self, card):
        "A seed: the same words every time."
        return dict(words=8, seed=42)

    def with_parameters(self, inputs, parameters):
        "Each beginning with the request's `words`, `temperature` and `seed` (`parameters`; a row's own come first)."
        given = {k: parameters[k] for k in ('words', 'temperature', 'seed') if k in parameters}
        return [{**given, **r} for r in inputs]

    def infer_verb(self, models, card, verb, columns, parameters):
        "Each beginning's next-token distribution (a failed one: zeros and its error)."
        col = (card.get('schema') or {}).get('text_column') or 'text'
        texts = [c.decode(errors='replace') if isinstance(c, bytes) else c for c in columns[col]]
        probs, vocab, errors = models.distribution(card['name'], texts, version=card['version'])
        return [dict(name='probabilities', datatype='FP32', shape=[len(texts), len(vocab)], data=probs,
                     parameters={'classes': json.dumps(vocab)}),
                dict(name='error', datatype='BYTES', shape=[len(texts)], data=errors)]

    def example_calls(self, card, url):
        "A continuation written as it comes (`/v1/.../generate`, streamed), then the beginnings asked as rows."
        from predictors.kinds.inputs import AUTH, shell_quoted
        body = shell_quoted(dict(text='See you', words=20, seed=42, stream=True))
        return [('curl (written as it comes)', f"curl -sN {url}/v1/models/{card['name']}/generate -H {AUTH} \\\n  "
                                               f"-H 'Content-Type: application/json' -d '{body}'"),
                *self.input.example_calls(card, url)]

"""Rebuilding a language model from a fastai 2.0–2.7 export (the language model kind's `rebuild`).

An old `language_model_learner` export is one text pipeline (a `Tokenizer` and `Numericalize`, no class labels) read by
an `LMDataLoader`. The tokenizer is made again as a text classifier's is (`predictors.kinds.words.legacy`), the vocab
from `Numericalize`; the learner is fastai 2.8's `LMLearner` over the exported model, weights untouched.
"""
from __future__ import annotations

from predictors.core.errors import ModelError
from predictors.kinds.legacy import OldParts, items, old_name, state
from predictors.kinds.words.legacy import is_text, short, tokenizer

__all__ = ['is_old_lm', 'rebuild_lm']


def is_old_lm(parts: OldParts) -> bool:
    "Whether an old export is a language model: its data is text alone, read by an `LMDataLoader`."
    return (bool(parts.pipelines) and is_text(parts.transforms(0))
            and (len(parts.pipelines) == 1 or old_name(parts.dl).endswith('LMDataLoader')))


def rebuild_lm(parts: OldParts):
    "A fastai 2.8 `LMLearner` from an old language model export's parts."
    from fastai.data.core import Datasets, TfmdLists
    from fastai.losses import CrossEntropyLossFlat
    from fastai.text.data import Numericalize
    from fastai.text.learner import LMLearner
    x_tfms = parts.transforms(0)
    tok = tokenizer(next(t for t in x_tfms if short(t) == 'Tokenizer'))
    old_num = next((t for t in x_tfms if short(t) == 'Numericalize'), None)
    if old_num is None: raise ModelError('this export cannot be served: its text is not numericalized (no Numericalize).')
    vocab = [str(v) for v in items(state(old_num).get('vocab'))]
    if type(parts.model).__name__ != 'SequentialRNN' or len(parts.model) < 2:
        raise ModelError(f'this language model export holds a {type(parts.model).__name__}: the apps serve '
                         'language_model_learner models (an encoder and a LinearDecoder).')
    dsets = Datasets(tls=[TfmdLists(['xxbos x'], [tok, Numericalize(vocab=vocab)], splits=[[0], [0]])], n_inp=1)
    dls = dsets.dataloaders(bs=1, num_workers=0)
    return LMLearner(dls, parts.model, loss_func=CrossEntropyLossFlat())

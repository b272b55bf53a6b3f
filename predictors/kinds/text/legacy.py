"""Rebuilding a text classifier from a fastai 2.0–2.7 export (the text kind's `rebuild`).

The tokenizer is made again from what was pickled (`predictors.kinds.words.legacy`); `Numericalize` from its vocab; the padding (`Pad_Chunk`, or 2.0–2.2's `partial(pad_input_chunk, …)`)
from its pad index, side and sequence length; the class vocab from `Categorize`. The model is the exported module,
weights untouched. A tokenizer other than spaCy's (SentencePiece), or a rule from the exporter's own code, is
refused with its name.
"""
from __future__ import annotations

from predictors.core.errors import ModelError
from predictors.kinds.legacy import OldParts, items, state
from predictors.kinds.words.legacy import is_text, short as _short, tokenizer as _tokenizer

__all__ = ['is_text', 'rebuild_text']


def _padding(dl):
    "fastai 2.8's `Pad_Chunk` with the old padding's pad index, side and sequence length."
    from fastai.text.data import Pad_Chunk
    args = dict(pad_idx=1, pad_first=True, seq_len=72)
    for f in items(state(state(dl).get('before_batch')).get('fs')):
        d, kw = state(f), getattr(f, 'keywords', None)          # a Pad_Chunk's state, or a partial's keywords
        stored = {**(d.get('__stored_args__') or {}), **{k: d[k] for k in args if k in d}, **(d.get('_kwargs') or {}),
                  **(kw if isinstance(kw, dict) else {})}
        args.update({k: stored[k] for k in args if stored.get(k) is not None})
    return Pad_Chunk(**args)


def rebuild_text(parts: OldParts):
    "A fastai 2.8 text classifier from an old export's parts (`is_text` of its input's transforms)."
    from fastai.data.core import Datasets, TfmdLists
    from fastai.data.transforms import Categorize
    from fastai.learner import Learner
    from fastai.text.data import Numericalize, SortedDL
    x_tfms, dl = parts.transforms(0), parts.dl
    tok = _tokenizer(next(t for t in x_tfms if _short(t) == 'Tokenizer'))
    old_num = next((t for t in x_tfms if _short(t) == 'Numericalize'), None)
    if old_num is None: raise ModelError('this export cannot be served: its text is not numericalized (no Numericalize).')
    vocab = [str(v) for v in items(state(old_num).get('vocab'))]
    cats = [t for t in parts.transforms(1) if _short(t) == 'Categorize']
    if not cats: raise ModelError('this export cannot be served: its label is not a category (no Categorize): the text '
                                  'app serves text classifiers, not language models.')
    classes = items(state(cats[0])['vocab'])
    dsets = Datasets(tls=[TfmdLists(['xxbos x'], [tok, Numericalize(vocab=vocab)], splits=[[0], [0]]),
                          TfmdLists([classes[0]], [Categorize(vocab=classes, sort=False)], splits=[[0], [0]])], n_inp=1)
    dls = dsets.dataloaders(bs=int(state(dl).get('bs') or 64), num_workers=0, before_batch=_padding(dl),
                            dl_type=SortedDL)
    return Learner(dls, parts.model, loss_func=parts.loss())

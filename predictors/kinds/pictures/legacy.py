"""Rebuilding a model that reads pictures from a fastai 2.0–2.7 export (a kind's `rebuild`: the single- and the
multi-label image classifier's): every item and batch transform is made again from the arguments it was created with
(`Resize` size and method, `Normalize` statistics, the augmentations, whose inference path still resizes), with the
input type and the vocab; the model is the exported module, weights untouched. A multi-label export
(`MultiCategorize`, a BCE loss) keeps its loss's `thresh`. A transform of the exporter's own is refused with its name.
"""
from __future__ import annotations

from predictors.core.errors import ModelError
from predictors.kinds.legacy import OldParts, items, old_name, rebuild_object, state

__all__ = ['picture_target', 'rebuild_pictures']

_MULTI_Y = {'MultiCategorize', 'EncodedMultiCategorize'}    # a multi-label target
_IMAGE_TYPES = {'PILImage': 'PILImage', 'PILImageBW': 'PILImageBW', 'PILBase': 'PILImage'}


def _input_type(parts: OldParts) -> str | None:
    "The picture type an old export's input is made with ('PILImage', 'PILImageBW'), or None: it reads no pictures."
    if not parts.pipelines: return None
    x_type = None
    for t in parts.transforms(0):
        enc = state(t).get('init_enc')
        n = old_name(enc) if enc is not None else ''
        for k, v in _IMAGE_TYPES.items():
            if f'.{k}.create' in n or state(t).get('_name') == f'{k}.create': x_type = v
    return x_type


def picture_target(parts: OldParts) -> str | None:
    """What an old export that reads pictures answers: 'classes' (`Categorize`) or 'labels' (`MultiCategorize`); None
    for an export that reads no pictures; `ModelError` for one that does but cannot be served."""
    if _input_type(parts) is None: return None
    n_inp, tls = state(parts.ds).get('n_inp', 1), parts.pipelines
    if n_inp != 1 or len(tls) != 2:
        raise ModelError(f'this export cannot be served: it takes {n_inp} inputs and {len(tls) - n_inp} targets; '
                         'the image app serves one image and one label.')
    for t in parts.transforms(1):
        short = old_name(t).rpartition('.')[2]
        if short == 'Categorize': return 'classes'
        if short in _MULTI_Y: return 'labels'
    raise ModelError('this export cannot be served: its label is not a category (no Categorize or MultiCategorize).')


def rebuild_pictures(parts: OldParts):
    "A fastai 2.8 `Learner` of pictures from an old export's parts (`picture_target` said it is one)."
    import numpy as np
    from PIL import Image
    import fastai.vision.core as vcore
    from fastai.data.core import Datasets, TfmdLists
    from fastai.learner import Learner
    multi = picture_target(parts) == 'labels'
    vocab = next(items(state(t)['vocab']) for t in parts.transforms(1)
                 if old_name(t).rpartition('.')[2] in ('Categorize', *_MULTI_Y))
    tfms = {}
    for stage in ('after_item', 'before_batch', 'after_batch'):
        tfms[stage] = [x for x in (rebuild_object(t, f'{stage.replace("_", "-")} transforms', parts.dropped)
                                   for t in items(state(state(parts.dl).get(stage)).get('fs'))) if x is not None]
    create = getattr(vcore, _input_type(parts)).create
    blank = Image.fromarray(np.full((8, 8, 3), 128, np.uint8))
    dsets = Datasets(tls=[TfmdLists([blank], [create], splits=[[0], [0]]), _labels(vocab, multi)], n_inp=1)
    dls = dsets.dataloaders(bs=int(state(parts.dl).get('bs') or 64), num_workers=0, **tfms)
    return Learner(dls, parts.model, loss_func=parts.loss())


def _labels(vocab: list, multi: bool):
    "The target's transforms of one placeholder item: a class (`Categorize`), or a set of labels, one-hot encoded."
    from fastai.data.core import TfmdLists
    from fastai.data.transforms import Categorize, MultiCategorize, OneHotEncode
    if multi: return TfmdLists([[vocab[0]]], [MultiCategorize(vocab=vocab), OneHotEncode(len(vocab))], splits=[[0], [0]])
    return TfmdLists([vocab[0]], [Categorize(vocab=vocab, sort=False)], splits=[[0], [0]])

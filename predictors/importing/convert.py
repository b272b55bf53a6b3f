"""Rebuilding a fastai 2.8 learner from a fastai 2.0–2.7 export, or one of the fastai2 pre-release (read by
`predictors.importing.legacy`).

Tabular: the column names, the fitted `Categorify` classes, `FillMissing`'s fill values, the
`Normalize` means and standard deviations and the target (a vocab, or a number) go into a new
`TabularPandas` whose procs carry exactly that state. Images: every item and batch transform is made
again from the arguments it was created with (`Resize` size and method, `Normalize` statistics, the
augmentations, whose inference path still resizes), with the input type and the vocab. The model is
the exported module itself, weights untouched. What predicting does not need — callbacks, recorders,
progress bars and their display handles, metrics, loggers, training-only transforms, anything this
Python cannot find — is left out and listed on the card (`converted_from.left_out`). What cannot be
rebuilt (a transform, proc or loss from the exporter's own code, a tabular multi-label target) is refused
with a message naming it. A multi-label image export (`MultiCategorize`, a BCE loss) keeps its loss's `thresh`.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path

from predictors.importing.convert_text import is_text, rebuild_text
from predictors.importing.legacy import OldObject, find_object, old_name, read_old_export
from predictors.core.store import ModelError

__all__ = ['Conversion', 'convert_old_export', 'read_learner']

_TABULAR_PROCS = {'fastai.tabular.core.Categorify', 'fastai.tabular.core.FillMissing',
                  'fastai.data.transforms.Normalize', 'fastai.data.transforms.Categorize',
                  'fastai.data.transforms.RegressionSetup'}
_MULTI_Y = {'MultiCategorize', 'EncodedMultiCategorize'}    # a multi-label target (images only)
_IMAGE_TYPES = {'PILImage': 'PILImage', 'PILImageBW': 'PILImageBW', 'PILBase': 'PILImage'}


@dataclass
class Conversion:
    "A fastai 2.8 learner rebuilt from an old export, with what the card says about it."
    learn: object
    fastai: str
    dropped: list = field(default_factory=list)
    how: str = ('read without fastai < 2.8 and rebuilt as a fastai 2.8 learner (predictors.importing.convert): '
                'same procs or transforms, same model and weights')

    def card_fields(self, path) -> dict:
        return dict(converted_from=dict(fastai=self.fastai, file=Path(path).name, how=self.how, left_out=self.dropped))


def _d(o) -> dict:
    return o.__dict__ if isinstance(o, OldObject) else {}


def _items(o) -> list:
    "The items of an old `L` (or `CategoryMap`, `Pipeline.fs`), as a plain list."
    while isinstance(o, OldObject):
        d = _d(o)
        o = d['items'] if 'items' in d else d.get('fs', o._items or list(o._args))
        if o is None: return []
    return list(o or [])


def _plain(v):
    "Old containers as plain Python ones (`L` -> list, `fastuple` -> tuple), recursively."
    if isinstance(v, OldObject):
        n = old_name(v)
        if n.endswith('.fastuple'):      # pickled as fastuple.__new__(cls, (items...))
            a = v._args[0] if len(v._args) == 1 and isinstance(v._args[0], (tuple, list)) else v._args
            return tuple(_plain(x) for x in a)
        if 'items' in _d(v) or n.endswith('.L'): return [_plain(x) for x in _items(v)]
        return v
    if isinstance(v, list): return [_plain(x) for x in v]
    if isinstance(v, tuple): return tuple(_plain(x) for x in v)
    if isinstance(v, dict) and type(v) is dict: return {k: _plain(x) for k, x in v.items()}
    return v


def _short(name: str) -> str:
    mod, _, cls = name.rpartition('.')
    where = ('the notebook or script that exported it (`__main__`)' if mod == '__main__'
             else f'module `{mod}`')
    return f'`{cls}`, defined in {where},'


def _refuse(what: str, name: str, hint: str = '') -> ModelError:
    return ModelError(f"this fastai < 2.8 export cannot be converted: its {what} {_short(name)} which "
                      f"cannot be rebuilt for fastai 2.8. {hint}".strip())


def _real(name: str):
    "The fastai 2.8 class of an old fastai class name, or None."
    mod, _, cls = name.rpartition('.')
    obj = find_object(mod, cls) if mod.startswith('fastai') else None
    return obj if isinstance(obj, type) else None


def _training_only(t) -> bool:
    return _d(t).get('split_idx') == 0


def _rebuild(t, where: str, dropped: list):
    "A fastai 2.8 transform (or loss) made from an old one's stored arguments and state."
    name = old_name(t)
    real = _real(name)
    if real is None:
        if _training_only(t):
            dropped.append(f'{name} ({where}, training only)')
            return None
        raise _refuse(f'{where} include', name,
                      'Move it into an importable module, or remove it, and export again with fastai 2.8.')
    state = _d(t)
    args = dict(state.get('__stored_args__') or {})
    for k, v in list(args.items()):
        if v is None and state.get(k) is not None: args[k] = state[k]     # fitted in setups (Normalize stats, vocab)
    params = inspect.signature(real.__init__).parameters
    kw = {k: _plain(v) for k, v in args.items() if k in params and k != 'self'}
    try:
        return _made(real, kw)
    except Exception as e:
        raise ModelError(f'this fastai < 2.8 export cannot be converted: `{name.rpartition(".")[2]}` could not '
                         f'be made again with its arguments {sorted(kw)} ({type(e).__name__}: {e}).') from None


def _made(real, kw: dict):
    """`real(**kw)`, leaving out an argument the class passes on itself (`BCEWithLogitsLossFlat` sets `is_2d` for its
    `BaseLoss`: "got multiple values for keyword argument 'is_2d'")."""
    import re
    while True:
        try:
            return real(**kw)
        except TypeError as e:
            m = re.search(r"multiple values for keyword argument '(\w+)'", str(e))
            if not m or m.group(1) not in kw: raise
            kw = {k: v for k, v in kw.items() if k != m.group(1)}


def _version(old) -> str:
    "fastai 2.7 wrote `pin_memory_device` into its data loaders; earlier 2.x did not."
    for dl in _items(_d(_d(old).get('dls')).get('loaders')):
        if 'pin_memory_device' in _d(_d(dl).get('fake_l')): return '2.7'
    return '2.0–2.6'


def _callbacks(old, listed=frozenset()) -> list[str]:
    """The callbacks that are not fastai's own (nor `listed` already), as left out: callbacks act in `fit` and
    `get_preds`, and the apps call the model itself, so none of them changes an answer here."""
    names = [old_name(cb) for cb in _items(_d(old).get('cbs'))]
    return [f'{n} (a callback: the apps call the model directly)' for n in names
            if not n.startswith('fastai.') and n not in listed]


def _loss(old, dropped):
    import torch
    loss = _d(old).get('loss_func')
    if isinstance(loss, torch.nn.Module): return loss        # a torch loss, loaded as itself
    name = old_name(loss) if loss is not None else ''
    if _real(name) is None:
        raise _refuse('loss function is', name, 'The apps need to know how its outputs become probabilities.')
    new = _rebuild(loss, 'loss', dropped)
    if isinstance(_d(loss).get('thresh'), (int, float)): new.thresh = float(_d(loss)['thresh'])   # a multi-label loss
    return new


def _model(old):
    import torch
    model = _d(old).get('model')
    if not isinstance(model, torch.nn.Module):
        raise _refuse('model is', old_name(model), 'Give the file that defines the model class: `python -m predictors '
                      'import FILE --name NAME --code FILE.py` (repeat --code for more files).')
    for m in model.modules():            # fastcore's `L` kept by a module (an AWD-LSTM's `layer_names`): a list
        for k, v in list(vars(m).items()):
            if isinstance(v, OldObject): m.__dict__[k] = _plain(v)
    return model.eval()


def read_learner(path, code=()) -> tuple:
    """`(learner, Conversion or None)` of an exported file: a fastai 2.8 export loaded as it is, one of
    fastai 2.0–2.7 rebuilt (`convert_old_export`); `code`: .py files whose names stand in for the exporter's
    `__main__`. `ModelError` says why a file cannot be used."""
    from predictors.core.store import load_learner_file
    from predictors.importing.legacy import identify, is_old_export
    why = identify(path)
    if why: raise ModelError(why)
    try:
        if not is_old_export(path):
            try:
                return load_learner_file(path, code), None
            except ModelError as e:
                return _rebuilt_28(path, code, e)
        conv = convert_old_export(path, code)
    except ModelError:
        raise
    except Exception as e:  # noqa: BLE001 - whatever a file holds, the person gets a reason, never a traceback
        raise ModelError(f'the file cannot be read as a fastai learner ({type(e).__name__}: {e}).') from None
    return conv.learn, conv


def _rebuilt_28(path, code, refused: ModelError) -> tuple:
    """A fastai 2.8 export that `load_learner` refused (it names something this Python cannot find: a logger's
    callback, a metric of a package not installed), rebuilt as an old export is when what is missing is not
    needed to predict; else the first refusal, which names what is missing."""
    try:
        conv = convert_old_export(path, code)
    except Exception:  # noqa: BLE001 - the first reason is the one that helps
        raise refused from None
    conv.fastai, conv.how = '2.8', ('read with stand-ins for what this Python cannot find, and rebuilt as a '
                                    'fastai 2.8 learner (predictors.importing.convert): same procs or transforms, '
                                    'same model and weights')
    return conv.learn, conv


def convert_old_export(path, code=()) -> Conversion:
    "Read a fastai 2.0–2.7 export and rebuild it as a fastai 2.8 learner; `ModelError` says what stops it."
    old, missing = read_old_export(path, code)
    if not isinstance(old, OldObject) or 'dls' not in _d(old) or 'model' not in _d(old):
        raise ModelError('the file is not a fastai learner export (no data loaders and model in it).')
    dropped: list = [f'{n} (not found here, not needed to predict)' for n in missing] + _callbacks(old, set(missing))
    loaders = _items(_d(_d(old)['dls']).get('loaders'))
    if not loaders: raise ModelError('the export has no data loaders to take its processing from.')
    dl = loaders[-1]
    ds = _d(dl).get('dataset')
    model, version = _model(old), _version(old)
    if 'procs' in _d(ds): learn = _tabular(ds, model)
    elif 'tls' in _d(ds) and is_text(_items(_d(_items(_d(ds)['tls'])[0]).get('tfms'))):
        learn = rebuild_text(_items(_d(ds)['tls']), dl, model, _loss(old, dropped), _items)
    elif 'tls' in _d(ds): learn = _image(ds, dl, model, _loss(old, dropped), dropped)
    else: raise ModelError(f'the export\'s data ({old_name(ds)}) is neither tabular, images nor text.')
    return Conversion(learn, version, dropped)


# ---- tabular --------------------------------------------------------------------------------
def _tabular(to, model):
    import numpy as np
    import pandas as pd
    from fastai.tabular.all import (Categorify, CategoryBlock, CategoryMap, CrossEntropyLossFlat, FillMissing,
                                    FillStrategy, MSELossFlat, Normalize, RegressionBlock, TabularLearner, TabularPandas)
    procs = {old_name(p): p for p in _items(_d(to)['procs'])}
    for name in procs:
        short = name.rpartition('.')[2]
        if short in _MULTI_Y: raise ModelError('this export cannot be served: it is a tabular multi-label '
                                               'classifier (several classes per row); the apps serve one class per row.')
        if name not in _TABULAR_PROCS:
            raise _refuse('data processing includes', name,
                          'Only Categorify, FillMissing and Normalize can be rebuilt.')
    target = procs.get('fastai.data.transforms.Categorize')
    number = 'fastai.data.transforms.RegressionSetup' in procs
    if target is None and not number:
        raise ModelError('this export cannot be served: its target is neither a category (Categorize) nor a number '
                         '(RegressionSetup).')
    cat_names, cont_names, y_names = (list(_plain(_d(to)[k])) for k in ('cat_names', 'cont_names', 'y_names'))
    if number and len(y_names) != 1: raise ModelError(f'this export predicts {len(y_names)} numbers at once; the apps serve one.')
    vocab = _items(_d(target)['vocab']) if target is not None else None
    cat = procs.get('fastai.tabular.core.Categorify')
    classes = {c: _items(v) for c, v in (_d(cat).get('classes') or {}).items()} if cat else {}
    fill = procs.get('fastai.tabular.core.FillMissing')
    na_dict = dict(_d(fill).get('na_dict') or {}) if fill else {}
    add_col = bool(_d(fill).get('add_col', True)) if fill else False
    norm = procs.get('fastai.data.transforms.Normalize')
    derived = {f'{c}_na' for c in na_dict} if add_col else set()
    base_cats = [c for c in cat_names if c not in derived]

    # a two-row frame to set the procs up with; their state is then replaced by the old one
    df = pd.DataFrame({c: [classes[c][1] if len(classes.get(c, [])) > 1 else 'x'] * 2 for c in base_cats}, index=range(2))
    for c in cont_names: df[c] = [np.nan if c in na_dict else 0.0, 1.0]
    for y in y_names: df[y] = [0.0, 1.0] if number else [vocab[0], vocab[-1]]
    new_procs = []
    if cat: new_procs.append(Categorify)
    if fill:
        strategy = _d(fill).get('fill_strategy')
        sname = (strategy if isinstance(strategy, str) else old_name(strategy)).rpartition('.')[2]
        fill_vals = _d(fill).get('fill_vals')
        new_procs.append(FillMissing(fill_strategy=getattr(FillStrategy, sname, FillStrategy.median), add_col=add_col,
                                     **({'fill_vals': fill_vals} if fill_vals is not None else {})))
    if norm: new_procs.append(Normalize)
    tp = TabularPandas(df, procs=new_procs, cat_names=base_cats, cont_names=cont_names, y_names=y_names,
                       y_block=RegressionBlock() if number else CategoryBlock(vocab=vocab, sort=False),
                       splits=([0, 1], [0, 1]))
    if list(tp.cat_names) != cat_names:
        raise ModelError(f'this export cannot be converted: its categorical columns {cat_names} could not be '
                         f'set up again in the same order (got {list(tp.cat_names)}).')
    for p in tp.procs:
        if isinstance(p, Categorify):
            p.classes = {c: CategoryMap(v[1:], sort=False, add_na=True) if v and v[0] == '#na#'
                         else CategoryMap(v, sort=False) for c, v in classes.items()}
        elif isinstance(p, FillMissing): p.na_dict = na_dict
        elif isinstance(p, Normalize):
            p.means = {c: float(v) for c, v in _d(norm)['means'].items()}
            p.stds = {c: float(v) for c, v in _d(norm)['stds'].items()}
    _check_tabular_model(model, cat_names, cont_names)
    dls = tp.dataloaders(bs=64, num_workers=0)
    return TabularLearner(dls, model, loss_func=MSELossFlat() if number else CrossEntropyLossFlat())


def _check_tabular_model(model, cat_names, cont_names):
    embeds, n_cont = getattr(model, 'embeds', None), getattr(model, 'n_cont', None)
    if embeds is not None and len(embeds) != len(cat_names):
        raise ModelError(f'this export cannot be converted: its model has {len(embeds)} category embeddings '
                         f'but its data processing gives {len(cat_names)} categorical columns.')
    if n_cont is not None and n_cont != len(cont_names):
        raise ModelError(f'this export cannot be converted: its model takes {n_cont} numbers but its data '
                         f'processing gives {len(cont_names)}.')


# ---- images ---------------------------------------------------------------------------------
def _image(ds, dl, model, loss, dropped):
    import numpy as np
    from PIL import Image
    import fastai.vision.core as vcore
    from fastai.data.core import Datasets, TfmdLists
    from fastai.learner import Learner
    tls = _items(_d(ds)['tls'])
    n_inp = _d(ds).get('n_inp', 1)
    if n_inp != 1 or len(tls) != 2:
        raise ModelError(f'this export cannot be served: it takes {n_inp} inputs and {len(tls) - n_inp} targets; '
                         'the image app serves one image and one label.')
    x_type = None
    for t in _items(_d(tls[0])['tfms']):
        enc = _d(t).get('init_enc')
        n = old_name(enc) if enc is not None else ''
        for k, v in _IMAGE_TYPES.items():
            if f'.{k}.create' in n or _d(t).get('_name') == f'{k}.create': x_type = v
    if x_type is None:
        raise ModelError('this export cannot be served: its input is not an image opened by PILImage.create.')
    vocab, multi = None, False
    for t in _items(_d(tls[1])['tfms']):
        short = old_name(t).rpartition('.')[2]
        if short == 'Categorize' or short in _MULTI_Y: vocab, multi = _items(_d(t)['vocab']), short in _MULTI_Y
    if not vocab: raise ModelError('this export cannot be served: its label is not a category (no Categorize or '
                                   'MultiCategorize).')
    tfms = {}
    for stage in ('after_item', 'before_batch', 'after_batch'):
        tfms[stage] = [x for x in (_rebuild(t, f'{stage.replace("_", "-")} transforms', dropped)
                                   for t in _items(_d(_d(dl).get(stage)).get('fs'))) if x is not None]
    create = getattr(vcore, x_type).create
    blank = Image.fromarray(np.full((8, 8, 3), 128, np.uint8))
    dsets = Datasets(tls=[TfmdLists([blank], [create], splits=[[0], [0]]),
                          _labels(vocab, multi)], n_inp=1)
    dls = dsets.dataloaders(bs=int(_d(dl).get('bs') or 64), num_workers=0, **tfms)
    return Learner(dls, model, loss_func=loss)


def _labels(vocab: list, multi: bool):
    "The target's transforms of one placeholder item: a class (`Categorize`), or a set of labels, one-hot encoded."
    from fastai.data.core import TfmdLists
    from fastai.data.transforms import Categorize, MultiCategorize, OneHotEncode
    if multi: return TfmdLists([[vocab[0]]], [MultiCategorize(vocab=vocab), OneHotEncode(len(vocab))], splits=[[0], [0]])
    return TfmdLists([vocab[0]], [Categorize(vocab=vocab, sort=False)], splits=[[0], [0]])

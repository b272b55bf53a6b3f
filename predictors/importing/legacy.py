"""Learners exported by fastai 2.0–2.7, read without the old library.

fastai 2.8 moved its transforms from `fastcore.transform`/`fastcore.dispatch` to `fasttransform`,
so `load_learner` refuses every older export. `read_old_export` unpickles such a file with
stand-ins (`OldObject`) for every fastai and fastcore object that is not a tensor or a torch
module: each stand-in keeps its class's dotted name and the state that was pickled (its
attributes, its list items, its dict items: `predictors.kinds.legacy.OldObject`). Models and tensors load as
themselves, so the weights are untouched. `predictors.importing.convert` has the kinds rebuild a fastai 2.8 learner
from that state.
"""
from __future__ import annotations

import io
import pickle
import pickletools
import threading
import types
import zipfile
from pathlib import Path

from predictors.core.code import MOVED, RenamingUnpickler
from predictors.kinds.legacy import OldObject, find_object, stand_in
from predictors.core.code import load_code

__all__ = ['is_old_export', 'read_old_export', 'modern_name', 'identify', 'OldObject', 'stand_in']

# modules whose objects always become stand-ins (gone, or changed, in fastai 2.8)
_STAND_IN_ROOTS = ('fastai', 'fastcore', 'fasttransform', '__main__')


# pandas objects that hold a frame's data: a frame pickled by pandas 1.x cannot be rebuilt by pandas 2.x
# ("Argument 'placement' has incorrect type"), and the one in a learner (its TabularPandas' rows) is not
# needed to predict, so they are stand-ins too
_PANDAS_DATA = ('pandas.core.frame', 'pandas.core.series', 'pandas.core.internals', 'pandas._libs.internals')


def modern_name(module: str) -> str:
    "Where a pickled module is now: the fastai2 pre-release became fastai; modules that moved (`MOVED`)."
    if module == 'fastai2' or module.startswith('fastai2.'): module = 'fastai' + module[len('fastai2'):]
    return MOVED.get(module, module)


class _Unpickler(RenamingUnpickler):
    """Stand-ins for fastai, fastcore and `__main__` objects that are not torch modules or tensors, for the data
    of pandas frames, and for whatever else this Python cannot find (a progress bar's display handle of an older
    IPython, a metric from a package not installed): each one met is noted for `read_old_export`."""

    def find_class(self, module, name):
        module = modern_name(module)
        if module.startswith(_PANDAS_DATA): return stand_in(module, name)
        if module.split('.')[0] not in _STAND_IN_ROOTS:
            try:
                return super().find_class(module, name)
            except (ImportError, AttributeError):
                getattr(_READING, 'missing', set()).add(f'{module}.{name}')
                return stand_in(module, name)
        real = (find_object(module, name) if module != '__main__' else
                next((getattr(m, name) for m in getattr(_READING, 'code', []) if hasattr(m, name)), None))
        if isinstance(real, type):
            import torch
            if issubclass(real, (torch.nn.Module, torch.Tensor)): return real
        return stand_in(module, name)


_READING = threading.local()      # what the read under way in this thread could not find


_pickle_module = types.SimpleNamespace(Unpickler=_Unpickler, load=lambda f, **kw: _Unpickler(f, **kw).load(),
                                       __name__='predictors.legacy')


def _strings(data: bytes, pickles: int = 1) -> set[str]:
    "The strings (module and class names among them) of the first `pickles` pickles in `data`, none unpickled."
    out, f = set(), io.BytesIO(data)
    for _ in range(pickles):
        if f.tell() >= len(data): break
        out |= {arg.split(' ')[0] if op.name == 'GLOBAL' else arg for op, arg, _ in pickletools.genops(f)
                if op.name in ('SHORT_BINUNICODE', 'BINUNICODE', 'UNICODE', 'BINUNICODE8', 'GLOBAL', 'SHORT_BINSTRING',
                               'BINSTRING')}
    return out


def _pickle_strings(path) -> set[str]:
    "The strings (module and class names among them) of a torch-saved pickle, read without unpickling it."
    with zipfile.ZipFile(path) as z:
        name = next((n for n in z.namelist() if n.endswith('/data.pkl') or n == 'data.pkl'), None)
        if name is None: return set()
        data = z.read(name)
    return _strings(data)


_V1 = ('fastai.basic_train', 'fastai.basic_data', 'fastai.data_block', 'fastai.callbacks')   # fastai v1's own modules
_V1_ADVICE = ('fastai 2 cannot read fastai v1 files at all. Load it with fastai 1.0 where it was made, and either '
              'retrain with fastai 2 (the same data and recipe usually take a few lines: see docs.fast.ai) or export '
              'its model\'s weights (`torch.save(learn.model.state_dict(), …)`) to rebuild the learner in fastai 2.')


def identify(path) -> str | None:
    """Why the file at `path` is no fastai 2 learner export, in plain words with what to do (None: it may be one).
    Reads bytes and pickle strings only: nothing in the file is run."""
    with open(path, 'rb') as f:
        head = f.read(1 << 20)
    if not head: return 'the file is empty (0 bytes): export the learner again, or download it again.'
    text = head[:512].lstrip().lower()
    if text.startswith((b'<!doctype', b'<html', b'<?xml', b'{"', b'version https://git-lfs')):
        what = ('a Git LFS pointer, not the file it points to: fetch the real file (`git lfs pull`)'
                if text.startswith(b'version https://git-lfs') else
                'a web page or text, not a learner export: download the raw file (the "Raw" or "Download" link), '
                'not the page that shows it')
        return f'the file is {what}.'
    if head[:4] == b'PK\x03\x04':
        try:
            names = _pickle_strings(path)
        except (zipfile.BadZipFile, EOFError, ValueError, pickle.UnpicklingError):
            return 'the file is cut short or damaged (not a complete export): download or export it again.'
    else:
        with open(path, 'rb') as f: data = f.read()
        try:
            names = _strings(data, pickles=4)        # a pre-zip torch file: magic, protocol, system, the object
        except (EOFError, ValueError, pickle.UnpicklingError, IndexError):
            return 'the file is neither a torch export nor a readable pickle (cut short, or another format).'
    modules = {n.split(' ')[0] for n in names}
    if any(m.startswith(_V1) for m in modules) or 'FlattenedLoss' in names and 'fastai.layers' in modules:
        return f'this is a fastai v1 export (2018–2020: `fastai.basic_train.Learner`). {_V1_ADVICE}'
    if any(m.startswith('sklearn.') for m in modules) and not any(m.startswith(('fastai', 'fastcore')) for m in modules):
        return ('this is a scikit-learn model, not a fastai learner: the apps serve fastai learners '
                '(`learn.export()` in fastai 2).')
    if not any(m.startswith(('fastai', 'fastcore')) for m in modules):
        return 'the file holds no fastai learner (nothing from fastai in it): export one with `learn.export()`.'
    return None


def is_old_export(path) -> bool:
    """Whether `path` is a learner exported by fastai 2.0–2.7 (it refers to `fastcore.transform`/`dispatch`)
    or by the fastai2 pre-release of 2020 (every name under `fastai2.`)."""
    try:
        names = _pickle_strings(path)
    except (zipfile.BadZipFile, OSError, ValueError, pickle.UnpicklingError, EOFError):
        return False
    return bool({'fastcore.transform', 'fastcore.dispatch'} & names) or any(n.startswith('fastai2.') for n in names)


def read_old_export(path, code=()):
    """The learner of an old export as stand-ins (models and tensors real), on the CPU, and the dotted names of
    what this Python could not find (stand-ins too); `code`: .py files whose classes stand in for `__main__`'s."""
    import torch
    _READING.missing, _READING.code = set(), load_code(code)
    try:
        old = torch.load(Path(path), map_location='cpu', pickle_module=_pickle_module, weights_only=False)
        return old, sorted(_READING.missing)
    finally:
        del _READING.missing, _READING.code

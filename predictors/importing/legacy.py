"""Learners exported by fastai 2.0–2.7, read without the old library.

fastai 2.8 moved its transforms from `fastcore.transform`/`fastcore.dispatch` to `fasttransform`,
so `load_learner` refuses every older export. `read_old_export` unpickles such a file with
stand-ins (`OldObject`) for every fastai and fastcore object that is not a tensor or a torch
module: each stand-in keeps its class's dotted name and the state that was pickled (its
attributes, its list items, its dict items). Models and tensors load as themselves, so the
weights are untouched. `predictors.convert` rebuilds a fastai 2.8 learner from that state.
"""
from __future__ import annotations

import importlib
import io
import pickle
import pickletools
import types
import zipfile
from pathlib import Path

from predictors.core.store import MOVED, RenamingUnpickler

__all__ = ['OldObject', 'old_name', 'stand_in', 'find_object', 'is_old_export', 'read_old_export']

# modules whose objects always become stand-ins (gone, or changed, in fastai 2.8)
_STAND_IN_ROOTS = ('fastai', 'fastcore', '__main__')


class _OldMeta(type):
    "Class-level attribute lookups on a stand-in class (`FillStrategy.median`) give stand-ins too."
    def __getattr__(cls, attr):
        if attr.startswith('__'): raise AttributeError(attr)
        return stand_in(cls._module, f'{cls._name}.{attr}')


class OldObject(metaclass=_OldMeta):
    """A pickled object of a class that fastai 2.8 no longer has (or that we do not trust to load).

    `old_name(o)` is its class's dotted name; its pickled attributes are its attributes; `_args`,
    `_items` and `_map` hold the constructor arguments, list items and dict items that were pickled.
    """
    _module, _name = '', ''

    def __new__(cls, *args, **kwargs):
        o = object.__new__(cls)
        o.__dict__.update(_args=args, _kwargs=kwargs, _items=[], _map={}, _state=None)
        return o

    def __init__(self, *args, **kwargs): pass

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2 and (state[0] is None or isinstance(state[0], dict)):
            state = {**(state[0] or {}), **(state[1] or {})}
        if isinstance(state, dict): self.__dict__.update({str(k): v for k, v in state.items()})
        else: self.__dict__['_state'] = state

    def __getattr__(self, attr):
        # a pickled bound method (`getattr(obj, 'name')`); never a dunder, so pickle's own lookups behave
        if attr.startswith('__') or attr in ('_args', '_kwargs', '_items', '_map', '_state'): raise AttributeError(attr)
        return stand_in(self._module, f'{self._name}().{attr}')

    def append(self, x): self._items.append(x)
    def extend(self, xs): self._items.extend(xs)
    def __setitem__(self, k, v): self._map[k] = v
    def __call__(self, *args, **kwargs): return self

    def __repr__(self): return f'<old {self._module}.{self._name}>'


_STAND_INS: dict = {}


def stand_in(module: str, name: str) -> type:
    "The stand-in class for `module.name` (one class per name, so stand-ins of a kind share a type)."
    key = (module, name)
    if key not in _STAND_INS:
        _STAND_INS[key] = _OldMeta(name.split('.')[-1], (OldObject,), dict(_module=module, _name=name))
    return _STAND_INS[key]


def old_name(o) -> str:
    "The dotted class name of a stand-in (or of a real object)."
    t = o if isinstance(o, type) else type(o)
    if issubclass(t, OldObject): return f'{t._module}.{t._name}'
    return f'{t.__module__}.{t.__qualname__}'


def find_object(module: str, name: str):
    "`module.name` (a dotted name: `FillStrategy.median`) as this Python has it, or None."
    try:
        obj = importlib.import_module(module)
        for part in name.split('.'): obj = getattr(obj, part)
        return obj
    except Exception:
        return None


class _Unpickler(RenamingUnpickler):
    def find_class(self, module, name):
        module = MOVED.get(module, module)
        if module.split('.')[0] not in _STAND_IN_ROOTS:
            return super().find_class(module, name)
        real = find_object(module, name) if module != '__main__' else None
        if isinstance(real, type):
            import torch
            if issubclass(real, (torch.nn.Module, torch.Tensor)): return real
        return stand_in(module, name)


_pickle_module = types.SimpleNamespace(Unpickler=_Unpickler, load=lambda f, **kw: _Unpickler(f, **kw).load(),
                                       __name__='predictors.legacy')


def _pickle_strings(path) -> set[str]:
    "The strings (module and class names among them) of a torch-saved pickle, read without unpickling it."
    with zipfile.ZipFile(path) as z:
        name = next((n for n in z.namelist() if n.endswith('/data.pkl') or n == 'data.pkl'), None)
        if name is None: return set()
        data = z.read(name)
    return {arg.split(' ')[0] if op.name == 'GLOBAL' else arg for op, arg, _ in pickletools.genops(io.BytesIO(data))
            if op.name in ('SHORT_BINUNICODE', 'BINUNICODE', 'UNICODE', 'BINUNICODE8', 'GLOBAL')}


def is_old_export(path) -> bool:
    "Whether `path` is a learner exported by fastai 2.0–2.7 (it refers to `fastcore.transform`/`dispatch`)."
    try:
        return bool({'fastcore.transform', 'fastcore.dispatch'} & _pickle_strings(path))
    except (zipfile.BadZipFile, OSError, ValueError, pickle.UnpicklingError):
        return False


def read_old_export(path):
    "The learner of an old export as stand-ins (models and tensors real), on the CPU."
    import torch
    return torch.load(Path(path), map_location='cpu', pickle_module=_pickle_module, weights_only=False)

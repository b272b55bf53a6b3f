"""Reading what a fastai 2.0–2.7 export holds without the old library: the stand-ins its objects are read as
(`OldObject`: each keeps its class's dotted name and the state that was pickled) and the helpers a kind's rebuild
(`ModelKind.rebuild`) makes a fastai 2.8 learner with: an old object's state and items, old containers as plain ones,
a transform or loss made again from its stored arguments (`rebuild_object`), and `OldParts`, the parts of an export a
rebuild starts from. The unpickling itself is `predictors.importing.legacy`'s; the dispatch to the kinds,
`predictors.importing.convert`'s. Plain Python at import (fastai and torch only when a rebuild runs).
"""
from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field

from predictors.core.errors import ModelError

__all__ = ['OldObject', 'stand_in', 'old_name', 'find_object', 'OldParts', 'state', 'items', 'plain', 'refuse',
           'real_class', 'rebuild_object']


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


def state(o) -> dict:
    "The pickled attributes of a stand-in (nothing for a real object)."
    return o.__dict__ if isinstance(o, OldObject) else {}


def items(o) -> list:
    "The items of an old `L` (or `CategoryMap`, `Pipeline.fs`), as a plain list."
    while isinstance(o, OldObject):
        d = state(o)
        o = d['items'] if 'items' in d else d.get('fs', o._items or list(o._args))
        if o is None: return []
    return list(o or [])


def plain(v):
    "Old containers as plain Python ones (`L` -> list, `fastuple` -> tuple), recursively."
    if isinstance(v, OldObject):
        n = old_name(v)
        if n.endswith('.fastuple'):      # pickled as fastuple.__new__(cls, (items...))
            a = v._args[0] if len(v._args) == 1 and isinstance(v._args[0], (tuple, list)) else v._args
            return tuple(plain(x) for x in a)
        if 'items' in state(v) or n.endswith('.L'): return [plain(x) for x in items(v)]
        return v
    if isinstance(v, list): return [plain(x) for x in v]
    if isinstance(v, tuple): return tuple(plain(x) for x in v)
    if isinstance(v, dict) and type(v) is dict: return {k: plain(x) for k, x in v.items()}
    return v


def _short(name: str) -> str:
    mod, _, cls = name.rpartition('.')
    where = ('the notebook or script that exported it (`__main__`)' if mod == '__main__'
             else f'module `{mod}`')
    return f'`{cls}`, defined in {where},'


def refuse(what: str, name: str, hint: str = '') -> ModelError:
    return ModelError(f"this fastai < 2.8 export cannot be converted: its {what} {_short(name)} which "
                      f"cannot be rebuilt for fastai 2.8. {hint}".strip())


def real_class(name: str):
    "The fastai 2.8 class of an old fastai class name, or None."
    mod, _, cls = name.rpartition('.')
    obj = find_object(mod, cls) if mod.startswith('fastai') else None
    return obj if isinstance(obj, type) else None


def _training_only(t) -> bool:
    return state(t).get('split_idx') == 0


def rebuild_object(t, where: str, dropped: list):
    "A fastai 2.8 transform (or loss) made from an old one's stored arguments and state."
    name = old_name(t)
    real = real_class(name)
    if real is None:
        if _training_only(t):
            dropped.append(f'{name} ({where}, training only)')
            return None
        raise refuse(f'{where} include', name,
                      'Move it into an importable module, or remove it, and export again with fastai 2.8.')
    kept = state(t)
    args = dict(kept.get('__stored_args__') or {})
    for k, v in list(args.items()):
        if v is None and kept.get(k) is not None: args[k] = kept[k]     # fitted in setups (Normalize stats, vocab)
    params = inspect.signature(real.__init__).parameters
    kw = {k: plain(v) for k, v in args.items() if k in params and k != 'self'}
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


@dataclass
class OldParts:
    """The parts of an old export a kind rebuilds a learner from: the learner (a stand-in), its last data loader `dl`
    and that loader's dataset `ds`, the model (itself, weights untouched), and what was left out so far (`dropped`)."""
    old: object
    dl: object
    ds: object
    model: object
    dropped: list = field(default_factory=list)

    @property
    def table(self) -> bool:
        "Whether the data are rows of a table (a `TabularPandas`: procs)."
        return 'procs' in state(self.ds)

    @property
    def pipelines(self) -> list:
        "The dataset's type-transform pipelines (the input's first, then the targets'): [] for a table."
        return items(state(self.ds).get('tls')) if 'tls' in state(self.ds) else []

    def transforms(self, i: int) -> list:
        "The transforms of the dataset's `i`-th pipeline."
        return items(state(self.pipelines[i]).get('tfms'))

    def loss(self):
        "The loss, made again for fastai 2.8 (how the model's outputs become probabilities), or `ModelError`."
        return _loss(self.old, self.dropped)


def _loss(old, dropped):
    import torch
    loss = state(old).get('loss_func')
    if isinstance(loss, torch.nn.Module): return loss        # a torch loss, loaded as itself
    name = old_name(loss) if loss is not None else ''
    if real_class(name) is None:
        raise refuse('loss function is', name, 'The apps need to know how its outputs become probabilities.')
    new = rebuild_object(loss, 'loss', dropped)
    if isinstance(state(loss).get('thresh'), (int, float)): new.thresh = float(state(loss)['thresh'])   # a multi-label loss
    return new

"""Where the names in a learner's pickle are found: modules that moved (`MOVED`), and the code a learner
needs that is not in any installed package: the classes and functions a notebook
defined (`__main__.MyModel` in the pickle), given as .py files (`import FILE --code my_model.py`).

Each file is imported as a module of the package `fastai_apps_code`, named for its content (its stem and the
start of its sha256), so two versions of a file never collide and a re-export of the learner names that
module, which the store imports again (checksum first) before it unpickles the model.
"""
from __future__ import annotations

import hashlib
import importlib.util
import pickle
import re
import sys
import types
from pathlib import Path

from predictors.core.errors import ModelError

__all__ = ['CODE_PACKAGE', 'load_code', 'code_pickle', 'MOVED', 'RenamingUnpickler', 'PICKLE']

CODE_PACKAGE = 'fastai_apps_code'

# Modules that learners exported earlier name, and where that code lives now: a pickle names the module of
# every function and class it holds (an image learner trained here before #23 holds
# `predictors.train.RandomBackground`), so a module that moves keeps its old name here.
MOVED = {'predictors.train': 'predictors.kinds.image.train'}


class RenamingUnpickler(pickle.Unpickler):
    "An unpickler that finds what moved (`MOVED`) where it is now."

    def find_class(self, module, name):
        return super().find_class(MOVED.get(module, module), name)


PICKLE = types.SimpleNamespace(Unpickler=RenamingUnpickler, load=lambda f, **kw: RenamingUnpickler(f, **kw).load(),
                               __name__='predictors.core.store')


def module_name(path, data: bytes) -> str:
    "The module a code file is imported as: `fastai_apps_code.<stem>_<sha256 start>`."
    return f'{CODE_PACKAGE}.{re.sub(r"[^0-9A-Za-z_]", "_", Path(path).stem)}_{hashlib.sha256(data).hexdigest()[:12]}'


def load_code(files) -> list[types.ModuleType]:
    "The modules of the .py `files`, imported once per content; `ModelError` if one cannot be read or run."
    pkg = sys.modules.get(CODE_PACKAGE)
    if pkg is None:
        pkg = sys.modules[CODE_PACKAGE] = types.ModuleType(CODE_PACKAGE)
        pkg.__path__ = []
    out = []
    for f in files or []:
        f = Path(f)
        try:
            data = f.read_bytes()
        except OSError as e:
            raise ModelError(f'the code file {f} cannot be read: {e.strerror or e}.') from None
        name = module_name(f, data)
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, f)
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            try:
                spec.loader.exec_module(mod)
            except Exception as e:  # noqa: BLE001 - the person's code: its error, said plainly
                del sys.modules[name]
                raise ModelError(f'the code file {f.name} cannot be imported: {type(e).__name__}: {e}') from None
        out.append(sys.modules[name])
    return out


def code_pickle(modules) -> types.SimpleNamespace:
    "A pickle module for torch.load whose unpickler finds `__main__` names in `modules` (first that has it)."
    class Unpickler(RenamingUnpickler):
        def find_class(self, module, name):
            if module == '__main__':
                for m in modules:
                    if hasattr(m, name): return getattr(m, name)
            return super().find_class(module, name)
    return types.SimpleNamespace(Unpickler=Unpickler, load=lambda f, **kw: Unpickler(f, **kw).load(),
                                 __name__='predictors.core.code')

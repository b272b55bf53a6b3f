"""The model store: `models/<name>/<version>/{model.pkl,card.json}`, versioned, checksummed.

One version of a name is active (`ACTIVE`: the apps' answers); another may be its shadow (`SHADOW`:
also run on every answer and logged beside it, never shown) until it is promoted or dropped.

A card (JSON) describes the model: task, target, classes, input schema, metrics, reference
statistics of the training data, the sha256 of `model.pkl` and the library versions. The
apps read the card; the learner is only unpickled after its checksum matched the card.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import pickle
import re
import shutil
import tempfile
from pathlib import Path

from predictors.core.code import PICKLE, code_pickle, load_code
from predictors.core.errors import ModelError, UnknownModel

__all__ = ['ModelStore', 'ModelError', 'UnknownModel', 'sha256_file', 'load_learner_file',
           'MODEL_FILE', 'CARD_FILE']

MODEL_FILE, CARD_FILE, ACTIVE_FILE, SHADOW_FILE, CODE_DIR = 'model.pkl', 'card.json', 'ACTIVE', 'SHADOW', 'code'
_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$')
_VERSION_RE = re.compile(r'^v(\d+)$')


_SUMS: dict = {}      # (path, inode, mtime, size) -> sha256: a file is read again only once it changed


def sha256_file(path) -> str:
    "The sha256 of a file (remembered while its inode, modification time and size stay the same)."
    st = os.stat(path)
    key = (str(path), st.st_ino, st.st_mtime_ns, st.st_size)
    if key not in _SUMS:
        h = hashlib.sha256()
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                h.update(chunk)
        if len(_SUMS) > 1024: _SUMS.clear()
        _SUMS[key] = h.hexdigest()
    return _SUMS[key]


def load_learner_file(path, code=()):
    """`load_learner` on CPU, turning unpicklable references into a `ModelError` naming what is missing;
    `code`: .py files whose names stand in for the exporter's `__main__` (`predictors.core.code`).
    (A file exported by fastai 2.0–2.7 is read by `predictors.importing.convert.read_learner` instead.)"""
    from fastai.learner import load_learner
    import warnings
    try:
        with warnings.catch_warnings():
            # fastai warns on every load that pickles run code: the store's checksum is the answer to that
            warnings.simplefilter('ignore')
            return load_learner(path, cpu=True, pickle_module=code_pickle(load_code(code)) if code else PICKLE)
    except AttributeError as e:
        m = re.search(r"Can't get attribute '([^']+)' on <module '([^']+)'", str(e))
        if m:
            fn, mod = m.groups()
            where = ("the notebook or script that exported it (`__main__`)" if mod == '__main__' or mod.endswith('.__main__')
                     else f"module `{mod}`")
            raise ModelError(
                f"the learner needs a function `{fn}` that was defined in {where} and cannot be found now. Give the "
                f"file that defines it: `python -m predictors import FILE --name NAME --code {fn}.py` (any .py "
                f"file with `{fn}` in it, repeat --code for more), or define it in an importable module and "
                f"export the learner again.") from None
        raise ModelError(f'the learner file cannot be loaded: {e}') from None
    except UnboundLocalError:
        # fastai's load_learner swallows ImportError; load again to find out what is missing
        import torch
        try:
            torch.load(path, map_location='cpu', weights_only=False, pickle_module=PICKLE)
        except ModuleNotFoundError as e:
            raise ModelError(f'the learner needs the Python module `{e.name}`, which is not installed '
                             f'or not importable here.') from None
        except ImportError as e:
            raise ModelError(f'the learner needs something that cannot be imported here: {e}') from None
        raise ModelError('the file is not a readable fastai export.') from None
    except (pickle.UnpicklingError, EOFError, RuntimeError, ValueError) as e:
        raise ModelError(f'the file is not a readable fastai export ({type(e).__name__}: {e}).') from None


_CARDS: dict = {}     # (card path, mtime, size) -> parsed card


def _version_key(v: str) -> int:
    m = _VERSION_RE.match(v)
    return int(m.group(1)) if m else -1


class ModelStore:
    "Versioned models under `root/<name>/<version>/`; one version of each name is active."

    def __init__(self, root):
        self.root = Path(root)

    # ---- reading -------------------------------------------------------------------------
    def names(self, task: str | None = None) -> list[str]:
        "Model names that have at least one version (optionally only of one task)."
        if not self.root.is_dir(): return []
        out = []
        for d in sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith('.')):
            if not self.versions(d.name): continue
            if task is None or self._task(d.name) == task: out.append(d.name)
        return out

    def _task(self, name: str) -> str | None:
        try:
            return self.card(name).get('task')
        except ModelError:
            return None                  # a card that cannot be read: no task (asking for the model says why)

    def versions(self, name: str) -> list[str]:
        "The versions of `name`, oldest first (none for a name that is not a model name)."
        if not _NAME_RE.match(str(name or '')): return []
        d = self.root / name
        if not d.is_dir(): return []
        vs = [p.name for p in d.iterdir() if p.is_dir() and _VERSION_RE.match(p.name)
              and (p / CARD_FILE).exists()]
        return sorted(vs, key=_version_key)

    def active_version(self, name: str) -> str:
        "The active version: the one recorded by `activate`, else the newest."
        vs = self.versions(name)
        if not vs: raise UnknownModel(f'no model called {name!r} in the store at {self.root}.')
        f = self.root / name / ACTIVE_FILE
        if f.exists():
            v = f.read_text().strip()
            if v in vs: return v
        return vs[-1]

    def path(self, name: str, version: str | None = None) -> Path:
        version = version or self.active_version(name)
        vs = self.versions(name)
        if not vs: raise UnknownModel(f'no model called {name!r} in the store at {self.root}.')
        if version not in vs:
            raise UnknownModel(f'model {name!r} has no version {version!r} (versions: {", ".join(vs)}).')
        return self.root / name / version

    def card(self, name: str, version: str | None = None) -> dict:
        """The model card of `name` (active version unless `version` is given).

        Parsed cards are kept while the file is unchanged (the model server reads one per request);
        the dict returned is a fresh copy of the top level, its nested values are shared: do not change them."""
        f = self.path(name, version) / CARD_FILE
        where = f'the model card of {name} {f.parent.name} ({f.parent.name}/{CARD_FILE} in the store)'
        try:
            st = f.stat()
            key = (str(f), st.st_mtime_ns, st.st_size)
            card = None if key in _CARDS else json.loads(f.read_text())
        except OSError as e:
            raise ModelError(f'{where} cannot be read ({e.strerror or e}): check its permissions, then '
                             f'`python -m predictors verify`.') from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ModelError(f'{where} is not valid JSON ({e}): register the model again.') from None
        if key not in _CARDS:
            if len(_CARDS) > 256: _CARDS.clear()
            _CARDS[key] = card
        return dict(_CARDS[key])

    def list(self) -> list[dict]:
        "One row per model version: name, version, task, active, shadow, created, metrics."
        rows = []
        for n in self.names():
            act, shadow = self.active_version(n), self.shadow_version(n)
            for v in self.versions(n):
                c = self.card(n, v)
                rows.append(dict(name=n, version=v, task=c.get('task'), active=v == act, shadow=v == shadow,
                                 created=c.get('created'), metrics=c.get('metrics', {})))
        return rows

    def verify(self, name: str, version: str | None = None) -> Path:
        "Check that `model.pkl` exists and matches the card's sha256; return its path."
        d = self.path(name, version)
        f, card = d / MODEL_FILE, self.card(name, d.name)
        if not f.exists():
            raise ModelError(f'{name} {d.name}: the model file ({d.name}/{MODEL_FILE} in the store) is missing.')
        want, got = card.get('sha256'), sha256_file(f)
        if want != got:
            raise ModelError(f'{name} {d.name}: model.pkl does not match its card (sha256 {got[:12]}… '
                             f'expected {str(want)[:12]}…): the file was changed or corrupted after it '
                             f'was registered, so it is refused without being unpickled.')
        return f

    def load_learner(self, name: str, version: str | None = None):
        "Load the fastai Learner of a version, after verifying its checksum (and its code files', if it has any)."
        f = self.verify(name, version)
        return load_learner_file(f, self.code_files(name, f.parent.name))

    def file(self, name: str, version: str | None, file: str) -> Path | None:
        "A data file kept beside a version (`register(files=…)`, `set_file`), checked against its card (None: it has none)."
        d = self.path(name, version)
        want = (self.card(name, d.name).get('files') or {}).get(file)
        if want is None: return None
        f = d / _file_name(file)
        if not f.is_file() or sha256_file(f) != want:
            raise ModelError(f'{name} {d.name}: its file {file} is missing or does not match its card: it is not read.')
        return f

    def files(self, name: str, version: str | None = None) -> dict:
        "Every data file kept beside a version ({name: path}), each checked against its card."
        return {f: self.file(name, version, f) for f in self.card(name, version).get('files') or {}}

    def set_file(self, name: str, version: str | None, file: str, src, about: dict | None = None) -> str:
        """Keep the data file `src` beside a version as `file` (replacing one of that name), its sha256 on the card and
        what the kind says of it (`about`, under the card's `file_info`); the model is untouched. Returns the version."""
        card = self.card(name, version)
        d = self.path(name, card['version'])
        tmp = d / f'.{_file_name(file)}.tmp'
        shutil.copyfile(src, tmp)
        os.replace(tmp, d / file)
        card = dict(card, files={**(card.get('files') or {}), file: sha256_file(d / file)})
        if about is not None: card['file_info'] = {**(card.get('file_info') or {}), file: about}
        self._write_card(card)
        return card['version']

    def code_files(self, name: str, version: str) -> list[Path]:
        "The .py files a version's learner needs (`import --code`), each checked against its card's sha256."
        d, out = self.path(name, version), []
        for c in self.card(name, d.name).get('code') or []:
            f = d / CODE_DIR / c['file']
            if not f.is_file() or sha256_file(f) != c['sha256']:
                raise ModelError(f'{name} {d.name}: its code file {c["file"]} is missing or does not match its card: '
                                 f'it is refused without being run.')
            out.append(f)
        return out

    # ---- writing -------------------------------------------------------------------------
    def register(self, name: str, model_file, card: dict, activate: bool = True, code=(), files: dict | None = None) -> str:
        """Copy `model_file` in as the next version of `name` with `card`, the .py files `code` its learner
        needs (into `code/`, with their sha256 on the card) and the data `files` its kind keeps beside it
        ({name in the version: path}: a recommender's training ratings, its items' titles); return the version."""
        if not _NAME_RE.match(name or ''):
            raise ModelError(f'invalid model name {name!r}: use letters, digits, "_", "-" or ".".')
        base = self.root / name
        base.mkdir(parents=True, exist_ok=True)
        vs = self.versions(name)
        version = f'v{_version_key(vs[-1]) + 1 if vs else 1}'
        tmp = Path(tempfile.mkdtemp(prefix=f'.{version}-', dir=base))
        try:
            shutil.copyfile(model_file, tmp / MODEL_FILE)
            card = dict(card, name=name, version=version, sha256=sha256_file(tmp / MODEL_FILE))
            if code:
                (tmp / CODE_DIR).mkdir()
                for f in code: shutil.copyfile(f, tmp / CODE_DIR / Path(f).name)
                card['code'] = [dict(file=Path(f).name, sha256=sha256_file(f)) for f in code]
            for f, src in (files or {}).items():
                shutil.copyfile(src, tmp / _file_name(f))
            if files: card['files'] = {f: sha256_file(tmp / f) for f in files}
            card.setdefault('created', _dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds'))
            (tmp / CARD_FILE).write_text(_card_text(card))
            tmp.chmod(0o755)
            tmp.rename(base / version)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if activate: self.activate(name, version)
        return version

    def activate(self, name: str, version: str) -> None:
        """Make `version` the one the apps use (activating an older one is a rollback; activating the
        shadow promotes it, and it is a shadow no more)."""
        self._check_version(name, version)
        if self.shadow_version(name) == version: self.set_shadow(name, None)
        (self.root / name / ACTIVE_FILE).write_text(version + '\n')

    def shadow_version(self, name: str) -> str | None:
        "The version run in the shadow of the active one, if any."
        f = self.root / name / SHADOW_FILE
        v = f.read_text().strip() if f.exists() else ''
        return v if v and v in self.versions(name) and v != self.active_version(name) else None

    def set_shadow(self, name: str, version: str | None) -> None:
        "Run `version` in the shadow of the active version (None: no shadow)."
        f = self.root / name / SHADOW_FILE
        if version is None:
            f.unlink(missing_ok=True); return
        self._check_version(name, version)
        if version == self.active_version(name): raise ModelError(f'{name} {version} is the active version: it cannot also be its shadow.')
        f.write_text(version + '\n')

    def set_labels(self, name: str, version: str | None, labels: dict, help: dict | None = None) -> str:
        """Readable labels and one-line help per input column on a version's card (what the form shows), or
        labels per class (what the answers say: 'red apple' for `Apple Red 1`); the model is untouched. Names that
        are neither are refused. Returns the version."""
        card = self.card(name, version)
        columns = {c['name'] for c in (card.get('schema') or {}).get('inputs') or []}
        unknown = sorted((set(labels or {}) - columns - set(map(str, card.get('classes') or []))) | (set(help or {}) - columns))
        if unknown: raise ModelError(f'{name} {card["version"]} has no input columns or classes {", ".join(unknown)}.')
        card = dict(card, labels={k: str(v) for k, v in (labels or {}).items()},
                    help={k: str(v) for k, v in (help or {}).items()})
        self._write_card(card)
        return card['version']

    def _write_card(self, card: dict) -> None:
        "Replace a version's card (atomically)."
        path = self.path(card['name'], card['version']) / CARD_FILE
        tmp = path.with_suffix('.tmp')
        tmp.write_text(_card_text(card))
        os.replace(tmp, path)

    def _check_version(self, name: str, version: str) -> None:
        if version not in self.versions(name):
            raise ModelError(f'model {name!r} has no version {version!r} '
                             f'(versions: {", ".join(self.versions(name)) or "none"}).')


def _file_name(file: str) -> str:
    "A data file's name in a version's folder: a plain name, never a path."
    if not re.match(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', file) or file in (MODEL_FILE, CARD_FILE):
        raise ModelError(f'{file!r} cannot be a data file\'s name in the store.')
    return file


def _card_text(card: dict) -> str:
    return json.dumps(card, indent=1, default=_json_default) + '\n'


def _json_default(o):
    import numpy as np
    if isinstance(o, np.integer): return int(o)
    if isinstance(o, np.floating): return float(o)
    if isinstance(o, np.bool_): return bool(o)
    if isinstance(o, np.ndarray): return o.tolist()
    if isinstance(o, Path): return str(o)
    raise TypeError(f'{type(o).__name__} is not JSON serialisable')

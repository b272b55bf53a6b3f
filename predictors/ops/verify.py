"""Setup checks behind the verification notebook, `python -m predictors verify` and the health check.

Each check is a row: what was checked, pass or fail, what was found and, when it fails, the
remedy in plain words.
"""
from __future__ import annotations

import os
import sys

from predictors.core.store import MODEL_FILE, ModelError, ModelStore
from predictors.core.settings import Settings

__all__ = ['run_checks', 'health_checks', 'check_environment', 'check_models', 'check_server', 'check_api', 'check_log',
           'REQUIRED']

# what the project pins (requirements.txt); the check accepts the same minor series
REQUIRED = dict(torch='2.14', torchvision='0.29', fastai='2.8', voila='0.5', ipywidgets='8.')
REINSTALL = 'run `make venv` (or `make serve`) in the project folder: it installs the pinned versions into .venv'


def _row(check, ok, detail, remedy=''):
    return dict(check=check, ok=bool(ok), detail=detail, remedy='' if ok else remedy)


def _version(mod):
    import importlib
    try:
        return importlib.import_module(mod).__version__, None
    except Exception as e:  # noqa: BLE001 - any import failure is the finding
        return None, f'{type(e).__name__}: {e}'


def check_environment() -> list[dict]:
    rows = []
    v = sys.version_info
    rows.append(_row('Python ≥ 3.10', v >= (3, 10), f'Python {v.major}.{v.minor}.{v.micro} at {sys.executable}',
                     'install Python 3.10 or newer and recreate the environment'))
    for mod in ('torch', 'torchvision', 'fastai', 'voila', 'ipywidgets'):
        ver, err = _version(mod)
        want = REQUIRED[mod]
        ok = ver is not None and ver.startswith(want)
        detail = err or f'{mod} {ver}' + ('' if ok else f' (this project needs {want}*)')
        rows.append(_row(f'{mod} installed', ok, detail, REINSTALL))
        if mod == 'voila' and ok:
            from packaging.version import Version
            ok = Version(ver) >= Version('0.5.6')
            rows.append(_row('voila has the /static file-read fix (≥ 0.5.6, CVE-2024-30265)', ok, f'voila {ver}', REINSTALL))
    try:
        import torch
        import torchvision
        from torchvision.ops import nms
        nms(torch.tensor([[0., 0, 1, 1], [0, 0, 1, 1]]), torch.tensor([1., .5]), .5)
        ok = torch.__version__.partition('+')[2] == torchvision.__version__.partition('+')[2]  # same build (cpu, cu130…)
        rows.append(_row('torch and torchvision agree', ok,
                         f'torch {torch.__version__}, torchvision {torchvision.__version__}, operators load',
                         'torch and torchvision come from different builds: ' + REINSTALL))
    except Exception as e:  # noqa: BLE001
        rows.append(_row('torch and torchvision agree', False, f'{type(e).__name__}: {e}',
                         'torchvision does not match torch: ' + REINSTALL))
    try:
        import torch
        n, cpus = torch.get_num_threads(), os.cpu_count() or 1
        rows.append(_row('CPU threads', n >= 1, f'torch uses {n} thread(s) of {cpus} CPU core(s)',
                         'set OMP_NUM_THREADS to the number of cores'))
    except Exception as e:  # noqa: BLE001
        rows.append(_row('CPU threads', False, str(e), REINSTALL))
    return rows



def check_models(store: ModelStore) -> list[dict]:
    "Every version's file and checksum; the active version of each model loads and answers."
    from predictors.service.loading import predictor_for_learner, smoke
    rows = []
    names = store.names()
    if not names:
        return [_row('models registered', False, f'no models in {store.root}',
                     'restore the demo models with `git checkout -- models/`, or train them with `make train-demo`')]
    for name in names:
        active = store.active_version(name)
        for v in store.versions(name):
            label = f'model {name} {v}' + (' (active)' if v == active else '')
            path = store.root / name / v / MODEL_FILE
            try:
                store.verify(name, v)
            except ModelError as e:
                missing = not path.exists()
                rows.append(_row(label + ': file and checksum', False, str(e),
                                 (f'restore it with `git checkout -- {path}` or retrain it' if missing else
                                  f'do not use this file (a pickle runs code when loaded): restore it with '
                                  f'`git checkout -- {path}`, or register the model again')))
                continue
            sha = store.card(name, v).get('sha256', '')
            rows.append(_row(label + ': file and checksum', True,
                             f'{name}/{v}/{MODEL_FILE} matches its card (sha256 {sha[:12]}…) in {store.root}'))
            if v != active: continue
            try:
                card = store.card(name, v)
                pred = predictor_for_learner(store.load_learner(name, v), card)
                rows.append(_row(label + ': loads and answers', True, smoke(pred)))
            except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the others
                rows.append(_row(label + ': loads and answers', False, f'{type(e).__name__}: {e}',
                                 'retrain or re-import the model with the versions installed here '
                                 '(`python -m predictors train-… / import …`)'))
    return rows


def check_file(path, code=()) -> list[dict]:
    """A learner file checked before it is registered: it loads here (an export of fastai 2.0–2.7 is
    rebuilt for fastai 2.8), it is a kind of model the apps serve, and it answers a test input."""
    from predictors.importing.convert import read_learner
    from predictors.kinds import detect_kind
    from predictors.service.loading import predictor_for_learner, smoke
    label = f'learner {path}'
    if not os.path.isfile(path): return [_row(label + ': loads', False, f'no file at {path}', 'check the path')]
    try:
        learn, conv = read_learner(path, code)
        how = ('a fastai 2.8 export: loads as it is' if conv is None else
               f'exported by fastai {conv.fastai}: rebuilt as a fastai 2.8 learner' +
               (f' (left out, not needed to predict: {", ".join(conv.dropped)})' if conv.dropped else ''))
    except ModelError as e:
        return [_row(label + ': loads', False, str(e), 'see "Bring your own model" in the README')]
    rows = [_row(label + ': loads', True, how)]
    try:
        k = detect_kind(learn)
    except ModelError as e:
        return rows + [_row(label + ': a model the apps serve', False, str(e))]
    try:
        card = k.card(learn)
        rows.append(_row(label + ': a model the apps serve', True, k.describe(learn) + k.summary(card)))
        pred = predictor_for_learner(learn, card)
        rows.append(_row(label + ': answers', True, smoke(pred)))
    except Exception as e:  # noqa: BLE001 - reported, not raised
        rows.append(_row(label + ': answers', False, f'{type(e).__name__}: {e}'))
    return rows


def run_checks(store: ModelStore | None = None, settings: Settings = Settings()) -> list[dict]:
    "Every check of this machine and store (default: the settings') and of the model server the settings name, if any."
    return (check_environment() + check_models(store or ModelStore(settings.models))
            + (check_api(settings.api, settings.api_headers) if settings.api else []))



def check_server(url: str, timeout: float = 10) -> list[dict]:
    "The visitors' door at `url` answers and lists the apps (starts no kernel)."
    import json
    import urllib.request
    from predictors.web.appserver import visitor_apps
    url = url.rstrip('/') + '/'
    try:
        with urllib.request.urlopen(url + 'voila/api/contents', timeout=timeout) as r:
            names = {c['name'] for c in json.loads(r.read())['content']}
    except Exception as e:  # noqa: BLE001 - any failure is the finding
        return [_row(f'server {url} answers', False, f'{type(e).__name__}: {e}',
                     'start it with `make serve` (see its output for the reason it stopped)')]
    missing = [a for a in visitor_apps() if a not in names]
    return [_row(f'server {url} answers', not missing,
                 f'lists {len(names)} app(s)' + (f'; missing: {", ".join(missing)}' if missing else ''),
                 'serve the notebooks/ folder from the project folder: `make serve`')]


def check_api(url: str, headers: dict | None = None, timeout: float = 30) -> list[dict]:
    "The model server at `url` is ready (asked with `headers`: its token): its store is readable, every active model answers."
    import json
    import urllib.error
    import urllib.request
    url = url.rstrip('/')
    try:
        req = urllib.request.Request(url + '/readyz', headers=headers or {})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = json.loads(r.read())
    except urllib.error.HTTPError as e:
        body = json.loads(e.read() or b'{}')
    except Exception as e:  # noqa: BLE001 - any failure is the finding
        return [_row(f'model server {url} answers', False, f'{type(e).__name__}: {e}',
                     'start it with `make serve` (or `python -m predictors api`)')]
    bad = [c for c in body.get('checks', []) if not c['ok']]
    detail = (f'ready: {len(body.get("checks", []))} model(s) load and answer' if body.get('ready') else
              '; '.join(f'{c["check"]}: {c["detail"]}' for c in bad) or body.get('detail') or 'not ready')
    return [_row(f'model server {url} answers', bool(body.get('ready')), detail,
                 'see the model server\'s output; `python -m predictors verify` names the model that fails')]


def check_log(target: str) -> list[dict]:
    "The prediction log at `target` ($FASTAI_APPS_LOG) can be read (nothing is written)."
    from predictors.monitoring.log import PredictionLog
    log = PredictionLog(target)
    try:
        n = log.count()
    except Exception as e:  # noqa: BLE001
        return [_row('prediction log readable', False, f'{log.where}: {type(e).__name__}: {e}',
                     'check $FASTAI_APPS_LOG: a writable file path or a reachable database URL')]
    return [_row('prediction log readable', True, f'{n} prediction(s) in {log.where}')]


def health_checks(settings: Settings, url: str | None = None, store: ModelStore | None = None,
                  api: str | None = None) -> list[dict]:
    """What a process supervisor polls: the server (when `url` is given), the model server (`api`, else the settings'),
    the store (default: the settings') and every model, the settings' log."""
    api = api or settings.api
    return ((check_server(url) if url else []) + (check_api(api, settings.api_headers) if api else [])
            + check_models(store or ModelStore(settings.models)) + check_log(settings.log))

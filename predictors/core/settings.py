"""Every setting the model side reads from the environment, in one place: `Settings.from_env()`.

A process reads it when it starts a piece of work (the model server's app, a CLI verb, an app's
model service); nothing else reads `FASTAI_APPS_*` variables. The supervisor (`serve`) writes the
variables its children need.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ['Settings', 'ROOT', 'API_ENV', 'MODELS_ENV', 'LOG_ENV', 'TOKEN_ENV', 'OPERATOR_TOKEN_ENV', 'HOSTS_ENV',
           'API_TOKEN_ENV', 'KERNEL_TOKEN_ENV']

ROOT = Path(__file__).resolve().parents[2]      # the project folder (models/, logs/, notebooks/)
API_ENV, MODELS_ENV, LOG_ENV = 'FASTAI_APPS_API', 'FASTAI_APPS_MODELS', 'FASTAI_APPS_LOG'
TOKEN_ENV, OPERATOR_TOKEN_ENV, HOSTS_ENV = 'FASTAI_APPS_TOKEN', 'FASTAI_APPS_OPERATOR_TOKEN', 'FASTAI_APPS_HOSTS'
API_TOKEN_ENV = 'FASTAI_APPS_API_TOKEN'
KERNEL_TOKEN_ENV = 'FASTAI_APPS_KERNEL_TOKEN'     # the doors' own credential: what app kernels show the model server

_INTS = dict(max_image_bytes=('FASTAI_APPS_MAX_IMAGE_BYTES', 10 * 2**20), max_pixels=('FASTAI_APPS_MAX_PIXELS', 40_000_000),
             max_files=('FASTAI_APPS_MAX_FILES', 64), max_upload_bytes=('FASTAI_APPS_MAX_UPLOAD_BYTES', 100 * 2**20),
             max_json_bytes=('FASTAI_APPS_MAX_JSON_BYTES', 10 * 2**20), max_records=('FASTAI_APPS_MAX_RECORDS', 10_000),
             max_explain_records=('FASTAI_APPS_MAX_EXPLAIN_RECORDS', 200),
             max_csv_bytes=('FASTAI_APPS_MAX_CSV_BYTES', 2**30),
             max_csv_columns=('FASTAI_APPS_MAX_CSV_COLUMNS', 2_000), decode_memory=('FASTAI_APPS_DECODE_MEMORY', 512 * 2**20), max_loaded=('FASTAI_APPS_MAX_LOADED', 16))


@dataclass(frozen=True)
class Settings:
    "The settings of this process (see `docs/serving.md` for what each variable does)."
    models: Path = ROOT / 'models'                       # FASTAI_APPS_MODELS: the model store
    log: str = str(ROOT / 'logs' / 'predictions.db')     # FASTAI_APPS_LOG: a SQLite file or a SQLAlchemy URL
    api: str | None = None                               # FASTAI_APPS_API: the model server the apps call
    log_inputs: str = 'raw'                              # FASTAI_APPS_LOG_INPUTS: raw or bins
    batch_images: bool = True                            # FASTAI_APPS_BATCH_IMAGES=0 turns the image queue off
    token: str | None = None                             # FASTAI_APPS_TOKEN: the visitors' door's sign-in
    operator_token: str | None = None                    # FASTAI_APPS_OPERATOR_TOKEN: the operators' door's
    api_token: str | None = None                         # FASTAI_APPS_API_TOKEN: what programs show the model server
    kernel_token: str | None = None                      # FASTAI_APPS_KERNEL_TOKEN: what app kernels show it (serve makes it)
    hosts: tuple = ()                                    # FASTAI_APPS_HOSTS: Host names the doors accept
    api_panel: bool = True                               # FASTAI_APPS_API_PANEL=0: no "Use via API" on the app pages
    api_shown: str | None = None                         # FASTAI_APPS_API_SHOWN: the model server's address programs use
    max_image_bytes: int = _INTS['max_image_bytes'][1]
    max_pixels: int = _INTS['max_pixels'][1]
    max_files: int = _INTS['max_files'][1]
    max_upload_bytes: int = _INTS['max_upload_bytes'][1]
    max_json_bytes: int = _INTS['max_json_bytes'][1]
    max_records: int = _INTS['max_records'][1]
    max_explain_records: int = _INTS['max_explain_records'][1]
    max_csv_bytes: int = _INTS['max_csv_bytes'][1]
    max_csv_columns: int = _INTS['max_csv_columns'][1]
    decode_memory: int = _INTS['decode_memory'][1]           # decoded image pixels a process holds at once
    max_loaded: int = _INTS['max_loaded'][1]             # model versions a process keeps loaded
    env: dict = field(default_factory=dict, repr=False, compare=False)

    def log_location(self) -> str:
        "The log as another process in another folder finds it: a SQLAlchemy URL as given, a file as its absolute path."
        return self.log if '://' in self.log else str(Path(self.log).resolve())

    @property
    def api_headers(self) -> dict:
        "The header a call of the model server shows its token in: an app kernel's own, else a program's (none without)."
        token = self.kernel_token or self.api_token
        return {'Authorization': f'Bearer {token}'} if token else {}

    @classmethod
    def from_env(cls, env=None) -> 'Settings':
        "The settings in `env` (default: this process's environment); a number that is not one is refused by name."
        env = dict(os.environ if env is None else env)
        ints = {}
        for f, (k, _) in _INTS.items():
            if env.get(k):
                try: ints[f] = int(env[k])
                except ValueError: raise ValueError(f'{k} must be a whole number, not {env[k]!r}') from None
        kw = dict(api=env.get(API_ENV) or None, log_inputs=env.get('FASTAI_APPS_LOG_INPUTS') or 'raw',
                  batch_images=env.get('FASTAI_APPS_BATCH_IMAGES', '1') != '0', token=env.get(TOKEN_ENV) or None,
                  operator_token=env.get(OPERATOR_TOKEN_ENV) or None, api_token=env.get(API_TOKEN_ENV) or None,
                  kernel_token=env.get(KERNEL_TOKEN_ENV) or None,
                  hosts=tuple(h.strip() for h in (env.get(HOSTS_ENV) or '').split(',') if h.strip()),
                  api_panel=env.get('FASTAI_APPS_API_PANEL', '1') != '0', api_shown=env.get('FASTAI_APPS_API_SHOWN') or None)
        if env.get(MODELS_ENV): kw['models'] = Path(env[MODELS_ENV])
        if env.get(LOG_ENV): kw['log'] = env[LOG_ENV]
        return cls(**kw, **ints, env=env)

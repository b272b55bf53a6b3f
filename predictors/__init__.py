"""The model side of fastai-apps: model store, schemas, fast predictors, training, checks, and the
model server with the one predictor interface the apps use (`connect()`).

Nothing here imports a UI library; `widgets` builds the views on top of these objects. Importing
the package is light (no torch, no fastai): a thin app kernel imports it too.
"""
import warnings as _warnings

# fastai's import calls torch.jit.script, which torch 2.14 deprecates: not the app user's concern
_warnings.filterwarnings('ignore', message='`torch.jit.script` is deprecated', category=FutureWarning)

from predictors.core.store import ModelStore, ModelError, sha256_file
from predictors.core.imaging import ImageLimits, BadImage, decode_image

__all__ = ['ModelStore', 'ModelError', 'sha256_file', 'ImageLimits', 'BadImage',
           'decode_image', 'load_predictor', 'preload', 'connect']


def __getattr__(name):
    "Heavy modules (fastai, torch) are imported on first use."
    if name in ('load_predictor', 'preload'):
        from predictors.service import loading; return getattr(loading, name)
    if name == 'connect':
        from predictors.service import connect; return connect
    raise AttributeError(name)

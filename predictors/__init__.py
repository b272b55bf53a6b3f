"""The model side of fastai-apps: model store, schemas, fast predictors, training, checks.

Nothing here imports a UI library; `widgets` builds the views on top of these objects.
"""
import warnings as _warnings

# fastai's import calls torch.jit.script, which torch 2.14 deprecates: not the app user's concern
_warnings.filterwarnings('ignore', message='`torch.jit.script` is deprecated', category=FutureWarning)

from .store import ModelStore, ModelError, sha256_file, default_root
from .imaging import ImageLimits, BadImage, decode_image

__all__ = ['ModelStore', 'ModelError', 'sha256_file', 'default_root', 'ImageLimits', 'BadImage',
           'decode_image', 'load_predictor', 'preload', 'TabularPredictor', 'ImagePredictor']


def __getattr__(name):
    "Heavy modules (fastai, torch) are imported on first use."
    if name == 'TabularPredictor':
        from .tabular import TabularPredictor; return TabularPredictor
    if name == 'ImagePredictor':
        from .image import ImagePredictor; return ImagePredictor
    if name in ('load_predictor', 'preload'):
        from . import predictor; return getattr(predictor, name)
    raise AttributeError(name)

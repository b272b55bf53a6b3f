"""The view side of fastai-apps: ipywidgets builders that take a model service (`predictors.connect()`:
the model server over HTTP when served, the models in-process in a notebook) or a schema.

No torch, fastai or pandas here: the model side is `predictors`. An app kernel started by the doors guards what its
page may send (`widgets.guard`, installed by `predictors.web.kernel`).
"""
from .common import probability_bars, message, model_picker
from .form import TabularForm
from .tabular import TabularApp, tabular_app
from .image import ImageApp, image_app, result_card
from .text import TextApp, text_app
from .recommend import RecommenderApp, recommender_app
from .checks import checks_table
from .monitor import MonitorApp, monitor_app

__all__ = ['probability_bars', 'message', 'model_picker', 'TabularForm', 'TabularApp', 'tabular_app',
           'ImageApp', 'image_app', 'result_card', 'TextApp', 'text_app', 'RecommenderApp', 'recommender_app', 'checks_table',
           'MonitorApp', 'monitor_app']

"""The kinds of model the apps serve, in one registry (`predictors.kinds.base`): a card's `task` names its kind, which
owns everything that differs between kinds. A new kind is one package beside these and one `register` line here.
"""
from __future__ import annotations

from predictors.kinds.base import (KINDS, ModelKind, Predictor, chosen, detect_kind, kind, kind_of, kinds_shown_by, register,
                                   views)
from predictors.kinds.collab import CollabKind
from predictors.kinds.image import ImageKind
from predictors.kinds.language_model import LanguageModelKind
from predictors.kinds.multilabel import MultiLabelKind
from predictors.kinds.regression import RegressionKind
from predictors.kinds.tabular import TabularKind
from predictors.kinds.text import TextKind

__all__ = ['ModelKind', 'Predictor', 'KINDS', 'register', 'kind', 'kind_of', 'detect_kind', 'chosen', 'kinds_shown_by', 'views']

register(TabularKind())
register(RegressionKind())
register(ImageKind())
register(MultiLabelKind())
register(TextKind())
register(CollabKind())
register(LanguageModelKind())

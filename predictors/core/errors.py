"""The one error a person is told about: what cannot be done with a model, and why, in plain words."""
from __future__ import annotations

__all__ = ['ModelError', 'UnknownModel']


class ModelError(Exception):
    "A model cannot be registered, found or loaded; the message says why in plain words."


class UnknownModel(ModelError):
    "No model of that name, or no such version of it, in the store."

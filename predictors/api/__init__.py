"""The model server: one process that loads each model once and answers every app and program over HTTP.

`create_app()` is the ASGI app (`app`), its routes are in `routes`, what they are given in `deps`,
how bodies are read in `bodies`, the JSON shapes in `schemas`, the error answers in `errors`.
"""
from predictors.api.app import create_app
from predictors.api.errors import ApiError
from predictors.api.deps import Limits

__all__ = ['create_app', 'ApiError', 'Limits']

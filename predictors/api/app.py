"""The model server: one process that loads each model once and answers every app and program over HTTP.

`python -m predictors api [--host] [--port] [--workers]` serves `create_app()` with uvicorn;
the OpenAPI schema is at `/openapi.json` and interactive docs at `/docs`. The store and the
prediction log come from the environment (`FASTAI_APPS_MODELS`, `FASTAI_APPS_LOG`) or are
given to `create_app`. Every request reads the store's active version, so a version
registered or activated later is served without a restart. Every prediction is logged here
(one writer), with the caller's `X-Session-Id` and `X-Source` headers.

The routes are listed in `predictors.api.routes`; the Open Inference Protocol's (`/v2`) in `predictors.api.oip`.
"""
from __future__ import annotations

import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from predictors.api.deps import Limits
from predictors.api.errors import install_handlers
from predictors.api.guard import Guard
from predictors.api.sturdy import Sturdy
from predictors.api import oip_schemas as O, schemas as S
from predictors.api.oip import oip
from predictors.api.generate import writer
from predictors.api.recommend import recommender
from predictors.api.routes import health, router
from predictors.core.settings import Settings
from predictors.core.store import ModelStore
from predictors.monitoring.log import PredictionLog
from predictors.service.loading import LOADED, preload

__all__ = ['create_app']

BODIES = (S.RecordsIn, S.LabelsIn, S.RecommendIn, O.InferenceRequest)   # JSON bodies the routes read themselves (CSV, files, binary too)


def create_app(store: ModelStore | None = None, log=None, limits: Limits | None = None,
               batch_images: bool | None = None, token=..., settings: Settings | None = None) -> FastAPI:
    """The model server's ASGI app: an entry point, so `settings` default to the environment's (`Settings.from_env`),
    and the store, log, limits and token to the settings'. Concurrent image requests share forward passes unless
    `batch_images` is False (FASTAI_APPS_BATCH_IMAGES=0). Every request passes `Guard` first (this machine's Host, no
    other site's page, the token when there is one), then `Sturdy` (a deadline on bodies, a plain 500 that keeps the
    connection)."""
    settings = settings or Settings.from_env()
    LOADED.configure(settings)
    @asynccontextmanager
    async def lifespan(app):
        # load the active models in the background: /healthz answers at once, requests that come
        # before a model is loaded wait for it
        threading.Thread(target=preload, args=(None, app.state.store), daemon=True).start()
        yield

    app = FastAPI(title='fastai-apps model server', version='1',
                  description='Predictions of the models in the store, for the apps and any other program.',
                  lifespan=lifespan)
    app.state.settings = settings
    app.state.store = store or ModelStore(settings.models)
    app.state.log = log if log is not None else PredictionLog(settings.log, source='api')
    app.state.limits = limits or Limits(settings)
    app.state.batch_images = settings.batch_images if batch_images is None else batch_images
    app.include_router(router)
    app.include_router(health)
    app.include_router(recommender)            # what a recommender answers besides ratings
    app.include_router(writer)                 # what a language model writes
    app.include_router(oip)                    # the Open Inference Protocol (/v2), the same predictions

    install_handlers(app)
    app.add_middleware(Sturdy)                 # (added first: it runs inside Guard)
    app.add_middleware(Guard, token=settings.api_token if token is ... else token, hosts=settings.hosts,
                       kernel_token=settings.kernel_token if token is ... else None)
    app.openapi = lambda: _openapi(app)
    return app


def _openapi(app: FastAPI) -> dict:
    "FastAPI's OpenAPI description, with the JSON bodies that the routes read themselves among its schemas."
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        comps = schema.setdefault('components', {}).setdefault('schemas', {})
        for model in BODIES:
            s = model.model_json_schema(ref_template='#/components/schemas/{model}')
            comps.update(s.pop('$defs', {}))
            comps[model.__name__] = s
        app.openapi_schema = schema
    return app.openapi_schema

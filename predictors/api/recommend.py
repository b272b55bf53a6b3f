"""What a recommender answers besides ratings (a kind's `verbs`: `predictors.kinds.collab`):

    POST /v1/models/{name}/recommend     {"user": id} or {"ratings": [{"item": id, "rating": 4.5}, ...]}, "top": 10,
                                         "exclude_seen": true, "where": {"genres": "Comedy"} -> a ranked list
    GET  /v1/models/{name}/similar       ?item=ID&top=10 -> the items nearest it (people who liked it also liked)
    GET  /v1/models/{name}/items         ?q=TEXT&most=20 -> the items whose title holds every word of TEXT

A rating of a (user, item) pair is a `/predict` of records, as any model of rows. A model whose kind does not take a
verb answers 422 saying what it is; an unknown user or item, or a rating outside the scale, 422 with the reason.
"""
from __future__ import annotations


from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from predictors.api import schemas as S
from predictors.api.bodies import json_body
from predictors.api.deps import Limits, card_of, get_limits, get_models
from predictors.api.errors import ApiError
from predictors.core.store import ModelError
from predictors.service.local import LocalModels

__all__ = ['recommender']

recommender = APIRouter(prefix='/v1')
_ERRORS = {code: {'model': S.ErrorOut} for code in (400, 404, 413, 415, 422, 500)}


def _answer(do):
    "`do()`, with a recommender's refusal (an unknown user, a rating off the scale, another kind) as a 422."
    try:
        return do()
    except ModelError as e:
        raise ApiError(422, str(e)) from None


@recommender.post('/models/{name}/recommend', summary='A ranked list for a person the model knows, or a new one',
                  **S.route_doc(S.RecommendOut, _ERRORS, S.RecommendIn, required=True))
async def recommend(name: str, request: Request, version: str | None = None, models: LocalModels = Depends(get_models),
                    limits: Limits = Depends(get_limits)):
    "Send `{\"user\": id}` (someone the model knows) or `{\"ratings\": [{\"item\": id, \"rating\": 4}, ...]}` (someone new)."
    body = await json_body(request, limits, S.RecommendIn, '{"user": id} or {"ratings": [{"item": id, "rating": number}, ...]}')
    card = card_of(models, name, version)
    ratings = [(r.item, r.rating) for r in body.ratings] if body.ratings is not None else None
    got = await run_in_threadpool(lambda: _answer(lambda: models.recommend(
        name, user=body.user, ratings=ratings, top=body.top, exclude_seen=body.exclude_seen, where=body.where,
        exclude=body.exclude, version=card['version'])))
    return dict(model=name, version=card['version'], **got.to_dict())


@recommender.get('/models/{name}/similar', summary='The items nearest one: people who liked it also liked',
                 **S.route_doc(S.SimilarOut, _ERRORS))
async def similar(name: str, item: str, top: int = Query(10, ge=1, le=500), version: str | None = None,
                  models: LocalModels = Depends(get_models)):
    card = card_of(models, name, version)
    got = await run_in_threadpool(lambda: _answer(lambda: models.similar(name, item, top, card['version'])))
    return dict(model=name, version=card['version'], item=item, items=[r.to_dict() for r in got])


@recommender.get('/models/{name}/items', summary="The items whose title holds every word of `q`",
                 **S.route_doc(S.ItemsOut, _ERRORS))
async def items(name: str, q: str = Query(..., max_length=200), most: int = Query(20, ge=1, le=200),
                version: str | None = None, models: LocalModels = Depends(get_models)):
    card = card_of(models, name, version)
    got = await run_in_threadpool(lambda: _answer(lambda: models.find_items(name, q, most, card['version'])))
    return dict(model=name, version=card['version'], items=got)

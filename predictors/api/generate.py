"""What a language model answers besides a continuation per row (a kind's `verbs`: `predictors.kinds.language_model`):

    POST /v1/models/{name}/generate   {"text": "See you", "words": 20, "temperature": 0.8, "seed": 42, "next": 5}
                                      -> the continuation and the likeliest next words (`words: 0`: the next words only);
                                      "stream": true -> a JSON line per token as it is written, then the continuation

The continuation of many beginnings at once is a `/predict` of records (`{"text": …, "seed": …}`), as any model of rows.
A bad beginning (empty, too long) or a bound passed (words, temperature) is a 422 with the reason, before anything is
written; a model whose kind does not write answers 422 saying what it is.
"""
from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from predictors.api import schemas as S
from predictors.api.bodies import json_body
from predictors.api.deps import Limits, card_of, get_limits, get_models
from predictors.api.errors import ApiError
from predictors.core.store import ModelError
from predictors.core.written import Continuation
from predictors.service.local import LocalModels

__all__ = ['writer']

writer = APIRouter(prefix='/v1')
_ERRORS = {code: {'model': S.ErrorOut} for code in (400, 404, 413, 415, 422, 500)}


@writer.post('/models/{name}/generate', summary='What comes after a beginning: written as it comes, or whole',
             **S.route_doc(S.ContinuationOut, _ERRORS, S.GenerateIn, required=True))
async def generate(name: str, request: Request, version: str | None = None, models: LocalModels = Depends(get_models),
                   limits: Limits = Depends(get_limits)):
    "Send `{\"text\": \"See you\"}`; `\"stream\": true` for a JSON line per token as it is written."
    body = await json_body(request, limits, S.GenerateIn, '{"text": "a beginning"} (and "words", "temperature", "seed")')
    card = card_of(models, name, version)
    try:
        if body.words == 0:
            got = await run_in_threadpool(lambda: models.next_words(name, body.text, body.next, card['version']))
            if got.error: raise ModelError(got.error)
            return dict(got.to_dict())
        pieces = models.generate(name, body.text, body.words, body.temperature, body.seed, card['version'],
                                 next_k=body.next)
        first = await run_in_threadpool(next, pieces)
    except ModelError as e:
        raise ApiError(422, str(e)) from None
    if isinstance(first, Continuation) and first.error: raise ApiError(422, first.error)
    if not body.stream:
        last = first
        while not isinstance(last, Continuation): last = await run_in_threadpool(next, pieces)
        return last.to_dict()

    def lines():
        yield json.dumps(first.to_dict()) + '\n'
        for got in pieces: yield json.dumps(got.to_dict()) + '\n'
    return StreamingResponse(lines(), media_type='application/x-ndjson')

"""How the model server answers what it cannot do: `{"detail": reason}` with a 4xx or 500, never a traceback."""
from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ['ApiError', 'install_handlers']


class ApiError(Exception):
    "A request that cannot be answered: `status` and a plain-English `reason` (sent as JSON)."

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def install_handlers(app: FastAPI) -> None:
    """The exception handlers: every error as JSON `{"detail": reason}`."""
    @app.exception_handler(ApiError)
    async def api_error(request, e: ApiError):
        return JSONResponse(dict(detail=e.reason), e.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, e: StarletteHTTPException):
        reason = (f'no such endpoint: {request.method} {request.url.path} (see /docs)' if e.status_code in (404, 405)
                  else str(e.detail))
        return JSONResponse(dict(detail=reason), e.status_code, headers=getattr(e, 'headers', None))

    @app.exception_handler(RequestValidationError)
    async def bad_params(request, e: RequestValidationError):
        parts = [f'{".".join(map(str, err.get("loc", ())[1:])) or "request"}: {err.get("msg")}' for err in e.errors()]
        return JSONResponse(dict(detail='; '.join(parts)), 422)

    @app.exception_handler(Exception)
    async def unexpected(request, e: Exception):     # never a traceback, a path or SQL to the caller (see `Sturdy`)
        return JSONResponse(dict(detail=f'the server could not answer ({type(e).__name__}); its log says why.'), 500)

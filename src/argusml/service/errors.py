"""How the service answers: JSON bodies, and every error as ``{"error", "detail", "request_id"}``.

One module for it because two paths answer: FastAPI's routes (through the
exception handlers ``install`` adds) and the request middleware, which
answers the ingest fast path and its refusals (auth, size) on the bare ASGI
``send`` without Starlette's response objects.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from argusml.service.logs import request_id

log = logging.getLogger("argus.http")


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: Any = None, headers: dict[str, str] | None = None) -> None:
        self.status, self.error, self.detail, self.headers = status, error, detail, headers or {}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS, default=str),
                    status_code=status, media_type="application/json", headers=headers)


async def send_json(send: Any, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    payload = orjson.dumps(body if status < 400 else {**body, "request_id": request_id.get()},
                           option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS, default=str)
    hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    hdrs += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": payload})


async def _api_error(request: Request, exc: ApiError) -> Response:
    return json_response({"error": exc.error, "detail": exc.detail, "request_id": request_id.get()}, exc.status,
                         exc.headers)


async def _validation(request: Request, exc: RequestValidationError) -> Response:
    errors = [{"field": ".".join(str(p) for p in e.get("loc", ())), "error": e.get("msg")} for e in exc.errors()]
    return json_response({"error": "invalid_request", "detail": errors, "request_id": request_id.get()}, 422)


async def _http(request: Request, exc: StarletteHTTPException) -> Response:
    return json_response({"error": "http_error", "detail": exc.detail, "request_id": request_id.get()},
                         exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> Response:  # pragma: no cover - a bug if reached
    log.exception("unhandled error")
    return json_response({"error": "internal", "detail": f"{type(exc).__name__}; see the server log for request "
                                                         f"{request_id.get()}", "request_id": request_id.get()}, 500)


def install(app: FastAPI) -> None:
    """The handlers that make FastAPI's own errors (validation, 404/405 routing) take the service's shape."""
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)

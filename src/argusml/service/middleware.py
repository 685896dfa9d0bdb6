"""The request middleware: request id, auth, size limit, the ingest fast path and the access log."""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

from argusml.service.auth import Authenticator
from argusml.service.bodies import body_chunks, body_format, read_stream, require_json
from argusml.service.errors import ApiError, send_json
from argusml.service.logs import model_name, model_version, request_id

if TYPE_CHECKING:
    from argusml.service.routers.ingest import Ingest

log = logging.getLogger("argus.http")

DOCS_ASSETS = "/docs/assets"
PUBLIC_PATHS = ("/healthz", "/docs", "/openapi.json")
"""Answered without a token even when the server has tokens: liveness, and the API's documentation (the
page, its assets under DOCS_ASSETS, the OpenAPI document) which holds no data, only the routes' shapes."""
RUNBOOKS_PATH = "/v1/runbooks"
"""The shipped runbooks (the list, and each under it) are public too: they hold no data, and an alert's
runbook link is opened from a notification by a browser that has no token to send."""
DASHBOARD_ASSETS = "/ui/assets"
DASHBOARD_PAGES = ("/models/", "/incidents/")
"""The dashboard's pages (``/`` and under these), its icon (``/favicon.ico``, which browsers ask for on any
page, the JSON ones too) and its assets are public as well: they hold no data, only the scripts that call the
API with the token the person gives, and an alert links to them."""


REGISTER_BODY_FACTOR = 4
"""``PUT /v1/models/{model}`` may be this many times the ingest body limit (64 MB by default): 2,000 past LLM
events with two 384-number embeddings are about 25 MB of JSON."""


def is_public(path: str) -> bool:
    return (path in PUBLIC_PATHS or path.startswith(DOCS_ASSETS + "/") or path == RUNBOOKS_PATH
            or path.startswith(RUNBOOKS_PATH + "/") or path in ("/", "/favicon.ico") or path.startswith(DASHBOARD_PAGES)
            or path.startswith(DASHBOARD_ASSETS + "/"))


class RequestContext:
    """Pure ASGI middleware: request id, auth, size limit, access log.

    Pure ASGI (not BaseHTTPMiddleware) because it runs for every ingest
    request and must cost microseconds."""

    def __init__(self, app: Any, auth: Authenticator, max_body: int, ingest: Ingest | None = None) -> None:
        self.app = app
        self.auth = auth
        self.max_body = max_body
        self.ingest = ingest

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid_in = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = rid_in if rid_in and len(rid_in) <= 128 and rid_in.isprintable() else os.urandom(16).hex()
        request_id.set(rid)
        path: str = scope.get("path", "")
        parts = path.split("/")
        model = parts[3] if len(parts) > 3 and parts[1] == "v1" and parts[2] == "models" and parts[3] else None
        model_name.set(model)
        model_version.set(None)
        started = time.perf_counter()
        status_holder = [0]

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        denial = self._deny(scope, headers, path, model)
        if denial is not None:
            await send_json(send_with_id, *denial)
        else:
            cl = headers.get(b"content-length")
            # a model's registration carries its baseline in one body (an LLM model's: past events with their
            # embeddings), which cannot be split into batches: it may be larger
            register = scope.get("method") == "PUT" and model is not None and len(parts) == 4
            limit = self.max_body * REGISTER_BODY_FACTOR if register else self.max_body
            if cl is not None and cl.isdigit() and int(cl) > limit:
                hint = ("send fewer past events (an LLM baseline samples at most 2,000 rows of each embedding)"
                        if register else "send smaller batches")
                await send_json(send_with_id, 413, {"error": "body_too_large",
                                                    "detail": f"body of {int(cl)} bytes exceeds the limit of "
                                                              f"{limit} bytes; {hint}"})
            elif (self.ingest is not None and scope.get("method") == "POST" and model is not None and len(parts) == 5
                  and parts[4] in ("events", "labels", "outcomes", "backfill")):
                status, body, extra = await self.ingest(parts[4], model, headers.get(b"content-type", b"").decode(
                    "latin-1") or None, body_chunks(receive))
                await send_json(send_with_id, status, body, extra)
            elif scope.get("method") == "POST" and model is not None and (
                    (len(parts) == 5 and parts[4] == "resources") or (len(parts) == 6 and parts[4] == "dependencies")):
                await self._json_route(scope, receive, send_with_id, headers)
            else:
                await self.app(scope, receive, send_with_id)
        if log.isEnabledFor(logging.INFO):
            log.info("%s %s %d", scope.get("method"), path, status_holder[0],
                     extra={"method": scope.get("method"), "path": path, "status": status_holder[0],
                            "duration_ms": round(1000 * (time.perf_counter() - started), 3)})

    async def _json_route(self, scope: dict[str, Any], receive: Any, send: Any, headers: dict[bytes, bytes]) -> None:
        """A route whose body FastAPI parses (one JSON object), held to the ingest routes' content-type
        rule: FastAPI reads only ``application/json`` as JSON, so a body sent with no type, as text/json
        or as curl's form type (when it parses as JSON) reaches it relabelled ``application/json``."""
        ctype = headers.get(b"content-type", b"").decode("latin-1")
        try:
            fmt = body_format(ctype or None, ndjson=False)
            if fmt == "json" and ctype.split(";")[0].strip().lower() == "application/json":
                await self.app(scope, receive, send)
                return
            body = await read_stream(body_chunks(receive), self.max_body)
            if fmt == "form":
                require_json(body, ndjson=False)
        except ApiError as exc:
            await send_json(send, exc.status, {"error": exc.error, "detail": exc.detail}, exc.headers)
            return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return dict(await receive())
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        relabelled = [(k, v) for k, v in scope.get("headers") or [] if k not in (b"content-type", b"content-length")]
        relabelled += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await self.app({**scope, "headers": relabelled}, replay, send)

    def _deny(self, scope: dict[str, Any], headers: dict[bytes, bytes], path: str, model: str | None
              ) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        if not self.auth.enabled or is_public(path):
            return None
        raw = headers.get(b"authorization", b"").decode("latin-1")
        challenge = {"www-authenticate": 'Bearer realm="argus"'}
        if not raw.lower().startswith("bearer ") or not raw[7:].strip():
            return 401, {"error": "unauthorized", "detail": "send Authorization: Bearer <token>"}, challenge
        entry = self.auth.lookup(raw[7:].strip())
        if entry is None:
            return 401, {"error": "unauthorized", "detail": "unknown token"}, challenge
        scope_needed = "read" if scope.get("method") in ("GET", "HEAD", "OPTIONS") else "write"
        if scope_needed not in entry.scopes:
            return 403, {"error": "forbidden", "detail": f"token {entry.name!r} lacks the {scope_needed!r} scope"}, {}
        if entry.models is not None:
            # /v1/traces names its models in the spans: the route refuses those the token may not write
            if model is None and path not in ("/v1/models", "/v1/traces"):
                return 403, {"error": "forbidden", "detail": f"token {entry.name!r} is limited to models "
                                                             f"{entry.models}; this endpoint is service-wide"}, {}
            if model is not None and model not in entry.models:
                return 403, {"error": "forbidden", "detail": f"token {entry.name!r} may not access model {model!r}"}, {}
        scope.setdefault("state", {})["token_models"] = entry.models
        scope["state"]["token_name"] = entry.name  # the author of a config it registers (config history)
        return None

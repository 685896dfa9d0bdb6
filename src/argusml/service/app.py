"""The HTTP edge: the FastAPI app over the monitor.

Only this layer knows HTTP. ``create_app`` builds the app from its parts:
the routers (``service/routers``: ingest, models, results, costs, incidents, runbooks,
dependencies, operations, dashboard (its JSON) and pages (its HTML and assets)), the error handlers
(``service/errors``), and the request middleware (``service/middleware``) that sets the request id, checks the token and
answers the ingest POSTs on a fast path.

Every error is JSON ``{"error": ..., "detail": ...}`` with a 4xx (or 503
when the store fails), the request id in ``X-Request-ID``; a 500 would be a
bug, and the tests fuzz the API to find one.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from argusml.monitor import Monitor
from argusml.reports.digest import digest_mime
from argusml.schema import ArgusError
from argusml.service import errors, schemas
from argusml.service.auth import Authenticator
from argusml.service.bodies import NDJSON_TYPES
from argusml.service.errors import ApiError
from argusml.service.metrics import registry_for
from argusml.service.middleware import DOCS_ASSETS, RequestContext, is_public
from argusml.service.offload import ValidatorPool
from argusml.service.routers import (
    costs,
    dashboard,
    dependencies,
    incidents,
    ingest,
    models,
    operations,
    otlp,
    pages,
    results,
    runbooks,
)
from argusml.service.routers.ingest import OFFLOAD_MIN_BYTES, Ingest
from argusml.version import __version__


class _ArgusAPI(FastAPI):
    """FastAPI with ``RequestContext`` outside its middleware stack rather
    than inside it: every request still gets the request id, auth and the
    access log, and the ingest fast path also skips the stack's layers (error
    middleware, FastAPI's telemetry hooks, body limit), a measurable share of
    the request thread (docs/BENCHMARKS.md, "Figures behind the code"). Route errors are still turned into answers inside."""

    context: RequestContext | None = None

    async def inner(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await super().__call__(scope, receive, send)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.context is None:
            await super().__call__(scope, receive, send)
        else:
            await self.context(scope, receive, send)


def create_app(monitor: Monitor, *, auth: Authenticator | None = None, max_body: int = 16 * 1024 * 1024,
               yaml_models: set[str] | None = None, on_shutdown: list[Any] | None = None,
               pool: ValidatorPool | None = None) -> FastAPI:
    """``on_shutdown`` runs when the server stops (uvicorn's lifespan), before
    the process exits on the signal: the monitor drains and snapshots there.
    ``pool``: worker processes that decode and validate event batches."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        for fn in on_shutdown or []:
            await asyncio.to_thread(fn)

    app = _ArgusAPI(title="Argus", version=__version__,
                  description="Monitoring for machine-learning models: events, labels, windows, findings.",
                  docs_url=None, redoc_url=None, lifespan=lifespan,  # /docs below: Swagger UI from the package
                  # the RequestValidationError handler answers ErrorBody, not FastAPI's HTTPValidationError
                  responses={422: {"model": schemas.ErrorBody, "description": "invalid request"}})
    # what the routes reach through request.app.state (service/deps.py, routers/)
    app.state.monitor = monitor
    # the owner reports the monitor sends are rendered by the reports layer, its sibling (monitor/digest.py)
    monitor.digests.render = digest_mime
    app.state.ingest = Ingest(monitor, max_body, pool)
    app.state.registry = registry_for(monitor)
    app.state.yaml_models = yaml_models
    errors.install(app)

    app.include_router(ingest.router)
    app.include_router(otlp.router)
    app.include_router(models.router)
    app.include_router(results.router)
    app.include_router(dashboard.router)
    app.include_router(costs.router)
    app.include_router(incidents.router)
    app.include_router(runbooks.router)
    app.include_router(dependencies.router)
    app.mount(DOCS_ASSETS, StaticFiles(directory=operations.SWAGGER_UI_DIR), name="docs-assets")
    app.include_router(operations.router)
    app.include_router(pages.router)

    app.context = RequestContext(app.inner, auth=auth or Authenticator(schemas.NO_AUTH), max_body=max_body,
                                 ingest=app.state.ingest)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            _declare_bearer(doc, app.context is not None and app.context.auth.enabled)
            comps = doc.setdefault("components", {}).setdefault("schemas", {})
            for model in (schemas.EventIn, schemas.LabelIn):
                js = model.model_json_schema(ref_template="#/components/schemas/{model}")
                comps.update(js.pop("$defs", {}))
                comps[model.__name__] = js
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _declare_bearer(doc: dict[str, Any], required: bool) -> None:
    """The bearer scheme in the OpenAPI document, so Swagger UI shows Authorize and sends the token.
    Required by every operation but /healthz when the server has tokens; declared but required by none
    when it has none (a document saying "token required" to a server without tokens would be wrong)."""
    doc.setdefault("components", {})["securitySchemes"] = {"bearer": {
        "type": "http", "scheme": "bearer",
        "description": "a token from `argus token create`: the read scope for GET, write for POST and PUT; a "
                       "token limited to models reaches only their routes"}}
    if not required:
        return
    doc["security"] = [{"bearer": []}]
    for path, ops in doc.get("paths", {}).items():
        if is_public(path):
            for op in ops.values():
                op["security"] = []


__all__ = ["NDJSON_TYPES", "OFFLOAD_MIN_BYTES", "ApiError", "ArgusError", "create_app"]

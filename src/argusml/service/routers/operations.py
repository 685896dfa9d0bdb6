"""Running the service: liveness, readiness, Prometheus metrics, and the API's documentation page."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from argusml.service import schemas
from argusml.service.deps import MonitorDep
from argusml.service.errors import json_response
from argusml.service.middleware import DOCS_ASSETS
from argusml.version import __version__

SWAGGER_UI_DIR = Path(__file__).parent.parent / "static" / "swagger-ui"
"""Swagger UI's files, shipped in the package and served under DOCS_ASSETS: the page loads nothing remote."""

router = APIRouter(tags=["operations"])


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> Response:
    root = request.scope.get("root_path", "").rstrip("/")
    return get_swagger_ui_html(openapi_url=f"{root}/openapi.json", title=f"{request.app.title} API",
                               swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
                               swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
                               swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon-32x32.png",
                               # no badge fetched from validator.swagger.io: the page loads nothing remote
                               swagger_ui_parameters={"persistAuthorization": True, "validatorUrl": None})


@router.get("/healthz", summary="Liveness (no auth): 503 once the store failed and only a restart recovers",
            responses={503: {"model": schemas.ErrorBody}})
def healthz(monitor: MonitorDep) -> Response:
    failure = monitor.store.failure()
    if failure is not None:
        return json_response({"error": "store_failed", "detail": f"{failure}: restart the service; acknowledged "
                              "events replay from the raw log"}, 503)
    return json_response({"status": "ok", "version": __version__})


@router.get("/readyz", summary="Readiness: recovered, threads running, store answering",
            responses={503: {"model": schemas.ErrorBody}})
def readyz(monitor: MonitorDep) -> Response:
    if not monitor.ready or not monitor.healthy():
        return json_response({"error": "not_ready", "detail": monitor.last_error or "starting"}, 503)
    return json_response({"status": "ready", "models": len(monitor.models), "queue_depth": monitor.queue_depth,
                          "writer": monitor.writer_stats})


@router.get("/metrics", summary="Prometheus metrics",
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "OpenMetrics text"}})
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)

"""The dashboard's pages: one HTML shell for every page, and its static assets, served by the service itself.

The pages hold no data: the shell's scripts read the page from the URL and call the JSON API with the
token the person gave (kept in the browser's localStorage). So the pages and assets are answered
without a token (``middleware.is_public``) while every data call still needs one, and a runbook or an
alert can link to any page. Nothing is fetched from outside: the chart library is vendored under
``static/dashboard/vendor`` with its licence (docs/ARCHITECTURE.md, "Dashboard").
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from argusml.service.errors import ApiError
from argusml.service.middleware import DASHBOARD_ASSETS

DASHBOARD_DIR = Path(__file__).parent.parent / "static" / "dashboard"
"""The shell (index.html), the styles and scripts, and vendor/ (uPlot with its licence)."""

CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8",
                 "": "text/plain; charset=utf-8"}
"""By suffix; a file with no suffix is a licence or VERSION text. Others are not served."""

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
"""The pages run only the shipped scripts and call only this service: injected markup could run nothing."""

ASSET_CACHE = "no-cache"
"""Assets are not fingerprinted (no build step), so the browser revalidates each by its ETag (a 304 without a
body): after an upgrade it never runs old scripts against the new API, and an unchanged file costs no bytes."""

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=64)
def _asset(path: Path) -> tuple[bytes, str]:
    body = path.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _file_response(request: Request, path: Path, media_type: str, extra: dict[str, str]) -> Response:
    body, etag = _asset(path)
    headers = {"etag": etag, "cache-control": ASSET_CACHE, "x-content-type-options": "nosniff", **extra}
    if etag in (request.headers.get("if-none-match") or "").replace("W/", "").split(", "):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=media_type, headers=headers)


def _shell(request: Request) -> Response:
    return _file_response(request, DASHBOARD_DIR / "index.html", CONTENT_TYPES[".html"],
                          {"content-security-policy": CSP, "referrer-policy": "same-origin",
                           "x-frame-options": "DENY"})


@router.get("/")
def overview(request: Request) -> Response:
    return _shell(request)


@router.get("/models/{model}")
def model_page(model: str, request: Request) -> Response:
    return _shell(request)


@router.get("/models/{model}/features/{feature}")
def feature_page(model: str, feature: str, request: Request) -> Response:
    return _shell(request)


@router.get("/incidents/{incident_id}")
def incident_page(incident_id: str, request: Request) -> Response:
    return _shell(request)


@router.get("/favicon.ico")
def favicon(request: Request) -> Response:
    """Browsers ask for it on every page of the service (the JSON ones too): the dashboard's icon, not a 404."""
    return _file_response(request, DASHBOARD_DIR / "favicon.svg", CONTENT_TYPES[".svg"], {})


@router.get(DASHBOARD_ASSETS + "/{name:path}")
def asset(name: str, request: Request) -> Response:
    """A shipped file under DASHBOARD_DIR by its relative path (``app.js``, ``vendor/uplot/uPlot.min.css``);
    anything that resolves outside it, or has a suffix not in CONTENT_TYPES, is not found."""
    root = DASHBOARD_DIR.resolve()
    path = (root / name).resolve()
    if (not path.is_relative_to(root) or not path.is_file() or path.suffix not in CONTENT_TYPES
            or path.name == "index.html"):
        raise ApiError(404, "unknown_asset", f"no dashboard asset {name!r}; the shell at / lists the ones it loads")
    return _file_response(request, path, CONTENT_TYPES[path.suffix], {})

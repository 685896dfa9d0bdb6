"""Talking to a running service from the CLI: one way to connect, fail and read an answer.

Commands that read a service's state (`sample`, `labels import`, `compare`,
`advise`) only talk HTTP (only the server opens its store). They
all fail the same way: one line on stderr naming what went wrong and exit 2,
never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer

UrlOpt = Annotated[str, typer.Option("--url", envvar="ARGUS_URL", help="the service, e.g. http://argus:8080")]
TokenOpt = Annotated[Optional[str], typer.Option("--token", envvar="ARGUS_TOKEN", help="bearer token (or "
                                                 "$ARGUS_TOKEN): the read scope, or write to send labels")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="seconds to wait for the answer")]


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"argus: error: {message}", err=True)
    raise typer.Exit(code)


def write_output(path: str, text: str, what: str | None = None) -> None:
    """Write a command's output where the user asked (``-`` is stdout), making the folder; an unwritable path is
    one line and exit 2, not a traceback. With ``what``, say on stderr what went where, so stdout stays clean."""
    if path == "-":
        sys.stdout.write(text)
        return
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"{path}: cannot write: {exc.strerror or exc}")
    if what is not None:
        typer.echo(f"wrote {what} to {path}", err=True)


def http_client(url: str, token: str | None, timeout: float = 120.0) -> Any:
    import httpx

    headers = {"user-agent": "argus-cli"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)


def call(client: Any, method: str, path: str, **kw: Any) -> Any:
    """The response of a request, or exit 2 with what went wrong (unreachable, refused, unknown model)."""
    import httpx

    try:
        r = client.request(method, path, **kw)
    except httpx.TimeoutException:
        fail(f"{client.base_url}: no answer in time ({method} {path})")
    except httpx.HTTPError as exc:
        fail(f"cannot reach the service at {client.base_url}: {exc}")
    if r.status_code in (401, 403):
        fail(f"{client.base_url}: {r.status_code} {detail_of(r)}; pass --token (or set ARGUS_TOKEN)")
    if r.status_code == 404:
        fail(detail_of(r))
    return r


def body_of(r: Any) -> dict[str, Any]:
    """The JSON object of an answer, or exit 2: something else answered at --url."""
    try:
        body = r.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        fail(f"HTTP {r.status_code} from {r.request.url} is not an Argus answer: {r.text[:200] or 'empty'} "
             "(is --url an Argus service?)")
    return body


def detail_of(r: Any) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:300] or f"HTTP {r.status_code}"
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, list):
        return "; ".join(f"{d.get('field')}: {d.get('error')}" if isinstance(d, dict) else str(d) for d in detail)
    return str(detail)


def get_json(url: str, token: str | None, path: str, params: dict[str, Any] | None = None,
             timeout: float = 60.0) -> dict[str, Any]:
    """GET an answer that must be 200 and a JSON object; anything else exits 2 with the service's reason."""
    with http_client(url, token, timeout) as client:
        r = call(client, "GET", path, params={k: v for k, v in (params or {}).items() if v is not None})
        if r.status_code != 200:
            try:
                code = r.json().get("error")
            except (ValueError, AttributeError):
                code = None
            fail(f"{r.status_code} {code}: {detail_of(r)}" if code else f"HTTP {r.status_code}: {detail_of(r)}")
        return body_of(r)

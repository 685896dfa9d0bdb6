"""The runbooks Argus ships, over HTTP: the list, and one as Markdown.

Every alert's ``runbook_url`` points here unless the model's YAML names its own. The pages are part of the
package and hold no data, so they are read without a token, like ``/docs``: the link is opened from a
notification (Slack, e-mail, Alertmanager's UI) by a browser that has no bearer token to send.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from argusml.alerts.runbooks import RUNBOOKS, runbook_text, runbook_title
from argusml.service import schemas
from argusml.service.errors import ApiError, json_response

router = APIRouter(tags=["runbooks"])

PREFIX = "/v1/runbooks"


@router.get(PREFIX, summary="The runbooks Argus ships: one per alert type (no auth)")
def list_runbooks() -> Response:
    return json_response({"runbooks": [{"name": n, "title": runbook_title(n), "url": f"{PREFIX}/{n}"}
                                       for n in RUNBOOKS]})


@router.get(PREFIX + "/{name}", summary="One runbook as Markdown; ?model= and ?url= fill its commands in (no auth)",
            responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}},
                             "description": "the runbook"},
                       404: {"model": schemas.ErrorBody}, 422: {"model": schemas.ErrorBody}})
def get_runbook(request: Request, name: str, model: str | None = None, url: str | None = None) -> Response:
    """``url`` defaults to the address the request came in by: the one the reader's browser reached Argus at,
    which is what the runbook's commands need."""
    if name not in RUNBOOKS:
        raise ApiError(404, "unknown_runbook", f"no runbook named {name!r}; runbooks: {', '.join(RUNBOOKS)}")
    try:
        text = runbook_text(name, model=model, url=url or str(request.base_url).rstrip("/"))
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from exc
    # nosniff: the text echoes the query's model name; a browser must show it as text, never run it
    return Response(text, media_type="text/markdown; charset=utf-8", headers={"X-Content-Type-Options": "nosniff"})

"""`argus digest`: the weekly owner report of a model on a running service, written to a file on demand.

It reads ``GET /v1/models/{m}/digest`` (JSON) and renders the page here with the same function the
e-mail uses, charts as ``data:`` URIs, so the file opens offline, anywhere. Exit 0 when the file was
written, 2 when it could not be (service unreachable, unknown model, unwritable file).
"""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from argusml.cli.remote import TimeoutOpt, TokenOpt, UrlOpt, fail, get_json, write_output


def digest_cmd(
    url: UrlOpt,
    model: Annotated[str, typer.Option("--model", help="the model")],
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="file to write; '-' for stdout "
                                                  "(default: MODEL-digest.FORMAT)")] = None,
    days: Annotated[float, typer.Option("--days", min=0.01, max=90, help="how many days back from --until")] = 7.0,
    until: Annotated[Optional[str], typer.Option("--until", help="end of the period (RFC 3339 or epoch seconds; "
                                                 "default now)")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="html (the page the owner gets) or json")] = "html",
    token: TokenOpt = None,
    timeout: TimeoutOpt = 120.0,
) -> None:
    """The owner report of a model over the last --days: quality trend with intervals, incidents and their
    time to resolve, drift, label coverage, cost and what is recommended. One HTML file with its charts
    inside, readable without Argus.

    Example: argus digest --url http://argus:8080 --model credit -o credit-week.html
    """
    if fmt not in ("html", "json"):
        fail(f"--format must be html or json, not {fmt!r}")
    body = get_json(url, token, f"/v1/models/{model}/digest", {"days": days, "until": until, "format": "json"},
                    timeout)
    if fmt == "json":
        text = json.dumps(body, indent=2) + "\n"
    else:
        from argusml.reports.digest import render_html

        try:
            text, _ = render_html(body, images="data")
        except (KeyError, TypeError) as exc:
            fail(f"the service at {url} answered a digest this argus cannot read ({type(exc).__name__}: {exc}); "
                 "use an argus of the service's version")
    path = output or f"{model}-digest.{fmt}"
    write_output(path, text, "the digest" if path != "-" else None)

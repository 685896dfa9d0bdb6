"""`argus reference set`: give a model version its own reference on a running service.

A new version is judged against the model's reference until it has one of its
own, and its prediction against the previous version's traffic (docs/SERVICE.md,
"Versions"). After a retrain the owner has the new baseline in hand; this sends
it, so the version's windows are judged against what it was trained on. The
same as `PUT /v1/models/{model}/versions/{version}/reference`, or `versions:`
in the model's YAML for the next start.
"""

from __future__ import annotations

from typing import Annotated

import typer

from argusml.cli.remote import TimeoutOpt, TokenOpt, UrlOpt, body_of, call, detail_of, fail, http_client

reference_app = typer.Typer(no_args_is_help=True, help="Per-version references on a running service.")


@reference_app.command("set")
def reference_set_cmd(
    file: Annotated[str, typer.Argument(help="baseline JSON written by `argus baseline`")],
    url: UrlOpt,
    model: Annotated[str, typer.Option("--model", help="the model, as registered")],
    version: Annotated[str, typer.Option("--version", help="the model version this baseline belongs to")],
    token: TokenOpt = None,
    timeout: TimeoutOpt = 60.0,
) -> None:
    """Set VERSION's reference: its open windows close on the old one, new events are judged against FILE."""
    import orjson

    from argusml.profile import Reference
    from argusml.schema import ArgusError

    if not version or len(version) > 64:
        fail("--version must have 1 to 64 characters")
    try:
        ref = Reference.load(file)
    except ArgusError as exc:
        fail(f"{exc} (a baseline is the JSON `argus baseline DATA -o FILE` writes)")
    body = orjson.dumps(ref.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY)
    with http_client(url, token, timeout) as client:
        r = call(client, "PUT", f"/v1/models/{model}/versions/{version}/reference", content=body,
                 headers={"content-type": "application/json"})
        if r.status_code != 200:
            answer = body_of(r)
            fail(f"{r.status_code} {answer.get('error', 'error')}: {detail_of(r)}")
    typer.echo(f"model {model} version {version}: reference set from {file} ({ref.n_rows} rows, "
               f"{len(ref.specs)} columns)")


__all__ = ["reference_app", "reference_set_cmd"]

"""`argus incidents` and `argus silences`: what the alert engine opened on a running service, and what an
on-call engineer does about it, from a terminal.

`argus incidents list --url URL --json` prints the JSON list of ``GET /v1/incidents`` (the contract scripts
rely on); without ``--json`` a table a person reads. Every command exits 2 with one line when the service
cannot be reached.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from argusml.cli.remote import TimeoutOpt, TokenOpt, UrlOpt, call, detail_of, fail, http_client

incidents_app = typer.Typer(no_args_is_help=True, help="Incidents on a running service: list, show, ack, resolve.")
silences_app = typer.Typer(no_args_is_help=True, help="Silences on a running service: add, list, expire.")

JsonOpt = Annotated[bool, typer.Option("--json", help="print the service's JSON")]


def _request(url: str, token: str | None, timeout: float, method: str, path: str, **kw: Any) -> Any:
    """The JSON of a 2xx answer, or exit 2 with the service's reason."""
    with http_client(url, token, timeout) as client:
        r = call(client, method, path, **kw)
        if r.status_code >= 300:
            fail(f"HTTP {r.status_code}: {detail_of(r)}")
        try:
            return r.json()
        except ValueError:
            fail(f"HTTP {r.status_code} from {r.request.url} is not an Argus answer: {r.text[:200] or 'empty'} "
                 "(is --url an Argus service?)")


def _echo_json(body: Any) -> None:
    import orjson

    typer.echo(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())


def _when(text: str | None) -> str:
    return (text or "-").replace("T", " ").replace("Z", "")[:16]


@incidents_app.command("list")
def incidents_list(url: UrlOpt, model: Annotated[Optional[str], typer.Option("--model", help="one model")] = None,
                   status: Annotated[Optional[str], typer.Option(
                       "--status", help="open, acknowledged or resolved")] = None,
                   limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 50,
                   as_json: JsonOpt = False, token: TokenOpt = None, timeout: TimeoutOpt = 30.0) -> None:
    """Incidents, newest first.

    Example: argus incidents list --url http://argus:8080 --model credit --status open
    """
    if status is not None and status not in ("open", "acknowledged", "resolved"):
        fail(f"--status must be open, acknowledged or resolved, not {status!r}")
    params = {k: v for k, v in (("model", model), ("status", status), ("limit", limit)) if v is not None}
    body = _request(url, token, timeout, "GET", "/v1/incidents", params=params)
    if as_json:
        _echo_json(body)
        return
    if not body:
        typer.echo("no incidents" + (f" of {model}" if model else ""))
        return
    for inc in body:
        causes = len(inc["causes"])
        typer.echo(f"{inc['id']}  {inc['severity']}  {inc['status']:<12}  opened {_when(inc['opened_at'])}  "
                   f"{len(inc['alerts'])} alert(s), {causes} cause(s)  {inc['title']}")


@incidents_app.command("show")
def incidents_show(incident_id: Annotated[str, typer.Argument(help="the incident's id (inc-...)")], url: UrlOpt,
                   as_json: JsonOpt = False, token: TokenOpt = None, timeout: TimeoutOpt = 30.0) -> None:
    """One incident: its alerts, the ranked causes with their evidence, and its timeline.

    Example: argus incidents show inc-3f2a9c1b7d4e --url http://argus:8080
    """
    inc = _request(url, token, timeout, "GET", f"/v1/incidents/{incident_id}")
    if as_json:
        _echo_json(inc)
        return
    typer.echo(f"{inc['id']}  {inc['severity']}  {inc['status']}  {inc['title']}")
    typer.echo(f"  opened {_when(inc['opened_at'])} UTC, first bad window {_when(inc['first_bad_at'])} "
               f"(detected after {inc['time_to_detect_s'] / 60:.0f} min)"
               + (f"; resolved {_when(inc['resolved_at'])} by {inc['resolved_by'] or 'the engine'}"
                  if inc["resolved_at"] else ""))
    rec = inc.get("recommendation")
    if rec:
        typer.echo(f"recommendation: {rec['decision'].upper().replace('_', ' ')}: {rec['summary']}")
        for action in rec["actions"]:
            typer.echo(f"  -> {action}")
    by_id = {a["id"]: a for a in inc["alerts"]}
    if inc["causes"]:
        typer.echo("likely causes:")
        for c in inc["causes"]:
            a = by_id[c["alert_id"]]
            typer.echo(f"  {c['rank']}. [{a['severity']}] {a['name']}  {c['evidence']}")
            typer.echo(f"     runbook: {a['runbook_url']}")
    symptoms = [a for a in inc["alerts"] if a["role"] == "symptom"]
    if symptoms:
        typer.echo("symptoms:")
        for a in symptoms:
            typer.echo(f"  [{a['severity']}] {a['name']} ({a['status']}): {a['summary']}")
    typer.echo("timeline:")
    for e in inc["timeline"]:
        typer.echo(f"  {_when(e['at'])}  {e['event']}: {e['detail']}")


def _act(action: str, incident_id: str, url: str, by: str | None, comment: str, token: str | None,
         timeout: float, as_json: bool) -> None:
    body = {"comment": comment, **({"by": by} if by else {})}
    inc = _request(url, token, timeout, "POST", f"/v1/incidents/{incident_id}/{action}", json=body)
    if as_json:
        _echo_json(inc)
    else:
        typer.echo(f"{inc['id']}: {inc['status']}")


ByOpt = Annotated[Optional[str], typer.Option("--by", help="who (default: the token's name)")]
CommentOpt = Annotated[str, typer.Option("--comment", help="a note for the timeline")]


@incidents_app.command("ack")
def incidents_ack(incident_id: Annotated[str, typer.Argument(help="the incident's id")], url: UrlOpt,
                  by: ByOpt = None, comment: CommentOpt = "", as_json: JsonOpt = False, token: TokenOpt = None,
                  timeout: TimeoutOpt = 30.0) -> None:
    """Acknowledge: someone is on it. Stops the repeats; an escalation is still sent.

    Example: argus incidents ack inc-3f2a9c1b7d4e --url http://argus:8080 --by alice
    """
    _act("ack", incident_id, url, by, comment, token, timeout, as_json)


@incidents_app.command("resolve")
def incidents_resolve(incident_id: Annotated[str, typer.Argument(help="the incident's id")], url: UrlOpt,
                      by: ByOpt = None, comment: CommentOpt = "", as_json: JsonOpt = False, token: TokenOpt = None,
                      timeout: TimeoutOpt = 30.0) -> None:
    """Resolve by hand: receivers are told, and the incident gets a post-mortem draft.

    Example: argus incidents resolve inc-3f2a9c1b7d4e --url http://argus:8080 --comment "upstream fixed"
    """
    _act("resolve", incident_id, url, by, comment, token, timeout, as_json)


@silences_app.command("add")
def silences_add(url: UrlOpt,
                 match: Annotated[list[str], typer.Option("--match", help="LABEL=VALUE (repeatable; * wildcards): "
                                                                          "alertname, model, model_version, "
                                                                          "severity, column")],
                 duration: Annotated[str, typer.Option("--for", help="how long, e.g. 2h")],
                 author: Annotated[Optional[str], typer.Option("--author", help="who")] = None,
                 comment: CommentOpt = "", token: TokenOpt = None, timeout: TimeoutOpt = 30.0) -> None:
    """Mute notifications of matching alerts for a while (they still fire and show in incidents).

    Example: argus silences add --url http://argus:8080 --match model=credit --match alertname=drift --for 2h
    """
    matchers = {}
    for m in match:
        key, sep, value = m.partition("=")
        if not sep or not key:
            fail(f"--match {m!r}: write LABEL=VALUE, e.g. alertname=drift")
        matchers[key] = value
    body = {"matchers": matchers, "duration": duration, "comment": comment, **({"author": author} if author else {})}
    s = _request(url, token, timeout, "POST", "/v1/silences", json=body)
    typer.echo(f"{s['id']}: until {_when(s['ends_at'])} UTC")


@silences_app.command("list")
def silences_list(url: UrlOpt, as_json: JsonOpt = False, token: TokenOpt = None, timeout: TimeoutOpt = 30.0) -> None:
    """Silences, active and ended.

    Example: argus silences list --url http://argus:8080
    """
    body = _request(url, token, timeout, "GET", "/v1/silences")
    if as_json:
        _echo_json(body)
        return
    for s in body:
        match = " ".join(f"{k}={v}" for k, v in s["matchers"].items())
        typer.echo(f"{s['id']}  {'active' if s['active'] else 'ended ':<6}  until {_when(s['ends_at'])}  "
                   f"{match}  by {s['author']}" + (f": {s['comment']}" if s["comment"] else ""))


@silences_app.command("expire")
def silences_expire(silence_id: Annotated[str, typer.Argument(help="the silence's id (sil-...)")], url: UrlOpt,
                    token: TokenOpt = None, timeout: TimeoutOpt = 30.0) -> None:
    """End a silence now.

    Example: argus silences expire sil-0a1b2c3d4e5f --url http://argus:8080
    """
    s = _request(url, token, timeout, "DELETE", f"/v1/silences/{silence_id}")
    typer.echo(f"{s['id']}: ended {_when(s['ends_at'])} UTC")

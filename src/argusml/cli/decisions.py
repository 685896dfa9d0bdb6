"""`argus compare` and `argus advise`: what to do about a model, read from a running service.

Both print a decision first (promote / wait / roll back; for `advise`, the
decision tree's one recommendation), then the reasons in plain words, then
the numbers. Exit 1 when the decision is to act (roll back; for `advise`,
also retrain, fix the data, disable a feature, scale or restart, fail
open), so a deploy pipeline can gate on it; 0 otherwise; 2 when no
decision could be had.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, Optional

import typer

from argusml.cli.remote import TimeoutOpt, TokenOpt, UrlOpt, get_json

ModelOpt = Annotated[str, typer.Option("--model", help="the model")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the service's JSON answer")]


def compare_cmd(
    url: UrlOpt,
    model: ModelOpt,
    champion: Annotated[str, typer.Option("--champion", help="the version serving now")],
    challenger: Annotated[str, typer.Option("--challenger", help="the canary or shadow version")],
    since: Annotated[Optional[str], typer.Option("--since", help="predictions from (RFC 3339 or epoch seconds)")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="predictions before (RFC 3339 or epoch s)")] = None,
    as_json: JsonOpt = False,
    token: TokenOpt = None,
    timeout: TimeoutOpt = 60.0,
) -> None:
    """Champion against challenger: promote, keep waiting (and for how many labels), or roll back, with the
    reasons and the table of differences. Exit 0 for promote or wait, 1 for roll back, 2 when no verdict
    could be had (service unreachable, unknown model or version).

    Example: argus compare --url http://argus:8080 --model credit --champion v3 --challenger v4 --since 2026-11-01
    """
    body = get_json(url, token, f"/v1/models/{model}/compare",
                    {"champion": champion, "challenger": challenger, "since": since, "until": until}, timeout)
    if as_json:
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    else:
        _print_compare(body)
    raise typer.Exit(1 if body.get("verdict", {}).get("decision") == "rollback" else 0)


ACT = ("retrain", "disable_feature", "fix_data", "rollback", "scale_or_restart", "fail_open")
"""Decisions that ask for an action now: `argus advise` exits 1 on them."""


def advise_cmd(
    url: UrlOpt,
    model: ModelOpt,
    review: Annotated[Optional[str], typer.Option("--review", help="a review sample's estimate (the JSON "
                                                  "`argus labels import --json` prints), weighed where labels "
                                                  "are scarce")] = None,
    as_json: JsonOpt = False,
    token: TokenOpt = None,
    timeout: TimeoutOpt = 60.0,
) -> None:
    """What to do about a model now, one recommendation per version from the decision tree: fail open, scale
    or restart, roll back, fix the data, wait (a declared holiday; harmless drift), disable a feature,
    retrain (on which window), investigate or no action, in plain words. Exit 1 when it asks for an action
    (retrain, roll back, fix the data, disable a feature, scale or restart, fail open), 0 for no action,
    wait or investigate, 2 when no advice could be had.

    Example: argus advise --url http://argus:8080 --model credit
    """
    params = None
    if review is not None:
        from argusml.cli.remote import fail

        try:
            with open(review, encoding="utf-8") as f:
                est = json.load(f)
            params = {"review_metric": est["metric"], "review_value": est["value"], "review_low": est["low"],
                      "review_high": est["high"], "review_n": est["responded"]}
        except OSError as exc:
            fail(f"--review {review}: {exc.strerror or exc}")
        except (ValueError, KeyError, TypeError) as exc:
            fail(f"--review {review}: not an estimate as `argus labels import --json` prints it ({exc!r} missing "
                 "or unreadable: it needs metric, value, low, high and responded)")
    body = get_json(url, token, f"/v1/models/{model}/advice", params, timeout)
    if as_json:
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    else:
        _print_advice(body)
    raise typer.Exit(1 if body.get("decision") in ACT else 0)


def _print_advice(body: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console(width=max(100, Console().width), highlight=False)
    words = {"no_action": "NO ACTION", "wait": "WAIT", "investigate": "INVESTIGATE", "retrain": "RETRAIN",
             "disable_feature": "DISABLE FEATURE", "fix_data": "FIX DATA", "rollback": "ROLL BACK",
             "scale_or_restart": "SCALE OR RESTART", "fail_open": "FAIL OPEN"}
    versions = body.get("versions") or {}
    if not versions:
        console.print(f"[bold]{words.get(body['decision'], body['decision'])}[/bold]: {body['model']}: "
                      f"{body['summary']}")
        return
    for version, a in sorted(versions.items(), key=lambda kv: kv[0] != body.get("version")):
        console.print(f"[bold]{words.get(a['decision'], a['decision'])}[/bold]: {body['model']} version {version}")
        for reason in a["reasons"]:
            console.print(f"  - {reason}", soft_wrap=False)
        for action in a["actions"]:
            console.print(f"  -> {action}", soft_wrap=False)


def _print_compare(body: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(110, Console().width), highlight=False)
    v = body["verdict"]
    words = {"promote": "PROMOTE the challenger", "wait": "KEEP WAITING", "rollback": "ROLL BACK the challenger"}
    more = f" ({v['labels_needed']:,} more labels needed)" if v.get("labels_needed") else ""
    console.print(f"[bold]{words.get(v['decision'], v['decision'])}[/bold]{more}: {body['model']} "
                  f"{body['challenger']} (challenger) against {body['champion']} (champion)")
    console.print(f"{body['task']} model, watched metric {body['metric']}; {body['mode']} traffic, "
                  f"{body['matched']:,} shared ids, {body['analysis']} analysis; labels "
                  f"{body['labels']['champion']:,} / {body['labels']['challenger']:,}")
    for reason in v["reasons"]:
        console.print(f"  - {reason}", soft_wrap=False)

    def num(x: Any) -> str:
        return "-" if x is None else f"{x:.4g}"

    table = Table(show_lines=False)
    for col in ("measure", "champion", "challenger", "difference", "interval", "test", "p"):
        table.add_column(col, overflow="fold")
    rows = [*body["differences"].values(), *(d for d in body["operational"].values() if d)]
    for d in rows:
        table.add_row(d["metric"], num(d["champion"]), num(d["challenger"]), num(d["difference"]),
                      f"{num(d['low'])} to {num(d['high'])}", d["interval"], num(d["p_value"]))
    console.print(table)
    if body.get("paired_test"):
        pt = body["paired_test"]
        if pt["test"] == "mcnemar":
            console.print(f"McNemar on {pt['pairs']:,} shared ids: champion right and challenger wrong "
                          f"{pt['champion_right_challenger_wrong']:,}, the reverse "
                          f"{pt['champion_wrong_challenger_right']:,}; exact p {num(pt['p_exact'])}, "
                          f"mid-p {num(pt['p_mid'])}")
        else:
            console.print(f"paired t on the absolute errors of {pt['pairs']:,} shared ids: p {num(pt['p_value'])}")



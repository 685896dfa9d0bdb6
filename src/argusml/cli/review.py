"""`argus sample` and `argus labels import`: sampled ground truth, from the service to a reviewer and back.

`argus sample` asks a running service to draw predictions for review
(``GET /v1/models/{model}/sample``: the service draws from the whole
window) and writes them as CSV or JSONL with an empty ``label`` column,
plus a design file beside it (``FILE.design.json``) holding every drawn
unit's stratum and inclusion probability and how the model's predictions
are scored. The review file is the reviewer's to edit; the design file is
what the estimate is computed from, so a reviewer who sorts, filters or
deletes rows cannot break it (a deleted row is a review that did not come
back).

`argus labels import` sends the filled-in labels to the service and
prints the accuracy (classification) or mean absolute error (regression)
of the window's predictions, estimated from the sample with its interval
(``argusml.stats.sampling``). Bad rows are reported with their line and
left out; the good ones are still sent.

Exit codes: 0 done; 1 some rows were bad (the rest were sent); 2 nothing
could be done (unusable input, unreachable service, unknown model).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from argusml.cli.remote import TokenOpt, UrlOpt, body_of, call, detail_of, fail, http_client, write_output

DESIGN_FORMAT = "argus-review-sample"
DESIGN_VERSION = 1
FORMATS = ("csv", "jsonl")
SEND_CHUNK = 5_000
"""Labels per request: well under the service's 50,000, so one slow request never holds many."""
COLUMNS = ("id", "version", "timestamp", "segment", "prediction", "predicted", "uncertainty", "stratum",
           "inclusion_probability", "label")

labels_app = typer.Typer(no_args_is_help=True, help="Ground truth for a running service: import reviewed labels.")


# -- argus sample --------------------------------------------------------------------------------------------
def _format_of(path: str, given: str | None) -> str:
    if given is not None:
        if given not in FORMATS:
            fail(f"--format must be csv or jsonl, got {given!r}")
        return given
    return "jsonl" if path.lower().endswith((".jsonl", ".ndjson", ".json")) else "csv"


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True)
    return str(v)


def sample_cmd(
    url: UrlOpt,
    model: Annotated[str, typer.Option("--model", "-m", help="the model to sample predictions of")],
    size: Annotated[int, typer.Option("--size", "-n", help="predictions to draw for review")] = 200,
    since: Annotated[Optional[str], typer.Option("--since", help="window start: RFC 3339 or epoch seconds")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="window end (exclusive)")] = None,
    version: Annotated[Optional[str], typer.Option("--version", help="only this model version")] = None,
    random_share: Annotated[float, typer.Option("--random-share", help="share of the sample allocated in "
                                                "proportion to stratum sizes; the rest favours uncertain "
                                                "predictions")] = 0.3,
    strata: Annotated[int, typer.Option("--strata", help="uncertainty strata")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="seed of the draw: the same seed, the same sample")] = 0,
    include_labelled: Annotated[bool, typer.Option("--include-labelled", help="also draw predictions that "
                                                   "already have a label")] = False,
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="csv or jsonl (default: from -o's "
                                                  "extension, else csv)")] = None,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="file to write (default: "
                                                  "argus-sample-MODEL.csv); the design goes to FILE.design.json")]
    = None,
    token: TokenOpt = None,
) -> None:
    """Draw predictions for human review: uncertain ones more often, every one with its inclusion probability.

    Writes the rows with an empty `label` column for the reviewer, and FILE.design.json beside them.

    Once the labels are filled in, `argus labels import FILE` sends them and estimates the accuracy.

    Example: argus sample --url http://argus:8080 --model credit --size 300 --since 2026-01-01 -o review.csv
    """
    path = output or f"argus-sample-{model}.csv"
    if path == "-":
        fail("-o must be a file: the design is written beside it (FILE.design.json)")
    fmt = _format_of(path, format)
    params: dict[str, Any] = {"size": size, "random_share": random_share, "strata": strata, "seed": seed,
                              "unlabelled_only": str(not include_labelled).lower()}
    for k, v in (("since", since), ("until", until), ("version", version)):
        if v is not None:
            params[k] = v
    with http_client(url, token) as client:
        r = call(client, "GET", f"/v1/models/{model}/sample", params=params)
    if r.status_code != 200:
        fail(f"the service refused the sample: {detail_of(r)}")
    body = body_of(r)
    rows = body["rows"]
    if not rows:
        what = "predictions" if include_labelled else "predictions without a label"
        fail(f"no {what} of model {model!r} in the window: nothing to review")
    text = _render(rows, fmt)
    design = {"format": DESIGN_FORMAT, "format_version": DESIGN_VERSION, "model": model, "url": url,
              "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "file": os.path.basename(path),
              "since": body.get("since"), "until": body.get("until"), "version": body.get("version"),
              "unlabelled_only": body.get("unlabelled_only"), "population": body["population"],
              "design": body["design"], "scoring": body["scoring"], "ids": body.get("ids", "as_sent"),
              "units": [{k: row.get(k) for k in ("id", "version", "stratum", "inclusion_probability", "prediction",
                                                  "predicted", "prediction_label")} for row in rows]}
    write_output(path, text)
    write_output(path + ".design.json", json.dumps(design, indent=1) + "\n")
    pis = [row["inclusion_probability"] for row in rows]
    typer.echo(f"{path}: {len(rows)} of {body['population']:,} predictions to review "
               f"({len(body['design']['strata'])} strata, inclusion probabilities {min(pis):.3g} to {max(pis):.3g}); "
               f"design: {path}.design.json")
    typer.echo(f"fill in the `label` column, then: argus labels import {path} --url {url} --model {model}")


def _render(rows: list[dict[str, Any]], fmt: str) -> str:
    out = io.StringIO()
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps({**{k: row.get(k) for k in COLUMNS if k != "label"}, "label": None}) + "\n")
        return out.getvalue()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for row in rows:
        w.writerow([_cell(row.get(k)) for k in COLUMNS])
    return out.getvalue()


# -- argus labels import ---------------------------------------------------------------------------------------
@dataclass
class Reviewed:
    """The rows of a review file: labels to send, rows that were bad (line, reason), and how many were blank."""

    sends: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the file line of each entry of ``sends``
    bad: list[tuple[int, str]] = field(default_factory=list)
    blank: int = 0


def _read_rows(path: str, fmt: str, id_column: str, label_column: str) -> tuple[list[tuple[int, dict[str, Any]]],
                                                                                list[tuple[int, str]]]:
    """(line, row) of every record, and (line, why) of the records that could not be read."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror or exc}")
    try:
        text = raw.decode("utf-8-sig")  # a spreadsheet's CSV often starts with a byte-order mark
    except UnicodeDecodeError as exc:
        fail(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV or JSONL")
    rows: list[tuple[int, dict[str, Any]]] = []
    bad: list[tuple[int, str]] = []
    if fmt == "jsonl":
        for k, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except ValueError as exc:
                bad.append((k, f"not valid JSON: {exc}"))
                continue
            if not isinstance(doc, dict):
                bad.append((k, "not a JSON object"))
                continue
            rows.append((k, doc))
        if rows and not any(id_column in r for _, r in rows):
            fail(f"{path}: no {id_column!r} field in any row (--id-column)")
        if rows and not any(label_column in r for _, r in rows):
            fail(f"{path}: no {label_column!r} field in any row (--label-column)")
        return rows, bad
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        fail(f"{path}: empty file")
    except csv.Error as exc:
        fail(f"{path}: not readable as CSV: {exc}")
    header = [h.strip() for h in header]
    for col, opt in ((id_column, "--id-column"), (label_column, "--label-column")):
        if col not in header:
            fail(f"{path}: missing column {col!r} ({opt}); columns: {', '.join(header) or 'none'}")
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            bad.append((reader.line_num, f"not readable as CSV: {exc}"))
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            bad.append((reader.line_num, f"{len(cells)} fields, the header has {len(header)}"))
            continue
        rows.append((reader.line_num, dict(zip(header, cells))))
    return rows, bad


def _typed_label(v: Any, kind: str | None) -> tuple[Any, str | None]:
    """The label as the service takes it for a target of ``kind`` (CSV cells are text: "1" must go as the
    number 1 to a numeric target), or the reason it cannot be one. A categorical target takes the text as
    it is (a class "01" stays "01"); without a design the kind is unknown and numbers are sent as numbers,
    which every kind of target takes (a categorical one spells 1.0 as "1", as predictions do)."""
    if isinstance(v, str):
        s = v.strip()
        if kind == "numeric":
            try:
                x = float(s)
            except ValueError:
                return None, f"label {s!r} is not a number (the target is numeric)"
            if not math.isfinite(x):
                return None, f"label {s!r} is not a finite number"
            return (int(x) if x.is_integer() and abs(x) < 2**53 else x), None
        if kind == "boolean":
            low = s.lower()
            if low in ("true", "1", "1.0", "yes"):
                return True, None
            if low in ("false", "0", "0.0", "no"):
                return False, None
            return None, f"label {s!r} is not true/false (the target is boolean)"
        if kind is None:  # no design to say: a number goes as a number, true/false as a boolean
            try:
                x = float(s)
            except ValueError:
                return ({"true": True, "false": False}.get(s.lower(), s)), None
            if math.isfinite(x):
                return (int(x) if x.is_integer() and abs(x) < 2**53 else x), None
        return s, None
    if isinstance(v, (bool, int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            return None, "label is not a finite number"
        return v, None
    return None, f"label must be a number, a class or true/false, got {type(v).__name__}"


def _load_design(path: str) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"{path}: design file not found (`argus sample` writes it beside the sample); pass --design PATH, "
             "or --no-estimate to send the labels without an estimate")
    except (OSError, ValueError) as exc:
        fail(f"{path}: not a readable design file: {exc}")
    if not isinstance(doc, dict) or doc.get("format") != DESIGN_FORMAT:
        fail(f"{path}: not an Argus review design (written by `argus sample`)")
    if doc.get("format_version") != DESIGN_VERSION:
        fail(f"{path}: design format version {doc.get('format_version')} is not supported (this argus reads "
             f"{DESIGN_VERSION})")
    return doc


def _collect(rows: list[tuple[int, dict[str, Any]]], id_column: str, label_column: str, version_column: str,
             design: dict[str, Any] | None) -> Reviewed:
    """Labels to send, one per (version, id), typed for their version's target; the rest as bad rows."""
    out = Reviewed()
    versions_of: dict[str, list[str]] = {}
    if design is not None:
        for u in design["units"]:
            versions_of.setdefault(str(u["id"]), []).append(u["version"])
    scoring = (design or {}).get("scoring", {})
    seen: dict[tuple[str | None, str], int] = {}
    for line, row in rows:
        lid = row.get(id_column)
        lid = "" if lid is None else str(lid).strip()
        label = row.get(label_column)
        if label is None or (isinstance(label, str) and not label.strip()):
            out.blank += 1  # not reviewed: a review that did not come back
            continue
        if not lid:
            out.bad.append((line, f"no {id_column!r}"))
            continue
        version = row.get(version_column)
        version = str(version).strip() if version not in (None, "") else None
        if version is None and len(versions_of.get(lid, [])) == 1:
            version = versions_of[lid][0]
        kind = (scoring.get(version) or next(iter(scoring.values()), {})).get("target_kind") if scoring else None
        value, err = _typed_label(label, kind)
        if err is not None:
            out.bad.append((line, err))
            continue
        key = (version, lid)
        if key in seen:
            out.bad.append((line, f"id {lid!r} again (first on line {seen[key]}); keep one label per prediction"))
            continue
        seen[key] = line
        doc: dict[str, Any] = {"id": lid, "label": value}
        if version is not None:
            doc["version"] = version
        if (design or {}).get("ids") == "hashed":  # the service's own tokens: not to be hashed again
            doc["id_hashed"] = True
        out.sends.append(doc)
        out.lines.append(line)
    return out


def _send(client: Any, model: str, reviewed: Reviewed) -> tuple[list[int], dict[str, int]]:
    """Post the labels in chunks; the positions in ``sends`` the service accepted, and its counts."""
    accepted: list[int] = []
    counts = {"accepted": 0, "joined": 0, "pending": 0, "duplicates": 0, "corrected": 0}
    for start in range(0, len(reviewed.sends), SEND_CHUNK):
        chunk = reviewed.sends[start:start + SEND_CHUNK]
        r = call(client, "POST", f"/v1/models/{model}/labels", json=chunk)
        if r.status_code not in (200, 202, 422):
            fail(f"the service refused the labels (HTTP {r.status_code}): {detail_of(r)}")
        body = body_of(r)
        if r.status_code == 422 and "rejected" not in body:
            fail(f"the service refused the labels: {detail_of(r)}")
        rejected = {int(x["index"]): x for x in body.get("rejected", [])}
        for k in range(len(chunk)):
            if k in rejected:
                x = rejected[k]
                reviewed.bad.append((reviewed.lines[start + k], f"refused by the service: "
                                     f"{x.get('field') or 'label'}: {x.get('error')}"))
            else:
                accepted.append(start + k)
        for key in counts:
            counts[key] += int(body.get(key, 0) or 0)
    return accepted, counts


def estimate_from_review(design: dict[str, Any], labels: dict[tuple[str | None, str], Any]) -> dict[str, Any]:
    """The estimate from the design's units and the labels that reached the service, keyed by (version, id)
    (version None: the label named none). Classification: accuracy (label == predicted class, the binary
    decision being score >= threshold); regression: mean absolute error."""
    from argusml.monitor.labels import label_text
    from argusml.schema import Kind
    from argusml.stats.sampling import estimate_mean

    scoring = design["scoring"]
    tasks = {s["task"] for s in scoring.values()}
    if not tasks:
        raise ValueError("the design has no scored versions")
    regression = tasks == {"regression"}
    if regression is False and "regression" in tasks:
        raise ValueError("the sample mixes regression and classification versions: sample one --version at a time")
    values, strata = [], []
    for u in design["units"]:
        sc = scoring[u["version"]]
        lab = labels.get((u["version"], str(u["id"])), labels.get((None, str(u["id"]))))
        strata.append(int(u["stratum"]))
        if lab is None:
            values.append(math.nan)
            continue
        kind = Kind(sc["target_kind"]) if sc.get("target_kind") else Kind.CATEGORICAL
        text = label_text(lab, kind)
        if regression:
            pred = u.get("prediction")
            values.append(math.nan if pred is None or text is None else abs(float(text) - float(pred)))
        elif sc["task"] == "binary":
            pos = sc["positive_class"]
            score = u.get("prediction")
            predicted_pos = score >= sc["threshold"] if score is not None else u.get("prediction_label") == pos
            values.append(float((text == pos) == predicted_pos))
        else:
            values.append(float(text == u.get("prediction_label")))
    est = estimate_mean(values, strata, design["design"]["strata"], binary=not regression)
    out = est.to_dict()
    out["metric"] = "mean_absolute_error" if regression else "accuracy"
    return out


@labels_app.command("import")
def labels_import_cmd(
    file: Annotated[str, typer.Argument(help="the reviewed sample (CSV or JSONL) written by `argus sample`")],
    url: UrlOpt,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="the model (default: the design's)")] = None,
    id_column: Annotated[str, typer.Option("--id-column", help="column of the prediction ids")] = "id",
    label_column: Annotated[str, typer.Option("--label-column", help="column of the reviewed labels")] = "label",
    version_column: Annotated[str, typer.Option("--version-column", help="column of the versions "
                                                "(optional)")] = "version",
    design_path: Annotated[Optional[str], typer.Option("--design", help="the design file (default: "
                                                       "FILE.design.json)")] = None,
    no_estimate: Annotated[bool, typer.Option("--no-estimate", help="send the labels only (no design file "
                                              "needed)")] = False,
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="csv or jsonl (default: from the "
                                                  "extension)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the estimate as JSON on stdout")] = False,
    token: TokenOpt = None,
) -> None:
    """Send reviewed labels to the service and estimate the window's accuracy from the sample.

    Rows with an empty label were not reviewed: they count as reviews that did not come back. A bad row
    (no id, a label the target cannot take, a line that is not JSON) is reported with its line and left
    out; the others are still sent, and the exit code is then 1.

    Example: argus labels import review.csv --url http://argus:8080 --model credit
    """
    if not os.path.exists(file):
        fail(f"{file}: not found")
    fmt = _format_of(file, format)
    design = None if no_estimate else _load_design(design_path or file + ".design.json")
    model = model or (design or {}).get("model")
    if not model:
        fail("--model is required (no design file names it)")
    if design is not None and design.get("model") != model:
        fail(f"the design is of model {design.get('model')!r}, not {model!r} (--design?)")
    rows, unreadable = _read_rows(file, fmt, id_column, label_column)
    reviewed = _collect(rows, id_column, label_column, version_column, design)
    reviewed.bad.extend(unreadable)
    if design is not None and reviewed.sends:
        ids = {str(u["id"]) for u in design["units"]}
        if not any(s["id"] in ids for s in reviewed.sends):
            fail(f"none of the labelled ids of {file} are in the design {design_path or file + '.design.json'} "
                 "(another sample's design?)")
    counts: dict[str, int] = {}
    accepted: list[int] = []
    if reviewed.sends:
        with http_client(url, token) as client:
            accepted, counts = _send(client, model, reviewed)
    say = (lambda m: typer.echo(m, err=True)) if as_json else typer.echo
    for line, why in sorted(reviewed.bad):
        typer.echo(f"{file}:{line}: {why}", err=True)
    say(f"sent {counts.get('accepted', 0)} labels of model {model!r} ({counts.get('joined', 0)} joined, "
        f"{counts.get('pending', 0)} pending, {counts.get('duplicates', 0)} duplicates, "
        f"{counts.get('corrected', 0)} corrections); {reviewed.blank} rows not reviewed; "
        f"{len(reviewed.bad)} bad rows")
    if design is not None:
        got = {(reviewed.sends[k].get("version"), reviewed.sends[k]["id"]): reviewed.sends[k]["label"]
               for k in accepted}
        try:
            est = estimate_from_review(design, got)
        except ValueError as exc:
            say(f"no estimate: {exc}")
            est = None
        if est is not None:
            if as_json:
                sys.stdout.write(json.dumps(est, indent=1) + "\n")
            else:
                _print_estimate(est, design)
    raise typer.Exit(1 if reviewed.bad else 0)


def _print_estimate(est: dict[str, Any], design: dict[str, Any]) -> None:
    name = est["metric"].replace("_", " ")
    ranges = {s["stratum"]: (s.get("uncertainty_low"), s.get("uncertainty_high")) for s in design["design"]["strata"]}
    typer.echo(f"{name}: {est['value']:.4f} ({est['level']:.0%} interval {est['low']:.4f} to {est['high']:.4f}), "
               f"estimated for {est['population']:,} predictions from {est['responded']} of {est['sampled']} "
               f"reviewed (response {est['response_rate']:.1%}; {est['interval']})")
    for s in est["strata"]:
        mean = "-" if s["mean"] is None else f"{s['mean']:.4f}"
        pooled = f" (pooled with stratum {s['pooled_with']})" if s["pooled_with"] is not None else ""
        lo, hi = ranges.get(s["stratum"], (None, None))
        where = f"uncertainty {lo:.3f} to {hi:.3f}" if lo is not None and hi is not None else "no uncertainty known"
        typer.echo(f"  stratum {s['stratum']} ({where}): {s['population']:,} predictions, {s['responded']}/"
                   f"{s['sampled']} reviewed, {name} {mean}{pooled}")


__all__ = ["estimate_from_review", "labels_app", "labels_import_cmd", "sample_cmd"]

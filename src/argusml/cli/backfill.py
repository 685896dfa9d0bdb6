"""`argus backfill`: load a file of past predictions into a running service's windows.

A new deployment starts with no history: its first windows close minutes
after it starts, and a trend takes days. `argus backfill` reads a Parquet or
CSV file of predictions that were made before (an id, a time, the
prediction and the features per row), sorts them by time and sends them in
chunks to ``POST /v1/models/{model}/backfill``, which places each in the
window of its own time, closes those windows as the backfill moves past
them, and rolls them up as usual (docs/SERVICE.md, "Backfill").

Columns are found by the model's baseline: its id, timestamp and prediction
columns and its features (``GET /v1/models/{model}`` says which they are),
with flags to map other names. The service validates every event as it
validates live ones; a row it refuses is reported with its row number (1 =
the first data row), and so is a row without a usable time, which is not
sent. Exit codes: 0 everything accepted (duplicates of events already
stored count as accepted: a re-sent file changes nothing); 1 some rows were
refused (the others were stored); 2 nothing could be done (unusable file,
unreachable service, unknown model).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Annotated, Any, Optional

import typer

from argusml.cli.remote import TokenOpt, UrlOpt, body_of, call, detail_of, fail, get_json, http_client

SEND_CHUNK = 5_000
"""Events per request: far under the service's 50,000 and 16 MB, so one slow request never holds many."""
MAX_RETRIES = 30
SHOWN_PROBLEMS = 10
STRING_KINDS = ("categorical", "text", "identifier")


@dataclass
class Outcome:
    """What the service made of the rows: counts, and (row, field, reason) of every refused row."""

    sent: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str | None, str]] = field(default_factory=list)
    warnings: int = 0


def _read(path: str, fmt: str, strings: list[str]) -> Any:
    """The file as an Arrow table; CSV columns in ``strings`` (ids, categorical features) are read as
    text, so an id "007" or a category "01" is not turned into the number 7 or 1."""
    import pyarrow as pa

    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path)
        from pyarrow import csv

        delim = "\t" if ".tsv" in path.lower() else ","
        header = _csv_header(path, delim)
        types = {c: pa.string() for c in strings if c in header}
        return csv.read_csv(path, parse_options=csv.ParseOptions(delimiter=delim, newlines_in_values=True),
                            convert_options=csv.ConvertOptions(column_types=types, strings_can_be_null=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError, UnicodeDecodeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        fail(f"{path}: cannot read the file: {msg}")


def _csv_header(path: str, delim: str) -> list[str]:
    import csv as pycsv
    import gzip

    opener = gzip.open if path.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as f:  # type: ignore[operator]
        try:
            return [h.strip() for h in next(pycsv.reader(f, delimiter=delim))]
        except StopIteration:
            fail(f"{path}: empty file")


def _epoch_seconds(col: Any) -> list[Any]:
    """A timestamp or date column as epoch seconds (a time without a zone is UTC); other types as they are."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    if pa.types.is_timestamp(t):
        per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[t.unit]
        ints = pc.cast(col, pa.timestamp(t.unit)).cast(pa.int64()).to_pylist()
        return [None if v is None else v / per_second for v in ints]
    if pa.types.is_date(t):
        return [None if v is None else datetime(v.year, v.month, v.day, tzinfo=timezone.utc).timestamp()
                for v in col.to_pylist()]
    return col.to_pylist()


def _json_value(v: Any) -> Any:
    """A cell as the service's JSON takes it: NaN is missing, times are RFC 3339, decimals are numbers."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, datetime):
        return (v if v.tzinfo else v.replace(tzinfo=timezone.utc)).isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    if isinstance(v, list) and all(isinstance(x, tuple) and len(x) == 2 for x in v):  # an Arrow map column
        return {str(k): _json_value(x) for k, x in v}
    return str(v)


def _time_of(v: Any, now: float) -> tuple[float | None, str | None]:
    """An event time in epoch seconds, or why the row has none (a backfill row needs its own time)."""
    from argusml.monitor.events import parse_timestamp

    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None, "no timestamp: a backfilled event needs the time it was made"
    if isinstance(v, bool):
        return None, f"timestamp {v!r} is not a time"
    try:
        return parse_timestamp(float(v) if isinstance(v, (int, float)) else str(v), now), None
    except ValueError as exc:
        return None, str(exc)


def _send(client: Any, model: str, events: list[dict[str, Any]], rows: list[int], chunk: int, out: Outcome) -> None:
    """Post the events in chunks, retrying while the service is busy; refused ones go to ``out`` by row.
    A chunk whose events span more windows than the service holds open at once (413 backfill_too_wide:
    sparse history) is halved, and the smaller size kept for the chunks after it."""
    import orjson

    start, size = 0, chunk
    while start < len(events):
        part = events[start:start + size]
        body = orjson.dumps(part)
        for attempt in range(MAX_RETRIES + 1):
            r = call(client, "POST", f"/v1/models/{model}/backfill", content=body,
                     headers={"content-type": "application/json"})
            if r.status_code not in (429, 503) or attempt == MAX_RETRIES:
                break
            time.sleep(min(float(r.headers.get("retry-after") or 1), 10.0))
        if r.status_code == 413 and _error_of(r) == "backfill_too_wide" and size > 1:
            size = max(1, size // 2)
            continue
        if r.status_code == 413:
            fail(f"the service refused a chunk of {len(part)} events as too large: {detail_of(r)}; pass a smaller "
                 "--chunk")
        if r.status_code not in (200, 422):
            fail(f"the service refused the backfill (HTTP {r.status_code}): {detail_of(r)}")
        answer = body_of(r)
        if r.status_code == 422 and "rejected" not in answer:
            fail(f"the service refused the backfill: {detail_of(r)}")
        out.sent += len(part)
        out.accepted += int(answer.get("accepted", 0))
        out.duplicates += int(answer.get("duplicates", 0))
        out.warnings += len(answer.get("warnings") or []) + int(answer.get("warnings_omitted") or 0)
        for x in answer.get("rejected", []):
            out.rejected.append((rows[start + int(x["index"])], x.get("field"), str(x.get("error"))))
        start += len(part)


def _error_of(r: Any) -> str | None:
    try:
        body = r.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def backfill_cmd(
    file: Annotated[str, typer.Argument(help="past predictions: a Parquet or CSV file, one row per prediction")],
    url: UrlOpt,
    model: Annotated[str, typer.Option("--model", "-m", help="the model the predictions are of")],
    id_column: Annotated[Optional[str], typer.Option("--id-column", help="column of the prediction ids "
                                                     "(default: the baseline's id column, else 'id')")] = None,
    timestamp_column: Annotated[Optional[str], typer.Option("--timestamp-column", help="column of the prediction "
                                                            "times (default: the baseline's, else 'timestamp')")]
    = None,
    prediction_column: Annotated[Optional[str], typer.Option("--prediction-column", help="column of the "
                                                             "predictions (default: the baseline's)")] = None,
    feature: Annotated[Optional[list[str]], typer.Option("--feature", help="a feature column to send (repeat; "
                                                         "default: the baseline's features found in FILE)")] = None,
    version_column: Annotated[Optional[str], typer.Option("--version-column", help="column of the model versions "
                                                          "(default: 'version' when FILE has it)")] = None,
    version: Annotated[Optional[str], typer.Option("--version", help="the model version of every row (instead of "
                                                   "a column)")] = None,
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="parquet or csv (default: from the "
                                                  "extension)")] = None,
    chunk: Annotated[int, typer.Option("--chunk", min=1, max=50_000, help="events per request")] = SEND_CHUNK,
    token: TokenOpt = None,
) -> None:
    """Load past predictions into a running service's windows, so a new deployment starts with its trend.

    Rows are sent in time order; each lands in the window of its own time however old (within the model's
    retention.profiles), and those windows close and roll up as the backfill moves past them. Events are
    idempotent by id: sending a file again stores nothing twice. Refused rows are listed by row number
    (1 = the first data row) and make the exit code 1; the rest are stored.

    Example: argus backfill --url http://argus:8080 --model credit predictions-2026-10.parquet
    """
    if not os.path.isfile(file):
        fail(f"{file}: not found" if not os.path.exists(file) else f"{file}: not a file")
    fmt = format or ("parquet" if file.lower().endswith((".parquet", ".pq")) else
                     "csv" if file.lower().endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz", ".txt")) else None)
    if fmt not in ("parquet", "csv"):
        fail(f"{file}: --format must be parquet or csv" if format else
             f"{file}: cannot tell the format from the extension; pass --format parquet or --format csv")
    if version is not None and version_column is not None:
        fail("pass --version or --version-column, not both")
    info = get_json(url, token, f"/v1/models/{model}")
    refs = info.get("references") or {}
    roles = (refs.get(version or "*") or refs.get("*") or {}).get("roles") or {}
    kinds: dict[str, str] = roles.get("kinds") or {}
    id_col = id_column or roles.get("id") or "id"
    ts_col = timestamp_column or roles.get("timestamp") or "timestamp"
    pred_col = prediction_column or roles.get("prediction")
    wanted = list(feature) if feature else list(roles.get("features") or [])
    table = _read(file, fmt, [id_col, *(c for c in wanted if kinds.get(c) in STRING_KINDS)])
    names = table.schema.names
    for col, opt in ((id_col, "--id-column"), (ts_col, "--timestamp-column")):
        if col not in names:
            fail(f"{file}: no column {col!r} ({opt}); columns: {', '.join(names) or 'none'}")
    if pred_col is not None and pred_col not in names:
        fail(f"{file}: no prediction column {pred_col!r} (--prediction-column); columns: {', '.join(names)}")
    if feature:
        missing = [c for c in feature if c not in names]
        if missing:
            fail(f"{file}: no column {missing[0]!r} (--feature); columns: {', '.join(names)}")
    features = [c for c in wanted if c in names]
    vcol = version_column or ("version" if "version" in names and version is None else None)
    if vcol is not None and vcol not in names:
        fail(f"{file}: no column {vcol!r} (--version-column); columns: {', '.join(names)}")
    if not features:
        fail(f"{file}: none of the model's features are columns of the file (--feature); the baseline's: "
             f"{', '.join(wanted) or 'none'}")
    absent = [c for c in wanted if c not in names]
    if absent:
        typer.echo(f"{file}: not in the file, sent as missing: {', '.join(absent)}", err=True)

    now = time.time()
    ids = table.column(id_col).to_pylist()
    stamps = _epoch_seconds(table.column(ts_col))
    preds = table.column(pred_col).to_pylist() if pred_col is not None else None
    versions = table.column(vcol).to_pylist() if vcol is not None else None
    cols = {c: table.column(c).to_pylist() for c in features}
    out = Outcome()
    timed: list[tuple[float, int]] = []
    for k, v in enumerate(stamps):
        ts, why = _time_of(v, now)
        if ts is None:
            out.rejected.append((k + 1, ts_col, str(why)))
        else:
            timed.append((ts, k))
    timed.sort()  # in time order: each window is filled before the backfill moves past it
    events: list[dict[str, Any]] = []
    rows: list[int] = []
    for ts, k in timed:
        e: dict[str, Any] = {"id": None if ids[k] is None else str(ids[k]), "timestamp": ts,
                             "features": {c: _json_value(cols[c][k]) for c in features}}
        if preds is not None:
            e["prediction"] = _json_value(preds[k])
        v = version if versions is None else versions[k]
        if v is not None:
            e["version"] = str(v)
        events.append(e)
        rows.append(k + 1)
    if events:
        with http_client(url, token) as client:
            _send(client, model, events, rows, chunk, out)
    out.rejected.sort()
    for row, fld, why in out.rejected[:SHOWN_PROBLEMS]:
        typer.echo(f"{file}: row {row}: {fld + ': ' if fld else ''}{why}", err=True)
    if len(out.rejected) > SHOWN_PROBLEMS:
        typer.echo(f"{file}: ... and {len(out.rejected) - SHOWN_PROBLEMS} more rows refused", err=True)
    span = ""
    if timed:
        first, last = (datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                       for t in (timed[0][0], timed[-1][0]))
        span = f" from {first} to {last}"
    typer.echo(f"backfill of model {model!r}: {table.num_rows} rows{span}; {out.accepted} accepted, "
               f"{out.duplicates} duplicates, {len(out.rejected)} rejected"
               + (f", {out.warnings} warnings" if out.warnings else ""))
    raise typer.Exit(1 if out.rejected else 0)


__all__ = ["backfill_cmd"]

"""The JSON the dashboard reads, against the real app on a real store: every model's health (exact since and
why for a hand-built story), paging, filters and sorting on many models, a constant number of store queries
whatever the number of models, a window's features sorted by drift, a feature's distribution equal to the
batch report's on the same rows, operations per window equal to numpy's quantiles, and 4xx answers that name
the parameter at fault."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
import pytest

import argusml
from argusml.monitor import Settings
from argusml.monitor.health import QUIET
from argusml.schema.model_config import model_config_from_dict
from service_util import FAST, N_FEATURES, T0, Running, event, make_reference

pytestmark = pytest.mark.service

MANUAL = Settings(**FAST, alert_every=3600.0, alert_on_close=False)
"""The alert thread waits an hour between passes: each test runs the passes itself (``run_once``)."""


def cfg(name: str, **extra: Any) -> Any:
    return model_config_from_dict({"model": name, "window": "1m", "lateness": "0s", **extra}, f"{name}.yaml")


def rfc(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat().replace("+00:00", "Z")


def send(r: Running, model: str, events: list[dict[str, Any]]) -> None:
    answer = r.client.post(f"/v1/models/{model}/events", json=events)
    assert answer.status_code == 200 and not answer.json()["rejected"], answer.text


def minute(r: Running, w: int, plan: dict[str, str]) -> None:
    """One minute of 300 events per model (``plan``: model -> normal, drift (every x shifted by 1.5) or rename
    (x0 arrives as x0_v2)), then the window closes and an alert pass runs."""
    for model, how in plan.items():
        rng = np.random.default_rng(1000 + w)
        events = [event(f"{w}-{i}", rng, shift=1.5 if how == "drift" else 0.0, timestamp=r.clock.t + i * 0.1)
                  for i in range(300)]
        if how == "rename":
            for e in events:
                e["features"]["x0_v2"] = e["features"].pop("x0")
        send(r, model, events)
    r.clock.advance(60)
    assert r.monitor.wait_idle()
    r.monitor.alerting.run_once()


def health(r: Running) -> dict[str, dict[str, Any]]:
    return {m["model"]: m["health"] for m in r.client.get("/v1/models").json()["models"]}


def test_health_is_incident_warning_or_ok_with_since_and_why(running_monitor: Callable[..., Running]) -> None:
    ref = make_reference()
    r = running_monitor(*((cfg(n), ref) for n in ("broken", "drifting", "quiet")), settings=MANUAL)
    assert health(r) == {m: {"state": "ok", "since": None, "why": QUIET} for m in ("broken", "drifting", "quiet")}
    minute(r, 0, {"broken": "normal", "drifting": "normal", "quiet": "normal"})
    minute(r, 1, {"broken": "rename", "drifting": "drift", "quiet": "normal"})
    (inc,) = r.client.get("/v1/incidents", params={"model": "broken"}).json()
    xs = ", ".join(f"x{i}" for i in range(N_FEATURES))
    alerts = r.client.get("/v1/alerts", params={"model": "drifting"}).json()
    assert {a["status"] for a in alerts} == {"pending"} and {f"drift x{i}" for i in range(N_FEATURES)} <= {
        f"{a['name']} {a['labels'].get('column')}" for a in alerts}
    pending = ", ".join(a["name"] + (f" {a['labels']['column']}" if a["labels"].get("column") else "")
                        for a in sorted(alerts, key=lambda a: (a["name"], a["labels"].get("column") or "")))
    got = health(r)
    assert got["broken"] == {"state": "incident", "since": inc["opened_at"], "why": inc["title"]}
    assert inc["opened_at"] == rfc(T0 + 120)  # the alert pass after the second window closed
    # drift alerts wait for 3 bad windows before firing: pending since the first bad window began
    assert got["drifting"] == {"state": "warning", "since": rfc(T0 + 60),
                               "why": f"pending alerts: {pending}; drift on {xs} (unversioned)"}
    assert got["quiet"] == {"state": "ok", "since": None, "why": QUIET}
    status = r.client.get("/v1/models/drifting/status").json()
    assert status["health"] == got["drifting"]  # one rule for both

    # acknowledged is still open; the incident's alerts firing keep "broken" at least warning once resolved
    r.client.post(f"/v1/incidents/{inc['id']}/ack", json={"by": "bob"})
    assert health(r)["broken"]["state"] == "incident"
    r.client.post(f"/v1/incidents/{inc['id']}/resolve", json={"by": "bob"})
    after = health(r)["broken"]
    assert after["state"] == "warning" and after["since"] == rfc(T0 + 60) and after["why"].startswith("firing alerts:")

    minute(r, 2, {"broken": "normal", "drifting": "normal", "quiet": "normal"})
    got = health(r)
    # the drift alerts fall back to inactive without ever firing: drifting is ok since its bad window ended
    assert got["drifting"] == {"state": "ok", "since": rfc(T0 + 120), "why": QUIET}
    assert got["quiet"] == {"state": "ok", "since": None, "why": QUIET}
    listed = {m["model"]: m for m in r.client.get("/v1/models").json()["models"]}
    assert listed["quiet"]["incidents"] == {"P0": 0, "P1": 0, "P2": 0}
    assert listed["quiet"]["last_event_at"] == rfc(T0 + 120 + 299 * 0.1)
    assert listed["quiet"]["last_event_age_s"] == pytest.approx(180 - (120 + 299 * 0.1))
    assert (listed["quiet"]["slo_budget_left"], listed["quiet"]["label_coverage"]) == (None, None)


def test_paging_filters_and_sorting_over_thirty_models(running_monitor: Callable[..., Running]) -> None:
    ref = make_reference(n=500)
    names = [f"m{i:02d}" for i in range(30)]
    configs = [cfg(n, team=f"team-{i % 3}", owner=f"owner-{i % 5}", description=f"model number {i}")
               for i, n in enumerate(names)]
    r = running_monitor(settings=MANUAL)
    for c in configs:  # registered at run time, as PUT does; not persisted: quicker, and nothing here restarts
        r.monitor.register(c, ref, persist=False)
    rng = np.random.default_rng(5)
    for k, n in enumerate(("m07", "m03", "m21")):  # m21 has the newest event, m07 the oldest
        send(r, n, [event(f"{n}-0", rng, timestamp=T0 + 1 + 10 * k)])
    r.clock.advance(100)
    assert r.monitor.wait_idle()

    def page(**params: Any) -> dict[str, Any]:
        answer = r.client.get("/v1/models", params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    first = page(limit=10)
    assert [m["model"] for m in first["models"]] == names[:10]
    assert (first["total"], first["limit"], first["offset"]) == (30, 10, 0)
    m0 = first["models"][0]
    assert (m0["team"], m0["owner"], m0["description"], m0["window"], m0["source"]) == (
        "team-0", "owner-0", "model number 0", 60.0, "api")
    assert [m["model"] for m in page(limit=10, offset=25)["models"]] == names[25:]
    assert page(offset=40)["models"] == [] and page(offset=40)["total"] == 30
    assert [m["model"] for m in page(sort="-name", limit=3)["models"]] == ["m29", "m28", "m27"]
    team1 = page(team="team-1")
    assert [m["model"] for m in team1["models"]] == names[1::3] and team1["total"] == 10
    both = page(team="team-1", owner="owner-2")  # i % 3 == 1 and i % 5 == 2: 7, 22
    assert [m["model"] for m in both["models"]] == ["m07", "m22"]
    # the filters' choices are every team and owner, not those of the page or the filtered rows
    assert both["teams"] == ["team-0", "team-1", "team-2"] and first["owners"] == [f"owner-{i}" for i in range(5)]
    assert page(limit=1)["teams"] == ["team-0", "team-1", "team-2"]
    assert [m["model"] for m in page(q="M2")["models"]] == names[20:30]  # any case
    assert page(health="incident")["total"] == 0 and page(health="ok")["total"] == 30
    newest = page(sort="-last_event", limit=4)["models"]
    assert [m["model"] for m in newest] == ["m21", "m03", "m07", "m00"]  # without an event: last, by name
    assert [m["model"] for m in page(sort="last_event", limit=4)["models"]] == ["m07", "m03", "m21", "m00"]
    assert newest[0]["last_event_at"] == rfc(T0 + 21) and newest[0]["last_event_age_s"] == 79.0
    assert [m["model"] for m in page(sort="-health", limit=3)["models"]] == names[:3]  # all ok: by name


def test_the_overview_reads_the_store_the_same_few_times_for_5_or_200_models(
        running_monitor: Callable[..., Running]) -> None:
    """No query per model (N+1): DuckDB's own query log counts what one GET /v1/models asks the store; the
    monitor is not started, so nothing else queries meanwhile."""
    ref = make_reference(n=300)

    def queries(n_models: int, data: str) -> int:
        r = running_monitor(data=data, start=False)
        for i in range(n_models):  # not persisted: the overview reads the live registry, and it is quicker
            r.monitor.register(cfg(f"q{i:03d}", team="t"), ref, persist=False)
        cur = r.store._cur()
        cur.execute("CALL enable_logging('QueryLog')")
        cur.execute("CALL truncate_duckdb_logs()")
        answer = r.client.get("/v1/models", params={"limit": 1000, "sort": "-health"})
        assert answer.status_code == 200 and answer.json()["total"] == n_models
        (n,) = cur.execute("SELECT count(*) FROM duckdb_logs WHERE type = 'QueryLog' AND message NOT LIKE "
                           "'%duckdb_logs%'").fetchone()
        return int(n)

    few, many = queries(5, "few"), queries(200, "many")
    assert few == many and few <= 4, (few, many)


def _rows(seed: int, n: int, shift0: float = 0.0, shift1: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(N_FEATURES)})
    df["x0"] += shift0
    df["x1"] += shift1
    df["cat"] = rng.choice(["a", "b", "c"], n, p=[0.2, 0.3, 0.5])  # the reference has 0.5, 0.3, 0.2
    df["score"] = rng.random(n)
    return df


def _events(df: pd.DataFrame, t0: float, **ops: list[Any]) -> list[dict[str, Any]]:
    out = []
    for i, row in enumerate(df.itertuples(index=False)):
        d = row._asdict()
        e: dict[str, Any] = {"id": f"{t0}-{i}", "timestamp": t0 + i * 50.0 / len(df), "prediction": d.pop("score"),
                             "features": d}
        for k, values in ops.items():
            if values[i] is not None:
                e[k] = values[i]
        out.append(e)
    return out


def test_features_distribution_and_timeseries_of_a_window(running_monitor: Callable[..., Running]) -> None:
    ref = make_reference()
    r = running_monitor((cfg("m"), ref), settings=MANUAL)
    n = 600
    df = _rows(11, n, shift0=1.0, shift1=0.15)
    rng = np.random.default_rng(3)
    latency = np.round(rng.lognormal(3.0, 0.6, n), 3)
    latency_list: list[Any] = latency.tolist()
    latency_list[5] = None  # an event without latency is counted, not in the quantiles
    status = [503 if i % 50 == 0 else 404 if i % 60 == 1 else 200 for i in range(n)]
    fallback = [True if i % 100 == 7 else None for i in range(n)]
    send(r, "m", _events(df, T0, latency_ms=latency_list, status=status, fallback=fallback))
    r.clock.advance(60)
    assert r.monitor.wait_idle()

    feats = r.client.get("/v1/models/m/features").json()
    assert (feats["version"], feats["segment"], feats["window"]) == (
        "unversioned", "*", {"start": rfc(T0), "end": rfc(T0 + 60)})
    rows = feats["features"]
    assert rows[0]["name"] == "x0" and rows[0]["drift"]["drifted"] is True
    drifted = [f["drift"]["drifted"] if f["drift"] else False for f in rows]
    assert drifted == sorted(drifted, reverse=True)
    stable = [f for f in rows if f["drift"] and not f["drift"]["drifted"]]
    assert [(f["drift"]["p_adjusted"], f["name"]) for f in stable] == sorted(
        (f["drift"]["p_adjusted"], f["name"]) for f in stable)
    (w,) = r.client.get("/v1/models/m/windows", params={"granularity": "1m", "segment": "*"}).json()["windows"]
    for f in rows:
        col = w["verdict"]["columns"][f["name"]]
        assert f["missing_ratio"] == col["missing_ratio"]
        assert f["drift"]["p_adjusted"] == col["p_adjusted"] and f["drift"]["method"] == col["method"]
        assert f["reference_missing_ratio"] == ref.profile.columns[f["name"]].missing_ratio
    assert {f["name"] for f in rows} == {*(f"x{i}" for i in range(N_FEATURES)), "cat", "score"}
    assert any(x["check"] == "drift" for x in rows[0]["findings"])

    # the distribution is the batch report's on the same rows against the same reference
    batch = argusml.report(ref, df).to_dict()["columns"]
    for name in ("x0", "cat"):
        one = r.client.get(f"/v1/models/m/features/{name}").json()
        assert one["distribution"] == batch[name]["distribution"], name
        assert one["kind"] == ref.specs[name].kind.value
        assert [(h["start"], h["drifted"], h["p_adjusted"]) for h in one["history"]] == [
            (rfc(T0), w["verdict"]["columns"][name]["drifted"], w["verdict"]["columns"][name]["p_adjusted"])]

    ts = r.client.get("/v1/models/m/timeseries").json()
    assert ts["step"] == 60.0
    (point,) = ts["ops"]
    lat = np.array([x for x in latency_list if x is not None])
    # DuckDB's quantile_cont interpolates linearly between the closest ranks: numpy's default "linear"
    assert point["latency_p50_ms"] == pytest.approx(float(np.quantile(lat, 0.5, method="linear")), rel=1e-12)
    assert point["latency_p90_ms"] == pytest.approx(float(np.quantile(lat, 0.9, method="linear")), rel=1e-12)
    assert point["latency_p99_ms"] == pytest.approx(float(np.quantile(lat, 0.99, method="linear")), rel=1e-12)
    errors = sum(1 for s in status if s >= 500)
    assert (point["start"], point["version"], point["requests"], point["errors"], point["fallback"]) == (
        rfc(T0), "unversioned", n, errors, 6)
    assert point["error_rate"] == errors / n
    (check,) = ts["checks"]
    assert (check["start"], check["status"], check["n_rows"], check["drifted_columns"]) == (
        rfc(T0), w["verdict"]["status"], n, w["verdict"]["drifted_columns"])
    assert check["max_missing_ratio"] == max(c["missing_ratio"] for c in w["verdict"]["columns"].values())
    later = r.client.get("/v1/models/m/timeseries", params={"since": T0 + 60, "until": T0 + 120}).json()
    assert (later["ops"], later["checks"]) == ([], [])


def test_bad_queries_answer_4xx_naming_the_parameter(running_monitor: Callable[..., Running]) -> None:
    r = running_monitor((cfg("m"), make_reference(n=500)), settings=MANUAL)
    rng = np.random.default_rng(1)
    send(r, "m", [event(str(i), rng, timestamp=T0 + i, version="v1") for i in range(20)])
    r.clock.advance(60)
    assert r.monitor.wait_idle()

    def err(path: str, **params: Any) -> tuple[int, str, Any]:
        answer = r.client.get(path, params=params)
        body = answer.json()
        assert set(body) == {"error", "detail", "request_id"}, body
        return answer.status_code, body["error"], body["detail"]

    code, error, detail = err("/v1/models/m/features", version="v9")
    assert (code, error) == (404, "unknown_version") and "its versions: v1" in detail
    code, error, detail = err("/v1/models/m/features", segment="country=DE")
    assert (code, error, detail) == (404, "unknown_segment", "segment 'country=DE': model 'm' has no closed window "
                                     "of that segment; its segments: * (e.g. segment=country=DE; '*' is all traffic)")
    code, error, detail = err("/v1/models/m/features/nope")
    assert (code, error) == (404, "unknown_feature")
    assert detail == "feature 'nope': model 'm' has no such column; its features: x0, x1, x2, x3, x4, x5, cat, score"
    code, error, detail = err("/v1/models/m/features", window_start="yesterday")
    assert (code, error, detail) == (400, "bad_query", "window_start: 'yesterday' is neither RFC 3339 nor epoch "
                                                       "seconds")
    code, error, detail = err("/v1/models/m/features", window_start=T0 + 3600)
    assert (code, error) == (404, "unknown_window") and "GET /v1/models/m/windows lists them" in detail
    assert err("/v1/models/m/timeseries", since="nan")[:2] == (400, "bad_query")
    code, error, detail = err("/v1/models/m/timeseries", since=T0 + 10, until=T0)
    assert (code, error) == (400, "bad_query") and detail.startswith("since (") and "earlier since" in detail
    for params, field in (({"limit": 0}, "query.limit"), ({"limit": 1001}, "query.limit"),
                          ({"offset": -1}, "query.offset"), ({"sort": "age"}, "query.sort"),
                          ({"health": "bad"}, "query.health")):
        code, error, detail = err("/v1/models", **params)
        assert (code, error, detail[0]["field"]) == (422, "invalid_request", field), params
    assert "1000" in err("/v1/models", limit=1001)[2][0]["error"]
    assert "'name'" in err("/v1/models", sort="age")[2][0]["error"]
    assert err("/v1/models/nope/timeseries")[:2] == (404, "unknown_model")
    ok = r.client.get("/v1/models/m/features", params={"version": "v1", "window_start": rfc(T0)})
    assert ok.status_code == 200 and ok.json()["window"] == {"start": rfc(T0), "end": rfc(T0 + 60)}

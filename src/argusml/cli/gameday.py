"""`argus gameday`: break a model on purpose, against a running service, and time how fast Argus notices.

For each fault in turn the game day sends healthy traffic drawn from the model's own reference (its bins
and category counts, so healthy traffic does not drift), injects the fault at a window boundary, and polls
the service over HTTP until it shows the fault: **detected** is the first time anything in Argus shows it
(a finding, provisional or closed; an alert pending or firing; a rejection count), **alerted** the first
time an alert of it fires (in ``/v1/alerts`` or an open incident). Then it restores health: it stops the
fault, resolves the incidents the fault opened, and keeps the fault's version healthy for a few windows so
its alerts resolve as well.

Each fault runs on a version of its own (``gameday-<run>-<fault>``): alerts and findings are keyed by
version, so one fault's alerts, still resolving, are never mistaken for the next fault's detection, and
the model's real versions are not touched. Faults that are model-wide (malformed bodies, labels, a
dependency) are told apart by their own signals.

Budgets (docs/GAMEDAY.md): detection within ``--window-budget`` windows (2), an alert within
``alerts.for_windows`` + 1 windows, counted from the injection; labels that stop arriving get the label
horizon the game day sets plus two windows for both. Exit 0 when every fault was detected and alerted within
its budget, 1 when one was not, 2 when the service cannot be reached or the command line is wrong.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Annotated, Any, Optional

import numpy as np
import typer

from argusml.cli.remote import TokenOpt, UrlOpt, body_of, call, detail_of, fail, http_client

FAULTS: dict[str, str] = {
    "shift": "the first numeric feature shifted by 3 reference SDs",
    "nulls": "20% nulls in the first numeric feature",
    "malformed": "bodies that are not JSON, and events without an id",
    "latency": "latency_ms x5",
    "errors": "status 500 on 30% of events",
    "worse-version": "a new version whose predictions the labels contradict",
    "labels-stop": "labels stop arriving while predictions go on",
    "dependency": "a freshness dependency's heartbeats stop",
}
"""The faults, in the order they run (a dependency last: the route is the newest the game day uses)."""

SHIFT_SDS = 3.0
NULL_SHARE = 0.2
ERROR_SHARE = 0.3
LATENCY_FACTOR = 5.0
HEALTHY_LATENCY_MS = (20.0, 60.0)
"""Healthy latency is uniform in this range; a latency rule the game day registers fires above 2.5x its top."""
LATENCY_RULE = "gameday_latency"
LABEL_RULE = "label_lag"
DEPENDENCY = "gameday-heartbeat"
"""The freshness dependency the game day registers and feeds with heartbeats, then lets go stale."""
BAD_IDS = 10
"""Events without an id sent in the malformed fault's batch (beside as many good ones)."""


# -- the model, as the service describes it ----------------------------------------------------------------
@dataclass
class Column:
    name: str
    kind: str
    integer: bool = False
    edges: list[float] = field(default_factory=list)
    counts: list[float] = field(default_factory=list)
    categories: dict[str, float] = field(default_factory=dict)
    sd: float = 1.0

    def sample(self, rng: np.random.Generator, n: int) -> list[Any]:
        """``n`` values distributed as the reference's own: a bin drawn by its count, a value uniform in it
        (the drift tests compare bin shares, so healthy traffic matches them); a category by its count."""
        if self.kind == "numeric" and self.edges and sum(self.counts) > 0:
            p = np.asarray(self.counts, dtype=float)
            idx = rng.choice(p.size, size=n, p=p / p.sum())
            e = np.asarray(self.edges, dtype=float)
            lo = np.where(idx == 0, e[0], e[np.clip(idx - 1, 0, e.size - 1)])
            hi = np.where(idx >= e.size, e[-1], e[np.clip(idx, 0, e.size - 1)])
            values = lo + (hi - lo) * rng.random(n)
            return [int(np.rint(v)) for v in values] if self.integer else [float(v) for v in values]
        if self.categories:
            names = list(self.categories)
            w = np.asarray([self.categories[k] for k in names], dtype=float)
            return [names[i] for i in rng.choice(len(names), size=n, p=w / w.sum())]
        if self.kind == "boolean":
            return [bool(b) for b in rng.random(n) < 0.5]
        if self.kind == "datetime":
            return [datetime.now(timezone.utc).isoformat()] * n
        if self.kind == "numeric":
            return [float(v) for v in rng.normal(size=n)]
        return ["gameday"] * n


def column_of(name: str, col: dict[str, Any]) -> Column:
    spec, prof = col.get("spec") or {}, col.get("profile") or {}
    kind = str(spec.get("kind", "text"))
    out = Column(name, kind, integer=str(spec.get("dtype", "")).startswith(("int", "uint")))
    num = prof.get("numeric") or {}
    edges = (spec.get("bins") or {}).get("edges") or []
    if edges and num.get("counts") and len(num["counts"]) == len(edges) + 1:
        out.edges, out.counts = [float(e) for e in edges], [float(c) for c in num["counts"]]
    moments = num.get("moments") or []
    if len(moments) >= 3 and moments[0] > 1:
        out.sd = math.sqrt(max(moments[2], 0.0) / (moments[0] - 1)) or 1.0
    cats = (prof.get("categories") or {}).get("counts") or {}
    out.categories = {str(k): float(v) for k, v in cats.items() if v}
    return out


@dataclass
class Model:
    """What the game day needs to know about the model: read from ``GET /v1/models/{m}`` and its baseline."""

    name: str
    config: dict[str, Any]
    baseline: dict[str, Any]
    features: list[Column]
    prediction: Column | None
    task: str | None  # binary, multiclass, regression; None without a target in the reference
    classes: list[Any]
    positive: Any
    threshold: float

    @property
    def window(self) -> float:
        return float(self.config["window"])

    @property
    def for_windows(self) -> int:
        return int(self.config["alerts"]["for_windows"])

    @property
    def resolve_windows(self) -> int:
        return int(self.config["alerts"]["resolve_windows"])

    def first_numeric(self) -> Column | None:
        return next((c for c in self.features if c.kind == "numeric"), None)


def model_of(name: str, detail: dict[str, Any], baseline: dict[str, Any]) -> Model:
    roles = (detail.get("references") or {}).get("*", {}).get("roles") or {}
    cols = baseline.get("columns") or {}
    feats = [column_of(f, cols[f]) for f in roles.get("features") or [] if f in cols]
    pred_name = roles.get("prediction")
    pred = column_of(pred_name, cols[pred_name]) if pred_name in cols else None
    perf = baseline.get("performance") or {}
    target = roles.get("target")
    task = perf.get("task") if target else None
    classes: list[Any] = list(perf.get("classes") or [])
    tcol = cols.get(target, {}).get("spec", {}) if target else {}
    if tcol.get("kind") == "numeric" and classes:  # labels go back as the target's own type
        classes = [int(float(c)) if float(c).is_integer() else float(c) for c in classes]
    positive = perf.get("positive_class")
    if positive is not None and classes:
        positive = next((c for c in classes if str(c) == str(positive)), positive)
    return Model(name, detail["config"], baseline, feats, pred, task, classes, positive,
                 float(perf.get("threshold") or 0.5))


# -- traffic -----------------------------------------------------------------------------------------------
@dataclass
class Stream:
    """Traffic on one version: ``mode`` is ``healthy`` or the fault it carries; ``labels`` whether its
    labels are sent; ``until`` when it stops (None: while its fault runs)."""

    version: str
    mode: str = "healthy"
    labels: bool = True
    until: float | None = None
    wrong: bool = False  # its labels contradict its predictions (a worse version)
    fault_from: float | None = None  # events sent before this are healthy (the fault starts on a boundary)
    start: float | None = None  # no events before this (a version that starts serving then)
    injected_at: float | None = None  # when its first faulty events were sent


class Traffic:
    """Events and labels drawn from the model's reference, with a fault applied."""

    def __init__(self, model: Model, run: str, seed: int) -> None:
        self.model = model
        self.run = run
        self.rng = np.random.default_rng(seed)
        self.seq = 0
        self.target = model.first_numeric()

    def events(self, stream: Stream, n: int, now: float, faulty: bool = True
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """``n`` events of the stream's version at ``now``, and the labels for them (healthy ones unless
        ``faulty``)."""
        m, rng = self.model, self.rng
        if not faulty:
            stream = Stream(stream.version, labels=stream.labels)
        columns = {c.name: c.sample(rng, n) for c in m.features}
        if self.target is not None and stream.mode == "shift":
            columns[self.target.name] = [v + SHIFT_SDS * self.target.sd for v in columns[self.target.name]]
        if self.target is not None and stream.mode == "nulls":
            columns[self.target.name] = [None if rng.random() < NULL_SHARE else v
                                         for v in columns[self.target.name]]
        preds = m.prediction.sample(rng, n) if m.prediction is not None else [0.0] * n
        lat = rng.uniform(*HEALTHY_LATENCY_MS, size=n) * (LATENCY_FACTOR if stream.mode == "latency" else 1.0)
        failing = rng.random(n) < (ERROR_SHARE if stream.mode == "errors" else 0.0)
        events, labels = [], []
        for i in range(n):
            self.seq += 1
            eid = f"gd-{self.run}-{self.seq}"
            events.append({"id": eid, "timestamp": now, "version": stream.version,
                           "features": {k: v[i] for k, v in columns.items()}, "prediction": preds[i],
                           "latency_ms": round(float(lat[i]), 3), "status": 500 if failing[i] else 200})
            label = self.label(preds[i], stream.wrong)
            if stream.labels and label is not None:
                labels.append({"id": eid, "version": stream.version, "label": label, "timestamp": now})
        return events, labels

    def label(self, prediction: Any, wrong: bool) -> Any:
        """A label for the prediction: drawn as if the model were calibrated (binary: positive with the
        score's probability; otherwise the predicted value), or, for a worse version, one that contradicts
        it."""
        m, rng = self.model, self.rng
        if m.task == "binary" and len(m.classes) == 2 and isinstance(prediction, (int, float)):
            pos = m.positive if m.positive is not None else m.classes[1]
            neg = next(c for c in m.classes if c != pos)
            if wrong:
                return neg if prediction >= m.threshold else pos
            return pos if rng.random() < prediction else neg
        if m.task == "regression" and isinstance(prediction, (int, float)):
            sd = m.prediction.sd if m.prediction is not None else 1.0
            return float(prediction) + (10 * sd if wrong else 0.0)
        if m.task == "multiclass" and m.classes:
            if not wrong:
                return prediction
            others = [c for c in m.classes if str(c) != str(prediction)]
            return others[int(rng.integers(len(others)))] if others else prediction
        return None


# -- one fault's record ---------------------------------------------------------------------------------------
@dataclass
class Row:
    fault: str
    what: str
    version: str | None = None
    injected_at: float | None = None
    detected_at: float | None = None
    detected_by: str | None = None
    alerted_at: float | None = None
    alerted_by: str | None = None
    detect_budget: float | None = None
    alert_budget: float | None = None  # None: no alert expected
    verdict: str = "pending"
    note: str = ""

    def after(self, at: float | None) -> float | None:
        return None if at is None or self.injected_at is None else max(0.0, at - self.injected_at)

    def judge(self) -> None:
        if self.verdict == "skipped":
            return
        problems = []
        d = self.after(self.detected_at)
        if d is None:
            problems.append("not detected")
        elif self.detect_budget is not None and d > self.detect_budget:
            problems.append("detected late")
        if self.alert_budget is not None:
            a = self.after(self.alerted_at)
            if a is None:
                problems.append("no alert")
            elif a > self.alert_budget:
                problems.append("alerted late")
        self.verdict = "ok" if not problems else "FAIL: " + ", ".join(problems)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["injected_at"] = _iso(self.injected_at)
        out["detected_at"] = _iso(self.detected_at)
        out["alerted_at"] = _iso(self.alerted_at)
        out["detected_after_s"] = self.after(self.detected_at)
        out["alerted_after_s"] = self.after(self.alerted_at)
        return out


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


@dataclass
class Expect:
    """What shows a fault: findings or alerts of these names, on this version (None: any), on this column
    (None: any)."""

    names: frozenset[str]
    version: str | None
    column: str | None = None
    label: tuple[str, str] | None = None  # an alert label that must match (the dependency's name)

    def finding(self, f: dict[str, Any]) -> bool:
        return f.get("check") in self.names and (self.version is None or f.get("version") == self.version) and (
            self.column is None or f.get("column") == self.column)

    def alert(self, a: dict[str, Any]) -> bool:
        labels = a.get("labels") or {}
        version = labels.get("model_version", a.get("model_version"))
        return a.get("name") in self.names and (self.version is None or version in (None, "", self.version)) and (
            self.column is None or labels.get("column") in (None, self.column)) and (
            self.label is None or labels.get(self.label[0]) == self.label[1])


# -- the run ------------------------------------------------------------------------------------------------
class GameDay:
    """Sends the traffic, injects each fault, and watches the service over HTTP."""

    def __init__(self, client: Any, model: Model, *, events_per_window: int, window_budget: float,
                 label_horizon: float, seed: int, say: Callable[[str], None]) -> None:
        self.client = client
        self.model = model
        self.m = model.name
        self.run = secrets.token_hex(3)
        self.traffic = Traffic(model, self.run, seed)
        self.per_window = events_per_window
        self.window_budget = window_budget
        self.label_horizon = label_horizon
        self.say = say
        w = model.window
        self.tick = min(max(w / 8, 0.2), 5.0)
        self.streams: list[Stream] = []
        self.labels_off_from: float | None = None  # labels stop being sent from then (labels-stop)
        self.latency_rule = LATENCY_RULE
        self.label_rule = LABEL_RULE
        self.config_changes: list[str] = []
        self.perf_report = False
        self.dependency: str | None = None  # the freshness dependency the game day registered and feeds
        self.no_dependency = ""  # why there is none
        self.heartbeat_off_from: float | None = None  # its heartbeats stop from then (the dependency fault)
        self._sent_at: float | None = None
        self.late = 0  # events refused as too late for their window (a send slower than the lateness)

    # -- HTTP ----------------------------------------------------------------------------------------------
    def get(self, path: str, **params: Any) -> Any:
        r = call(self.client, "GET", path, params={k: v for k, v in params.items() if v is not None})
        if r.status_code != 200:
            fail(f"GET {path}: HTTP {r.status_code}: {detail_of(r)}")
        return r.json()

    def post(self, path: str, body: Any = None, *, content: bytes | None = None,
             headers: dict[str, str] | None = None) -> Any:
        import httpx

        try:
            if content is not None:
                return self.client.post(path, content=content, headers=headers)
            return self.client.post(path, json=body)
        except httpx.HTTPError as exc:
            fail(f"cannot reach the service at {self.client.base_url}: {exc}")

    def send(self, now: float) -> float:
        """One tick of traffic on every live stream, and the labels the streams send; returns the time the
        events were stamped with."""
        # as many events as the time since the last send calls for: polling a busy service takes longer
        # than a tick at times, and the rate per window must hold (the checks need their rows)
        elapsed = self.tick if self._sent_at is None else min(now - self._sent_at, self.model.window / 2)
        self._sent_at = now
        n = max(1, round(self.per_window * elapsed / self.model.window))
        self.streams = [s for s in self.streams if s.until is None or s.until > now]
        events: list[dict[str, Any]] = []
        labels: list[dict[str, Any]] = []
        stamp = time.time()  # stamped as sent: a window may have closed since ``now``
        for s in self.streams:
            if s.start is not None and stamp < s.start:
                continue
            faulty = s.fault_from is None or stamp >= s.fault_from
            if faulty and s.fault_from is not None and s.injected_at is None:
                s.injected_at = stamp
            e, lab = self.traffic.events(s, n, stamp, faulty)
            events += e
            labels += lab
        if events:  # one request for every stream: fewer round trips to a busy service
            r = self.post(f"/v1/models/{self.m}/events", events)
            answer = r.json() if r.status_code in (200, 422) else None
            if not isinstance(answer, dict) or "rejected" not in answer:
                fail(f"POST /v1/models/{self.m}/events: HTTP {r.status_code}: {detail_of(r)[:500]}")
            # a send slower than the lateness lands after its window closed: counted, not fatal
            self.late += sum(1 for p in answer["rejected"] if p.get("field") == "timestamp")
        if labels and (self.labels_off_from is None or stamp < self.labels_off_from):
            r = self.post(f"/v1/models/{self.m}/labels", labels)
            if r.status_code >= 300:
                fail(f"POST /v1/models/{self.m}/labels: HTTP {r.status_code}: {detail_of(r)[:500]}")
        if self.dependency is not None and (self.heartbeat_off_from is None or stamp < self.heartbeat_off_from):
            r = self.post(f"/v1/models/{self.m}/dependencies/{self.dependency}", {"timestamp": stamp})
            if r.status_code >= 300:
                fail(f"POST /v1/models/{self.m}/dependencies/{self.dependency}: HTTP {r.status_code}: "
                     f"{detail_of(r)[:500]}")
        return stamp

    def wait_until(self, t: float, watch: Callable[[float], bool] | None = None) -> float:
        """Send traffic every tick until ``t`` (or until ``watch(now)`` says it has seen enough)."""
        while True:
            now = time.time()
            if now >= t:
                return now
            self.send(now)
            if watch is not None and watch(time.time()):
                return time.time()
            time.sleep(max(0.0, min(self.tick - (time.time() - now), t - time.time())))

    def boundary(self, now: float, least: float = 0.5) -> float:
        """The first window start at least ``least`` windows after ``now``: the healthy traffic before it
        fills a window of the version (its error rate and latency are judged against the one before)."""
        w = self.model.window
        return math.ceil(now / w + least) * w

    # -- set-up and restore ------------------------------------------------------------------------------
    def configure(self, faults: list[str]) -> dict[str, Any] | None:
        """The rules the faults need that the model lacks, registered with ``PUT /v1/models/{m}``; returns the
        original config to put back (None when nothing changed).

        - latency: Argus has no built-in latency alert (a latency SLO or rule is the user's to set); without
          a threshold rule on ``latency_p99``/``latency_p50`` the game day adds one, above 2.5x its healthy
          latency's top.
        - labels: a ``label_lag`` absence rule with a short ``after`` (the label horizon) replaces or adds
          the model's, so labels that stop are an alert in minutes, not days."""
        cfg = self.model.config
        w = self.model.window
        rules = [dict(r) for r in cfg["alerts"]["rules"]]
        changed = []
        if "latency" in faults:
            own = next((r for r in rules if r["type"] == "threshold" and r["metric"] in ("latency_p99",
                                                                                          "latency_p50")), None)
            if own is not None:
                self.latency_rule = own["name"]
            else:
                limit = HEALTHY_LATENCY_MS[1] * 2.5 / 1000
                rules.append({"name": LATENCY_RULE, "type": "threshold", "metric": "latency_p99", "above": limit})
                changed.append(f"added rule {LATENCY_RULE}: threshold latency_p99 above {limit:g} s (no latency "
                               "rule or SLO in the config)")
        if "labels-stop" in faults and self.model.task is not None:
            own = next((r for r in rules if r["type"] == "absence" and r["metric"] == "label_lag"), None)
            if own is not None:
                self.label_rule = own["name"]
                if own["after"] != self.label_horizon:
                    changed.append(f"rule {own['name']}: after {own['after']:g} s -> {self.label_horizon:g} s "
                                   "(the game day's label horizon)")
                own["after"] = self.label_horizon
            else:
                rules.append({"name": LABEL_RULE, "type": "absence", "metric": "label_lag",
                              "after": self.label_horizon})
                changed.append(f"added rule {LABEL_RULE}: absence of labels (label_lag) after "
                               f"{self.label_horizon:g} s (the game day's label horizon)")
        if "worse-version" in faults and self.model.task is not None:
            perf = cfg["performance"]
            if perf.get("report") not in (None, self.model.window) or self._hourly():
                changed.append(f"performance.report: {perf.get('report') or 'default (1h)'} -> the window "
                               f"({self.model.window:g} s): performance alerts are judged per report window, so "
                               f"by default a worse version alerts after {self.model.for_windows} bad hours")
                self.perf_report = True
        deps = None
        if "dependency" in faults:
            if "dependencies" not in cfg:
                self.no_dependency = ("not supported by this server (its model config has no dependencies: key, "
                                      "so no heartbeat route)")
            else:
                # the game day's own dependency: stopping the heartbeats of a real one would need posting them
                # for it, which would hide a real outage of its pipeline
                every = max(1.0, w / 4)
                dep = {"name": DEPENDENCY, "kind": "freshness", "max_age": w, "every": every,
                       "timeout": min(2.0, every), "failures": 2}
                deps = [d for d in cfg["dependencies"] if d.get("name") != DEPENDENCY] + [dep]
                self.dependency = DEPENDENCY
                changed.append(f"added dependency {DEPENDENCY}: freshness, max_age {w:g} s, looked at every "
                               f"{every:g} s, down after 2 stale looks (fed by the game day's heartbeats)")
        if not changed:
            return None
        original = _puttable(cfg)
        new = _puttable(cfg)
        new["alerts"] = {**new["alerts"], "rules": rules}
        if self.perf_report:
            new["performance"] = {**new["performance"], "report": self.model.window}
        if deps is not None:
            new["dependencies"] = deps
        self._put(new)
        self.config_changes = changed
        for c in changed:
            self.say(f"config: {c}")
        return original

    def _hourly(self) -> bool:
        """Whether the model's performance is reported (and alerted on) per hour: the default when its
        windows are shorter than an hour and divide it."""
        w = self.model.window
        return self.model.config["performance"].get("report") is None and w < 3600 and 3600 % w == 0

    def _put(self, config: dict[str, Any]) -> None:
        r = call(self.client, "PUT", f"/v1/models/{self.m}", json={"config": config,
                                                                      "baseline": self.model.baseline})
        if r.status_code != 200:
            fail(f"PUT /v1/models/{self.m}: HTTP {r.status_code}: {detail_of(r)}")

    def restore(self, original: dict[str, Any]) -> None:
        self._put(original)
        self.say("config: restored the model's own")

    def resolve_opened(self, expect: Expect) -> list[str]:
        """Resolve the open incidents holding an alert of this fault, so the next fault opens its own."""
        done = []
        for inc in self.get("/v1/incidents", model=self.m, status="open", limit=1000):
            if any(expect.alert(a) for a in inc.get("alerts") or []):
                call(self.client, "POST", f"/v1/incidents/{inc['id']}/resolve",
                     json={"by": "argus-gameday", "comment": f"game day {self.run}: fault over, health restored"})
                done.append(inc["id"])
        return done

    # -- watching ----------------------------------------------------------------------------------------
    def watcher(self, row: Row, expect: Expect, findings: bool = True) -> Callable[[float], bool]:
        """A poll that records the first detection and the first alert; True once both are seen (or the
        budget is spent)."""
        since = _iso((row.injected_at or time.time()) - self.model.window)

        def watch(now: float) -> bool:
            if row.detected_at is None and findings and expect.version is not None:
                fs = self.get(f"/v1/models/{self.m}/findings", version=expect.version, since=since,
                              provisional="true", limit=1000)["findings"]
                hit = next((f for f in fs if expect.finding(f)), None)
                if hit is not None:
                    row.detected_at = time.time()
                    row.detected_by = (f"{'provisional ' if hit.get('provisional') else ''}finding {hit['check']}"
                                       + (f" on {hit['column']}" if hit.get("column") else "") + f" ({hit['severity']})")
            alerts = self.get("/v1/alerts", model=self.m)
            for a in alerts:
                if not expect.alert(a):
                    continue
                if row.detected_at is None:
                    row.detected_at = time.time()
                    row.detected_by = f"alert {a['name']} {a['status']} ({a['severity']})"
                if row.alerted_at is None and a["status"] == "firing":
                    row.alerted_at = time.time()
                    row.alerted_by = f"alert {a['name']} firing ({a['severity']})" + (
                        f" in {a['incident_id']}" if a.get("incident_id") else "")
            return self._settled(row, now)

        return watch

    def _settled(self, row: Row, now: float) -> bool:
        assert row.injected_at is not None
        done = row.detected_at is not None and (row.alert_budget is None or row.alerted_at is not None)
        budget = max(row.detect_budget or 0.0, row.alert_budget or 0.0)
        return done or now - row.injected_at > budget + self.tick

    # -- the faults --------------------------------------------------------------------------------------
    def run_fault(self, fault: str) -> Row:
        row = Row(fault, FAULTS[fault])
        w = self.model.window
        row.detect_budget = self.window_budget * w
        row.alert_budget = (self.model.for_windows + 1) * w
        version = f"gameday-{self.run}-{fault}"
        row.version = version
        base = Stream(version)
        self.streams.append(base)
        self.say(f"{fault}: healthy traffic on version {version}")
        # the fault starts on a window boundary after a whole healthy window: its first window is all fault
        at = self.boundary(time.time())
        feature = self.model.first_numeric()
        expect: Expect
        faulty = base
        if fault in ("shift", "nulls"):
            if feature is None:
                return self._skip(row, base, "the reference has no numeric feature")
            names = {"shift": {"drift"}, "nulls": {"missing_values", "all_null"}}[fault]
            expect = Expect(frozenset(names), version, feature.name)
            row.what = row.what.replace("the first numeric feature", repr(feature.name))
        elif fault == "latency":
            expect = Expect(frozenset({self.latency_rule}), version)
        elif fault == "errors":
            expect = Expect(frozenset({"serving_errors"}), version)
        elif fault == "worse-version":
            if self.model.task is None:
                return self._skip(row, base, "the reference has no target: no labels to judge a version by")
            row.version = version + "-new"
            expect = Expect(frozenset({"performance_drop"}), row.version)
            faulty = Stream(row.version, mode="worse", wrong=True, start=at)
            self.streams.append(faulty)
        elif fault == "labels-stop":
            if self.model.task is None:
                return self._skip(row, base, "the reference has no target: the model gets no labels")
            row.detect_budget = row.alert_budget = self.label_horizon + 2 * w
            expect = Expect(frozenset({self.label_rule}), None)
            self.labels_off_from = at
        elif fault == "malformed":
            self.wait_until(at)
            return self._malformed(row, base)
        else:
            return self._dependency(row, base)
        if fault in ("shift", "nulls", "latency", "errors"):
            base.mode = fault
        faulty.fault_from = at
        self.wait_until(at)
        row.injected_at = self.send(time.time())
        self.say(f"{fault}: injected at {_iso(row.injected_at)}")
        self.wait_until(math.inf, self.watcher(row, expect, findings=fault not in ("labels-stop",)))
        self._restore(row, base, expect)
        return row

    def _restore(self, row: Row, base: Stream, expect: Expect) -> None:
        """Health back: the fault stops, its incidents are resolved, and its versions stay healthy for
        ``resolve_windows`` + 1 windows so their alerts resolve on good windows (next to the next fault)."""
        self.labels_off_from = None
        cool = time.time() + (self.model.resolve_windows + 1) * self.model.window
        for s in self.streams:
            if s.version in (base.version, row.version):
                s.mode, s.wrong, s.until = "healthy", False, cool
        resolved = self.resolve_opened(expect)
        row.judge()
        self.say(f"{row.fault}: {row.verdict}" + (f"; resolved {', '.join(resolved)}" if resolved else ""))

    def _skip(self, row: Row, base: Stream, why: str) -> Row:
        base.until = time.time()
        row.verdict, row.note = "skipped", why
        self.say(f"{row.fault}: skipped: {why}")
        return row

    def _malformed(self, row: Row, base: Stream) -> Row:
        """A body that is not JSON must be refused whole (4xx); events without an id must be rejected one by
        one while their good neighbours are kept. Detection: the rejections counted in /status."""
        row.alert_budget = None
        before = int(self.get(f"/v1/models/{self.m}/status")["rejected_total"])
        row.injected_at = time.time()
        problems = []
        r = self.post(f"/v1/models/{self.m}/events", content=b'{"id": "gd-broken", "features": {',
                      headers={"content-type": "application/json"})
        if not 400 <= r.status_code < 500:
            problems.append(f"a body that is not JSON got HTTP {r.status_code}, not a 4xx")
        good, _ = self.traffic.events(base, BAD_IDS, time.time())
        bad, _ = self.traffic.events(base, BAD_IDS, time.time())
        for e in bad:
            del e["id"]
        mixed = [x for pair in zip(good, bad) for x in pair]
        r = self.post(f"/v1/models/{self.m}/events", mixed)
        answer = body_of(r) if r.status_code < 500 else {}
        rejected = answer.get("rejected") or []
        if answer.get("accepted") != BAD_IDS:
            problems.append(f"the good events of a mixed batch: {answer.get('accepted')} accepted of {BAD_IDS}")
        if sorted(p.get("index") for p in rejected) != list(range(1, 2 * BAD_IDS, 2)):
            problems.append("events without an id: rejected indexes "
                            f"{sorted(p.get('index') for p in rejected)}, not the odd ones")
        self.say(f"malformed: injected at {_iso(row.injected_at)}")

        def watch(now: float) -> bool:
            if int(self.get(f"/v1/models/{self.m}/status")["rejected_total"]) >= before + BAD_IDS:
                row.detected_at = time.time()
                row.detected_by = f"/status rejected_total +{BAD_IDS} (and the 4xx answer)"
            return self._settled(row, now)

        self.wait_until(math.inf, watch)
        row.note = "no alert expected: rejected at the door, counted in /status and argus_events_rejected_total"
        base.until = time.time()
        row.judge()
        if problems:
            row.verdict = "FAIL: " + "; ".join(problems)
        self.say(f"malformed: {row.verdict}")
        return row

    def _dependency(self, row: Row, base: Stream) -> Row:
        """The heartbeats of the game day's freshness dependency stop (it has sent them on every tick since
        it registered the dependency): the service's ``dependency_down`` alert should say so."""
        if self.dependency is None:
            return self._skip(row, base, self.no_dependency or "no dependency registered")
        at = self.boundary(time.time())
        self.heartbeat_off_from = at
        self.wait_until(at)
        row.injected_at = self.send(time.time())
        self.say(f"dependency: heartbeats of {self.dependency!r} stopped at {_iso(row.injected_at)}")
        expect = Expect(frozenset({"dependency_down"}), None, label=("dependency", self.dependency))
        self.wait_until(math.inf, self.watcher(row, expect, findings=False))
        self.heartbeat_off_from = None
        self._restore(row, base, expect)
        return row


def _puttable(cfg: dict[str, Any]) -> dict[str, Any]:
    """The config as ``GET /v1/models/{m}`` shows it, made acceptable to ``PUT``: no file paths (a YAML's
    ``reference`` and its versions' references; the baseline travels beside the config)."""
    out = {k: v for k, v in cfg.items() if k != "reference"}
    out["versions"] = {v: {k: x for k, x in s.items() if k != "reference"} for v, s in
                       (cfg.get("versions") or {}).items()}
    return out


# -- the table ------------------------------------------------------------------------------------------------
def _secs(s: float | None, window: float) -> str:
    return "-" if s is None else f"{s:.1f}s ({s / window:.1f}w)"


def table(rows: list[Row], window: float) -> str:
    head = ("fault", "injected", "detected after", "alerted after", "budget", "verdict")
    body = []
    for r in rows:
        budget = "-" if r.detect_budget is None else (
            f"{r.detect_budget / window:g}w" + (f" / {r.alert_budget / window:g}w" if r.alert_budget else " / -"))
        body.append((r.fault, (_iso(r.injected_at) or "-")[11:23], _secs(r.after(r.detected_at), window),
                     _secs(r.after(r.alerted_at), window), budget, r.verdict))
    widths = [max(len(x[i]) for x in (head, *body)) for i in range(len(head))]
    lines = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(x)).rstrip() for x in (head, *body)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = []
    for r in rows:
        how = "; ".join(x for x in (r.detected_by and f"detected by {r.detected_by}",
                                    r.alerted_by and f"alerted by {r.alerted_by}", r.note) if x)
        if how:
            notes.append(f"  {r.fault}: {how}")
    return "\n".join(lines + (["", *notes] if notes else []))


def gameday_cmd(
    url: UrlOpt,
    model: Annotated[str, typer.Option("--model", help="the model to break (a staging one: its traffic and "
                                                       "incidents carry the game day's)")],
    faults: Annotated[Optional[str], typer.Option("--faults", help="comma-separated, from: "
                                                                   + ", ".join(FAULTS))] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the results as JSON")] = False,
    window_budget: Annotated[float, typer.Option("--window-budget", min=0.5,
                                                 help="windows a fault may take to be detected")] = 2.0,
    label_horizon: Annotated[Optional[str], typer.Option(
        "--label-horizon", help="after how long without labels the label_lag rule fires during the game day "
                                "(default: two windows)")] = None,
    events_per_window: Annotated[int, typer.Option("--events-per-window", min=100, max=100_000,
                                                   help="traffic per version and window")] = 300,
    seed: Annotated[int, typer.Option("--seed", help="seed of the traffic drawn from the reference")] = 0,
    token: TokenOpt = None,
) -> None:
    """Inject faults into a running service's model and time how fast Argus detects each and alerts.

    Faults, in order: shift (a feature moved 3 SDs), nulls (20% in a feature), malformed (bodies that are
    not JSON, events without an id), latency (x5), errors (30% status 500), worse-version (a new version the
    labels contradict), labels-stop, dependency (a heartbeat that stops). Each runs on a version of its own.
    The table says when each was injected, how long until Argus detected it and alerted, against its budget
    (detection within --window-budget windows, an alert within alerts.for_windows + 1). Exit 1 when a fault
    was not detected or alerted within its budget. It takes about (for_windows + 3) windows a fault: use a
    staging service with short windows.

    Example: argus gameday --url http://staging-argus:8080 --model credit --faults shift,errors
    """
    from argusml.schema.model_config import parse_duration

    chosen = list(FAULTS) if faults is None else [f.strip() for f in faults.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FAULTS]
    if unknown or not chosen:
        fail(f"--faults: unknown fault(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(FAULTS)}")
    chosen = [f for f in FAULTS if f in chosen]  # their own order: the dependency last
    say: Callable[[str], None] = (lambda s: typer.echo(s, err=True)) if as_json else typer.echo
    with http_client(url, token, timeout=60.0) as client:
        r = call(client, "GET", f"/v1/models/{model}")
        detail = body_of(r)
        r = call(client, "GET", f"/v1/models/{model}/reference")
        if r.status_code != 200:
            fail(f"GET /v1/models/{model}/reference: HTTP {r.status_code}: {detail_of(r)} (the game day draws its "
                 "traffic from the model's reference)")
        m = model_of(model, detail, body_of(r))
        try:
            horizon = 2 * m.window if label_horizon is None else parse_duration(label_horizon)
        except ValueError as exc:
            fail(f"--label-horizon: {exc}")
        day = GameDay(client, m, events_per_window=events_per_window, window_budget=window_budget,
                      label_horizon=horizon, seed=seed, say=say)
        say(f"game day {day.run} on {model}: {len(chosen)} fault(s), {m.window:g} s windows, alerts after "
            f"{m.for_windows} bad windows; at most about {len(chosen) * (m.for_windows + 3) * m.window / 60:.1f} min")
        original = day.configure(chosen)
        rows: list[Row] = []
        try:
            for f in chosen:
                rows.append(day.run_fault(f))
        finally:
            if original is not None:
                day.restore(original)
    failed = [r for r in rows if r.verdict.startswith("FAIL")]
    if as_json:
        import orjson

        typer.echo(orjson.dumps({"model": model, "run": day.run, "window_seconds": m.window,
                                 "for_windows": m.for_windows, "config_changes": day.config_changes,
                                 "late_events": day.late,
                                 "faults": [r.to_dict() for r in rows], "passed": not failed},
                                option=orjson.OPT_INDENT_2).decode())
    else:
        typer.echo("")
        typer.echo(table(rows, m.window))
        if day.config_changes:
            typer.echo("\nregistered for the game day (and put back after): " + "; ".join(day.config_changes))
        if day.late:
            typer.echo(f"\n{day.late} event(s) arrived after their window closed (sends slower than the "
                       "lateness: the service or this machine is busy)")
    if failed:
        raise typer.Exit(1)

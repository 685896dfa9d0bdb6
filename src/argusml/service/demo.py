"""`argus demo`: a real model in production going wrong in several ways, a week replayed in minutes.

A scikit-learn model is trained on the Wisconsin breast-cancer data that ships inside scikit-learn (569
biopsies, benign or malignant; the model reads the ten mean cell-nucleus measurements: real data, no
download). The service is the real
one (the FastAPI app on uvicorn, the embedded DuckDB store in ``--data``); the demo registers the model
over HTTP and replays a week of production traffic through ``POST /v1/models/{m}/backfill``, an hour per
request, with labels arriving a day later through ``POST .../labels``. Traffic resamples the data set's
rows (with a little measurement noise) and the predictions are the model's own. Planted on the way: a
feature drifting, a burst of nulls from a broken upstream, a latency regression, and a canary version that
is worse than the champion.

The alert engine does not page for history (a window that closes long after its end is the past
arriving late), so a plain backfill of last week would raise no incident. The demo therefore runs the
monitor on a simulated clock: before each hour is posted the clock is set to that hour's end, so each
window closes, is checked and judged an hour after it began, as it would have been live, and incidents
open at the simulated time they would have opened. The timeline ends at the last whole hour before the
demo started; once it is replayed the clock is the real one again (it only ever moves forward).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from argusml.schema import InputError

MODEL = "demo-cancer"
WINDOW = 3600.0
DAYS = 7
ROWS_PER_HOUR = 300
SEED = 18
DRIFTED = "mean_radius"
BROKEN = ("mean_texture", "mean_smoothness")
CANARY_FEATURES = ("mean_symmetry", "mean_fractal_dimension", "mean_smoothness")
STORE_ENTRIES = ("argus.duckdb", "argus.duckdb.wal", "events", "profiles", "reports")
"""What the demo's store folder holds: a second run removes exactly these before it starts afresh."""


class DemoError(Exception):
    """A reason the demo cannot start (port taken, store held or not the demo's): one line, exit 2."""


@dataclass
class Story:
    """When each planted problem starts and ends, in hours from the timeline's start (scaled with --days)."""

    days: int
    drift_from: int
    canary_from: int
    nulls: tuple[int, int]
    slow_from: int

    @classmethod
    def for_days(cls, days: int) -> Story:
        """The week's story (drift on day 3, canary on day 4, nulls on day 5, latency on day 6) squeezed into
        ``days`` days; each problem keeps at least the four hours an alert needs to fire (three bad windows)."""
        h = days * 24
        scale = h / (7 * 24)

        def at(hour: float) -> int:
            return max(4, min(h - 5, round(hour * scale)))

        nulls_from = at(4 * 24 + 13)
        return cls(days, at(2 * 24 + 10), at(3 * 24 + 9), (nulls_from, min(h - 1, nulls_from + max(4, round(5 * scale)))),
                   at(5 * 24 + 8))


@dataclass
class Clock:
    """The monitor's clock: simulated while the replay runs, then the real one (it never moves back)."""

    now: float | None = None

    def __call__(self) -> float:
        real = time.time()
        return real if self.now is None else min(self.now, real)

    def release(self) -> None:
        self.now = None


@dataclass
class Models:
    """The champion (v1) and the canary (v2), the reference (out-of-fold predictions: honest scores), the
    data they resample."""

    features: list[str]
    X: np.ndarray
    y: np.ndarray
    champion: Any
    canary: Any
    means: np.ndarray
    reference: Any
    auc: dict[str, float] = field(default_factory=dict)


def train(seed: int = SEED) -> Models:
    """v1: a standardised logistic regression on the ten mean measurements. v2, the canary: a depth-3 tree on three
    weak measurements (a "smaller, faster" retrain that dropped the informative features). The reference is
    every row with v1's out-of-fold score, so its performance is what v1 does on rows it has not seen."""
    try:
        from sklearn.datasets import load_breast_cancer
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import cross_val_predict
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.tree import DecisionTreeClassifier
    except ImportError:
        raise DemoError("argus demo trains a scikit-learn model: install it with "
                        "`pip install scikit-learn` (or `pip install -e '.[dev]'`)") from None
    import pyarrow as pa

    from argusml.profile import Reference

    data = load_breast_cancer()
    keep = [i for i, n in enumerate(data.feature_names) if n.startswith("mean ")]  # the ten mean measurements
    features = [str(data.feature_names[i]).replace(" ", "_") for i in keep]
    X, y = np.asarray(data.data[:, keep], dtype=float), np.asarray(data.target, dtype=np.int64)
    champion = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000))
    oof = cross_val_predict(champion, X, y, cv=5, method="predict_proba")[:, 1]
    champion.fit(X, y)
    cols = [features.index(c) for c in CANARY_FEATURES]
    canary = DecisionTreeClassifier(max_depth=3, random_state=seed).fit(X[:, cols], y)
    canary_oof = cross_val_predict(DecisionTreeClassifier(max_depth=3, random_state=seed), X[:, cols], y, cv=5,
                                   method="predict_proba")[:, 1]
    table = pa.table({**{f: X[:, i] for i, f in enumerate(features)}, "score": np.round(oof, 5), "malignant_or_benign": y})
    reference = Reference.from_frame(table, target="malignant_or_benign", prediction="score")
    return Models(features, X, y, champion, canary, X.mean(axis=0), reference,
                  {"v1": float(roc_auc_score(y, oof)), "v2": float(roc_auc_score(y, canary_oof))})


@dataclass
class Hour:
    """One simulated hour: its events (both versions, in time order) and the labels that arrive in it."""

    start: float
    events: list[dict[str, Any]]
    labels: list[dict[str, Any]] = field(default_factory=list)


def traffic(models: Models, story: Story, start: float, rows_per_hour: int = ROWS_PER_HOUR,
            seed: int = SEED) -> list[Hour]:
    """The week's production traffic, hour by hour. Rows are the data set's, drawn with replacement and
    jittered by 3% of each measurement's spread (no two requests identical); the planted problems change
    them, and each prediction is the serving version's own on what it was sent (a null is imputed with
    the training mean, as the model server would)."""
    rng = np.random.default_rng(seed)
    hours = story.days * 24
    delay = min(1.0, max(0.5, story.days / 7))  # a short story waits less for its labels (--days 2: 9 to 15 h)
    sd = models.X.std(axis=0)
    drift_col = models.features.index(DRIFTED)
    broken = [models.features.index(c) for c in BROKEN]
    canary_cols = [models.features.index(c) for c in CANARY_FEATURES]
    out = [Hour(start + h * WINDOW, []) for h in range(hours)]
    for h in range(hours):
        hour_of_day = h % 24
        n = int(rows_per_hour * (1.0 + 0.4 * np.sin((hour_of_day - 8) / 24 * 2 * np.pi)))  # busier by day
        idx = rng.integers(0, len(models.y), n)
        X = models.X[idx] + rng.normal(0.0, 0.03, (n, len(models.features))) * sd
        X = np.maximum(X, 0.0)  # measurements are sizes and ratios: never negative
        if h >= story.drift_from:  # a new scanner at one hospital measures radii 20% larger
            X[:, drift_col] *= 1.2
        missing = np.zeros((n, len(models.features)), dtype=bool)
        if story.nulls[0] <= h < story.nulls[1]:  # the texture service times out: its three columns come empty
            rows = rng.random(n) < 0.6
            for c in broken:
                missing[rows, c] = True
        version = np.where((h >= story.canary_from) & (rng.random(n) < 0.3), "v2", "v1")
        seen = np.where(missing, models.means, X)
        score = models.champion.predict_proba(seen)[:, 1]
        is_v2 = version == "v2"
        if is_v2.any():
            score[is_v2] = models.canary.predict_proba(seen[is_v2][:, canary_cols])[:, 1]
        latency = rng.gamma(4.0, 8.0, n)  # ms: p50 about 30, p99 about 80
        latency[is_v2] = rng.gamma(4.0, 4.0, int(is_v2.sum()))
        if h >= story.slow_from:  # a dependency upgrade makes v1 six times slower
            latency[~is_v2] *= 6.0
        ts = out[h].start + np.sort(rng.uniform(0.0, WINDOW - 1e-3, n))
        for i in range(n):
            ev_id = f"h{h}-{i}"
            feats = {f: (None if missing[i, j] else round(float(X[i, j]), 5)) for j, f in enumerate(models.features)}
            out[h].events.append({"id": ev_id, "timestamp": round(float(ts[i]), 3), "version": str(version[i]),
                                  "features": feats, "prediction": round(float(score[i]), 5),
                                  "latency_ms": round(float(latency[i]), 2), "status": 200})
            if rng.random() < 0.8:  # four in five outcomes are confirmed, 18 to 30 hours later
                arrives = float(ts[i]) + rng.uniform(18, 30) * 3600.0 * delay
                k = int((arrives - start) // WINDOW)
                if k < hours:
                    out[k].labels.append({"id": ev_id, "version": str(version[i]), "label": int(models.y[idx[i]]),
                                          "timestamp": round(arrives, 3)})
    return out


def check_port(port: int, host: str = "127.0.0.1") -> None:
    """Fail before anything starts when the port is in use; as uvicorn binds it (SO_REUSEADDR), so a port
    a previous run left in TIME_WAIT counts as free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise DemoError(f"port {port} on {host} is taken (another server?): choose a free one with --port") from None


def fresh_store(data_dir: str) -> bool:
    """Make ``data_dir`` an empty store for the demo. A store the demo made before (only ``demo-*`` models)
    is replaced: its files are removed, so a second run shows its own week, not two merged. Returns whether
    there was one. Raises DemoError when another process holds the store (DuckDB's lock) or when it holds
    models the demo did not make (those are never removed)."""
    from argusml.store import Store

    path = Path(data_dir)
    if not (path / "argus.duckdb").exists():
        return False
    try:
        store = Store(data_dir)
    except InputError as exc:
        raise DemoError(f"{path / 'argus.duckdb'}: {exc.args[0] if exc.args else exc} Stop it, or give the demo "
                        "another folder with --data") from None
    try:
        models = sorted(m for m, _ in store.load_models())
    finally:
        store.close()
    others = [m for m in models if not m.startswith("demo-")]
    if others:
        raise DemoError(f"{path}: the store holds models the demo did not make ({', '.join(others[:5])}); the demo "
                        "replaces its store on each run, so give it a folder of its own with --data")
    for name in STORE_ENTRIES:
        p = path / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    return True


def config() -> dict[str, Any]:
    """The model's config, as a team would write it: hourly windows, labels judged per hour once 30 are in,
    a p99 latency rule, champion/challenger on ROC AUC. (No SLO: burn rates are sampled by the minute on the
    clock, and a replay that moves an hour per request would make them flap.)"""
    return {
        "model": MODEL, "owner": "oncology-ml@example.org", "team": "diagnostics",
        "description": "Benign or malignant from a breast biopsy's ten mean measurements (scikit-learn's Wisconsin "
                       "data); v1 logistic regression, v2 a canary tree",
        "window": WINDOW, "lateness": 120.0,
        "performance": {"min_labels": 30},
        "compare": {"metric": "roc_auc"},
        "alerts": {"rules": [{"name": "slow", "type": "threshold", "metric": "latency_p99", "above": 0.25,
                              "clear": 0.2}]},
    }


def _hhmm(start: float, ts: float) -> str:
    h = int((ts - start) // 3600)
    return f"day {h // 24 + 1} {h % 24:02d}:{int((ts - start) % 3600 // 60):02d}"


@dataclass
class Result:
    """What the replay found, for the printout, the reports and the tests."""

    start: float
    end: float
    incidents: list[dict[str, Any]] = field(default_factory=list)
    compare: dict[str, Any] = field(default_factory=dict)
    drifted: list[str] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)
    events: int = 0
    labels: int = 0
    seconds: float = 0.0


class Demo:
    """The service, the replay and what it prints; ``run`` is the whole demo."""

    def __init__(self, data_dir: str = "argus-data", port: int = 8080, *, days: int = DAYS,
                 rows_per_hour: int = ROWS_PER_HOUR, echo: Callable[[str], None] = print,
                 stop: threading.Event | None = None) -> None:
        if days < 2:
            raise DemoError("--days must be at least 2: the story needs a clean day before its problems")
        self.data_dir, self.port, self.days, self.rows_per_hour = data_dir, port, days, rows_per_hour
        self.echo = echo
        self.stop = stop or threading.Event()
        self.url = f"http://127.0.0.1:{port}"

    def run(self, once: bool) -> Result:
        import httpx
        import uvicorn

        from argusml.monitor import Monitor, Settings
        from argusml.service.app import create_app
        from argusml.store import Store

        check_port(self.port)
        replaced = fresh_store(self.data_dir)
        began = time.monotonic()
        self.echo(f"Training the model on scikit-learn's breast-cancer data (569 biopsies, ten measurements each)"
                  f"{'; replacing the demo store from the last run' if replaced else ''} ...")
        models = train()
        story = Story.for_days(self.days)
        end = (time.time() // WINDOW) * WINDOW
        start = end - self.days * 86400.0
        hours = traffic(models, story, start, self.rows_per_hour)
        clock = Clock(start)
        try:
            store = Store(self.data_dir)
        except InputError as exc:
            raise DemoError(f"{exc} Stop it, or give the demo another folder with --data") from None
        # cadences for a week in a minute: windows are stored, judged and alerted on within a tenth of a second
        settings = Settings(tick_every=0.02, snapshot_every=0.2, alert_every=0.1, performance_every=3600.0, fold_gather=0.01,
                            backfill_idle=3600.0, external_url=self.url)
        monitor = Monitor(store, settings, clock=clock)
        monitor.load_registered()
        monitor.start()
        server = uvicorn.Server(uvicorn.Config(create_app(monitor), host="127.0.0.1", port=self.port,
                                               log_config=None, access_log=False))
        thread = threading.Thread(target=server.run, name="argus-demo-http", daemon=True)
        thread.start()
        while not server.started and thread.is_alive():
            time.sleep(0.02)
        if not server.started:
            monitor.stop()
            store.close()
            raise DemoError(f"the service could not listen on 127.0.0.1:{self.port}: choose another port with --port")
        result = Result(start, end)
        http = httpx.Client(base_url=self.url, timeout=60.0)
        try:
            self._register(http, models)
            self.echo(f"Argus is serving at {self.url}/ (the store: {os.path.abspath(self.data_dir)}).")
            self.echo(f"Replaying {self.days} days of '{MODEL}' in production, one hour per backfill request "
                      f"(v1 AUC {models.auc['v1']:.3f} on unseen rows; the canary v2 {models.auc['v2']:.3f}):")
            self._replay(http, monitor, clock, hours, story, result)
            clock.release()
            if not self.stop.is_set():
                self._summary(http, result)
                if once:
                    result.reports = self._reports(http, models, hours, result)
                    for p in result.reports:
                        self.echo(f"  {p}")
                result.seconds = time.monotonic() - began
                self.echo(f"Replayed in {result.seconds:.0f} s.")
                if not once:
                    self.echo(f"Dashboard: {self.url}/   (the API: {self.url}/docs)")
                    self.echo("Serving until Ctrl-C.")
                    while not self.stop.wait(0.2):
                        pass
            self.echo("Stopped.")
            return result
        finally:
            http.close()
            server.should_exit = True
            thread.join(15)
            monitor.stop()
            store.close()

    def _register(self, http: Any, models: Models) -> None:
        r = http.put(f"/v1/models/{MODEL}", json={"config": config(),
                                                  "baseline": models.reference.to_dict()})
        if r.status_code >= 300:
            raise DemoError(f"registering {MODEL} failed: HTTP {r.status_code} {r.text[:300]}")

    def _post(self, http: Any, path: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        r = http.post(path, content=orjson.dumps(items), headers={"content-type": "application/json"})
        if r.status_code >= 300:
            raise DemoError(f"POST {path} failed: HTTP {r.status_code} {r.text[:300]}")
        return r.json()

    def _replay(self, http: Any, monitor: Any, clock: Clock, hours: list[Hour], story: Story,
                result: Result) -> None:
        start = result.start
        self.echo(f"  day 1 starts {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(start))}; planted: "
                  f"{DRIFTED} drifts at {_hhmm(start, start + story.drift_from * WINDOW)}, canary v2 at "
                  f"{_hhmm(start, start + story.canary_from * WINDOW)}, nulls in {', '.join(BROKEN)} "
                  f"{_hhmm(start, start + story.nulls[0] * WINDOW)}-{_hhmm(start, start + story.nulls[1] * WINDOW)[-5:]}, "
                  f"v1 latency x6 at {_hhmm(start, start + story.slow_from * WINDOW)}")
        seen: dict[str, str] = {}
        for k, hour in enumerate(hours):
            if self.stop.is_set():
                self.echo("Stopped during the replay.")
                return
            clock.now = hour.start + WINDOW
            answer = self._post(http, f"/v1/models/{MODEL}/backfill", hour.events)
            result.events += int(answer.get("accepted", 0))
            if hour.labels:
                self._post(http, f"/v1/models/{MODEL}/labels", hour.labels)
                result.labels += len(hour.labels)
            if k:
                self._judged(monitor, hour.start - WINDOW)
            if k % 4 == 3:
                # the performance job recomputes a window at most every 150 s of real time (a 24th of an hourly
                # window), which is a week in this replay: ask for a pass every four simulated hours
                monitor.update_performance(force=True)
            self._incidents(http, start, seen, result)
            if (k + 1) % 24 == 0:
                self._day(http, k // 24 + 1, result)
        clock.now = result.end + 180.0  # past the last window's lateness: it closes, and is judged
        self._judged(monitor, result.end - WINDOW)
        monitor.update_performance(force=True)
        self._judged(monitor, result.end - WINDOW)
        self._incidents(http, start, seen, result)

    def _judged(self, monitor: Any, window_start: float) -> None:
        """Wait until the window that began at ``window_start`` is closed and stored, and the alert thread has
        made a pass after that (it is woken by the commit)."""
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline:
            rows = monitor.store.windows(MODEL, since=window_start, until=window_start + WINDOW, segment="*",
                                         granularity=WINDOW, closed=True, limit=10)
            if any(abs(r["start_ts"] - window_start) < 1 for r in rows):
                break
            time.sleep(0.01)
        passes = monitor.alerting.passes
        while monitor.alerting.passes < passes + 1 and time.monotonic() < deadline:
            time.sleep(0.01)

    def _incidents(self, http: Any, start: float, seen: dict[str, str], result: Result) -> None:
        """Print what changed since the last look: an incident that opened, an alert that fired (into a new
        incident or one already open: alerts of one model close in time share an incident), an incident
        that resolved. ``seen`` maps incident ids and alert ids to the status printed last."""
        for inc in sorted(http.get("/v1/incidents", params={"model": MODEL, "limit": 100}).json(),
                          key=lambda i: (i["opened_at"], i["id"])):
            joined = f", joins incident {inc['id']}" if inc["id"] in seen else ""
            if inc["id"] not in seen:
                seen[inc["id"]] = "open"
                result.incidents.append(inc)
                self.echo(f"  ! {_hhmm(start, _epoch(inc['opened_at']))}  incident {inc['id']} opened ({inc['severity']}): "
                          f"{self.url}/incidents/{inc['id']}")
            for a in inc["alerts"]:
                if a["id"] in seen:
                    continue
                seen[a["id"]] = a["status"]
                col = a["labels"].get("column")
                self.echo(f"      {_hhmm(start, _epoch(a['fired_at'] or a['starts_at']))}  {a['name']}"
                          f"{f' on {col}' if col else ''} ({a['model_version'] or 'all versions'}, {a['severity']}): "
                          f"{_short(a['summary'])}{joined}")
            if inc["status"] == "resolved" and seen.get(inc["id"]) != "resolved":
                seen[inc["id"]] = "resolved"
                self.echo(f"  + {_hhmm(start, _epoch(inc['resolved_at']))}  incident {inc['id']} resolved "
                          "(its alerts saw two good windows)")

    def _day(self, http: Any, day: int, result: Result) -> None:
        drifted = set(self._drifted(http, "v1"))
        self.echo(f"  day {day} done: {result.events} events, {result.labels} labels"
                  + (f"; drifted now: {', '.join(sorted(drifted))}" if drifted else ""))

    @staticmethod
    def _drifted(http: Any, version: str) -> list[str]:
        """The drifted columns of the version's newest closed whole-traffic window."""
        rows = http.get(f"/v1/models/{MODEL}/windows", params={"version": version, "segment": "*", "closed": True,
                                                               "limit": 1}).json()["windows"]
        return sorted((rows[0].get("verdict") or {}).get("drifted_columns") or []) if rows else []

    def _summary(self, http: Any, result: Result) -> None:
        incidents = http.get("/v1/incidents", params={"model": MODEL, "limit": 100}).json()
        result.incidents = sorted(incidents, key=lambda i: i.get("opened_at", ""))
        cmp = http.get(f"/v1/models/{MODEL}/compare", params={"champion": "v1", "challenger": "v2"})
        result.compare = cmp.json() if cmp.status_code == 200 else {"error": cmp.text}
        result.drifted = self._drifted(http, "v1")
        self.echo(f"The week: {result.events} events, {result.labels} labels; "
                  f"{len(result.incidents)} incidents ({sum(i['status'] != 'resolved' for i in result.incidents)} "
                  f"still open); drifted in v1's last window: {', '.join(result.drifted) or 'nothing'}.")
        verdict = result.compare.get("verdict") or {}
        if verdict:
            self.echo(f"Canary v2 against champion v1: {verdict['decision']}: {'; '.join(verdict['reasons'])}")

    def _reports(self, http: Any, models: Models, hours: list[Hour], result: Result) -> list[str]:
        """The batch report of the last simulated day per version (the HTML and JSON `argus report` writes)
        and the owner's digest of the week, into ``DATA/reports/``."""
        import pyarrow as pa

        from argusml.reports import report
        from argusml.reports.digest import render_html

        folder = Path(self.data_dir) / "reports"
        folder.mkdir(parents=True, exist_ok=True)
        written: list[str] = []
        day = [e for h in hours[-24:] for e in h.events]
        for version in ("v1", "v2"):
            rows = [e for e in day if e["version"] == version]
            if not rows:
                continue
            table = pa.table({**{f: pa.array([e["features"][f] for e in rows], pa.float64()) for f in models.features},
                              "score": [e["prediction"] for e in rows]})
            rep = report(models.reference, table, prediction="score")
            for ext, text in (("html", rep.to_html()), ("json", rep.to_json())):
                p = folder / f"{MODEL}-{version}-last-day.{ext}"
                p.write_text(text, encoding="utf-8")
                written.append(str(p.resolve()))
        body = http.get(f"/v1/models/{MODEL}/digest", params={"days": self.days, "until": result.end + 180.0,
                                                              "format": "json"})
        if body.status_code == 200:
            html, _ = render_html(body.json(), images="data")
            p = folder / f"{MODEL}-digest.html"
            p.write_text(html, encoding="utf-8")
            written.append(str(p.resolve()))
        return written


def _short(text: str, width: int = 110) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 3].rstrip() + "..."


def _epoch(text: str | float) -> float:
    if isinstance(text, (int, float)):
        return float(text)
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def run_demo(data_dir: str = "argus-data", port: int = 8080, *, once: bool = False, days: int = DAYS,
             rows_per_hour: int = ROWS_PER_HOUR, echo: Callable[[str], None] = print,
             stop: threading.Event | None = None) -> Result:
    """The demo as `argus demo` runs it. In the main thread SIGINT and SIGTERM end it cleanly (the store is
    closed, the port freed) and it returns; DemoError says why it could not start."""
    stop = stop or threading.Event()
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        return Demo(data_dir, port, days=days, rows_per_hour=rows_per_hour, echo=echo, stop=stop).run(once)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

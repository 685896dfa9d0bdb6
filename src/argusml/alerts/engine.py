"""The alert engine: closed windows and ticks in, alerts, incidents and notices out.

It is pure: it is given the model's config, what a window or a tick measured and the time, and it keeps
its state in plain data that the monitor saves (``drain``) and gives back after a restart (``load``). So
tests drive it through simulated time, and a restart mid-pending neither loses nor duplicates an alert: a
window judged again replaces its judgement (``state.py``) and an incident's notices are queued in the same
transaction that saves the state that produced them.

Three streams feed it:
- **windows**: every closed whole-traffic window of the model's ``window`` length: its findings (each
  check and column is an alert) and its metrics (user rules of type threshold, baseline, seasonal, and
  the built-in ``serving_errors``);
- **performance windows** as labels arrive: ``performance.<metric>`` and ``label_lag`` rules and the
  performance job's findings;
- **ticks**: absence rules (no events, stale data, label lag) and SLO burn rates, on the clock.

An alert fires after ``for_windows`` consecutive bad windows (a P0 schema break and a P0 serving-error burst
at once), joins an open incident of its model that moved within ``group_within`` or opens one, and the
incident's receivers (``alerts.routes``, ``alerts.webhook``) are told when it opens, escalates, repeats
unacknowledged, and resolves.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import numpy as np

from argusml.alerts.incident import SEVERITY_RANK, Incident, rfc3339
from argusml.alerts.rules import IMMEDIATE_CHECKS, MIN_REQUESTS, PERF_STREAM_CHECKS, Spec, check_severity, fingerprint, role_of_check, specs
from argusml.alerts.runbooks import postmortem, runbook_url
from argusml.alerts.state import KEEP, AlertState
from argusml.schema.alerts import LABELLED_METRICS
from argusml.schema.kinds import Severity
from argusml.schema.model_config import ModelConfig

History = Callable[[str, str, float, float], tuple[list[float], list[float]]]
"""(version, metric, since, until) -> (window start times, values): a metric's past, for baseline and
seasonal rules (the monitor reads it from the store's closed windows, so a rule added today has weeks of
history at once)."""

SLO_SAMPLE_EVERY = 60.0
"""Seconds between two samples of an SLO's counters: burn rates are judged over 5 minutes at the least."""

SLO_SAVE_EVERY = 600.0
"""Seconds between two saves of a model's SLO samples when nothing else of it changed (each save writes about
24 KB per SLO): a crash loses at most this stretch of samples, which the counters then carry as one gap."""


@dataclass
class FindingSignal:
    check: str
    column: str | None
    severity: str
    message: str
    value: float | None = None  # the finding's size where it has one (a drift effect), to rank causes
    segments: dict[str, Any] | None = None  # {"in": n, "of": m, "names": [...]}: segment windows with it too


@dataclass
class WindowSignal:
    """What one closed window (or performance window) measured."""

    model: str
    version: str
    start: float
    end: float
    stream: str = "window"  # window | performance
    metrics: dict[str, float] = field(default_factory=dict)
    findings: list[FindingSignal] = field(default_factory=list)


@dataclass
class DependencySignal:
    """What the prober knows of one of the model's dependencies now (``monitor/dependencies.py``)."""

    name: str
    down: bool | None  # None: not probed yet
    since: float | None = None  # when its current run of failed probes began (the first failed probe)
    failures: int = 0  # consecutive failed probes
    error: str | None = None  # the last failed probe's error
    age: float | None = None  # freshness: seconds since the newest heartbeat


@dataclass
class TickSignal:
    """What the clock can tell about a model now (None: unknown, e.g. no event yet)."""

    model: str
    silence: float | None = None  # seconds since an event last arrived
    freshness: float | None = None  # seconds since the newest event's timestamp
    label_lag: float | None = None
    counters: dict[str, tuple[float, float]] = field(default_factory=dict)  # SLO -> cumulative (total, bad)
    performance: dict[str, float] = field(default_factory=dict)  # the newest performance values
    versions: list[str] = field(default_factory=list)  # versions with traffic lately
    dependencies: list[DependencySignal] = field(default_factory=list)


@dataclass
class Silence:
    """Mutes the notifications of the alerts it matches until ``ends_at`` (they still fire and show)."""

    id: str
    matchers: dict[str, str]  # label -> value; shell-style wildcards (* ?) allowed
    starts_at: float
    ends_at: float
    author: str
    comment: str = ""
    created_at: float = 0.0

    def matches(self, labels: dict[str, str], now: float) -> bool:
        return self.starts_at <= now < self.ends_at and all(
            fnmatchcase(labels.get(k, ""), v) for k, v in self.matchers.items())

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "matchers": self.matchers, "starts_at": rfc3339(self.starts_at),
                "ends_at": rfc3339(self.ends_at), "author": self.author, "comment": self.comment,
                "created_at": rfc3339(self.created_at)}


@dataclass
class Notice:
    """One message for one receiver about one incident; the monitor stores it in the outbox."""

    model: str
    incident_id: str
    receiver: str
    severity: str
    event: str  # opened | escalated | repeat | resolved
    incident: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event, "receiver": self.receiver, "incident": self.incident}


@dataclass
class Changes:
    """What an evaluation changed, for the monitor to save in one transaction."""

    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # model -> its alert state
    incidents: list[Incident] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.models or self.incidents or self.notices)


@dataclass
class ModelAlerts:
    """One model's alerts and SLO counters."""

    alerts: dict[str, AlertState] = field(default_factory=dict)
    slo: dict[str, Any] = field(default_factory=dict)  # SLO name -> CounterSeries
    slo_minutes: dict[str, list[float]] = field(default_factory=dict)  # freshness/quality: [total, bad] minutes
    slo_sampled_at: float = -math.inf
    slo_saved_at: float = -math.inf
    versions: dict[str, float] = field(default_factory=dict)  # version -> end of its newest window

    def to_dict(self) -> dict[str, Any]:
        return {"alerts": {fp: a.to_dict() for fp, a in self.alerts.items()},
                "slo": {k: s.to_list() for k, s in self.slo.items()}, "slo_minutes": self.slo_minutes,
                "slo_sampled_at": None if self.slo_sampled_at == -math.inf else self.slo_sampled_at,
                "versions": self.versions}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelAlerts:
        from argusml.stats.alerting import CounterSeries

        at = d.get("slo_sampled_at")
        return cls({fp: AlertState.from_dict(a) for fp, a in (d.get("alerts") or {}).items()},
                   {k: CounterSeries.from_list(v) for k, v in (d.get("slo") or {}).items()},
                   {k: list(v) for k, v in (d.get("slo_minutes") or {}).items()},
                   -math.inf if at is None else float(at), versions=dict(d.get("versions") or {}))


def _id(prefix: str, *parts: object) -> str:
    return prefix + hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:12]


class Engine:
    """Every model's alerts and the open incidents. Not thread-safe: the monitor calls it under one lock."""

    def __init__(self, external_url: str = "") -> None:
        self.models: dict[str, ModelAlerts] = {}
        self.incidents: dict[str, Incident] = {}  # the open ones (resolved ones are saved and let go)
        self.silences: dict[str, Silence] = {}
        self.external_url = external_url.rstrip("/")
        self._dirty_models: set[str] = set()
        self._dirty_incidents: dict[str, Incident] = {}
        self._notices: list[Notice] = []
        self._specs: dict[str, tuple[ModelConfig, list[Spec]]] = {}
        self._past_cache: dict[tuple[str, str, str], tuple[int, Any]] = {}
        self._of_model: dict[str, set[str]] = {}  # model -> ids of its open incidents

    def specs(self, cfg: ModelConfig) -> list[Spec]:
        """The model's rules (``rules.specs``), built once per config: ticks and windows ask for them often."""
        got = self._specs.get(cfg.model)
        if got is None or got[0] is not cfg:
            got = self._specs[cfg.model] = (cfg, specs(cfg))
        return got[1]

    # -- state in and out ----------------------------------------------------------------------
    def load(self, models: dict[str, dict[str, Any]], incidents: list[Incident], silences: list[Silence]) -> None:
        self.models = {m: ModelAlerts.from_dict(d) for m, d in models.items()}
        self.incidents = {i.id: i for i in incidents if i.open}
        self._of_model = {}
        for i in self.incidents.values():
            self._of_model.setdefault(i.model, set()).add(i.id)
        self.silences = {s.id: s for s in silences}

    def drain(self) -> Changes:
        out = Changes({m: self.models[m].to_dict() for m in self._dirty_models if m in self.models},
                      list(self._dirty_incidents.values()), self._notices)
        for inc in out.incidents:
            if not inc.open:
                self.incidents.pop(inc.id, None)
                self._of_model.get(inc.model, set()).discard(inc.id)
        self._dirty_models, self._dirty_incidents, self._notices = set(), {}, []
        return out

    def _model(self, name: str) -> ModelAlerts:
        m = self.models.get(name)
        if m is None:
            m = self.models[name] = ModelAlerts()
        return m

    # -- windows -------------------------------------------------------------------------------
    def window(self, cfg: ModelConfig, sig: WindowSignal, now: float, history: History | None = None) -> None:
        """Judge one closed window (or performance window) against every alert of its stream."""
        m = self._model(cfg.model)
        self._dirty_models.add(cfg.model)
        if sig.stream == "window":
            m.versions[sig.version] = max(m.versions.get(sig.version, sig.end), sig.end)
        keep = max(cfg.alerts.for_windows, cfg.alerts.resolve_windows) + KEEP
        seen: set[str] = set()
        for f in sig.findings:
            in_stream = (f.check in PERF_STREAM_CHECKS) == (sig.stream == "performance")
            sev = check_severity(cfg, f.check, Severity(f.severity)) if in_stream else None
            if sev is None:
                continue
            labels = {"column": f.column} if f.column else {}
            fp = fingerprint(cfg.model, f.check, {**labels, "model_version": sig.version})
            seen.add(fp)
            a = m.alerts.get(fp)
            if a is None:
                a = m.alerts[fp] = AlertState(fp, cfg.model, f.check, {**labels, "model_version": sig.version},
                                              sev.value, role_of_check(f.check), sig.stream)
            a.summary, a.value = f.message, f.value
            a.evidence = {"segments": f.segments} if f.segments else {}
            if a.status != "firing" or SEVERITY_RANK[sev.value] < SEVERITY_RANK[a.severity]:
                a.severity = sev.value
            a.judge(sig.start, sig.end, True, f.value, keep)
            need = 1 if (f.check in IMMEDIATE_CHECKS and sev is Severity.P0) else cfg.alerts.for_windows
            self._settle(cfg, a, need, now)
        for fp, a in list(m.alerts.items()):  # the window's absent findings are good windows for their alerts
            if (a.rule_type is None and fp not in seen and a.stream == sig.stream
                    and a.labels.get("model_version") == sig.version):
                a.judge(sig.start, sig.end, False, None, keep)
                self._settle(cfg, a, cfg.alerts.for_windows, now)
        for spec in self.specs(cfg):
            if spec.stream == sig.stream:
                self._rule(cfg, m, spec, sig, now, history, keep)
        self._unexpected_version(cfg, m, sig, now, keep)
        self._retire(cfg, m, now)
        self._gc(m)
        self._notify_changed(cfg, now)

    def _notify_changed(self, cfg: ModelConfig, now: float) -> None:
        for inc in list(self._dirty_incidents.values()):
            if inc.model == cfg.model:
                self._notify(cfg, inc, now)

    def _rule(self, cfg: ModelConfig, m: ModelAlerts, spec: Spec, sig: WindowSignal, now: float,
              history: History | None, keep: int) -> None:
        r = spec.rule
        label = LABELLED_METRICS.get(r.metric)
        if label is not None:
            self._labelled_rule(cfg, m, spec, sig, now, keep, label)
            return
        value = sig.metrics.get(r.metric)
        if r.metric.startswith("findings.") and value is None:
            value = float(sum(1 for f in sig.findings if f.check == r.metric.split(".", 1)[1]))
        self._judge_value(cfg, m, spec, sig, now, history, keep, value, {})

    def _labelled_rule(self, cfg: ModelConfig, m: ModelAlerts, spec: Spec, sig: WindowSignal, now: float,
                       keep: int, label: str) -> None:
        """A rule on a metric with one value per label value (``LABELLED_METRICS``): each value is judged
        apart, as its own alert. A value the window no longer holds (a tenant with no spend on the new UTC day)
        is judged at 0, so its alert resolves when the day turns rather than firing on forever."""
        r = spec.rule
        prefix = r.metric + "."
        values = {k[len(prefix):]: v for k, v in sig.metrics.items() if k.startswith(prefix)}
        for a in list(m.alerts.values()):
            if a.name == r.name and a.labels.get("model_version") == sig.version and label in a.labels:
                values.setdefault(a.labels[label], 0.0)
        for name in sorted(values):
            self._judge_value(cfg, m, spec, sig, now, None, keep, values[name], {label: name})

    def _judge_value(self, cfg: ModelConfig, m: ModelAlerts, spec: Spec, sig: WindowSignal, now: float,
                     history: History | None, keep: int, value: float | None, labels: dict[str, str]) -> None:
        r = spec.rule
        fp = fingerprint(cfg.model, r.name, {**labels, "model_version": sig.version})
        a = m.alerts.get(fp)
        if value is None or not math.isfinite(value):
            return
        if r.metric in ("error_rate", "fallback_ratio") and sig.metrics.get("requests", 0.0) < MIN_REQUESTS:
            return
        judged = self._judge_rule(cfg.model, r, value, sig, history, firing=a is not None and a.status == "firing")
        if judged is None:
            return
        bad, severity, detail = judged
        if a is None:
            if bad is not True:
                return
            a = m.alerts[fp] = AlertState(fp, cfg.model, r.name, {**labels, "model_version": sig.version},
                                          severity, spec.role, spec.stream, rule_type=r.type)
        if bad and (a.status != "firing" or SEVERITY_RANK[severity] < SEVERITY_RANK[a.severity]):
            a.severity = severity
        a.value = value
        if bad:
            a.summary = (r.summary.format(value=value, **labels) if r.summary
                         else f"{r.metric}{self._on(a)} = {value:.4g}: {detail}")
            a.evidence = {"metric": r.metric, "value": value, "detail": detail, **labels}
        a.judge(sig.start, sig.end, bad, value, keep)
        immediate = severity == Severity.P0.value and r.p0 is not None
        if bad and (immediate or a.status == "firing" or a.streak(True) >= spec.for_windows):
            self._shape(a, r.metric, sig, history)  # before it settles: the incident shows it as it fires
        self._settle(cfg, a, 1 if immediate and bad else spec.for_windows, now)

    def _past(self, model: str, r: Any, sig: WindowSignal, history: History) -> Any:
        """A rule's reference from the metric's past: the median of its period (baseline) or the band of its
        hour of the week (seasonal). Both move slowly, so each is computed once per hour of window starts
        (and per hour of the week) rather than for every window: at 5-minute windows a twelfth of the work."""
        hour = math.floor(sig.start / 3600)
        key = (model, sig.version, r.name)
        got = self._past_cache.get(key)
        if got is not None and got[0] == hour:
            return got[1]
        if r.type == "baseline":
            _, values = history(sig.version, r.metric, sig.start - r.period, sig.start)
            past: Any = (float(np.median(np.asarray(values, dtype=float))), len(values)) if len(values) >= 3 else None
        else:
            from argusml.stats.alerting import seasonal_band

            times, values = history(sig.version, r.metric, sig.start - r.weeks * 7 * 86400, sig.start)
            past = seasonal_band(times, values, sig.start, k=r.k)  # its own hour only: a peak is one hour wide
        self._past_cache[key] = (hour, past)
        return past

    def _judge_rule(self, model: str, r: Any, value: float, sig: WindowSignal, history: History | None,
                    firing: bool) -> tuple[bool | None, str, str] | None:
        """(bad: True / False / None for "between the limit and its clear level while firing", severity,
        why) or None when the rule cannot judge this window (no history yet)."""
        sev = r.severity.value
        if r.type == "threshold":
            up = r.above is not None
            limit = r.above if up else r.below
            clear = r.clear if r.clear is not None else limit
            if (value > limit) if up else (value < limit):
                p0 = r.p0 is not None and ((value >= r.p0) if up else (value <= r.p0))
                return True, "P0" if p0 else sev, f"{'above' if up else 'below'} {limit:g}"
            good = (value <= clear) if up else (value >= clear)
            return (False if good or not firing else None), sev, ""
        if history is None:
            return None
        if r.type == "baseline":
            past = self._past(model, r, sig, history)
            if past is None:
                return None
            base, n = past
            if r.drop is not None:
                rel = (base - value) / abs(base) if base else 0.0
                if rel > r.drop:
                    p0 = r.p0_drop is not None and rel >= r.p0_drop
                    return True, "P0" if p0 else sev, f"{rel:.1%} below its baseline {base:.4g} (median of " \
                                                      f"{n} windows)"
                return (False if rel <= r.drop / 2 or not firing else None), sev, ""
            rel = (value - base) / abs(base) if base else (math.inf if value > 0 else 0.0)
            if rel > r.rise:
                return True, sev, f"{rel:.1%} above its baseline {base:.4g} (median of {n} windows)"
            return (False if rel <= r.rise / 2 or not firing else None), sev, ""
        if r.type == "seasonal":
            band = self._past(model, r, sig, history)
            if band is None:
                return None
            z = band.z(value)
            side = "above" if z > 0 else "below"
            if abs(z) > r.k and r.direction in (side, "both"):
                return True, sev, (f"{side} its usual range for this hour of the week ({band.lower:.4g} to "
                                   f"{band.upper:.4g}, median {band.median:.4g} of {band.n} past observations)")
            return (False if abs(z) <= 0.75 * r.k or not firing else None), sev, ""
        return None

    @staticmethod
    def _shape(a: AlertState, metric: str, sig: WindowSignal, history: History | None) -> None:
        """Step or slope: whether the metric jumped or decayed over the recent windows, said in the alert. The
        alert's own judgements start at its first bad window; the windows before it come from the metric's
        past (``history``), so a step is seen against what came before it."""
        from argusml.stats.alerting import step_or_slope

        judged = [(j[1], float(j[3])) for j in a.judged if j[3] is not None]
        if history is not None and len(judged) < 12:
            length = sig.end - sig.start
            first = judged[0][0] if judged else sig.start
            times, values = history(sig.version, metric, first - (12 - len(judged)) * length, first)
            judged = [*zip(times, values), *judged]
        values = [v for _, v in judged]
        if len(values) < 6:
            return
        shape = step_or_slope(values)
        if shape.kind in ("step", "slope"):
            a.evidence["shape"] = {"kind": shape.kind, "change": shape.change}
            how = "a sudden step" if shape.kind == "step" else "a gradual slope"
            a.summary += f" ({how} over the last {len(values)} windows)"

    def _unexpected_version(self, cfg: ModelConfig, m: ModelAlerts, sig: WindowSignal, now: float, keep: int) -> None:
        if sig.stream != "window":
            return
        pinned = cfg.expected_versions
        own = cfg.versions.get(sig.version)
        bad = (own is not None and own.expected is False) or (pinned is not None and sig.version not in pinned)
        fp = fingerprint(cfg.model, "unexpected_version", {"model_version": sig.version})
        a = m.alerts.get(fp)
        if a is None and not bad:
            return
        if a is None:
            a = m.alerts[fp] = AlertState(fp, cfg.model, "unexpected_version", {"model_version": sig.version},
                                          "P1", "cause", "window", rule_type="version")
        if bad:
            expected = ", ".join(sorted(pinned or ())) or "none"
            a.summary = f"version {sig.version} is serving; expected: {expected}"
            a.evidence = {"expected": sorted(pinned or ()), "serving": sig.version}
        a.judge(sig.start, sig.end, bad, None, keep)
        self._settle(cfg, a, 1, now)

    def _retire(self, cfg: ModelConfig, m: ModelAlerts, now: float) -> None:
        """Alerts of rules the config no longer has (or SLOs it dropped, or expected versions it no longer
        pins) resolve: nothing will judge them again, and a firing alert nobody judges would fire forever."""
        names = {s.name for s in self.specs(cfg)} | {f"slo_{n}" for n, _ in cfg.slos.items()}
        for a in list(m.alerts.values()):
            gone = (a.rule_type in ("threshold", "baseline", "seasonal", "absence", "slo") and a.name not in names) or (
                a.rule_type == "version" and cfg.expected_versions is None
                and not any(v.expected is False for v in cfg.versions.values()))
            if gone and a.status == "firing":
                self._resolve_alert(a, now)
            if gone:
                a.status, a.judged = "inactive", []

    @staticmethod
    def _gc(m: ModelAlerts) -> None:
        """Alerts with nothing bad left to remember go: the state stays as small as what is happening."""
        for fp, a in list(m.alerts.items()):
            if a.status == "inactive" and not any(j[2] for j in a.judged):
                del m.alerts[fp]

    # -- ticks ---------------------------------------------------------------------------------
    def tick(self, cfg: ModelConfig, sig: TickSignal, now: float) -> None:
        """Absence rules and SLO burn rates, and notices due by the clock (repeats, silences that ended)."""
        m = self._model(cfg.model)
        for spec in self.specs(cfg):
            if spec.stream != "tick":
                continue
            r = spec.rule
            value = {"silence": sig.silence, "freshness": sig.freshness, "label_lag": sig.label_lag}[r.metric]
            if value is None:
                continue
            self._instant(cfg, m, r.name, "absence", spec.role, value > r.after, r.severity.value, value,
                          f"{r.metric} {value / 60:.1f} min, over the {r.after / 60:g} min allowed", now)
        self._slos(cfg, m, sig, now)
        self._dependencies(cfg, m, sig.dependencies, now)
        for iid in sorted(self._of_model.get(cfg.model, ())):
            inc = self.incidents.get(iid)
            if inc is not None and inc.open:
                self._refresh_silences(inc, now)
                self._notify(cfg, inc, now)
        self._notify_changed(cfg, now)

    def _dependencies(self, cfg: ModelConfig, m: ModelAlerts, deps: list[DependencySignal], now: float) -> None:
        """A dependency that is down is ``dependency_down`` (labels ``dependency``), a cause that fires at once:
        the prober already waited for ``failures`` consecutive failed probes. Its first bad window is the one
        of its first failed probe, so an incident ranks it with the symptoms it brought. A dependency the config no longer
        names (or whose alert is turned off) resolves: nothing will judge it again."""
        from argusml.schema.model_config import format_duration

        configured = {d.name: d for d in cfg.dependencies}
        given = cfg.alerts.checks.get("dependency_down")
        override = None if given is None else "off" if given == "off" else Severity(given).value
        for sig in deps:
            dep = configured.get(sig.name)
            if dep is None or sig.down is None:
                continue
            severity = dep.severity.value if dep.severity is not None else override
            if severity == "off":
                continue
            summary = ""
            if sig.down:
                what = (f"newest heartbeat {format_duration(round(sig.age))} old (max_age "
                        f"{format_duration(dep.max_age)})"
                        if dep.kind == "freshness" and sig.age is not None and dep.max_age is not None
                        else f"{sig.failures} consecutive failed probes of {dep.target}")
                summary = f"dependency {dep.name!r} ({dep.kind}) is down: {what}" + (
                    f"; last error: {sig.error}" if sig.error else "")
            value = sig.age if dep.kind == "freshness" and sig.age is not None else float(sig.failures)
            # first bad *window*, as every other alert's: the start of the model's window that saw the first
            # failed probe, so a symptom of that same window reads as moving with it, not before it
            since = None if sig.since is None else math.floor(sig.since / cfg.window) * cfg.window
            self._instant(cfg, m, "dependency_down", "dependency", "cause", sig.down, severity or "P1", value,
                          summary, now, {"dependency": dep.name}, since=since)
        for a in list(m.alerts.values()):
            name = a.labels.get("dependency")
            gone = a.rule_type == "dependency" and (name not in configured or (
                configured[name].severity is None and override == "off"))
            if gone and a.status == "firing":
                self._resolve_alert(a, now)
                self._dirty_models.add(cfg.model)
            if gone:
                a.status, a.judged = "inactive", []
        self._gc(m)

    def notifier(self, cfg: ModelConfig, receiver: str, failing: bool, error: str, now: float) -> None:
        """A receiver whose deliveries fail is an alert of the model (``notifier_failing``) until one succeeds."""
        self._instant(cfg, self._model(cfg.model), "notifier_failing", "notifier", "cause", failing, "P1", 1.0,
                      f"notifications to receiver {receiver!r} fail: {error}", now, {"receiver": receiver})

    def _instant(self, cfg: ModelConfig, m: ModelAlerts, name: str, rule_type: str, role: str, bad: bool,
                 severity: str, value: float, summary: str, now: float, labels: dict[str, str] | None = None,
                 since: float | None = None) -> None:
        """An alert judged on the clock: bad fires at once, good resolves at once (its measure is itself a
        duration or a burn over windows, so waiting for more windows would only add delay). ``since``: when
        the bad run began, if known earlier than this judgement (a dependency's first failed probe)."""
        labels = labels or {}
        fp = fingerprint(cfg.model, name, labels)
        a = m.alerts.get(fp)
        if a is None and not bad:
            return
        if a is None:
            a = m.alerts[fp] = AlertState(fp, cfg.model, name, labels, severity, role, "tick", rule_type=rule_type)
        a.value = value
        before = (a.status, a.severity)
        if bad:
            a.summary = summary
            if a.status == "firing" and SEVERITY_RANK[severity] < SEVERITY_RANK[a.severity]:
                a.severity = severity
                self._update_in_incident(a, now)
            elif a.status != "firing":
                a.severity = severity
        step = max(1.0, now - (a.judged[-1][0] if a.judged else now - 1.0))
        start = min(since, now - step) if bad and since is not None else now - step
        a.judge(start, now, bad, value, KEEP)
        self._settle(cfg, a, 1, now, resolve=1)
        if (a.status, a.severity) != before:  # judged every pass: saved only when that changes something
            self._dirty_models.add(cfg.model)
        self._gc(m)

    def _slos(self, cfg: ModelConfig, m: ModelAlerts, sig: TickSignal, now: float) -> None:
        slos = cfg.slos.items()
        if not slos or now - m.slo_sampled_at < SLO_SAMPLE_EVERY:
            return
        from argusml.stats.alerting import CounterSeries, evaluate_burn

        minutes = (now - m.slo_sampled_at) / 60 if m.slo_sampled_at > -math.inf else 0.0
        m.slo_sampled_at = now
        if now - m.slo_saved_at >= SLO_SAVE_EVERY:
            m.slo_saved_at = now
            self._dirty_models.add(cfg.model)
        for name, slo in slos:
            if name in ("latency", "error_rate"):
                counts = sig.counters.get(name)
                if counts is None:
                    continue
                total, bad = counts
            else:  # freshness and quality are judged per minute: a good minute or a bad one
                acc = m.slo_minutes.setdefault(name, [0.0, 0.0])
                if name == "freshness":
                    ok = None if sig.freshness is None else sig.freshness <= (slo.threshold or 0)
                else:
                    v = sig.performance.get(slo.metric or "")
                    ok = None if v is None else v >= (slo.min or 0)
                if ok is not None and minutes:
                    acc[0] += minutes
                    acc[1] += 0.0 if ok else minutes
                total, bad = acc
            series = m.slo.get(name)
            if series is None:
                series = m.slo[name] = CounterSeries()
            series.append(now, total, bad)
            res = evaluate_burn(series, now, slo.objective, period=slo.period)
            sev = res.severity
            alert = f"slo_{name}"
            summary = ""
            if sev is not None:
                summary = (f"{name} SLO ({slo.objective:.2%}) burning its error budget {res.long_rate:.1f}x over "
                           f"{res.long_window / 3600:g} h and {res.short_rate:.1f}x over {res.short_window / 60:g} "
                           f"min; {res.budget_spent:.1%} of the {slo.period / 86400:g}-day budget spent in the "
                           "long window")
            self._instant(cfg, m, alert, "slo", "symptom" if name != "freshness" else "cause", sev is not None,
                          sev or "P2", res.long_rate or 0.0, summary, now)

    # -- state machine -------------------------------------------------------------------------
    def _settle(self, cfg: ModelConfig, a: AlertState, need: int, now: float, resolve: int | None = None) -> None:
        bad_n, good_n = a.streak(True), a.streak(False)
        if a.status != "firing":
            if bad_n >= need:
                a.first_bad_at = a.run_start()
                self._fire(cfg, a, now)
            elif bad_n:
                a.status, a.first_bad_at = "pending", a.run_start()
            else:
                a.status, a.first_bad_at = "inactive", None
        elif good_n >= (resolve or cfg.alerts.resolve_windows):
            self._resolve_alert(a, now)
        elif a.incident in self.incidents:
            self._update_in_incident(a, now)

    def _labels(self, a: AlertState) -> dict[str, str]:
        return {**a.labels, "alertname": a.name, "model": a.model, "severity": a.severity,
                "model_version": a.labels.get("model_version", "")}

    def _fire(self, cfg: ModelConfig, a: AlertState, now: float) -> None:
        assert a.first_bad_at is not None
        a.status, a.fired_at, a.resolved_at = "firing", now, None
        a.alert_id = _id("al-", a.fingerprint, a.first_bad_at)
        a.silenced_by = next((s.id for s in self.silences.values() if s.matches(self._labels(a), now)), None)
        inc = self._incident_for(cfg, a, now)
        a.incident = inc.id
        inc.alerts[a.alert_id] = self._shown(cfg, a)
        inc.first_bad_at = min(inc.first_bad_at, a.first_bad_at)
        if SEVERITY_RANK[a.severity] < SEVERITY_RANK[inc.severity]:
            inc.log(now, "escalated", f"{inc.severity} -> {a.severity} by {a.name}")
            inc.severity = a.severity
        inc.log(now, "alert_firing", f"{a.name}{self._on(a)} ({a.severity}, {a.labels.get('model_version', '')}): "
                                     f"{a.summary}" + (f" [silenced by {a.silenced_by}]" if a.silenced_by else ""))
        self._touch(inc)

    @staticmethod
    def _on(a: AlertState) -> str:
        col = a.labels.get("column")
        if col:
            return f" on {col!r}"
        tenant = a.labels.get("tenant")
        return f" for tenant {tenant!r}" if tenant else ""

    def _shown(self, cfg: ModelConfig, a: AlertState) -> dict[str, Any]:
        rule_runbook = next((r.runbook for r in cfg.alerts.rules if r.name == a.name), None)
        if a.name.startswith("slo_"):
            slo = getattr(cfg.slos, a.name[4:], None)
            rule_runbook = slo.runbook if slo is not None else None
        url = runbook_url(a.name, model=cfg.model, overrides=cfg.runbooks, rule_runbook=rule_runbook,
                          external_url=self.external_url, rule_type=a.rule_type)
        return {"id": a.alert_id, "name": a.name, "severity": a.severity, "role": a.role, "status": a.status,
                "model_version": a.labels.get("model_version", ""),
                "labels": {k: v for k, v in a.labels.items() if k != "model_version"},
                "summary": a.summary, "description": self._description(a), "runbook_url": url,
                "first_bad_at": a.first_bad_at, "fired_at": a.fired_at, "ended_at": a.resolved_at,
                "fingerprint": a.fingerprint, "value": a.value, "evidence": a.evidence,
                "silenced_by": a.silenced_by}

    @staticmethod
    def _description(a: AlertState) -> str:
        bad = sum(1 for j in a.judged if j[2])
        shape = a.evidence.get("shape", {}).get("kind")
        return (f"{a.name} ({a.role}) bad in {bad} of the last {len(a.judged)} judged windows"
                + (f"; the change is {'a step' if shape == 'step' else 'a slope'}" if shape else ""))

    def _update_in_incident(self, a: AlertState, now: float) -> None:
        inc = self.incidents.get(a.incident or "")
        if inc is None or a.alert_id not in inc.alerts:
            return
        shown = inc.alerts[a.alert_id]
        before = shown["severity"]
        shown.update(severity=a.severity, status=a.status, summary=a.summary, value=a.value, evidence=a.evidence,
                     ended_at=a.resolved_at, description=self._description(a))
        if SEVERITY_RANK[a.severity] < SEVERITY_RANK[inc.severity]:
            inc.log(now, "escalated", f"{inc.severity} -> {a.severity} by {a.name}")
            inc.severity = a.severity
        elif before != a.severity:
            inc.log(now, "alert_severity", f"{a.name}{self._on(a)}: {before} -> {a.severity}")
        self._touch(inc)

    def _resolve_alert(self, a: AlertState, now: float) -> None:
        a.status, a.resolved_at = "inactive", now
        inc = self.incidents.get(a.incident or "")
        a.incident = None
        if inc is None:
            return
        shown = inc.alerts.get(a.alert_id or "")
        if shown is not None:
            shown.update(status="resolved", ended_at=now)
        inc.log(now, "alert_resolved", f"{a.name}{self._on(a)} ({a.labels.get('model_version', '')})")
        self._touch(inc)
        if all(x["status"] == "resolved" for x in inc.alerts.values()):
            self._close(inc, now, by=None)

    def _incident_for(self, cfg: ModelConfig, a: AlertState, now: float) -> Incident:
        """The open incident of the model this alert belongs with (it moved within ``group_within`` of the
        incident's span), else a new one."""
        assert a.first_bad_at is not None
        within = cfg.alerts.group_within
        best = None
        for iid in self._of_model.get(cfg.model, ()):
            inc = self.incidents[iid]
            if not inc.open:
                continue
            if inc.first_bad_at - within <= a.first_bad_at and a.first_bad_at <= inc.updated_at + within:
                if best is None or inc.opened_at > best.opened_at:
                    best = inc
        if best is not None:
            return best
        inc = Incident(_id("inc-", cfg.model, a.fingerprint, a.first_bad_at), cfg.model, now, a.first_bad_at,
                       a.severity, team=cfg.team, owner=cfg.owner, updated_at=now)
        inc.versions_serving = sorted(self._model(cfg.model).versions)
        inc.log(now, "opened", f"by {a.name}{self._on(a)} ({a.severity}); first bad window at "
                               f"{rfc3339(a.first_bad_at)}")
        self.incidents[inc.id] = inc
        self._of_model.setdefault(inc.model, set()).add(inc.id)
        return inc

    def _touch(self, inc: Incident) -> None:
        self._dirty_incidents[inc.id] = inc

    def _close(self, inc: Incident, now: float, by: str | None) -> None:
        inc.status, inc.resolved_at, inc.resolved_by = "resolved", now, by
        inc.log(now, "resolved", f"by {by}" if by else "every alert resolved")
        inc.postmortem = postmortem(inc.to_dict())
        self._touch(inc)

    # -- notices -------------------------------------------------------------------------------
    def _notify(self, cfg: ModelConfig, inc: Incident, now: float) -> None:
        """Queue what the incident's receivers have not been told: that it opened (or escalated), again
        every ``alerts.repeat`` while nobody acknowledged it, and that it resolved. P2s go nowhere unless a
        route asks for them."""
        if not inc.open:
            if inc.notified and not inc.resolve_sent:
                inc.resolve_sent = True
                for receiver, sev in inc.notified.items():
                    self._queue(inc, receiver, sev, "resolved")
            return
        sev = inc.notifiable_severity()
        if sev is None:
            return
        receivers = cfg.alerts.receivers_for(Severity(sev), cfg.team, cfg.owner)
        told = False
        for receiver in receivers:
            before = inc.notified.get(receiver)
            if before is None or SEVERITY_RANK[sev] < SEVERITY_RANK[before]:
                event = "opened" if before is None else "escalated"
                inc.notified[receiver] = sev
                self._queue(inc, receiver, sev, event)
                told = True
        if told:
            inc.last_notified_at = now
            return
        if (inc.status == "open" and inc.last_notified_at is not None
                and now - inc.last_notified_at >= cfg.alerts.repeat):
            inc.last_notified_at = now
            for receiver in receivers:
                if receiver in inc.notified:
                    self._queue(inc, receiver, sev, "repeat")

    def _queue(self, inc: Incident, receiver: str, severity: str, event: str) -> None:
        inc.log(inc.updated_at, "notified", f"{receiver}: {event} ({severity})")
        self._touch(inc)
        self._notices.append(Notice(inc.model, inc.id, receiver, severity, event, self.show(inc)))

    def show(self, inc: Incident) -> dict[str, Any]:
        d = inc.to_dict()
        d["url"] = f"{self.external_url}/v1/incidents/{inc.id}"
        return d

    def _refresh_silences(self, inc: Incident, now: float) -> None:
        """A silence that ended (or a new one) changes which alerts may be told about."""
        m = self.models.get(inc.model)
        if m is None:
            return
        for a in m.alerts.values():
            if a.incident != inc.id or a.status != "firing":
                continue
            was = a.silenced_by
            a.silenced_by = next((s.id for s in self.silences.values() if s.matches(self._labels(a), now)), None)
            if was != a.silenced_by:
                inc.alerts[a.alert_id or ""]["silenced_by"] = a.silenced_by
                inc.log(now, "silence", f"{a.name}{self._on(a)}: "
                                        + (f"silenced by {a.silenced_by}" if a.silenced_by else f"{was} ended"))
                self._touch(inc)

    # -- people --------------------------------------------------------------------------------
    def acknowledge(self, incident_id: str, who: str, now: float, comment: str = "") -> Incident:
        inc = self.incidents[incident_id]
        if inc.status == "open":
            inc.status, inc.acknowledged_at, inc.acknowledged_by = "acknowledged", now, who
            inc.log(now, "acknowledged", f"by {who}" + (f": {comment}" if comment else ""))
            self._touch(inc)
        return inc

    def resolve(self, cfg: ModelConfig | None, incident_id: str, who: str, now: float, comment: str = "") -> Incident:
        """Resolved by a person: its alerts still bad stay firing but belong to no incident; they open a new
        one only after they resolve and fire again (a person said this one is handled)."""
        inc = self.incidents[incident_id]
        m = self.models.get(inc.model)
        for a in (m.alerts.values() if m else ()):
            if a.incident == inc.id:
                a.incident = None
                self._dirty_models.add(inc.model)
        if comment:
            inc.log(now, "comment", f"{who}: {comment}")
        self._close(inc, now, by=who)
        if cfg is not None:
            self._notify(cfg, inc, now)
        return inc

    def add_silence(self, s: Silence) -> None:
        self.silences[s.id] = s

    def expire_silence(self, silence_id: str, now: float) -> Silence:
        s = self.silences[silence_id]
        s.ends_at = min(s.ends_at, now)
        return s

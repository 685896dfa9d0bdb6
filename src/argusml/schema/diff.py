"""What a model config alerts on, and how two configs differ in what they alert on.

A text diff of two YAMLs says which lines moved; a reviewer needs to know
what will page differently. So both configs are first reduced to what
decides alerting, with templates applied and defaults filled
(``alerting_view``): the checks that alert and at which severity, every
rule and SLO, who each tier P0/P1/P2 goes to, the receivers, and the
thresholds that change what fires. ``diff_configs`` compares two such views
key by key and says, where a direction is known, what the change does
("fires earlier", "pages more"). `argus config diff`, `argus config
validate` and the store's config history all read these.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from argusml.schema.alerts import SLO, AlertsConfig, Receiver, Rule
from argusml.schema.kinds import Severity
from argusml.schema.model_config import ModelConfig, format_duration
from argusml.schema.severity import DEFAULT_SEVERITY

TIERS = (Severity.P0, Severity.P1, Severity.P2)
_RANK = {"off": 0, "P2": 1, "P1": 2, "P0": 3}
_DURATIONS = {"window", "lateness", "alerts.group_within", "alerts.repeat", "period", "after", "threshold"}
"""Keys (or a rule's / SLO's fields) holding seconds: shown as 15m, 1h in text."""


@dataclass(frozen=True)
class Change:
    """One difference in what a config alerts on. ``what``: model, check, rule, slo, routing, receiver,
    threshold or versions; ``key``: the YAML key a user edits; ``old``/``new``: None when absent."""

    what: str
    key: str
    old: Any
    new: Any
    effect: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """``rules[p99]: above 1 → 0.8 (fires earlier)``."""
        m = re.match(r"^((?:rules|slos)\[[^\]]+\])\.(\w+)$", self.key)
        field = m.group(2) if m else ""
        head, lead = (m.group(1), f"{field} ") if m else (self.key, "")
        dur = field in _DURATIONS or self.key in _DURATIONS
        if self.old is None:
            body = f"added: {lead}{show(self.new, dur)}"
        elif self.new is None:
            body = f"removed: {lead}{show(self.old, dur)}"
        else:
            body = f"{lead}{show(self.old, dur)} → {show(self.new, dur)}"
        return f"{head}: {body} ({self.effect})"


def show(value: Any, duration: bool = False) -> str:
    """A value as the text output prints it: 0.8, 15m, 'a, b', none."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return format_duration(float(value)) if duration else f"{value:g}"
    if isinstance(value, list):
        return ", ".join(show(v) for v in value) if value else "nobody (incident list only)"
    return str(value)


def mask_url(url: str) -> str:
    """A receiver's URL with its query values and password masked: webhooks carry their secret there."""
    parts = urlsplit(url)
    query = "&".join(f"{k}=***" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def receiver_summary(r: Receiver) -> str:
    if r.email is not None:
        return f"email to {', '.join(r.email.to)} via {r.email.smtp_host}:{r.email.smtp_port}"
    return f"{r.kind} {mask_url(r.webhook or r.slack or '')}"


def rule_summary(r: Rule, alerts: AlertsConfig) -> str:
    """``threshold latency_p99 above 1, P1, after 3 windows``: what the rule fires on, in one phrase."""
    if r.type == "threshold":
        how = f"above {show(r.above)}" if r.above is not None else f"below {show(r.below)}"
        how += f" (P0 beyond {show(r.p0)})" if r.p0 is not None else ""
    elif r.type == "baseline":
        how = (f"{show(r.drop * 100)}% below" if r.drop is not None else f"{show((r.rise or 0) * 100)}% above")
        how += f" its {format_duration(r.period)} median"
    elif r.type == "seasonal":
        how = f"outside its hour-of-week band (k={show(r.k)}, {r.direction}, {r.weeks} weeks)"
    else:
        how = f"over {format_duration(r.after or 0)}"
    when = "at once" if r.type == "absence" else f"after {r.for_windows or alerts.for_windows} windows"
    return f"{r.type} {r.metric} {how}, {r.severity.value}, {when}"


def slo_summary(name: str, s: SLO) -> str:
    goal = f"{show(s.objective * 100)}%"
    if name == "latency":
        return f"{goal} of requests under {format_duration(s.threshold or 0)}"
    if name == "freshness":
        return f"{goal} of minutes with data fresher than {format_duration(s.threshold or 0)}"
    if name == "quality":
        return f"{goal} of windows with {s.metric} at least {show(s.min)}"
    return f"{goal} of requests without errors"


def check_severities(cfg: ModelConfig) -> dict[str, str]:
    """Per check, the severity its alert fires at, or "off": ``alerts.checks`` first, then the finding's
    own severity (``checks.severity``, else the default table)."""
    out = {}
    for check, default in DEFAULT_SEVERITY.items():
        given = cfg.alerts.checks.get(check)
        if given is None:
            given = cfg.checks.severity.get(check, default)
        out[check] = given if given == "off" else Severity(given).value
    return out


def routing(cfg: ModelConfig) -> dict[str, list[str]]:
    """Per tier, the receivers an incident of the model goes to (``AlertsConfig.receivers_for``)."""
    return {t.value: cfg.alerts.receivers_for(t, cfg.team, cfg.owner) for t in TIERS}


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}", out)
    else:
        out[prefix] = value


def thresholds(cfg: ModelConfig) -> dict[str, Any]:
    """The settings that change what fires, by their YAML key: the checks' thresholds, the per-column
    settings that differ from the global ones (a column's effective drift thresholds, its declared bounds),
    the window, and the alert engine's windows, grouping and repeats."""
    out: dict[str, Any] = {}
    checks = cfg.checks.model_dump(mode="json", exclude={"severity", "columns"})  # severities: per check
    _flatten(checks, "checks", out)
    overall = cfg.checks.drift.thresholds.model_dump()
    for name, col in cfg.checks.columns.items():
        key = f"checks.columns.{name}"
        for measure, value in cfg.checks.thresholds_for(name).model_dump().items():
            if value != overall[measure]:
                out[f"{key}.thresholds.{measure}"] = value
        for field, value in col.model_dump(mode="json", exclude={"thresholds"}).items():
            if value is not None and value is not False:
                out[f"{key}.{field}"] = value
    for key in ("window", "lateness"):
        out[key] = getattr(cfg, key)
    for key in ("for_windows", "resolve_windows", "group_within", "repeat"):
        out[f"alerts.{key}"] = getattr(cfg.alerts, key)
    return out


def alerting_view(cfg: ModelConfig) -> dict[str, dict[str, Any]]:
    """What decides the model's alerting, by kind, each keyed as ``Change.key`` names it."""
    a = cfg.alerts
    return {
        "check": {f"alerts.checks.{c}": s for c, s in check_severities(cfg).items()},
        "rule": {f"rules[{r.name}]": r for r in a.rules},
        "slo": {f"slos[{n}]": s for n, s in cfg.slos.items()},
        "routing": {f"routing[{t}]": v for t, v in routing(cfg).items()},
        "receiver": {f"receivers[{n}]": receiver_summary(r) for n, r in a.all_receivers().items()},
        "threshold": thresholds(cfg),
        "versions": {"versions.expected": sorted(cfg.expected_versions) if cfg.expected_versions else None},
    }


def _direction(old: Any, new: Any) -> int:
    if isinstance(old, bool) or isinstance(new, bool) or not isinstance(old, (int, float)) or not isinstance(
            new, (int, float)):
        return 0
    return (new > old) - (new < old)


def _severity_effect(old: str, new: str) -> str:
    if old == "off":
        return "starts alerting"
    if new == "off":
        return "stops alerting"
    return "pages more" if _RANK[new] > _RANK[old] else "pages less"


_RULE_EFFECTS: dict[str, tuple[str, str]] = {
    # field: (effect when the value goes up, effect when it goes down)
    "above": ("fires later", "fires earlier"),
    "below": ("fires earlier", "fires later"),
    "drop": ("fires later", "fires earlier"),
    "rise": ("fires later", "fires earlier"),
    "p0_drop": ("pages later", "pages earlier"),
    "k": ("fires less often", "fires more often"),
    "after": ("fires later", "fires sooner"),
    "for_windows": ("fires later", "fires sooner"),
    "weeks": ("baseline over more weeks", "baseline over fewer weeks"),
    "period": ("baseline over a longer period", "baseline over a shorter period"),
}


def _rule_field_effect(rule: Rule, field: str, old: Any, new: Any) -> str:
    d = _direction(old, new)
    up = rule.above is not None
    if field == "severity":
        return _severity_effect(old, new)
    if field == "p0" and d:
        return ("pages later" if d > 0 else "pages earlier") if up else ("pages earlier" if d > 0 else "pages later")
    if field == "clear" and d:
        return ("resolves sooner" if d > 0 else "resolves later") if up else (
            "resolves later" if d > 0 else "resolves sooner")
    if field in _RULE_EFFECTS and d:
        return _RULE_EFFECTS[field][0 if d > 0 else 1]
    if field == "metric":
        return "watches another metric"
    if field in ("runbook", "summary"):
        return "changes the alert's text"
    if field == "role":
        return "changes how incidents rank it"
    return "changes when it fires"


_SLO_STRICTER = {"objective": 1, "min": 1, "threshold": -1}
"""Per SLO field, the direction that makes the objective stricter (burns its budget sooner)."""


def _threshold_effect(key: str, old: Any, new: Any) -> str:
    d = _direction(old, new)
    leaf = key.rsplit(".", 1)[-1]
    if ".thresholds." in key:
        if old is None:
            return "adds this measure to the drift decision"
        if new is None:
            return "drops this measure from the drift decision"
        return "flags less drift" if d > 0 else "flags more drift"
    if key == "checks.drift.alpha" and d:
        return "flags more drift" if d > 0 else "flags less drift"
    if leaf == "min_rows" and d:
        return "needs more rows before judging" if d > 0 else "judges smaller windows"
    if key.startswith(("checks.quality.", "checks.multivariate.min_")) and d:
        return "reports less" if d > 0 else "reports more"
    if key == "checks.ignore" or leaf == "ignore":
        return "changes which columns are checked"
    if key.startswith("checks.columns.") and leaf in ("min", "max", "allowed", "max_missing", "kind"):
        return "changes a declared bound (declared_bound findings)"
    if key == "window" and d:
        return "judges over longer windows: alerts later, on more rows" if d > 0 else \
            "judges over shorter windows: alerts sooner, on fewer rows"
    if key == "lateness" and d:
        return "windows close later" if d > 0 else "windows close sooner"
    if key == "alerts.for_windows" and d:
        return "fires later" if d > 0 else "fires sooner"
    if key == "alerts.resolve_windows" and d:
        return "resolves later" if d > 0 else "resolves sooner"
    if key == "alerts.group_within" and d:
        return "groups more alerts into one incident" if d > 0 else "opens more incidents"
    if key == "alerts.repeat" and d:
        return "repeats unacknowledged incidents less often" if d > 0 else \
            "repeats unacknowledged incidents more often"
    return "changes what fires"


def _routing_effect(old: list[str], new: list[str]) -> str:
    if not new:
        return "no longer notified (incident list only)"
    if not old:
        return "now notified"
    parts = []
    added = [r for r in new if r not in old]
    gone = [r for r in old if r not in new]
    if added:
        parts.append(f"now also to {', '.join(added)}")
    if gone:
        parts.append(f"no longer to {', '.join(gone)}")
    return "; ".join(parts) or "same receivers, another order"


def _slo_field_effect(slo: SLO, field: str, old: Any, new: Any) -> str:
    d = _direction(old, new) * _SLO_STRICTER.get(field, 0)
    return "stricter: fires sooner" if d > 0 else "looser: fires later" if d < 0 else "changes its alerts"


def _entries(what: str, key: str, before: Any, after: Any, summary: Callable[[Any, ModelConfig], str],
             old: ModelConfig, new: ModelConfig, added_removed: tuple[str, str],
             field_effect: Callable[[Any, str, Any, Any], str]) -> list[Change]:
    """A rule or an SLO: added or removed as a whole (with its summary), else each changed field."""
    if before is None:
        return [Change(what, key, None, summary(after, new), added_removed[0])]
    if after is None:
        return [Change(what, key, summary(before, old), None, added_removed[1])]
    do, dn = before.model_dump(mode="json"), after.model_dump(mode="json")
    return [Change(what, f"{key}.{f}", do[f], dn[f], field_effect(after, f, do[f], dn[f])) for f in do if do[f] != dn[f]]


def diff_configs(old: ModelConfig, new: ModelConfig) -> list[Change]:
    """What ``new`` alerts on differently from ``old``; empty when they alert identically."""
    a, b = alerting_view(old), alerting_view(new)
    out: list[Change] = []
    for key in _keys(a["check"], b["check"]):
        o, n = a["check"][key], b["check"][key]
        if o != n:
            out.append(Change("check", key, o, n, _severity_effect(o, n)))
    for key in _keys(a["rule"], b["rule"]):
        out.extend(_entries("rule", key, a["rule"].get(key), b["rule"].get(key),
                            lambda r, cfg: rule_summary(r, cfg.alerts), old, new, ("new alert", "no longer alerts"),
                            _rule_field_effect))
    for key in _keys(a["slo"], b["slo"]):
        out.extend(_entries("slo", key, a["slo"].get(key), b["slo"].get(key),
                            lambda s, cfg, name=key[5:-1]: slo_summary(name, s), old, new,
                            ("new SLO: alerts when its error budget burns", "no longer alerts on its error budget"),
                            _slo_field_effect))
    for key in _keys(a["routing"], b["routing"]):
        o, n = a["routing"][key], b["routing"][key]
        if o != n:
            out.append(Change("routing", key, o, n, _routing_effect(o, n)))
    for key in _keys(a["receiver"], b["receiver"]):
        o, n = a["receiver"].get(key), b["receiver"].get(key)
        if o != n:
            out.append(Change("receiver", key, o, n, "new receiver" if o is None else "receiver removed"
                              if n is None else "sends elsewhere"))
    for key in _keys(a["threshold"], b["threshold"]):
        o, n = a["threshold"].get(key), b["threshold"].get(key)
        if o != n:
            out.append(Change("threshold", key, o, n, _threshold_effect(key, o, n)))
    o, n = a["versions"]["versions.expected"], b["versions"]["versions.expected"]
    if o != n:
        out.append(Change("versions", "versions.expected", o, n,
                          "any version may serve" if n is None else "alerts on a version not pinned expected: true"))
    return out


def _keys(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Keys of both, the old order first, then those only the new one has."""
    return [*a, *(k for k in b if k not in a)]


def describe_alerting(cfg: ModelConfig) -> list[str]:
    """What the config will alert on, in a few lines (`argus config validate` prints them)."""
    a = cfg.alerts
    view = alerting_view(cfg)
    receivers = a.all_receivers()
    lines = []
    if receivers:
        lines.append("receivers: " + "; ".join(f"{n} ({receiver_summary(r)})" for n, r in receivers.items()))
    else:
        lines.append("receivers: none: incidents are listed, nobody is notified (set alerts.webhook)")
    lines.append("routes: " + "; ".join(f"{t} -> {show(v)}" for t, v in routing(cfg).items()))
    if a.rules:
        lines.append("rules: " + "; ".join(f"{r.name} ({rule_summary(r, a)})" for r in a.rules))
    if cfg.slos.items():
        lines.append("SLOs: " + "; ".join(f"{n} {slo_summary(n, s)}" for n, s in cfg.slos.items()))
    sev = {c.rsplit(".", 1)[-1]: s for c, s in view["check"].items()}
    by = {t: sorted(c for c, s in sev.items() if s == t) for t in ("P0", "P1", "P2", "off")}
    line = (f"checks: {len(sev) - len(by['off'])} of {len(sev)} alert (P0: {', '.join(by['P0']) or 'none'}; "
            f"{len(by['P1'])} at P1, {len(by['P2'])} at P2)")
    lines.append(line + (f"; off: {', '.join(by['off'])}" if by["off"] else ""))
    lines.append(f"fires after {a.for_windows} bad {format_duration(cfg.window)} windows in a row, resolves after "
                 f"{a.resolve_windows} good ones; alerts within {format_duration(a.group_within)} join one incident")
    return lines

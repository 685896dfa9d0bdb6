"""An Alertmanager config that routes Argus's alerts the way the model configs route incidents.

The tree is by severity tier first (P0 pages fast and repeats often, P2 waits and repeats daily), then by
model: under each tier, a model's alerts go to the receivers its ``alerts.routes`` send that severity to, in
order, ``continue`` as written. Receivers become Alertmanager's own: a webhook (``send_resolved``), a Slack
incoming webhook, e-mail over SMTP. An alert no route claims (a P2 no route asks for, a model not in the
configs) goes to the root's default receiver, which sends nowhere unless a webhook is given for it: the same
"P2 goes to the backlog" as the engine's.

Inhibit rules make the multi-tier SLO alerts and a model's pile-up readable: a P0 of a model silences the
model's P1 and P2 alerts, and a P1 its P2s, while it fires (``equal: [model]``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from argusml.export.metrics import duration
from argusml.schema.alerts import Receiver
from argusml.schema.kinds import Severity
from argusml.schema.model_config import ModelConfig

DEFAULT_RECEIVER = "argus-default"
GROUP_BY = ["alertname", "model"]

TIER_TIMING: dict[str, dict[str, str]] = {
    "P0": {"group_wait": "10s", "group_interval": "1m"},
    "P1": {"group_wait": "30s", "group_interval": "5m"},
    "P2": {"group_wait": "5m", "group_interval": "30m", "repeat_interval": "24h"},
}
"""How soon and how often each tier is told; P0 and P1 repeat every ``alerts.repeat`` of their model."""

SEVERITIES = [s.value for s in Severity]


def receiver_name(model: str, name: str) -> str:
    """Receivers are per model (two models may name different URLs ``oncall``)."""
    return f"{model}/{name}"


def receiver_config(name: str, r: Receiver) -> dict[str, Any]:
    """One Argus receiver as Alertmanager's. An SMTP password is never written here: the engine reads it from
    ``password_env`` at send time, and Alertmanager takes it from ``auth_password`` (or a secret manager);
    ``docs/ECOSYSTEM.md`` says where to put it."""
    if r.webhook is not None:
        return {"name": name, "webhook_configs": [{"url": r.webhook, "send_resolved": True}]}
    if r.slack is not None:
        return {"name": name, "slack_configs": [{
            "api_url": r.slack, "send_resolved": True,
            "title": '[{{ .Status | toUpper }}] {{ .CommonLabels.severity }} {{ .CommonLabels.alertname }} '
                     '({{ .CommonLabels.model }})',
            "text": "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.runbook_url }}\n{{ end }}"}]}
    e = r.email
    assert e is not None  # a Receiver holds exactly one of webhook, slack or email
    cfg: dict[str, Any] = {"to": ", ".join(e.to), "from": e.sender, "smarthost": f"{e.smtp_host}:{e.smtp_port}",
                           "require_tls": e.starttls, "send_resolved": True}
    if e.username:
        cfg["auth_username"] = e.username
    return {"name": name, "email_configs": [cfg]}


def _model_routes(cfg: ModelConfig, severity: Severity) -> list[dict[str, Any]]:
    """The routes of one model and one tier: the model's ``alerts.routes`` (and ``alerts.webhook``'s own) that
    take this severity and whose team/owner condition the model meets, in order."""
    out: list[dict[str, Any]] = []
    for r in cfg.alerts.effective_routes():
        if severity not in r.severity or (r.team is not None and r.team != cfg.team) or (
                r.owner is not None and r.owner != cfg.owner):
            continue
        out.append({"receiver": receiver_name(cfg.model, r.receiver), "matchers": [f'model="{cfg.model}"'],
                    "continue": r.continue_})
        if severity is not Severity.P2:
            out[-1]["repeat_interval"] = duration(cfg.alerts.repeat)
        if not r.continue_:
            break
    # the last of a model's routes must stop the search, or its alerts fall through to the default as well
    if out:
        out[-1]["continue"] = False
    return out


def alertmanager_config(configs: Iterable[ModelConfig], default_webhook: str | None = None) -> dict[str, Any]:
    """The whole ``alertmanager.yml``: receivers, the route tree by tier then model, and the inhibit rules."""
    cfgs = sorted(configs, key=lambda c: c.model)
    default: dict[str, Any] = {"name": DEFAULT_RECEIVER}
    if default_webhook is not None:
        default["webhook_configs"] = [{"url": default_webhook, "send_resolved": True}]
    receivers = [default]
    for cfg in cfgs:
        for name, r in cfg.alerts.all_receivers().items():
            receivers.append(receiver_config(receiver_name(cfg.model, name), r))
    tiers: list[dict[str, Any]] = []
    for sev in Severity:
        routes = [r for cfg in cfgs for r in _model_routes(cfg, sev)]
        tier: dict[str, Any] = {"matchers": [f'severity="{sev.value}"'], "receiver": DEFAULT_RECEIVER,
                                **TIER_TIMING[sev.value]}
        if routes:
            tier["routes"] = routes
        tiers.append(tier)
    inhibit = [{"source_matchers": [f'severity="{src}"'],
                "target_matchers": [f'severity=~"{"|".join(SEVERITIES[i + 1:])}"'],
                "equal": ["model"]}
               for i, src in enumerate(SEVERITIES[:-1])]
    return {
        "route": {"receiver": DEFAULT_RECEIVER, "group_by": GROUP_BY, "group_wait": "30s", "group_interval": "5m",
                  "repeat_interval": "4h", "routes": tiers},
        "receivers": receivers,
        "inhibit_rules": inhibit,
    }

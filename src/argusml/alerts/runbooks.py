"""Runbooks: for every alert Argus raises, what it means, how to confirm it and what to do.

They are Markdown files shipped in the package (``alerts/runbooks/<name>.md``), so an alert links to
a page that exists for every install, offline, and that matches the Argus version which raised the alert.
A team that keeps its own runbooks names them in the model's YAML (``runbooks: {<alert name>: URL}``).

The commands in a runbook use ``$ARGUS_URL`` and ``$MODEL``; the link an alert carries
(``runbook_url``) asks for the runbook with ``?model=``, and the service fills both in, so that the person
who opens it at 3 a.m. can paste the commands as they are.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from typing import get_args
from urllib.parse import quote

from argusml.alerts.postmortem import postmortem
from argusml.schema.alerts import RuleType
from argusml.schema.model_config import MODEL_NAME
from argusml.schema.severity import DEFAULT_SEVERITY

CHECK_RUNBOOKS: tuple[str, ...] = tuple(DEFAULT_SEVERITY)
"""One per check: a finding that alerts is named after its check."""

ENGINE_RUNBOOKS: tuple[str, ...] = (
    "unexpected_version",  # a version not pinned `expected: true` serves traffic
    "serving_errors",  # a burst of non-2xx statuses (fires at once)
    "slo_latency", "slo_error_rate", "slo_freshness", "slo_quality",  # error budgets burning
    "no_events",  # absence: no events at all
    "stale_data",  # absence: the newest event's timestamp is old
    "label_lag",  # absence: labels arrive too late to judge quality
    "notifier_failing",  # a receiver times out or refuses
    "dependency_down",  # a dependency's probes fail (dependencies:)
)
"""Alerts the engine raises itself, beside the checks' findings."""

RULE_TYPES: tuple[str, ...] = get_args(RuleType)
RULE_RUNBOOKS: tuple[str, ...] = tuple(f"rule_{t}" for t in RULE_TYPES)
"""A user's rule is named by the user; its runbook is the generic one of its type."""

RUNBOOKS: tuple[str, ...] = CHECK_RUNBOOKS + ENGINE_RUNBOOKS + RULE_RUNBOOKS
"""Every runbook Argus ships, by name (the file ``alerts/runbooks/<name>.md``)."""

_KNOWN = frozenset(RUNBOOKS)
_URL = re.compile(r"^https?://[^\s/?#]+[^\s?#]*$")


def runbook_name(alert_name: str, rule_type: str | None = None) -> str:
    """The shipped runbook of an alert. A known name maps to itself — a check's finding, the engine's own
    alerts (``unexpected_version``, ``slo_latency``, ...), and a user rule named after one (an absence rule
    called ``no_events`` gets the ``no_events`` runbook). Any other user rule gets the generic runbook of its
    type, ``rule_<type>``. Anything else is a ValueError naming the runbooks, never a link to nowhere.

    >>> runbook_name("drift"), runbook_name("approval_rate_low", "threshold"), runbook_name("slo_latency", "slo")
    ('drift', 'rule_threshold', 'slo_latency')
    """
    if alert_name in _KNOWN:
        return alert_name
    if rule_type in RULE_TYPES:
        return f"rule_{rule_type}"
    if rule_type is None:
        raise ValueError(f"no runbook for alert {alert_name!r}: a user rule's alert needs its rule type "
                         f"({', '.join(RULE_TYPES)}); runbooks: {', '.join(RUNBOOKS)}")
    raise ValueError(f"no runbook for alert {alert_name!r} of rule type {rule_type!r}: rule types with a runbook "
                     f"are {', '.join(RULE_TYPES)}; runbooks: {', '.join(RUNBOOKS)}")


@cache
def _raw(name: str) -> str:
    return files("argusml.alerts").joinpath("runbooks", f"{name}.md").read_text(encoding="utf-8")


def _known(name: str) -> str:
    if name not in _KNOWN:
        raise ValueError(f"no runbook named {name!r}; runbooks: {', '.join(RUNBOOKS)}")
    return name


def runbook_title(name: str) -> str:
    """The runbook's heading (its first line, without the ``#``)."""
    return _raw(_known(name)).split("\n", 1)[0].lstrip("#").strip()


def runbook_text(name: str, *, model: str | None = None, url: str | None = None) -> str:
    """The runbook ``name`` as Markdown, with ``$MODEL`` and ``$ARGUS_URL`` filled in where given.

    An unknown name is a ValueError listing the names (never a KeyError, never a path read: the name is
    checked against ``RUNBOOKS`` before any file is opened). ``model`` must be a model name and ``url`` an
    http(s) URL: both end up in shell commands the reader pastes."""
    text = _raw(_known(name))
    if model is not None and not MODEL_NAME.match(model):
        raise ValueError(f"model {model!r} is not a model name (1-64 letters, digits, '_', '-' or '.')")
    if url is not None and not _URL.match(url):
        raise ValueError(f"url {url!r} is not an http(s) URL")
    title, _, body = text.partition("\n")
    filled = [f"model `{model}`"] * (model is not None) + [f"the service at {url}"] * (url is not None)
    unset = ["`$ARGUS_URL` (the Argus service, e.g. `http://argus:8080`)"] * (url is None) + [
        "`$MODEL` (the model's name)"] * (model is None)
    note = " ".join(
        ([f"Filled in for {' and '.join(filled)}."] if filled else [])
        + ([f"Commands below use {' and '.join(unset)}: export {'both' if len(unset) == 2 else 'it'} first."]
           if unset else [])
        + ["`$INCIDENT` is the incident id the notification carries (label `incident_id`). With tokens on, "
           "`argus` reads `$ARGUS_TOKEN`; give curl `-H \"Authorization: Bearer $ARGUS_TOKEN\"`."])
    note = "> " + note
    if model is not None:
        body = re.sub(r"\$MODEL\b", model, body)
    if url is not None:
        body = re.sub(r"\$ARGUS_URL\b", url.rstrip("/"), body)
    return f"{title}\n\n{note}\n{body}"


def runbook_url(alert_name: str, *, model: str, overrides: dict[str, str], rule_runbook: str | None,
                external_url: str, rule_type: str | None = None) -> str:
    """The link an alert carries. The model's own ``runbooks:`` entry for the alert wins (the team knows its
    model best), then the rule's own ``runbook:``, then the model's entry for the shipped runbook's name
    (``rule_threshold: URL`` covers every threshold rule of the model), then the runbook Argus ships,
    served at ``{external_url}/v1/runbooks/{name}?model={model}`` with the commands filled in."""
    if alert_name in overrides:
        return overrides[alert_name]
    if rule_runbook:
        return rule_runbook
    name = runbook_name(alert_name, rule_type)
    if name in overrides:
        return overrides[name]
    return f"{external_url.rstrip('/')}/v1/runbooks/{name}?model={quote(model, safe='')}"


# postmortem is here too: the engine fills it in from this module when it resolves an incident
__all__ = ["CHECK_RUNBOOKS", "ENGINE_RUNBOOKS", "RULE_RUNBOOKS", "RULE_TYPES", "RUNBOOKS", "postmortem", "runbook_name",
           "runbook_text", "runbook_title", "runbook_url"]

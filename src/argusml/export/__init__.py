"""Argus in the tools a team already runs: Prometheus rules, an Alertmanager config, Grafana dashboards.

Pure functions of the model configs (nothing here opens a socket or a store): `argus export` writes what
they return, and the suite checks it with the real promtool, amtool and Alertmanager (docs/ECOSYSTEM.md).
"""

from __future__ import annotations

from typing import Any

import yaml

from argusml.export.alertmanager import alertmanager_config
from argusml.export.grafana import ExportUnavailable, grafana_dashboards, load_dashboard
from argusml.export.metrics import SERIES
from argusml.export.prometheus import RuleOptions, prometheus_rules


class _Literal(str):
    """A multi-line PromQL expression, written as a YAML block (``|``) so the file reads like the query."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, _literal)


def _blocks(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _blocks(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_blocks(v) for v in obj]
    if isinstance(obj, str) and "\n" in obj:
        return _Literal(obj)
    return obj


def to_yaml(doc: dict[str, Any], header: str = "") -> str:
    """``doc`` as YAML in the order built (keys as a person would write them), multi-line strings as blocks,
    after ``header`` (comment lines saying what wrote the file and how to load it)."""
    body = yaml.dump(_blocks(doc), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
    return header + body


__all__ = ["SERIES", "ExportUnavailable", "RuleOptions", "alertmanager_config", "grafana_dashboards",
           "load_dashboard", "prometheus_rules", "to_yaml"]

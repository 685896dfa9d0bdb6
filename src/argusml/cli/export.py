"""`argus export`: Argus's alerting and dashboards as files for the team's own Prometheus, Alertmanager and
Grafana (docs/ECOSYSTEM.md). The files are written from the model configs alone; no service is asked."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from argusml.cli.remote import fail, write_output

export_app = typer.Typer(no_args_is_help=True, help="Write Prometheus rules, an Alertmanager config or Grafana "
                                                    "dashboards for Argus's metrics.")

ConfigDirOpt = Annotated[Path, typer.Option("--config", help="the model YAMLs (a folder, as `argus serve --config` "
                                                             "reads it, or one file)")]
FileOutOpt = Annotated[str, typer.Option("--output", "-o", help="file to write; '-' for stdout")]
ExternalUrlOpt = Annotated[str, typer.Option(
    "--external-url", envvar="ARGUS_EXTERNAL_URL", help="how people reach Argus: runbook links point there")]
DEFAULT_URL = "http://localhost:8080"


def _configs(path: Path) -> list[Any]:
    """The model configs at ``path`` (templates applied, baselines not read: a CI job that exports needs no
    data), or exit 2 naming every problem."""
    from argusml.cli.main import _model_documents

    if path.exists() and not path.is_dir() and path.suffix not in (".yaml", ".yml"):
        fail(f"--config {path}: not a folder of model YAMLs nor a .yaml file")
    configs = list(_model_documents(path).values())
    if not configs:
        fail(f"--config {path}: no model configs (*.yaml, *.yml) in the folder; write one per model "
             "(docs/ALERTING.md), or point --config at the folder `argus serve --config` reads")
    return configs


def _url(url: str) -> str:
    if not re.match(r"^https?://[^\s/?#]+[^\s?#]*$", url):
        fail(f"--external-url {url!r}: give the http(s) address people open Argus at, e.g. http://argus:8080")
    return url.rstrip("/")


def _header(what: str, load: str) -> str:
    from argusml.version import __version__

    return (f"# {what}, written by `argus export` (argusml {__version__}) from the model configs.\n"
            f"# {load}\n# Regenerate it when the configs change; edits here are overwritten.\n")


@export_app.command("prometheus-rules")
def prometheus_rules_cmd(
    config: ConfigDirOpt,
    output: FileOutOpt = "-",
    external_url: ExternalUrlOpt = DEFAULT_URL,
    interval: Annotated[str, typer.Option("--interval", help="how often Prometheus evaluates the rules")] = "30s",
) -> None:
    """Recording and alerting rules for Argus's metrics: SLO burn rates (multi-window, multi-burn-rate: P0, P1,
    P2), serving errors, drift, stale data, label lag, open incidents, dependencies, the circuit breaker. Load
    the file with `rule_files:` in prometheus.yml; `promtool check rules FILE` accepts it.

    Example: argus export prometheus-rules --config models/ --external-url http://argus:8080 -o /etc/prometheus/argus.rules.yml
    """
    from argusml.export import RuleOptions, prometheus_rules, to_yaml

    if not re.match(r"^[0-9]+(ms|s|m|h)$", interval):
        fail(f"--interval {interval!r}: a Prometheus duration such as 30s or 1m")
    doc = prometheus_rules(_configs(config), RuleOptions(external_url=_url(external_url), interval=interval))
    write_output(output, to_yaml(doc, _header("Prometheus rules for Argus", "Load: rule_files: [THIS FILE] in "
                                              "prometheus.yml, then reload Prometheus (SIGHUP or POST /-/reload).")),
                 "Prometheus rules")


@export_app.command("alertmanager")
def alertmanager_cmd(
    config: ConfigDirOpt,
    output: FileOutOpt = "-",
    default_webhook: Annotated[Optional[str], typer.Option(
        "--default-webhook", help="where alerts no model route claims go (default: nowhere, shown in "
                                  "Alertmanager's UI only)")] = None,
) -> None:
    """An Alertmanager config: a route tree by severity (P0, P1, P2) then model, to the receivers the models'
    `alerts.receivers` and `alerts.routes` name (webhook, Slack, e-mail), grouped by alertname and model, with
    inhibit rules (a P0 of a model silences its P1 and P2, a P1 its P2). `amtool check-config FILE` accepts it.

    Example: argus export alertmanager --config models/ -o /etc/alertmanager/alertmanager.yml
    """
    from argusml.export import alertmanager_config, to_yaml

    if default_webhook is not None:
        _url(default_webhook)
    doc = alertmanager_config(_configs(config), default_webhook=default_webhook)
    header = _header("Alertmanager config for Argus's alerts",
                     "Load: prometheus-alertmanager --config.file=THIS FILE; SMTP passwords are not written "
                     "here (add auth_password to each email_configs entry, or merge into your own config).")
    write_output(output, to_yaml(doc, header), "the Alertmanager config")


@export_app.command("grafana")
def grafana_cmd(
    output: Annotated[Path, typer.Option("--output", "-o", help="folder to write the dashboards' JSON files into")
                      ] = Path("."),
) -> None:
    """Two Grafana dashboards (argus-operational.json, argus-model-health.json) with one row per concern and
    the variables datasource, model and model_version, for any Prometheus that scrapes Argus. Import them in
    Grafana (Dashboards > New > Import) or provision the folder. Needs grafana-foundation-sdk, the `export`
    extra of argusml; without it the command says how to install it.

    Example: argus export grafana -o /var/lib/grafana/dashboards/argus
    """
    from argusml.export import ExportUnavailable, grafana_dashboards

    try:
        boards = grafana_dashboards()
    except ExportUnavailable as exc:
        fail(str(exc))
    if output.exists() and not output.is_dir():
        fail(f"-o {output}: a file is in the way; grafana writes a folder of dashboards")
    for stem, doc in boards.items():
        write_output(str(output / f"argus-{stem}.json"), json.dumps(doc, indent=2) + "\n", f"the {stem} dashboard")

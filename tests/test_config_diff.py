"""`argus config diff` and what `config validate` says a config alerts on: exact outputs for specific changes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from argusml.cli.main import app
from argusml.schema.diff import Change, describe_alerting, diff_configs, mask_url
from argusml.schema.model_config import ModelConfig, load_model_document, model_config_from_dict
from service_util import make_reference

OLD = """model: credit
window: 5m
alerts:
  webhook: https://hooks.example.com/argus?token=s3cret
  rules:
    - {name: p99, type: threshold, metric: latency_p99, above: 1.0}
slos:
  latency: {objective: 0.99, threshold: 1s}
"""


def cfg(text: str) -> ModelConfig:
    import yaml

    return model_config_from_dict(yaml.safe_load(text), "test.yaml")


def lines(old: str, new: str) -> list[str]:
    return [c.line() for c in diff_configs(cfg(old), cfg(new))]


def test_identical_configs_alert_identically_whatever_their_spelling():
    same = OLD.replace("window: 5m", "window: 300") + "alerts_unused: 0\n"
    assert diff_configs(cfg(OLD), cfg(same.replace("alerts_unused: 0\n", ""))) == []
    # defaults written out change nothing
    assert lines(OLD, OLD + "checks:\n  drift: {alpha: 0.05}\n") == []


def test_a_lower_threshold_fires_earlier_and_a_severity_up_pages_more():
    new = OLD.replace("above: 1.0}", "above: 0.8, severity: P0}")
    assert lines(OLD, new) == ["rules[p99]: severity P1 → P0 (pages more)",
                               "rules[p99]: above 1 → 0.8 (fires earlier)"]
    assert [c.to_dict() for c in diff_configs(cfg(OLD), cfg(new))][1] == {
        "what": "rule", "key": "rules[p99].above", "old": 1.0, "new": 0.8, "effect": "fires earlier"}


def test_for_windows_down_fires_sooner_and_checks_turned_off_or_up():
    new = OLD.replace("alerts:\n", "alerts:\n  for_windows: 1\n  checks: {drift: P0, extra_column: off}\n")
    assert lines(OLD, new) == ["alerts.checks.extra_column: P2 → off (stops alerting)",
                               "alerts.checks.drift: P1 → P0 (pages more)",
                               "alerts.for_windows: 3 → 1 (fires sooner)"]


def test_rules_and_slos_added_and_removed():
    new = OLD.replace("  rules:\n    - {name: p99, type: threshold, metric: latency_p99, above: 1.0}\n",
                      "  rules:\n    - {name: quiet, type: absence, after: 15m, severity: P0}\n")
    new = new.replace("  latency: {objective: 0.99, threshold: 1s}\n", "  error_rate: {objective: 0.995}\n")
    assert lines(OLD, new) == [
        "rules[p99]: removed: threshold latency_p99 above 1, P1, after 3 windows (no longer alerts)",
        "rules[quiet]: added: absence silence over 15m, P0, at once (new alert)",
        "slos[latency]: removed: 99% of requests under 1s (no longer alerts on its error budget)",
        "slos[error_rate]: added: 99.5% of requests without errors (new SLO: alerts when its error budget burns)"]


def test_routing_per_tier_and_receivers_with_masked_urls():
    new = OLD.replace("alerts:\n", "alerts:\n  receivers:\n    pager: {slack: 'https://hooks.slack.com/s?key=abc'}\n"
                                   "  routes:\n    - {receiver: pager, severity: [P0], continue: true}\n"
                                   "    - {receiver: pager, severity: [P2]}\n")
    assert lines(OLD, new) == [
        "routing[P0]: default → pager, default (now also to pager)",
        "routing[P2]: nobody (incident list only) → pager (now notified)",
        "receivers[pager]: added: slack https://hooks.slack.com/s?key=*** (new receiver)"]
    gone = OLD.replace("  webhook: https://hooks.example.com/argus?token=s3cret\n", "")
    assert lines(OLD, gone) == [
        "routing[P0]: default → nobody (incident list only) (no longer notified (incident list only))",
        "routing[P1]: default → nobody (incident list only) (no longer notified (incident list only))",
        "receivers[default]: removed: webhook https://hooks.example.com/argus?token=*** (receiver removed)"]
    assert mask_url("https://u:pw@h.example.com/p?a=1&b=2#frag") == "https://u:***@h.example.com/p?a=***&b=***"


def test_thresholds_that_change_what_fires():
    new = OLD + ("checks:\n  drift: {alpha: 0.01, thresholds: {psi: 0.1}}\n  columns:\n    income:\n"
                 "      thresholds: {ks: 0.05}\n")
    new = new.replace("window: 5m", "window: 15m").replace("alerts:\n", "alerts:\n  group_within: 2h\n")
    assert lines(OLD, new) == [
        "checks.drift.alpha: 0.05 → 0.01 (flags less drift)",
        "checks.drift.thresholds.psi: 0.2 → 0.1 (flags more drift)",
        "window: 5m → 15m (judges over longer windows: alerts later, on more rows)",
        "alerts.group_within: 1h → 2h (groups more alerts into one incident)",
        "checks.columns.income.thresholds.ks: added: 0.05 (adds this measure to the drift decision)"]


def test_expected_versions_are_an_alerting_change():
    assert lines(OLD, OLD + "versions:\n  v3: {expected: true}\n") == [
        "versions.expected: added: v3 (alerts on a version not pinned expected: true)"]


def test_describe_alerting_says_what_fires_where():
    new = OLD.replace("alerts:\n", "alerts:\n  checks: {extra_column: off}\n")
    assert describe_alerting(cfg(new)) == [
        "receivers: default (webhook https://hooks.example.com/argus?token=***)",
        "routes: P0 -> default; P1 -> default; P2 -> nobody (incident list only)",
        "rules: p99 (threshold latency_p99 above 1, P1, after 3 windows)",
        "SLOs: latency 99% of requests under 1s",
        "checks: 26 of 27 alert (P0: all_null, missing_column; 13 at P1, 11 at P2); off: extra_column",
        "fires after 3 bad 5m windows in a row, resolves after 2 good ones; alerts within 1h join one incident"]
    assert describe_alerting(cfg("model: m\n"))[0] == ("receivers: none: incidents are listed, nobody is notified "
                                                       "(set alerts.webhook)")


def write(d: Path, name: str, text: str) -> Path:
    p = d / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def test_cli_diff_files_text_json_and_exit_codes(tmp_path: Path):
    old = write(tmp_path / "old", "credit.yaml", OLD)
    new = write(tmp_path / "new", "credit.yaml", OLD.replace("above: 1.0}", "above: 0.8}"))
    r = CliRunner().invoke(app, ["config", "diff", str(old), str(new)])
    assert r.exit_code == 1, r.output
    assert r.stdout.splitlines() == ["model 'credit': 1 change(s) in what alerts",
                                     "  rules[p99]: above 1 → 0.8 (fires earlier)"]
    r = CliRunner().invoke(app, ["config", "diff", str(old), str(new), "--json"])
    assert r.exit_code == 1 and json.loads(r.stdout) == [
        {"model": "credit", "what": "rule", "key": "rules[p99].above", "old": 1.0, "new": 0.8,
         "effect": "fires earlier"}]
    r = CliRunner().invoke(app, ["config", "diff", str(old), str(old)])
    assert r.exit_code == 0 and r.stdout == f"{old} -> {old}: no change in what alerts\n"
    bad = write(tmp_path / "new", "bad.yaml", "model: credit\nalerts:\n  rules:\n"
                                              "    - {name: x, type: threshold, metric: latncy_p99, above: 1}\n")
    r = CliRunner().invoke(app, ["config", "diff", str(old), str(bad)])
    assert r.exit_code == 2 and r.stderr.startswith(
        f"argus: error: {bad}: alerts.rules[0].metric: unknown metric 'latncy_p99'; did you mean 'latency_p99'?")


def test_cli_diff_folders_pairs_by_model_and_applies_templates(tmp_path: Path):
    old, new = tmp_path / "old", tmp_path / "new"
    for d, above in ((old, "1.0"), (new, "0.5")):
        write(d, "templates/team.yaml", "alerts:\n  webhook: https://h.example.com/\n  rules:\n"
                                        f"    - {{name: p99, type: threshold, metric: latency_p99, above: {above}}}\n")
        write(d, "a.yaml", "model: a\nextends: team\n")
    write(old, "gone.yaml", "model: gone\n")
    write(new, "b-renamed.yaml", "model: fresh\n")
    write(new, "tokens.yaml", "tokens: []\n")
    r = CliRunner().invoke(app, ["config", "diff", str(old), str(new), "--json"])
    assert r.exit_code == 1, r.output
    assert [(c["model"], c["key"], c["old"], c["new"], c["effect"]) for c in json.loads(r.stdout)] == [
        ("a", "rules[p99].above", 1.0, 0.5, "fires earlier"),
        ("gone", "gone", "monitored", None, "no longer monitored"),
        ("fresh", "fresh", None, "monitored", "new model: starts alerting")]
    r = CliRunner().invoke(app, ["config", "diff", str(old), str(new / "a.yaml")])
    assert r.exit_code == 2 and "compare a file with a file, or a folder with a folder" in r.stderr


def test_validate_prints_what_the_config_alerts_on(tmp_path: Path):
    make_reference(300).save(tmp_path / "base.json")
    m = write(tmp_path, "credit.yaml", OLD + "reference: base.json\n")
    r = CliRunner().invoke(app, ["config", "validate", str(m)])
    assert r.exit_code == 0, r.output
    out = r.stdout.splitlines()
    assert out[0].startswith(f"{m}: valid model config: model 'credit' (baseline of 300 rows")
    assert out[1:] == [f"  {line}" for line in describe_alerting(load_model_document(m))]
    assert out[3] == "  rules: p99 (threshold latency_p99 above 1, P1, after 3 windows)"


def test_change_line_formats_durations_and_missing_values():
    assert Change("threshold", "alerts.repeat", 14400.0, 3600.0, "x").line() == "alerts.repeat: 4h → 1h (x)"
    assert Change("rule", "rules[q].after", 900.0, 300.0, "fires sooner").line() == \
        "rules[q]: after 15m → 5m (fires sooner)"

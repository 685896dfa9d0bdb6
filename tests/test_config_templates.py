"""Model YAML templates (``extends:``) and the errors `argus config validate` explains: exact messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argusml.schema import ConfigError
from argusml.schema.model_config import load_model_config, load_model_document
from argusml.schema.templates import load_with_templates, merge
from argusml.service.server import config_files, load_config_dir
from service_util import make_reference


def write(d: Path, name: str, text: str) -> Path:
    p = d / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as exc:
        load_model_document(path)
    return str(exc.value)


def test_merge_is_deep_replaces_lists_and_null_removes():
    base = {"a": 1, "m": {"x": 1, "y": {"p": 1, "q": 2}}, "l": [1, 2], "gone": 5}
    over = {"m": {"y": {"q": 3}, "z": 4}, "l": [9], "gone": None, "new": None}
    out = merge(base, over)
    assert out == {"a": 1, "m": {"x": 1, "y": {"p": 1, "q": 3}, "z": 4}, "l": [9], "new": None}
    assert base == {"a": 1, "m": {"x": 1, "y": {"p": 1, "q": 2}}, "l": [1, 2], "gone": 5}  # unchanged


scalars = st.integers() | st.text(max_size=2) | st.lists(st.integers(), max_size=2)
docs = st.recursive(scalars, lambda inner: st.dictionaries(st.sampled_from("abc"), inner, min_size=1, max_size=3),
                    max_leaves=8).filter(lambda d: isinstance(d, dict))


def leaves(d: dict, prefix: tuple = ()) -> dict[tuple, object]:
    out: dict[tuple, object] = {}
    for k, v in d.items():
        if isinstance(v, dict):  # an empty mapping holds no leaf (and merges as a no-op)
            out.update(leaves(v, (*prefix, k)))
        else:
            out[(*prefix, k)] = v
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs, docs)
def test_merge_keeps_every_leaf_of_the_later_document_and_the_unshadowed_ones_of_the_earlier(base, over):
    out = leaves(merge(base, over))
    top = leaves(over)
    assert {k: out.get(k) for k in top} == top
    for k, v in leaves(base).items():
        # shadowed when the later document set this path, a prefix of it (a value replacing the mapping) or
        # a path below it (a mapping replacing a value)
        if not any(k[:i] in top for i in range(1, len(k) + 1)) and not any(t[:len(k)] == k for t in top):
            assert out[k] == v
    assert merge(base, base) == base and merge(base, {}) == base and merge({}, base) == base


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "models"
    d.mkdir()
    make_reference(300).save(d / "base.json")
    return d


def test_template_applies_under_the_model_and_templates_chain(folder: Path):
    write(folder, "templates/base.yaml", "owner: ops\nalerts:\n  for_windows: 5\n  resolve_windows: 4\n")
    write(folder, "templates/team-risk.yaml",
          "extends: base\nteam: risk\nwindow: 15m\nalerts:\n  webhook: https://hooks.example.com/risk\n"
          "  for_windows: 2\n  rules:\n    - {name: p99, type: threshold, metric: latency_p99, above: 1.0}\n")
    m = write(folder, "credit.yaml", "model: credit\nextends: team-risk\nreference: base.json\nowner: null\n"
                                     "alerts:\n  rules: []\n")
    cfg, ref = load_model_config(m)
    assert (cfg.team, cfg.window, cfg.owner) == ("risk", 900.0, None)
    assert (cfg.alerts.for_windows, cfg.alerts.resolve_windows) == (2, 4)  # team-risk over base, base kept
    assert cfg.alerts.webhook == "https://hooks.example.com/risk"
    assert cfg.alerts.rules == []  # a list is replaced, not appended to
    assert ref == (folder / "base.json").resolve()
    # a list of templates, applied left to right
    write(folder, "templates/slow.yaml", "window: 1h\n")
    m2 = write(folder, "fraud.yaml", "model: fraud\nextends: [team-risk, slow]\nreference: base.json\n")
    assert load_model_document(m2).window == 3600.0
    assert load_with_templates(m2).data["window"] == "1h"


def test_template_relative_paths_resolve_against_the_template(folder: Path, tmp_path: Path):
    shared = tmp_path / "shared"
    shared.mkdir()
    make_reference(200).save(shared / "team.json")
    make_reference(100).save(shared / "v2.json")
    write(folder, "templates/t.yaml", "reference: ../../shared/team.json\n"
                                      "versions:\n  v2: {reference: ../../shared/v2.json, expected: true}\n")
    m = write(folder, "m.yaml", "model: m\nextends: t\n")
    cfg, ref = load_model_config(m)
    assert ref == (shared / "team.json").resolve()
    assert cfg.versions["v2"].reference == str((shared / "v2.json").resolve()) and cfg.versions["v2"].expected
    models, _ = load_config_dir(folder)
    assert [(c.model, r.n_rows) for c, r in models] == [("m", 200)]


def test_templates_folder_is_never_loaded_as_models(folder: Path):
    write(folder, "templates/team.yaml", "window: 15m\n")
    write(folder, "a.yaml", "model: a\nextends: team\nreference: base.json\n")
    assert config_files(folder) == [folder / "a.yaml"]
    models, _ = load_config_dir(folder)
    assert [c.model for c, _ in models] == ["a"]


def test_unknown_metric_in_a_template_names_the_template(folder: Path):
    write(folder, "templates/team-risk.yaml",
          "alerts:\n  rules:\n    - {name: p99, type: threshold, metric: latency_p9, above: 1.0}\n")
    m = write(folder, "credit.yaml", "model: credit\nextends: team-risk\n")
    assert error_of(m) == (
        f"{m} (from templates/team-risk.yaml): alerts.rules[0].metric: unknown metric 'latency_p9'; did you mean "
        "'latency_p99'? (metrics: rows, error_rate, latency_p50, latency_p99, prediction_mean, class_ratio.<class>, "
        "drift_score.<feature>, missing_ratio.<feature>, findings.<check>, performance.<metric>, label_lag, "
        "freshness, silence, fallback_ratio, cost_per_prediction, cost_per_day, tenant_cost_per_day, tokens_per_day, "
        "stage_latency_p50.<stage>, stage_latency_p99.<stage>)")


def test_unknown_keys_name_the_nearest_key_and_the_file_that_set_them(folder: Path):
    write(folder, "templates/t.yaml", "alerts: {for_windowz: 3}\n")
    m = write(folder, "m.yaml", "model: m\nextends: t\nchecks: {drift: {alpah: 0.1}}\n")
    assert error_of(m).splitlines() == [
        f"{m}: checks.drift.alpah: unknown key; did you mean 'alpha'?",
        f"{m} (from templates/t.yaml): alerts.for_windowz: unknown key; did you mean 'for_windows'?"]


def test_route_to_a_missing_receiver(folder: Path):
    m = write(folder, "m.yaml", "model: m\nalerts:\n  routes:\n    - {receiver: pager, severity: [P0]}\n")
    assert error_of(m) == (f"{m}: alerts.routes[0].receiver: no receiver named 'pager' (define it under "
                           "alerts.receivers, or set alerts.webhook)")
    m = write(folder, "m.yaml", "model: m\nalerts:\n  webhook: https://h.example.com/\n"
                                "  routes:\n    - {receiver: defualt}\n")
    assert error_of(m) == (f"{m}: alerts.routes[0].receiver: no receiver named 'defualt'; did you mean 'default'? "
                           "(receivers: default)")


def test_unknown_check_under_alerts_checks_and_off_unquoted(folder: Path):
    m = write(folder, "m.yaml", "model: m\nalerts:\n  checks: {drfit: P0}\n")
    assert error_of(m) == f"{m}: alerts.checks.drfit: unknown check; did you mean 'drift'?"
    m = write(folder, "m.yaml", "model: m\nalerts:\n  checks: {drift: P5}\n")
    assert error_of(m) == f"{m}: alerts.checks.drift: Input should be 'P0', 'P1' or 'P2', or 'off'"
    m = write(folder, "m.yaml", "model: m\nalerts:\n  checks: {drift: off}\n")  # YAML reads a bare off as false
    assert load_model_document(m).alerts.checks == {"drift": "off"}


def test_invalid_yaml_gives_line_and_column(folder: Path):
    m = write(folder, "m.yaml", "model: m\nalerts:\n  webhook: x: y\n")
    assert error_of(m) == f"{m}: line 3, column 13: not valid YAML: mapping values are not allowed here"


def test_missing_template_lists_the_templates(folder: Path):
    m = write(folder, "m.yaml", "model: m\nextends: team-rsk\n")
    assert error_of(m) == (f"{m}: extends: no template 'team-rsk' ({folder}/templates/team-rsk.yaml does not exist) "
                           f"(there is no {folder}/templates folder)")
    write(folder, "templates/team-risk.yaml", "window: 15m\n")
    write(folder, "templates/team-fraud.yaml", "window: 15m\n")
    assert error_of(m) == (f"{m}: extends: no template 'team-rsk' ({folder}/templates/team-rsk.yaml does not exist); "
                           "did you mean 'team-risk'? (templates: team-fraud, team-risk)")


def test_cycle_names_the_chain(folder: Path):
    write(folder, "templates/a.yaml", "extends: b\n")
    b = write(folder, "templates/b.yaml", "extends: [c]\n")
    write(folder, "templates/c.yaml", "extends: a\n")
    m = write(folder, "m.yaml", "model: m\nextends: a\n")
    assert error_of(m) == f"{folder}/templates/c.yaml: extends: templates form a cycle: a -> b -> c -> a"
    assert b.exists()


def test_template_may_not_name_a_model(folder: Path):
    t = write(folder, "templates/t.yaml", "model: x\n")
    m = write(folder, "m.yaml", "model: m\nextends: t\n")
    assert error_of(m) == (f"{t}: model: a template holds keys shared by models, not a model name; put 'model:' in "
                           "each model's own YAML")


def test_extends_over_http_is_refused_with_the_reason():
    from argusml.schema.model_config import model_config_from_dict

    with pytest.raises(ConfigError) as exc:
        model_config_from_dict({"model": "m", "extends": "team"}, "config")
    assert str(exc.value) == ("config: extends: templates are read beside model YAMLs in a config folder "
                              "(`argus serve --config DIR`); send the merged config instead")


def test_validate_folder_reports_every_file_in_one_run(folder: Path):
    write(folder, "templates/t.yaml", "alerts: {for_windowz: 3}\n")
    a = write(folder, "a.yaml", "model: a\nextends: t\nreference: base.json\n")
    b = write(folder, "b.yaml", "model: b\nextends: nope\nreference: base.json\n")
    c = write(folder, "c.yaml", "model: c\nreference: base.json\n")
    with pytest.raises(ConfigError) as exc:
        load_config_dir(folder)
    lines = str(exc.value).splitlines()
    assert lines == [f"{a} (from templates/t.yaml): alerts.for_windowz: unknown key; did you mean 'for_windows'?",
                     f"{b}: extends: no template 'nope' ({folder}/templates/nope.yaml does not exist) "
                     "(templates: t)"]
    assert c.exists()

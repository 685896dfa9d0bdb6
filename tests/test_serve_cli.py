"""`argus serve`, `argus config validate` on model configs, `argus token create`: exit codes and messages."""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from service_util import concurrently, make_reference

pytestmark = pytest.mark.slow

ARGUS = [sys.executable, "-m", "argusml.cli.main"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*ARGUS, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "ARGUS_NO_PROGRESS": "1"})


def test_config_validate_model_config(tmp_path: Path):
    make_reference(500).save(tmp_path / "base.json")
    good = tmp_path / "m.yaml"
    good.write_text("model: credit\nreference: base.json\nwindow: 15m\nsegments: [cat]\n"
                    "privacy:\n  drop: [features.x1]\nchecks:\n  drift:\n    alpha: 0.01\n")
    typo = tmp_path / "typo.yaml"
    typo.write_text("model: credit\nreference: base.json\nwindw: 15m\nchecks:\n  drift:\n    alpah: 0.01\n")
    missing = tmp_path / "missing.yaml"
    missing.write_text("model: credit\nreference: nope.json\n")
    bad_window = tmp_path / "w.yaml"
    bad_window.write_text("model: credit\nwindow: 7m\n")
    misfit = tmp_path / "misfit.yaml"  # a numeric bound on a categorical column: `argus serve` would refuse it
    misfit.write_text("model: credit\nreference: base.json\nchecks:\n  columns:\n    cat: {min: 0}\n")
    bad_dur = tmp_path / "d.yaml"
    bad_dur.write_text("model: credit\nlateness: soon\n")
    answers = iter(concurrently(run, *(("config", "validate", str(f))
                                       for f in (good, typo, missing, bad_window, misfit, bad_dur))))
    r = next(answers)
    assert r.returncode == 0 and "valid model config" in r.stdout
    r = next(answers)
    assert r.returncode == 2
    assert "windw: unknown key; did you mean 'window'?" in r.stderr
    assert "checks.drift.alpah: unknown key; did you mean 'alpha'?" in r.stderr
    assert "Traceback" not in r.stderr
    r = next(answers)
    assert r.returncode == 2 and "baseline file not found" in r.stderr
    r = next(answers)
    assert r.returncode == 2 and "must divide a day evenly" in r.stderr
    r = next(answers)
    assert r.returncode == 2 and "columns.cat.min" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = next(answers)
    assert r.returncode == 2 and "lateness" in r.stderr and "30s, 5m" in r.stderr


def test_token_create_prints_token_once_and_its_hash(tmp_path: Path):
    r = run("token", "create", "model-server", "--scope", "write", "--scope", "read", "--model", "credit")
    assert r.returncode == 0
    token = r.stderr.strip().splitlines()[-1]
    assert token.startswith("argus_") and len(token) > 40 and token not in r.stdout
    entry = yaml.safe_load(r.stdout)[0]
    assert entry == {"name": "model-server", "sha256": hashlib.sha256(token.encode()).hexdigest(),
                     "scopes": ["read", "write"], "models": ["credit"]}
    (tmp_path / "tokens.yaml").write_text(r.stdout)
    r = run("config", "validate", str(tmp_path / "tokens.yaml"))
    assert r.returncode == 0 and "valid tokens file: 1 token(s)" in r.stdout, r.stderr
    assert run("token", "create", "x", "--scope", "admin").returncode == 2


def test_serve_refuses_bad_config_dir_with_one_line(tmp_path: Path):
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "m.yaml").write_text("model: m\n")
    r, r_cfg = concurrently(run, ("serve", "--config", str(tmp_path / "nope"), "--data", str(tmp_path / "d")),
                            ("serve", "--config", str(tmp_path / "cfg"), "--data", str(tmp_path / "d")))
    assert r.returncode == 2 and "must be a directory" in r.stderr and "Traceback" not in r.stderr
    r = r_cfg
    assert r.returncode == 2 and "reference: required" in r.stderr


def token_create_appended(tokens_file: Path, *args: str) -> str:
    """`argus token create ARGS >> TOKENS_FILE` through a shell, as the CLI's help shows it; the token."""
    cmd = " ".join(shlex.quote(a) for a in [*ARGUS, "token", "create", *args]) + f" >> {shlex.quote(str(tokens_file))}"
    r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stderr.strip().splitlines()[-1]


def test_token_create_appended_to_any_tokens_file_loads(tmp_path: Path):
    """What `token create` prints, appended with `>>` any number of times to an empty file, a bare list or a
    `tokens:` mapping (indented or not, last line without a newline), is what serve's token loader reads."""
    from argusml.schema.model_config import load_auth_config

    hand_written = {
        "empty": "",
        "mapping": "tokens:\n  - name: ops\n    sha256: " + "a" * 64 + "\n    scopes: [read]\n",
        "mapping-flush": "tokens:\n- name: ops\n  sha256: " + "a" * 64 + "\n  scopes: [read]",
        "list": "- name: ops\n  sha256: " + "a" * 64 + "\n  scopes: [read]\n",
    }
    def appended_twice(case: str, text: str) -> tuple[Path, str, str]:  # one file per case: the cases run side by side
        f = tmp_path / f"{case}.yaml"
        f.write_text(text)
        return (f, token_create_appended(f, "ingest", "--scope", "write"),
                token_create_appended(f, "dashboard", "--scope", "read", "--model", "credit"))

    appended = concurrently(appended_twice, *hand_written.items())
    answers = concurrently(run, *(("config", "validate", str(f)) for f, _, _ in appended))
    for case, (f, first, second), r in zip(hand_written, appended, answers):
        tokens = load_auth_config(f).tokens
        before = [] if case == "empty" else [("ops", "a" * 64, ["read"], None)]
        assert [(t.name, t.sha256, t.scopes, t.models) for t in tokens] == [
            *before, ("ingest", hashlib.sha256(first.encode()).hexdigest(), ["write"], None),
            ("dashboard", hashlib.sha256(second.encode()).hexdigest(), ["read"], ["credit"])], case
        assert r.returncode == 0 and f"valid tokens file: {len(tokens)} token(s)" in r.stdout, (case, r.stderr)


def test_tokens_file_errors_name_the_file_and_the_token(tmp_path: Path):
    f = tmp_path / "tokens.yaml"
    token_create_appended(f, "ingest", "--scope", "write")
    with f.open("a") as out:
        out.write("---\n- name: broken\n  sha256: xyz\n  scopes: [admin]\n")
    r = run("config", "validate", str(f))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 2, r.stderr
    assert lines[0].startswith(f"argus: error: {f}: token 2 ('broken'): sha256: String should match pattern")
    assert lines[1].startswith(f"argus: error: {f}: token 2 ('broken'): scopes[0]: Input should be 'read' or 'write'")


def test_config_without_reference_gets_the_same_message_from_validate_and_serve(tmp_path: Path):
    cfg = tmp_path / "models"
    cfg.mkdir()
    (cfg / "m.yaml").write_text("model: m\nwindow: 5m\n")
    expected = f"argus: error: {cfg / 'm.yaml'}: reference: required (the baseline file written by `argus baseline`)"
    calls = (("config", "validate", str(cfg / "m.yaml")), ("config", "validate", str(cfg)),
             ("serve", "--config", str(cfg), "--data", str(tmp_path / "data"), "--port", "1"))
    for args, r in zip(calls, concurrently(run, *calls)):
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert [line for line in r.stderr.splitlines() if line.startswith("argus:")] == [expected], (args, r.stderr)


def test_config_validate_folder_lists_its_models_and_tokens(tmp_path: Path):
    cfg = tmp_path / "models"
    cfg.mkdir()
    ref = make_reference(500)
    ref.save(cfg / "base.json")
    (cfg / "credit.yaml").write_text("model: credit\nreference: base.json\nwindow: 15m\nsegments: [cat]\n")
    (cfg / "fraud.yml").write_text("model: fraud\nreference: base.json\nchecks:\n  columns:\n    x0: {min: -10}\n")
    token_create_appended(cfg / "tokens.yaml", "ingest", "--scope", "write")
    token_create_appended(cfg / "tokens.yaml", "dashboard", "--scope", "read")
    r = run("config", "validate", str(cfg))
    assert r.returncode == 0, r.stderr
    from argusml.schema.diff import describe_alerting
    from argusml.schema.model_config import load_model_document

    alerting = {m: [f"  {line}" for line in describe_alerting(load_model_document(cfg / f))]
                for m, f in (("credit", "credit.yaml"), ("fraud", "fraud.yml"))}
    assert alerting["credit"][-1] == ("  fires after 3 bad 15m windows in a row, resolves after 2 good ones; alerts "
                                      "within 1h join one incident")
    assert r.stdout.splitlines() == [
        f"{cfg}: model 'credit': valid (baseline of 500 rows, {len(ref.specs)} columns)", *alerting["credit"],
        f"{cfg}: model 'fraud': valid (baseline of 500 rows, {len(ref.specs)} columns)", *alerting["fraud"],
        f"{cfg}: valid config folder: 2 model(s), 2 token(s), auth on"]


def test_config_validate_folder_names_each_bad_file(tmp_path: Path):
    """Every problem of the folder, one line each, naming its file and key path; the good file is not blamed.
    `argus serve` on the same folder refuses to start with the same lines."""
    cfg = tmp_path / "models"
    cfg.mkdir()
    make_reference(500).save(cfg / "base.json")
    (cfg / "a_good.yaml").write_text("model: good\nreference: base.json\n")
    (cfg / "b_misfit.yaml").write_text("model: misfit\nreference: base.json\nchecks:\n  columns:\n    cat: {min: 0}\n")
    (cfg / "c_typo.yaml").write_text("model: typo\nreference: base.json\nwindw: 5m\n")
    (cfg / "d_again.yaml").write_text("model: good\nreference: base.json\n")
    r, served = concurrently(run, ("config", "validate", str(cfg)),
                             ("serve", "--config", str(cfg), "--data", str(tmp_path / "data"), "--port", "1"))
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 3, r.stderr
    assert lines[0].startswith(f"argus: error: {cfg / 'b_misfit.yaml'}: model 'misfit': checks: columns.cat.min:")
    assert lines[1] == f"argus: error: {cfg / 'c_typo.yaml'}: windw: unknown key; did you mean 'window'?"
    assert lines[2] == (f"argus: error: {cfg / 'd_again.yaml'}: model: 'good' is already defined in "
                        f"{cfg / 'a_good.yaml'}")
    assert served.returncode == 2
    assert [line for line in served.stderr.splitlines() if line.startswith("argus:")] == lines


def test_config_validate_refuses_a_path_that_is_not_there(tmp_path: Path):
    r = run("config", "validate", str(tmp_path / "nope"))
    assert r.returncode == 2 and r.stderr.strip() == f"argus: error: {tmp_path / 'nope'}: no such file or folder"

"""`argus serve`, `argus config validate` on model configs, `argus token create`: exit codes and messages."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import yaml

from service_util import make_reference

ARGUS = [sys.executable, "-m", "argusml.cli.main"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*ARGUS, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "ARGUS_NO_PROGRESS": "1"})


def test_config_validate_model_config(tmp_path: Path):
    make_reference(500).save(tmp_path / "base.json")
    good = tmp_path / "m.yaml"
    good.write_text("model: credit\nreference: base.json\nwindow: 15m\nsegments: [cat]\n"
                    "privacy:\n  drop: [features.x1]\nchecks:\n  drift:\n    alpha: 0.01\n")
    r = run("config", "validate", str(good))
    assert r.returncode == 0 and "valid model config" in r.stdout
    typo = tmp_path / "typo.yaml"
    typo.write_text("model: credit\nreference: base.json\nwindw: 15m\nchecks:\n  drift:\n    alpah: 0.01\n")
    r = run("config", "validate", str(typo))
    assert r.returncode == 2
    assert "windw: unknown key; did you mean 'window'?" in r.stderr
    assert "checks.drift.alpah: unknown key; did you mean 'alpha'?" in r.stderr
    assert "Traceback" not in r.stderr
    missing = tmp_path / "missing.yaml"
    missing.write_text("model: credit\nreference: nope.json\n")
    r = run("config", "validate", str(missing))
    assert r.returncode == 2 and "baseline file not found" in r.stderr
    bad_window = tmp_path / "w.yaml"
    bad_window.write_text("model: credit\nwindow: 7m\n")
    r = run("config", "validate", str(bad_window))
    assert r.returncode == 2 and "must divide a day evenly" in r.stderr
    misfit = tmp_path / "misfit.yaml"  # a numeric bound on a categorical column: `argus serve` would refuse it
    misfit.write_text("model: credit\nreference: base.json\nchecks:\n  columns:\n    cat: {min: 0}\n")
    r = run("config", "validate", str(misfit))
    assert r.returncode == 2 and "columns.cat.min" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    bad_dur = tmp_path / "d.yaml"
    bad_dur.write_text("model: credit\nlateness: soon\n")
    r = run("config", "validate", str(bad_dur))
    assert r.returncode == 2 and "lateness" in r.stderr and "30s, 5m" in r.stderr


def test_token_create_prints_token_once_and_its_hash(tmp_path: Path):
    r = run("token", "create", "model-server", "--scope", "write", "--scope", "read", "--model", "credit")
    assert r.returncode == 0
    token = r.stderr.strip().splitlines()[-1]
    assert token.startswith("argus_") and len(token) > 40 and token not in r.stdout
    entry = yaml.safe_load("tokens:\n" + r.stdout)["tokens"][0]
    assert entry == {"name": "model-server", "sha256": hashlib.sha256(token.encode()).hexdigest(),
                     "scopes": ["read", "write"], "models": ["credit"]}
    (tmp_path / "tokens.yaml").write_text("tokens:\n" + r.stdout)
    assert run("config", "validate", str(tmp_path / "tokens.yaml")).returncode == 0
    assert run("token", "create", "x", "--scope", "admin").returncode == 2


def test_serve_refuses_bad_config_dir_with_one_line(tmp_path: Path):
    r = run("serve", "--config", str(tmp_path / "nope"), "--data", str(tmp_path / "d"))
    assert r.returncode == 2 and "must be a directory" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "m.yaml").write_text("model: m\n")
    r = run("serve", "--config", str(tmp_path / "cfg"), "--data", str(tmp_path / "d"))
    assert r.returncode == 2 and "reference: required" in r.stderr

"""The `argus` command: exit codes, files written, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from service_util import concurrently

pytestmark = pytest.mark.slow

ARGUS = [sys.executable, "-m", "argusml.cli.main"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARGUS_NO_PROGRESS": "1"}
    return subprocess.run([*ARGUS, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    n = 5000

    def frame(shift: float, seed: int) -> pd.DataFrame:
        r = np.random.default_rng(seed)
        return pd.DataFrame({"x": r.normal(shift, 1, n), "c": r.choice(["a", "b", "c"], n), "score": r.random(n),
                             "label": r.integers(0, 2, n)})

    ref, same, shifted = frame(0, 1), frame(0, 2), frame(0.5, 3)
    paths = {"ref": d / "ref.parquet", "same": d / "same.csv", "shifted": d / "shifted.parquet"}
    ref.to_parquet(paths["ref"])
    same.to_csv(paths["same"], index=False)
    shifted.to_parquet(paths["shifted"])
    (d / "empty.csv").write_text("x,c,score,label\n")
    (d / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    (d / "data.xlsx").write_bytes(b"whatever")
    paths.update(empty=d / "empty.csv", broken=d / "broken.parquet", xlsx=d / "data.xlsx", dir=d)
    del rng
    return paths


def test_report_json_and_html(files, tmp_path) -> None:
    out = tmp_path / "r.json"
    html = tmp_path / "r.html"
    p, p_html = concurrently(
        run, ("report", "-r", str(files["ref"]), "-c", str(files["shifted"]), "--prediction", "score", "-o", str(out)),
        ("report", "-r", str(files["ref"]), "-c", str(files["shifted"]), "--format", "html", "-o", str(html)))
    assert p.returncode == 0, p.stderr
    assert str(out) in p.stdout and "drift" in p.stdout
    rep = json.loads(out.read_text())
    assert rep["schema_version"] == 1 and rep["verdict"]["drifted_columns"] == ["x"]
    assert rep["columns"]["score"]["role"] == "prediction"
    p = p_html
    assert p.returncode == 0, p.stderr
    assert html.read_text().lstrip().lower().startswith("<!doctype html") or "<html" in html.read_text()[:500]


def test_report_to_stdout_is_pure_json(files) -> None:
    p = run("report", "-r", str(files["ref"]), "-c", str(files["same"]), "-o", "-")
    assert p.returncode == 0
    assert json.loads(p.stdout)["verdict"]["status"] == "ok"
    assert p.stderr == ""  # piped: no progress bar


def test_check_gate(files, tmp_path) -> None:
    cfg = tmp_path / "argus.yaml"
    cfg.write_text("severity:\n  drift: P2\n")
    same, p, ignored, configured = concurrently(
        run, ("check", "-r", str(files["ref"]), "-c", str(files["same"])),
        ("check", "-r", str(files["ref"]), "-c", str(files["shifted"])),
        ("check", "-r", str(files["ref"]), "-c", str(files["shifted"]), "--ignore", "x"),
        ("check", "-r", str(files["ref"]), "-c", str(files["shifted"]), "--config", str(cfg)))
    assert same.returncode == 0
    assert p.returncode == 1
    assert "P1" in p.stdout and "drift" in p.stdout and "x" in p.stdout
    assert ignored.returncode == 0
    assert configured.returncode == 0


def test_baseline_then_report_from_baseline(files, tmp_path) -> None:
    base = tmp_path / "baseline.json"
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    p, from_file = concurrently(
        run, ("baseline", str(files["ref"]), "--prediction", "score", "--target", "label", "-o", str(base)),
        ("report", "-r", str(files["ref"]), "-c", str(files["shifted"]), "--prediction", "score", "--target", "label",
         "-o", str(b)))
    assert p.returncode == 0, p.stderr
    # the baseline carries the model's own performance on it: what the service measures drops against
    perf = json.loads(base.read_text())["performance"]
    ref = pd.read_parquet(files["ref"])
    assert perf["task"] == "binary" and perf["positive_class"] == "1" and perf["labelled"] == len(ref)
    assert perf["metrics"]["roc_auc"]["value"] == pytest.approx(roc_auc_score(ref["label"], ref["score"]), abs=1e-12)
    assert run("report", "-r", str(base), "-c", str(files["shifted"]), "-o", str(a)).returncode == 0
    assert from_file.returncode == 0
    ra, rb = json.loads(a.read_text()), json.loads(b.read_text())
    assert ra["verdict"]["drifted_columns"] == rb["verdict"]["drifted_columns"]
    for name in ra["columns"]:
        assert ra["columns"][name]["drift"]["test"] == rb["columns"][name]["drift"]["test"]


@pytest.mark.parametrize("case,args,needle", [
    ("missing file", ["-r", "{ref}", "-c", "/nonexistent/cur.csv"], "/nonexistent/cur.csv: current file not found"),
    ("missing ref", ["-r", "/nope/ref.parquet", "-c", "{same}"], "/nope/ref.parquet: reference file not found"),
    ("unsupported", ["-r", "{ref}", "-c", "{xlsx}"], "unsupported file format"),
    ("unreadable", ["-r", "{broken}", "-c", "{same}"], "broken.parquet: cannot read file"),
    ("empty frame", ["-r", "{ref}", "-c", "{empty}"], "empty.csv: no rows"),
    ("no target", ["-r", "{ref}", "-c", "{same}", "--target", "nope"], "column 'nope': no such target column"),
    ("no prediction", ["-r", "{ref}", "-c", "{same}", "--prediction", "p"], "column 'p': no such prediction column"),
    ("bad format", ["-r", "{ref}", "-c", "{same}", "--format", "pdf"], "--format must be one of json, html"),
])
def test_unusable_input_is_one_line_exit_2(files, case, args, needle) -> None:
    args = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    p = run("report", *args)
    assert p.returncode == 2, (case, p.stdout, p.stderr)
    assert needle in p.stderr, p.stderr
    assert "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_bad_baseline_version(files, tmp_path) -> None:
    base = tmp_path / "old.json"
    base.write_text(json.dumps({"format": "argus-baseline", "version": 99, "columns": {}}))
    p = run("report", "-r", str(base), "-c", str(files["same"]))
    assert p.returncode == 2 and "baseline version 99 is not supported" in p.stderr


def test_config_validate_explains_errors(tmp_path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("drift:\n  alpha: 0.01\n  thresholds:\n    ks: 0.05\ncolumns:\n  income:\n    kind: numeric\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("drift:\n  alpah: 0.01\n  thresholds:\n    kss: 0.05\nseverity:\n  drfit: P2\n")
    worse = tmp_path / "worse.yaml"
    worse.write_text("drift:\n  alpha: 2\n")
    ok, p, p_worse = concurrently(run, ("config", "validate", str(good)), ("config", "validate", str(bad)),
                                  ("config", "validate", str(worse)))
    assert ok.returncode == 0
    assert p.returncode == 2
    assert "drift.alpah: unknown key; did you mean 'alpha'?" in p.stderr
    assert "drift.thresholds.kss: unknown key; did you mean 'ks'?" in p.stderr
    p = p_worse
    assert p.returncode == 2 and "drift.alpha" in p.stderr and "less than 1" in p.stderr


def test_help_has_examples() -> None:
    for p in concurrently(run, *((cmd, "--help") for cmd in ("report", "check", "baseline", "demo"))):
        assert p.returncode == 0 and "Example:" in p.stdout


def test_demo_report_writes_the_batch_reports(tmp_path) -> None:
    p = run("demo", "--report", "--out", str(tmp_path / "demo"))
    assert p.returncode == 0, p.stderr
    rep = json.loads((tmp_path / "demo" / "report.json").read_text())
    planted = {"income", "channel", "utilization", "employment", "age"}
    flagged = {f["column"] for f in rep["findings"]}
    assert planted <= flagged
    assert (tmp_path / "demo" / "report.html").stat().st_size > 1000

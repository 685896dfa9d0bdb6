"""The layer table holds: a lower layer never imports a higher one, and checks and store know nothing of each other.

The contract lives in pyproject.toml ([tool.importlinter]); this test runs it
so that a plain `pytest` fails on a violation, not only `make lint`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert exe, "import-linter is a dev dependency: pip install -e '.[dev]'"
    p = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "0 broken" in p.stdout


def _layers() -> list[set[str]]:
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c["type"] == "layers"]
    return [{m.strip() for m in layer.split("|")} for layer in layers]


def test_contract_names_every_layer() -> None:
    named = set().union(*_layers())
    for layer in ("argusml.cli", "argusml.service", "argusml.monitor", "argusml.reports", "argusml.alerts", "argusml.checks",
                  "argusml.store", "argusml.profile", "argusml.stats", "argusml.schema"):
        assert layer in named
    # checks and store are siblings: neither may import the other
    assert {"argusml.checks", "argusml.store"} in _layers()


@pytest.mark.slow
@pytest.mark.parametrize("layer, target", [("stats", "reports"), ("checks", "store"), ("store", "checks")])
def test_contract_catches_a_forbidden_import(tmp_path: Path, layer: str, target: str) -> None:
    """A copy of the package where ``layer`` imports ``target`` must fail the lint."""
    shutil.copytree(ROOT / "src" / "argusml", tmp_path / "src" / "argusml",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "src" / "argusml" / layer / "bad.py").write_text(f"import argusml.{target}  # noqa: F401\n")
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    env = {"PYTHONPATH": str(tmp_path / "src"), "PATH": str(Path(sys.executable).parent)}
    p = subprocess.run([exe, "--no-cache"], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode != 0
    assert "BROKEN" in p.stdout and f"argusml.{layer}.bad" in p.stdout

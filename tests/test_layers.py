"""The layer table of DESIGN.md holds: a lower layer never imports a higher one.

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


def test_contract_names_every_layer() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    for layer in ("argusml.cli", "argusml.reports", "argusml.checks", "argusml.profile", "argusml.stats",
                  "argusml.schema"):
        assert f'"{layer}"' in text


@pytest.mark.slow
def test_contract_catches_an_upward_import(tmp_path: Path) -> None:
    """A copy of the package where `stats` imports `report` must fail the lint."""
    shutil.copytree(ROOT / "src" / "argusml", tmp_path / "src" / "argusml",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "src" / "argusml" / "stats" / "bad.py").write_text("import argusml.reports  # noqa: F401\n")
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    env = {"PYTHONPATH": str(tmp_path / "src"), "PATH": str(Path(sys.executable).parent)}
    p = subprocess.run([exe, "--no-cache"], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode != 0
    assert "BROKEN" in p.stdout and "argusml.stats.bad" in p.stdout

"""The `argus` command line itself: one option list for report and check, one-line usage errors everywhere.

Issue 13: `argus check --format json -o FILE` was refused with a five-line
usage box though the docs say check takes report's arguments. The option
sets are compared by introspection, and every command of the click tree
(enumerated, so a new one is covered without editing this file) is driven
with a bad option. The tree is walked in one subprocess that calls the
console script's `main` in-process, so the whole sweep costs one start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer.main
from jsonschema import Draft202012Validator

from argusml.cli.main import app

pytestmark = pytest.mark.slow

ARGUS = [sys.executable, "-m", "argusml.cli.main"]
ENV = {**os.environ, "ARGUS_NO_PROGRESS": "1"}
BOX = ("│", "╭", "╰", "─")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ARGUS, *args], capture_output=True, text=True, cwd=cwd, env=ENV, timeout=120)


def value_type(param: Any) -> str:
    desc = getattr(param, "type_descriptor", None)  # typer's own copy of click keeps the annotation
    return repr(desc.annotation) if desc is not None else type(param.type).__name__


def options_of(command: Any) -> dict[str, tuple[Any, ...]]:
    """Everything a user can see of each option: spellings, default, help, arity, type, whether required."""
    return {p.name: (tuple(p.opts), tuple(p.secondary_opts), p.default, getattr(p, "help", None), p.multiple,
                     p.required, getattr(p, "is_flag", False), p.nargs, value_type(p), p.envvar, p.metavar)
            for p in command.params}


def test_check_takes_exactly_the_options_of_report() -> None:
    root = typer.main.get_command(app)
    report, check = root.commands["report"], root.commands["check"]  # type: ignore[attr-defined]
    assert options_of(check) == options_of(report)
    spelled = {o for p in check.params for o in p.opts}
    assert {"--reference", "-r", "--current", "-c", "--target", "--prediction", "--format", "-f", "--output", "-o",
            "--config", "--ignore"} <= spelled
    assert options_of(check)["ignore"][4] is True  # --ignore repeatable
    assert options_of(check)["format"][2] == "json"


# Runs in a fresh interpreter: walks the command tree, then calls `main` (what the console script calls) once
# per case with stdout and stderr captured; prints [[argv, exit code, stdout, stderr], ...] as JSON.
SWEEP = r"""
import contextlib, io, json, sys
import typer.main
from argusml.cli.main import app, main

def walk(cmd, path):
    yield path
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        yield from walk(sub, [*path, name])

cases = [[*path, "--no-such-option-xyz"] for path in walk(typer.main.get_command(app), [])]
cases += json.loads(sys.argv[1])
results = []
for argv in cases:
    out, err = io.StringIO(), io.StringIO()
    code = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code
    results.append([argv, code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""

# argv -> the one line it must print
OTHER_MISTAKES = {
    ("check", "--formt", "json"): "argus check: no such option: --formt (did you mean --format?)",
    ("report", "-r"): "argus report: option '-r' requires an argument",
    ("check", "-r", "ref.csv", "-c", "cur.csv", "--ignore"): "argus check: option '--ignore' requires an argument",
    ("report",): "argus report: missing option '--reference' / '-r'",
    ("labels", "import"): "argus labels import: missing argument 'file'",
    ("version", "extra"): "argus version: got unexpected extra argument",
    ("serve", "--port", "abc"): "argus serve: invalid value for '--port'",
    ("chek",): "argus: no such command 'chek' (did you mean 'check'?)",
    ("token", "create", "x", "--scope"): "argus token create: option '--scope' requires an argument",
}


@pytest.fixture(scope="module")
def sweep() -> dict[tuple[str, ...], tuple[int, str, str]]:
    p = subprocess.run([sys.executable, "-c", SWEEP, json.dumps([list(k) for k in OTHER_MISTAKES])],
                       capture_output=True, text=True, env=ENV, timeout=120)
    assert p.returncode == 0, p.stderr
    return {tuple(argv): (code, out, err) for argv, code, out, err in json.loads(p.stdout)}


def assert_one_line(code: int, out: str, err: str) -> str:
    assert code == 2, (code, out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].strip(), err
    assert "Traceback" not in err and not any(c in err for c in BOX), err
    assert out == ""
    return lines[0]


def test_every_command_refuses_an_unknown_option_in_one_line(sweep) -> None:
    paths = {argv[:-1] for argv in sweep if argv[-1:] == ("--no-such-option-xyz",)}
    # the walk reached the root, the nested groups and their commands (or this test would pass on nothing)
    assert {(), ("report",), ("check",), ("config",), ("config", "validate"), ("labels", "import"),
            ("token", "create"), ("serve",)} <= paths
    for path in paths:
        line = assert_one_line(*sweep[(*path, "--no-such-option-xyz")])
        assert line.startswith(" ".join(["argus", *path]) + ": "), (path, line)
        assert "--no-such-option-xyz" in line, (path, line)


@pytest.mark.parametrize("argv", list(OTHER_MISTAKES), ids=" ".join)
def test_other_usage_mistakes_are_one_line(sweep, argv) -> None:
    line = assert_one_line(*sweep[argv])
    assert line.startswith(OTHER_MISTAKES[argv]), line


def test_console_script_prints_one_line_and_help_still_works() -> None:
    script = Path(sys.executable).parent / "argus"
    cmd = [str(script)] if script.exists() else ARGUS
    p = subprocess.run([*cmd, "check", "--format", "json", "--formt", "x"], capture_output=True, text=True, env=ENV,
                       timeout=60)
    assert p.returncode == 2 and p.stderr == "argus check: no such option: --formt (did you mean --format?)\n"
    p = subprocess.run([*cmd, "check", "--help"], capture_output=True, text=True, env=ENV, timeout=60)
    assert p.returncode == 0 and "--format" in p.stdout and "Example:" in p.stdout


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("usage-data")
    n = 2000

    def frame(shift: float, seed: int) -> pd.DataFrame:
        r = np.random.default_rng(seed)
        return pd.DataFrame({"x": r.normal(shift, 1, n), "c": r.choice(["a", "b"], n), "score": r.random(n)})

    paths = {"ref": d / "ref.csv", "same": d / "same.csv", "shifted": d / "shifted.csv"}
    for path, (shift, seed) in zip(paths.values(), [(0, 1), (0, 2), (0.5, 3)]):
        frame(shift, seed).to_csv(path, index=False)
    return paths


def test_check_writes_the_report_it_judged_only_with_o(data, tmp_path) -> None:
    ref, same, shifted = (str(data[k]) for k in ("ref", "same", "shifted"))
    p = run("check", "-r", ref, "-c", same, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert list(tmp_path.iterdir()) == []  # no -o: no file, not even argus-report.json

    p = run("check", "-r", ref, "-c", shifted, "--format", "json", "-o", "out.json", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    assert "P1" in p.stdout and "out.json" in p.stdout
    rep = json.loads((tmp_path / "out.json").read_text())
    schema = json.loads((resources.files("argusml.reports") / "report.schema.json").read_text())
    Draft202012Validator(schema).validate(rep)
    assert rep["verdict"]["drifted_columns"] == ["x"]

    p = run("check", "-r", ref, "-c", shifted, "-f", "html", "-o", "out.html", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    html = (tmp_path / "out.html").read_text()
    assert "<html" in html[:500].lower() and "<!doctype html" in html[:200].lower()

    # -o -: the report alone on stdout, the findings on stderr
    p = run("check", "-r", ref, "-c", same, "-o", "-", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["verdict"]["status"] == "ok" and "verdict: ok" in p.stderr
    assert sorted(f.name for f in tmp_path.iterdir()) == ["out.html", "out.json"]


def test_report_still_writes_its_default_file(data, tmp_path) -> None:
    p = run("report", "-r", str(data["ref"]), "-c", str(data["same"]), "-f", "html", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert [f.name for f in tmp_path.iterdir()] == ["argus-report.html"]

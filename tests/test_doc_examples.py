"""Every shell example in README.md and docs/*.md runs here, for real, so a user who copies one gets what
the docs say it does.

- A fenced ```bash, ```sh, ```shell or ```console block is an example (in ```console only the `$ ` lines).
  Output listings are ```text, and every fence names its language: an unnamed one could hide an example.
- One workspace (a temporary directory, this checkout's `argus` first on PATH) serves them all, in the
  order of the docs, except that SERVICE.md's "Start" block, which makes the models/ folder the others use,
  runs first. The files the examples read (train.parquet, today.csv, ...) are made first from one
  generated table of credit applications.
- `argus serve` serves until Ctrl-C: it starts in the background, and the last test
  opens what it prints and stops it with SIGINT, as Ctrl-C does. The collector listens on a free port
  that stands for the docs' 8080 (`http://argus:8080`, `localhost:8080`, `--port 8080`, `$ARGUS`).
- When a collector is first up on a store, the test plays the model server: 600 events of versions v3 and v4
  (ids r-0 to r-599), half of them labelled, so the examples that read a model's traffic find some. `$TOKEN` and
  `$ARGUS_HMAC_KEY` are set by the test.
- `make` targets run the Makefile's own recipe with this interpreter's environment; `make test` (this very
  suite) and `make demo` (`argus demo`, served and stopped with Ctrl-C by tests/test_demo.py) run as dry
  runs.
- Benchmark commands take minutes to hours and install packages: each script's `--help` runs and must
  accept every option the docs pass; `bench/setup_venvs.sh` must know every venv the docs name.
- A command must exit 0 unless EXIT_CODES says the docs promise another code; a file it is told to write
  (`-o`, `--out`, `>`) must exist afterwards.
- An example that fails because of a known product bug being fixed elsewhere is marked xfail (strict) with
  the bug's name (KNOWN_BUGS): it fails loudly once the fix lands, so the mark is removed then.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml

import argusml
from service_util import free_port

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"bash", "sh", "shell", "console"}
VENV_BIN = Path(sys.executable).parent
SRC = Path(argusml.__file__).resolve().parents[1]  # this checkout's sources, whatever the venv installed

# the exit code an example's own text promises, when it is not 0
EXIT_CODES = {r"^argus check\b": 1}  # candidate_eval.parquet drifts on purpose: the gate's example fails it
# what an example's output must show beyond its exit code: (command, pattern in its stdout, what it means)
OUTPUT_CHECKS = [(r"^argus labels import\b", r"\(\d+ joined, 0 pending", "every reviewed label joins its prediction")]

# (pattern of a command, the product bug it meets): an example stays as users would write it, and its block is
# a strict expected failure until the fix lands. None open now.
KNOWN_BUGS: list[tuple[re.Pattern[str], str]] = []


HELP_DRIVER = """
import contextlib, io, json, runpy, sys
sys.path.insert(0, "bench")
out = {}
for script in sys.argv[1:]:
    buf, code = io.StringIO(), 0
    sys.argv = [script, "--help"]
    try:
        with contextlib.redirect_stdout(buf):
            runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        code = exc.code or 0
    except BaseException as exc:
        code = repr(exc)
    out[script] = [code, buf.getvalue()]
print(json.dumps(out))
"""


class KnownProductBug(AssertionError):
    """Every failing command of the block met a bug in KNOWN_BUGS (and nothing else failed)."""


@dataclass(frozen=True)
class Block:
    doc: str
    line: int
    lang: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def fenced_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    out, i = [], 0
    while i < len(lines):
        if lines[i].lstrip().startswith("```"):
            info = lines[i].lstrip()[3:].strip()
            j = i + 1
            while j < len(lines) and not lines[j].lstrip().startswith("```"):
                j += 1
            out.append(Block(path.relative_to(ROOT).as_posix(), i + 1, info.split()[0] if info else "",
                             "\n".join(lines[i + 1:j])))
            i = j + 1
        else:
            i += 1
    return out


def commands(block: Block) -> list[str]:
    """Shell commands: continuation lines joined, a here-document kept with its command, comments dropped."""
    lines = block.text.splitlines()
    if block.lang == "console":
        lines = [line[2:] for line in lines if line.startswith("$ ")]
    out, i = [], 0
    while i < len(lines):
        cmd = lines[i].strip()
        i += 1
        if not cmd or cmd.startswith("#"):
            continue
        while cmd.endswith("\\") and i < len(lines):
            cmd = cmd[:-1].rstrip() + " " + lines[i].strip()
            i += 1
        heredoc = re.search(r"<<-?\s*['\"]?(\w+)", cmd)
        if heredoc:
            body = []
            while i < len(lines) and lines[i].strip() != heredoc.group(1):
                body.append(lines[i])
                i += 1
            i += 1
            cmd = "\n".join([cmd, *body, heredoc.group(1)])
        out.append(cmd)
    return out


def words(cmd: str) -> list[str]:
    """The first line's words, comments dropped (for deciding how to run it, never for running it)."""
    return shlex.split(cmd.split("\n")[0], comments=True)


ALL_BLOCKS = [b for doc in DOCS for b in fenced_blocks(doc)]
# in the docs' order, except that SERVICE.md's "Start" runs first: it makes the models/ folder that README's
# `argus serve` (and every example reading model 'credit') needs, as README says
EXAMPLES = sorted((b for b in ALL_BLOCKS if b.lang in SHELL), key=lambda b: "cat > models/credit.yaml" not in b.text)


def known_bug(cmd: str) -> str | None:
    return next((why for pattern, why in KNOWN_BUGS if pattern.search(cmd.split("\n")[0])), None)


def example_params() -> list[Any]:
    params = []
    for b in EXAMPLES:
        bugs = sorted({why for cmd in commands(b) if (why := known_bug(cmd))})
        marks = [pytest.mark.xfail(raises=KnownProductBug, strict=True, reason="; ".join(bugs))] if bugs else []
        params.append(pytest.param(b, id=b.id, marks=marks))
    return params


# -- the files the examples read ----------------------------------------------------------------------------------
def applications(n: int, seed: int, drift: bool = False) -> pd.DataFrame:
    """Credit applications and a calibrated score: `defaulted` ~ Bernoulli(score)."""
    rng = np.random.default_rng(seed)
    age = rng.normal(41 + (6 if drift else 0), 12, n).clip(18, 90).round()
    income = rng.lognormal(10.6 + (0.4 if drift else 0), 0.5, n).round(2)
    country = rng.choice(["DE", "FR", "NL"], n, p=[0.3, 0.3, 0.4] if drift else [0.5, 0.3, 0.2])
    channel = rng.choice(["web", "app", "branch"], n, p=[0.5, 0.35, 0.15])
    z = -1.0 - 0.02 * (age - 41) - 0.8 * (np.log(income) - 10.6) + (channel == "web") * 0.3
    score = (1 / (1 + np.exp(-z))).round(4)
    return pd.DataFrame({"application_id": [f"a-{seed}-{i}" for i in range(n)], "age": age, "income": income,
                         "country": country, "channel": channel, "score": score,
                         "defaulted": (rng.random(n) < score).astype(int)})


def write_inputs(d: Path) -> None:
    applications(3000, 1).to_parquet(d / "train.parquet", index=False)
    applications(1000, 2).to_csv(d / "today.csv", index=False)
    applications(1000, 3, drift=True).to_parquet(d / "candidate_eval.parquet", index=False)
    applications(1500, 4).to_parquet(d / "valid.parquet", index=False)
    applications(1500, 5).to_csv(d / "last_week.csv", index=False)
    past = applications(2000, 7)  # predictions the model made before Argus watched it: an afternoon, a week ago
    now = time.time()
    past["timestamp"] = pd.to_datetime(np.linspace(now - 7 * 86400, now - 7 * 86400 + 3 * 3600, len(past)),
                                       unit="s", utc=True)
    past["version"] = "v3"
    past.to_parquet(d / "predictions-last-week.parquet", index=False)


def play_model_server(url: str) -> None:
    """What a model server would have sent: events of two versions, and labels for half of them."""
    frame = applications(600, 6)
    events = [{"id": f"r-{i}", "version": "v3" if i % 2 else "v4", "prediction": float(row.score),
               "features": {"age": float(row.age), "income": float(row.income), "country": row.country,
                            "channel": row.channel, "email": f"user{i}@example.com"}}
              for i, row in enumerate(frame.itertuples())]
    labels = [{"id": f"r-{i}", "label": int(row.defaulted)} for i, row in enumerate(frame.itertuples()) if i % 4 < 2]
    with httpx.Client(base_url=url, timeout=30) as http:
        r = http.post("/v1/models/credit/events", json=events)
        assert r.status_code == 200 and r.json()["accepted"] + r.json()["duplicates"] == 600, r.text
        r = http.post("/v1/models/credit/labels", json=labels)
        assert r.status_code in (200, 202) and not r.json()["rejected"], r.text


def review(path: Path) -> None:
    """The reviewer's part between `argus sample` and `argus labels import`: fill in the empty labels."""
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert rows and "label" in rows[0], path.read_text()[:500]
    for row in rows:
        row["label"] = row["label"] or ("1" if float(row["prediction"]) >= 0.5 else "0")
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


# -- running them ----------------------------------------------------------------------------------------------------
class Workspace:
    def __init__(self, path: Path) -> None:
        self.dir = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                    "PYTHONPATH": os.pathsep.join([str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])]),
                    "ARGUS": self.url, "TOKEN": "argus_doc_examples_token", "ARGUS_TOKEN": "",
                    "ARGUS_HMAC_KEY": "doc-examples-hmac-key-0123456789", "COLUMNS": "120"}
        self.serving: dict[str, subprocess.Popen[bytes]] = {}  # what runs until Ctrl-C, by role
        self.logs: dict[str, Path] = {}
        self.played: set[str] = set()  # stores that hold the model server's traffic already
        self.helps: dict[str, tuple[Any, str]] = {}  # bench script -> (exit code, --help text)

    # what the docs' 8080 stands for
    def localize(self, cmd: str) -> str:
        cmd = re.sub(r"\b(?:argus|localhost|127\.0\.0\.1):8080\b", f"127.0.0.1:{self.port}", cmd)
        return re.sub(r"--port(\s+|=)8080\b", rf"--port\g<1>{self.port}", cmd)

    def shell(self, cmd: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-c", cmd], cwd=self.dir, env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def start(self, role: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = self.dir / f".{role}.log"
        self.logs[role] = log
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, cwd=self.dir, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.serving[role] = proc
        return proc

    def stop(self, role: str) -> tuple[int, str]:
        """Ctrl-C, as a user stops it: SIGINT to its process group."""
        proc = self.serving.pop(role)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        return proc.returncode, self.logs[role].read_text(errors="replace")

    def ensure_models(self) -> None:
        """For an example run on its own (-k): the models/ folder, as SERVICE.md's "Start" makes it."""
        if (self.dir / "models" / "credit.yaml").exists():
            return
        start = next(b for b in EXAMPLES if "cat > models/credit.yaml" in b.text)
        for cmd in commands(start):
            if words(cmd)[:2] != ["argus", "serve"]:
                problem = self.run(cmd)
                assert problem is None, f"{start.id}: {problem}"

    def serve(self, cmd: str) -> str | None:
        if "models/" in cmd:
            self.ensure_models()
        if "collector" in self.serving:
            self.stop("collector")
        proc = self.start("collector", ["bash", "-c", "exec " + cmd])
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return f"{cmd}\n  exited {proc.returncode} before it was ready:\n{self.logs['collector'].read_text()}"
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    argv = words(cmd)
                    store = argv[argv.index("--data") + 1] if "--data" in argv else "argus-data"
                    if os.path.normpath(store) not in self.played:
                        play_model_server(self.url)
                        self.played.add(os.path.normpath(store))
                    return None
            except httpx.HTTPError:
                pass  # not listening yet
            time.sleep(0.1)
        return f"{cmd}\n  not ready in 90 s:\n{self.logs['collector'].read_text()}"

    def ensure_collector(self) -> None:
        """For an example run on its own (-k): the collector the docs' earlier examples would have started."""
        if "collector" not in self.serving:
            problem = self.serve(f"argus serve --config models/ --data ./argus-data --port {self.port}")
            assert problem is None, problem

    def make(self, cmd: str, argv: list[str]) -> str | None:
        target = argv[1] if len(argv) > 1 else ""
        (self.dir / "pyproject.toml").unlink(missing_ok=True)
        (self.dir / "pyproject.toml").symlink_to(ROOT / "pyproject.toml")
        stamp = self.dir / ".installed"
        stamp.touch()  # the venv is this interpreter's: nothing to install
        base = ["make", "-f", str(ROOT / "Makefile"), f"BIN={VENV_BIN}", f"STAMP={stamp.name}"]
        # `make test` is this suite itself, and `make demo` is `argus demo`, which tests/test_demo.py serves
        # and stops with Ctrl-C end to end: what each would run, not a second run of it
        expect = {"test": ("ruff check", "lint-imports", "pytest"), "demo": ("/argus demo",)}
        if target in expect:
            r = subprocess.run([*base, "-n", target], cwd=self.dir, env=self.env, capture_output=True, text=True)
            recipe = r.stdout
            if r.returncode or not all(s in recipe for s in expect[target]):
                return f"{cmd}\n  make -n {target}: rc {r.returncode}\n{recipe}{r.stderr}"
            return None
        r = subprocess.run([*base, *argv[1:]], cwd=self.dir, env=self.env, capture_output=True, text=True,
                           timeout=300)
        if r.returncode:
            return f"{cmd}\n  rc {r.returncode}\n{r.stdout[-3000:]}{r.stderr[-3000:]}"
        return None

    def bench(self, cmd: str, argv: list[str]) -> str | None:
        if argv[0] == "bench/setup_venvs.sh":
            script = (ROOT / argv[0]).read_text()
            known = set(re.findall(r"^\s+(\w+)\) echo \"import", script, re.M))
            unknown = [a for a in argv[1:] if a not in known]
            if not os.access(ROOT / argv[0], os.X_OK) or unknown:
                return f"{cmd}\n  not executable, or venvs it does not know: {unknown} (knows {sorted(known)})"
            return None
        script = next(a for a in argv if a.startswith("bench/"))
        if script not in self.helps:
            self.bench_helps()
        rc, text = self.helps.get(script, ("not in any example", ""))
        options = [a.split("=")[0] for a in argv[argv.index(script) + 1:] if a.startswith("--")]
        missing = [o for o in options if not re.search(rf"(^|[\s,\[]){re.escape(o)}\b", text)]
        if rc != 0 or missing:
            return f"{cmd}\n  {script} --help: exit {rc}; options it does not take: {missing}\n{text[-2000:]}"
        return None

    def bench_helps(self) -> None:
        """Every benchmark script's --help in one process: their imports (numpy, argusml, ...) load once."""
        scripts = sorted({a for b in EXAMPLES for cmd in commands(b) for a in words(cmd)[:2]
                          if a.startswith("bench/") and a.endswith(".py")})
        r = subprocess.run([sys.executable, "-c", HELP_DRIVER, *scripts], cwd=ROOT, env=self.env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        self.helps.update({k: (v[0], v[1]) for k, v in json.loads(r.stdout.splitlines()[-1]).items()})

    def run(self, cmd: str) -> str | None:
        """Run one command of an example; a description of what went wrong, or None."""
        cmd = self.localize(cmd)
        argv = words(cmd)
        if not argv:
            return None
        if argv[0] == "make":
            return self.make(cmd, argv)
        if argv[0] == "bench/setup_venvs.sh" or any(a.startswith("bench/") and a.endswith(".py") for a in argv[:2]):
            return self.bench(cmd, argv)
        if argv[:2] == ["argus", "serve"]:
            return self.serve(cmd)
        if re.search(r"\$\{?ARGUS\b", cmd.split("\n")[0]) or "--url" in argv or self.url in cmd:
            self.ensure_collector()
        if argv[:3] == ["argus", "labels", "import"]:
            review(self.dir / argv[3])
        if argv[0] == "curl":  # an HTTP error must fail the command, as it fails the user
            cmd = "curl -sS --fail-with-body --max-time 60 " + cmd[len("curl"):].lstrip()
        expected = next((rc for pattern, rc in EXIT_CODES.items() if re.search(pattern, cmd)), 0)
        r = self.shell(cmd)
        problems = []
        if r.returncode != expected:
            problems.append(f"exit code {r.returncode}, the docs promise {expected}")
        if "Traceback (most recent call last)" in r.stdout + r.stderr:
            problems.append("a traceback")
        for pattern, shows, meaning in OUTPUT_CHECKS:
            if re.search(pattern, cmd) and not re.search(shows, r.stdout):
                problems.append(f"its output does not show that {meaning} ({shows!r})")
        for flag, path in itertools.pairwise(argv):
            if flag in ("-o", "--output", "--out", ">", ">>") and path != "-" and not (self.dir / path).exists():
                problems.append(f"{path} was not written")
        if problems:
            return f"{cmd}\n  {'; '.join(problems)}\n  stdout: {r.stdout[-3000:]}\n  stderr: {r.stderr[-3000:]}"
        return None


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Any:
    ws = Workspace(tmp_path_factory.mktemp("doc-examples"))
    write_inputs(ws.dir)
    yield ws
    for role in list(ws.serving):
        ws.stop(role)


def test_every_fence_names_its_language_and_the_docs_have_examples():
    unnamed = [b.id for b in ALL_BLOCKS if not b.lang]
    assert not unnamed, f"fences without a language (```text for output, ```bash for commands): {unnamed}"
    assert len([b for b in EXAMPLES if b.doc == "README.md"]) >= 3 and len(EXAMPLES) >= 12, [b.id for b in EXAMPLES]


def test_yaml_examples_are_valid_configs():
    """The YAML the docs show is what the code accepts: a report config, or a model YAML's section."""
    from pydantic import ValidationError

    from argusml.schema.config import ReportConfig
    from argusml.schema.model_config import ModelConfig

    blocks = [b for b in ALL_BLOCKS if b.lang == "yaml"]
    assert len(blocks) >= 5
    for b in blocks:
        data = yaml.safe_load(b.text)
        if isinstance(data, dict):  # the loader's key (templates merged before validation), not the model's
            data.pop("extends", None)
        try:
            ReportConfig.model_validate(data)
        except ValidationError as report_error:
            try:
                ModelConfig.model_validate({"model": "m", **data})
            except ValidationError as model_error:
                raise AssertionError(f"{b.id}: neither a report config ({report_error}) "
                                     f"nor a model config ({model_error})") from None


@pytest.mark.slow
@pytest.mark.parametrize("block", example_params())
def test_shell_example_runs(workspace: Workspace, block: Block) -> None:
    failures = [(cmd, problem) for cmd in commands(block) if (problem := workspace.run(cmd)) is not None]
    report = "\n\n".join(problem for _, problem in failures)
    if failures and all(known_bug(cmd) for cmd, _ in failures):
        raise KnownProductBug(f"{block.id}:\n{report}")
    assert not failures, f"{block.id}:\n{report}"


@pytest.mark.slow
def test_what_serves_until_ctrl_c_answers_then_stops(workspace: Workspace) -> None:
    """Run last: the background commands the examples started still answer, and stop on Ctrl-C."""
    if not workspace.serving:
        pytest.skip("no example that serves until Ctrl-C ran in this session (selected out)")
    if "collector" in workspace.serving:
        assert httpx.get(workspace.url + "/readyz", timeout=10).status_code == 200
        rc, text = workspace.stop("collector")
        assert rc in (0, 130, -signal.SIGINT) and "Traceback" not in text, text  # 130: the shell's "ended by Ctrl-C"
        assert "stopped; queued events written, open windows saved" in text, text

"""Helpers shared by the service tests: a reference, a model config dir, a real server process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import pandas as pd

from argusml.profile import Reference

N_FEATURES = 6
T = TypeVar("T")


def reference_frame(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(N_FEATURES)})
    df["cat"] = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    df["score"] = rng.random(n)
    return df


def make_reference(n: int = 4000, seed: int = 0) -> Reference:
    """A binary model: ``score`` is the probability of ``label`` = 1 (and calibrated: label ~ Bernoulli(score))."""
    df = reference_frame(n, seed)
    df["label"] = (np.random.default_rng(seed + 1).random(n) < df["score"]).astype(int)
    return Reference.from_frame(df, prediction="score", target="label")


def event(i: int | str, rng: np.random.Generator, *, shift: float = 0.0, **extra: Any) -> dict[str, Any]:
    feats: dict[str, Any] = {f"x{j}": float(rng.normal(shift)) for j in range(N_FEATURES)}
    feats["cat"] = str(rng.choice(["a", "b", "c"], p=[0.5, 0.3, 0.2]))
    return {"id": str(i), "features": feats, "prediction": float(rng.random()), **extra}


def concurrently(fn: Callable[..., T], *calls: tuple[Any, ...]) -> list[T]:
    """``fn(*args)`` for each tuple of ``calls``, side by side in threads; the results in the order of the calls.
    For a test's independent ``argus`` runs: pytest runs one test at a time, so a second child process uses a
    core that would idle, and each run answers what it would alone."""
    with ThreadPoolExecutor(max_workers=max(1, min(len(calls), os.cpu_count() or 1))) as pool:
        return list(pool.map(lambda args: fn(*args), calls))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    """Terminate a process a test started (Prometheus, Alertmanager, `argus serve`), killing it after 20 s."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def log_tail(path: Path, n: int = 3000) -> str:
    """The end of a process's log, for an assertion message."""
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


def require_binaries(*paths: str) -> None:
    """Skip (with the reason) when a system binary a test runs is missing, except under CI=true, where that is
    a failure: scripts/install-test-deps.sh installs them on Debian."""
    import pytest

    missing = [p for p in paths if not os.access(p, os.X_OK)]
    if not missing:
        return
    why = (f"{' and '.join(missing)} missing: run scripts/install-test-deps.sh (Debian: apt-get install prometheus "
           "prometheus-alertmanager)")
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {why}")
    pytest.skip(why)


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, what: str, timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers 200, failing with the log's end if ``proc`` exits or ``timeout`` passes."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"{what} exited {proc.returncode}:\n{log_tail(log)}"
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass  # not listening yet: poll again
        assert time.monotonic() < deadline, f"{what} not ready after {timeout:g} s:\n{log_tail(log)}"
        time.sleep(0.2)


def write_config(d: Path, ref: Reference, **cfg: Any) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    ref.save(d / "base.json")
    lines = [f"model: {cfg.pop('model', 'm')}", "reference: base.json"]
    import yaml

    if cfg:
        lines.append(yaml.safe_dump(cfg, sort_keys=False).rstrip())
    (d / "m.yaml").write_text("\n".join(lines) + "\n")
    return d


class LiveServer:
    """The real app under uvicorn in a thread (a real socket, a real HTTP stack), without the seconds a
    child process spends importing; ``with LiveServer(monitor) as srv`` or ``start()`` / ``stop()``."""

    def __init__(self, monitor: Any, port: int | None = None, auth: Any = None) -> None:
        import uvicorn

        from argusml.service.app import create_app

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(monitor, auth=auth), host="127.0.0.1", port=self.port,
                                                    log_config=None, access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Server:
    """`argus serve` in a child process, on a free port."""

    def __init__(self, config: Path | None, data: Path, *, log: Path | None = None, env: dict[str, str] | None = None,
                 args: list[str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "argusml.cli.main", "serve", "--data", str(data), "--port", str(self.port),
               "--log-level", "info", *(args or [])]
        if config is not None:
            cmd += ["--config", str(config)]
        self.log_path = log or data.parent / f"server-{self.port}.log"
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})})

    def wait_ready(self, timeout: float = 60.0, headers: dict[str, str] | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/readyz", headers=headers, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass  # not listening yet: poll again
            time.sleep(0.1)
        raise TimeoutError(f"server not ready: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._log.close()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()
        return self.proc.returncode


T0 = 1_800_000_000.0  # a UTC day boundary is at 1_799_971_200; T0 sits 8 h into that day


class Clock:
    """The monitor's clock, moved by the test (``clock.t = ...`` or ``advance``): windows close without
    waiting minutes."""

    def __init__(self, t: float = T0) -> None:
        self.t = t
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.t

    def advance(self, dt: float) -> None:
        with self._lock:
            self.t += dt


FAST = {"tick_every": 0.02, "snapshot_every": 0.05}
"""The monitor's loops every 20 ms and a snapshot every 50 ms: what a test waits for happens at once."""


@dataclass
class Running:
    """A started monitor with its store, clock and the real app (``client`` calls it in process; ``live()``
    serves it on a real socket). ``stop()`` is what a process exit does: drain, snapshot, close the store."""

    monitor: Any
    store: Any
    clock: Any
    client: Any
    path: Path
    servers: list[LiveServer] = field(default_factory=list)
    stopped: bool = False

    def live(self, auth: Any = None) -> LiveServer:
        server = LiveServer(self.monitor, auth=auth).start()
        self.servers.append(server)
        return server

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        for server in self.servers:
            server.stop()
        self.monitor.stop()
        self.store.close()


def start_monitor(path: Path, *models: tuple[Any, Reference], clock: Any = None, settings: Any = None,
                  auth: Any = None, start: bool = True) -> Running:
    """A real Monitor on a real store at ``path`` with these (config, baseline) pairs registered, started
    (unless ``start=False``), behind the real app. ``settings``: a ``Settings`` (default: ``FAST``);
    ``clock``: the monitor's clock (default: a ``Clock`` at ``T0``; pass ``time.time`` for the real one)."""
    from fastapi.testclient import TestClient

    from argusml.monitor import Monitor, Settings
    from argusml.service.app import create_app
    from argusml.store import Store

    clock = Clock() if clock is None else clock
    store = Store(path)
    mon = Monitor(store, Settings(**FAST) if settings is None else settings, clock=clock)
    for config, reference in models:
        mon.register(config, reference)
    if start:
        mon.start()
    return Running(mon, store, clock, TestClient(create_app(mon, auth=auth)), path)


@contextmanager
def monitor_in_process(path: Path, config: Any, reference: Reference) -> Iterator[tuple[Any, Any, Clock]]:
    """(monitor, TestClient, clock): a real store under ``path`` and the real app, fast ticks."""
    running = start_monitor(path / "data", (config, reference))
    try:
        yield running.monitor, running.client, running.clock
    finally:
        running.stop()

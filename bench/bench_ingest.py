#!/usr/bin/env python
"""Collector ingest benchmark: what one `argus serve` sustains on this machine.

    .venv/bin/python bench/bench_ingest.py [--quick] [--phases batch,single,sdk,log,memory]
                                           [--duration 20] [--warmup 3] [--events-memory 5000000]
                                           [--out bench/results/ingest.md]

Every phase starts a fresh ``argus serve`` (``python -m argusml.cli.main serve
--log-level warning``) on a fresh ``--data`` directory in a temp dir, with one
model ``bench`` whose baseline is a 25-feature reference frame (f0..f24 normal,
prediction ``score``), window 5m (the default). Durability is production's:
the server answers 200 only after the DuckDB transaction holding the events
committed (WAL fsync), so every "acknowledged" event below is on disk.

Phases:

1. ``batch``: raw HTTP, 100 events per POST (25 numeric features, prediction,
   latency_ms, unique string id, timestamp = now), closed loop. Load client:
   ``--procs`` worker PROCESSES (multiprocessing, no GIL shared with each
   other), each with one keep-alive ``http.client.HTTPConnection``. Request
   bodies are pre-serialised with orjson once per worker (8 bodies drawn
   from a pool of 1,000 events), split at the id and timestamp; per request
   a unique id prefix and the current timestamp are joined in (~10 µs for
   100 events; body build time per request is reported). Metrics
   over ``--duration`` s after ``--warmup`` s: acknowledged events/s, request
   (ack) latency p50/p99, server CPU% (psutil: all its threads, 100% = one
   core), client CPU%. Afterwards, under the same load, py-spy samples the
   server for ``--profile-seconds`` (outside the measured window) and the
   samples are bucketed: JSON parsing, validation, dedup, Arrow tables,
   DuckDB write+commit, folding/profiling, window close, HTTP/asyncio.
2. ``single``: same client, 1 event per POST, ``--single-procs`` processes.
3. ``sdk``: ``argusml.Client`` in this process (default settings except
   ``max_buffer`` raised to N, so nothing is dropped) logs ``--sdk-events``
   events as fast as it can, then ``flush()``: events/s delivered end to end.
4. ``log``: the cost of ``Client.log()`` in the caller's thread (25-feature
   event) against a live server (the SDK's sender thread runs meanwhile):
   ``--log-calls`` calls, each timed with ``time.perf_counter_ns``;
   p50/p99/p99.9 in µs, with the SDK generating the id and with an id given.
5. ``memory``: ``--events-memory`` events in batches of 100 (phase 1's client
   with a fixed count), in two steps: N/5 then the rest; after each step the
   queue is drained (``GET /readyz`` queue_depth == 0) and the server's RSS
   read. Growth between the two is the target (< 50 MB at 1M -> 5M).

This box is small (see the machine line) and the load client runs on the
same cores as the server: client CPU is reported so the reader can see how
much of the machine the server had.

The code under test is ``--argus-ref`` (default HEAD): that commit's src/ is
exported to the temp dir and put first on PYTHONPATH of the servers and of
this process (the SDK phases), so edits to the working tree during a run
cannot change it; ``--argus-ref worktree`` runs the working tree as it is.

``--quick``: 5 s phases, 1 s warm-up, 300k events for memory, 50k SDK events,
20k log() calls: a check that the script works, not a result.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import multiprocessing as mp
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
# argusml (and benchenv, which imports it) is imported only after --argus-ref has put its src/ on sys.path

MODEL = "bench"
N_FEATURES = 25
POOL = 1000  # distinct pre-serialised events per worker
HEADERS = {"Content-Type": "application/json"}
ARGUS_SRC: str | None = None  # set by --argus-ref


# -- config and server -----------------------------------------------------------------------------------------
def write_config(d: Path) -> Path:
    import pandas as pd

    from argusml.profile import Reference

    rng = np.random.default_rng(0)
    n = 5000
    df = pd.DataFrame({f"f{i}": rng.normal(size=n) for i in range(N_FEATURES)})
    df["score"] = rng.random(n)
    d.mkdir(parents=True, exist_ok=True)
    Reference.from_frame(df, prediction="score").save(d / "base.json")
    (d / "bench.yaml").write_text(f"model: {MODEL}\nreference: base.json\n")
    return d


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ArgusServer:
    """`argus serve` as a child process on a free port, with its own --data directory."""

    def __init__(self, work: Path, name: str, config: Path) -> None:
        self.data = work / f"{name}-data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = work / f"{name}-server.log"
        self._log = open(self.log_path, "ab")
        cmd = [sys.executable, "-m", "argusml.cli.main", "serve", "--config", str(config), "--data", str(self.data),
               "--port", str(self.port), "--log-level", "warning"]
        env = dict(os.environ)
        if ARGUS_SRC:
            env["PYTHONPATH"] = ARGUS_SRC  # ahead of the editable install's path entry
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, cwd=work, env=env)
        self.ps = psutil.Process(self.proc.pid)

    def get(self, path: str) -> tuple[int, dict[str, Any]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, orjson.loads(r.read() or b"{}")
        finally:
            conn.close()

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(OSError, ValueError):
                if self.get("/readyz")[0] == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"server not ready after {timeout}s: {self.log_path.read_text()[-3000:]}")

    def drain(self, timeout: float = 600.0) -> float:
        """Poll /readyz until queue_depth == 0 (written and folded); seconds waited."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            status, body = self.get("/readyz")
            if status == 200 and body.get("queue_depth") == 0:
                return time.monotonic() - t0
            time.sleep(0.2)
        raise TimeoutError(f"queue not drained after {timeout}s")

    def cpu_s(self) -> float:
        """The server process and its validation workers (child processes): what the service costs."""
        t = self.ps.cpu_times()
        total = t.user + t.system
        for child in self.ps.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                c = child.cpu_times()
                total += c.user + c.system
        return total

    def worker_cpu_s(self) -> float:
        total = 0.0
        for child in self.ps.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                c = child.cpu_times()
                total += c.user + c.system
        return total

    def thread_cpu_s(self) -> dict[int, float]:
        return {t.id: t.user_time + t.system_time for t in self.ps.threads()}

    def rss_mb(self) -> float:
        return self.ps.memory_info().rss / 2**20

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


# -- the raw HTTP load client (worker processes) ---------------------------------------------------------------
def event_tails(seed: int) -> list[bytes]:
    """Pre-serialised event bodies minus id and timestamp: b'"features":{...},"prediction":..,"latency_ms":..}'."""
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(POOL, N_FEATURES))
    preds = rng.random(POOL)
    lats = rng.gamma(2.0, 5.0, POOL)
    out = []
    for k in range(POOL):
        doc = {"features": {f"f{i}": float(feats[k, i]) for i in range(N_FEATURES)}, "prediction": float(preds[k]),
               "latency_ms": round(float(lats[k]), 3)}
        out.append(orjson.dumps(doc)[1:])  # drop the leading "{": id and timestamp go first
    return out


RID, TSP = b"@@RID@@", b"@@TS@@"  # placeholders in the pre-serialised bodies


class BodyTemplate:
    """k pre-serialised events with ids '<request id>-<j>' and timestamp placeholders, kept split at the
    placeholders: a request's body is one slice assignment of each and one bytes.join (~10 µs for 100 events)."""

    def __init__(self, tails: list[bytes], k: int, variant: int) -> None:
        doc = b"[" + b",".join([b'{"id":"' + RID + b"-%d" % j + b'","timestamp":' + TSP + b"," +
                                tails[(variant * k + j) % POOL] for j in range(k)]) + b"]"
        head, *rest = doc.split(RID)
        flat = [head]
        for part in rest:
            a, b = part.split(TSP)
            flat += [RID, a, TSP, b]
        self.flat, self.k = flat, k

    def body(self, rid: bytes, ts: bytes) -> bytes:
        f = self.flat.copy()
        f[1::4] = [rid] * self.k
        f[3::4] = [ts] * self.k
        return b"".join(f)


def load_worker(wid: int, port: int, batch: int, start: float, measure: tuple[float, float], stop_at: float | None,
                count: int | None, prefix: str, results: Any, progress: Any, rate: float = 0.0,
                offset: float = 0.0) -> None:
    """Closed loop: build a body (ids unique, timestamp now), POST, wait for the answer, repeat.

    With ``rate`` (requests/s of this worker) the loop is open instead: request
    k is due at ``start + offset + k / rate``, sent then (or at once when the
    answer to the previous one came later), and its latency counts from when
    it was due, so a slow answer also counts against the requests it held
    back (no coordinated omission).

    Stops at ``stop_at`` (monotonic clock, shared by all processes on Linux)
    or after ``count`` acknowledged events. Latencies and acknowledged events
    count for answers that arrive inside ``measure`` (or all of them when
    counting)."""
    tails = event_tails(1000 + wid)
    variants = 8
    templates = {batch: [BodyTemplate(tails, batch, v) for v in range(variants)]}
    pre = prefix.encode()
    path = f"/v1/models/{MODEL}/events"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.connect()
    lat = array("q")
    done_at = array("q")  # completion times (monotonic ns) of the measured requests
    acked = acked_all = requests = busy = errors = 0
    build_ns = 0
    first_error = ""
    reqno = 0
    m0, m1 = int(measure[0] * 1e9), int(measure[1] * 1e9)
    end_ns = int(stop_at * 1e9) if stop_at is not None else None
    while time.monotonic() < start:
        time.sleep(0.001)
    while True:
        t = time.monotonic_ns()
        if end_ns is not None and t >= end_ns:
            break
        k = batch if count is None else min(batch, count - acked_all)
        if k <= 0:
            break
        b0 = time.perf_counter_ns()
        if k not in templates:  # the last, partial batch of a fixed count
            templates[k] = [BodyTemplate(tails, k, v) for v in range(variants)]
        due_ns = 0
        if rate:
            due_ns = int((start + offset + reqno / rate) * 1e9)
            if end_ns is not None and due_ns >= end_ns:
                break
            while time.monotonic_ns() < due_ns:
                time.sleep(max(0.0, (due_ns - time.monotonic_ns()) / 1e9 - 0.0002))
        reqno += 1
        body = templates[k][reqno % variants].body(pre + b"%d" % reqno, b"%.6f" % time.time())
        build_ns += time.perf_counter_ns() - b0
        t0 = due_ns or time.monotonic_ns()
        try:
            conn.request("POST", path, body, HEADERS)
            r = conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException) as exc:
            errors += 1
            first_error = first_error or f"{type(exc).__name__}: {exc}"
            conn.close()
            time.sleep(0.05)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            continue
        t1 = time.monotonic_ns()
        requests += 1
        in_window = count is not None or m0 <= t1 <= m1
        if r.status == 200:
            accepted = orjson.loads(data)["accepted"]
            if accepted != k:
                errors += 1
                first_error = first_error or f"200 with accepted={accepted} of {k}: {data[:300]!r}"
            acked_all += accepted
            if progress is not None:
                with progress.get_lock():
                    progress.value += accepted
            if in_window:
                acked += accepted
                lat.append(t1 - t0)
                done_at.append(t1)
        elif r.status == 429:
            busy += 1
            time.sleep(0.05)
        else:
            errors += 1
            first_error = first_error or f"HTTP {r.status}: {data[:300]!r}"
            if errors >= 100:
                break
    conn.close()
    results.put({"wid": wid, "pid": os.getpid(), "acked": acked, "acked_all": acked_all, "requests": requests,
                 "busy": busy, "errors": errors, "first_error": first_error, "build_ns": build_ns,
                 "lat": lat.tobytes(), "done_at": done_at.tobytes()})


def run_load(server: ArgusServer, *, procs: int, batch: int, warmup: float, duration: float, prefix: str,
             count: int | None = None, profile_s: float = 0.0, profile_out: Path | None = None,
             progress_cb: Any = None, rate: float = 0.0) -> dict[str, Any]:
    """Run ``procs`` load workers; with ``count``, until that many events are acknowledged in all;
    with ``rate`` (requests/s in all), open loop at that rate, spread evenly over the workers."""
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    progress = ctx.Value("q", 0)
    start = time.monotonic() + 1.0  # time to fork and connect
    m_from, m_to = start + warmup, start + warmup + duration
    stop_at = None if count is not None else m_to + (profile_s + 1.0 if profile_s else 0.0)
    shares = [count // procs + (1 if i < count % procs else 0) for i in range(procs)] if count is not None else []
    workers = []
    for w in range(procs):
        p = ctx.Process(target=load_worker, args=(w, server.port, batch, start, (m_from, m_to), stop_at,
                                                  shares[w] if count is not None else None, f"{prefix}w{w}-",
                                                  results, progress, rate / procs, w / rate if rate else 0.0),
                        daemon=True)
        p.start()
        workers.append(p)
    wps = [psutil.Process(p.pid) for p in workers]

    def client_cpu() -> float:
        total = 0.0
        for wp in wps:
            with contextlib.suppress(psutil.Error):
                t = wp.cpu_times()
                total += t.user + t.system
        return total

    out: dict[str, Any] = {}
    if count is None:
        time.sleep(max(0.0, m_from - time.monotonic()))
        s0, c0, t0, w0 = server.cpu_s(), client_cpu(), server.thread_cpu_s(), time.monotonic()
        v0 = server.worker_cpu_s()
        time.sleep(max(0.0, m_to - time.monotonic()))
        s1, c1, t1, w1 = server.cpu_s(), client_cpu(), server.thread_cpu_s(), time.monotonic()
        out["worker_cpu_pct"] = 100 * (server.worker_cpu_s() - v0) / (w1 - w0)
        out["server_cpu_pct"] = 100 * (s1 - s0) / (w1 - w0)
        out["thread_cpu_pct"] = {tid: 100 * (v - t0.get(tid, 0.0)) / (w1 - w0) for tid, v in t1.items()}
        out["server_pid"] = server.proc.pid
        out["thread_names"] = thread_names(server.proc.pid)
        out["client_cpu_pct"] = 100 * (c1 - c0) / (w1 - w0)
        if profile_s and profile_out is not None:
            out["profile"] = pyspy(server.proc.pid, profile_s, profile_out)
    else:
        time.sleep(max(0.0, start - time.monotonic()))
        s0, c0, w0 = server.cpu_s(), client_cpu(), time.monotonic()
        while any(p.is_alive() for p in workers) and progress.value < count:
            time.sleep(0.5)
            if progress_cb is not None:
                progress_cb(progress.value)
        w1 = time.monotonic()
        s1, c1 = server.cpu_s(), client_cpu()
        out["server_cpu_pct"] = 100 * (s1 - s0) / (w1 - w0)
        out["client_cpu_pct"] = 100 * (c1 - c0) / (w1 - w0)
        out["elapsed_s"] = w1 - w0
    got = [results.get(timeout=300) for _ in workers]
    for p in workers:
        p.join(30)
    lat = np.concatenate([np.frombuffer(g["lat"], dtype=np.int64) for g in got]) / 1e6  # ms
    done = np.concatenate([np.frombuffer(g["done_at"], dtype=np.int64) for g in got]) / 1e9 - m_from
    reqs = sum(g["requests"] for g in got)
    out.update({
        "acked": sum(g["acked"] for g in got), "acked_all": sum(g["acked_all"] for g in got), "requests": reqs,
        "requests_in_window": int(lat.size), "busy": sum(g["busy"] for g in got), "errors": sum(g["errors"] for g in got),
        "first_error": next((g["first_error"] for g in got if g["first_error"]), ""),
        "build_us": sum(g["build_ns"] for g in got) / max(reqs, 1) / 1e3,
        "p50_ms": float(np.percentile(lat, 50)) if lat.size else float("nan"),
        "p99_ms": float(np.percentile(lat, 99)) if lat.size else float("nan"),
        "max_ms": float(lat.max()) if lat.size else float("nan"),
    })
    if lat.size and count is None:
        # when the slowest 1% finished (s into the measured window): periodic stalls show as a regular pattern
        slow = np.sort(done[lat > np.percentile(lat, 99)])
        out["slow_at_s"] = sorted({round(float(x), 1) for x in slow})
    span = duration if count is None else out["elapsed_s"]
    out["events_per_s"] = (out["acked"] if count is None else out["acked_all"]) / span
    out["requests_per_s"] = lat.size / span
    return out


# -- py-spy: where the server's time goes ----------------------------------------------------------------------
def _fn(*names: str) -> str:
    """A py-spy frame of one of these functions (py-spy writes methods as Class.name, closures as f.<locals>.name)."""
    return r"^(?:[\w<>.]+\.)?(?:" + "|".join(names) + r") \("


# the first frame from the leaf that matches names the bucket
BUCKETS: list[tuple[str, re.Pattern[str]]] = [(name, re.compile(rx)) for name, rx in [
    ("JSON parsing (decode_body, orjson)", _fn("decode_body")),
    ("validation (validate_events)", _fn("validate_events", "parse_timestamp", "normalize_prediction", "dump_payload")
     + r"|monitor/privacy\.py|monitor/events\.py"),
    ("dedup index", r"monitor/dedup\.py"),
    ("Arrow tables for the write (_tables)", _fn("_tables")),
    ("DuckDB other queries", r"store/duck\.py"),
    ("folding into window profiles", r"monitor/windows\.py|argusml/profile/|argusml/stats/|" + _fn("Fold\\.fold_batch")),
    ("window close: checks, snapshot, rollups", r"argusml/checks/|" + _fn("Fold\\._tick", "Closer\\.close", "Fold\\.snapshot",
                                                                          "rollups", "_rollup", "apply_retention",
                                                                          "Closer\\.check", "WindowVerdict\\.of")),
    ("writer bookkeeping (_write, metrics)", _fn("_write", "Writer\\.run", "_count_events") + r"|monitor/metrics\.py"),
    ("ingest_events (engine, rest)", _fn("ingest_events")),
    ("response JSON (json_response)", _fn("json_response") + r".*service/errors\.py"),
    ("request middleware (RequestContext)", r"service/(app|middleware|bodies|errors|deps)\.py|service/routers/"),
    ("HTTP + asyncio (uvicorn, starlette, fastapi)", r"uvicorn|h11|httptools|starlette|fastapi|asyncio|anyio|uvloop|selectors|"
                                                     r"\(loop\.c|\(libuv|_ssl|socket"),
]]
BUCKETS_WRITE = re.compile(r"^(Store\.)?write \(.*store/duck\.py")  # anywhere on the stack: the ingest transaction
# a sampled thread that is not on a CPU (py-spy's idle filter misses these in --native mode): checked on the leaf frames
WAITS: list[tuple[str, re.Pattern[str]]] = [(name, re.compile(rx)) for name, rx in [
    ("wait: fsync of the WAL at COMMIT (I/O)", r"^(fdatasync|fsync) "),
    ("wait: for the GIL", r"^(take_gil|pthread_cond_timedwait|drop_gil) "),
    ("wait: lock or queue (idle)", r"^(PyThread_acquire_lock_timed|lock_PyThread_acquire_lock|Condition\.wait|sem_(timed)?wait) "),
    ("wait: event loop poll (idle)", r"^(epoll_pwait|epoll_wait|uv__io_poll) "),
]]


def pyspy_exe() -> str | None:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return exe if os.path.exists(exe) else None


def thread_names(pid: int) -> dict[int, str]:
    """OS thread id -> Python thread name, from one `py-spy dump` (empty without py-spy)."""
    exe = pyspy_exe()
    if exe is None:
        return {}
    r = subprocess.run([exe, "dump", "--pid", str(pid)], capture_output=True, text=True, check=False)
    return {int(m.group(1)): m.group(2) for m in re.finditer(r'^Thread (\d+) \(\w+\): "(.*)"$', r.stdout, re.M)}


def pyspy(pid: int, seconds: float, out: Path) -> dict[str, Any]:
    exe = pyspy_exe()
    if exe is None:
        return {"error": "py-spy is not installed (pip install py-spy into the venv)"}
    err = ""
    for native in (["--native"], []):
        cmd = [exe, "record", *native, "--threads", "-r", "100", "-d", str(max(1, round(seconds))), "-f", "raw",
               "-o", str(out), "--pid", str(pid)]
        r = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if r.returncode == 0 and out.exists():
            return summarise_profile(out, seconds, bool(native))
        err = (r.stderr or r.stdout).strip().splitlines()[:1]
    return {"error": f"py-spy failed: {err}"}


def summarise_profile(path: Path, seconds: float, native: bool) -> dict[str, Any]:
    buckets: dict[str, int] = {}
    threads: dict[str, int] = {}
    per_thread_bucket: dict[tuple[str, str], int] = {}
    tids: dict[int, str] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        count = int(n)
        frames = stack.split(";")
        thread = frames[0].split(": ", 1)[1] if frames and frames[0].startswith("thread") and ": " in frames[0] else "?"
        thread = re.sub(r"[-_ ]?\d+$", "", thread) or thread  # ThreadPoolExecutor-0_1 -> ThreadPoolExecutor-0
        if frames and (m := re.match(r"thread \((\d+)\): (.*)", frames[0])):
            tids[int(m.group(1))] = m.group(2)
        bucket = next((name for fr in reversed(frames[-3:]) for name, rx in WAITS if rx.search(fr)), None)
        if bucket is None and any(BUCKETS_WRITE.search(fr) for fr in frames):
            bucket = "DuckDB write + commit (Store.write)"
        if bucket is None:
            bucket = "other"
            for fr in reversed(frames[1:]):
                hit = next((name for name, rx in BUCKETS if rx.search(fr)), None)
                if hit is not None:
                    bucket = hit
                    break
        buckets[bucket] = buckets.get(bucket, 0) + count
        threads[thread] = threads.get(thread, 0) + count
        per_thread_bucket[(thread, bucket)] = per_thread_bucket.get((thread, bucket), 0) + count
        total += count
    return {"total": total, "seconds": seconds, "rate": 100, "native": native, "buckets": buckets, "threads": threads,
            "per_thread_bucket": per_thread_bucket, "tids": tids, "path": str(path)}


# -- SDK phases ----------------------------------------------------------------------------------------------
def feature_pool(seed: int = 7) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(POOL, N_FEATURES))
    return [{f"f{i}": float(x[k, i]) for i in range(N_FEATURES)} for k in range(POOL)]


def sdk_throughput(server: ArgusServer, n: int) -> dict[str, Any]:
    import argusml

    pool = feature_pool()
    rng = np.random.default_rng(3)
    preds = rng.random(POOL).tolist()
    me = psutil.Process()
    client = argusml.Client(server.url, model=MODEL, max_buffer=max(n, 100_000))
    c0, s0 = sum(me.cpu_times()[:2]), server.cpu_s()
    t0 = time.perf_counter()
    log = client.log
    for i in range(n):
        log(features=pool[i % POOL], prediction=preds[i % POOL], latency_ms=4.2)
    t_logged = time.perf_counter()
    ok = client.flush(timeout=600)
    t1 = time.perf_counter()
    c1, s1 = sum(me.cpu_times()[:2]), server.cpu_s()
    st = client.stats.as_dict()
    client.close()
    return {"n": n, "sent": st["sent"], "dropped": st["dropped"], "failed": st["failed"], "retries": st["retries"],
            "batches": st["batches"], "flushed": ok, "elapsed_s": t1 - t0, "log_loop_s": t_logged - t0,
            "events_per_s": st["sent"] / (t1 - t0), "client_cpu_pct": 100 * (c1 - c0) / (t1 - t0),
            "server_cpu_pct": 100 * (s1 - s0) / (t1 - t0)}


def log_cost(server: ArgusServer, calls: int) -> dict[str, Any]:
    import argusml

    pool = feature_pool(11)
    pc = time.perf_counter_ns
    # the timer's own cost (two back-to-back reads)
    tim = np.empty(calls, dtype=np.int64)
    for i in range(calls):
        a = pc()
        tim[i] = pc() - a
    out: dict[str, Any] = {"timer_ns": float(np.median(tim))}
    for variant, ids in (("sdk_id", None), ("given_id", [f"req-{i:09d}" for i in range(calls)])):
        client = argusml.Client(server.url, model=MODEL)
        log = client.log
        for i in range(2000):  # warm-up: allocations, the sender thread's first connection
            log(features=pool[i % POOL], prediction=0.5, latency_ms=4.2)
        client.flush(timeout=60)
        d = np.empty(calls, dtype=np.int64)
        if ids is None:
            for i in range(calls):
                f = pool[i % POOL]
                a = pc()
                log(features=f, prediction=0.5, latency_ms=4.2)
                d[i] = pc() - a
        else:
            for i in range(calls):
                f, id_ = pool[i % POOL], ids[i]
                a = pc()
                log(id=id_, features=f, prediction=0.5, latency_ms=4.2)
                d[i] = pc() - a
        client.flush(timeout=120)
        st = client.stats.as_dict()
        client.close()
        us = d / 1e3
        out[variant] = {"p50_us": float(np.percentile(us, 50)), "p99_us": float(np.percentile(us, 99)),
                        "p999_us": float(np.percentile(us, 99.9)), "mean_us": float(us.mean()),
                        "max_us": float(us.max()), "dropped": st["dropped"], "sent": st["sent"]}
    return out


# -- memory ---------------------------------------------------------------------------------------------------
def dir_mb(d: Path) -> float:
    return sum(p.stat().st_size for p in d.rglob("*") if p.is_file()) / 2**20


def memory_phase(server: ArgusServer, n: int, procs: int) -> dict[str, Any]:
    first = n // 5
    out: dict[str, Any] = {"n": n, "first": first, "rss_idle_mb": server.rss_mb()}
    peak = [out["rss_idle_mb"]]
    t_last = [time.monotonic()]

    def watch(done: int) -> None:
        with contextlib.suppress(psutil.Error):
            peak[0] = max(peak[0], server.rss_mb())
        if time.monotonic() - t_last[0] >= 15:
            t_last[0] = time.monotonic()
            print(f"  memory: {done:,} events acknowledged this step, server RSS {server.rss_mb():.0f} MiB",
                  file=sys.stderr, flush=True)

    steps = []
    for step, count in enumerate((first, n - first)):
        r = run_load(server, procs=procs, batch=100, warmup=0, duration=0, prefix=f"m{step}", count=count,
                     progress_cb=watch)
        drain_s = server.drain()
        # RSS moves by tens of MB with DuckDB's checkpoints (appended rows are held in memory until
        # one, every 10 s) and the allocator: the settled level is the median of 15 samples over 15 s
        samples = []
        for _ in range(15):
            time.sleep(1.0)
            samples.append(server.rss_mb())
        r["drain_s"] = drain_s
        r["rss_mb"] = statistics.median(samples)
        r["rss_range_mb"] = (min(samples), max(samples))
        steps.append(r)
    out["steps"] = steps
    out["rss_first_mb"] = steps[0]["rss_mb"]
    out["rss_last_mb"] = steps[1]["rss_mb"]
    out["growth_mb"] = out["rss_last_mb"] - out["rss_first_mb"]
    out["peak_mb"] = max(peak[0], out["rss_last_mb"])
    out["disk_mb"] = dir_mb(server.data)
    return out


# -- report ---------------------------------------------------------------------------------------------------
def fmt(x: float, nd: int = 0) -> str:
    if x != x:  # nan
        return "—"
    return f"{x:,.{nd}f}"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def thread_cpu_line(r: dict[str, Any]) -> str:
    """Server CPU by OS thread over the measured window (psutil), named from py-spy's thread list when there is one."""
    tids = {**r.get("thread_names", {}), **(r.get("profile") or {}).get("tids", {})}
    parts = []
    other = 0.0
    for tid, pct in sorted(r["thread_cpu_pct"].items(), key=lambda kv: -kv[1]):
        name = tids.get(tid) or ("MainThread" if tid == r["server_pid"] else None)
        if name == "MainThread":
            name = "MainThread (event loop)"
        if name is None:
            other += pct
        elif pct >= 0.5:
            parts.append(f"{name} {pct:.0f}%")
    parts.append(f"threads without a Python name (DuckDB's, ...) {other:.0f}%")
    parts.append(f"validation worker processes {r.get('worker_cpu_pct', 0.0):.0f}%")
    return ("Server CPU by thread over the measured window (psutil, 100% = one core; server CPU % above includes "
            "the worker processes): " + ", ".join(parts) + ".")


def profile_table(prof: dict[str, Any], title: str) -> list[str]:
    if "error" in prof:
        return [f"{title}: skipped ({prof['error']})", ""]
    wall = prof["seconds"] * prof["rate"]
    waits = {name for name, _ in WAITS}
    cpu = {k: v for k, v in prof["buckets"].items() if k not in waits}
    n_cpu = max(sum(cpu.values()), 1)
    lines = [f"{title}: py-spy {'--native ' if prof['native'] else ''}--threads at {prof['rate']} Hz for "
             f"{prof['seconds']:.0f} s after the measured window, same load (raw stacks: {prof['path']}). "
             "Samples whose leaf is a wait (GIL, lock, poll, fsync) are split off; share = of the other (on-CPU) "
             "samples; cores = samples / (rate x seconds), 1.00 = one thread busy all the time.", "",
             "| where | share of on-CPU samples | cores | by thread |", "|---|---|---|---|"]

    def by_thread(name: str, denom: int) -> str:
        by = sorted(((t, n) for (t, b), n in prof["per_thread_bucket"].items() if b == name), key=lambda x: -x[1])
        return ", ".join(f"{t} {100 * n / denom:.1f}%" for t, n in by[:3])

    for name, c in sorted(cpu.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {name} | {100 * c / n_cpu:.1f}% | {c / wall:.2f} | {by_thread(name, n_cpu)} |")
    for name, c in sorted(((k, v) for k, v in prof["buckets"].items() if k in waits), key=lambda kv: -kv[1]):
        lines.append(f"| {name} | (not CPU) | {c / wall:.2f} | " + ", ".join(
            f"{t} {n / wall:.2f}" for (t, b), n in sorted(prof["per_thread_bucket"].items(), key=lambda kv: -kv[1])
            if b == name) + " |")
    lines.append("")
    return lines


def render(res: dict[str, Any], a: argparse.Namespace, meta: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str, str, str]] = []
    http_client = (f"{{procs}} worker processes (multiprocessing) x 1 keep-alive http.client connection, closed loop, "
                   f"orjson pre-serialised bodies (unique id prefix + timestamp now put in per request); "
                   f"{a.warmup:g} s warm-up, {a.duration:g} s measured")
    if "batch" in res:
        r = res["batch"]
        c = http_client.format(procs=a.procs) + ", 100 events/POST"
        rows += [
            ("1 batched HTTP", c, "events/s acknowledged (durable)", fmt(r["events_per_s"]),
             f">= 20,000: {verdict(r['events_per_s'] >= 20_000)}"),
            ("1 batched HTTP", c, "request ack latency p50 ms", fmt(r["p50_ms"], 1), ""),
            ("1 batched HTTP", c, "request ack latency p99 ms", fmt(r["p99_ms"], 1), f"< 50: {verdict(r['p99_ms'] < 50)}"),
            ("1 batched HTTP", c, "requests/s (max latency ms)", f"{fmt(r['requests_per_s'])} ({fmt(r['max_ms'], 1)})", ""),
            ("1 batched HTTP", c, "server CPU % (100 = one core)", fmt(r["server_cpu_pct"]), ""),
            ("1 batched HTTP", c, "client CPU % (all workers); body build µs/request (wall)",
             f"{fmt(r['client_cpu_pct'])}; {fmt(r['build_us'])}", ""),
            ("1 batched HTTP", c, "429 busy / errors", f"{r['busy']} / {r['errors']}", "0 / 0"),
        ]
    if "rate" in res:
        r = res["rate"]
        c = (f"{a.rate_procs} worker processes (multiprocessing) x 1 keep-alive http.client connection, open loop: "
             f"{a.rate / 100:,.0f} requests/s of 100 events offered in all, evenly spaced; a request's latency counts "
             f"from when it was due (a late answer delays the next request and that delay counts too); "
             f"{a.warmup:g} s warm-up, {a.duration:g} s measured")
        ok = r["events_per_s"] >= 0.99 * a.rate and r["p99_ms"] < 50
        rows += [
            ("1b batched HTTP, fixed rate", c, "events/s offered / acknowledged (durable)",
             f"{fmt(a.rate)} / {fmt(r['events_per_s'])}",
             f"all offered acknowledged (>= 99%: the window's edges): {verdict(r['events_per_s'] >= 0.99 * a.rate)}"),
            ("1b batched HTTP, fixed rate", c, "ack latency from the due time p50 / p99 / max ms",
             f"{fmt(r['p50_ms'], 1)} / {fmt(r['p99_ms'], 1)} / {fmt(r['max_ms'], 1)}",
             f"p99 < 50 at >= 20,000 events/s: {verdict(ok)}"),
            ("1b batched HTTP, fixed rate", c, "server CPU % / client CPU %",
             f"{fmt(r['server_cpu_pct'])} / {fmt(r['client_cpu_pct'])}", ""),
            ("1b batched HTTP, fixed rate", c, "429 busy / errors", f"{r['busy']} / {r['errors']}", "0 / 0"),
        ]
    if "single" in res:
        r = res["single"]
        c = http_client.format(procs=a.single_procs) + ", 1 event/POST"
        rows += [
            ("2 single-event HTTP", c, "requests/s acknowledged (= events/s)", fmt(r["requests_per_s"]),
             f">= 1,500: {verdict(r['requests_per_s'] >= 1500)}"),
            ("2 single-event HTTP", c, "request ack latency p50 ms", fmt(r["p50_ms"], 1), ""),
            ("2 single-event HTTP", c, "request ack latency p99 ms", fmt(r["p99_ms"], 1), ""),
            ("2 single-event HTTP", c, "server CPU % (100 = one core)", fmt(r["server_cpu_pct"]), ""),
            ("2 single-event HTTP", c, "client CPU % (all workers)", fmt(r["client_cpu_pct"]), ""),
            ("2 single-event HTTP", c, "429 busy / errors", f"{r['busy']} / {r['errors']}", "0 / 0"),
        ]
    if "sdk" in res:
        r = res["sdk"]
        c = (f"argusml.Client in this process (batch_size 500, flush_interval 0.5 s, max_buffer {max(r['n'], 100_000):,}); "
             f"{r['n']:,} x log() as fast as possible, then flush()")
        rows += [
            ("3 SDK end to end", c, "events/s delivered (log start -> flush done)", fmt(r["events_per_s"]), ""),
            ("3 SDK end to end", c, "sent / dropped / failed / retries",
             f"{r['sent']:,} / {r['dropped']:,} / {r['failed']:,} / {r['retries']:,}", f"{r['n']:,} / 0 / 0 / 0"),
            ("3 SDK end to end", c, "elapsed s (of which the log() loop)", f"{r['elapsed_s']:.2f} ({r['log_loop_s']:.2f})", ""),
            ("3 SDK end to end", c, "client process CPU % / server CPU %",
             f"{fmt(r['client_cpu_pct'])} / {fmt(r['server_cpu_pct'])}", ""),
        ]
    if "log" in res:
        r = res["log"]
        for variant, label in (("sdk_id", "id generated by the SDK (random prefix + counter)"), ("given_id", "id given by the caller")):
            v = r[variant]
            c = (f"argusml.Client (defaults), {a.log_calls:,} log() calls back to back with a 25-feature dict, each timed "
                 f"with perf_counter_ns (timer pair {r['timer_ns']:.0f} ns, included); server live, sender thread running")
            rows += [
                ("4 Client.log() cost", c, f"{label}: p50 µs", fmt(v["p50_us"], 2), f"< 20: {verdict(v['p50_us'] < 20)}"),
                ("4 Client.log() cost", c, f"{label}: p99 / p99.9 / max µs",
                 f"{fmt(v['p99_us'], 1)} / {fmt(v['p999_us'], 1)} / {fmt(v['max_us'], 0)}", ""),
                ("4 Client.log() cost", c, f"{label}: dropped", f"{v['dropped']:,}", "0"),
            ]
    if "memory" in res:
        r = res["memory"]
        c = f"{a.procs} worker processes as in phase 1, fixed event count, 100 events/POST, timestamp = now"
        s0, s1 = r["steps"]
        rows += [
            ("5 memory", c, "server RSS idle (after start) MiB", fmt(r["rss_idle_mb"]), ""),
            ("5 memory", c, f"server RSS after {r['first']:,} events, queue drained: median of 15 s (range), MiB",
             f"{fmt(r['rss_first_mb'])} ({fmt(r['steps'][0]['rss_range_mb'][0])}-{fmt(r['steps'][0]['rss_range_mb'][1])})", ""),
            ("5 memory", c, f"server RSS after {r['n']:,} events, queue drained: median of 15 s (range), MiB",
             f"{fmt(r['rss_last_mb'])} ({fmt(r['steps'][1]['rss_range_mb'][0])}-{fmt(r['steps'][1]['rss_range_mb'][1])})", ""),
            ("5 memory", c, f"RSS growth {r['first']:,} -> {r['n']:,} MiB", fmt(r["growth_mb"], 1),
             f"< 50 MB: {verdict(r['growth_mb'] * 1.048576 < 50)}"),
            ("5 memory", c, "peak RSS sampled every 0.5 s, MiB", fmt(r["peak_mb"]), ""),
            ("5 memory", c, "events/s during the two steps (server CPU %)",
             f"{fmt(s0['events_per_s'])} ({fmt(s0['server_cpu_pct'])}); {fmt(s1['events_per_s'])} ({fmt(s1['server_cpu_pct'])})",
             ""),
            ("5 memory", c, "429 busy / errors", f"{s0['busy'] + s1['busy']} / {s0['errors'] + s1['errors']}", "0 / 0"),
            ("5 memory", c, "--data directory size MiB (bytes/event)",
             f"{fmt(r['disk_mb'])} ({fmt(r['disk_mb'] * 2**20 / r['n'])})", ""),
        ]
    m = meta["machine"]
    lines = [
        "# Collector ingest benchmark (generated by bench/bench_ingest.py)", "",
        f"Run {meta['started']} -> {meta['finished']}{' (--quick: a smoke run, not a result)' if a.quick else ''}; "
        f"argus {m['argus']}; code under test: {meta['source']} (checkout: git {m['git']}); Python {m['python']}; "
        f"{meta['versions']}.", "",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {meta['mem_gb']:.0f} GiB RAM; --data on {meta['fs']}; "
        f"load before: {meta['load_before']}; after: {meta['load_after']}. The load client runs on the same CPUs as "
        "the server (client CPU % is reported).", "",
        "Durability as in production: `argus serve --log-level warning`, one process, defaults; a 200 is sent only "
        "after the events' raw lines are appended to the model's event log and fsynced (their DuckDB index rows "
        "follow in bulk; a kill -9 loses nothing acknowledged: tests/test_durability.py). Each phase: fresh server, fresh "
        "--data directory, model `bench` (25 numeric features f0..f24 + prediction `score`, window 5m).", "",
        "| phase | client | metric | value | target |", "|---|---|---|---|---|",
    ]
    lines += [f"| {p} | {c} | {mtr} | {v} | {t} |" for p, c, mtr, v, t in rows]
    lines.append("")
    for key, title in (("batch", "Where the server's time goes, phase 1 (batched)"),
                       ("single", "Where the server's time goes, phase 2 (single-event)")):
        if key in res and "profile" in res[key]:
            lines += profile_table(res[key]["profile"], title)
        if key in res and "thread_cpu_pct" in res[key]:
            lines += [thread_cpu_line(res[key]), ""]
        if key in res and res[key].get("slow_at_s"):
            lines += [f"Phase {'1' if key == 'batch' else '2'}: the requests slower than p99 finished at these seconds into "
                      "the measured window (a regular pattern points at a periodic stall: snapshot, checkpoint, "
                      "window close): " + ", ".join(f"{x:g}" for x in res[key]["slow_at_s"]) + ".", ""]
    errs = [f"{k}: {r['first_error']}" for k, r in res.items() if isinstance(r, dict) and r.get("first_error")]
    if "memory" in res:
        errs += [f"memory step {i}: {s['first_error']}" for i, s in enumerate(res["memory"]["steps"]) if s["first_error"]]
    if errs:
        lines += ["First errors seen:", "", *[f"- {e}" for e in errs], ""]
    return "\n".join(lines)


def fs_of(path: Path) -> str:
    best = ("?", "?", "")
    with open("/proc/mounts") as f:
        for line in f:
            dev, mnt, typ = line.split()[:3]
            if str(path).startswith(mnt) and len(mnt) > len(best[2]):
                best = (dev, typ, mnt)
    return f"{best[1]} ({best[0]} at {best[2]})"


def versions() -> str:
    import importlib

    out = []
    for name in ("uvicorn", "uvloop", "httptools", "duckdb", "fastapi", "orjson"):
        try:
            out.append(f"{name} {importlib.import_module(name).__version__}")
        except Exception:
            out.append(f"{name} absent")
    return ", ".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="every phase small: a check that the script works")
    ap.add_argument("--phases", default="batch,rate,single,sdk,log,memory")
    ap.add_argument("--duration", type=float, default=20.0, help="measured seconds of phases 1 and 2")
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--procs", type=int, default=4, help="load worker processes, batched phase and memory phase")
    ap.add_argument("--single-procs", type=int, default=8, help="load worker processes, single-event phase")
    ap.add_argument("--rate", type=float, default=20_000, help="offered events/s of the open-loop phase (rate)")
    ap.add_argument("--rate-procs", type=int, default=8, help="load worker processes, open-loop phase")
    ap.add_argument("--profile-seconds", type=float, default=10.0, help="py-spy after phases 1 and 2 (0: off)")
    ap.add_argument("--sdk-events", type=int, default=200_000)
    ap.add_argument("--log-calls", type=int, default=100_000)
    ap.add_argument("--events-memory", type=int, default=5_000_000)
    ap.add_argument("--argus-ref", default="HEAD",
                    help="git commit whose src/ is benchmarked (exported, fixed for the run); 'worktree': as it is")
    ap.add_argument("--tmp", default=None, help="parent of the temp dir (default: the system's)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (server logs, data, py-spy stacks)")
    ap.add_argument("--out", default=None, help="also write the Markdown here (default: bench/results/ingest.md "
                                                "for a full run, nothing for --quick)")
    a = ap.parse_args()
    if a.quick:
        a.duration, a.warmup = min(a.duration, 5.0), min(a.warmup, 1.0)
        a.profile_seconds = min(a.profile_seconds, 5.0)
        a.sdk_events, a.log_calls = min(a.sdk_events, 50_000), min(a.log_calls, 20_000)
        a.events_memory = min(a.events_memory, 300_000)
    out_path = a.out or (None if a.quick else str(HERE / "results" / "ingest.md"))
    phases = [p.strip() for p in a.phases.split(",") if p.strip()]
    unknown = set(phases) - {"batch", "rate", "single", "sdk", "log", "memory"}
    if unknown:
        ap.error(f"unknown phases {sorted(unknown)}")

    global ARGUS_SRC
    work = Path(tempfile.mkdtemp(prefix="argus-bench-ingest-", dir=a.tmp))
    if a.argus_ref != "worktree":
        commit = subprocess.run(["git", "rev-parse", a.argus_ref], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        ARGUS_SRC = str(work / "argus-src")
        os.makedirs(ARGUS_SRC)
        archive = subprocess.run(["git", "archive", commit, "src"], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "--strip-components=1", "-C", ARGUS_SRC], input=archive, check=True)
        sys.path.insert(0, ARGUS_SRC)
        source = f"src/ of {a.argus_ref} = commit {commit[:10]} (exported; working-tree edits not included)"
    else:
        source = "the working tree as it was at the start"
    import argusml
    import benchenv

    if a.argus_ref != "worktree" and not argusml.__file__.startswith(ARGUS_SRC):
        sys.exit(f"argusml imported from {argusml.__file__}, not from the exported {ARGUS_SRC}")
    with open("/proc/loadavg") as f:
        load_before = " ".join(f.read().split()[:3])
    meta: dict[str, Any] = {"started": dt.datetime.now().isoformat(timespec="seconds"), "machine": benchenv.machine(),
                            "mem_gb": psutil.virtual_memory().total / 2**30, "fs": fs_of(work),
                            "load_before": load_before, "versions": versions(), "source": source}
    print(f"work dir {work}; code under test: {source}", file=sys.stderr)
    cfg = write_config(work / "config")
    res: dict[str, Any] = {}
    try:
        for phase in phases:
            print(f"phase {phase} ...", file=sys.stderr, flush=True)
            server = ArgusServer(work, phase, cfg)
            try:
                server.wait_ready()
                if phase == "batch":
                    res[phase] = run_load(server, procs=a.procs, batch=100, warmup=a.warmup, duration=a.duration,
                                          prefix="b", profile_s=a.profile_seconds, profile_out=work / "pyspy-batch.txt")
                elif phase == "rate":
                    res[phase] = run_load(server, procs=a.rate_procs, batch=100, warmup=a.warmup, duration=a.duration,
                                          prefix="r", rate=a.rate / 100)
                elif phase == "single":
                    res[phase] = run_load(server, procs=a.single_procs, batch=1, warmup=a.warmup, duration=a.duration,
                                          prefix="s", profile_s=a.profile_seconds, profile_out=work / "pyspy-single.txt")
                elif phase == "sdk":
                    res[phase] = sdk_throughput(server, a.sdk_events)
                elif phase == "log":
                    res[phase] = log_cost(server, a.log_calls)
                elif phase == "memory":
                    res[phase] = memory_phase(server, a.events_memory, a.procs)
            finally:
                server.stop()
            r = res.get(phase, {})
            print("  " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()
                                   if isinstance(v, (int, float, str)) and k != "first_error"), file=sys.stderr)
    finally:
        with open("/proc/loadavg") as f:
            meta["load_after"] = " ".join(f.read().split()[:3])
        meta["finished"] = dt.datetime.now().isoformat(timespec="seconds")
        # the py-spy stacks go next to the report when one is written; the temp dir goes unless --keep
        for p in work.glob("pyspy-*.txt"):
            prof = next((r["profile"] for r in res.values() if isinstance(r, dict) and isinstance(r.get("profile"), dict)
                         and r["profile"].get("path") == str(p)), None)
            if out_path:
                raw = HERE / "results" / "raw"
                raw.mkdir(parents=True, exist_ok=True)
                dest = raw / f"ingest-{dt.datetime.now():%Y%m%d-%H%M%S}-{p.name}"
                shutil.copy(p, dest)
                if prof is not None:
                    prof["path"] = str(dest.relative_to(ROOT))
            elif not a.keep and prof is not None:
                prof["path"] = "not kept: pass --keep or --out"
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    md = render(res, a, meta)
    print(md)
    if out_path:
        Path(out_path).write_text(md + "\n")
        print(f"wrote {out_path}", file=sys.stderr)


if __name__ == "__main__":
    main()

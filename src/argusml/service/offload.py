"""Decode and validate event batches in worker processes.

One process owns the monitor's state (dedup, windows, the store), and the
GIL lets it use one core for Python: measured on 2 cores, one `argus serve`
saturated with JSON decoding and validation a large part of the request
thread's work (docs/BENCHMARKS.md, "Figures behind the code"). They need no shared state, only
the model's validation plan (schemas, skew, redaction), so they run here,
in worker processes, and the owner keeps HTTP, dedup, writing and folding.

Protocol, over a socketpair per worker (reachable by nobody else, so pickle
is safe): a request frame is ``(req_id, model, generation, plan | None,
body, ndjson, now)``; the plan is sent once per worker and generation. The
answer is ``(req_id, kind, payload)``. A worker that dies fails its
requests over to validation in the owner, and the pool carries on without
it; nothing is lost, the request is only slower.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import pickle
import socket
import struct
from typing import Any

from argusml.monitor.events import BodyError, EventBatch, EventRecord, Problem, decode_body
from argusml.monitor.state import Validated, ValidationPlan

log = logging.getLogger("argus.offload")

_LEN = struct.Struct("!I")
MAX_EVENTS_PER_REQUEST = 50_000


class TooManyEvents(ValueError):
    """More items in one request than MAX_EVENTS_PER_REQUEST (the edge answers 413)."""


class WorkerGone(RuntimeError):
    """No worker could validate this request; the owner validates it itself."""


def decode_and_validate(plan: ValidationPlan, body: bytes, ndjson: bool, now: float) -> Validated:
    """What one request's events need before the owner dedups them; raises BodyError or TooManyEvents."""
    items, problems = decode_body(body, ndjson)
    if len(items) > MAX_EVENTS_PER_REQUEST:
        raise TooManyEvents(f"{len(items)} items in one request; at most {MAX_EVENTS_PER_REQUEST}")
    return plan.validate(items, now, problems)


def _pack(v: Validated, plan: ValidationPlan) -> tuple[Any, ...]:
    """The owner needs the columns and, of an event's features, only those windows are segmented by
    (the raw payload is already serialised): pickling every feature value twice was a measurable cost to
    the owner (docs/BENCHMARKS.md, "Figures behind the code").
    A model with per-version references gets them all: its other versions' columns are rebuilt
    from the features when they fold."""
    # an LLM model's sessions read each event's derived columns (monitor/llm.py): it gets them all
    keep = plan.segments if len(plan.schemas) == 1 and plan.llm is None else None
    recs = [(r.id, r.version, r.ts, r.features if keep is None else {k: r.features[k] for k in keep if k in r.features},
             r.prediction, r.segment, r.latency_ms, r.status, r.pred_value, r.pred_label, r.payload, r.resources,
             r.stages, r.fallback, r.cost, r.llm, r.judge_input)
            for r in v.batch.records]
    probs = [[(p.index, p.field, p.error, p.reason) for p in ps] for ps in (v.rejected, v.warnings)]
    return v.generation, recs, v.batch.columns, v.batch.extra, v.batch.dirty, v.indexes, *probs


def _unpack(t: tuple[Any, ...]) -> Validated:
    generation, recs, columns, extra, dirty, indexes, rejected, warnings = t
    records = []
    for id_, version, ts, feats, pred, seg, lat, status, pv, pl, payload, res, stages, fallback, cost, llm, judge in recs:
        # an LLM event's kept object: its embeddings and session are folded, its tenant and tokens costed
        r = EventRecord(id_, version, ts, feats, pred, seg, lat, status, res, stages, fallback, cost, llm)
        r.pred_value, r.pred_label, r.payload, r.judge_input = pv, pl, payload, judge
        records.append(r)
    batch = EventBatch(records, columns, extra, None, dirty)  # the owner puts its own schema object in
    return Validated(generation, batch, indexes, [Problem(*p) for p in rejected], [Problem(*p) for p in warnings])


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def worker_main(sock: socket.socket) -> None:
    """A worker's loop: until the owner closes its end (or dies: the same EOF)."""
    plans: dict[str, ValidationPlan] = {}
    try:
        while True:
            (n,) = _LEN.unpack(_recv_exact(sock, _LEN.size))
            req_id, model, generation, plan, body, ndjson, now = pickle.loads(_recv_exact(sock, n))
            if plan is not None:
                plans[model] = plan
            try:
                p = plans.get(model)
                if p is None or p.generation != generation:
                    out: tuple[Any, ...] = (req_id, "stale", None)
                else:
                    out = (req_id, "ok", _pack(decode_and_validate(p, body, ndjson, now), p))
            except BodyError as exc:
                out = (req_id, "body_error", str(exc))
            except TooManyEvents as exc:
                out = (req_id, "too_many", str(exc))
            except Exception as exc:  # a bug here must not take the worker down: the owner validates instead
                out = (req_id, "error", f"{type(exc).__name__}: {exc}")
            data = pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
            sock.sendall(_LEN.pack(len(data)) + data)
    except (EOFError, ConnectionError, KeyboardInterrupt):
        return


class _Worker:
    def __init__(self, proc: Any, sock: socket.socket) -> None:
        self.proc = proc
        self.sock = sock
        self.writer: asyncio.StreamWriter | None = None
        self.connecting: asyncio.Task[None] | None = None  # one connection, however many requests ask at once
        self.reader_task: asyncio.Task[None] | None = None
        self.pending: dict[int, asyncio.Future[tuple[str, Any]]] = {}
        self.sent: dict[str, int] = {}  # model -> generation of the plan this worker has
        self.alive = True


class ValidatorPool:
    """``n`` worker processes; ``validate`` sends a request's body to the least busy one."""

    def __init__(self, n: int) -> None:
        ctx = mp.get_context("spawn")  # not fork: the owner runs threads (writer, folder, DuckDB's)
        self.workers: list[_Worker] = []
        for i in range(n):
            parent, child = socket.socketpair()
            proc = ctx.Process(target=worker_main, args=(child,), name=f"argus-validator-{i}", daemon=True)
            proc.start()
            child.close()
            self.workers.append(_Worker(proc, parent))
        self._next_id = 0
        self.fallbacks = 0  # requests validated in the owner because a worker failed them
        self.validated = 0  # requests a worker validated

    @property
    def alive(self) -> int:
        return sum(w.alive for w in self.workers)

    async def _connect(self, w: _Worker) -> None:
        reader, writer = await asyncio.open_unix_connection(sock=w.sock, limit=2**26)
        w.writer = writer
        w.reader_task = asyncio.get_running_loop().create_task(self._read(w, reader))

    async def _read(self, w: _Worker, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                (n,) = _LEN.unpack(await reader.readexactly(_LEN.size))
                req_id, kind, payload = pickle.loads(await reader.readexactly(n))
                fut = w.pending.pop(req_id, None)
                if fut is not None and not fut.done():
                    fut.set_result((kind, payload))
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
            self._lost(w, exc)

    def _lost(self, w: _Worker, exc: BaseException) -> None:
        if w.alive:
            log.error("validation worker %s is gone (%s); validating in the server process instead",
                      w.proc.name, type(exc).__name__)
        w.alive = False
        for fut in w.pending.values():
            if not fut.done():
                fut.set_exception(WorkerGone(w.proc.name))
        w.pending.clear()

    async def validate(self, model: str, plan: ValidationPlan, body: bytes, ndjson: bool,
                       now: float) -> Validated:
        """Raises BodyError, TooManyEvents, or WorkerGone when no worker could do it (then validate here)."""
        live = [w for w in self.workers if w.alive]
        if not live:
            raise WorkerGone("no validation worker")
        w = min(live, key=lambda x: len(x.pending))
        if w.writer is None:
            if w.connecting is None:
                w.connecting = asyncio.get_running_loop().create_task(self._connect(w))
            await w.connecting
        assert w.writer is not None
        self._next_id += 1
        req_id = self._next_id
        send_plan = plan if w.sent.get(model) != plan.generation else None
        data = pickle.dumps((req_id, model, plan.generation, send_plan, body, ndjson, now),
                            protocol=pickle.HIGHEST_PROTOCOL)
        fut: asyncio.Future[tuple[str, Any]] = asyncio.get_running_loop().create_future()
        w.pending[req_id] = fut
        try:
            w.writer.write(_LEN.pack(len(data)) + data)
            await w.writer.drain()
        except (ConnectionError, OSError) as exc:
            self._lost(w, exc)
            raise WorkerGone(w.proc.name) from None
        w.sent[model] = plan.generation
        kind, payload = await fut
        if kind == "ok":
            self.validated += 1
            return _unpack(payload)
        if kind == "body_error":
            raise BodyError(payload)
        if kind == "too_many":
            raise TooManyEvents(payload)
        if kind == "stale":  # the worker's plan is not this one (cannot happen in order; be safe)
            w.sent.pop(model, None)
        else:
            log.error("validation worker %s failed a request: %s", w.proc.name, payload)
        raise WorkerGone(w.proc.name)

    def close(self) -> None:
        for w in self.workers:
            if w.reader_task is not None:
                w.reader_task.cancel()
            try:
                w.sock.close()  # the worker sees EOF and exits
            except OSError:
                pass  # already closed
        for w in self.workers:
            w.proc.join(5)
            if w.proc.is_alive():
                w.proc.kill()

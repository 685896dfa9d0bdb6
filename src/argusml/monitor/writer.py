"""The writer and the indexer: how an accepted request becomes durable, acknowledged and indexed.

The **writer thread** takes everything queued (``Writer.submit``), appends the
raw events to the raw log with one fsync (group commit: one fsync for many
requests), and only then resolves the requests' futures, so a 200 means
durable. It numbers the events (``seq``), hands their records on to the fold
thread (``Writer.written``) and their index rows to the **indexer thread**,
which commits index rows to DuckDB in bulk. Labels and outcomes are matched
against that index, so they wait for it and are committed with it before
they are answered.

An event is durable once its raw line is fsynced (rawlog.py): that is when it is acknowledged.
Its index row (the compact prediction row in DuckDB) goes to the indexer thread, which
commits rows in bulk: a DuckDB commit costs CPU whatever its size, and a large insert takes
longer still (docs/BENCHMARKS.md, "Figures behind the code"), so neither may sit between an
event and its acknowledgement. The
indexer commits when it holds ``index_rows`` rows or its oldest is ``index_every`` seconds
old, when an event resolves a pending label, and on a barrier: before labels are matched
against the index, with the labels themselves, on ``flush_index`` and at stop. After a crash
``start`` re-indexes the raw tail the index lacks (``recovery.py``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from argusml.monitor.backlog import Backlog
from argusml.monitor.events import EventBatch, EventRecord
from argusml.monitor.labels import LabelRecord
from argusml.monitor.ops import count_ops
from argusml.monitor.settings import Settings
from argusml.monitor.state import ModelState
from argusml.store import Store
from argusml.store.rawlog import encode_line
from argusml.store.rows import EventRows, LabelRows

log = logging.getLogger("argus.monitor")

Folding = list[tuple[ModelState, EventBatch, float]]
"""What the writer hands on to the fold thread per cycle: each request's batch, with its model and arrival."""


class BackfillBatch(EventBatch):
    """A backfill request's events (``Monitor.accept_events`` with ``backfill``): the fold thread places each
    by its own time (``Fold.fold_backfill``) instead of treating the old ones as too late. ``width``: the
    windows it may open, counted in ``ModelState.backfill_queued`` until it is folded."""

    __slots__ = ("width",)

    def __init__(self, *args: Any, width: int = 0, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.width = width


class WriteItem:
    """A request's accepted events or labels on their way to the writer (``model`` None: a flush request)."""

    __slots__ = ("batch", "future", "is_labels", "keys", "labels", "model", "outcomes", "records", "rows")

    def __init__(self, model: ModelState | None, batch: EventBatch | None, labels: list[LabelRecord] | None,
                 keys: list[int], outcomes: bool = False) -> None:
        self.model = model  # type: ignore[assignment]
        self.batch = batch
        self.records = batch.records if batch is not None else []
        self.labels = labels or []
        self.keys = keys
        self.is_labels = labels is not None  # labels or outcomes: matched against the index by the writer
        self.outcomes = outcomes
        self.rows = len(self.records) + len(self.labels)
        self.future: Future[dict[str, Any]] = Future()


@dataclass
class _Effect:
    """What the writer did with one request's labels or outcomes."""

    pending: list[str] = field(default_factory=list)  # ids whose prediction is not known yet
    lags: list[float] = field(default_factory=list)  # label lag of first labels joined now
    joined_again: int = 0  # corrections of labels already joined
    duplicates: int = 0  # the same label (or outcome) as stored: not stored again
    corrected: int = 0  # a different label for an id that had one: stored, and it counts from now on


def segment_json(rec: EventRecord, dims: list[str]) -> str | None:
    """The index's segment column: the event's ``segment`` object, plus the configured segment dimensions
    read from its features (as windows read them, ``Folder.segment_of``), spelled as text. Performance per
    segment is computed from this column long after the features are gone (raw events are kept less long)."""
    seg = rec.segment
    if dims:
        found = {}
        for d in dims:
            v = seg.get(d) if seg else None
            if v is None:
                v = rec.features.get(d)
            if v is not None and type(v) not in (dict, list):
                found[d] = str(v)[:100]
        if found:
            seg = {**seg, **found} if seg else found
    return orjson.dumps(seg).decode() if seg else None


def index_row(rows: EventRows, rec: EventRecord, model: str, arrival: float, dims: list[str]) -> None:
    """Add an event's index row: what the writer commits for it, and the restart re-indexes from the raw log."""
    rows.add(rec.seq, model, rec.version, rec.id, rec.ts, arrival, rec.pred_value, rec.pred_label,
             segment_json(rec, dims) if dims or rec.segment else None, probabilities_json(rec), rec.latency_ms,
             rec.status, True if rec.fallback else None)


def probabilities_json(rec: EventRecord) -> str | None:
    """The index's probabilities column: a ``{class: probability}`` prediction as sent, which a multiclass
    model's label-free estimates (CBPE) read whole; null for any other prediction."""
    return orjson.dumps(rec.prediction).decode() if type(rec.prediction) is dict else None


class Writer:
    """The writer and indexer threads, with what they hold: the queue of accepted requests, the index rows
    not yet committed, the sequence numbers of events and labels, and the writer's counters."""

    def __init__(self, store: Store, settings: Settings, clock: Callable[[], float], backlog: Backlog,
                 report: Callable[[str | None], None]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.backlog = backlog
        self.report = report  # the monitor's last error: set on a failed write, cleared by the next good one
        self._queue: queue.Queue[WriteItem | None] = queue.Queue()
        self.written: queue.Queue[Folding | None] = queue.Queue()  # -> the fold thread; None: stopped
        # the event counters the writer keeps and the sequence they count through, read together by snapshots
        self.counters_lock = threading.Lock()
        self.counted_seq = 0
        self.stats = {"transactions": 0, "rows": 0, "seconds": 0.0, "store_seconds": 0.0, "requests": 0,
                      "index_flushes": 0}
        self._ibuf = EventRows()  # acknowledged, not yet indexed
        self._ibuf_since = 0.0
        self._ibuf_joined: list[tuple[ModelState, str, float, float]] = []
        self._index_error: str | None = None
        self._index_q: queue.Queue[Any] = queue.Queue()  # writer -> indexer: ("rows", ...), ("barrier", ...), None
        self._wbuf = EventRows()  # the writer's, not handed over yet
        self._wbuf_joined: list[tuple[ModelState, str, float, float]] = []
        self._wbuf_since = 0.0
        self.seq = 0
        self.lseq = 0  # the order labels were stored in: the latest for an id is the one that counts
        self.running = False
        self.inflight: float | None = None  # clock of the write in progress

    def start(self) -> list[threading.Thread]:
        self.running = True
        threads = [threading.Thread(target=target, name=name, daemon=True)
                   for target, name in ((self.run, "argus-writer"), (self.run_indexer, "argus-indexer"))]
        for t in threads:
            t.start()
        return threads

    def stop(self) -> None:
        """Everything queued before is written, then both threads end (the fold thread is told by ``written``)."""
        self.running = False
        self._queue.put(None)

    def submit(self, item: WriteItem) -> None:
        self.backlog.count(writer=item.rows)
        self._queue.put(item)

    def run(self) -> None:
        """The writer thread: each cycle takes whatever is queued (up to ``Settings.max_batch_rows``), writes
        it with one fsync and answers it; the index rows of quiet cycles are handed on after ``index_every / 2``."""
        while True:
            timeout = None
            if self._wbuf_joined or len(self._wbuf):
                timeout = max(0.0, self._wbuf_since + self.settings.index_every / 2 - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                self._hand_over()
                continue
            if item is None:
                break
            items = [item]
            rows = item.rows
            stop = False
            while rows < self.settings.max_batch_rows:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                items.append(nxt)
                rows += nxt.rows
            try:
                self._write(items)
            except Exception as exc:  # pragma: no cover - _write resolves futures itself; this keeps the thread alive
                log.exception("writer error")
                for i in items:
                    if not i.future.done():
                        i.future.set_exception(exc)
            if stop:
                break
        self._hand_over()
        self._index_q.put(None)
        self.written.put(None)

    def _hand_over(self) -> None:
        """Pass the index rows gathered over writer cycles to the indexer (one wake-up for many cycles:
        with single-event requests a hand-over per cycle cost a measurable share of the throughput:
        docs/BENCHMARKS.md, "Figures behind the code")."""
        if len(self._wbuf) or self._wbuf_joined:
            self._index_q.put(("rows", self._wbuf, self._wbuf_joined))
            self._wbuf = EventRows()
            self._wbuf_joined = []

    def _write(self, items: list[WriteItem]) -> None:
        started = time.perf_counter()
        try:
            self._write_items([i for i in items if i.model is not None])
        finally:
            for i in items:
                if i.model is None:  # a flush request (flush_index): answered by the indexer
                    self._hand_over()
                    self._index_q.put(("barrier", i.future, None, None))
            ws = self.stats
            ws["transactions"] += 1
            ws["requests"] += len(items)
            ws["rows"] += sum(i.rows for i in items)
            ws["seconds"] += time.perf_counter() - started

    def flush_index(self, timeout: float = 30.0) -> None:
        """Wait until every acknowledged event has its index row in DuckDB (tests, demos, reads that count)."""
        if not self.running:
            self._try_flush_index()
            return
        item = WriteItem(None, None, None, [])
        self._queue.put(item)  # through the writer: everything acknowledged before is handed on first
        item.future.result(timeout)

    def _barrier(self, labels: pa.Table | None = None, now: float | None = None) -> None:
        """From the writer: wait until the indexer committed everything handed to it (and ``labels``)."""
        fut: Future[dict[str, Any]] = Future()
        self._hand_over()
        self._index_q.put(("barrier", fut, labels, now))
        fut.result()

    def run_indexer(self) -> None:
        """The indexer thread: commits when it holds ``Settings.index_rows`` rows, when its oldest is
        ``index_every`` old, when a row resolves a pending label, and on every barrier."""
        while True:
            timeout = None
            if len(self._ibuf):
                timeout = max(0.0, self._ibuf_since + self.settings.index_every - time.monotonic())
            try:
                msg = self._index_q.get(timeout=timeout)
            except queue.Empty:
                self._try_flush_index()
                continue
            if msg is None:
                self._try_flush_index()
                return
            if msg[0] == "rows":
                _, rows, joined = msg
                if not len(self._ibuf):
                    self._ibuf_since = time.monotonic()
                self._ibuf.extend(rows)
                self._ibuf_joined.extend(joined)
                if self._ibuf_joined or len(self._ibuf) >= self.settings.index_rows:
                    self._try_flush_index()
            else:
                _, fut, labels, now = msg
                try:
                    self._flush_index(labels, now)
                    fut.set_result({})
                except Exception as exc:
                    fut.set_exception(exc)

    def _try_flush_index(self) -> None:
        try:
            self._flush_index()
        except Exception as exc:  # kept in the buffer: the next flush retries; the events are durable already
            self._index_error = f"index write failed: {type(exc).__name__}: {exc}"
            self.report(self._index_error)
            log.error("%s (retried at the next flush)", self._index_error)

    def _flush_index(self, labels: pa.Table | None = None, now: float | None = None) -> None:
        """The buffered index rows (and ``labels``, and the label joins the
        buffered events resolve) in one DuckDB transaction. On failure the
        buffer stays for the next try and the exception propagates."""
        n = len(self._ibuf)
        if not n and labels is None:
            return
        now = self.clock() if now is None else now
        ev = self._ibuf.table() if n else None
        joined = self._ibuf_joined
        t0 = time.perf_counter()
        self.store.index(ev, labels, [(st.name, id_, pts) for st, id_, pts, _ in joined], now)
        self.stats["store_seconds"] += time.perf_counter() - t0
        self.stats["index_flushes"] += 1
        self._ibuf = EventRows()
        self._ibuf_joined = []
        self.backlog.count(unindexed=-n)
        for st, id_, pts, label_arrival in joined:
            if label_arrival < 0:  # an outcome
                if st.pending_outcomes.pop(id_, None) is not None:
                    st.metrics.outcomes_joined += 1
            elif st.pending.pop(id_, None) is not None:
                st.metrics.labels_joined += 1
                st.metrics.label_lag.observe_many(np.array([max(0.0, label_arrival - pts)]))
                st.metrics.labels_pending = len(st.pending)
        if self._index_error is not None:
            self._index_error = None
            self.report(None)

    def _fail(self, items: list[WriteItem], exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        self.report(error)
        log.error("write failed: %s", error)
        for i in items:
            i.model.dedup.forget(i.keys)
            i.future.set_exception(exc)
            if type(i.batch) is BackfillBatch:  # never folded: the windows it was to open are not coming
                with self.backlog.lock:
                    i.model.backfill_queued -= i.batch.width
        self.backlog.count(writer=-sum(i.rows for i in items))

    def _write_items(self, items: list[WriteItem]) -> None:
        if not items:
            return
        self.inflight = now = self.clock()  # see Fold._tick: windows do not close past a write in flight
        try:
            label_items = [i for i in items if i.is_labels]
            if label_items:
                try:  # labels are matched against the index: it must hold every acknowledged prediction
                    self._barrier()
                except Exception as exc:
                    self._fail(label_items, exc)
                    items = [i for i in items if not i.is_labels]
                    label_items = []
            ev, lb, joined, label_effects, raw = self._tables(items, now)
            try:
                self.store.append_raw(raw)
            except Exception as exc:
                self._fail(items, exc)
                return
            if len(ev) or joined:
                self.backlog.count(unindexed=len(ev))
                if not len(self._wbuf) and not self._wbuf_joined:
                    self._wbuf_since = time.monotonic()
                self._wbuf.extend(ev)
                self._wbuf_joined.extend(joined)
                if joined or len(self._wbuf) >= 1000:  # batched traffic: about every cycle
                    self._hand_over()
            if lb is not None:
                try:
                    self._barrier(lb, now)
                except Exception as exc:
                    self._fail(label_items, exc)
                    items = [i for i in items if not i.is_labels]
            self.report(self._index_error)  # the raw log took the events; the index may still be failing
            fold: list[tuple[ModelState, EventBatch, float]] = []
            for i in items:
                state = i.model
                if not i.is_labels:
                    if not i.records:  # all duplicates: durable since their first write, which came before
                        i.future.set_result({})
                        continue
                    state.events_total += len(i.records)
                    self._count_events(state, i.records)
                    assert i.batch is not None
                    fold.append((state, i.batch, now))
                    i.future.set_result({})
                else:
                    eff = label_effects[id(i)]
                    m = state.metrics
                    stored = len(i.labels) - eff.duplicates
                    joined_now = len(eff.lags) + eff.joined_again
                    if i.outcomes:
                        m.outcomes += stored
                        m.outcomes_joined += joined_now
                        m.outcome_duplicates += eff.duplicates
                        pend = state.pending_outcomes
                    else:
                        m.labels += stored
                        m.labels_joined += len(eff.lags)
                        m.label_duplicates += eff.duplicates
                        m.label_corrections += eff.corrected
                        m.label_lag.observe_many(np.maximum(np.asarray(eff.lags, dtype=np.float64), 0.0))
                        pend = state.pending
                    for id_ in eff.pending:
                        pend[id_] = now
                    m.labels_pending = len(state.pending)
                    i.future.set_result({"accepted": stored, "duplicates": eff.duplicates, "joined": joined_now,
                                         "pending": len(eff.pending),
                                         **({} if i.outcomes else {"corrected": eff.corrected})})
            self.backlog.count(writer=-sum(i.rows for i in items), fold=sum(len(r) for _, r, _ in fold))
            if fold:
                self.written.put(fold)
        finally:
            self.inflight = None

    def _tables(self, items: list[WriteItem], now: float
                ) -> tuple[EventRows, pa.Table | None, list[tuple[ModelState, str, float, float]],
                           dict[int, _Effect], list[tuple[str, int, list[bytes]]]]:
        """The index rows (column lists) and label table of one writer cycle;
        pending labels and outcomes that these predictions resolve; per label
        or outcome item, what happened to it (``_Effect``); the raw lines per model."""
        ev = EventRows()
        raw: dict[str, tuple[int, list[bytes]]] = {}  # model -> (first seq, raw log lines)
        joined: list[tuple[ModelState, str, float, float]] = []
        for i in items:
            name = i.model.name
            pending, pending_o = i.model.pending, i.model.pending_outcomes
            dims = i.model.config.segments
            if i.records:
                lines = raw.setdefault(name, (self.seq + 1, []))[1]
            for r in i.records:
                self.seq += 1
                r.seq = self.seq
                lines.append(encode_line(self.seq, r.version, r.id, r.ts, now, r.payload))
                index_row(ev, r, name, now, dims)
                if pending and r.id in pending:
                    joined.append((i.model, r.id, r.ts, pending[r.id]))
                if pending_o and r.id in pending_o:
                    joined.append((i.model, r.id, r.ts, -1.0))  # an outcome: no label lag
        lb = None
        effects: dict[int, _Effect] = {}
        cols = LabelRows()
        for i in items:
            if not i.labels:
                continue
            ids = [lr.id for lr in i.labels]
            found = self.store.find_predictions(i.model.name, ids)
            # a prediction in this same transaction counts as found too
            same = {(r.version, r.id): r.ts for j in items if j.model is i.model for r in j.records}
            by_id: dict[str, float] = {}
            for (_v, id_), t in [*found.items(), *same.items()]:
                by_id[id_] = t
            eff = effects[id(i)] = _Effect()
            if i.outcomes:
                seen_o = self.store.outcome_keys(i.model.name, ids)
            else:
                latest = self.store.latest_labels(i.model.name, ids)
            for lr in i.labels:
                key = (lr.version or "", lr.id)
                first = True
                if i.outcomes:
                    okey = (*key, lr.name, lr.label, lr.ts)
                    if okey in seen_o:  # a retried post: the same outcome, already stored
                        eff.duplicates += 1
                        continue
                    seen_o.add(okey)
                else:
                    before = latest.get(key)
                    if before == lr.label:  # the same label again: nothing changes
                        eff.duplicates += 1
                        continue
                    if before is not None:  # a correction: stored beside the earlier one, and from now on it counts
                        eff.corrected += 1
                        first = False
                    latest[key] = lr.label
                pts = found.get((lr.version, lr.id)) if lr.version else by_id.get(lr.id)
                if pts is None and lr.version:
                    pts = same.get((lr.version, lr.id))
                if pts is None:
                    eff.pending.append(lr.id)
                elif first:
                    eff.lags.append(now - pts)
                else:
                    eff.joined_again += 1
                self.lseq += 1
                cols.add(i.model.name, lr.version, lr.id, lr.label, lr.ts, now, "pending" if pts is None else "joined",
                         pts, now if pts is not None else None, self.lseq, lr.name)
        if len(cols):
            lb = cols.table()
        return ev, lb, joined, effects, [(m, first, lines) for m, (first, lines) in raw.items()]

    def _count_events(self, state: ModelState, records: list[EventRecord]) -> None:
        with self.counters_lock:
            self._count_events_locked(state, records)
            self.counted_seq = records[-1].seq  # the writer counts in sequence order

    def _count_events_locked(self, state: ModelState, records: list[EventRecord]) -> None:
        m = state.metrics
        by_version: dict[str, list[EventRecord]] = {}
        for r in records:
            by_version.setdefault(r.version, []).append(r)
        for v, recs in by_version.items():
            vm = m.version(v)
            vm.events += len(recs)
            for r in recs:
                code = "200" if r.status is None else str(r.status)
                vm.requests[code] = vm.requests.get(code, 0) + 1
            lat = [r.latency_ms for r in recs if r.latency_ms is not None]
            if lat:
                vm.latency.observe_many(np.asarray(lat, dtype=np.float64) / 1000.0)
            count_ops(m, vm, v, recs, state.config.cost)
        newest = max(r.ts for r in records)
        if m.last_event_ts is None or newest > m.last_event_ts:
            m.last_event_ts = newest

"""The fold thread: what the writer wrote is folded into the open windows' profiles, and on each tick the
windows whose end plus lateness has passed close (``closing.py``).

Open windows live in memory and are snapshotted (with the event sequence
they cover) every few seconds and whenever windows close, in the same
transaction as the closed windows (``Fold.snapshot``). After a crash the
service reloads the snapshot and replays the stored events past it
(``recovery.py``), so acknowledged events are never lost from the store nor
from the profiles.
"""

from __future__ import annotations

import functools
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import numpy as np
import orjson

from argusml.llm.judge import JudgeWindow
from argusml.monitor.backlog import Backlog
from argusml.monitor.closing import Closer
from argusml.monitor.events import EventBatch, EventRecord, columns_of, normalize_prediction
from argusml.monitor.failure import stopped_by_store
from argusml.monitor.llm import attach_verdicts, baseline_of, end_sessions, mark_sessions
from argusml.monitor.provisional import provisional_pass
from argusml.monitor.retention import apply_retention
from argusml.monitor.rollups import rollups
from argusml.monitor.settings import Settings
from argusml.monitor.state import ModelState
from argusml.monitor.windows import OVERALL, Folder, embedding_columns
from argusml.monitor.writer import BackfillBatch, Folding, Writer
from argusml.profile import DatasetProfile
from argusml.store import FindingRow, Store, WindowRow

log = logging.getLogger("argus.monitor")


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")

BACKFILL_VERDICT = '{"status":"open","backfill":true}'
"""The verdict of a backfill's open window in a snapshot: what tells it from a live one on recovery."""


class Fold:
    """The fold thread and what it owns: how far it has folded (``folded_seq``, saved with each snapshot)
    and the ticks it completed."""

    def __init__(self, store: Store, settings: Settings, clock: Callable[[], float], models: dict[str, ModelState],
                 lock: threading.RLock, backlog: Backlog, writer: Writer, closer: Closer,
                 report: Callable[[str | None], None]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.models = models
        self.lock = lock  # the open windows vs. reference replacement from the API
        self.backlog = backlog
        self.writer = writer  # what it wrote (``Writer.written``), its write in flight and its counters
        self.closer = closer
        self.report = report
        self.on_closed: Callable[[], None] | None = None  # called once closed windows are committed
        self.folded_seq = 0
        self.ticks = 0  # completed ticks (closing, rollups): lets callers wait for one

    def start(self) -> list[threading.Thread]:
        t = threading.Thread(target=self.run, name="argus-folder", daemon=True)
        t.start()
        return [t]

    def run(self) -> None:
        """The fold thread: folds what the writer wrote, gathering small writes (``fold_gather``) into one
        fold; every ``tick_every`` it closes due windows, takes provisional looks, snapshots and rolls up."""
        # cadences run on the monotonic clock; what is due is decided on the monitor's clock
        last_tick = last_snap = last_retention = last_rollup = -math.inf
        last_checkpoint = time.monotonic()
        while True:
            try:
                batch = self.writer.written.get(timeout=self.settings.tick_every)
            except queue.Empty:
                batch = []
            if batch is None:
                return
            stop = False
            if batch:  # gather what else is coming: one fold of many small writes costs far less
                deadline = time.monotonic() + self.settings.fold_gather
                rows = sum(len(b) for _, b, _ in batch)
                while rows < self.settings.fold_min_rows:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    try:
                        more = self.writer.written.get(timeout=left)
                    except queue.Empty:
                        break
                    if more is None:
                        stop = True
                        break
                    batch.extend(more)
                    rows += sum(len(b) for _, b, _ in more)
            try:
                if batch:
                    self.fold_batch(batch)
                mono, now = time.monotonic(), self.clock()
                if mono - last_tick >= self.settings.tick_every:
                    last_tick = mono
                    closed = self._tick(now)
                    looked = provisional_pass(self.closer, now)
                    if closed or looked or mono - last_snap >= self.settings.snapshot_every:
                        last_snap = mono
                        self.snapshot(closed)
                        if closed and self.on_closed is not None:
                            self.on_closed()  # the alert thread judges them now, not at its next pass
                    # a roll-up is due only after windows close (or, after a restart, at once): no need to
                    # ask the store every tick while events stream in
                    if closed or self.ticks < 3 or mono - last_rollup >= self.settings.snapshot_every:
                        last_rollup = mono
                        rollups(self.closer, now)
                    self.ticks += 1
                if mono - last_retention >= self.settings.retention_every:
                    last_retention = mono
                    apply_retention(self.store, self.models, now)
                if mono - last_checkpoint >= self.settings.checkpoint_every:
                    last_checkpoint = mono
                    self.store.checkpoint()
            except Exception as exc:  # the loop must survive anything one window throws
                self.report(f"{type(exc).__name__}: {exc}")
                if stopped_by_store(self.store, "fold"):
                    return
                log.exception("fold loop error")
            if stop:
                return

    def fold_batch(self, batch: Folding) -> None:
        """Fold what the writer handed on (consecutive requests of a model coalesced into one fold), under
        ``lock``, and count it off the backlog."""
        n = 0
        for state, eb, _ in batch:
            if type(eb) is BackfillBatch:
                with self.backlog.lock:
                    state.backfill_queued -= eb.width
        with self.lock:
            for state, eb, arrival in _coalesce(batch):
                if type(eb) is BackfillBatch:
                    self.fold_backfill(state, eb, arrival)
                else:
                    self.fold(state, eb, arrival)
                n += len(eb)
                self.folded_seq = max(self.folded_seq, eb.records[-1].seq)
        self.backlog.count(fold=-n)

    def fold(self, state: ModelState, batch: EventBatch, arrival: float | np.ndarray,
             folder: Folder | None = None) -> None:
        """Fold a batch version by version; the batch's own columns serve when
        its schema is the version's (the common case), else they are rebuilt.
        ``folder``: the live windows unless given (a backfill's)."""
        if state.sessions is not None and mark_sessions(state, batch.records) and "rephrase" in batch.columns:
            batch.columns["rephrase"] = [r.features.get("rephrase") for r in batch.records]
        if state.learning is not None:  # learning its baseline: counted, not folded (monitor/llm.py)
            state.learning.count(r.ts for r in batch.records)
            return
        if state.learned_seq and batch.records[0].seq <= state.learned_seq:  # already read at the learning's end
            keep = [r.seq > state.learned_seq for r in batch.records]
            if not any(keep):
                return
            batch = batch.select(keep)
            if np.ndim(arrival):
                arrival = np.asarray(arrival)[np.asarray(keep)]
        records = batch.records
        versions = {r.version for r in records}
        for version in sorted(versions):
            vr = state.ref(version)
            if len(versions) == 1:
                recs, arr, cols = records, arrival, batch.columns
            else:
                idx = [j for j, r in enumerate(records) if r.version == version]
                recs = [records[j] for j in idx]
                arr = arrival if np.ndim(arrival) == 0 else np.asarray(arrival)[idx]
                cols = {n: [c[j] for j in idx] for n, c in batch.columns.items()}
            dirty = batch.dirty
            if batch.schema is not vr.schema:
                for r in recs:  # the prediction is read by the version's own reference
                    r.pred_value = r.pred_label = None
                    normalize_prediction(r, vr.schema)
                cols = columns_of(recs, vr.schema)
                dirty = set(cols)
            pred = vr.schema.prediction
            parts = [(recs, arr, cols)]
            if pred is not None and pred in cols and any(r.fallback for r in recs):
                parts = _without_fallback_predictions(recs, arr, cols, pred)
            if state.llm is not None:
                parts = [(recs_p, arr_p, {**cols_p, **embedding_columns(recs_p)}) for recs_p, arr_p, cols_p in parts]
            for recs_p, arr_p, cols_p in parts:
                state.metrics.too_late += (folder or state.folder).fold(recs_p, cols_p, arr_p, vr.reference,
                                                                        vr.fingerprint, batch.extra, dirty, vr.declared)

    def fold_backfill(self, state: ModelState, batch: EventBatch, arrival: float | np.ndarray) -> None:
        """Place a backfill's events by their own time. An event whose live window is still open (it would
        not be too late as an event) joins it, as it would from ``/events``; the others fill the backfill's
        windows (``ModelState.backfill``), folded with their own time as arrival, so none is late or too
        late there, whatever its age."""
        folder = state.folder
        n = len(batch)
        ts = np.fromiter((r.ts for r in batch.records), dtype=np.float64, count=n)
        arr = np.broadcast_to(np.asarray(arrival, dtype=np.float64), (n,))
        w = folder.window
        live = np.floor(ts / w) * w + w + folder.lateness > np.maximum(arr, folder.closed_through)
        if live.any():
            self.fold(state, batch.select(live.tolist()), arr[live])
        if not live.all():
            past = ~live
            self.fold(state, batch.select(past.tolist()), ts[past], state.backfill)
            state.backfill_frontier = max(state.backfill_frontier, float(ts[past].max()))
            state.backfill_at = time.monotonic()

    def fold_stored(self, state: ModelState, rows: list[tuple[Any, ...]]) -> None:
        """Fold events read back from the store (``raw_after`` rows) as they were folded when they arrived:
        live ones by their arrival, backfilled ones by their own time."""
        recs = [EventRecord.from_stored(seq, version, id_, ts, payload) for seq, version, id_, ts, _arrival, payload in rows]
        arrivals = np.fromiter((r[4] for r in rows), dtype=np.float64, count=len(rows))
        # schema None: the fold reads each prediction and builds the columns by the version's reference
        backfilled = [bool(r[5].get("backfill")) for r in rows]
        if not any(backfilled):
            self.fold(state, EventBatch(recs, {}, set(), None), arrivals)
            return
        live = [not b for b in backfilled]
        if any(live):
            self.fold(state, EventBatch(recs, {}, set(), None).select(live), arrivals[np.asarray(live)])
        self.fold_backfill(state, EventBatch(recs, {}, set(), None).select(backfilled),
                           arrivals[np.asarray(backfilled)])

    def learn(self, now: float) -> list[str]:
        """End the learning of every LLM model whose learning windows have closed: its baseline profiled
        from the stored events of those windows and saved, the events stored after them folded into their
        windows. Returns the models that learned (under ``lock``)."""
        learned = []
        for state in list(self.models.values()):
            if state.learning is None:
                continue
            end = state.learning.due(now)
            if end is None:
                continue
            assert state.llm is not None
            baseline: list[EventRecord] = []
            after: list[tuple[Any, ...]] = []
            seq = 0
            for rows in self.store.raw_after(state.name, 0):
                for row in rows:
                    if row[3] < end:
                        baseline.append(EventRecord.from_stored(row[0], row[1], row[2], row[3], row[5]))
                    else:
                        after.append(row)
                    seq = row[0]
            judged = [j for (_, start), j in state.learning.judged.items() if start < end]
            later = {k: j for k, j in state.learning.judged.items() if k[1] >= end}
            if not baseline:  # retention removed them (a long stop): learn again from what comes
                state.learning.counts.clear()
                continue
            ref = baseline_of(baseline, state.llm, f"{state.name}: {len(baseline)} events before {_iso(end)}",
                              state.sessions.timeout if state.sessions is not None else state.config.lateness, end)
            if judged:
                ref.profile.judge = functools.reduce(JudgeWindow.merge, judged)
            state.learning = None
            state.set_reference("", ref)
            self.store.save_baseline(state.name, "", orjson.dumps(ref.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY
                                                                  ).decode(), now)
            if after:
                self.fold_stored(state, after)
            for (version, start), j in later.items():  # verdicts on events after the learning: their windows
                win = state.folder.open.get((version, OVERALL, start))
                if win is not None:
                    win.add_part(DatasetProfile(0, {}, judge=j))
            state.learned_seq = seq  # the writer's batches still on their way hold some of them
            log.info("model %s learned its baseline from %d events before %s; watching from now on", state.name,
                     len(baseline), _iso(end))
            learned.append(state.name)
        return learned

    def _tick(self, now: float) -> list[tuple[WindowRow, list[FindingRow]]]:
        """Close due windows. An event acknowledged before a window's close
        time must be in it: so first fold whatever the writer has handed
        over, and never close past the clock of a write still in flight
        (its events arrived at that time and may belong to the window)."""
        inflight = self.writer.inflight
        while True:
            try:
                batch = self.writer.written.get_nowait()
            except queue.Empty:
                break
            if batch is None:
                self.writer.written.put(None)
                break
            self.fold_batch(batch)
        if inflight is not None:
            now = min(now, inflight)
        with self.lock:
            for state in self.models.values():
                if state.sessions is not None:
                    state.metrics.sessions_unplaced += end_sessions(state, now)
                if state.judge_pending:
                    attach_verdicts(state, now)
            self.learn(now)
        return self.closer.close_due(now)

    def snapshot(self, closed: list[tuple[WindowRow, list[FindingRow]]]) -> None:
        """Save every open window (live and backfill) with ``closed`` and the closed backfill windows, and
        the sequence folded into them, the closing clock and the counters, in one transaction."""
        with self.lock:
            backfilled = self.closer.take_backfilled()
            closed = [*closed, *backfilled]
            rows = []
            for state in self.models.values():
                for w in state.folder.open.values():
                    w.flush()
                    if w.profile is not None:
                        # the open row's verdict is the last provisional look's (None: no look yet)
                        look = None if w.provisional is None else orjson.dumps(w.provisional).decode()
                        rows.append(WindowRow(state.name, w.version, w.segment, w.granularity, w.start, w.end, False,
                                              w.n_rows, w.late, w.profile_json(), look))
                for w in state.backfill.open.values():
                    w.flush()
                    if w.profile is not None:
                        rows.append(WindowRow(state.name, w.version, w.segment, w.granularity, w.start, w.end, False,
                                              w.n_rows, w.late, w.profile_json(), BACKFILL_VERDICT))
            through = max((s.folder.closed_through for s in self.models.values()), default=0.0)
            meta = {"folded_seq": str(self.folded_seq), "closed_through": repr(through)}
            # the counters, with the event sequence they count through (too_late: through folded_seq, as
            # it is folded under self.lock); a restart continues them (recovery.py)
            with self.writer.counters_lock:
                for state in self.models.values():
                    meta[f"counters:{state.name}"] = orjson.dumps({"seq": self.writer.counted_seq,
                                                                   **state.metrics.to_dict()}).decode()
            try:
                self.store.save_windows(closed, (rows, meta))
            except Exception:  # the store still holds their windows as open: kept for the next snapshot
                self.closer.put_back(backfilled)
                raise


def _without_fallback_predictions(recs: list[EventRecord], arrival: float | np.ndarray,
                                  cols: dict[str, list[Any]], pred: str
                                  ) -> list[tuple[list[EventRecord], float | np.ndarray, dict[str, list[Any]]]]:
    """The model's events with every column, then the fallback's without the prediction column. A fallback's
    answer is not the model's output: it stays out of the prediction's profile (its distribution, drift,
    missing values), while its features, real inputs, count like any other (docs/OPERATIONS.md)."""
    model = [j for j, r in enumerate(recs) if not r.fallback]
    served = [j for j, r in enumerate(recs) if r.fallback]
    out = []
    for idx, keep_pred in ((model, True), (served, False)):
        if not idx:
            continue
        arr = arrival if np.ndim(arrival) == 0 else np.asarray(arrival)[idx]
        out.append(([recs[j] for j in idx], arr,
                    {n: [c[j] for j in idx] for n, c in cols.items() if keep_pred or n != pred}))
    return out


def _coalesce(batch: list[tuple[ModelState, EventBatch, float]]
              ) -> list[tuple[ModelState, EventBatch, float | np.ndarray]]:
    """Join consecutive batches of one model with the same schema and columns
    into one (with per-row arrival times), so the fold's fixed cost is paid once."""
    out: list[tuple[ModelState, EventBatch, float | np.ndarray]] = []
    run: list[tuple[ModelState, EventBatch, float]] = []

    def flush() -> None:
        if not run:
            return
        if len(run) == 1:
            out.append(run[0])
        else:
            state, first, _ = run[0]
            records = [r for _, b, _ in run for r in b.records]
            columns = {name: [v for _, b, _ in run for v in b.columns[name]] for name in first.columns}
            arrival = np.concatenate([np.full(len(b), a) for _, b, a in run])
            merged = type(first)(records, columns, set().union(*(b.extra for _, b, _ in run)), first.schema,
                                set().union(*(b.dirty for _, b, _ in run)))
            out.append((state, merged, arrival))
        run.clear()

    for item in batch:
        state, eb, _ = item
        if run and (run[0][0] is not state or run[0][1].schema is not eb.schema
                    or run[0][1].columns.keys() != eb.columns.keys() or type(run[0][1]) is not type(eb)):
            flush()
        run.append(item)
    flush()
    return out

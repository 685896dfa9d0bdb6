"""Recovery: a start continues where the last run stopped, or crashed.

Acknowledged means in the fsynced raw log; the index, the open windows and
the counters come later. So a start indexes the raw tail the index lacks,
reloads the last snapshot's open windows (``Fold.snapshot``) and folds the
stored events past the sequence it covers into them, and continues every
counter from the snapshot plus what the store holds past it.
"""

from __future__ import annotations

import logging

import orjson

from argusml.checks.verdict import WindowVerdict
from argusml.monitor.closing import provisional_gauges
from argusml.monitor.dedup import key_of
from argusml.monitor.events import EventRecord, normalize_prediction
from argusml.monitor.fold import Fold
from argusml.monitor.metrics import LABEL_LAG_BUCKETS, LATENCY_BUCKETS, ModelMetrics, Shown
from argusml.monitor.ops import count_records
from argusml.monitor.state import ModelState
from argusml.monitor.windows import OVERALL, Window, load_profile
from argusml.monitor.writer import Writer, index_row
from argusml.store import Store
from argusml.store.rows import EventRows

log = logging.getLogger("argus.monitor")


def recover(store: Store, models: dict[str, ModelState], writer: Writer, fold: Fold, now: float) -> None:
    """Everything the monitor knew when it stopped, before its threads start: the index completed from the
    raw log, the sequences continued, each model's dedup keys, pending labels, counters and window gauges
    reloaded, and the open windows reloaded and replayed. The store answers each read for every model at
    once (``store/startup.py``): read model by model, a start cost seconds per hundred models."""
    max_seqs = store.max_seqs()
    for state in models.values():
        _reindex(store, state, max_seqs.get(state.name, 0))
    writer.seq = store.last_seq()
    writer.lseq = store.max_lseq()
    keys = store.recent_keys_all({name: (now - s.config.dedup.horizon, s.config.dedup.max_keys)
                                  for name, s in models.items()})
    pending = store.pending_labels_all()
    outcome_names = store.outcome_names_all()
    versions = store.versions_all()
    for name, state in models.items():
        for version, id_ in reversed(keys.get(name, [])):
            state.dedup.add([key_of(version, id_)], now)
        state.pending, state.pending_outcomes = (dict(d) for d in pending.get(name, ({}, {})))
        state.outcome_names = set(outcome_names.get(name, ()))
        state.versions = set(versions.get(name, ()))
    _restore_counters(store, models)
    _load_window_gauges(store, models)
    writer.counted_seq = writer.seq
    _replay(store, models, fold)


def _restore_counters(store: Store, models: dict[str, ModelState]) -> None:
    """Continue every counter where the last run left it (``ModelMetrics.to_dict``, saved with each
    snapshot), so /metrics never goes backwards and agrees with /status. What was acknowledged after that
    snapshot is counted again from the store: events past the sequence the saved counters count through
    (from the index, which by now holds the raw log's tail), labels and outcomes from their table; too
    late events are counted again as the replay past the snapshot folds them; the ops counters (cost, stages,
    fallback, resources) from the raw log past the snapshot. Rejections, duplicates and
    host resources are in no table: a crash loses those counted since the last snapshot (``snapshot_every``)."""
    saved = store.metas("counters:")
    through: dict[str, int] = {}
    for name, state in models.items():
        through[name] = 0
        if name not in saved:
            continue
        try:
            d = orjson.loads(saved[name])
            state.metrics.restore(d)
            through[name] = int(d.get("seq", 0))
        except (ValueError, TypeError, AttributeError) as exc:  # unreadable: recount what the store holds
            log.error("model %r: saved counters unreadable (%s); counting from the store", name, exc)
            state.metrics = ModelMetrics()
    events = store.event_tallies_all(through, LATENCY_BUCKETS)
    labels = store.label_tallies(None, LABEL_LAG_BUCKETS)
    for name, state in models.items():
        m = state.metrics
        m.add_events(events[name])
        _recount_ops(store, state, through[name])
        m.merge_labels(labels.get(name) or store.zero_tallies(LABEL_LAG_BUCKETS))
        state.events_total = sum(vm.events for vm in m.versions.values())
        m.labels_pending = len(state.pending)


def _recount_ops(store: Store, state: ModelState, through: int) -> None:
    """The ops counters (fallback, cost, stages, resources: ``ops.py``) of the events past ``through``, from
    the raw log: the index keeps none of those fields but ``fallback``, and the raw log holds every
    acknowledged event past the last snapshot (it outlasts a window and its lateness)."""
    for rows in store.raw_after(state.name, through):
        count_records(state.metrics, [EventRecord.from_stored(seq, version, id_, ts, payload)
                                      for seq, version, id_, ts, _arrival, payload in rows], state.config.cost)


def _load_window_gauges(store: Store, models: dict[str, ModelState]) -> None:
    """The window gauges as they were when the newest closed window of each version closed: built from
    the verdict stored with it, as ``Closer`` built them (not empty until the next window closes,
    which would resolve drift alerts and blank the dashboards)."""
    newest = store.newest_windows_all({name: s.config.window for name, s in models.items()}, OVERALL)
    for name, state in models.items():
        for row in newest.get(name, []):
            verdict = WindowVerdict.loads(row["verdict"])
            if verdict is not None:
                state.metrics.version(row["version"]).window = Shown(verdict, row["start_ts"], row["end_ts"],
                                                                     row["n_rows"])


def _reindex(store: Store, state: ModelState, indexed: int) -> None:
    """Index rows for the raw events past the index's newest sequence ``indexed`` (acknowledged before a
    crash, never indexed)."""
    done = 0
    for rows in store.raw_after(state.name, indexed):
        ev = EventRows()
        for seq, version, id_, ts, arrival, payload in rows:
            rec = EventRecord.from_stored(seq, version, id_, ts, payload)
            normalize_prediction(rec, state.ref(version).schema)
            index_row(ev, rec, state.name, arrival, state.config.segments)
        store.index(ev.table())
        done += len(rows)
    if done:
        log.info("model %r: indexed %d acknowledged events the index lacked (the raw log is ahead after a "
                 "crash)", state.name, done)


def _replay(store: Store, models: dict[str, ModelState], fold: Fold) -> None:
    """The open windows of the last snapshot, then the stored events past the sequence it covers folded into
    them (live ones as live, backfilled ones by their own time), as they were folded before the stop."""
    meta_seq = store.get_meta("folded_seq")
    folded = int(meta_seq) if meta_seq else 0
    closed_through = float(store.get_meta("closed_through") or 0.0)
    for row in store.load_open_windows():
        state = models.get(row.model)
        if state is None or row.profile is None:
            continue
        fp, prof = load_profile(row.profile)
        win = Window(row.version, row.segment, row.granularity, row.start, fp, prof, row.n_rows, row.late,
                     set(prof.extra_columns))
        verdict = orjson.loads(row.verdict) if row.verdict else {}
        if verdict.get("backfill"):
            state.backfill.open[(row.version, row.segment, row.start)] = win
            continue
        if verdict.get("provisional"):  # the looks taken count on: the window's alpha stays spent
            win.provisional, win.looks = verdict, int(verdict.get("look", 0))
            win.looked_rows, win.looked_at = int(verdict.get("n_rows", 0)), float(verdict.get("looked_at", 0.0))
        state.folder.open[(row.version, row.segment, row.start)] = win
        if row.segment != OVERALL:
            dim, value = row.segment.split("=", 1)
            if dim in state.folder.segment_values:
                state.folder.segment_values[dim].add(value)
    for state in models.values():
        state.folder.closed_through = closed_through
    replayed = 0
    newest = folded
    for name, state in models.items():
        # a model learning its baseline counts every stored event again (it folded none of them)
        for rows in store.raw_after(name, 0 if state.learning is not None else folded):
            fold.fold_stored(state, rows)
            newest = max(newest, rows[-1][0])
            replayed += len(rows)
    folded = newest
    fold.folded_seq = folded
    for state in models.values():
        provisional_gauges(state)
    if replayed:
        log.info("replayed %d stored events into open windows", replayed)

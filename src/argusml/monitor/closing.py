"""Closing windows: a window whose end plus the lateness has passed is checked against its version's
reference (the core engine's checks, ``run_checks``), turned into the rows the store keeps (the window, its
summary and its findings) and shown on the window gauges.

The fold thread asks for what is due on each tick (``Closer.close_due``) and stores it with its snapshot; a
replaced reference closes its version's windows at once (``Registry``). A backfill's windows close as the
backfill moves past them, each merged with what the store already holds for its bucket and segment.
Roll-ups (``rollups.py``) and provisional looks at open windows (``provisional.py``) check with the same
``Closer.check``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import replace
from typing import Any

import orjson

from argusml.checks import run_checks
from argusml.checks.verdict import JSON_OPTIONS, WindowVerdict, json_default
from argusml.monitor.metrics import Shown
from argusml.monitor.settings import Settings
from argusml.monitor.state import ModelState
from argusml.monitor.versions import PredictionBaselines, with_prediction
from argusml.monitor.windows import OVERALL, Window, load_profile
from argusml.profile import DatasetProfile, Reference
from argusml.schema import Role
from argusml.store import BackfilledRow, FindingRow, Store, WindowRow, by_check, link_repeats

log = logging.getLogger("argus.monitor")


class Closer:
    """Checks and stores closing windows, for every model. It holds the closed backfill windows until the
    next snapshot saves them: closing them every tick and saving them at the snapshot's cadence keeps both
    the fold thread's pauses and the writes small."""

    def __init__(self, store: Store, settings: Settings, models: dict[str, ModelState], lock: threading.RLock,
                 baselines: PredictionBaselines) -> None:
        self.store = store
        self.settings = settings
        self.models = models
        self.lock = lock  # the fold thread's state vs. reference replacement from the API
        self.baselines = baselines  # new versions' predictions before they have a reference
        self.backfill_rows: list[tuple[WindowRow, list[FindingRow]]] = []

    def take_backfilled(self) -> list[tuple[WindowRow, list[FindingRow]]]:
        """The closed backfill windows to save with a snapshot (``put_back`` if the save fails)."""
        rows, self.backfill_rows = self.backfill_rows, []
        return rows

    def put_back(self, rows: list[tuple[WindowRow, list[FindingRow]]]) -> None:
        """The store still holds their windows as open: kept for the next snapshot."""
        self.backfill_rows[:0] = rows

    def close_due(self, now: float) -> list[tuple[WindowRow, list[FindingRow]]]:
        """Close the live windows due at ``now`` (stored by the caller's snapshot) and the backfill's windows
        it has moved past (saved with the next snapshot: ``take_backfilled``)."""
        closed: list[tuple[WindowRow, list[FindingRow]]] = []
        with self.lock:
            for state in self.models.values():
                passed = state.folder.closed_through  # buckets whose live windows closed in an earlier tick
                due = state.folder.due(now)
                if due:
                    closed.extend(self.close(state, due, now))
                    provisional_gauges(state)
                evicted, done = self._backfill_due(state, passed)
                if evicted:  # never put back: a window of the same key may be open again
                    self.backfill_rows.extend(self.close(state, evicted, now, backfill=True))
                started = time.perf_counter()
                for k in range(0, len(done), 4):
                    if k and time.perf_counter() - started > self.settings.backfill_close_seconds:
                        for w in done[k:]:  # the next tick's: the live windows have waited long enough
                            state.backfill.open[(w.version, w.segment, w.start)] = w
                        break
                    self.backfill_rows.extend(self.close(state, done[k:k + 4], now, backfill=True))
        return closed

    def _backfill_due(self, state: ModelState, passed: float) -> tuple[list[Window], list[Window]]:
        """The backfill's windows to close: those it has moved past (an event at or after their end was
        folded; a client sending in time order fills each before it moves on), or all of them once no
        backfill came for ``Settings.backfill_idle`` seconds. Only windows whose bucket the live windows
        had closed by the tick before (``passed``): what the store holds for the bucket is then saved, and
        the backfilled window merges into it instead of standing beside it."""
        b = state.backfill
        if not b.open and not b.evicted:
            return [], []
        idle = time.monotonic() - state.backfill_at >= self.settings.backfill_idle
        lateness = state.config.lateness
        out = sorted((w for w in b.open.values()
                      if (idle or w.end <= state.backfill_frontier) and w.end + lateness <= passed),
                     key=lambda w: (w.start, w.version, w.segment))
        for w in out:
            del b.open[(w.version, w.segment, w.start)]
        evicted, b.evicted = b.evicted, []
        if idle:  # the next backfill may be of an earlier period: it moves past its windows from its own start
            state.backfill_frontier = -math.inf
        return evicted, out

    def close(self, state: ModelState, windows: list[Window], now: float, backfill: bool = False
              ) -> list[tuple[WindowRow, list[FindingRow]]]:
        """Check and store closing windows. ``backfill``: each merges what the store holds for its bucket
        and segment (``_merge_stored``) and its row replaces that one (``BackfilledRow``)."""
        out = []
        # Bonferroni across the segment windows of one bucket: more segments, more chances of a fluke
        per_bucket: dict[tuple[str, float], int] = {}
        for w in windows:
            if w.segment != OVERALL:
                per_bucket[(w.version, w.start)] = per_bucket.get((w.version, w.start), 0) + 1
        stored: dict[tuple[str, float], list[tuple[str, str | None, int, int, float]]] = {}
        pending: dict[tuple[str, str, float], tuple[WindowRow, list[FindingRow]]] = {}
        if backfill:
            pending = {(r.version, r.segment, r.start): (r, f) for r, f in self.backfill_rows if r.model == state.name}
            closing: dict[tuple[str, float], set[str]] = {}
            for w in windows:
                closing.setdefault((w.version, w.start), set()).add(w.segment)
            for (version, start), segs in closing.items():
                rows = stored[(version, start)] = self.store.bucket_windows(state.name, version, state.config.window,
                                                                            start)
                held = {seg for v, seg, t in pending if v == version and t == start}
                per_bucket[(version, start)] = len((segs | held | {r[0] for r in rows}) - {OVERALL})
        for w in windows:
            w.flush()
            if w.profile is None:
                continue
            replaces = None
            if backfill:
                earlier = pending.get((w.version, w.segment, w.start))
                if earlier is not None and earlier[0].profile and load_profile(earlier[0].profile)[0] == w.reference:
                    # closed by this backfill and not saved yet: merged here, and it is that row's stored one
                    # that the merge replaces
                    self.backfill_rows.remove(earlier)
                    row0 = earlier[0]
                    replaces = row0.replaces if isinstance(row0, BackfilledRow) else None
                    self._merge_stored(w, [(row0.segment, row0.profile, row0.n_rows, row0.late, 0.0)])
                else:
                    replaces = self._merge_stored(w, stored[(w.version, w.start)])
            vr = state.ref(w.version)
            n_seg = per_bucket.get((w.version, w.start), 0) if w.segment != OVERALL else 0
            prof = w.profile
            if w.extra:
                prof = replace(prof, extra_columns=sorted(w.extra))
            findings: list[Any] = []
            if vr.fingerprint != w.reference:
                verdict = WindowVerdict.not_checked("the reference was replaced")
            else:
                try:
                    verdict, findings = self.check(state, vr.reference, prof, n_seg, w.segment, w.version, now,
                                                   w.start)
                except Exception as exc:  # one window's failure must not stop the others from closing
                    log.exception("checks failed on window %s %s %s", state.name, w.version, w.segment)
                    verdict = WindowVerdict.not_checked(f"checks failed: {exc}")
            if w.looks and w.provisional is not None:  # what the close made of the last provisional look
                looked, final = w.provisional.get("drifted_columns") or [], set(verdict.drifted_columns)
                verdict.provisional_looks = {"looks": w.looks, "drifted_columns": looked,
                                             "confirmed": [c for c in looked if c in final],
                                             "withdrawn": [c for c in looked if c not in final]}
            if w.segment == OVERALL and w.granularity == state.config.window:
                shown = state.metrics.version(w.version).window
                if not backfill or shown is None or w.end >= shown.end:  # gauges: the newest
                    self._update_gauges(state, w, verdict)
            row, frows = self.rows(state, w, verdict, findings, now)
            out.append((BackfilledRow.of(row, replaces), frows) if backfill else (row, frows))
        overall = {(r.version, r.granularity, r.start): by_check(f) for r, f in out if r.segment == OVERALL}
        for r, frows in out:
            if r.segment != OVERALL:
                link_repeats(frows, overall.get((r.version, r.granularity, r.start), {}))
        return out

    @staticmethod
    def _merge_stored(w: Window, rows: list[tuple[str, str | None, int, int, float]]) -> float | None:
        """Merge into a backfilled window the stored row of its bucket and segment on the same reference
        (live rows, or an earlier backfill's); that row's ``closed_at``, or None when there is none. A row
        on another reference cannot be merged (its bins differ) and stays beside the new one. A row a
        roll-up has slimmed has no multivariate sample left: the merge's sample then comes from the
        backfilled rows alone (its moments and the reconstruction test still cover every row)."""
        for segment, text, n_rows, late, closed_at in rows:
            if segment != w.segment or text is None:
                continue
            fp, prof = load_profile(text)
            if fp != w.reference:
                continue
            assert w.profile is not None
            w.profile = prof.merge(w.profile)
            w.n_rows += n_rows
            w.late += late
            w.extra.update(prof.extra_columns)
            return closed_at
        return None

    def check(self, state: ModelState, reference: Reference, profile: DatasetProfile, n_segments: int,
              segment: str = OVERALL, version: str = "", now: float = 0.0, start: float = 0.0
              ) -> tuple[WindowVerdict, list[Any]]:
        """Run the checks on one window's profile: the model's checks, without the columns events never
        carry, with alpha split across ``n_segments`` segment windows of a bucket (Bonferroni), and for a
        version without a reference of its own the prediction judged against the previous version's traffic.
        The window's verdict and its findings."""
        cfg = state.checks
        baseline = None
        if version and version not in state.refs and reference.prediction is not None:
            # no reference of its own: the prediction is judged against the previous version's traffic
            # (``versions.py``); a segment's share of that traffic is not kept, so a segment window then
            # leaves the prediction to the whole traffic's window rather than judge it on the wrong baseline
            baseline = self.baselines.get(state, version, now, start)
            if baseline.previous is not None and baseline.column is not None:
                if segment == OVERALL:
                    reference = with_prediction(reference, baseline.column)
                else:
                    cfg = cfg.model_copy(update={"ignore": [*cfg.ignore, reference.prediction]})
        # events carry features and the prediction; ids, timestamps and targets (labels) are not in them
        absent = [n for n, sp in reference.specs.items() if sp.role not in (Role.FEATURE, Role.PREDICTION)]
        if absent:
            cfg = cfg.model_copy(update={"ignore": [*cfg.ignore, *absent]})
        if reference.prediction is not None and profile.n_rows and reference.prediction not in profile.columns:
            # a window's profile lacks the prediction only when the fallback answered every one of its events
            # (``Fold.fold`` keeps a fallback's answer out of it): the model made no prediction to judge
            cfg = cfg.model_copy(update={"ignore": [*cfg.ignore, reference.prediction]})
        if segment != OVERALL:
            # within "cat=a" the column cat is constant by construction: not a finding
            dim = segment.split("=", 1)[0]
            if dim in reference.specs:
                cfg = cfg.model_copy(update={"ignore": [*cfg.ignore, dim]})
        if n_segments > 1:
            cfg = cfg.model_copy(update={"drift": cfg.drift.model_copy(update={"alpha": cfg.drift.alpha / n_segments})})
        res = run_checks(reference, profile, cfg)
        verdict = WindowVerdict.of(res, reference, profile)
        if baseline is not None:
            verdict.prediction_baseline = baseline.summary(version)
            if baseline.previous is not None:
                # another model's scores are not this one's contract: a tree ensemble's repeated values are
                # no sentinel, a sharper model's range no out-of-range. Against the previous version's
                # traffic only the distribution is judged (prediction_drift), and said to be so judged
                against = f" (against version {baseline.previous}'s traffic: {version} has no reference of its own)"
                shape = {"sentinel_value", "near_constant_column", "constant_column", "out_of_range"}
                kept = [replace(f, message=f.message + against, evidence={
                    **f.evidence, "baseline": {"version": baseline.previous, "windows": baseline.windows}})
                    if f.check == "prediction_drift" else f for f in res.findings
                    if not (f.column == reference.prediction and f.check in shape)]
                if len(kept) < len(res.findings):
                    verdict = verdict.with_findings(kept)
                return verdict, kept
        return verdict, res.findings

    def rows(self, state: ModelState, w: Window, verdict: WindowVerdict, findings: list[Any], now: float
             ) -> tuple[WindowRow, list[FindingRow]]:
        """A checked window as the store keeps it: the window with its profile and verdict, and its findings
        (their evidence as JSON, whatever numpy values or sets a check put in it)."""
        row = WindowRow(state.name, w.version, w.segment, w.granularity, w.start, w.end, True, w.n_rows, w.late,
                        w.profile_json(), verdict.dumps(), now)
        frows = [FindingRow(state.name, w.version, w.segment, w.granularity, w.start, w.end, f.check, f.column,
                            f.severity.value, f.message,
                            orjson.dumps(f.evidence, option=JSON_OPTIONS, default=json_default).decode(), now)
                 for f in findings]
        return row, frows

    def _update_gauges(self, state: ModelState, w: Window, verdict: WindowVerdict) -> None:
        vm = state.metrics.version(w.version)
        if vm.window is not None and vm.window.start > w.start:
            return  # an older window closing after a newer one (several due at once): the gauges show the newest
        vm.window = Shown(verdict, w.start, w.end, w.n_rows)


def provisional_gauges(state: ModelState) -> None:
    """Per version, the newest open window's last look (what /metrics shows as ``argus_provisional_*``);
    None once no open window of the version has one."""
    newest: dict[str, Window] = {}
    for w in list(state.folder.open.values()):
        if w.provisional is not None and w.segment == OVERALL and (
                w.version not in newest or w.start > newest[w.version].start):
            newest[w.version] = w
    for version, vm in list(state.metrics.versions.items()):
        w = newest.pop(version, None)
        vm.provisional = None if w is None else Shown.look(w)
    for version, w in newest.items():
        state.metrics.version(version).provisional = Shown.look(w)

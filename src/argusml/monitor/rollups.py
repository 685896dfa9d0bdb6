"""Roll-ups: once every base window of an hour (then of a day) has closed, their profiles merge into the
coarser window, which is checked as a window closing is (``Closer.check``) and stored beside them."""

from __future__ import annotations

import itertools
import logging

from argusml.checks.verdict import WindowVerdict
from argusml.monitor.closing import Closer
from argusml.monitor.state import ModelState
from argusml.monitor.windows import OVERALL, Window, load_profile, without_sample
from argusml.profile import DatasetProfile
from argusml.store import FindingRow, Store, WindowRow, by_check, link_repeats

log = logging.getLogger("argus.monitor")


def rollups(closer: Closer, now: float) -> None:
    """Roll up every bucket the store says is complete (its last child window closed, plus the lateness).
    A roll-up that fails is stored as not checked, so it is not retried on every tick."""
    for state in list(closer.models.values()):
        grans = state.granularities
        for child, g in itertools.pairwise(grans):
            due = closer.store.pending_rollups(state.name, child, g, now - state.config.lateness)
            if not due:
                continue
            results = []
            slimmed: list[tuple[str, str, str, float, float, str]] = []
            per_bucket: dict[tuple[str, float], int] = {}
            for version, segment, start in due:
                if segment != OVERALL:
                    per_bucket[(version, start)] = per_bucket.get((version, start), 0) + 1
            for version, segment, start in due:
                try:
                    results.append(_rollup(closer, state, version, segment, child, g, start, now,
                                           per_bucket.get((version, start), 0) if segment != OVERALL else 0,
                                           slimmed))
                except Exception as exc:  # stored as not checked, so it is not retried on every tick
                    log.exception("roll-up failed: %s %s %s %s", state.name, version, segment, start)
                    failed = WindowVerdict.not_checked(f"roll-up failed: {exc}")
                    results.append((WindowRow(state.name, version, segment, g, start, start + g, True, 0, 0, None,
                                              failed.dumps(), now), []))
            _link_rollups(closer.store, state, child, g, results)
            closer.store.save_windows(results, profiles=slimmed)


def _link_rollups(store: Store, state: ModelState, child: float, g: float,
                  results: list[tuple[WindowRow, list[FindingRow]]]) -> None:
    """Mark the roll-ups' findings that repeat one already on record: the overall bucket's repeat its
    children's; a segment's repeat the overall bucket's, else its own children's. An hour of drift
    found in every 5-minute window is one finding with its repeats linked, not twelve plus one."""
    overall: dict[tuple[str, float], dict[tuple[str, str | None], FindingRow]] = {}
    for row, frows in sorted(results, key=lambda rf: rf[0].segment != OVERALL):
        children = by_check(store.child_findings(state.name, row.version, row.segment, child, row.start,
                                                 row.start + g))
        if row.segment == OVERALL:
            link_repeats(frows, children)
            overall[(row.version, row.start)] = by_check(frows)
        else:
            link_repeats(frows, {**children, **overall.get((row.version, row.start), {})})


def _rollup(closer: Closer, state: ModelState, version: str, segment: str, child: float, g: float, start: float,
            now: float, n_segments: int, slimmed: list[tuple[str, str, str, float, float, str]]
            ) -> tuple[WindowRow, list[FindingRow]]:
    """Merge a bucket's child windows and check the merge. The children's multivariate row samples
    now live on in the merge, so ``slimmed`` collects the children without them (saved with the
    parent): a window's sample is kept only until its roll-up, not for ``retention.profiles``."""
    vr = state.ref(version)
    merged: DatasetProfile | None = None
    n_rows = late = skipped = 0
    for text, n, lt, child_start in closer.store.child_profiles(state.name, version, segment, child, start,
                                                                start + g):
        fp, prof = load_profile(text)
        if fp != vr.fingerprint:
            skipped += 1
            continue
        slim = without_sample(text)
        if slim is not None:
            slimmed.append((state.name, version, segment, child, child_start, slim))
        merged = prof if merged is None else merged.merge(prof)
        n_rows += n
        late += lt
    w = Window(version, segment, g, start, vr.fingerprint, merged, n_rows, late)
    if merged is None:
        nothing = WindowVerdict.not_checked("no window on the current reference", skipped_windows=skipped)
        row = WindowRow(state.name, version, segment, g, start, start + g, True, 0, 0,
                        None, nothing.dumps(), now)
        return row, []
    verdict, findings = closer.check(state, vr.reference, merged, n_segments, segment, version, now, start)
    if skipped:
        verdict.skipped_windows = skipped
    return closer.rows(state, w, verdict, findings, now)

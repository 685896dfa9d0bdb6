"""Provisional looks: an open window checked before it closes, so a drift shows within the window instead of
at its end. /status and the ``argus_provisional_*`` gauges show a window's last look (``provisional_windows``,
``closing.provisional_gauges``); the close says which of its drifts it confirmed or withdrew."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from argusml.checks.verdict import finding_json
from argusml.monitor.closing import Closer, provisional_gauges
from argusml.monitor.state import ModelState
from argusml.monitor.windows import OVERALL

log = logging.getLogger("argus.monitor")


def provisional_pass(closer: Closer, now: float) -> int:
    """Provisional looks at the open whole-traffic windows (``ProvisionalSettings``): the same checks as
    at the close, on what the window holds now, once it has ``provisional_min_rows`` rows, at most every
    ``provisional.every`` and only when it grew. Each window gets at most ``provisional_looks`` looks, each
    at alpha divided by that many (Bonferroni over the looks, as over a bucket's segments): repeated looks
    at a growing window are a sequential test, and unspent alpha per look is what keeps a stable window's
    chance of any provisional drift at alpha. Segment windows and roll-ups are never looked at: a look
    costs a profile flush and a full check run, and segments multiply the windows by their values.
    Returns the looks taken (the fold loop then snapshots, which stores them)."""
    taken = 0
    with closer.lock:
        for state in list(closer.models.values()):
            cfg = state.config
            if not cfg.provisional.enabled:
                continue
            planned, min_rows = cfg.provisional_looks, cfg.provisional_min_rows
            looked = False
            for w in list(state.folder.open.values()):
                if (w.segment != OVERALL or w.n_rows < min_rows or w.n_rows <= w.looked_rows
                        or w.looks >= planned or now - w.looked_at < cfg.provisional.every):
                    continue
                vr = state.ref(w.version)
                if vr.fingerprint != w.reference:
                    continue  # closed on the next tick, unchecked
                w.flush()
                if w.profile is None:
                    continue
                prof = replace(w.profile, extra_columns=sorted(w.extra)) if w.extra else w.profile
                try:
                    verdict, findings = closer.check(state, vr.reference, prof, planned, OVERALL, w.version,
                                                     now, w.start)
                except Exception:  # a look that fails leaves the window to its close
                    log.exception("provisional checks failed on window %s %s", state.name, w.version)
                    w.looked_at = now
                    continue
                w.looks += 1
                w.looked_rows, w.looked_at = w.n_rows, now
                verdict.n_rows = w.n_rows
                verdict.provisional = {"provisional": True, "look": w.looks, "looks_planned": planned,
                                       "looked_at": now, "findings": [finding_json(f) for f in findings]}
                # plain JSON values from here on: snapshots and /status read it as it is
                w.provisional = verdict.plain()
                taken += 1
                looked = True
            if looked:
                provisional_gauges(state)
    return taken


def provisional_windows(state: ModelState) -> list[dict[str, Any]]:
    """The open whole-traffic windows with a provisional verdict, newest first: their last look."""
    out = []
    for w in sorted(list(state.folder.open.values()), key=lambda w: (-w.start, w.version)):
        v = w.provisional
        if v is None or w.segment != OVERALL:
            continue
        out.append({"version": w.version, "segment": w.segment, "granularity": w.granularity, "start": w.start,
                    "end": w.end, "n_rows": w.n_rows, "verdict": v})
    return out

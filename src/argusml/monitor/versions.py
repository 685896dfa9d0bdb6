"""What a new version's prediction is compared with before it has a reference of its own.

Features are the world's, not the model's: every version's inputs are judged
against the model's reference. The prediction is the model's own: a retrained
v2 scores differently from the v1 the reference was built for, so judging v2's
scores against v1's training scores raises "prediction drift" on its first
window (psi 3.8 in the report that prompted this) and keeps raising it. Until
v2 gets a reference of its own (``versions:`` in the YAML, ``argus reference
set``, ``PUT .../versions/{v}/reference``), its prediction is compared with the
traffic of the version that served before it: the question a deployment asks
("does v2 score the population as v1 did?"). The window's verdict says which
baseline it used (``prediction_baseline``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import orjson

from argusml.profile import ColumnProfile, DatasetProfile, Reference
from argusml.store import Store

log = logging.getLogger("argusml.versions")

OVERALL = "*"
SPAN = 86_400.0
"""The previous version's traffic that makes the baseline: its last day of closed windows."""
REFRESH = 3_600.0
"""How often a baseline is rebuilt while the previous version keeps serving (a day moves little in an hour)."""
MAX_WINDOWS = 48
"""Windows merged at most: hour roll-ups cover the day in 24; base windows only until the first hour closes."""


@dataclass
class PredictionBaseline:
    """The prediction column's profile a version without its own reference is compared with."""

    previous: str | None  # the version whose traffic it is; None: the model's reference
    column: ColumnProfile | None
    windows: int = 0
    start: float | None = None
    end: float | None = None
    reason: str | None = None  # why the model's reference is used instead, when it is
    built_at: float = 0.0

    def summary(self, version: str) -> dict[str, Any]:
        if self.previous is None or self.column is None:
            return {"source": "model_reference", "reason": self.reason}
        return {"source": "previous_version", "version": self.previous, "windows": self.windows,
                "rows": self.column.n_rows, "start": self.start, "end": self.end,
                "note": f"version {version} has no reference of its own: its prediction is compared with version "
                        f"{self.previous}'s traffic; set one with `argus reference set` or `versions:` in the "
                        "model's YAML"}


class PredictionBaselines:
    """Per version without a reference of its own, the previous version's recent traffic, cached."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[tuple[str, str], PredictionBaseline] = {}

    def forget(self, model: str, version: str | None = None) -> None:
        """A reference was set or replaced: rebuild on the next window."""
        for key in [k for k in self._cache if k[0] == model and (version is None or k[1] == version)]:
            del self._cache[key]

    def get(self, state: Any, version: str, now: float, start: float) -> PredictionBaseline:
        """``start``: the window being checked, which may be the version's first (not stored yet)."""
        key = (state.name, version)
        hit = self._cache.get(key)
        if hit is not None and now - hit.built_at < REFRESH:
            return hit
        try:
            built = self._build(state, version, now, start)
        except Exception as exc:  # a baseline that cannot be built must not stop a window from closing
            log.exception("prediction baseline of %s %s", state.name, version)
            built = PredictionBaseline(None, None, reason=f"the previous version's traffic could not be read: {exc}")
        built.built_at = now
        self._cache[key] = built
        return built

    def _build(self, state: Any, version: str, now: float, start: float) -> PredictionBaseline:
        pred = state.ref(version).reference.prediction
        if pred is None:
            return PredictionBaseline(None, None, reason="the reference has no prediction column")
        previous = self.previous_version(state, version, start)
        if previous is None:
            return PredictionBaseline(None, None, reason=f"no version served before {version}")
        fingerprint = state.ref(version).fingerprint
        rows: list[dict[str, Any]] = []
        for g in reversed(state.granularities[:2]):  # hour roll-ups first, then base windows
            rows = [r for r in self.store.windows(state.name, version=previous, segment=OVERALL, granularity=g,
                                                   closed=True, since=now - SPAN, limit=MAX_WINDOWS,
                                                   with_profile=True) if r.get("profile")]
            if rows:
                break
        merged: ColumnProfile | None = None
        used = []
        for r in rows:
            d = orjson.loads(r["profile"])
            if d.get("reference") != fingerprint:  # folded on other bins: does not merge
                continue
            col = (d.get("profile") or {}).get("columns", {}).get(pred)
            if col is None:
                continue
            cp = ColumnProfile.from_dict(col)
            merged = cp if merged is None else merged.merge(cp)
            used.append(r)
        if merged is None or merged.present == 0:
            return PredictionBaseline(None, None, reason=f"version {previous} served before {version}, but has no "
                                      "closed window on the same reference bins in the last day")
        return PredictionBaseline(previous, merged, windows=len(used), start=min(r["start_ts"] for r in used),
                                  end=max(r["end_ts"] for r in used))

    def previous_version(self, state: Any, version: str, start: float) -> str | None:
        """The version whose traffic preceded ``version``'s first window (the newest such)."""
        firsts = self.store.first_windows(state.name, state.config.window)
        mine = min(firsts.get(version, start), start)
        earlier = [(t, v) for v, t in firsts.items() if v != version and t < mine]
        return max(earlier)[1] if earlier else None


def with_prediction(reference: Reference, column: ColumnProfile) -> Reference:
    """The reference with its prediction column's profile replaced (specs, bins and the rest unchanged)."""
    pred = reference.prediction
    assert pred is not None
    profile: DatasetProfile = replace(reference.profile, columns={**reference.profile.columns, pred: column})
    out = Reference(reference.specs, profile, source=reference.source, created_at=reference.created_at,
                    performance=reference.performance, multivariate=reference.multivariate)
    return out

"""One alert's state: the judgements of its recent windows, and what they add up to.

An alert does not count bad windows in a counter that a restart, a replayed window or a revised
performance window could throw off. It keeps the judgement of each of its recent windows, keyed by the
window's end (bad, good, or in between: a value between the limit and its ``clear`` level), and its status
follows from them: ``firing`` after ``for_windows`` consecutive bad windows, ``resolved`` after
``resolve_windows`` consecutive good ones, and a value hovering in between changes nothing (hysteresis). A
window judged twice (a replay after a crash, a performance window revised as labels arrive) replaces its
own judgement; it is never counted twice. A gap (no window, because no traffic) neither confirms nor clears:
silence has its own alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

KEEP = 16
"""Judgements kept beyond what ``for_windows`` and ``resolve_windows`` need (for step/slope and the UI)."""


@dataclass
class AlertState:
    fingerprint: str
    model: str
    name: str
    labels: dict[str, str]
    severity: str
    role: str
    stream: str
    rule_type: str | None = None  # None: a finding's alert; else the user rule's type
    status: str = "inactive"  # inactive | pending | firing
    judged: list[list[Any]] = field(default_factory=list)  # [end, start, bad (True/False/None), value], by end
    first_bad_at: float | None = None  # start of the first bad window of the current run: what moved first
    fired_at: float | None = None
    resolved_at: float | None = None
    alert_id: str | None = None  # one per firing episode
    incident: str | None = None
    value: float | None = None
    summary: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    silenced_by: str | None = None

    def judge(self, start: float, end: float, bad: bool | None, value: float | None, keep: int) -> None:
        """Record one window's judgement (replacing an earlier one of the same window)."""
        for j in self.judged:
            if j[0] == end:
                j[1], j[2], j[3] = start, bad, value
                break
        else:
            self.judged.append([end, start, bad, value])
            self.judged.sort(key=lambda j: j[0])
        del self.judged[:-keep]

    def streak(self, bad: bool) -> int:
        """Consecutive windows at the tail judged ``bad`` (windows judged "in between" are skipped over: they
        neither break nor extend a streak)."""
        n = 0
        for j in reversed(self.judged):
            if j[2] is None:
                continue
            if j[2] is not bad:
                break
            n += 1
        return n

    def run_start(self) -> float | None:
        """Start of the first window of the bad run at the tail."""
        first = None
        for j in reversed(self.judged):
            if j[2] is None:
                continue
            if j[2] is not True:
                break
            first = j[1]
        return first

    def values(self) -> list[float]:
        return [float(j[3]) for j in self.judged if j[3] is not None]

    def to_dict(self) -> dict[str, Any]:
        """Its fields as they are (not copied: the caller serialises them before the engine runs again;
        ``dataclasses.asdict``'s deep copy was most of the engine's time at 1,000 models)."""
        return {f: getattr(self, f) for f in _FIELDS}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AlertState:
        return cls(**d)


_FIELDS = tuple(f.name for f in fields(AlertState))

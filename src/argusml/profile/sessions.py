"""How an LLM application's sessions ended: the counts a window keeps, and merges, for abandonment.

A session ends when no turn follows its last for ``llm.session_timeout``; it was abandoned when that last
answer failed the user (a refusal, an error, nothing retrieved, a negative rating): they left without an
answer. The count belongs to the window of the session's last turn, which is still open when the session
is decided (the timeout is at most the window's lateness).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from argusml.stats import Mergeable


@dataclass
class SessionCounts(Mergeable):
    """Sessions that ended, and of them those abandoned.

    >>> (SessionCounts(10, 2) + SessionCounts(5, 4)).to_dict()
    {'ended': 15, 'abandoned': 6}
    """

    ended: int = 0
    abandoned: int = 0

    def merge(self, other: SessionCounts) -> SessionCounts:
        return SessionCounts(self.ended + other.ended, self.abandoned + other.abandoned)

    def to_dict(self) -> dict[str, Any]:
        return {"ended": self.ended, "abandoned": self.abandoned}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SessionCounts:
        return cls(int(d["ended"]), int(d["abandoned"]))

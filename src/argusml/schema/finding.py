"""A finding: one thing a check noticed, with how urgent it is and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from argusml.schema.kinds import Severity


@dataclass(frozen=True)
class Finding:
    """What a check reports. ``evidence`` holds the numbers that produced it,
    so a reader can re-derive the decision without re-running anything."""

    check: str
    column: str | None
    severity: Severity
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "column": self.column,
            "severity": self.severity.value,
            "message": self.message,
            "evidence": self.evidence,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(d["check"], d.get("column"), Severity(d["severity"]), d["message"], d.get("evidence", {}))

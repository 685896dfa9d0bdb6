"""The small vocabularies every layer shares: column kinds, roles, severities.

They are string enums so that they serialise to JSON as plain strings and
compare equal to them (``Kind.NUMERIC == "numeric"``).
"""

from __future__ import annotations

from enum import Enum


class Kind(str, Enum):
    """How a column's values are profiled and which drift tests apply."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    TEXT = "text"  # near-unique strings of several words: titles, names, free text
    IDENTIFIER = "identifier"  # near-unique single tokens: codes, keys, e-mail addresses

    @property
    def near_unique(self) -> bool:
        """Profiled by length and tested on the share of unseen values, never by category."""
        return self in (Kind.TEXT, Kind.IDENTIFIER)

    def __str__(self) -> str:
        return self.value


class Role(str, Enum):
    """What a column means to the model; decides how findings are reported."""

    FEATURE = "feature"
    PREDICTION = "prediction"
    TARGET = "target"
    ID = "id"
    TIMESTAMP = "timestamp"

    def __str__(self) -> str:
        return self.value


class Severity(str, Enum):
    """P0 pages someone, P1 is for today, P2 goes to the backlog."""

    P0 = "P0"
    P1 = "P1"
    P2 = "P2"

    def __str__(self) -> str:
        return self.value

    @property
    def rank(self) -> int:
        """0 is the most severe, so sorting by rank puts pages first."""
        return int(self.value[1])


class DriftStatus(str, Enum):
    DRIFTED = "drifted"
    STABLE = "stable"
    INSUFFICIENT_DATA = "insufficient_data"
    NOT_TESTED = "not_tested"

    def __str__(self) -> str:
        return self.value

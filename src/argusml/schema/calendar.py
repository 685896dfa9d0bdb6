"""Holidays and one-offs a model's owner declares (model YAML ``calendar:``), so advice can say "wait".

Black Friday shifts every input and the conversion rate, and retraining on it
teaches the model a week that will not come back until next year. Each event
is ``{name, start, end}``, with dates (a date ``end`` includes its whole day,
UTC) or datetimes (RFC 3339; without an offset, UTC), and optionally
``recurring: yearly``: the same dates every year.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _when(v: Any) -> date | datetime:
    """A date stays a date (so its ``end`` can take the whole day); anything else must be RFC 3339."""
    if isinstance(v, (date, datetime)):
        return v
    if isinstance(v, str):
        text = v.strip()
        if _DATE.match(text):
            return date.fromisoformat(text)
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            pass
    raise ValueError(f"not a date or datetime: {v!r} (use 2026-12-24 or 2026-12-24T18:00:00Z)")


def _ts(v: date | datetime, end: bool) -> float:
    if isinstance(v, datetime):
        return (v if v.tzinfo is not None else v.replace(tzinfo=timezone.utc)).timestamp()
    day = datetime.combine(v, time(), tzinfo=timezone.utc)
    return (day + timedelta(days=1) if end else day).timestamp()


def _shift(v: date | datetime, years: int) -> date | datetime:
    """The same calendar day ``years`` later; 29 February falls on the 28th in a common year."""
    try:
        return v.replace(year=v.year + years)
    except ValueError:
        return v.replace(year=v.year + years, day=28)


class CalendarEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, description="what the period is, as advice names it")
    start: date | datetime = Field(description="first day (or instant) of the period")
    end: date | datetime = Field(description="last day (a date: included whole) or instant of the period")
    recurring: Literal["yearly"] | None = Field(None, description="yearly: the same dates every year")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _parse(cls, v: Any) -> date | datetime:
        return _when(v)

    @model_validator(mode="after")
    def _ordered(self) -> CalendarEvent:
        s, e = _ts(self.start, False), _ts(self.end, True)
        if e <= s:
            raise ValueError(f"calendar event {self.name!r}: end {self.end.isoformat()} is not after start "
                             f"{self.start.isoformat()}: swap them, or give the last day as end (a date end "
                             "includes its whole day)")
        if self.recurring == "yearly" and e - s > 366 * 86400:
            raise ValueError(f"calendar event {self.name!r} recurs yearly but lasts more than a year "
                             f"({self.start.isoformat()} to {self.end.isoformat()})")
        return self

    def periods(self, since: float, until: float) -> list[tuple[float, float]]:
        """The (start, end) epoch-second spans of the event that overlap [since, until]."""
        if self.recurring is None:
            s, e = _ts(self.start, False), _ts(self.end, True)
            return [(s, e)] if s <= until and e >= since else []
        first = datetime.fromtimestamp(since, timezone.utc).year - self.start.year - 1
        last = datetime.fromtimestamp(until, timezone.utc).year - self.start.year + 1
        out = []
        for k in range(first, last + 1):
            s, e = _ts(_shift(self.start, k), False), _ts(_shift(self.end, k), True)
            if s <= until and e >= since:
                out.append((s, e))
        return out


__all__ = ["CalendarEvent"]

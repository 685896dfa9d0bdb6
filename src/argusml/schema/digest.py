"""The ``digest:`` key of a model's YAML: the weekly owner report, when it goes and to whom.

``digest: {}`` is enough when the model's ``owner`` is an e-mail address: every Monday at 08:00 UTC the
owner gets the last seven days. ``to`` names other recipients, ``every`` another weekday and UTC time,
``period`` another span, and the SMTP server is either ``smtp`` (the same fields as an e-mail
receiver's, without ``to``) or ``receiver``, the name of an e-mail receiver under ``alerts.receivers``
whose server (and, when nobody else is named, whose recipients) the digest uses.
"""

from __future__ import annotations

import math
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from argusml.schema.alerts import EmailReceiver, Receiver, SmtpServer

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEK = 7 * 86400.0
_MONDAY_0 = 4 * 86400.0
"""The first Monday 00:00 UTC after the epoch (1970-01-01 was a Thursday)."""
_EVERY = re.compile(r"^\s*([A-Za-z]+)\s+(\d{1,2}):(\d{2})\s*$")
DIGEST_RECEIVER = "digest"
"""The receiver name the digest's notices carry in the outbox (and in the sender's counters)."""


def parse_every(text: str) -> tuple[int, int]:
    """``"monday 08:00"`` -> (0, 28800): the weekday (Monday 0) and the UTC second of that day.

    >>> parse_every("Mon 8:30"), parse_every("sunday 23:59")
    ((0, 30600), (6, 86340))
    """
    m = _EVERY.match(str(text))
    if not m:
        raise ValueError(f"{text!r} is not a weekday and a UTC time (e.g. 'monday 08:00')")
    day = m.group(1).lower()
    found = [i for i, d in enumerate(WEEKDAYS) if d == day or (len(day) >= 3 and d.startswith(day))]
    if len(found) != 1:
        raise ValueError(f"{m.group(1)!r} is not a weekday (one of {', '.join(WEEKDAYS)})")
    hour, minute = int(m.group(2)), int(m.group(3))
    if hour > 23 or minute > 59:
        raise ValueError(f"{m.group(2)}:{m.group(3)} is not a time of day (00:00 to 23:59, UTC)")
    return found[0], hour * 3600 + minute * 60


class DigestSettings(BaseModel):
    """The weekly owner report (docs/ALERTING.md, "Weekly owner report")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    to: list[str] = Field(default_factory=list, description="recipients (default: the model's owner, when it is "
                                                            "an e-mail address)")
    every: str = Field("monday 08:00", description="weekday and UTC time it is sent")
    period: float = Field(7 * 86400.0, description="how far back it looks from the time it is sent")
    smtp: SmtpServer | None = Field(None, description="the SMTP server (the fields of an e-mail receiver but to)")
    receiver: str | None = Field(None, description="an e-mail receiver under alerts.receivers whose server it uses")
    timeout: float = Field(30.0, gt=0, le=120, description="seconds one delivery attempt may take")

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, v: object) -> float:
        from argusml.schema.model_config import parse_duration

        seconds = parse_duration(v)
        if not 3600 <= seconds <= 90 * 86400:
            raise ValueError(f"must be between 1h and 90d, not {v!r}")
        return seconds

    @field_validator("every")
    @classmethod
    def _every(cls, v: str) -> str:
        parse_every(v)
        return v

    @model_validator(mode="after")
    def _one_server(self) -> DigestSettings:
        if self.smtp is not None and self.receiver is not None:
            raise ValueError("digest takes smtp or receiver, not both (receiver reuses an alerts e-mail receiver's "
                             "server)")
        return self

    def last_due(self, now: float) -> float:
        """The newest scheduled send time at or before ``now``: the end of the period a digest sent now covers.

        >>> DigestSettings().last_due(1_800_000_000.0)  # Friday 2027-01-15 08:00 UTC -> Monday the 11th, 08:00
        1799654400.0
        """
        day, second = parse_every(self.every)
        first = _MONDAY_0 + day * 86400.0 + second
        return first + math.floor((now - first) / WEEK) * WEEK


def digest_receiver(settings: DigestSettings, owner: str | None, receivers: dict[str, Receiver]) -> Receiver:
    """The e-mail receiver the digest goes to: ``to``, else the owner when it is an address, else the named
    receiver's own recipients; over ``smtp``, the named receiver's server, or localhost:25. A ValueError
    that says which key to set when nobody would get it."""
    named = None
    if settings.receiver is not None:
        rx = receivers.get(settings.receiver)
        if rx is None or rx.email is None:
            mails = sorted(k for k, r in receivers.items() if r.email is not None)
            raise ValueError(f"digest.receiver: {settings.receiver!r} is not an e-mail receiver under "
                             f"alerts.receivers (e-mail receivers: {', '.join(mails) or 'none'})")
        named = rx.email
    to = list(settings.to)
    if not to and owner and "@" in owner:
        to = [owner]
    if not to and named is not None:
        to = list(named.to)
    if not to:
        raise ValueError("digest: nobody to send it to; set digest.to, or owner: to an e-mail address")
    server = named if named is not None else settings.smtp or SmtpServer()
    fields = {k: getattr(server, k) for k in SmtpServer.model_fields}
    return Receiver(email=EmailReceiver(to=to, **fields), timeout=settings.timeout)

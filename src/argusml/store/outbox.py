"""The notification outbox: every notice the alert engine decides to send, until it is sent or given up.

The engine writes a notice in the same transaction as the incident state that
caused it (``queue_notifications(..., cur=cur)``), and the sender reads the
outbox, not the engine's memory: so a crash between deciding and sending
neither loses a notice (the next process finds it pending) nor sends one
twice for one decision (the decision and its notice commit together).

A row is ``pending`` (with the time of its next attempt), ``sent``, or
``failed`` (given up: a receiver that refuses it for good, or one that kept
failing past the sender's give-up horizon). The table is in ``tables.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from argusml.store.connection import Connection

NOTIFICATION_STATES = ("pending", "sent", "failed")

_COLUMNS = ("id, model, incident_id, receiver, severity, notice, state, attempts, created_at, next_at, sent_at, "
            "last_error, updated_at")

_RANK = "CASE severity WHEN 'P0' THEN 0 WHEN 'P1' THEN 1 ELSE 2 END"


@dataclass(frozen=True)
class NotificationRow:
    """One row of the outbox. ``notice`` is the notice's JSON text, as queued."""

    id: int
    model: str
    incident_id: str
    receiver: str
    severity: str
    notice: str
    state: str
    attempts: int
    created_at: float
    next_at: float | None
    sent_at: float | None
    last_error: str | None
    updated_at: float


QueuedNotice = tuple[str, str, str, str, "str | dict[str, Any]"]
"""(model, incident_id, receiver, severity, notice): the notice as JSON text or as a JSON-ready dict."""


class Outbox(Connection):
    """The ``notifications`` table (a mixin of ``Store``)."""

    def queue_notifications(self, rows: Sequence[QueuedNotice], now: float, cur: Any = None) -> list[int]:
        """Queue notices, due at once; their ids, in order. With ``cur`` the rows join the caller's open
        transaction (the engine's state and its notices commit together), else they commit on their own."""
        if cur is None:
            with self.transaction() as own:
                return self._queue(own, rows, now)
        return self._queue(cur, rows, now)

    @staticmethod
    def _queue(cur: Any, rows: Sequence[QueuedNotice], now: float) -> list[int]:
        ids: list[int] = []
        for model, incident_id, receiver, severity, notice in rows:
            if str(severity) not in ("P0", "P1", "P2"):
                raise ValueError(f"notification for {model}/{incident_id} -> {receiver}: severity {severity!r} is "
                                 "not P0, P1 or P2")
            text = notice if isinstance(notice, str) else orjson.dumps(notice).decode()
            cur.execute("INSERT INTO notifications(model, incident_id, receiver, severity, notice, state, attempts, "
                        "created_at, next_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?) RETURNING id",
                        [model, incident_id, receiver, str(severity), text, now, now, now])
            ids.append(int(cur.fetchone()[0]))
        return ids

    def due_notifications(self, now: float, limit: int = 100) -> list[NotificationRow]:
        """Pending notices whose next attempt is due, P0 first, then P1, then P2, then oldest first.

        Of one incident's pending notices to one receiver only the oldest is offered (a later one waits
        for it, even while it waits for a retry): a receiver must never see an incident resolved and then
        opened. That head takes the most urgent severity of the notices behind it, so an incident escalated
        to P0 is not held behind P2s by its own earlier, P2 notice."""
        rows = self._rows(f"""
            SELECT {_COLUMNS} FROM (
                SELECT *, row_number() OVER (PARTITION BY model, incident_id, receiver ORDER BY created_at, id) AS rn,
                       min({_RANK}) OVER (PARTITION BY model, incident_id, receiver) AS urgency
                FROM notifications WHERE state = 'pending')
            WHERE rn = 1 AND next_at <= ?
            ORDER BY urgency, created_at, id LIMIT ?""", [now, limit])
        return [NotificationRow(*r) for r in rows]

    def next_notification_at(self) -> float | None:
        """When the earliest notice ``due_notifications`` could offer is due (None: nothing pending): how long the
        sender may sleep."""
        r = self._rows("""SELECT min(next_at) FROM (
            SELECT next_at, row_number() OVER (PARTITION BY model, incident_id, receiver ORDER BY created_at, id) AS rn
            FROM notifications WHERE state = 'pending') WHERE rn = 1""")
        return r[0][0] if r else None

    def notification_sent(self, id: int, now: float) -> None:
        self._cur().execute("UPDATE notifications SET state = 'sent', attempts = attempts + 1, sent_at = ?, "
                            "next_at = NULL, updated_at = ? WHERE id = ?", [now, now, id])

    def notification_failed(self, id: int, now: float, error: str, next_at: float | None) -> None:
        """One failed attempt: retried at ``next_at``, or given up when it is None."""
        self._cur().execute("UPDATE notifications SET state = ?, attempts = attempts + 1, next_at = ?, last_error = ?, "
                            "updated_at = ? WHERE id = ?",
                            ["pending" if next_at is not None else "failed", next_at, error, now, id])

    def notifications(self, model: str | None = None, incident_id: str | None = None, limit: int = 100
                      ) -> list[dict[str, Any]]:
        """The outbox's rows, newest first (``notice`` as JSON text), for the API and for tests."""
        where, params = ["TRUE"], []
        for col, val in (("model", model), ("incident_id", incident_id)):
            if val is not None:
                where.append(f"{col} = ?")
                params.append(val)
        return self._select("notifications", _COLUMNS, where, params, "id DESC", limit)

    def notification_counts(self) -> dict[str, int]:
        """How many notices are in each state (every state named, zero included)."""
        counts = dict.fromkeys(NOTIFICATION_STATES, 0)
        for state, n in self._rows("SELECT state, count(*) FROM notifications GROUP BY state"):
            counts[state] = int(n)
        return counts

    def prune_notifications(self, before: float) -> int:
        """Delete sent and given-up notices last touched before ``before`` (retention); how many."""
        r = self._rows("DELETE FROM notifications WHERE state <> 'pending' AND updated_at < ? RETURNING id", [before])
        return len(r)

"""The sender: drains the store's notification outbox, with retries, backoff and P0 first.

The alert engine never sends anything itself: it queues notices in the
transaction that changes an incident and calls ``Sender.wake()``. The sender
reads what is due from the store (so a notice queued by a process that then
died is sent by the next one), sends it on a small thread pool, and records
each attempt in the store.

Why a pool, and why one notice per receiver at a time: a receiver that hangs
until its timeout must not hold the others (each receiver has its own slot),
and one receiver must see one incident's notices in the order they were made
(the store offers only the oldest pending notice of an incident per receiver,
and the sender keeps at most one in flight per receiver). The pool's slots
are handed out P0 first, so a page is never queued behind a backlog of P2s;
it waits at most for one attempt already in flight to its own receiver.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from argusml.alerts.notify import DeliveryError, deliver
from argusml.schema.alerts import Receiver

if TYPE_CHECKING:
    from argusml.store.outbox import NotificationRow

log = logging.getLogger("argus.notify")

FailureCallback = Callable[[str, str, dict[str, Any], str, bool], None]
"""``on_failure(model, receiver, notice, error, gave_up)``: called after every failed attempt."""


class OutboxStore(Protocol):
    """What the sender needs of the store (``argusml.store.outbox.Outbox``)."""

    def due_notifications(self, now: float, limit: int = ...) -> list[NotificationRow]: ...
    def next_notification_at(self) -> float | None: ...
    def notification_sent(self, id: int, now: float) -> None: ...
    def notification_failed(self, id: int, now: float, error: str, next_at: float | None) -> None: ...


class Sender:
    """Sends the outbox's due notices and records the outcome of every attempt.

    ``receivers(model)`` gives the model's receivers as configured now (a config reload applies to the
    next attempt); a notice whose receiver is gone fails for good with that reason. Retry delays start at
    ``backoff`` seconds and double per failed attempt up to ``backoff_cap``, each scaled by a random factor
    in ``1 ± jitter`` (so receivers that failed together do not all retry in the same second) and never
    shorter than a ``Retry-After`` the receiver sent. A notice still failing ``give_up_after`` seconds after
    it was queued is given up; an error that cannot recover (``DeliveryError.retryable`` false) gives up at
    once.

    Counters for Prometheus, keyed by (model, receiver): ``sent``, ``failures`` (failed attempts),
    ``gave_up``; ``last_error`` holds the latest failure's message.
    """

    def __init__(self, store: OutboxStore, receivers: Callable[[str], dict[str, Receiver]], *,
                 clock: Callable[[], float] = time.time, external_url: str = "", workers: int = 4,
                 backoff: float = 5.0, backoff_cap: float = 900.0, jitter: float = 0.1,
                 give_up_after: float = 86400.0, on_failure: FailureCallback | None = None,
                 batch: int = 100, idle_wait: float = 30.0, seed: int | None = None) -> None:
        if workers < 1:
            raise ValueError(f"Sender(workers={workers}): needs at least one worker")
        if backoff <= 0 or backoff_cap < backoff:
            raise ValueError(f"Sender(backoff={backoff}, backoff_cap={backoff_cap}): needs 0 < backoff <= backoff_cap")
        if not 0 <= jitter < 1:
            raise ValueError(f"Sender(jitter={jitter}): must be in [0, 1)")
        self.store = store
        self.receivers = receivers
        self.clock = clock
        self.external_url = external_url
        self.workers = workers
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self.jitter = jitter
        self.give_up_after = give_up_after
        self.on_failure = on_failure
        self.batch = batch
        self.idle_wait = idle_wait
        self.sent: dict[tuple[str, str], int] = {}
        self.failures: dict[tuple[str, str], int] = {}
        self.gave_up: dict[tuple[str, str], int] = {}
        self.last_error: dict[tuple[str, str], str] = {}
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._inflight: dict[int, tuple[str, str]] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argus-notify")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- retry policy -------------------------------------------------------------------------------
    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt (1 for the first)."""
        base = min(self.backoff_cap, self.backoff * 2.0 ** max(0, attempts - 1))
        if self.jitter:
            with self._lock:
                base *= 1.0 + self._rng.uniform(-self.jitter, self.jitter)
        if retry_after is not None:
            base = max(base, min(retry_after, self.backoff_cap))
        return base

    # -- one pass -------------------------------------------------------------------------------------
    def run_once(self, now: float) -> int:
        """Send everything due at ``now`` and wait for the outcomes; how many attempts were made.

        A receiver's notices go one after another (one slot per receiver), so this keeps dispatching until
        nothing more is due at ``now``: a failed notice's next attempt is later than ``now``. Meant for tests
        (with a simulated clock) and for a caller that drives the sender itself instead of ``start()``."""
        attempts = 0
        while True:
            futures = self._dispatch(now)
            if not futures:
                return attempts
            attempts += len(futures)
            wait(futures)

    def _dispatch(self, now: float) -> list[Future[None]]:
        """Hand due notices to free slots, most urgent first, at most one per receiver."""
        with self._lock:
            free = self.workers - len(self._inflight)
            if free <= 0:
                return []
            busy = set(self._inflight.values())
            known = set(self._inflight)
        rows = self.store.due_notifications(now, self.batch)
        picked: list[NotificationRow] = []
        for row in rows:
            key = (row.model, row.receiver)
            if row.id in known or key in busy:
                continue
            busy.add(key)
            picked.append(row)
            if len(picked) == free:
                break
        futures = []
        with self._lock:
            for row in picked:
                self._inflight[row.id] = (row.model, row.receiver)
        for row in picked:
            futures.append(self._pool.submit(self._attempt, row, now))
        return futures

    def _attempt(self, row: NotificationRow, now: float) -> None:
        started = self.clock()
        key = (row.model, row.receiver)
        try:
            notice: dict[str, Any] = orjson.loads(row.notice)
            error: DeliveryError | None = None
            try:
                receiver = self._receiver(row)
                deliver(notice, receiver, self.external_url, key=str(row.id))
            except DeliveryError as exc:
                error = exc
            except Exception as exc:  # a notice the builders cannot shape: a bug, never worth a retry
                log.exception("notification %d to %r of %r: cannot build or send it", row.id, row.receiver, row.model)
                error = DeliveryError(f"receiver {row.receiver!r}: {type(exc).__name__}: {exc}", False)
            done = now + max(0.0, self.clock() - started)
            if error is None:
                self.store.notification_sent(row.id, done)
                with self._lock:
                    self.sent[key] = self.sent.get(key, 0) + 1
                return
            self._failed(row, notice, error, done)
        finally:
            with self._lock:
                self._inflight.pop(row.id, None)
            self._wake.set()  # the receiver's slot is free: its next notice may go

    def _receiver(self, row: NotificationRow) -> Receiver:
        try:
            configured = self.receivers(row.model)
        except KeyError:
            configured = {}
        receiver = configured.get(row.receiver)
        if receiver is None:
            known = ", ".join(sorted(configured)) or "none"
            raise DeliveryError(f"receiver {row.receiver!r} is no longer in the alerts config of model {row.model!r} "
                                f"(its receivers: {known}); the notice is dropped", False)
        return receiver

    def _failed(self, row: NotificationRow, notice: dict[str, Any], error: DeliveryError, done: float) -> None:
        key = (row.model, row.receiver)
        next_at: float | None = None
        if error.retryable:
            candidate = done + self.delay(row.attempts + 1, error.retry_after)
            if candidate - row.created_at <= self.give_up_after:
                next_at = candidate
        gave_up = next_at is None
        message = error.message + ("" if not gave_up or not error.retryable else
                                   f" (given up: still failing {self.give_up_after:g} s after it was queued)")
        self.store.notification_failed(row.id, done, message, next_at)
        with self._lock:
            self.failures[key] = self.failures.get(key, 0) + 1
            if gave_up:
                self.gave_up[key] = self.gave_up.get(key, 0) + 1
            self.last_error[key] = message
        log.warning("notification %d (%s) to %r of %r failed, attempt %d: %s%s", row.id, row.incident_id,
                    row.receiver, row.model, row.attempts + 1, message,
                    "" if gave_up else f"; next attempt in {next_at - done:.0f} s")  # type: ignore[operator]
        if self.on_failure is not None:
            try:
                self.on_failure(row.model, row.receiver, notice, message, gave_up)
            except Exception:
                log.exception("the notification failure callback raised")

    # -- on its own thread ----------------------------------------------------------------------------
    def wake(self) -> None:
        """Something was queued: look now rather than at the next due time."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="argus-notify-sender", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop dispatching and wait up to ``timeout`` for attempts in flight; what is left stays pending
        in the store for the next process."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before looking: an attempt finishing from here on wakes the wait below
            now = self.clock()
            try:
                self._dispatch(now)
                due = self.store.next_notification_at()
            except Exception:  # the store closing under us, a bug: keep the thread, try again shortly
                log.exception("notification sender: a pass failed")
                due = None
            # due now but not dispatched: its receiver is busy (or the slots are), and the attempt in flight
            # wakes us when it ends; due later: sleep until then; nothing pending: until woken
            timeout = self.idle_wait if due is None or due <= now else min(self.idle_wait, due - now)
            self._wake.wait(timeout)

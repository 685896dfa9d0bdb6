"""A circuit breaker around a model call, failing open to a fallback the user supplies.

When a model (or what it calls: a feature store, a GPU server) starts failing or
crawling, every request that still waits on it costs the caller a timeout and the
model more load. The breaker watches the outcome of the last ``window`` calls and,
once too many of them failed or were slow, stops calling the model for ``cooldown``
seconds and serves the ``fallback`` instead (a rule, a cached answer, the previous
version). Then it lets ``half_open_calls`` trial calls through: if they all succeed
it closes, if one fails it opens again.

The window counts calls, not seconds. A count window is a fixed sample size: the
error rate of 20 calls means the same at 10 requests a second and at 1,000, its
memory is ``window`` small integers whatever the traffic, and recording a call is
O(1) with no clock read (a time window has to bucket by time and, at low traffic,
judges on whatever few calls fell into it). ``min_calls`` keeps a handful of calls
from tripping it (1 failure of 2 is not a 50% error rate worth acting on). The
window restarts empty when the breaker closes, so calls made before an outage do
not count after it.

Latency trips it the same way: a call that took longer than ``slow_call_ms`` is
slow, and the breaker opens when the share of slow calls in the window reaches
``slow_rate``. "At least 5% of calls over L" is the window's 95th percentile being
over L (give or take one call), without sorting anything per call.

The hot path takes one lock to record the call; admission in the closed state
reads one attribute. bench/breaker.py measures the cost (docs/BENCHMARKS.md).
This module imports only the standard library (prometheus_client when a registry
is given), like the rest of the SDK.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
import sys
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

log = logging.getLogger("argus.sdk.breaker")

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"
# the value of argus_circuit_breaker_state for each state
STATE_VALUES = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}
# a breaker's name becomes a Prometheus label value on the collector: short and plain
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")

_FAILED, _SLOW = 1, 2  # bits of one call's entry in the window

Listener = Callable[["CircuitBreaker", str, str, str], None]


class CircuitOpenError(RuntimeError):
    """The breaker is open (or half-open with its trials taken) and has no fallback to serve."""

    def __init__(self, name: str, retry_in: float, reason: str) -> None:
        self.name, self.retry_in, self.reason = name, retry_in, reason
        super().__init__(f"circuit breaker {name!r} is open ({reason}); the model is tried again in "
                         f"{max(retry_in, 0.0):.1f} s. Pass fallback= to serve another answer meanwhile")


class Served(NamedTuple):
    """A call's answer and who gave it: the model (``fallback`` False) or the fallback."""

    value: Any
    fallback: bool


class CircuitBreaker:
    """Closed → open on error rate or slow-call rate over the last ``window`` calls; open → half-open after
    ``cooldown`` seconds; half-open → closed after ``half_open_calls`` successful trials, → open on a failed one.

    - ``failure_rate``: open when failed calls / calls in the window reach it (None: errors never trip it);
    - ``slow_call_ms`` and ``slow_rate``: open when calls slower than ``slow_call_ms`` / calls reach ``slow_rate``;
    - ``min_calls``: neither rate is judged on fewer calls than this;
    - ``failures``: the exception types that count as failures (or a predicate on the exception). Any other
      exception (a ValueError for a malformed request, say) is re-raised and counts neither way;
    - ``fallback``: called with the call's own arguments while the breaker is open; without one an open
      breaker raises ``CircuitOpenError``. With ``fallback_on_failure`` a failed call is answered by the
      fallback too (the failure is still counted);
    - ``timeout``: seconds. An async call still running then is cancelled and fails with TimeoutError; a
      sync call cannot be interrupted safely, so one that took longer counts as failed but its answer is
      returned;
    - ``clock``: seconds, monotonic; tests pass a fake one. It times calls only when ``slow_call_ms`` or
      ``timeout`` is set.

    Thread-safe and usable from asyncio (the lock is never held across an ``await``). A call admitted in one
    state that finishes after the breaker moved on is not counted in the new state: a slow call let through
    before the breaker opened cannot close it or use up a half-open trial.
    """

    def __init__(self, name: str, *, fallback: Callable[..., Any] | None = None, window: int = 100,
                 min_calls: int = 20, failure_rate: float | None = 0.5, slow_call_ms: float | None = None,
                 slow_rate: float = 0.5, cooldown: float = 30.0, half_open_calls: int = 1,
                 failures: tuple[type[BaseException], ...] | Callable[[BaseException], bool] = (Exception,),
                 fallback_on_failure: bool = False, timeout: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        _check(name, window, min_calls, failure_rate, slow_call_ms, slow_rate, cooldown, half_open_calls,
               failures, timeout)
        self.name = name
        self.fallback = fallback
        self.window, self.min_calls = window, min_calls
        self.failure_rate, self.slow_rate = failure_rate, slow_rate
        self.slow_call_ms = slow_call_ms
        self.cooldown, self.half_open_calls = cooldown, half_open_calls
        self.fallback_on_failure = fallback_on_failure
        self.timeout = timeout
        self._clock = clock
        self._slow_s = None if slow_call_ms is None else slow_call_ms / 1000.0
        self._timed = slow_call_ms is not None or timeout is not None
        if isinstance(failures, tuple):
            types = failures
            self._is_failure: Callable[[BaseException], bool] = lambda exc: isinstance(exc, types)
        else:
            self._is_failure = failures
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._ring = [0] * window
        self._pos = self._n = self._n_failed = self._n_slow = 0
        self._state = CLOSED
        self._epoch = 0
        self._fast = (CLOSED, 0)  # (state, epoch) in one attribute: read without the lock on the hot path
        self._opened_at = 0.0
        self._reason = ""
        self._trials = self._trials_ok = 0
        # since creation (stats()); plain attributes, not a dict: they are counted on every call
        self._calls = self._failed = self._slow = self._short = self._fallbacks = self._opened = 0

    # -- what the caller sees ---------------------------------------------------------------------
    @property
    def state(self) -> str:
        """``closed``, ``half_open`` or ``open``. An open breaker whose cool-down has passed still reads
        ``open`` until the next call makes it half-open."""
        return self._state

    @property
    def reason(self) -> str:
        """Why the breaker last changed state, in words (empty before its first change)."""
        return self._reason

    def stats(self) -> dict[str, Any]:
        """The state, counters since creation and the current window, for a model server's own status page."""
        with self._lock:
            return {"state": self._state, "calls": self._calls, "failed": self._failed, "slow": self._slow,
                    "short_circuited": self._short, "fallbacks": self._fallbacks, "opened": self._opened,
                    "window_calls": self._n,
                    "window_failed": self._n_failed, "window_slow": self._n_slow}

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(breaker, old, new, reason)`` on every change of state. It runs under the breaker's
        lock, in the thread of the call that changed it, so it must be quick and must not call through this
        breaker (reading ``state`` is fine)."""
        self._listeners.append(listener)

    def export_to(self, registry: Any, *, model: str, instance: str) -> None:
        """Keep ``argus_circuit_breaker_state{model, host, breaker}`` (``host`` is ``instance``) (0 closed, 1 half-open, 2 open) in a
        prometheus_client ``registry`` of the model server's own process."""
        child = _state_gauge(registry).labels(model, instance, self.name)
        child.set(STATE_VALUES[self._state])
        self.add_listener(lambda b, _old, new, _why: child.set(STATE_VALUES[new]))

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` through the breaker: its answer, or the fallback's."""
        return self._run(fn, args, kwargs, None)[0]

    async def acall(self, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        """``await fn(*args, **kwargs)`` through the breaker: its answer, or the fallback's."""
        return (await self._arun(fn, args, kwargs, None))[0]

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """As a decorator: the function (sync or async) called through this breaker."""
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def awrapper(*args: Any, **kwargs: Any) -> Any:
                return (await self._arun(fn, args, kwargs, None))[0]
            awrapper.breaker = self  # type: ignore[attr-defined]
            return awrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return self._run(fn, args, kwargs, None)[0]
        wrapper.breaker = self  # type: ignore[attr-defined]
        return wrapper

    def invoke(self, fn: Callable[..., Any], args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None,
               fallback: Callable[..., Any] | None = None) -> Served:
        """Call ``fn`` through the breaker and say who answered. ``fallback`` replaces the breaker's own for
        this call (a wrapped model's ``predict_proba`` needs the previous model's ``predict_proba``)."""
        return Served(*self._run(fn, args, kwargs or {}, fallback))

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
             fallback: Callable[..., Any] | None) -> tuple[Any, bool]:
        """``invoke`` as a plain tuple (a NamedTuple per call costs more than the rest of the closed path)."""
        state, epoch = self._fast
        if state is not CLOSED:
            admitted = self._admit()
            if admitted is None:
                return self._fallback(fallback, args, kwargs)
            epoch = admitted
        t0 = self._clock() if self._timed else 0.0
        try:
            value = fn(*args, **kwargs)
        except BaseException as exc:
            if not isinstance(exc, Exception) or not self._is_failure(exc):
                self._record(epoch, None)
                raise
            self._record(epoch, _FAILED, exc)
            if self.fallback_on_failure and (fallback or self.fallback) is not None:
                return self._fallback(fallback, args, kwargs)
            raise
        self._record(epoch, self._judge(t0) if self._timed else 0)
        return value, False

    async def ainvoke(self, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...] = (),
                      kwargs: dict[str, Any] | None = None, fallback: Callable[..., Any] | None = None) -> Served:
        """``invoke`` for a coroutine function; the fallback may be sync or async."""
        return Served(*await self._arun(fn, args, kwargs or {}, fallback))

    async def _arun(self, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...], kwargs: dict[str, Any],
                    fallback: Callable[..., Any] | None) -> tuple[Any, bool]:
        state, epoch = self._fast
        if state is not CLOSED:
            admitted = self._admit()
            if admitted is None:
                return await _resolve(self._fallback(fallback, args, kwargs))
            epoch = admitted
        t0 = self._clock() if self._timed else 0.0
        try:
            if self.timeout is not None:
                import asyncio  # here, not at the top: a model server that never awaits does not load asyncio

                value = await asyncio.wait_for(fn(*args, **kwargs), self.timeout)
            else:
                value = await fn(*args, **kwargs)
        except BaseException as exc:
            # asyncio.TimeoutError is TimeoutError from 3.11 on; wait_for's timeout always counts as a failure
            timed_out = self.timeout is not None and isinstance(exc, sys.modules["asyncio"].TimeoutError)
            if not timed_out and (not isinstance(exc, Exception) or not self._is_failure(exc)):
                self._record(epoch, None)
                raise
            self._record(epoch, _FAILED, exc)
            if self.fallback_on_failure and (fallback or self.fallback) is not None:
                return await _resolve(self._fallback(fallback, args, kwargs))
            raise
        self._record(epoch, self._judge(t0) if self._timed else 0)
        return value, False

    # -- the state machine --------------------------------------------------------------------------
    def _admit(self) -> int | None:
        """The epoch the call runs in, or None when it must not reach the model."""
        state, epoch = self._fast
        if state is CLOSED:
            return epoch
        if state is OPEN and self._clock() - self._opened_at < self.cooldown:
            # still cooling down: answered without the lock (the common case while open; _opened_at is set
            # before the state becomes open). The counter may miss a call to a race; the state cannot.
            self._short += 1
            return None
        with self._lock:
            if self._state is OPEN:
                if self._clock() - self._opened_at < self.cooldown:
                    self._short += 1
                    return None
                self._move(HALF_OPEN, f"cool-down of {self.cooldown:g} s over; trying the model with "
                                      f"{self.half_open_calls} call(s)")
            if self._state is HALF_OPEN:
                if self._trials >= self.half_open_calls:
                    self._short += 1
                    return None
                self._trials += 1
            return self._epoch

    def _judge(self, t0: float) -> int:
        elapsed = self._clock() - t0
        bits = 0
        if self._slow_s is not None and elapsed > self._slow_s:
            bits |= _SLOW
        if self.timeout is not None and elapsed > self.timeout:
            bits |= _FAILED
        return bits

    def _record(self, epoch: int, bits: int | None, exc: BaseException | None = None) -> None:
        """Count one finished call (``bits`` None: an exception that is not a failure, counted neither way)."""
        with self._lock:
            if epoch != self._epoch:  # admitted before the breaker moved on: not evidence about the new state
                return
            if self._state is not CLOSED:
                self._record_trial(bits, exc)
                return
            if bits is None:
                return
            self._calls += 1
            pos = self._pos
            old = self._ring[pos]
            self._ring[pos] = bits
            self._pos = 0 if pos + 1 == self.window else pos + 1
            if self._n < self.window:
                self._n += 1
            elif not bits and not old:  # a success replaced a success: neither rate moved
                return
            if bits or old:
                self._n_failed += (bits & _FAILED) - (old & _FAILED)
                self._n_slow += ((bits & _SLOW) - (old & _SLOW)) >> 1
                self._failed += bits & _FAILED
                self._slow += (bits & _SLOW) >> 1
            # a rate can only have risen with a failed or slow call, or with the window reaching min_calls
            if self._n < self.min_calls or not (bits or self._n == self.min_calls):
                return
            n = self._n
            if self.failure_rate is not None and self._n_failed / n >= self.failure_rate:
                self._open(f"{self._n_failed} of the last {n} calls failed (rate {self._n_failed / n:.2f} >= "
                           f"{self.failure_rate:g})" + (f"; last: {type(exc).__name__}: {exc}" if exc else ""))
            elif self._slow_s is not None and self._n_slow / n >= self.slow_rate:
                self._open(f"{self._n_slow} of the last {n} calls took longer than {self.slow_call_ms:g} ms "
                           f"(rate {self._n_slow / n:.2f} >= {self.slow_rate:g})")

    def _record_trial(self, bits: int | None, exc: BaseException | None) -> None:
        """A half-open trial's outcome: one failure opens the breaker, ``half_open_calls`` successes close it."""
        if bits is None:
            self._trials -= 1  # the trial told nothing: free its place for another
            return
        self._calls += 1
        self._failed += bits & _FAILED
        self._slow += (bits & _SLOW) >> 1
        if bits:
            what = "failed" if bits & _FAILED else f"took longer than {self.slow_call_ms:g} ms"
            self._open(f"a trial call {what}" + (f": {type(exc).__name__}: {exc}" if exc else ""))
            return
        self._trials_ok += 1
        if self._trials_ok >= self.half_open_calls:
            self._move(CLOSED, f"{self._trials_ok} trial call(s) succeeded")

    def _open(self, reason: str) -> None:
        self._opened_at = self._clock()
        self._opened += 1
        self._move(OPEN, reason)

    def _move(self, new: str, reason: str) -> None:
        """Change state under the lock: a new epoch, an empty window, the listeners told."""
        old = self._state
        self._state, self._reason = new, reason
        self._epoch += 1
        self._fast = (new, self._epoch)
        self._trials = self._trials_ok = 0
        if new is CLOSED:
            self._ring = [0] * self.window
            self._pos = self._n = self._n_failed = self._n_slow = 0
        level = logging.WARNING if new is OPEN else logging.INFO
        log.log(level, "circuit breaker %r: %s -> %s: %s", self.name, old, new, reason)
        for listener in self._listeners:
            try:
                listener(self, old, new, reason)
            except Exception as exc:  # a broken metric exporter must not break the model's call
                log.warning("circuit breaker %r: listener %r failed: %s", self.name, listener, exc)

    def _fallback(self, fallback: Callable[..., Any] | None, args: tuple[Any, ...], kwargs: dict[str, Any]
                  ) -> tuple[Any, bool]:
        fb = fallback if fallback is not None else self.fallback
        if fb is None:
            with self._lock:
                retry_in = self._opened_at + self.cooldown - self._clock() if self._state is OPEN else 0.0
                reason = self._reason
            raise CircuitOpenError(self.name, retry_in, reason)
        self._fallbacks += 1  # under the GIL; a count lost to a race is a stats figure, not the state machine
        return fb(*args, **kwargs), True


async def _resolve(served: tuple[Any, bool]) -> tuple[Any, bool]:
    """A fallback of an async call may be a coroutine function: its answer, awaited."""
    if inspect.isawaitable(served[0]):
        return await served[0], True
    return served


def _check(name: str, window: int, min_calls: int, failure_rate: float | None, slow_call_ms: float | None,
           slow_rate: float, cooldown: float, half_open_calls: int, failures: Any, timeout: float | None) -> None:
    """Refuse settings that would make a breaker that never trips or never closes, naming the fix."""
    where = f"CircuitBreaker({name!r})"
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValueError(f"{where}: the name must be 1 to 64 letters, digits, '_', '.', ':' or '-' (it becomes a "
                         "Prometheus label value)")
    if not isinstance(window, int) or window < 1:
        raise ValueError(f"{where}: window={window!r} must be a whole number of calls >= 1")
    if not isinstance(min_calls, int) or not 1 <= min_calls <= window:
        raise ValueError(f"{where}: min_calls={min_calls!r} must be between 1 and window={window} (a window "
                         "holding fewer calls than min_calls could never trip)")
    if failure_rate is not None and not 0.0 < failure_rate <= 1.0:
        raise ValueError(f"{where}: failure_rate={failure_rate!r} must be in (0, 1], or None to ignore errors")
    if slow_call_ms is not None and not slow_call_ms > 0:
        raise ValueError(f"{where}: slow_call_ms={slow_call_ms!r} must be > 0, or None to ignore latency")
    if not 0.0 < slow_rate <= 1.0:
        raise ValueError(f"{where}: slow_rate={slow_rate!r} must be in (0, 1]")
    if failure_rate is None and slow_call_ms is None:
        raise ValueError(f"{where}: with failure_rate=None and slow_call_ms=None nothing can trip it; set one")
    if not cooldown >= 0:
        raise ValueError(f"{where}: cooldown={cooldown!r} must be >= 0 seconds")
    if not isinstance(half_open_calls, int) or half_open_calls < 1:
        raise ValueError(f"{where}: half_open_calls={half_open_calls!r} must be a whole number >= 1")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"{where}: timeout={timeout!r} must be > 0 seconds, or None")
    if isinstance(failures, tuple):
        bad = [f for f in failures if not (isinstance(f, type) and issubclass(f, BaseException))]
        if bad or not failures:
            raise ValueError(f"{where}: failures= must be a non-empty tuple of exception classes (or a function "
                             f"of the exception), not {failures!r}")
    elif not callable(failures):
        raise ValueError(f"{where}: failures= must be a tuple of exception classes or a function of the exception")


_GAUGES: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_GAUGES_LOCK = threading.Lock()


def _state_gauge(registry: Any) -> Any:
    """The one ``argus_circuit_breaker_state`` gauge of a registry (a name registers once per registry)."""
    from prometheus_client import Gauge

    with _GAUGES_LOCK:
        gauge = _GAUGES.get(registry)
        if gauge is None:
            gauge = _GAUGES[registry] = Gauge("argus_circuit_breaker_state",
                                              "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
                                              ["model", "host", "breaker"], registry=registry)
        return gauge

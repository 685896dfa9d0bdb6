"""The SDK's circuit breaker: the state machine on a fake clock (each threshold trips at its exact call), the
half-open trials, the exception filter, fallbacks, async calls, concurrency, a property against a reference
model; and its wiring: the Client marks fallback-served events and reports breaker states to a real HTTP
server, and the real collector exports them as argus_circuit_breaker_state."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

import argusml
from argusml.monitor import Settings
from argusml.monitor.metrics import ModelMetrics
from argusml.schema.model_config import ModelConfig
from argusml.sdk.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, CircuitOpenError, Served
from service_util import LiveServer, make_reference

ROOT = Path(__file__).resolve().parents[1]
PROMTOOL = "/usr/bin/promtool"  # Debian's prometheus package; tests/test_prometheus.py requires it, this test lints with it


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Boom(ConnectionError):
    """What a failing model call raises in these tests."""


def model(x: float) -> float:
    """A stand-in model: fails on a negative input."""
    if x < 0:
        raise Boom(f"model unreachable for {x}")
    return 2 * x


def feed(b: CircuitBreaker, outcomes: str) -> list[Served | str]:
    """Call through ``b`` once per letter: ``o`` succeeds, ``x`` fails; what each call gave back."""
    out: list[Served | str] = []
    for c in outcomes:
        try:
            out.append(b.invoke(model, (1.0 if c == "o" else -1.0,)))
        except Boom:
            out.append("raised")
    return out


# -- the state machine --------------------------------------------------------------------------------------
def test_min_calls_keeps_a_few_failures_from_tripping_then_it_trips_at_that_exact_call():
    clock = FakeClock()
    b = CircuitBreaker("m", window=10, min_calls=5, failure_rate=0.5, clock=clock)
    for i in range(4):
        feed(b, "x")
        assert b.state == CLOSED, f"opened at failure {i + 1} of min_calls=5"
    feed(b, "x")
    assert b.state == OPEN
    assert b.reason.startswith("5 of the last 5 calls failed (rate 1.00 >= 0.5)")


def test_the_rate_is_judged_over_a_sliding_window_and_trips_when_it_reaches_the_threshold():
    b = CircuitBreaker("m", window=10, min_calls=10, failure_rate=0.3, clock=FakeClock())
    feed(b, "oxoooxooo")  # 9 calls: fewer than min_calls
    assert b.state == CLOSED
    feed(b, "o")  # 2 of 10 = 0.2
    assert b.state == CLOSED
    feed(b, "o")  # the first o leaves the window: still 2 of 10
    assert b.state == CLOSED
    feed(b, "x")  # the oldest in the window (the first x) leaves: 2 of 10
    assert b.state == CLOSED and b.stats()["window_failed"] == 2
    feed(b, "x")  # an o leaves: 3 of 10 = 0.3 >= 0.3
    assert b.state == OPEN and b.stats()["window_failed"] == 3


def test_slow_calls_trip_it_by_their_share_and_a_call_at_the_limit_is_not_slow():
    clock = FakeClock()  # durations in 1/8 s, exact in binary: a call at the limit is not slow by rounding
    b = CircuitBreaker("m", window=4, min_calls=4, failure_rate=None, slow_call_ms=125, slow_rate=0.5, clock=clock)

    def takes(seconds: float) -> None:
        def fn() -> str:
            clock.t += seconds
            return "ok"
        assert b.call(fn) == "ok"

    takes(0.125)  # exactly the limit: not slow
    takes(0.125)
    takes(0.25)
    assert b.state == CLOSED and b.stats()["window_slow"] == 1
    takes(0.125)  # 1 of 4
    assert b.state == CLOSED
    takes(0.5)  # the first call leaves the window: 2 of 4 = 0.5
    assert b.state == OPEN
    assert b.reason == "2 of the last 4 calls took longer than 125 ms (rate 0.50 >= 0.5)"


def test_open_serves_the_fallback_until_the_cooldown_ends_then_lets_one_trial_through():
    clock = FakeClock()
    calls: list[float] = []

    def counted(x: float) -> float:
        calls.append(x)
        return model(x)

    b = CircuitBreaker("m", window=2, min_calls=2, cooldown=30, fallback=lambda x: -100.0, clock=clock)
    for _ in range(2):
        with pytest.raises(Boom):
            b.call(counted, -1.0)
    assert b.state == OPEN
    opened = clock.t
    clock.t = opened + 29.999
    assert b.invoke(counted, (3.0,)) == Served(-100.0, True)
    assert calls == [-1.0, -1.0]  # the model was not called while open
    clock.t = opened + 30
    assert b.invoke(counted, (3.0,)) == Served(6.0, False)  # the trial reaches the model, and succeeds
    assert b.state == CLOSED and calls == [-1.0, -1.0, 3.0]
    assert b.stats()["window_calls"] == 0  # closing starts an empty window


def test_half_open_closes_after_k_successful_trials_and_a_failed_trial_opens_it_again():
    clock = FakeClock()
    b = CircuitBreaker("m", window=2, min_calls=2, cooldown=10, half_open_calls=3, fallback=lambda x: "fb",
                       clock=clock)
    feed(b, "xx")
    clock.t += 10
    feed(b, "o")
    assert b.state == HALF_OPEN
    feed(b, "o")
    assert b.state == HALF_OPEN
    assert feed(b, "o") == [Served(2.0, False)]
    assert b.state == CLOSED  # at the third trial, not before

    feed(b, "xx")
    assert b.state == OPEN
    clock.t += 10
    feed(b, "o")
    assert b.state == HALF_OPEN
    clock.t += 5
    failed_at = clock.t
    assert feed(b, "x") == ["raised"]
    assert b.state == OPEN and b.reason.startswith("a trial call failed: Boom: model unreachable")
    clock.t = failed_at + 9.5  # the new cool-down counts from the failed trial
    assert feed(b, "o") == [Served("fb", True)]
    clock.t = failed_at + 10
    assert feed(b, "o") == [Served(2.0, False)] and b.state == HALF_OPEN


def test_only_the_configured_exceptions_count_as_failures_and_others_pass_through_uncounted():
    b = CircuitBreaker("m", window=2, min_calls=2, failures=(ConnectionError, TimeoutError), clock=FakeClock())

    def bad_input() -> None:
        raise ValueError("feature 'age' is missing")

    for _ in range(5):
        with pytest.raises(ValueError, match="age"):
            b.call(bad_input)
    assert b.state == CLOSED and b.stats()["window_calls"] == 0 and b.stats()["calls"] == 0
    feed(b, "xx")
    assert b.state == OPEN

    by_message = CircuitBreaker("p", window=1, min_calls=1, failures=lambda e: "unreachable" in str(e),
                                clock=FakeClock())
    with pytest.raises(ValueError):
        by_message.call(bad_input)
    assert by_message.state == CLOSED
    feed(by_message, "x")
    assert by_message.state == OPEN


def test_an_uncounted_exception_in_half_open_frees_its_trial_for_the_next_call():
    clock = FakeClock()
    b = CircuitBreaker("m", window=1, min_calls=1, failures=(Boom,), cooldown=1, fallback=lambda *a: "fb",
                       clock=clock)
    feed(b, "x")
    clock.t += 1

    def bad_input(x: float) -> float:
        raise KeyError(x)

    with pytest.raises(KeyError):
        b.call(bad_input, 1.0)
    assert b.state == HALF_OPEN
    assert feed(b, "o") == [Served(2.0, False)] and b.state == CLOSED


def test_without_a_fallback_an_open_breaker_raises_an_error_that_says_when_and_how():
    clock = FakeClock()
    b = CircuitBreaker("scorer", window=1, min_calls=1, cooldown=30, clock=clock)
    feed(b, "x")
    clock.t += 12
    with pytest.raises(CircuitOpenError) as err:
        b.call(model, 1.0)
    assert err.value.retry_in == pytest.approx(18.0)
    assert str(err.value) == ("circuit breaker 'scorer' is open (1 of the last 1 calls failed (rate 1.00 >= 0.5); "
                              "last: Boom: model unreachable for -1.0); the model is tried again in 18.0 s. Pass "
                              "fallback= to serve another answer meanwhile")


def test_fallback_on_failure_answers_a_failed_call_and_still_counts_the_failure():
    b = CircuitBreaker("m", window=10, min_calls=10, fallback=lambda x: 0.0, fallback_on_failure=True,
                       clock=FakeClock())
    assert b.invoke(model, (-1.0,)) == Served(0.0, True)
    assert b.stats()["window_failed"] == 1 and b.stats()["fallbacks"] == 1
    assert b.invoke(model, (-1.0,), fallback=lambda x: 7.0) == Served(7.0, True)  # a per-call fallback wins


def test_a_sync_call_past_its_timeout_counts_as_failed_but_its_answer_is_returned():
    clock = FakeClock()
    b = CircuitBreaker("m", window=1, min_calls=1, timeout=0.5, clock=clock)

    def slow() -> str:
        clock.t += 0.6
        return "late answer"

    assert b.call(slow) == "late answer"
    assert b.state == OPEN


def test_a_call_admitted_before_the_breaker_opened_is_not_counted_after():
    b = CircuitBreaker("m", window=2, min_calls=2, cooldown=60, fallback=lambda: "fb", clock=FakeClock())

    def outer() -> str:
        feed(b, "xx")  # while this call runs, two others trip the breaker
        assert b.state == OPEN
        return "slow but fine"

    assert b.invoke(outer) == Served("slow but fine", False)
    assert b.state == OPEN and b.stats()["calls"] == 2  # the late success neither closed it nor was counted


def test_state_changes_are_logged_with_their_reason(caplog):
    clock = FakeClock()
    b = CircuitBreaker("scorer", window=1, min_calls=1, cooldown=5, clock=clock)
    with caplog.at_level(logging.INFO, logger="argus.sdk.breaker"):
        feed(b, "x")
        clock.t += 5
        feed(b, "o")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "circuit breaker 'scorer': closed -> open: 1 of the last 1 calls failed (rate 1.00 >= 0.5); "
                    "last: Boom: model unreachable for -1.0"),
        ("INFO", "circuit breaker 'scorer': open -> half_open: cool-down of 5 s over; trying the model with 1 call(s)"),
        ("INFO", "circuit breaker 'scorer': half_open -> closed: 1 trial call(s) succeeded"),
    ]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"window": 10, "min_calls": 11}, "min_calls=11 must be between 1 and window=10"),
    ({"failure_rate": 0.0}, "failure_rate=0.0 must be in (0, 1]"),
    ({"failure_rate": None}, "nothing can trip it"),
    ({"half_open_calls": 0}, "half_open_calls=0 must be a whole number >= 1"),
    ({"failures": (ValueError, "oops")}, "failures= must be a non-empty tuple of exception classes"),
])
def test_settings_that_could_never_trip_or_close_are_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        CircuitBreaker("m", **kwargs)
    with pytest.raises(ValueError, match="becomes a Prometheus label value"):
        CircuitBreaker("has space")


# -- async ----------------------------------------------------------------------------------------------------
def test_async_calls_trip_serve_an_async_fallback_and_time_out():
    clock = FakeClock()

    async def amodel(x: float) -> float:
        return model(x)

    async def afallback(x: float) -> float:
        return -1.0

    b = CircuitBreaker("a", window=2, min_calls=2, failure_rate=1.0, cooldown=10, fallback=afallback, clock=clock)
    guarded = b(amodel)
    assert guarded.breaker is b and guarded.__name__ == "amodel"

    async def scenario() -> list[Any]:
        out: list[Any] = [await guarded(2.0)]
        for _ in range(2):
            with pytest.raises(Boom):
                await guarded(-1.0)
        out.append(b.state)
        out.append(await b.ainvoke(amodel, (2.0,)))
        clock.t += 10
        out.append(await b.acall(amodel, 2.0))
        out.append(b.state)
        return out

    assert asyncio.run(scenario()) == [4.0, OPEN, Served(-1.0, True), 4.0, CLOSED]

    never = asyncio.Event()

    async def hangs() -> None:
        await never.wait()

    t = CircuitBreaker("t", window=1, min_calls=1, timeout=0.01, fallback=lambda: "fb", fallback_on_failure=True)
    assert asyncio.run(t.ainvoke(hangs)) == Served("fb", True)  # cancelled after 10 ms, answered by the fallback
    assert t.state == OPEN and t.stats()["failed"] == 1


# -- threads -----------------------------------------------------------------------------------------------------
def test_half_open_never_lets_more_than_k_trials_through_under_concurrent_calls():
    clock = FakeClock()
    k, n = 3, 32
    b = CircuitBreaker("m", window=1, min_calls=1, cooldown=1, half_open_calls=k, fallback=lambda: "fb", clock=clock)
    feed(b, "x")
    clock.t += 1
    inside, release, lock = [0], threading.Event(), threading.Lock()
    all_in = threading.Event()

    def trial() -> str:
        with lock:
            inside[0] += 1
            if inside[0] == k:
                all_in.set()
        release.wait(10)
        return "model"

    start = threading.Barrier(n)
    results: list[Served] = []

    def caller() -> None:
        start.wait(10)
        served = b.invoke(trial)
        with lock:
            results.append(served)

    threads = [threading.Thread(target=caller) for _ in range(n)]
    for th in threads:
        th.start()
    assert all_in.wait(10)
    deadline = time.monotonic() + 10
    while len(results) < n - k and time.monotonic() < deadline:  # the turned-away callers return at once
        threading.Event().wait(0.001)
    assert inside[0] == k and b.state == HALF_OPEN
    release.set()
    for th in threads:
        th.join(10)
    assert sorted(r.value for r in results) == ["fb"] * (n - k) + ["model"] * k
    assert b.state == CLOSED and b.stats()["short_circuited"] == n - k


def test_concurrent_calls_in_the_closed_state_are_each_counted_once():
    b = CircuitBreaker("m", window=100_000, min_calls=100_000, failure_rate=1.0, clock=FakeClock())
    per_thread, threads = 2000, 8

    def caller(seed: int) -> None:
        for i in range(per_thread):
            try:
                b.call(model, -1.0 if (i + seed) % 7 == 0 else 1.0)
            except Boom:
                pass

    workers = [threading.Thread(target=caller, args=(s,)) for s in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    failed = sum(1 for s in range(threads) for i in range(per_thread) if (i + s) % 7 == 0)
    stats = b.stats()
    assert (stats["calls"], stats["failed"], stats["window_calls"], stats["window_failed"]) == \
        (16000, failed, 16000, failed)


# -- a property against a reference model ----------------------------------------------------------------------
class Reference:
    """The state machine as the docs state it, recomputing the rates from a plain list at every call."""

    def __init__(self, window: int, min_calls: int, rate: float, slow_rate: float, cooldown: float, k: int) -> None:
        self.window, self.min_calls, self.rate, self.slow_rate, self.cooldown, self.k = \
            window, min_calls, rate, slow_rate, cooldown, k
        self.state, self.calls, self.opened_at, self.trials, self.ok = CLOSED, [], 0.0, 0, 0

    def call(self, outcome: str, before: float, after: float) -> bool:
        """One call that starts at ``before`` and ends at ``after``; True when the fallback answered it."""
        if self.state == OPEN:
            if before - self.opened_at < self.cooldown:
                return True
            self.state, self.trials, self.ok = HALF_OPEN, 0, 0
        if self.state == HALF_OPEN:
            if self.trials >= self.k:
                return True
            self.trials += 1
            if outcome != "ok":
                self.state, self.opened_at = OPEN, after
            else:
                self.ok += 1
                if self.ok >= self.k:
                    self.state, self.calls = CLOSED, []
            return False
        self.calls = [*self.calls, outcome][-self.window:]
        n = len(self.calls)
        if n >= self.min_calls and (self.calls.count("fail") / n >= self.rate or
                                    self.calls.count("slow") / n >= self.slow_rate):
            self.state, self.opened_at = OPEN, after
        return False


@settings(max_examples=300, deadline=None)
@given(window=st.integers(1, 8), min_frac=st.floats(0.0, 1.0), rate=st.sampled_from([0.2, 0.25, 0.5, 0.6, 1.0]),
       slow_rate=st.sampled_from([0.3, 0.5, 1.0]), k=st.integers(1, 3),
       steps=st.lists(st.one_of(st.sampled_from(["ok", "fail", "slow"]), st.integers(1, 12)), max_size=80))
def test_the_breaker_follows_the_reference_state_machine(window, min_frac, rate, slow_rate, k, steps):
    """Steps are calls (ok, fail, slow) and waits (seconds); after each, the state and who answered agree."""
    min_calls = max(1, round(min_frac * window))
    clock = FakeClock()
    b = CircuitBreaker("p", window=window, min_calls=min_calls, failure_rate=rate, slow_call_ms=100,
                       slow_rate=slow_rate, cooldown=10, half_open_calls=k, fallback=lambda: "fb", clock=clock)
    ref = Reference(window, min_calls, rate, slow_rate, 10, k)

    def fn(outcome: str) -> Any:
        if outcome == "fail":
            raise Boom("down")
        if outcome == "slow":
            clock.t += 0.25
        return "model"

    for i, step in enumerate(steps):
        if isinstance(step, int):
            clock.t += step
            continue
        before = clock.t
        try:
            served = b.invoke(lambda s=step: fn(s)).fallback
        except Boom:
            served = False
        expected = ref.call(step, before, clock.t)
        assert (served, b.state) == (expected, ref.state), f"step {i} ({step}) of {steps}"


# -- the Client: fallback events, breaker reports, Prometheus ---------------------------------------------------
class Capture:
    """A real HTTP server standing for the collector: keeps every JSON body posted, by path."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, Any]] = []
        self.lock = threading.Lock()
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                with capture.lock:
                    capture.posts.append((self.path, body))
                if self.path.endswith("/resources"):
                    self.send_response(204)
                    self.end_headers()
                    return
                answer = json.dumps({"accepted": len(body), "rejected": []}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:  # the test reads the posts, not an access log
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [e for path, body in self.posts if path.endswith("/events") for e in body]

    def reports(self) -> list[dict[str, Any]]:
        with self.lock:
            return [body for path, body in self.posts if path.endswith("/resources")]

    def wait_for_report(self, pred: Any, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [r for r in self.reports() if pred(r)]
            if found:
                return found[-1]
            threading.Event().wait(0.01)
        raise AssertionError(f"no such report in {self.reports()}")


@pytest.fixture
def capture() -> Iterator[Capture]:
    c = Capture()
    yield c
    c.server.shutdown()
    c.server.server_close()


def test_endpoint_marks_only_the_events_its_fallback_answered(capture):
    clock = FakeClock()
    client = argusml.Client(capture.url, model="credit", flush_interval=0.02, instance="replica-1")
    b = client.breaker("scorer", window=2, min_calls=2, failure_rate=1.0, cooldown=30,
                       fallback=lambda req: {"score": 0.5}, clock=clock)

    @client.endpoint(version="v3", breaker=b, id=lambda req: req["id"], features=lambda req: {"x": req["x"]})
    def predict(req: dict[str, Any]) -> dict[str, float]:
        if req["x"] < 0:
            raise Boom("GPU server away")
        return {"score": req["x"] / 10}

    assert predict({"id": "a", "x": 1}) == {"score": 0.1}
    for rid in ("b", "c"):
        with pytest.raises(Boom):
            predict({"id": rid, "x": -1})
    assert predict({"id": "d", "x": 2}) == {"score": 0.5}  # open: the rule answers
    clock.t += 30
    assert predict({"id": "e", "x": 3}) == {"score": 0.3}  # the trial reaches the model and closes it
    assert client.flush(10)
    client.close()
    events = {e["id"]: e for e in capture.events()}
    assert {i: (e.get("status"), e.get("prediction"), e.get("fallback")) for i, e in events.items()} == {
        "a": (200, {"score": 0.1}, None), "b": (500, None, None), "c": (500, None, None),
        "d": (200, {"score": 0.5}, True), "e": (200, {"score": 0.3}, None)}
    assert "fallback" not in events["a"]  # the model's own events do not carry the field at all


def test_endpoint_without_a_fallback_logs_the_refused_call_as_503(capture):
    client = argusml.Client(capture.url, model="credit", flush_interval=0.02)
    b = client.breaker("scorer", window=1, min_calls=1, clock=FakeClock())

    @client.endpoint(breaker=b, id=lambda x: f"r{x}")
    async def predict(x: float) -> float:
        return model(x)

    with pytest.raises(Boom):
        asyncio.run(predict(-1.0))
    with pytest.raises(CircuitOpenError):
        asyncio.run(predict(1.0))
    assert client.flush(10)
    client.close()
    assert [(e["id"], e["status"], e.get("fallback")) for e in capture.events()] == \
        [("r-1.0", 500, None), ("r1.0", 503, None)]


class Linear:
    """A scikit-learn shaped model: predict and predict_proba on rows of two features."""

    def __init__(self, w: float, fail: bool = False) -> None:
        self.w, self.fail, self.classes_ = w, fail, [0, 1]

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.fail:
            raise Boom("model server away")
        return (self.w * X.sum(axis=1) > 1).astype(int)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if self.fail:
            raise Boom("model server away")
        return np.tile([1 - self.w / 10, self.w / 10], (len(X), 1))


def test_wrap_model_answers_from_the_previous_version_while_open_and_marks_those_rows(capture):
    client = argusml.Client(capture.url, model="credit", flush_interval=0.02)
    b = client.breaker("v4", window=1, min_calls=1, clock=FakeClock())
    current, previous = Linear(1.0, fail=True), Linear(3.0)
    wrapped = client.wrap_model(current, version="v4", feature_names=["a", "b"], breaker=b, fallback_model=previous)
    with pytest.raises(Boom):
        wrapped.predict(np.array([[1.0, 0.0]]))
    assert wrapped.predict(np.array([[0.2, 0.2], [0.1, 0.0]])).tolist() == [1, 0]  # the previous version's answers
    assert wrapped.predict_proba(np.array([[0.25, 0.25]])).tolist() == [[0.7, 0.3]]  # its predict_proba too
    assert client.flush(10)
    client.close()
    got = [(e["status"], e.get("prediction"), e.get("fallback")) for e in capture.events()]
    assert got == [(500, None, None), (200, 1, True), (200, 0, True), (200, {"0": 0.7, "1": 0.3}, True)]


def test_the_client_reports_breaker_states_at_once_when_they_change(capture):
    clock = FakeClock()
    client = argusml.Client(capture.url, model="credit", flush_interval=0.02, instance="replica-1")
    scorer = client.breaker("scorer", window=1, min_calls=1, cooldown=5, fallback=lambda x: 0.0, clock=clock)
    client.breaker("ranker", window=1, min_calls=1, clock=clock)
    first = capture.wait_for_report(lambda r: r.get("breakers") == {"scorer": "closed", "ranker": "closed"})
    assert first == {"instance": "replica-1", "values": {}, "breakers": {"scorer": "closed", "ranker": "closed"}}
    feed(scorer, "x")
    capture.wait_for_report(lambda r: r["breakers"]["scorer"] == "open")
    clock.t += 5
    feed(scorer, "o")  # half-open, and its one trial closes it
    capture.wait_for_report(lambda r: r["breakers"]["scorer"] == "closed" and len(capture.reports()) >= 3)
    with pytest.raises(ValueError, match="already has a breaker of that name"):
        client.breaker("scorer")
    assert set(client.breakers) == {"scorer", "ranker"}
    client.close()


def test_a_registry_passed_to_the_client_gets_the_state_gauge(capture):
    registry = CollectorRegistry()
    client = argusml.Client(capture.url, model="credit", flush_interval=0.02, instance="replica-1")
    b = client.breaker("scorer", window=1, min_calls=1, cooldown=5, registry=registry, clock=FakeClock())
    client.breaker("ranker", window=1, min_calls=1, registry=registry)  # a second breaker shares the gauge
    labels = {"model": "credit", "host": "replica-1", "breaker": "scorer"}
    assert registry.get_sample_value("argus_circuit_breaker_state", labels) == 0.0
    feed(b, "x")
    assert registry.get_sample_value("argus_circuit_breaker_state", labels) == 2.0
    assert registry.get_sample_value("argus_circuit_breaker_state", {**labels, "breaker": "ranker"}) == 0.0
    client.close()


def test_breaker_states_survive_a_snapshot_of_the_model_metrics():
    m = ModelMetrics()
    m.report_breakers("replica-1", {"scorer": "open", "ranker": "half_open"})
    m.report_breakers("replica-2", {"scorer": "closed"})
    back = ModelMetrics()
    back.restore(json.loads(json.dumps(m.to_dict())))
    assert back.breakers == {("replica-1", "scorer"): "open", ("replica-1", "ranker"): "half_open",
                             ("replica-2", "scorer"): "closed"}


@pytest.mark.service
def test_the_real_collector_exports_reported_breaker_states(running_monitor):
    monitor = running_monitor((ModelConfig(model="m"), make_reference(1000)), settings=Settings(tick_every=0.02),
                              clock=time.time).monitor
    with LiveServer(monitor) as srv:
        client = argusml.Client(srv.url, model="m", flush_interval=0.02, instance="replica-1")
        b = client.breaker("scorer", window=1, min_calls=1, cooldown=3600, fallback=lambda x: 0.0)
        feed(b, "x")
        deadline = time.monotonic() + 10
        while monitor.models["m"].metrics.breakers.get(("replica-1", "scorer")) != OPEN:
            assert time.monotonic() < deadline, monitor.models["m"].metrics.breakers
            threading.Event().wait(0.02)
        text = httpx.get(f"{srv.url}/metrics").text
        bad = httpx.post(f"{srv.url}/v1/models/m/resources",
                         json={"instance": "replica-1", "breakers": {"scorer": "ajar"}})
        many = httpx.post(f"{srv.url}/v1/models/m/resources",
                          json={"instance": "replica-1", "breakers": {f"b{i}": "open" for i in range(33)}})
        client.close()
    assert 'argus_circuit_breaker_state{breaker="scorer",host="replica-1",model="m"} 2.0' in text
    if Path(PROMTOOL).exists():  # Prometheus's own linter finds nothing wrong with the new family
        lint = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
        assert lint.returncode == 0 and not lint.stdout and not lint.stderr, lint.stdout.decode() + lint.stderr.decode()
    assert bad.status_code == 422 and "half_open" in bad.text
    assert many.status_code == 422 and "at most 32 breakers per report" in many.text


@pytest.mark.service
def test_the_real_collector_accepts_the_events_a_fallback_served(running_monitor):
    monitor = running_monitor((ModelConfig(model="m"), make_reference(1000)), settings=Settings(tick_every=0.02),
                              clock=time.time).monitor
    with LiveServer(monitor) as srv:
        client = argusml.Client(srv.url, model="m", flush_interval=0.02)
        b = client.breaker("scorer", window=1, min_calls=1, cooldown=3600, fallback=lambda f: 0.5)

        @client.endpoint(breaker=b, features=lambda f: f)
        def predict(f: dict[str, Any]) -> float:
            if f["x0"] < 0:
                raise Boom("down")
            return 0.9

        assert predict({"x0": 1.0}) == 0.9
        with pytest.raises(Boom):
            predict({"x0": -1.0})
        assert predict({"x0": 2.0}) == 0.5
        client.flush(20)
        client.close()
    assert (client.stats.accepted, client.stats.rejected, client.stats.failed) == (3, 0, 0)
    assert monitor.store.raw_events("m") == 3
    monitor.flush_index()
    served = monitor.store._rows("SELECT prediction, fallback FROM events WHERE model = 'm' AND prediction IS NOT NULL", [])
    assert sorted(served, key=lambda r: (r[1] is True, r[0] or 0)) == [(0.9, None), (0.5, True)], served


# -- the docs' example runs as written ---------------------------------------------------------------------------
def test_the_docs_example_runs(capsys):
    text = (ROOT / "docs" / "SERVICE.md").read_text()
    section = text.split("## Circuit breaker and fallback", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None, "docs/SERVICE.md: the circuit breaker section has no ```python example"
    exec(compile(block.group(1), "docs/SERVICE.md", "exec"), {})
    out = capsys.readouterr().out
    assert out == "open Served(value=0.9, fallback=True)\n", out

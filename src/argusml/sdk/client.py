"""``argusml.Client``: log predictions from a model server without slowing it.

``log()`` only appends a tuple to a bounded deque (a few microseconds); a
background thread turns the buffer into batches, sends them, and retries
with exponential backoff and jitter (honouring ``Retry-After``) when the
collector is busy or away. Nothing here raises into the model's code path:
when the buffer is full the newest events are counted in ``dropped`` and
the model keeps answering. At exit the buffer is flushed (bounded wait).

What cannot raise must still be visible: every event or label ``log()``
queued ends in exactly one of the counters ``accepted``, ``duplicates``,
``rejected``, ``failed`` or ``dropped_at_close`` (see ``Stats``), and
``flush()`` / ``close()`` return False when any of them was not delivered.

This module imports only the standard library, httpx and (when present)
orjson, so a model server does not pay for Argus's analysis stack.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import itertools
import json
import logging
import os
import random
import socket
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from argusml.sdk.breaker import CircuitBreaker, CircuitOpenError, Served

try:  # orjson is faster and serialises numpy values; json is the fallback
    import orjson

    def _dumps(obj: Any) -> bytes:
        return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS, default=_default)
except ImportError:  # pragma: no cover - orjson is a dependency of argusml

    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, default=_default, allow_nan=False).encode()


log = logging.getLogger("argus.sdk")

RETRYABLE = {408, 425, 429, 500, 502, 503, 504}
# breakers a client reports (the collector takes at most this many per report: they become label values)
MAX_BREAKERS = 32
# how often breaker states are sent again without a change, when no report_resources interval is set: a
# report lost while the collector was away is corrected within this many seconds
BREAKER_REPORT_EVERY = 15.0


def _server_message(text: str) -> str:
    """The collector's ``{"error", "detail"}`` answer as one line; another body as it came (shortened)."""
    try:
        body = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(body, dict) and ("error" in body or "detail" in body):
        detail = body.get("detail")
        return f"{body.get('error', 'error')}: {detail}" if detail is not None else str(body.get("error"))
    return text[:300]


def _default(o: Any) -> Any:
    if hasattr(o, "item"):  # numpy scalars
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    return str(o)


class Stats:
    """Counters a model server can export or log: what happened to its events and labels.

    Each item ``log()`` / ``log_label()`` took (``queued``) ends in exactly one
    outcome, so once nothing is pending ``queued == accepted + duplicates +
    rejected + failed + dropped_at_close``: a model owner can tell "the
    collector has it" from "it is lost, and why" without reading logs.

    - ``accepted``: stored by the collector (``sent`` of them events, ``labels_sent`` labels);
    - ``duplicates``: the collector already had them (a retried batch whose answer was lost);
    - ``rejected``: refused one by one, with the index and reason the collector gave;
    - ``failed``: the collector refused the whole batch (401/403 token, 404 model, other 4xx)
      or it could not be serialised;
    - ``dropped_at_close``: still buffered or in flight when ``close()`` gave up (collector away);
    - ``dropped``: never queued (buffer full, after ``close()``, an error in a wrapper);
    - ``retries``, ``batches``: requests retried and batches answered.
    """

    __slots__ = ("accepted", "batches", "dropped", "dropped_at_close", "duplicates", "failed", "labels_sent",
                 "queued", "rejected", "retries", "sent")

    def __init__(self) -> None:
        self.sent = self.labels_sent = self.rejected = self.dropped = self.failed = self.retries = self.batches = 0
        self.queued = self.accepted = self.duplicates = self.dropped_at_close = 0

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.__slots__}

    @property
    def undelivered(self) -> int:
        """Items that will never reach the collector's store (the sum ``flush()`` watches)."""
        return self.rejected + self.failed + self.dropped + self.dropped_at_close


class Client:
    """Send prediction events and labels to an Argus collector.

    >>> client = Client("http://argus:8080", model="credit", token="...")   # doctest: +SKIP
    >>> client.log(id="req-1", features={"age": 41}, prediction=0.83, latency_ms=12.5)  # doctest: +SKIP
    """

    def __init__(self, url: str, model: str | None = None, token: str | None = None, *, batch_size: int = 500,
                 flush_interval: float = 0.5, max_buffer: int = 100_000, timeout: float = 10.0,
                 max_backoff: float = 30.0, report_resources: float | None = None, instance: str | None = None,
                 transport: Any = None) -> None:
        self.url = url.rstrip("/")
        self.model = model
        self.batch_size = max(1, batch_size)
        self.flush_interval = flush_interval
        self.max_buffer = max_buffer
        self.max_backoff = max_backoff
        self.stats = Stats()
        self.instance = instance or socket.gethostname()
        self._events: deque[tuple[Any, ...]] = deque()
        self._labels: deque[tuple[Any, ...]] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()  # set by close(): cuts a retry's backoff short
        self._idle = threading.Event()
        self._idle.set()
        self._closed = False
        self._close_ok = False
        self._undelivered_seen = 0  # stats.undelivered when flush() last finished waiting
        self._logged_codes: set[int] = set()  # a status that fails every batch is logged once, not per batch
        # ids the client makes: a random prefix per client and a counter (cheaper than a uuid4 a call:
        # docs/BENCHMARKS.md, "Figures behind the code")
        self._id_prefix = os.urandom(8).hex()
        self._id_seq = itertools.count()
        self._report_every = report_resources
        self._breakers: dict[str, CircuitBreaker] = {}
        self._breakers_changed = False  # a state changed since the last report: send one now
        headers = {"user-agent": "argusml-sdk"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        import httpx

        self._http = httpx.Client(timeout=timeout, headers=headers, transport=transport)
        self._thread = threading.Thread(target=self._run, name="argus-sdk", daemon=True)
        self._thread.start()
        ref = weakref.ref(self)
        atexit.register(lambda: (c := ref()) is not None and c.close(timeout=5.0))

    # -- the caller's side: must be cheap and must not raise ---------------------------------
    def log(self, id: str | None = None, features: dict[str, Any] | None = None, prediction: Any = None,
            version: str | None = None, latency_ms: float | None = None, segment: dict[str, Any] | None = None,
            status: int | None = None, timestamp: float | str | None = None, model: str | None = None,
            fallback: bool = False) -> str | None:
        """Queue one prediction event; returns its id (generated when not given) or None if dropped.
        ``fallback=True`` marks an answer a circuit breaker's fallback gave, not the model."""
        try:
            if self._closed or len(self._events) >= self.max_buffer:
                self.stats.dropped += 1
                return None
            if id is None:
                id = f"{self._id_prefix}-{next(self._id_seq)}"
            self._events.append((model or self.model, id, features, prediction, version, latency_ms, segment, status,
                                 time.time() if timestamp is None else timestamp, fallback))
            self.stats.queued += 1
            if len(self._events) >= self.batch_size:
                self._wake.set()
            return id
        except Exception:  # never into the model's code path
            self.stats.dropped += 1
            return None

    def log_label(self, id: str, label: Any, version: str | None = None, timestamp: float | str | None = None,
                  model: str | None = None) -> bool:
        try:
            if self._closed or len(self._labels) >= self.max_buffer:
                self.stats.dropped += 1
                return False
            self._labels.append((model or self.model, id, label, version, timestamp))
            self.stats.queued += 1
            if len(self._labels) >= self.batch_size:
                self._wake.set()
            return True
        except Exception:
            self.stats.dropped += 1
            return False

    @property
    def pending(self) -> int:
        return len(self._events) + len(self._labels)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until everything queued so far was answered; True only if all of it was delivered.

        False when ``timeout`` passed first (the rest is still being retried) or
        when anything since the previous flush was rejected, failed or dropped:
        a caller that checks the return value learns of a wrong token or a
        broken event at once, and ``stats`` says how many and which way."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.pending or not self._idle.is_set():
            self._wake.set()
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        undelivered = self.stats.undelivered
        ok = undelivered == self._undelivered_seen
        self._undelivered_seen = undelivered
        return ok

    def close(self, timeout: float = 10.0) -> bool:
        """Flush (waiting at most ``timeout``) and stop; never raises. True only if everything this
        client was given in its lifetime was delivered (``stats.undelivered`` is 0).

        What the collector has not acknowledged by then (it is away or slow) is
        given up and counted in ``stats.dropped_at_close``, with one warning,
        rather than lost silently or blocking the model server's exit."""
        if self._closed:
            return self._close_ok
        ok = self.flush(timeout)
        self._closed = True
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=2.0)
        left = 0
        for buf in (self._events, self._labels):
            while buf:
                try:
                    buf.popleft()
                except IndexError:  # the sender thread took the last one: it counts it itself
                    break
                left += 1
        self.stats.dropped_at_close += left
        if self.stats.dropped_at_close:
            log.warning("argus sdk: closed with %d events and labels not delivered to %s (%s)",
                        self.stats.dropped_at_close, self.url, self.stats.as_dict())
        self._close_ok = ok and self.stats.undelivered == 0
        try:
            self._http.close()
        except Exception:
            pass  # closing at exit: a half-closed connection is no reason to raise into the caller
        return self._close_ok

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- the background side ------------------------------------------------------------------
    def _run(self) -> None:
        last_resources = last_breakers = 0.0
        while not self._closed:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            self._idle.clear()
            try:
                while self._events and not self._closed:
                    self._send_events(self._take(self._events))
                while self._labels and not self._closed:
                    self._send_labels(self._take(self._labels))
                now = time.monotonic()
                values_due = bool(self._report_every) and now - last_resources >= self._report_every
                breakers_due = bool(self._breakers) and (self._breakers_changed or now - last_breakers >=
                                                         (self._report_every or BREAKER_REPORT_EVERY))
                if values_due or breakers_due:
                    if values_due:
                        last_resources = now
                    if self._breakers:
                        last_breakers = now
                    self._breakers_changed = False
                    self._send_resources(values_due)
            except Exception as exc:  # pragma: no cover - keep the thread alive whatever happens
                log.warning("argus sdk: unexpected error: %s", exc)
            finally:
                self._idle.set()

    def _take(self, buf: deque[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        out = []
        model = buf[0][0]
        while buf and len(out) < self.batch_size and buf[0][0] == model:
            out.append(buf.popleft())
        return out

    def _send_events(self, batch: list[tuple[Any, ...]]) -> None:
        model = batch[0][0]
        docs = []
        for _m, id_, feats, pred, version, lat, seg, status, ts, fallback in batch:
            d: dict[str, Any] = {"id": str(id_), "timestamp": ts, "features": feats if feats is not None else {}}
            if pred is not None:
                d["prediction"] = pred
            if version is not None:
                d["version"] = str(version)
            if lat is not None:
                d["latency_ms"] = float(lat)
            if seg:
                d["segment"] = seg
            if status is not None:
                d["status"] = int(status)
            if fallback:  # only the fallback's answers carry it: the model's own events stay as they were
                d["fallback"] = True
            docs.append(d)
        self._post(f"/v1/models/{model}/events", docs)

    def _send_labels(self, batch: list[tuple[Any, ...]]) -> None:
        model = batch[0][0]
        docs = []
        for _m, id_, label, version, ts in batch:
            d: dict[str, Any] = {"id": str(id_), "label": label}
            if version is not None:
                d["version"] = str(version)
            if ts is not None:
                d["timestamp"] = ts
            docs.append(d)
        self._post(f"/v1/models/{model}/labels", docs)

    def _post(self, path: str, docs: list[dict[str, Any]]) -> None:
        if not docs:
            return
        try:
            body = _dumps(docs)
        except Exception as exc:
            self.stats.failed += len(docs)
            log.warning("argus sdk: %d events not serialisable: %s", len(docs), exc)
            return
        attempt = 0
        while True:
            if self._closed:  # close() stopped waiting: what is in flight is given up, and counted
                self.stats.dropped_at_close += len(docs)
                return
            wait = None
            try:
                r = self._http.post(self.url + path, content=body, headers={"content-type": "application/json"})
                code = r.status_code
                if code in (200, 202, 422):
                    try:
                        ans = r.json()
                    except ValueError:
                        ans = None
                    if isinstance(ans, dict) and isinstance(ans.get("rejected", []), list):
                        self._count_answer(path, docs, code, ans, r.text)
                        return
                if code == 413 and len(docs) > 1:
                    half = len(docs) // 2
                    self._post(path, docs[:half])
                    self._post(path, docs[half:])
                    return
                if code not in RETRYABLE:
                    self._fail(path, len(docs), code, r.text)
                    return
                ra = r.headers.get("retry-after")
                if ra and ra.replace(".", "", 1).isdigit():
                    wait = float(ra)
            except Exception as exc:  # connection refused, timeout, ...
                log.debug("argus sdk: send failed (%s); retrying", exc)
            attempt += 1
            self.stats.retries += 1
            backoff = min(self.max_backoff, 0.1 * 2 ** min(attempt, 10))
            self._stop.wait((wait if wait is not None else backoff) * (0.5 + random.random() / 2))

    def _count_answer(self, path: str, docs: list[dict[str, Any]], code: int, ans: dict[str, Any], text: str) -> None:
        """Split a batch the collector answered into accepted, duplicates and rejected; anything it did
        not account for (a 422 about the whole request, say) is failed, so the counters still add up."""
        accepted = int(ans.get("accepted", 0) or 0)
        duplicates = int(ans.get("duplicates", 0) or 0)
        rejected = ans.get("rejected") or []
        if path.endswith("/labels"):
            self.stats.labels_sent += accepted
        else:
            self.stats.sent += accepted
        self.stats.accepted += accepted
        self.stats.duplicates += duplicates
        self.stats.rejected += len(rejected)
        self.stats.batches += 1
        if rejected:
            first = rejected[0] if isinstance(rejected[0], dict) else {}
            log.warning("argus sdk: %d of %d rejected, e.g. #%s %s: %s", len(rejected), len(docs),
                        first.get("index"), first.get("field"), first.get("error"))
        rest = len(docs) - accepted - duplicates - len(rejected)
        if rest > 0:
            self._fail(path, rest, code, text)

    def _fail(self, path: str, n: int, code: int, text: str) -> None:
        """Count a batch the collector refused as a whole. The first such answer of each status is logged
        with the collector's own message (it says what to fix: the token, the model's name); later ones
        are not, so a wrong token does not write a line per batch into the model server's log."""
        self.stats.failed += n
        if code in self._logged_codes:
            log.debug("argus sdk: %s answered %d, %d not delivered", path, code, n)
            return
        self._logged_codes.add(code)
        log.error("argus sdk: %s%s answered %d: %s; %d events or labels not delivered (this status is logged "
                  "once; client.stats counts every one)", self.url, path, code, _server_message(text), n)

    def _send_resources(self, with_values: bool = True) -> None:
        """One report: host resources (when ``with_values``) and the state of every breaker of this client."""
        values = resource_usage() if with_values else {}
        breakers = {name: b.state for name, b in list(self._breakers.items())}
        if (values or breakers) and self.model:
            body: dict[str, Any] = {"instance": self.instance, "values": values}
            if breakers:
                body["breakers"] = breakers
            try:
                self._http.post(f"{self.url}/v1/models/{self.model}/resources", content=_dumps(body),
                                headers={"content-type": "application/json"})
            except Exception:
                pass  # resource gauges are best effort: the next report comes in report_resources seconds

    # -- circuit breakers ---------------------------------------------------------------------------
    def breaker(self, name: str, *, fallback: Callable[..., Any] | None = None, registry: Any = None,
                **options: Any) -> CircuitBreaker:
        """A circuit breaker (``argusml.sdk.breaker.CircuitBreaker``; ``options`` are its settings) whose
        state this client reports with its resource reports, at once when it changes, and keeps in
        ``argus_circuit_breaker_state`` of a prometheus_client ``registry`` when one is given.

        Use it as a decorator (``@client.breaker("scorer", fallback=rule)``), call through it
        (``b.call(model.predict, X)``), or pass it to ``wrap_model`` / ``endpoint``, which then log the
        events the fallback answered with ``fallback: true``."""
        if name in self._breakers:
            raise ValueError(f"client.breaker({name!r}): this client already has a breaker of that name; "
                             f"reuse it (client.breakers[{name!r}]) or pick another name")
        if len(self._breakers) >= MAX_BREAKERS:
            raise ValueError(f"client.breaker({name!r}): a client reports at most {MAX_BREAKERS} breakers; "
                             "share one breaker between calls to the same model")
        b = CircuitBreaker(name, fallback=fallback, **options)
        b.add_listener(self._breaker_changed)
        if registry is not None:
            b.export_to(registry, model=self.model or "", instance=self.instance)
        self._breakers[name] = b
        self._breaker_changed(b, "", b.state, "created")
        return b

    @property
    def breakers(self) -> dict[str, CircuitBreaker]:
        """This client's breakers by name."""
        return dict(self._breakers)

    def _breaker_changed(self, _b: CircuitBreaker, _old: str, _new: str, _why: str) -> None:
        self._breakers_changed = True
        self._wake.set()

    # -- wrappers ---------------------------------------------------------------------------------
    def wrap_model(self, model: Any, *, version: str | None = None, feature_names: list[str] | None = None,
                   segment: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
                   breaker: CircuitBreaker | None = None, fallback_model: Any = None) -> MonitoredModel:
        """A scikit-learn style model whose ``predict`` / ``predict_proba`` log every row.

        With a ``breaker`` the calls go through it; while it is open ``fallback_model``'s method of the same
        name answers (the previous version, say), or the breaker's own fallback, and those rows are logged
        with ``fallback: true``."""
        return MonitoredModel(self, model, version=version, feature_names=feature_names, segment=segment,
                              breaker=breaker, fallback_model=fallback_model)

    def endpoint(self, *, features: Callable[..., dict[str, Any]] | None = None,
                 prediction: Callable[[Any], Any] | None = None, id: Callable[..., str] | None = None,
                 version: str | None = None, breaker: CircuitBreaker | None = None
                 ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorate a model endpoint (FastAPI or any function): time it, log its
        input, output and errors. ``features(*args, **kwargs)`` defaults to the first
        pydantic model or dict argument; ``prediction(result)`` to the result itself.

        With a ``breaker`` the endpoint's body runs through it: the breaker's fallback is called with the
        endpoint's arguments while it is open, and those events are logged with ``fallback: true``; an open
        breaker with no fallback raises ``CircuitOpenError``, logged with status 503."""

        def pick_features(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
            if features is not None:
                return features(*args, **kwargs)
            for v in (*args, *kwargs.values()):
                if hasattr(v, "model_dump"):
                    return v.model_dump()
                if isinstance(v, dict):
                    return v
            return {}

        def record(args: tuple[Any, ...], kwargs: dict[str, Any], result: Any, started: float, status: int,
                   fallback: bool = False) -> None:
            try:
                pred = None if status != 200 else (prediction(result) if prediction is not None else result)
                if hasattr(pred, "model_dump"):
                    pred = pred.model_dump()
                rid = id(*args, **kwargs) if id is not None else None
                self.log(id=rid, features=pick_features(args, kwargs), prediction=pred, version=version,
                         latency_ms=1000 * (time.perf_counter() - started), status=status, fallback=fallback)
            except Exception:
                self.stats.dropped += 1

        def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
            if inspect.iscoroutinefunction(fn):
                @functools.wraps(fn)
                async def awrapper(*args: Any, **kwargs: Any) -> Any:
                    started = time.perf_counter()
                    try:
                        if breaker is None:
                            served = Served(await fn(*args, **kwargs), False)
                        else:
                            served = await breaker.ainvoke(fn, args, kwargs)
                    except Exception as exc:
                        record(args, kwargs, None, started, 503 if isinstance(exc, CircuitOpenError) else 500)
                        raise
                    record(args, kwargs, served.value, started, 200, served.fallback)
                    return served.value
                return awrapper

            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    served = Served(fn(*args, **kwargs), False) if breaker is None else breaker.invoke(fn, args, kwargs)
                except Exception as exc:
                    record(args, kwargs, None, started, 503 if isinstance(exc, CircuitOpenError) else 500)
                    raise
                record(args, kwargs, served.value, started, 200, served.fallback)
                return served.value
            return wrapper

        return deco


class MonitoredModel:
    """Proxy of a fitted model: every attribute passes through; ``predict``
    and ``predict_proba`` also log one event per row (ids in ``last_ids``)."""

    def __init__(self, client: Client, model: Any, *, version: str | None, feature_names: list[str] | None,
                 segment: Callable[[dict[str, Any]], dict[str, Any]] | None, breaker: CircuitBreaker | None = None,
                 fallback_model: Any = None) -> None:
        self._client, self._model, self._version, self._segment = client, model, version, segment
        self._breaker, self._fallback_model = breaker, fallback_model
        self._names = feature_names
        self.last_ids: list[str | None] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def _rows(self, X: Any) -> list[dict[str, Any]]:
        if hasattr(X, "to_dict") and hasattr(X, "columns"):  # pandas
            return X.to_dict("records")
        if hasattr(X, "to_dicts"):  # polars
            return X.to_dicts()
        rows = X.tolist() if hasattr(X, "tolist") else [list(r) for r in X]
        names = self._names or list(getattr(self._model, "feature_names_in_", [])) or \
            [f"x{i}" for i in range(len(rows[0]) if rows else 0)]
        return [dict(zip(names, r)) for r in rows]

    def _call(self, method: str, X: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        fn = getattr(self._model, method)
        try:
            if self._breaker is None:
                served = Served(fn(X, *args, **kwargs), False)
            else:
                fb = getattr(self._fallback_model, method) if self._fallback_model is not None else None
                served = self._breaker.invoke(fn, (X, *args), kwargs, fallback=fb)
        except Exception as exc:
            self._log(X, None, started, 503 if isinstance(exc, CircuitOpenError) else 500, method)
            raise
        self._log(X, served.value, started, 200, method, served.fallback)
        return served.value

    def _log(self, X: Any, out: Any, started: float, status: int, method: str, fallback: bool = False) -> None:
        try:
            rows = self._rows(X)
            per_row = 1000 * (time.perf_counter() - started) / max(len(rows), 1)
            preds: list[Any]
            if out is None:
                preds = [None] * len(rows)
            elif method == "predict_proba":
                source = self._fallback_model if fallback and self._fallback_model is not None else self._model
                classes = [str(c) for c in getattr(source, "classes_", range(len(out[0])))]
                preds = [dict(zip(classes, (float(p) for p in r))) for r in out.tolist()]
            else:
                preds = out.tolist() if hasattr(out, "tolist") else list(out)
            self.last_ids = [self._client.log(features=r, prediction=p, version=self._version, latency_ms=per_row,
                                              status=status, segment=self._segment(r) if self._segment else None,
                                              fallback=fallback)
                             for r, p in zip(rows, preds)]
        except Exception:
            self._client.stats.dropped += 1

    def predict(self, X: Any, *args: Any, **kwargs: Any) -> Any:
        return self._call("predict", X, *args, **kwargs)

    def predict_proba(self, X: Any, *args: Any, **kwargs: Any) -> Any:
        return self._call("predict_proba", X, *args, **kwargs)


def resource_usage() -> dict[str, float]:
    """Host CPU and memory (psutil) and, when NVML is there, GPU utilisation and memory."""
    out: dict[str, float] = {}
    try:
        import psutil

        out["cpu_ratio"] = psutil.cpu_percent(interval=None) / 100.0
        vm = psutil.virtual_memory()
        out["memory_used_bytes"] = float(vm.used)
        out["memory_ratio"] = vm.percent / 100.0
        out["process_resident_memory_bytes"] = float(psutil.Process(os.getpid()).memory_info().rss)
    except Exception:  # psutil missing or not allowed to read /proc: GPU gauges only
        pass
    try:
        import pynvml

        pynvml.nvmlInit()
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            util = pynvml.nvmlDeviceGetUtilizationRates(h)
            mem = pynvml.nvmlDeviceGetMemoryInfo(h)
            out[f"gpu{i}_utilization_ratio"] = util.gpu / 100.0
            out[f"gpu{i}_memory_used_bytes"] = float(mem.used)
    except Exception:  # no NVML library or no GPU: host gauges only
        pass
    return out

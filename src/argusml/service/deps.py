"""What the routers share: the monitor as a FastAPI dependency, the model and version lookups, and the
time-window query of the listing routes, parsed in one place.

The lookups that can fail (an unknown model, version or granularity, a time
that parses as neither RFC 3339 nor epoch seconds) run in the route's body,
not inside a dependency: FastAPI calls a dependency before it validates the
route's own parameters, so a dependency's 404 or 400 would pre-empt the 422
that a bad ``limit`` gets. The routes check as they always did: parameters
(422) first, then the model (404), then the window's values in order.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel, Field

from argusml.monitor import ModelState, Monitor, UnknownModel
from argusml.service.errors import ApiError

ACK_TIMEOUT = 30.0
"""How long a route waits for the store to take what it was given before it answers 503 (retry)."""


async def _monitor(request: Request) -> Monitor:
    return request.app.state.monitor  # type: ignore[no-any-return]


MonitorDep = Annotated[Monitor, Depends(_monitor)]
"""The app's monitor, for a route's signature (async: no trip to the thread pool to fetch it)."""

Limit = Annotated[int, Field(ge=1, le=10_000)]
"""How many rows a listing route answers."""


def rfc3339(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, timezone.utc).isoformat().replace("+00:00", "Z")


def parse_time(value: str | None, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        pass  # not epoch seconds: try RFC 3339 next
    try:
        d = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "bad_query", f"{name}: {value!r} is neither RFC 3339 nor epoch seconds") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d.timestamp()


def state_of(monitor: Monitor, model: str) -> ModelState:
    try:
        return monitor.model(model)
    except UnknownModel as exc:
        raise ApiError(404, "unknown_model", str(exc)) from None


def version_of(monitor: Monitor, st: ModelState, version: str | None) -> str | None:
    """A version the model has seen (events, a reference of its own, or stored windows and performance
    older than the index's retention); 404 naming the known ones for any other, which would answer
    an empty list that reads as "nothing wrong"."""
    if version is None or version == "" or version in st.versions or version in st.refs:
        return version or None
    store = monitor.store
    if store.windows(st.name, version=version, limit=1) or store.performance(st.name, version=version, limit=1):
        return version
    known = sorted(st.versions | {v for v in st.refs if v})
    raise ApiError(404, "unknown_version", f"version {version!r}: model {st.name!r} has no events, windows or "
                                           f"reference of that version; its versions: {', '.join(known) or 'none yet'}")


def granularity_of(value: str | None, st: ModelState) -> float | None:
    """A window length the model has (its window and the hour and day it rolls up to): any other one
    selects nothing, and an empty answer to a typo reads as "no windows yet"."""
    if value is None or value == "":
        return None
    from argusml.schema.model_config import format_duration, parse_duration

    try:
        g = parse_duration(value)
    except ValueError as exc:
        raise ApiError(400, "bad_query", f"granularity: {exc}") from None
    if g not in st.granularities:
        raise ApiError(400, "bad_query", f"granularity: {value!r} is not a window length of model {st.name!r}; "
                                         f"allowed: {', '.join(format_duration(x) for x in st.granularities)}")
    return g


class WindowQuery(BaseModel):
    """The windows a listing route reads (windows, findings, performance): a query-parameter model, which
    FastAPI spreads into the operation's parameters in field order, so a route's own parameters go in a
    subclass after these and the OpenAPI document lists each operation's parameters as it always did."""

    since: str | None = None
    until: str | None = None
    version: str | None = None
    segment: str | None = None
    granularity: str | None = None

    def select(self, monitor: Monitor, model: str) -> dict[str, Any]:
        """The store's filter keywords for this model: times as epoch seconds, the version and granularity
        checked against the model (404 for an unknown model or version, 400 for a bad time or granularity)."""
        st = state_of(monitor, model)
        return {"since": parse_time(self.since, "since"), "until": parse_time(self.until, "until"),
                "version": version_of(monitor, st, self.version), "segment": self.segment,
                "granularity": granularity_of(self.granularity, st)}

"""The ``dependencies:`` key of a model's YAML: what the model needs besides itself to answer well.

A feature store, a vector database, an upstream API or table. Each is probed on its own cadence (``every``)
and is *down* after ``failures`` consecutive failed probes: an HTTP GET answering outside 2xx/3xx, a TCP
connect that fails, or (``kind: freshness``) a heartbeat the pipeline posts that is older than ``max_age``.
A down dependency is the ``dependency_down`` alert, a cause: an incident whose symptoms are latency or
errors names it as the likely root (docs/DEPENDENCIES.md).

Every error names the dependency, so that a list of five in one YAML points at the right one.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from argusml.schema.kinds import Severity

DEPENDENCY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
"""Dependency names appear in URLs and Prometheus labels, like model names: keep them plain."""

KINDS = ("http", "tcp", "freshness")


def _seconds(value: Any) -> float:
    from argusml.schema.model_config import parse_duration

    return parse_duration(value)


class Dependency(BaseModel):
    """One dependency and how it is probed. ``kind: http`` needs ``url``; ``kind: tcp`` needs ``host`` and
    ``port`` (or ``address: host:port``); ``kind: freshness`` needs ``max_age`` and is fed by
    ``POST /v1/models/{model}/dependencies/{name}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="identifies it in URLs, metrics and alerts (letters, digits, '_', '-', '.')")
    kind: Literal["http", "tcp", "freshness"]
    url: str | None = Field(None, description="http: the URL a GET probes; 2xx and 3xx are up")
    host: str | None = Field(None, description="tcp: the host to connect to")
    port: int | None = Field(None, ge=1, le=65535, description="tcp: the port to connect to")
    address: str | None = Field(None, description="tcp: host:port, instead of host and port")
    every: float = Field(30.0, description="time between two probes (freshness: between two looks at the age)")
    timeout: float = Field(2.0, description="a probe slower than this failed")
    max_age: float | None = Field(None, description="freshness: how old the newest heartbeat may be")
    min_documents: int | None = Field(None, ge=0, description="freshness: the fewest documents (rows) the "
                                                              "heartbeats may report, e.g. a vector index's")
    max_drop: float | None = Field(None, gt=0, lt=1, description="freshness: the share by which the reported "
                                                                 "documents may fall below their peak of the "
                                                                 "last day")
    failures: int = Field(2, ge=1, le=100, description="consecutive failed probes before it is down")
    latency_slo: float | None = Field(None, description="a probe that answers slower than this counts as failed")
    severity: Severity | None = Field(None, description="the dependency_down alert's severity (default: "
                                                        "alerts.checks.dependency_down, else P1)")

    @model_validator(mode="wrap")
    @classmethod
    def _named(cls, data: Any, handler: Any) -> Dependency:
        """Every problem of one dependency says which one it is: ``dependencies[2].url: ... (dependency
        'features')``; an unknown key gets the nearest known one, as elsewhere in the config."""
        try:
            return handler(data)  # type: ignore[no-any-return]
        except ValidationError as exc:
            name = data.get("name") if isinstance(data, dict) else None
            which = f" (dependency {name!r})" if isinstance(name, str) else ""
            errors = []
            for err in exc.errors():
                msg = str(err["msg"]).removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    hint = difflib.get_close_matches(str(err["loc"][-1]), list(cls.model_fields), n=1)
                    msg = "unknown key" + (f"; did you mean {hint[0]!r}?" if hint else
                                           f"; known keys: {', '.join(cls.model_fields)}")
                errors.append(InitErrorDetails(type=PydanticCustomError("dependency", "{msg}", {"msg": msg + which}),
                                               loc=err["loc"], input=err.get("input")))
            raise ValidationError.from_exception_data(exc.title, errors) from None

    @field_validator("every", "timeout", "max_age", "latency_slo", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        return None if v is None else _seconds(v)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not DEPENDENCY_NAME.match(v):
            raise ValueError(f"{v!r} must be 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit")
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None:
            parts = urlsplit(v)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"{v!r} is not an http(s) URL (e.g. http://features:8080/health)")
        return v

    @model_validator(mode="after")
    def _checked(self) -> Dependency:
        problem = self._problem()
        if problem is not None:
            raise ValueError(f"{problem} (dependency {self.name!r})")
        return self

    def _problem(self) -> str | None:
        """What is wrong with the combination of keys (``key: why``), or None."""
        given = {k for k in ("url", "host", "port", "address", "max_age", "min_documents", "max_drop")
                 if getattr(self, k) is not None}
        allowed = {"http": {"url"}, "tcp": {"host", "port", "address"},
                   "freshness": {"max_age", "min_documents", "max_drop"}}[self.kind]
        extra = sorted(given - allowed)
        if extra:
            return f"{extra[0]}: not used by kind {self.kind!r} (it takes {', '.join(sorted(allowed))})"
        if self.kind == "http" and self.url is None:
            return "url: required for kind 'http' (e.g. url: http://features:8080/health)"
        if self.kind == "freshness" and self.max_age is None:
            return "max_age: required for kind 'freshness' (e.g. max_age: 1h)"
        if self.kind == "tcp":
            if self.address is not None:
                if self.host is not None or self.port is not None:
                    return "address: give either address or host and port, not both"
                host, _, port = self.address.rpartition(":")
                if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
                    return f"address: {self.address!r} is not host:port (e.g. vectors:6333)"
            elif self.host is None or self.port is None:
                missing = "host" if self.host is None else "port"
                return f"{missing}: required for kind 'tcp' (host and port, or address: host:port)"
        if self.every < 1:
            return "every: must be at least 1s"
        if not 0 < self.timeout <= self.every:
            return (f"timeout: must be above 0 and at most every ({self.every:g}s): a probe still running "
                    "when the next is due would overlap it")
        if self.latency_slo is not None and not 0 < self.latency_slo <= self.timeout:
            return f"latency_slo: must be above 0 and at most timeout ({self.timeout:g}s)"
        return None

    @property
    def target(self) -> str:
        """What is probed, as a person reads it: the URL, host:port, or "heartbeat"."""
        if self.kind == "http":
            return self.url or ""
        if self.kind == "tcp":
            return self.address or f"{self.host}:{self.port}"
        return "heartbeat"

    @property
    def endpoint(self) -> tuple[str, int]:
        """(host, port) of a tcp dependency."""
        if self.address is not None:
            host, _, port = self.address.rpartition(":")
            return host.strip("[]"), int(port)
        return self.host or "", self.port or 0


def unique_names(deps: list[Dependency]) -> list[Dependency]:
    """The list as given, or a ValueError naming the dependency given twice: names identify alerts."""
    seen: dict[str, int] = {}
    for i, d in enumerate(deps):
        if d.name in seen:
            raise ValueError(f"dependency {d.name!r} is given twice (dependencies[{seen[d.name]}] and [{i}]); "
                             "names identify metrics and alerts, so each must be unique")
        seen[d.name] = i
    return deps

"""Request and answer shapes, for validation where pydantic fits and for
the OpenAPI document (which the fuzz tests generate requests from)."""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from argusml.schema.model_config import AuthConfig

NO_AUTH = AuthConfig()
SeverityName = Literal["P0", "P1", "P2"]

Scalar = Union[float, int, str, bool, None]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class EventIn(_Doc):
    """One prediction. ``prediction`` is a number, a class label, or ``{class: probability}``."""

    id: str = Field(min_length=1, max_length=256)
    timestamp: Union[str, float, None] = Field(None, description="RFC 3339 or epoch seconds; UTC when no zone; "
                                                                 "default: arrival time")
    version: str | None = Field(None, min_length=1, max_length=64)
    features: dict[str, Scalar]
    prediction: Union[float, str, bool, dict[str, float], None] = None
    segment: dict[str, Union[str, int, bool]] | None = None
    latency_ms: float | None = Field(None, ge=0)
    status: int | None = Field(None, ge=100, le=599)


class LabelIn(_Doc):
    id: str = Field(min_length=1, max_length=256)
    label: Union[float, int, str, bool]
    timestamp: Union[str, float, None] = None
    version: str | None = Field(None, min_length=1, max_length=64)


class Rejection(_Doc):
    index: int
    field: str | None
    error: str


class IngestAnswer(_Doc):
    accepted: int
    duplicates: int = 0
    rejected: list[Rejection]
    warnings: list[Rejection] | None = None
    warnings_omitted: int | None = None


class OutcomeIn(_Doc):
    """A business outcome of a prediction: ``value`` is summed per prediction and name (absent: 1)."""

    id: str = Field(min_length=1, max_length=256)
    name: str = Field(min_length=1, max_length=64, description="e.g. conversion, revenue")
    value: Union[float, int, bool] = 1
    timestamp: Union[str, float, None] = None
    version: str | None = Field(None, min_length=1, max_length=64)


class LabelAnswer(_Doc):
    accepted: int = Field(description="labels stored (a correction counts; a repeat of the stored label does not)")
    duplicates: int = Field(0, description="labels equal to the one already stored for that id: not stored again")
    corrected: int = Field(0, description="labels that replace an earlier, different label of the same id")
    joined: int
    pending: int
    rejected: list[Rejection]


class OutcomeAnswer(_Doc):
    accepted: int
    duplicates: int = Field(0, description="outcomes identical to a stored one (id, version, name, value, time)")
    joined: int
    pending: int
    rejected: list[Rejection]


class ErrorBody(_Doc):
    error: str
    detail: Any = None
    request_id: str | None = None


class AllRejected(ErrorBody, IngestAnswer):
    """422 from an ingest route: every item of the batch was rejected, each with its index and reason."""


class RegisterIn(_Doc):
    config: dict[str, Any] = Field(description="the model's YAML config as JSON, without 'reference'")
    baseline: dict[str, Any] = Field(description="the baseline JSON written by `argus baseline`")


class ResourcesIn(_Doc):
    instance: str = Field(min_length=1, max_length=128, description="host or replica name (bounded set)")
    values: dict[str, float] = Field(description="e.g. cpu_ratio, memory_bytes, gpu_utilization_ratio")

    @field_validator("values")
    @classmethod
    def _bounded(cls, v: dict[str, float]) -> dict[str, float]:
        import math
        import re

        if len(v) > 32:
            raise ValueError("at most 32 resources per report")
        for k, x in v.items():
            if not re.match(r"^[a-z][a-z0-9_]{0,63}$", k):
                raise ValueError(f"resource name {k!r} must be snake_case (a-z, 0-9, _)")
            if not math.isfinite(x):
                raise ValueError(f"{k}: value must be finite")
        return v


INGEST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": IngestAnswer, "description": "accepted events are durable"},
    400: {"model": ErrorBody, "description": "the body is not JSON / NDJSON"},
    404: {"model": ErrorBody, "description": "unknown model; register it first"},
    413: {"model": ErrorBody, "description": "body or batch too large"},
    415: {"model": ErrorBody, "description": "unsupported content type"},
    422: {"model": AllRejected, "description": "every item was rejected"},
    429: {"model": ErrorBody, "description": "ingestion is behind; retry after Retry-After seconds"},
    503: {"model": ErrorBody, "description": "the store failed; retry"},
}


def body_of(model: type[BaseModel]) -> dict[str, Any]:
    """An OpenAPI requestBody: a JSON list of ``model`` or NDJSON lines of it."""
    name = model.__name__
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    }}}

"""Index rows: what the writer commits to DuckDB for each event and each label.

They are built here, next to the tables' schemas (``EVENT_SCHEMA``,
``LABEL_SCHEMA``), so that one place knows their columns and order: the
writer gathers the rows of many requests column by column (one list append
per value; an Arrow table per event would cost far more) and commits them
as one table.
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa

from argusml.store.duck import EVENT_SCHEMA, LABEL_SCHEMA


class _Rows:
    """Rows of one table gathered column by column: one list per column, named as the schema names it."""

    __slots__ = ()
    schema: ClassVar[pa.Schema]
    names: ClassVar[tuple[str, ...]]  # the schema's, read once (``Schema.names`` builds a new list per call)

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.names = tuple(cls.schema.names)

    def __init__(self) -> None:
        for name in self.names:
            setattr(self, name, [])

    def __len__(self) -> int:
        return len(getattr(self, self.names[0]))

    def extend(self, other: _Rows) -> None:
        for name in self.names:
            getattr(self, name).extend(getattr(other, name))

    def table(self) -> pa.Table:
        return pa.Table.from_pydict({name: getattr(self, name) for name in self.names}, schema=self.schema)


class EventRows(_Rows):
    """Index rows of events (``EVENT_SCHEMA``)."""

    __slots__ = ("arrival", "fallback", "id", "latency_ms", "model", "prediction", "prediction_label", "probabilities",
                 "segment", "seq", "status", "ts", "version")
    schema = EVENT_SCHEMA
    seq: list[int]
    model: list[str]
    version: list[str]
    id: list[str]
    ts: list[float]
    arrival: list[float]
    prediction: list[float | None]
    prediction_label: list[str | None]
    segment: list[str | None]
    probabilities: list[str | None]
    latency_ms: list[float | None]
    status: list[int | None]
    fallback: list[bool | None]

    def add(self, seq: int, model: str, version: str, id_: str, ts: float, arrival: float, prediction: float | None,
            prediction_label: str | None, segment: str | None, probabilities: str | None, latency_ms: float | None,
            status: int | None, fallback: bool | None = None) -> None:
        self.seq.append(seq)
        self.model.append(model)
        self.version.append(version)
        self.id.append(id_)
        self.ts.append(ts)
        self.arrival.append(arrival)
        self.prediction.append(prediction)
        self.prediction_label.append(prediction_label)
        self.segment.append(segment)
        self.probabilities.append(probabilities)
        self.latency_ms.append(latency_ms)
        self.status.append(status)
        self.fallback.append(fallback)


class LabelRows(_Rows):
    """Rows of labels and outcomes (``LABEL_SCHEMA``)."""

    __slots__ = ("arrival", "id", "label", "lseq", "model", "name", "prediction_ts", "resolved_at", "state", "ts",
                 "version")
    schema = LABEL_SCHEMA
    model: list[str]
    version: list[str | None]
    id: list[str]
    label: list[str]
    ts: list[float]
    arrival: list[float]
    state: list[str]
    prediction_ts: list[float | None]
    resolved_at: list[float | None]
    lseq: list[int]
    name: list[str | None]

    def add(self, model: str, version: str | None, id_: str, label: str, ts: float, arrival: float, state: str,
            prediction_ts: float | None, resolved_at: float | None, lseq: int, name: str | None) -> None:
        self.model.append(model)
        self.version.append(version)
        self.id.append(id_)
        self.label.append(label)
        self.ts.append(ts)
        self.arrival.append(arrival)
        self.state.append(state)
        self.prediction_ts.append(prediction_ts)
        self.resolved_at.append(resolved_at)
        self.lseq.append(lseq)
        self.name.append(name)


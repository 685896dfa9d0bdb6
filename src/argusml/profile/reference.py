"""The reference: what "normal" looks like, learned once from training data.

``Reference.from_frame`` is Argus's ``fit``: it infers each column's kind
(overridable), takes bin edges and categories exactly from the data, and
profiles the data on them. Saved as versioned, indented JSON so a baseline
can be read, diffed and reviewed like code.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Collection
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pyarrow as pa

from argusml.profile.column import ColumnSpec, build_column
from argusml.profile.correlation import CoMoments, ecdf_knots, normal_scores
from argusml.profile.dataset import (
    MAX_CORRELATION_COLUMNS,
    DatasetProfile,
    comoments_of,
    correlation_stride,
    keep_freed_memory,
    one_blas_thread,
    run_tasks,
)
from argusml.profile.embedding import EmbeddingProfile
from argusml.profile.frame import TableSource, infer_kind, most_probable, open_source
from argusml.profile.labelled import reference_performance
from argusml.profile.multivariate import MultivariateModel, fit_rows
from argusml.profile.sessions import SessionCounts
from argusml.schema import InputError, Kind, Role
from argusml.stats.judged import JudgeWindow

log = logging.getLogger("argus.profile")

BASELINE_FORMAT = "argus-baseline"
BASELINE_VERSION = 1


class Reference:
    """Schema, expectations and profile of the reference data.

    Learned once by ``from_frame`` (or ``from_source``), stored by ``save``/``to_dict`` and read back by
    ``load``/``from_dict``. Of x = 1, 2, 3, 4 and c = a, b, a, null: x ranges over [1, 4], c has two
    categories and one value missing in four.

    >>> ref = Reference.from_frame(pa.table({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", None]}))
    >>> ref.n_rows, list(ref.specs), ref.target
    (4, ['x', 'c'], None)
    >>> ref.expectations("x")
    {'kind': 'numeric', 'nullable': False, 'missing_ratio': 0.0, 'range': [1.0, 4.0]}
    >>> ref.expectations("c")
    {'kind': 'categorical', 'nullable': True, 'missing_ratio': 0.25, 'categories': 2}
    >>> Reference.from_dict(ref.to_dict()).to_dict() == ref.to_dict()
    True
    """

    def __init__(self, specs: dict[str, ColumnSpec], profile: DatasetProfile, *, source: str | None = None,
                 created_at: str | None = None, performance: dict[str, Any] | None = None,
                 multivariate: MultivariateModel | None = None) -> None:
        self.specs = specs
        self.profile = profile
        self.source = source
        # the model's own performance on the reference (``labelled.reference_performance``): the baseline a
        # drop is measured against. Present when the reference has both a target and a prediction.
        self.performance = performance
        # the joint structure of the features (``multivariate.py``): None for fewer than two usable features
        self.multivariate = multivariate
        self.created_at = created_at or datetime.now(timezone.utc).isoformat(timespec="seconds")

    # -- construction -------------------------------------------------------------
    @classmethod
    def from_frame(cls, data: Any, target: str | None = None, prediction: str | None = None, id: str | None = None,
                   timestamp: str | None = None, kinds: dict[str, Kind | str] | None = None,
                   ignore: list[str] | None = None, progress: Callable[[], None] | None = None,
                   with_sketch: bool = True) -> Reference:
        """Learn a reference from a pandas, polars or Arrow frame, or a CSV /
        Parquet path. ``kinds`` overrides inferred kinds, e.g. ``{"zip":
        "categorical"}`` for integer codes."""
        source = open_source(data)
        return cls.from_source(source, target=target, prediction=prediction, id=id, timestamp=timestamp,
                               kinds=kinds, ignore=ignore, progress=progress, with_sketch=with_sketch)

    @classmethod
    def from_source(cls, source: TableSource, *, target: str | None = None, prediction: str | None = None,
                    id: str | None = None, timestamp: str | None = None,
                    kinds: dict[str, Kind | str] | None = None, ignore: list[str] | None = None,
                    progress: Callable[[], None] | None = None, with_sketch: bool = True,
                    multivariate_exclude: Collection[str] | None = (), with_performance: bool = True) -> Reference:
        """As ``from_frame``; ``with_sketch=False`` skips the KLL sketches (see
        ``profile_source``) for a reference that is used once and not saved;
        ``multivariate_exclude`` keeps features out of the multivariate model
        (None: no model at all, for a comparison that will not use it); ``with_performance=False``
        skips the model's own performance on the reference (a drift report does not read it, and on a
        large reference it costs about as much as the profile: docs/BENCHMARKS.md, "Figures behind the code")."""
        keep_freed_memory()
        with one_blas_thread():
            return cls._from_source(source, target=target, prediction=prediction, id=id, timestamp=timestamp,
                                    kinds=kinds, ignore=ignore, progress=progress, with_sketch=with_sketch,
                                    multivariate_exclude=multivariate_exclude, with_performance=with_performance)

    @classmethod
    def _from_source(cls, source: TableSource, *, target: str | None, prediction: str | None, id: str | None,
                     timestamp: str | None, kinds: dict[str, Kind | str] | None, ignore: list[str] | None,
                     progress: Callable[[], None] | None, with_sketch: bool,
                     multivariate_exclude: Collection[str] | None, with_performance: bool) -> Reference:
        if source.n_rows == 0:
            raise InputError("no rows: a reference needs data to learn from", path=source.name)
        roles: dict[str, Role] = {}
        for role, col in ((Role.TARGET, target), (Role.PREDICTION, prediction), (Role.ID, id),
                          (Role.TIMESTAMP, timestamp)):
            if col is None:
                continue
            if col not in source.schema.names:
                raise InputError(f"no such {role.value} column; columns are: {_names(source.schema.names)}",
                                 path=source.name, column=col)
            roles[col] = role
        kinds = {k: Kind(v) for k, v in (kinds or {}).items()}
        for col in kinds:
            if col not in source.schema.names:
                raise InputError(f"kind given for a column that does not exist; columns are: "
                                 f"{_names(source.schema.names)}", path=source.name, column=col)
        names = [n for n in source.schema.names if n not in set(ignore or [])]
        if id is None:
            guessed = next((n for n in names if n not in roles and n not in kinds and _looks_like_id(source, n)), None)
            if guessed is not None:
                roles[guessed] = Role.ID

        corr_candidates = set(_correlation_candidates(source, names, roles, kinds))
        stride = correlation_stride(source.n_rows)

        taken: dict[str, Any] = {}
        fit_idx = pa.array(fit_rows(source.n_rows))

        def build(name: str) -> tuple[ColumnSpec, Any, Any]:
            role = roles.get(name, Role.FEATURE)
            # class probabilities ({class: probability}) are profiled as the class they predict, as events are
            arr = most_probable(source.column(name)) if role is Role.PREDICTION else source.column(name)
            if name in kinds:
                kind = kinds[name]
            elif role is Role.TIMESTAMP:
                kind = Kind.DATETIME
            elif role is Role.ID:
                kind = Kind.IDENTIFIER if not _is_number_type(arr.type) else Kind.NUMERIC
            else:
                kind = infer_kind(arr)
            if role is Role.FEATURE and multivariate_exclude is not None and name not in multivariate_exclude:
                taken[name] = arr.take(fit_idx)  # the multivariate model's rows, while the column is in hand
            spec, prof, every = build_column(arr, name, kind, role,
                                             corr_stride=stride if name in corr_candidates else 0,
                                             with_sketch=with_sketch)
            if every is None or spec.numeric is None or prof.numeric is None:
                return spec, prof, None
            # normal scores under the column's own reference ECDF (robust r; see profile/correlation.py)
            knots = ecdf_knots(spec.numeric.edges, prof.numeric.counts)  # type: ignore[arg-type]
            return spec, prof, (normal_scores(every, *knots), knots)

        results = run_tasks([(lambda n=n: build(n)) for n in names], progress)
        specs = {n: r[0] for n, r in zip(names, results)}
        cols = {n: r[1] for n, r in zip(names, results)}
        corr_names = [n for n, r in zip(names, results) if r[2] is not None][:MAX_CORRELATION_COLUMNS]
        corr = None
        if len(corr_names) >= 2:
            scored = {n: r[2] for n, r in zip(names, results) if r[2] is not None}
            corr = comoments_of(corr_names, {n: scored[n][0] for n in corr_names}, np.zeros(len(corr_names)),
                                {n: scored[n][1] for n in corr_names})  # normal scores are centred already
        profile = DatasetProfile(source.n_rows, cols, corr)
        performance = None
        if target is not None and prediction is not None and with_performance:
            try:
                performance = reference_performance(source, target, prediction)
            except (InputError, ValueError, TypeError) as exc:  # e.g. a text prediction for a numeric target
                log.warning("no reference performance for %s: %s", source.name, exc)
        multivariate = None if multivariate_exclude is None else \
            MultivariateModel.fit(source, specs, exclude=multivariate_exclude, taken=taken)
        return cls(specs, profile, source=source.name, performance=performance, multivariate=multivariate)

    # -- roles --------------------------------------------------------------------
    def column_with(self, role: Role) -> str | None:
        return next((n for n, s in self.specs.items() if s.role is role), None)

    @property
    def target(self) -> str | None:
        return self.column_with(Role.TARGET)

    @property
    def prediction(self) -> str | None:
        return self.column_with(Role.PREDICTION)

    @property
    def n_rows(self) -> int:
        return self.profile.n_rows

    def expectations(self, name: str) -> dict[str, Any]:
        """What the reference promises about a column, in words a reviewer of
        the baseline file can check (derived from the profile; not read back)."""
        spec, p = self.specs[name], self.profile.columns[name]
        out: dict[str, Any] = {"kind": spec.kind.value, "nullable": p.nulls > 0,
                               "missing_ratio": round(p.missing_ratio, 6)}
        if p.numeric is not None and p.numeric.n:
            out["range"] = [p.numeric.min, p.numeric.max]
        if spec.categories is not None:
            out["categories"] = len(spec.categories)
        return out

    # -- persistence --------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": BASELINE_FORMAT,
            "version": BASELINE_VERSION,
            "created_at": self.created_at,
            "source": self.source,
            "n_rows": self.profile.n_rows,
            "columns": {n: {"spec": s.to_dict(), "expectations": self.expectations(n),
                            "profile": self.profile.columns[n].to_dict()}
                        for n, s in self.specs.items()},
            "correlation": None if self.profile.correlation is None else self.profile.correlation.to_dict(),
            **({"performance": self.performance} if self.performance is not None else {}),
            **({"multivariate": self.multivariate.to_dict()} if self.multivariate is not None else {}),
            **({"embeddings": {k: v.to_dict() for k, v in self.profile.embeddings.items()}}
               if self.profile.embeddings else {}),
            **({"sessions": self.profile.sessions.to_dict()} if self.profile.sessions is not None else {}),
            **({"judge": self.profile.judge.to_dict()} if self.profile.judge is not None else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "baseline") -> Reference:
        if d.get("format") != BASELINE_FORMAT:
            raise InputError(f"not an Argus baseline (format is {d.get('format')!r}, expected {BASELINE_FORMAT!r})",
                             path=where)
        if d.get("version") != BASELINE_VERSION:
            raise InputError(f"baseline version {d.get('version')!r} is not supported (this Argus reads "
                             f"version {BASELINE_VERSION}); re-create it with `argus baseline`", path=where)
        try:
            from argusml.profile.column import ColumnProfile

            specs = {n: ColumnSpec.from_dict(n, c["spec"]) for n, c in d["columns"].items()}
            cols = {n: ColumnProfile.from_dict(c["profile"]) for n, c in d["columns"].items()}
            corr = None if d.get("correlation") is None else CoMoments.from_dict(d["correlation"])
            embeddings = {k: EmbeddingProfile.from_dict(v) for k, v in (d.get("embeddings") or {}).items()}
            sessions = None if d.get("sessions") is None else SessionCounts.from_dict(d["sessions"])
            judge = None if d.get("judge") is None else JudgeWindow.from_dict(d["judge"])
            profile = DatasetProfile(int(d["n_rows"]), cols, corr, embeddings=embeddings, sessions=sessions,
                                     judge=judge)
            mv = None if d.get("multivariate") is None else MultivariateModel.from_dict(d["multivariate"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"malformed baseline: {type(exc).__name__}: {exc}", path=where) from None
        perf = d.get("performance")
        if perf is not None and not (isinstance(perf, dict) and isinstance(perf.get("metrics"), dict)
                                     and perf.get("task") in ("binary", "multiclass", "regression")):
            raise InputError("malformed baseline: 'performance' needs a task and metrics", path=where)
        return cls(specs, profile, source=d.get("source"), created_at=d.get("created_at"), performance=perf,
                   multivariate=mv)

    def save(self, path: str | os.PathLike[str]) -> None:
        tmp = f"{os.fspath(path)}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=1, allow_nan=False, default=_json_default)
            f.write("\n")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Reference:
        p = os.fspath(path)
        try:
            with open(p, encoding="utf-8") as f:
                d = json.load(f)
        except FileNotFoundError:
            raise InputError("file not found", path=p) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read baseline: {exc}", path=p) from None
        if not isinstance(d, dict):
            raise InputError("not an Argus baseline (expected a JSON object)", path=p)
        return cls.from_dict(d, p)

    def __repr__(self) -> str:
        kinds: dict[str, int] = {}
        for s in self.specs.values():
            kinds[s.kind.value] = kinds.get(s.kind.value, 0) + 1
        return f"Reference({self.n_rows} rows, {len(self.specs)} columns: {kinds})"


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if not math.isfinite(o) else float(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:20])
    return shown + (f", ... ({len(names)} in all)" if len(names) > 20 else "")


def is_baseline_file(path: str) -> bool:
    """A baseline is JSON whose first bytes name our format."""
    if not path.lower().endswith(".json") or not os.path.isfile(path):
        return False
    with open(path, "rb") as f:
        head = f.read(4096)
    return BASELINE_FORMAT.encode() in head


def _correlation_candidates(source: TableSource, names: list[str], roles: dict[str, Role],
                            kinds: dict[str, Kind]) -> list[str]:
    """Numeric features, known from Arrow types before any value is read."""
    import pyarrow as pa

    out = []
    for n in names:
        if roles.get(n, Role.FEATURE) is not Role.FEATURE:
            continue
        t = source.schema.field(n).type
        is_num = (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))
        if is_num and kinds.get(n, Kind.NUMERIC) is Kind.NUMERIC:
            out.append(n)
    return out


ID_NAMES = {"id", "index", "uuid", "guid", "row_id", "rowid", "record_id", "unnamed: 0", "unnamed:0", ""}


def _is_number_type(t: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))


def _looks_like_id(source: TableSource, name: str) -> bool:
    """A row identifier that nobody declared: named like one (``id``,
    ``*_id``, ``customerId``, a pandas index dumped to CSV) and distinct on
    every row. Monitoring it as a feature would report every new id as drift."""
    low = name.strip().lower()
    named = low in ID_NAMES or low.endswith(("_id", " id", "-id", "_uuid")) or (len(name) > 2 and name.endswith("Id"))
    if not named:
        return False
    import pyarrow as pa

    arr = source.column(name)
    t = arr.type
    if not (_is_number_type(t) and not pa.types.is_floating(t)) and not (
            pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t)):
        return False
    from argusml.profile.column import distinct_count

    present = len(arr) - arr.null_count
    return present > 0 and distinct_count(arr) == present

"""Settings for checks and drift decisions, validated at the boundary.

Every default is explained in docs/CHECKS.md; the reasons are repeated in
short next to each field so that ``argus config`` errors can quote them.
Unknown keys are errors that suggest the nearest known key: a typo in a
threshold must not silently fall back to the default.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from argusml.schema.errors import ConfigError
from argusml.schema.kinds import Kind, Severity


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DriftThresholds(_Strict):
    """Practical effect sizes: drift is declared only above one of these.

    ``ks`` and ``tvd`` both read as "the largest share of rows that changed
    side of some cut" (a value threshold for numbers, a set of categories for
    categories). ``tail`` is the relative change of the mass beyond an extreme
    reference quantile (0.5 = the tail is half again as heavy, or half as
    heavy). ``wasserstein_norm`` is the average displacement of values in
    reference standard deviations. ``psi`` uses the customary 0.2 cut-off.
    ``unseen`` (text and identifier columns) is the change of the share of
    values the reference never held, relative to the smaller of that share
    and its complement, floored at 5% of rows (0.2 = a fifth of the minority
    share; never less than one percentage point).
    A threshold set to ``None`` removes that measure from the decision.
    """

    ks: float | None = Field(0.025, ge=0, le=1)
    wasserstein_norm: float | None = Field(0.1, ge=0)
    tail: float | None = Field(0.5, ge=0)
    psi: float | None = Field(0.2, ge=0)
    tvd: float | None = Field(0.025, ge=0, le=1)
    js: float | None = Field(None, ge=0, le=1)
    unseen: float | None = Field(0.2, ge=0)


_NUMBER_KINDS = (Kind.NUMERIC, Kind.DATETIME)
_VALUE_KINDS = (Kind.CATEGORICAL, Kind.BOOLEAN)


def parse_bound(value: Any) -> float | datetime | None:
    """A declared ``min``/``max``: a finite number, or a date/time (an ISO string, or what YAML reads
    as a date) for datetime columns. Naive times are UTC, as the profiles read them."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a bound: give a number, or an ISO date/time for a datetime column")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number (leave the key out for no bound)")
        return float(value)
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, str):
        text = value.strip()
        try:
            # Python 3.10's fromisoformat does not read a trailing Z
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            raise ValueError(f"{value!r} is neither a number nor an ISO date/time (e.g. 2024-01-01 or "
                             "2024-01-01T12:00:00Z)") from None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)
    raise ValueError(f"{value!r} is not a bound: give a number, or an ISO date/time for a datetime column")


class ColumnSettings(_Strict):
    """Per-column overrides; anything left ``None`` uses the global value.

    ``min``, ``max``, ``allowed`` and ``max_missing`` are declared
    expectations (docs/CHECKS.md, "Declared expectations"): a contract the
    data must keep whatever the reference held, so a reference that itself
    breaks it cannot hide the break. Whether a key fits the column's kind is
    checked here when ``kind`` is given, otherwise against the reference when
    it is known (``argusml.profile.declared.resolve_declared``).
    """

    kind: Kind | None = None
    ignore: bool = False
    min_rows: int | None = Field(None, ge=2)
    thresholds: DriftThresholds | None = None
    min: float | datetime | None = Field(None, description="no value may lie below (number, or ISO date/time)")
    max: float | datetime | None = Field(None, description="no value may lie above (number, or ISO date/time)")
    allowed: list[str | bool | int | float] | None = Field(
        None, description="the only values a categorical or boolean column may hold")
    max_missing: float | None = Field(None, description="largest share of missing values, in [0, 1]")

    _bounds = field_validator("min", "max", mode="before")(lambda cls, v: parse_bound(v))

    @field_validator("allowed", mode="before")
    @classmethod
    def _allowed(cls, v: Any) -> Any:
        if v is None:
            return None
        if not isinstance(v, (list, tuple)):
            raise ValueError(f"expected a list of values, got {v!r}")
        if not v:
            raise ValueError("an empty list allows nothing: list at least one value, or leave the key out")
        for item in v:
            if item is None:
                raise ValueError("null is not a value to allow: missing values are bounded by max_missing")
            if isinstance(item, float) and not math.isfinite(item):
                raise ValueError(f"{item!r} is not a value a category can take")
            if not isinstance(item, (str, bool, int, float)):
                raise ValueError(f"{item!r} is not a plain value (a string, number or boolean)")
        return list(v)

    @field_validator("max_missing")
    @classmethod
    def _share(cls, v: float | None) -> float | None:
        if v is not None and not 0 <= v <= 1:
            raise ValueError(f"{v:g} is not a share in [0, 1] (write 0.05 for 5%)")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ColumnSettings:
        lo, hi = self.min, self.max
        if lo is not None and hi is not None:
            if isinstance(lo, datetime) != isinstance(hi, datetime):
                raise ValueError(f"min ({_show(lo)}) and max ({_show(hi)}) must both be numbers or both dates")
            if lo > hi:  # type: ignore[operator]
                raise ValueError(f"min ({_show(lo)}) is above max ({_show(hi)}): no value could pass")
        if self.kind is not None:
            for key in ("min", "max"):
                if getattr(self, key) is not None and self.kind not in _NUMBER_KINDS:
                    raise ValueError(f"{key}: a bound fits numeric and datetime columns, not a {self.kind.value} "
                                     "one" + (" (list its values in allowed)" if self.kind in _VALUE_KINDS else ""))
            if self.allowed is not None and self.kind not in _VALUE_KINDS:
                raise ValueError(f"allowed: a list of values fits categorical and boolean columns, not a "
                                 f"{self.kind.value} one" + (" (bound it with min/max)"
                                                             if self.kind in _NUMBER_KINDS else ""))
        return self

    @property
    def declares(self) -> list[str]:
        """The declared-expectation keys set on this column."""
        return [k for k in ("min", "max", "allowed", "max_missing") if getattr(self, k) is not None]


def _show(bound: float | datetime) -> str:
    return bound.isoformat() if isinstance(bound, datetime) else f"{bound:g}"


class DriftSettings(_Strict):
    alpha: float = Field(0.05, gt=0, lt=1, description="family-wise error rate over all tested columns")
    correction: Literal["holm", "bonferroni"] = "holm"
    min_rows: int = Field(50, ge=2, description="below this many non-null values on either side: insufficient_data")
    thresholds: DriftThresholds = DriftThresholds()
    correlation_threshold: float = Field(0.1, ge=0, le=2, description="|change in Pearson r| that is practically relevant")


class QualitySettings(_Strict):
    missing_increase: float = Field(0.05, ge=0, le=1, description="rise of the missing ratio (absolute) that is reported")
    type_error_ratio: float = Field(0.0, ge=0, le=1, description="share of wrongly typed values above which it is reported")
    out_of_range_ratio: float = Field(0.001, ge=0, le=1, description="share outside the reference range that is reported")
    sentinel_share: float = Field(0.01, ge=0, le=1, description="share one value must newly hold to be called a sentinel")
    new_category_share: float = Field(0.0, ge=0, le=1, description="share of rows in unseen categories that is reported")
    near_constant_share: float = Field(0.99, gt=0, le=1, description="share of the most frequent value that makes a column near-constant")
    min_rows: int = Field(50, ge=1, description="rows a current data set (a service window) needs before the "
                                                "rate checks run (all_null, missing_values, type_errors, "
                                                "constant and near-constant columns, out_of_range, sentinel_value, "
                                                "new and vanished categories); below it they report "
                                                "insufficient_data, as drift does below drift.min_rows")
    max_missing_min_rows: int = Field(100, ge=1, description="below this many rows a broken max_missing (above 0) "
                                                          "is reported at P2 at most: one row moves the ratio by "
                                                          "more than a point")


class MultivariateSettings(_Strict):
    """The joint-distribution tests (docs/CHECKS.md, "Multivariate drift").

    Each is decided like a column's drift: significant at ``drift.alpha``
    (Bonferroni over the two tests) and larger than a practical effect.
    ``min_error_increase`` is the relative rise of the mean PCA
    reconstruction error; ``min_auc`` the held-out AUC of the classifier that
    tells current rows from reference rows (0.5 = indistinguishable).
    """

    enabled: bool = True
    min_rows: int = Field(100, ge=10, description="rows below which the reconstruction test says insufficient_data")
    min_error_increase: float = Field(0.1, ge=0, description="relative rise of the mean reconstruction error that matters")
    min_auc: float = Field(0.55, ge=0.5, le=1, description="held-out AUC of the domain classifier that matters")
    sample_rows: int = Field(1000, ge=0, le=20_000, description="current rows the classifier samples (0 turns it off)")


class ReportConfig(_Strict):
    """Everything `argus report` / `argus check` can be told in a config file."""

    drift: DriftSettings = DriftSettings()
    quality: QualitySettings = QualitySettings()
    multivariate: MultivariateSettings = MultivariateSettings()
    columns: dict[str, ColumnSettings] = Field(default_factory=dict)
    severity: dict[str, Severity] = Field(default_factory=dict, description="check name -> severity override")
    ignore: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_checks(self) -> ReportConfig:
        from argusml.schema.severity import DEFAULT_SEVERITY

        for check in self.severity:
            if check not in DEFAULT_SEVERITY:
                hint = difflib.get_close_matches(check, DEFAULT_SEVERITY, n=1)
                extra = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise ValueError(f"unknown check {check!r} in severity{extra}; known: {', '.join(sorted(DEFAULT_SEVERITY))}")
        return self

    def column(self, name: str) -> ColumnSettings:
        return self.columns.get(name, ColumnSettings())

    def thresholds_for(self, name: str) -> DriftThresholds:
        own = self.column(name).thresholds
        if own is None:
            return self.drift.thresholds
        merged = self.drift.thresholds.model_dump()
        merged.update(own.model_dump(exclude_unset=True))
        return DriftThresholds(**merged)

    def min_rows_for(self, name: str) -> int:
        own = self.column(name).min_rows
        return self.drift.min_rows if own is None else own

    def ignored(self, name: str) -> bool:
        return name in self.ignore or self.column(name).ignore


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names valid at ``loc``, to suggest the nearest one to a typo."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if isinstance(current, type) and issubclass(current, BaseModel) and part in current.model_fields:
            ann = current.model_fields[part].annotation
            args = getattr(ann, "__args__", ())
            nxt = next((a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
            if nxt is None:  # dict[str, Model]: the next loc part is a free key
                nxt = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
            current = nxt if nxt is not None else current
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


_UNION_TAG = re.compile(r"^[a-z][a-z-]*\[.*\]$")
"""A member of a union in an error's location (``str-enum[Severity]``, ``literal['off']``)."""
_PATH_IN_MESSAGE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])*(?:\.[A-Za-z0-9_-]+(?:\[\d+\])*)*): (.+)$", re.S)
"""A validator's message that starts with a key path below its own location (``routes[0].receiver: ...``)."""


def format_path(loc: tuple[Any, ...]) -> str:
    """A location as a user writes it in YAML: ``alerts.rules[0].metric``, not ``alerts.rules.0.metric``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def explain_validation_error(exc: ValidationError, model: type[BaseModel],
                             source: str | Callable[[tuple[Any, ...]], str]) -> str:
    """One line per problem: ``source: path.to.key: what is wrong``, the nearest key for an unknown one.

    ``source`` names the file, or is a function of the error's location that does (a key a template set
    is blamed on the template too). A validator that names a key below its own location
    (``routes[0].receiver: no receiver ...``) has that key joined to the path; pydantic's "Value error, "
    prefix is dropped: the line says what is wrong, not which exception said so."""
    found: dict[tuple[str, str], list[str]] = {}
    for err in exc.errors():
        # a union's members each add their tag to the location (``str-enum[Severity]``); the user wrote none
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and _UNION_TAG.match(p)))
        path = format_path(loc)
        msg = str(err["msg"])
        for prefix in ("Value error, ", "Assertion failed, "):
            msg = msg.removeprefix(prefix)
        if err["type"] == "extra_forbidden":
            known = _known_keys(model, loc)
            hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
            msg = "unknown key" + (f"; did you mean {hint[0]!r}?" if hint else f"; known keys: {', '.join(known)}")
        elif (m := _PATH_IN_MESSAGE.match(msg)) is not None:
            path = f"{path}.{m.group(1)}" if path else m.group(1)
            msg = m.group(2)
            loc += tuple(int(i) if i else k for k, i in re.findall(r"([A-Za-z0-9_-]+)|\[(\d+)\]", m.group(1)))
        where = source(loc) if callable(source) else source
        found.setdefault((where, path or "(top level)"), []).append(msg)
    lines = []
    for (where, path), msgs in found.items():
        tails = [m.removeprefix("Input should be ") for m in msgs]
        msg = ("Input should be " + ", or ".join(tails) if len(msgs) > 1 and all(m != t for m, t in zip(msgs, tails))
               else "; ".join(msgs))
        lines.append(f"{where}: {path}: {msg}")
    return "\n".join(lines)


def read_mapping(path: str | Path) -> dict[str, Any]:
    """A YAML or JSON file whose top level is a mapping; a ConfigError naming the file otherwise."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read config file: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{p}: line {exc.lineno}, column {exc.colno}: not valid JSON: {exc.msg}") from None
    except Exception as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None)
        if mark is not None and problem:  # a YAML syntax error: where the parser gave up, and why
            context = getattr(exc, "context", None)
            raise ConfigError(f"{p}: line {mark.line + 1}, column {mark.column + 1}: not valid YAML: {problem}"
                              + (f" ({context})" if context else "")) from None
        raise ConfigError(f"{p}: not valid YAML: {' '.join(str(exc).split())}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def load_report_config(path: str | Path | None) -> ReportConfig:
    """Read a YAML or JSON config file; a missing path means the defaults."""
    if path is None:
        return ReportConfig()
    data = read_mapping(path)
    try:
        return ReportConfig(**data)
    except ValidationError as exc:
        raise ConfigError(explain_validation_error(exc, ReportConfig, str(path))) from None

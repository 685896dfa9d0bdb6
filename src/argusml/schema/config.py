"""Settings for checks and drift decisions, validated at the boundary.

Every default is explained in docs/CHECKS.md; the reasons are repeated in
short next to each field so that ``argus config`` errors can quote them.
Unknown keys are errors that suggest the nearest known key: a typo in a
threshold must not silently fall back to the default.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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


class ColumnSettings(_Strict):
    """Per-column overrides; anything left ``None`` uses the global value."""

    kind: Kind | None = None
    ignore: bool = False
    min_rows: int | None = Field(None, ge=2)
    thresholds: DriftThresholds | None = None


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


def explain_validation_error(exc: ValidationError, model: type[BaseModel], source: str) -> str:
    """One line per problem: ``source: path.to.key: what is wrong``."""
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        path = ".".join(str(p) for p in loc) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            known = _known_keys(model, loc)
            hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
            msg = "unknown key" + (f"; did you mean {hint[0]!r}?" if hint else f"; known keys: {', '.join(known)}")
        lines.append(f"{source}: {path}: {msg}")
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
    except Exception as exc:
        raise ConfigError(f"{p}: not valid {'JSON' if p.suffix.lower() == '.json' else 'YAML'}: {exc}") from None
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

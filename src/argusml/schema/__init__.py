"""Vocabulary, settings and errors shared by every layer (pydantic only)."""

from argusml.schema.config import (
    ColumnSettings,
    DriftSettings,
    DriftThresholds,
    MultivariateSettings,
    QualitySettings,
    ReportConfig,
    load_report_config,
)
from argusml.schema.errors import ArgusError, ConfigError, InputError
from argusml.schema.finding import Finding
from argusml.schema.kinds import DriftStatus, Kind, Role, Severity
from argusml.schema.severity import DEFAULT_SEVERITY

__all__ = [
    "DEFAULT_SEVERITY",
    "ArgusError",
    "ColumnSettings",
    "ConfigError",
    "DriftSettings",
    "DriftStatus",
    "DriftThresholds",
    "Finding",
    "InputError",
    "Kind",
    "MultivariateSettings",
    "QualitySettings",
    "ReportConfig",
    "Role",
    "Severity",
    "load_report_config",
]

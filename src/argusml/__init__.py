"""Argus: monitoring for machine-learning models in production.

>>> import argusml
>>> ref = argusml.Reference.from_frame(train_df, target="label", prediction="score")   # doctest: +SKIP
>>> rep = argusml.report(ref, todays_df)                                                 # doctest: +SKIP
>>> rep.findings, rep.to_html()                                                          # doctest: +SKIP

Names are imported on first use (PEP 562), so ``argus --help`` and config
validation do not pay for importing scipy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from argusml.version import __version__

_LAZY = {
    "Reference": "argusml.profile",
    "Report": "argusml.reports",
    "report": "argusml.reports",
    "Client": "argusml.sdk",
    "ArgusError": "argusml.schema",
    "Finding": "argusml.schema",
    "InputError": "argusml.schema",
    "Kind": "argusml.schema",
    "ReportConfig": "argusml.schema",
    "Role": "argusml.schema",
    "Severity": "argusml.schema",
}

__all__ = ["ArgusError", "Client", "Finding", "InputError", "Kind", "Reference", "Report", "ReportConfig", "Role",
           "Severity", "__version__", "report"]

if TYPE_CHECKING:
    from argusml.profile import Reference
    from argusml.reports import Report, report
    from argusml.schema import ArgusError, Finding, InputError, Kind, ReportConfig, Role, Severity
    from argusml.sdk import Client


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'argusml' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

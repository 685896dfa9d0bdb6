"""Argus: monitoring for machine-learning models in production.

>>> import argusml
>>> ref = argusml.Reference.from_frame(train_df, target="label", prediction="score")   # doctest: +SKIP
>>> rep = argusml.report(ref, todays_df)                                                 # doctest: +SKIP
>>> rep.findings, rep.to_html()                                                          # doctest: +SKIP
"""

from argusml.profile import Reference
from argusml.report import Report, report
from argusml.schema import ArgusError, Finding, InputError, Kind, ReportConfig, Role, Severity

__version__ = "0.1.0"

__all__ = ["ArgusError", "Finding", "InputError", "Kind", "Reference", "Report", "ReportConfig", "Role",
           "Severity", "__version__", "report"]

"""Reports: the results of one comparison as JSON, HTML and notebook output."""

from argusml.report.model import SCHEMA_VERSION, Report, load_reference, report

__all__ = ["SCHEMA_VERSION", "Report", "load_reference", "report"]

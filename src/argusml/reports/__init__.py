"""Reports: the results of one comparison as JSON, HTML and notebook output."""

from argusml.reports.model import SCHEMA_VERSION, Report, load_reference, report

__all__ = ["SCHEMA_VERSION", "Report", "load_reference", "report"]

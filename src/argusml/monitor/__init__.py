"""The monitor: live state of every model (ingest, windows, checks as windows close)."""

from argusml.monitor.engine import BackfillTooWide, Busy, IngestAnswer, ModelState, Monitor, Settings, UnknownModel

__all__ = ["BackfillTooWide", "Busy", "IngestAnswer", "ModelState", "Monitor", "Settings", "UnknownModel"]

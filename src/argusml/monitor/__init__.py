"""The monitor: live state of every model (ingest, windows, checks as windows close)."""

from argusml.monitor.engine import BackfillTooWide, Busy, IngestAnswer, Monitor, Settings, UnknownModel
from argusml.monitor.state import ModelState

__all__ = ["BackfillTooWide", "Busy", "IngestAnswer", "ModelState", "Monitor", "Settings", "UnknownModel"]

"""The monitor: live state of every model (ingest, windows, checks as windows close)."""

from argusml.monitor.engine import Busy, IngestAnswer, ModelState, Monitor, Settings, UnknownModel

__all__ = ["Busy", "IngestAnswer", "ModelState", "Monitor", "Settings", "UnknownModel"]

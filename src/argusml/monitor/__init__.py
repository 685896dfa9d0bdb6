"""The monitor: live state of every model (ingest, windows, checks as windows close)."""

from argusml.monitor.backlog import Busy
from argusml.monitor.engine import Monitor
from argusml.monitor.ingest import BackfillTooWide, IngestAnswer
from argusml.monitor.registry import UnknownModel
from argusml.monitor.settings import Settings
from argusml.monitor.state import ModelState

__all__ = ["BackfillTooWide", "Busy", "IngestAnswer", "ModelState", "Monitor", "Settings", "UnknownModel"]

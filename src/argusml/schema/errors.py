"""Errors for input that cannot be monitored at all.

Problems *in* the data are findings, never exceptions. These errors are for
the cases where no report can be written: a file that does not exist, a
format we cannot read, a named column that is absent. Each message names
what was expected, what came and where, so the CLI can print it on one line.
"""

from __future__ import annotations


class ArgusError(Exception):
    """Base class: everything Argus raises on purpose derives from it."""


class InputError(ArgusError):
    """Input that cannot be monitored; the CLI exits 2 with this message."""

    def __init__(self, message: str, *, path: str | None = None, column: str | None = None) -> None:
        self.path = path
        self.column = column
        where = []
        if path is not None:
            where.append(str(path))
        if column is not None:
            where.append(f"column {column!r}")
        prefix = ": ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ConfigError(ArgusError):
    """A configuration file or value that does not validate; names the key path."""

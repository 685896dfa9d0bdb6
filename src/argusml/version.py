"""The package's version, in a module of its own: every layer may read it without importing the package root,
whose lazy names reach into every layer. pyproject.toml reads it from here too (one place to bump)."""

__version__ = "0.1.0"

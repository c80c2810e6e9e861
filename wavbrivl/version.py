"""The package version (one place: the package, its model cards and the wheel read it)."""

__version__ = "0.2.0"

"""The package version, in one place (read by the report and by packaging)."""

__version__ = "0.1.0"

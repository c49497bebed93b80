"""The package version, in one place (read by the package root, the stores and the CLI)."""

__version__ = "0.1.0"

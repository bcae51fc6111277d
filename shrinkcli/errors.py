"""Errors the library raises; the CLI maps each kind to one line on stderr and an exit code."""

from __future__ import annotations


class ShrinkError(Exception):
    """Base of every error shrink reports to its user (never shown as a traceback)."""

    exit_code: int = 1


class UsageError(ShrinkError):
    """A bad command-line option or combination (exit 2)."""

    exit_code = 2


class ScenarioError(ShrinkError):
    """A scenario file that cannot be read or does not validate (exit 2)."""

    exit_code = 2


class DataError(ShrinkError):
    """Input data that cannot be used: missing columns, bad values, too few rows (exit 1)."""

    exit_code = 1


class FitError(ShrinkError):
    """A model that cannot be fitted, e.g. not identifiable (exit 1)."""

    exit_code = 1


class OutputError(ShrinkError):
    """A file that cannot be read or written (exit 1)."""

    exit_code = 1

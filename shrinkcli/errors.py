"""Errors the library raises; the CLI maps each kind to one line on stderr and an exit code.

The library speaks of settings by their scenario names (``model.random``, ``jobs``), never by
command-line flags: an error may carry the `field` it is about and a `hint`, a (field, value)
setting that would help. ``str(error)`` words both in scenario terms; the CLI rewords them with
the flags of the command that ran (see ``shrinkcli.cli.errors``).
"""

from __future__ import annotations


class ShrinkError(Exception):
    """Base of every error shrink reports to its user (never shown as a traceback)."""

    exit_code: int = 1

    def __init__(
        self, message: str, *, field: str | None = None, hint: tuple[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.hint = hint
        #: warnings raised before the error (e.g. dropped rows), to be shown first
        self.warnings: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.field}: {self.message}" if self.field else self.message
        if self.hint is not None:
            text += f"; or set {self.hint[0]}: {self.hint[1]}"
        return text


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

"""How the CLI reports an error: one line on stderr, an exit code, never a traceback; and the
one place where the core's field names become flags.

The core names the settings an error is about by their scenario or library names
(`model.random`, `jobs`); a command words them with its own flags (`--random`, `-j/--jobs`).
A field the running command has no option for keeps its scenario wording, since the user can
only change it in the scenario file.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import re
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import typer

try:  # typer vendors click in recent releases
    from typer._click import Command, Context
    from typer._click import exceptions as cx
except ImportError:  # pragma: no cover - older typer with click installed
    from click import Command, Context  # type: ignore[no-redef,assignment,unused-ignore]
    from click import exceptions as cx  # type: ignore[no-redef,assignment,unused-ignore]
from typer.core import TyperGroup

from ..errors import ShrinkError

#: Each field the core may name, and the command parameter (by its Python name) that sets it.
FIELD_PARAMS: dict[str, str] = {
    "model.random": "random",
    "model.method": "method",
    "seed": "seed",
    "rng": "rng",
    "jobs": "jobs",
    "reps": "reps",
    "output": "output",
    "sweep": "vary",
    "resume": "resume",
    "scheduler": "scheduler",
    "animation.frames": "frames",
    "animation.fps": "fps",
    "animation.size": "size",
    "animation.width": "size",
    "animation.height": "size",
    "animation.zoom": "zoom",
    "animation.ellipses": "ellipses",
    "animation.truth": "truth",
    "animation.path": "path",
}


def flags_of(command: Command | None) -> dict[str, str]:
    """The fields `command` has an option for, each with that option as typed ('-j/--jobs')."""
    if command is None:
        return {}
    options = {
        p.name: p for p in command.params if p.name and any(o.startswith("-") for o in p.opts)
    }
    out: dict[str, str] = {}
    for field, name in FIELD_PARAMS.items():
        param = options.get(name)
        if param is not None:
            out[field] = "/".join(sorted(param.opts, key=len))
    return out


def in_flags(error: ShrinkError, flags: Mapping[str, str]) -> str:
    """The error's one line with its field and hint worded for a command with `flags` (from
    `flags_of`): '--jobs: …; or use --random intercept'. Fields without a flag keep the core's
    scenario wording ('jobs: …; or set model.random: intercept')."""
    if error.field is None and error.hint is None:
        return str(error)
    text = error.message
    if error.field is not None:
        text = f"{flags.get(error.field, error.field)}: {text}"
    if error.hint is not None:
        field, value = error.hint
        if field in flags:
            text += f"; or use {flags[field]} {value}"
        else:
            text += f"; or set {field}: {value}"
    return text


class CommandFailed(Exception):
    """A ShrinkError worded for the command that raised it, on its way to the exit."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class ReaderGone(Exception):
    """The reader of stdout went away (`shrink simulate big.yaml | head -1`), carried past
    click, which would turn the BrokenPipeError into a silent exit 1."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (what a CI system sends when it cancels a job), raised where the program is so
    that it unwinds exactly as on Ctrl-C: temporary folders removed, nothing half-written."""


_SIGNALLED: list[int] = []
_FORK_HOOK: list[bool] = []
_EXIT_HOOK: list[bool] = []


def _default_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _on_sigterm(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one is enough; let the cleanup finish
    _SIGNALLED.append(signum)
    raise Terminated


def _stop(interrupted_code: int = 130) -> NoReturn:
    """The one line for a run stopped by a signal: SIGTERM (143) or Ctrl-C (130)."""
    if _SIGNALLED:
        fail("shrink: terminated", 143)
    fail("shrink: interrupted", interrupted_code)


class ShrinkGroup(TyperGroup):
    """Runs commands with one-line errors: `shrink CMD: error: ...` on stderr, exit 2 for usage
    and scenario errors, 1 for data, fit and I/O errors; never a traceback."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise ReaderGone from None
        except ShrinkError as exc:
            for warning in exc.warnings:  # e.g. dropped rows: said before the error they explain
                typer.echo(f"shrink: warning: {warning}", err=True)
            command = self.get_command(ctx, ctx.invoked_subcommand or "")
            raise CommandFailed(in_flags(exc, flags_of(command)), exc.exit_code) from None

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _on_sigterm)
            if not _FORK_HOOK:  # worker processes forked from here stop at once on SIGTERM
                os.register_at_fork(after_in_child=_default_sigterm)
                _FORK_HOOK.append(True)
        if not _EXIT_HOOK:
            # When the process ends, every output is written and closed: the collector's passes
            # over every object during interpreter shutdown only cost time (0.03 s after `fit`,
            # 0.15 s after `report`), so whatever exists then is frozen out of them.
            atexit.register(gc.freeze)
            _EXIT_HOOK.append(True)
        try:
            rv = super().main(
                args=args,
                prog_name=prog_name or "shrink",
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
        except cx.NoArgsIsHelpError as exc:
            typer.echo(exc.ctx.get_help() if exc.ctx else "", err=True)
            sys.exit(2)
        except cx.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "shrink"
            message = plain_usage_message(exc.format_message(), list(args or sys.argv[1:]))
            fail(f"{where}: error: {message} (see '{where} --help')", 2)
        except cx.ClickException as exc:
            fail(f"shrink: error: {exc.format_message()}", exc.exit_code)
        except typer.Abort:
            _stop()
        except CommandFailed as exc:
            fail(f"shrink: error: {exc}", exc.exit_code)
        except ShrinkError as exc:  # raised outside a command (e.g. in the group's callback)
            fail(f"shrink: error: {exc}", exc.exit_code)
        except (BrokenPipeError, ReaderGone):
            _reader_gone()
        except KeyboardInterrupt:
            _stop()
        code = rv if isinstance(rv, int) else 0
        if code == 130:  # typer turns Ctrl-C (and our SIGTERM) into Exit(130)
            _stop()
        finish_stdout()
        if standalone_mode:
            sys.exit(code)
        return rv


def _reader_gone() -> NoReturn:
    """The rule for a reader of stdout that stops early (`| head -1`, at any size of output):
    exit 0 without a word, as the reader asked for no more; stdout is pointed at /dev/null so
    that the interpreter's last flush has nowhere to fail."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


def finish_stdout() -> None:
    """Flush stdout before the exit and check it: an error there (a full disk under text
    written by typer.echo) is one line and exit 1, a reader gone is `_reader_gone`, never the
    interpreter's final flush, which fails without a word or with a traceback."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _reader_gone()
    except OSError as exc:
        with contextlib.suppress(OSError, ValueError):  # the text that could not be written
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        fail(f"shrink: error: stdout: cannot write: {exc.strerror or exc}", 1)


#: The type parser's words, as a CLI says them.
_TYPE_WORDS = {
    "Input should be a valid integer, unable to parse string as an integer": "must be an integer",
    "Input should be a valid number, unable to parse string as a number": "must be a number",
    "Input should be a valid integer": "must be an integer",
    "Input should be a valid number": "must be a number",
}
_INVALID = re.compile(
    r"^Invalid value for '(?P<opt>[^']+)'(?: / '(?P<alt>[^']+)')?: (?P<msg>.*)$", re.S
)


def plain_usage_message(message: str, args: Sequence[str]) -> str:
    """A parser's complaint in the CLI's words: "--seed: must be an integer (got 'abc')"
    instead of "Invalid value for '--seed': Input should be a valid integer, unable to ..."."""
    message = message.replace("Value error, ", "")
    m = _INVALID.match(message)
    if not m:
        return message
    opts = [o for o in (m.group("opt"), m.group("alt")) if o]
    text = m.group("msg").strip()
    for words, plain in _TYPE_WORDS.items():
        if text.startswith(words):
            text = plain
            given = _value_of(opts, args)
            if given is not None:
                text += f" (got {given!r})"
            break
    label = "/".join(sorted(opts, key=len)) if opts[0].startswith("-") else opts[0]
    return f"{label}: {text}"


def _value_of(opts: Sequence[str], args: Sequence[str]) -> str | None:
    """The value given to one of `opts` on the command line (its last occurrence)."""
    found = None
    for i, arg in enumerate(args):
        for opt in opts:
            if arg == opt and i + 1 < len(args):
                found = args[i + 1]
            elif arg.startswith(opt + "=") and opt.startswith("--"):
                found = arg[len(opt) + 1 :]
    return found


def fail(message: str, code: int) -> NoReturn:
    """Print `message` on stderr and exit with `code`."""
    typer.echo(message, err=True)
    sys.exit(code)

"""The `shrink` command's entry point. Importing the command line takes a tenth of a second;
a Ctrl-C or SIGTERM in that time would otherwise end in a KeyboardInterrupt traceback from
whatever module was being imported. Until the command line is loaded (and installs its own
handling, which unwinds and cleans up), a signal ends the process with its one line and exit
code: nothing has been written yet."""

from __future__ import annotations

import os
import signal
from types import FrameType

#: The line and exit code of each signal, as the command line says them once it is running.
_STOPPED = {
    signal.SIGINT: (b"shrink: interrupted\n", 130),
    signal.SIGTERM: (b"shrink: terminated\n", 143),
}


def _stop_while_loading(signum: int, frame: FrameType | None) -> None:
    line, code = _STOPPED[signal.Signals(signum)]
    os.write(2, line)
    os._exit(code)


def main() -> None:
    """Run `shrink` with the arguments of this process."""
    for signum in _STOPPED:
        signal.signal(signum, _stop_while_loading)
    from .cli import app

    signal.signal(signal.SIGINT, signal.default_int_handler)  # the command line's own handling
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    app(prog_name="shrink")

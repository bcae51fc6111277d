"""Output paths checked before any work is done: a folder that takes no files, a missing
parent, a file where a folder is needed, an output that is one of the command's inputs
(it would be replaced before it is read), and devices and pipes, which are written in
place. A refusal is a usage error naming the path (exit 2)."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from ..errors import UsageError


def _check_parent(path: str, folder: Path, field: str | None = None) -> None:
    """Refuse a folder that cannot take new files: missing (naming the first part that is a file
    where a folder is needed), or one that refuses a file (read-only, /proc, /sys, ...)."""
    if not folder.exists():
        for above in folder.parents:
            if above.exists():
                if not above.is_dir():
                    raise UsageError(f"{path}: {str(above)!r} is a file, not a folder", field=field)
                break
        raise UsageError(f"{path}: folder {str(folder)!r} does not exist", field=field)
    if not folder.is_dir():
        raise UsageError(f"{path}: {str(folder)!r} is a file, not a folder", field=field)
    import tempfile

    try:  # the only sure test: make a file there (root may write where access() says no)
        fd, probe = tempfile.mkstemp(prefix=".shrink-probe.", dir=folder)
    except OSError as exc:
        reason = REASONS.get(exc.errno or 0, exc.strerror or "refused")
        raise UsageError(
            f"{path}: cannot create files in {str(folder)!r} ({reason})", field=field
        ) from None
    os.close(fd)
    os.unlink(probe)


REASONS = {
    errno.ENOENT: "it takes no new files",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on the device",
}


def check_output_path(path: str, *, inputs: Iterable[str] = ()) -> None:
    """Refuse, before any work is done, an output path that cannot be written or that is one
    of the command's `inputs`."""
    if path == "-":
        return
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{path}: is a folder; give a file name for the output")
    if is_special(p):  # a device or pipe: written in place
        if not os.access(p, os.W_OK):
            raise UsageError(f"{path}: permission denied")
        return
    _check_parent(path, Path(os.path.realpath(p)).parent)
    check_not_an_input(path, inputs)


def check_output_folder(path: str) -> None:
    """Refuse, before any work, an output folder that cannot be made or replaced: '-', a file,
    one whose parent is missing, or one in a place that takes no files (output folders are built
    beside their destination and moved into place)."""
    folder = Path(path)
    if path in ("-", ""):
        raise UsageError("give a folder's name (stdout is not a folder)", field="output")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file, not a folder", field="output")
    _check_parent(path, folder.parent, field="output")


def check_not_an_input(output: str, inputs: Iterable[str]) -> None:
    """Refuse an output that is one of the command's inputs: it would be replaced before (or
    while) it is read."""
    if output == "-":
        return
    out = Path(output)
    for source in inputs:
        if source == "-" or not out.exists():
            continue
        with contextlib.suppress(OSError):
            if os.path.samefile(out, source):
                raise UsageError(f"{output}: is also an input; write the output elsewhere")


def is_special(p: Path) -> bool:
    """A device, FIFO or socket (e.g. /dev/null, /dev/stdout, a named pipe): written in place,
    never replaced by a rename."""
    try:
        mode = p.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))

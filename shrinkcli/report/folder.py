"""The report folder's life: built in a temporary folder beside its destination, marked with a
manifest of the files shrink wrote, and swapped into place whole.

A destination is replaced only if it is empty or an earlier report whose every file is listed in
its manifest; shrink never deletes a file it did not write.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path

from .. import __version__
from ..errors import OutputError, UsageError
from ..io import write_atomic

#: The file that marks a folder as a shrink report; JSON with the list of files written.
MARKER = ".shrink-report"


def _files(folder: Path) -> set[str]:
    """Every file under `folder`, as POSIX paths relative to it."""
    return {
        (Path(d) / f).relative_to(folder).as_posix()
        for d, _, files in os.walk(folder)
        for f in files
    }


def _manifest(folder: Path) -> set[str] | None:
    """The files an earlier report lists, or None if `folder` is not a report."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        files = data["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(files, list):
        return None
    return {str(f) for f in files} | {MARKER}


def check_destination(outdir: Path) -> None:
    """Refuse, before any work, a destination that cannot be written or is not ours to replace."""
    parent = outdir.parent
    if not parent.is_dir():
        raise UsageError(f"{outdir}: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{outdir}: folder {str(parent)!r} is not writable")
    if not outdir.exists() and not outdir.is_symlink():
        return
    if outdir.is_symlink() or not outdir.is_dir():
        raise UsageError(f"{outdir}: exists and is not a folder; choose another output folder")
    present = _files(outdir)
    if not present and not any(outdir.iterdir()):
        return  # an empty folder
    listed = _manifest(outdir)
    if listed is None:
        raise UsageError(
            f"{outdir}: exists and is not a shrink report (no {MARKER} file); "
            "choose another output folder, or move it away"
        )
    foreign = sorted(present - listed)
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise UsageError(
            f"{outdir}: holds files shrink did not write ({', '.join(foreign[:3])}{more}); "
            "move them away or choose another output folder"
        )


def new_build_folder(outdir: Path) -> Path:
    """An empty temporary folder beside `outdir` (same file system, so the move is a rename)."""
    try:
        build = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", suffix=".building",
                                      dir=outdir.parent))
        umask = os.umask(0o22)
        os.umask(umask)
        os.chmod(build, 0o777 & ~umask)  # mkdtemp's 0700 would make the report private
        return build
    except OSError as exc:
        raise OutputError(f"{outdir}: cannot create a folder beside it: {exc.strerror}") from None


def discard(build: Path) -> None:
    """Remove a temporary build folder (every file in it is ours)."""
    shutil.rmtree(build, ignore_errors=True)


def write_marker(build: Path, files: Iterable[str]) -> None:
    """Mark the finished build as a report, listing `files`: every file written into it (as
    POSIX paths relative to it), so that only these are ever deleted when it is replaced."""
    listed = sorted(set(files) - {MARKER})
    text = json.dumps({"tool": "shrink", "version": __version__, "files": listed}, indent=1)
    write_atomic(build / MARKER, text + "\n")


def _remove_report(folder: Path) -> bool:
    """Delete the files an old report lists and the folders they leave empty; True if the
    folder is gone."""
    listed = _manifest(folder) or set()
    for d, _, files in os.walk(folder, topdown=False):
        for f in files:
            p = Path(d) / f
            if p.relative_to(folder).as_posix() in listed:
                with contextlib.suppress(OSError):
                    p.unlink()
        with contextlib.suppress(OSError):
            Path(d).rmdir()
    return not folder.exists()


def install(build: Path, outdir: Path) -> list[str]:
    """Move the finished build to `outdir`: an earlier report is renamed aside, the new one
    renamed in, then the old one removed. Returns warnings (an old folder that had to stay)."""
    check_destination(outdir)
    aside: Path | None = None
    if outdir.exists():
        aside = outdir.parent / f".{outdir.name}.old-{uuid.uuid4().hex[:8]}"
        try:
            os.rename(outdir, aside)
        except OSError as exc:
            raise OutputError(f"{outdir}: cannot move the earlier report aside: "
                              f"{exc.strerror}") from None
    try:
        os.rename(build, outdir)
    except OSError as exc:
        if aside is not None:
            with contextlib.suppress(OSError):
                os.rename(aside, outdir)
        raise OutputError(f"{outdir}: cannot move the new report into place: "
                          f"{exc.strerror}") from None
    if aside is not None and not _remove_report(aside):
        return [f"kept {aside}: it holds files shrink did not write"]
    return []

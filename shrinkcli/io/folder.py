"""An output folder shrink owns (a report, a study's tables and pictures): built in a temporary
folder beside its destination, marked with a list of the files shrink wrote, and swapped into
place whole, so that an interrupted run leaves no half folder and an earlier one stays intact.

A destination is replaced only if it is missing, empty, or an earlier folder of the same kind
whose every file its marker lists; shrink never deletes a file it did not write. A build folder
left behind by a killed run (its process gone) is removed by the next run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..errors import OutputError, UsageError
from .files import write_atomic, write_files
from .paths import check_output_folder

#: In a build folder: the id of the process building it, so that a later run can tell a stale one.
BUILDING = ".shrink-building"


def _files(folder: Path) -> set[str]:
    """Every file under `folder`, as POSIX paths relative to it."""
    return {
        (Path(d) / f).relative_to(folder).as_posix()
        for d, _, files in os.walk(folder)
        for f in files
    }


def _manifest(folder: Path, marker: str) -> set[str] | None:
    """The files an earlier folder of this kind lists, or None if `folder` is not one."""
    try:
        data = json.loads((folder / marker).read_text(encoding="utf-8"))
        files = data["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(files, list):
        return None
    return {str(f) for f in files} | {marker}


@dataclass(frozen=True)
class OwnedFolder:
    """A kind of output folder: `kind` names it in messages ("report"), `marker` is the file
    that marks it as shrink's, JSON with the list of files written."""

    kind: str
    marker: str

    def check_destination(self, outdir: Path) -> None:
        """Refuse, before any work, a destination that cannot be written or is not ours to
        replace; remove stale build folders of killed runs beside it."""
        check_destination(outdir, self)
        remove_stale_builds(outdir)

    def new_build_folder(self, outdir: Path) -> Path:
        return new_build_folder(outdir)

    def write_marker(self, build: Path, files: Iterable[str]) -> None:
        write_marker(build, files, self.marker)

    def install(self, build: Path, outdir: Path) -> list[str]:
        return install(build, outdir, self)

    def replace_with(self, outdir: Path, files: Mapping[str, bytes | str]) -> list[str]:
        """Write `files` (relative path → content) as the whole of `outdir`: built beside it,
        marked, moved into place. Returns warnings (an old folder that had to stay)."""
        build = self.new_build_folder(outdir)
        try:
            self.write_marker(build, write_files(build, files))
            return self.install(build, outdir)
        except BaseException:
            discard(build)
            raise


def check_destination(outdir: Path, kind: OwnedFolder) -> None:
    """Refuse, before any work, a destination that cannot be written or is not ours to replace."""
    check_output_folder(str(outdir))
    if not outdir.exists() and not outdir.is_symlink():
        return
    if outdir.is_symlink() or not outdir.is_dir():
        raise UsageError(f"{outdir}: exists and is not a folder; choose another output folder")
    present = _files(outdir)
    if not present and not any(outdir.iterdir()):
        return  # an empty folder
    listed = _manifest(outdir, kind.marker)
    if listed is None:
        raise UsageError(
            f"{outdir}: exists and is not a shrink {kind.kind} (no {kind.marker} file); "
            "choose another output folder, or move it away"
        )
    foreign = sorted(present - listed)
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise UsageError(
            f"{outdir}: holds files shrink did not write ({', '.join(foreign[:3])}{more}); "
            "move them away or choose another output folder"
        )


def check_holds_no_input(outdir: Path, inputs: Iterable[str]) -> None:
    """Refuse an output folder that holds one of the command's inputs (a scenario file, a data
    scenario's table): replacing the folder would delete it."""
    if not outdir.exists():
        return
    root = Path(os.path.realpath(outdir))
    for source in inputs:
        if source in ("-", ""):
            continue
        if Path(os.path.realpath(source)).is_relative_to(root):
            raise UsageError(
                f"{outdir}: holds {source}, an input; it would be replaced with "
                "the folder, so write the output elsewhere",
                field="output",
            )


def new_build_folder(outdir: Path) -> Path:
    """An empty temporary folder beside `outdir` (same file system, so the move is a rename),
    holding only the id of this process (`BUILDING`) until the work is done."""
    try:
        build = Path(
            tempfile.mkdtemp(prefix=f".{outdir.name}.", suffix=".building", dir=outdir.parent)
        )
        umask = os.umask(0o22)
        os.umask(umask)
        os.chmod(build, 0o777 & ~umask)  # mkdtemp's 0700 would make the folder private
        (build / BUILDING).write_text(f"{os.getpid()}\n", encoding="utf-8")
        return build
    except OSError as exc:
        raise OutputError(f"{outdir}: cannot create a folder beside it: {exc.strerror}") from None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: alive
        return True
    return True


def remove_stale_builds(outdir: Path) -> None:
    """Remove build folders for `outdir` that a killed run left: shrink's own (named
    `.NAME.*.building`, holding `BUILDING`) whose process is gone."""
    with contextlib.suppress(OSError):
        for build in outdir.parent.glob(f".{outdir.name}.*.building"):
            try:
                pid = int((build / BUILDING).read_text(encoding="utf-8").strip())
            except (OSError, ValueError):
                continue  # not one of ours (or not readable): leave it
            if pid != os.getpid() and not _alive(pid):
                shutil.rmtree(build, ignore_errors=True)


def discard(build: Path) -> None:
    """Remove a temporary build folder (every file in it is ours)."""
    shutil.rmtree(build, ignore_errors=True)


def write_marker(build: Path, files: Iterable[str], marker: str) -> None:
    """Mark the finished build as shrink's, listing `files`: every file written into it (as
    POSIX paths relative to it), so that only these are ever deleted when it is replaced."""
    listed = sorted(set(files) - {marker})
    text = json.dumps({"tool": "shrink", "version": __version__, "files": listed}, indent=1)
    write_atomic(build / marker, text + "\n")
    with contextlib.suppress(OSError):
        (build / BUILDING).unlink()


def remove_listed(folder: Path, marker: str) -> bool:
    """Delete every file an earlier folder of this kind lists (`marker`), and the folders they
    leave empty; True if the folder is gone. Files shrink did not write stay."""
    return _remove_listed(folder, marker)


def _remove_listed(folder: Path, marker: str) -> bool:
    """Delete the files an old folder lists and the folders they leave empty; True if the
    folder is gone."""
    listed = _manifest(folder, marker) or set()
    for d, _, files in os.walk(folder, topdown=False):
        for f in files:
            p = Path(d) / f
            if p.relative_to(folder).as_posix() in listed:
                with contextlib.suppress(OSError):
                    p.unlink()
        with contextlib.suppress(OSError):
            Path(d).rmdir()
    return not folder.exists()


def install(build: Path, outdir: Path, kind: OwnedFolder) -> list[str]:
    """Move the finished build to `outdir`: an earlier folder is renamed aside, the new one
    renamed in, then the old one removed. Returns warnings (an old folder that had to stay)."""
    check_destination(outdir, kind)
    aside: Path | None = None
    if outdir.exists():
        aside = outdir.parent / f".{outdir.name}.old-{uuid.uuid4().hex[:8]}"
        try:
            os.rename(outdir, aside)
        except OSError as exc:
            raise OutputError(
                f"{outdir}: cannot move the earlier {kind.kind} aside: {exc.strerror}"
            ) from None
    try:
        os.rename(build, outdir)
    except OSError as exc:
        if aside is not None:
            with contextlib.suppress(OSError):
                os.rename(aside, outdir)
        raise OutputError(
            f"{outdir}: cannot move the new {kind.kind} into place: {exc.strerror}"
        ) from None
    if aside is not None and not _remove_listed(aside, kind.marker):
        return [f"kept {aside}: it holds files shrink did not write"]
    return []

"""A study's output folder: the kind of folder shrink owns (`STUDY_FOLDER`, marked by `MARKER`),
and while a sweep runs, its record (`SweepRecord`): the run's arguments and each finished
design's rows, written as they finish, so that a stopped run leaves a folder shrink recognises
and a rerun with `resume` skips what it holds. Errors name fields (`resume`), not flags.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from ..errors import OutputError, UsageError
from ..io.folder import OwnedFolder
from .run import Row
from .sweep import Change, SweepResult, changed_argument

#: The file that marks a folder as a study's output; JSON with the list of files written.
MARKER = ".shrink-study"
#: A study's output folder: replaced whole by a new study, any other folder refused.
STUDY_FOLDER = OwnedFolder("study", MARKER)

#: In a sweep's folder: what the run depends on, and each finished design's rows.
ARGUMENTS = "sweep.json"
DESIGNS = "designs"


class NothingToResume(UsageError):
    """The folder to resume holds no record of an earlier sweep."""

    def __init__(self, outdir: Path) -> None:
        super().__init__(
            f"{outdir}: nothing to resume (no {ARGUMENTS} of an earlier sweep)", field="resume"
        )
        self.outdir = outdir


class RunChanged(UsageError):
    """The folder to resume was made by a run with other arguments: `change` says which."""

    def __init__(self, outdir: Path, change: Change) -> None:
        super().__init__(f"{outdir} was made by a different run ({change})", field="resume")
        self.outdir, self.change = outdir, change


def _design_file(i: int) -> str:
    return f"{DESIGNS}/{i + 1:05d}.json"


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=True, separators=(",", ":"))


class SweepRecord:
    """The output folder while a sweep runs: its arguments (`sweep.fingerprint`) and finished
    designs, each file written atomically and listed in the study marker."""

    def __init__(self, outdir: Path, arguments: dict[str, Any]) -> None:
        self.outdir, self.arguments = outdir, arguments
        self.marker = MARKER
        self.files: list[str] = []

    def start(self, resume: bool, count: int) -> dict[int, list[Row]]:
        """Check the folder against this run and return the designs it already holds (with
        `resume`: `NothingToResume`, `RunChanged` when it cannot), or clear an earlier study
        from it (without)."""
        from ..io.folder import remove_listed

        done: dict[int, list[Row]] = {}
        if resume:
            path = self.outdir / ARGUMENTS
            try:
                old = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raise NothingToResume(self.outdir) from None
            change = changed_argument(old, self.arguments)
            if change is not None:
                raise RunChanged(self.outdir, change)
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):  # all ours
                listed = json.loads((self.outdir / self.marker).read_text("utf-8"))["files"]
                self.files = [str(f) for f in listed]
            for i in range(count):
                try:
                    saved = json.loads((self.outdir / _design_file(i)).read_text("utf-8"))
                except (OSError, ValueError):
                    continue  # not finished (or cut short): run again
                done[i] = saved["rows"]
                if _design_file(i) not in self.files:
                    self.files.append(_design_file(i))
        elif self.outdir.exists():
            remove_listed(self.outdir, self.marker)
        self._write(ARGUMENTS, _dumps(self.arguments) + "\n")
        return done

    def save(self, i: int, rows: list[Row]) -> None:
        """Keep design i's rows."""
        self._write(_design_file(i), _dumps({"rows": rows}) + "\n")

    def finish(self, result: SweepResult) -> list[str]:
        """The folder made whole: its record and the sweep's files (`SweepResult.files`).
        Returns warnings (an old folder that had to stay)."""
        files: dict[str, bytes | str] = {**self.contents(), **result.files()}
        return STUDY_FOLDER.replace_with(self.outdir, files)

    def contents(self) -> dict[str, str]:
        """The folder's progress files (its arguments and designs), for the finished folder."""
        return {
            name: (self.outdir / name).read_text(encoding="utf-8")
            for name in self.files
            if name == ARGUMENTS or name.startswith(f"{DESIGNS}/")
        }

    def _write(self, name: str, text: str) -> None:
        from ..io import write_atomic
        from ..io.folder import write_marker

        try:
            (self.outdir / name).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{self.outdir}: cannot create the folder: {exc.strerror}") from None
        write_atomic(self.outdir / name, text)
        if name not in self.files:
            self.files.append(name)
        write_marker(self.outdir, self.files, self.marker)

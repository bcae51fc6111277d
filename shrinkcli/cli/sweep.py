"""`shrink study` over design sweeps: the grid run with a progress bar, finished designs kept in
the output folder as they complete, `--resume` picking up where a stopped run left off."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from ..errors import OutputError, UsageError
from ..scenario import Scenario
from ..studies.sweep import Design, SweepResult, changed_argument, expand, fingerprint, run_sweep

#: In a sweep's folder: what the run depends on, and each finished design's rows.
ARGUMENTS = "sweep.json"
DESIGNS = "designs"


def _design_file(i: int) -> str:
    return f"{DESIGNS}/{i + 1:05d}.json"


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=True, separators=(",", ":"))


class SweepFolder:
    """The output folder while a sweep runs: its arguments and finished designs, each file
    written atomically and listed in the study marker, so that a stopped run leaves a folder
    shrink recognises (and `--resume` reads)."""

    def __init__(self, outdir: Path, marker: str, arguments: dict[str, Any]) -> None:
        self.outdir, self.marker, self.arguments = outdir, marker, arguments
        self.files: list[str] = []

    def start(self, resume: bool, count: int) -> dict[int, list[dict[str, Any]]]:
        """Check the folder against this run and return the designs it already holds (with
        `resume`), or clear an earlier study from it (without)."""
        from ..io.folder import remove_listed

        done: dict[int, list[dict[str, Any]]] = {}
        if resume:
            path = self.outdir / ARGUMENTS
            try:
                old = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raise UsageError(
                    f"{self.outdir}: nothing to resume (no {ARGUMENTS} of an earlier "
                    "sweep); run without --resume",
                    field="resume",
                ) from None
            change = changed_argument(old, self.arguments)
            if change is not None:
                raise UsageError(
                    f"{self.outdir} was made by a different run ({change}); resume "
                    "with the same arguments, or run without --resume to start "
                    "again",
                    field="resume",
                )
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

    def save(self, i: int, rows: list[dict[str, Any]]) -> None:
        """Keep design i's rows."""
        self._write(_design_file(i), _dumps({"rows": rows}) + "\n")

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


def study_sweep(
    loaded: Sequence[Scenario],
    reps: int,
    *,
    vary: dict[str, list[Any]],
    jobs: int | None,
    seed: int | None,
    ci: str | None,
    output: str | None,
    resume: bool,
    executor: Executor | None,
    show: bool,
) -> SweepResult:
    """Expand, run (resuming and saving in `output`), and write the folder's final files."""
    from ..io.folder import OwnedFolder
    from ..studies.study import MARKER
    from .progress import sweep_progress

    designs: list[Design] = [d for s in loaded for d in expand(s, vary)]
    folder = OwnedFolder("study", MARKER)
    keeper: SweepFolder | None = None
    done: dict[int, list[dict[str, Any]]] = {}
    if output is not None:
        outdir = Path(output)
        folder.check_destination(outdir)
        keeper = SweepFolder(outdir, MARKER, fingerprint(designs, reps, seed, ci))
        done = keeper.start(resume, len(designs))
    elif resume:
        raise UsageError("needs -o/--output DIR, the folder of the run to resume", field="resume")
    with sweep_progress(show, len(designs), reps, len(done)) as bar:

        def finished(i: int, rows: list[dict[str, Any]]) -> None:
            if keeper is not None:
                keeper.save(i, rows)
            bar.design()

        result = run_sweep(
            designs,
            reps,
            jobs=jobs,
            seed=seed,
            progress=bar.replications,
            executor=executor,
            ci=ci,
            done=done,
            on_design=finished,
        )
    if keeper is not None:
        files: dict[str, bytes | str] = {**keeper.contents(), **result.files()}
        folder.replace_with(keeper.outdir, files)
    return result


def sweep_summary_text(result: SweepResult, format: str) -> str | bytes:
    """The summary on stdout: CSV, TSV, JSON or Parquet with the key columns, or for a
    terminal the aligned table with a block per design."""
    from ..io import table_bytes
    from ..studies.study import summary_text

    summary = result.summary
    if format != "table":
        return table_bytes(summary, format)  # type: ignore[arg-type]
    labels = {d.scenario.name: d.label for d in result.designs}
    frame = result.study.summary.copy()
    frame["scenario"] = frame["scenario"].map(labels)
    return summary_text(frame)

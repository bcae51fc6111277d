"""The report: every scenario's data, fit, summary, animation and picture, with an overview
(index.html, report.md, summary.csv), built in a temporary folder and moved into place whole.

`build_report(paths, outdir)` is the whole of it; the CLI only turns its progress events into a
progress bar and its result into an exit code.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import parallel
from ..errors import ShrinkError, UsageError
from .build import (
    SCENARIO_FILES,
    STAGES,
    Failure,
    ProgressCallback,
    ProgressEvent,
    ScenarioReport,
    failure,
    run_all,
)
from .folder import MARKER, check_destination, discard, install, new_build_folder, write_marker
from .pages import Section, index_page, markdown_page, scenario_page, stylesheet, summary_frame

if TYPE_CHECKING:
    from ..scenario import Scenario

__all__ = [
    "MARKER",
    "SCENARIO_FILES",
    "STAGES",
    "Failure",
    "ProgressEvent",
    "ReportResult",
    "ScenarioReport",
    "Section",
    "build_report",
    "preflight",
]


@dataclass(frozen=True)
class ReportResult:
    """What `build_report` made: the folder, every scenario in order (reported or failed),
    warnings, and seconds per step."""

    outdir: Path
    entries: list[ScenarioReport | Failure]
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def reports(self) -> list[ScenarioReport]:
        return [e for e in self.entries if isinstance(e, ScenarioReport)]

    @property
    def failures(self) -> list[Failure]:
        return [e for e in self.entries if isinstance(e, Failure)]

    @property
    def ok(self) -> bool:
        return not self.failures


def _load(paths: Sequence[str]) -> list[Scenario | Failure]:
    """Every scenario validated up front; a file that does not load becomes a failure."""
    from ..scenario import default_name, load_scenario

    out: list[Scenario | Failure] = []
    for p in paths:
        try:
            out.append(load_scenario(p))
        except ShrinkError as exc:
            out.append(failure(default_name(Path(p)), p, exc))
    return out


#: Names of the report's own files, which no scenario folder may take.
RESERVED = frozenset({"index.html", "report.md", "summary.csv", "style.css", "study", MARKER})


def _check_names(paths: Sequence[str], loaded: Sequence[Scenario | Failure]) -> None:
    seen: dict[str, str] = {}
    for p, s in zip(paths, loaded, strict=True):
        if isinstance(s, Failure):
            continue
        if s.name.lower() in RESERVED:
            raise UsageError(f"{p}: scenario name {s.name!r} is taken by the report's own file; "
                             "choose another name")
        if s.name in seen:
            raise UsageError(
                f"{p}: scenario name {s.name!r} is also that of {seen[s.name]}; "
                "every scenario needs its own name (its folder in the report)"
            )
        seen[s.name] = p


def build_report(
    scenario_paths: Sequence[str],
    outdir: str | Path,
    *,
    jobs: int | None = None,
    progress: ProgressCallback | None = None,
    sections: Sequence[Section] = (),
) -> ReportResult:
    """Build the report of `scenario_paths` in `outdir`.

    Scenarios run in `jobs` worker processes (default: one per core). A scenario that fails is
    shown as such and the others are still reported (see `ReportResult.failures`). Raises
    UsageError, before any work, for two scenarios with the same name or an `outdir` that is
    neither missing, empty nor an earlier report. `sections` are extra parts of the overview.
    """
    if not scenario_paths:
        raise UsageError("give at least one scenario file")
    workers = parallel.cores() if jobs is None else jobs
    if workers < 1:
        raise UsageError(f"--jobs: must be an integer ≥ 1 (got {jobs})")
    out = Path(outdir)
    paths = [str(p) for p in scenario_paths]
    loaded = preflight(paths, out)

    t0 = time.perf_counter()
    build = new_build_folder(out)
    try:
        todo = [(s, p) for s, p in zip(loaded, paths, strict=True) if not isinstance(s, Failure)]
        done = iter(run_all(todo, build, workers=workers, progress=progress))
        entries = [s if isinstance(s, Failure) else next(done) for s in loaded]
        t1 = time.perf_counter()
        _write_pages(build, entries, sections)
        write_marker(build)
        t2 = time.perf_counter()
        warnings = install(build, out)
    except BaseException:
        discard(build)
        raise
    seconds = {"scenarios": t1 - t0, "pages": t2 - t1, "total": time.perf_counter() - t0}
    return ReportResult(out, entries, warnings, seconds)


def preflight(scenario_paths: Sequence[str], outdir: str | Path) -> list[Scenario | Failure]:
    """The checks made before any work: every scenario loaded (a file that does not load is a
    Failure), names unique and free, the destination usable. Raises UsageError otherwise."""
    paths = [str(p) for p in scenario_paths]
    loaded = _load(paths)
    _check_names(paths, loaded)
    check_destination(Path(outdir))
    return loaded


def _write_pages(
    build: Path, entries: Sequence[ScenarioReport | Failure], sections: Sequence[Section]
) -> None:
    from ..io import table_text, write_atomic

    write_atomic(build / "style.css", stylesheet())
    for r in entries:
        if isinstance(r, ScenarioReport):
            write_atomic(build / r.name / "index.html", scenario_page(r))
    write_atomic(build / "index.html", index_page(entries, sections))
    write_atomic(build / "report.md", markdown_page(entries, sections))
    write_atomic(build / "summary.csv", table_text(summary_frame(entries), "csv"))
    for section in sections:
        for rel, content in section.files.items():
            path = build / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, content)

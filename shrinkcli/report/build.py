"""Building a report: the checks made before any work, the study and the sweep first when asked,
every scenario into the build folder, then the pages, the marker and the move into place.

`build_report(scenarios, outdir)` is the whole of it, on scenario values (`load_scenarios`
reads files into them once, a file that does not load becoming a `Failure`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .. import parallel
from ..errors import ShrinkError, UsageError
from ..io import write_files
from ..io.folder import OwnedFolder, discard
from ..scenario import Scenario
from .pages import MANIFEST, PAGES, Section, report_pages
from .scenarios import (
    Failure,
    ProgressCallback,
    ScenarioReport,
    StudyEvent,
    failure,
    run_all,
    source_of,
)
from .study import FOLDER as STUDY_FOLDER
from .study import StudyOptions

#: The file that marks a folder as a shrink report; JSON with the list of files written.
MARKER = ".shrink-report"
#: A report folder: replaced whole, only if it is empty or an earlier report.
REPORT_FOLDER = OwnedFolder("report", MARKER)
#: Names of the report's own files and folders, which no scenario folder may take.
RESERVED = frozenset({*PAGES, MANIFEST, STUDY_FOLDER, MARKER})


@dataclass(frozen=True)
class ReportResult:
    """What `build_report` made: the folder, every scenario in order (reported or failed),
    every file written (paths relative to the folder, as its marker lists them), warnings,
    and seconds per step."""

    outdir: Path
    entries: list[ScenarioReport | Failure]
    files: tuple[str, ...] = ()
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


def load_scenarios(
    paths: Sequence[str | Path], *, y: str = "y", x: str = "x", cluster: str = "cluster"
) -> list[Scenario | Failure]:
    """Read every scenario file once; a table given directly becomes a data scenario named
    after its file, with columns `y`, `x` and `cluster`. A file whose content does not load
    becomes a Failure, shown in the report with the others; a file that is missing or cannot be
    opened is a usage error (UsageError), raised before any work, as in every command."""
    from ..inputs import load_source
    from ..scenario import default_name

    out: list[Scenario | Failure] = []
    for p in paths:
        try:
            out.append(load_source(str(p), y=y, x=x, cluster=cluster))
        except UsageError:
            raise
        except ShrinkError as exc:
            out.append(failure(default_name(Path(p)), str(p), exc))
    return out


def build_report(
    scenarios: Sequence[Scenario | Failure],
    outdir: str | Path,
    *,
    jobs: int | None = None,
    progress: ProgressCallback | None = None,
    study: StudyOptions | None = None,
    sections: Sequence[Section] = (),
) -> ReportResult:
    """Build the report of `scenarios` in `outdir`.

    Scenarios run in `jobs` worker processes (default: one per core). A scenario that fails
    (or came as a Failure) is shown as such and the others are still reported (see
    `ReportResult.failures`). With `study`, a Monte Carlo study of the scenarios runs first and
    becomes a section of the overview; `sections` are further parts of it. Raises UsageError,
    before any work, for two scenarios with the same name or an `outdir` that is neither
    missing, empty nor an earlier report.
    """
    if not scenarios:
        raise UsageError("give at least one scenario")
    workers = parallel.cores() if jobs is None else jobs
    if workers < 1:
        raise UsageError(f"must be an integer ≥ 1 (got {jobs})", field="jobs")
    out = Path(outdir)
    entries = _preflight(scenarios, out, sections)
    valid = [e for e in entries if isinstance(e, Scenario)]

    t0 = time.perf_counter()
    if study is not None and valid:
        section = _study(valid, study, jobs, progress)
        if section is not None:
            sections = [*sections, section]
        from .sweep import sweep_study  # scenarios with a sweep: their grid of designs

        swept = sweep_study(valid, study, jobs, _sweep_progress(progress, study.reps))
        if swept is not None:
            sections = [*sections, swept]
    t1 = time.perf_counter()
    build = REPORT_FOLDER.new_build_folder(out)
    try:
        done = iter(run_all(valid, build, workers=workers, progress=progress))
        reported = [e if isinstance(e, Failure) else next(done) for e in entries]
        t2 = time.perf_counter()
        written = write_files(build, report_pages(reported, sections))
        files = sorted(
            {
                *written,
                *(
                    f"{r.name}/{f}"
                    for r in reported
                    if isinstance(r, ScenarioReport)
                    for f in r.files
                ),
            }
        )
        REPORT_FOLDER.write_marker(build, files)
        t3 = time.perf_counter()
        warnings = REPORT_FOLDER.install(build, out)
    except BaseException:
        discard(build)
        raise
    seconds = {
        "study": t1 - t0,
        "scenarios": t2 - t1,
        "pages": t3 - t2,
        "total": time.perf_counter() - t0,
    }
    return ReportResult(out, reported, tuple(files), warnings, seconds)


def _preflight(
    scenarios: Sequence[Scenario | Failure], outdir: Path, sections: Sequence[Section]
) -> list[Scenario | Failure]:
    """The checks made before any work: names unique and free, the destination usable (raising
    UsageError otherwise); a scenario this machine has not the memory for becomes a Failure."""
    from ..scenario import check_memory, check_names

    valid = [s for s in scenarios if isinstance(s, Scenario)]
    taken = RESERVED | {PurePosixPath(f).parts[0] for part in sections for f in part.files}
    for sc in valid:
        if sc.name.lower() in taken:
            raise UsageError(
                f"{source_of(sc)}: scenario name {sc.name!r} is taken by the "
                "report's own file; choose another name"
            )
    check_names(valid)
    REPORT_FOLDER.check_destination(outdir)
    out: list[Scenario | Failure] = []
    for entry in scenarios:
        if isinstance(entry, Scenario):
            try:
                check_memory(entry)
            except ShrinkError as exc:
                out.append(failure(entry.name, source_of(entry), exc))
                continue
        out.append(entry)
    return out


def _sweep_progress(
    progress: ProgressCallback | None, reps: int
) -> Callable[[str, int], None] | None:
    """The sweep's replications as study events (a bar per design)."""
    if progress is None:
        return None
    report = progress
    return lambda name, done: report(StudyEvent(name, done, reps))


def _study(
    scenarios: Sequence[Scenario],
    options: StudyOptions,
    jobs: int | None,
    progress: ProgressCallback | None,
) -> Section | None:
    """The study of `scenarios` as a section of the report (None when none can be studied)."""
    from ..studies import Bootstrap, bootstrap_of, run_study
    from .study import study_section

    def on_chunk(name: str, done: int) -> None:
        if progress is not None:
            progress(StudyEvent(name, done, options.reps))

    # A data scenario whose table cannot be read or fitted fails on its own (its page says
    # why); the study goes on without it.
    boots: dict[str, Bootstrap] = {}
    studied = []
    for s in scenarios:
        if s.is_data:
            try:
                boots[s.name] = bootstrap_of(s)
            except ShrinkError:
                continue
        studied.append(s)
    if not studied:
        return None
    result = run_study(
        studied, options.reps, jobs=jobs, seed=options.seed, progress=on_chunk, bootstraps=boots
    )
    return study_section(result, seed=options.seed)

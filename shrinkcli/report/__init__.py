"""The report: every scenario's data, fit, summary, animation and picture, with an overview
(index.html, report.md, summary.csv) and optionally a Monte Carlo study, built in a temporary
folder and moved into place whole.

`build_report(scenarios, outdir)` is the whole of it, on scenario values (`load_scenarios`
reads files into them once, a file that does not load becoming a `Failure`); the CLI only turns
its progress events into a progress bar and its result into an exit code.

The modules: `build` (build_report: the checks, the study, the scenarios, the pages, the move
into place), `scenarios` (one scenario's run into its folder, all of them in worker processes,
progress as events), `pages` (a function per page, from the templates), `explore` (what the
explorer's page is told), `metrics`, `real`, `uncertainty` (a scenario's numbers and their
sentences), `rscript` (the R script that reproduces a fit), `study` and `sweep` (their
sections of the overview).
"""

from .build import MARKER, RESERVED, ReportResult, build_report, load_scenarios
from .pages import Section
from .scenarios import STAGES, Failure, ProgressEvent, ScenarioReport, StudyEvent
from .study import StudyOptions

__all__ = [
    "MARKER",
    "RESERVED",
    "STAGES",
    "Failure",
    "ProgressEvent",
    "ReportResult",
    "ScenarioReport",
    "Section",
    "StudyEvent",
    "StudyOptions",
    "build_report",
    "load_scenarios",
]

"""The `shrink` command line: parses arguments, calls the library, prints, maps errors to exit
codes. Data goes to stdout, everything else to stderr; heavy modules are imported inside the
commands so that `shrink --help` answers at once."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

try:  # typer vendors click in recent releases
    from typer._click import exceptions as cx
except ImportError:  # pragma: no cover - older typer with click installed
    from click import exceptions as cx  # type: ignore[no-redef]
from typer.core import TyperGroup

from . import __version__
from .errors import ShrinkError, UsageError

if TYPE_CHECKING:
    from .fit import Fit
    from .inputs import Input
    from .report import ProgressEvent
    from .scenario import AnimationOptions


class _Group(TyperGroup):
    """Runs commands with one-line errors: `shrink CMD: error: ...` on stderr, exit 2 for usage
    and scenario errors, 1 for data, fit and I/O errors; never a traceback."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
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
            message = exc.format_message().replace("Value error, ", "")
            _fail(f"{where}: error: {message} (see '{where} --help')", 2)
        except cx.ClickException as exc:
            _fail(f"shrink: error: {exc.format_message()}", exc.exit_code)
        except typer.Abort:
            _fail("shrink: interrupted", 130)
        except ShrinkError as exc:
            _fail(f"shrink: error: {exc}", exc.exit_code)
        except BrokenPipeError:
            # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(0)
        except KeyboardInterrupt:
            _fail("shrink: interrupted", 130)
        code = rv if isinstance(rv, int) else 0
        if code == 130:  # typer turns Ctrl-C into Exit(130)
            typer.echo("shrink: interrupted", err=True)
        if standalone_mode:
            sys.exit(code)
        return rv


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(message, err=True)
    sys.exit(code)


app = typer.Typer(
    name="shrink",
    cls=_Group,
    help="Shrinkage (partial pooling) in linear mixed models: simulate the post's scenarios, "
    "fit them exactly as lme4 does, animate and report how clusters borrow strength.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shrink {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Shrinkage (partial pooling) in linear mixed models."""


# -- shared options (defined once, same meaning in every command) -----------------------------


class TableFormat(str, Enum):
    csv = "csv"
    tsv = "tsv"
    json = "json"


class StudyFormat(str, Enum):
    table = "table"
    csv = "csv"
    tsv = "tsv"
    json = "json"


class FitFormat(str, Enum):
    csv = "csv"
    tsv = "tsv"
    json = "json"
    summary = "summary"


class RngName(str, Enum):
    r = "r"
    numpy = "numpy"


class MethodName(str, Enum):
    reml = "reml"
    ml = "ml"


class RandomName(str, Enum):
    intercept_slope = "intercept-slope"
    intercept = "intercept"


class EngineName(str, Enum):
    native = "native"
    statsmodels = "statsmodels"


class ZoomName(str, Enum):
    baseline = "baseline"
    data = "data"


OutputOpt = Annotated[
    str, typer.Option(
        "-o", "--output", help="Where to write: a file, or '-' for stdout.", metavar="PATH"
    )
]
SeedOpt = Annotated[
    int | None,
    typer.Option("--seed", help="Override the scenario's seed.", show_default=False, metavar="N"),
]
RngOpt = Annotated[
    RngName | None,
    typer.Option("--rng", help="Override the scenario's generator: r (R-identical) or numpy."),
]
InputArg = Annotated[
    str,
    typer.Argument(
        help="A scenario (.yaml, simulated first), a CSV/TSV file, or '-' for CSV on stdin.",
        show_default=False,
        metavar="INPUT",
    ),
]
YOpt = Annotated[str, typer.Option("--y", help="Response column.", metavar="COL")]
XOpt = Annotated[str, typer.Option("--x", help="Covariate column.", metavar="COL")]
ClusterOpt = Annotated[
    str, typer.Option("--cluster", help="Cluster (grouping) column.", metavar="COL")
]
MethodOpt = Annotated[
    MethodName | None,
    typer.Option("--method", help="reml or ml [default: the scenario's, else reml]."),
]
RandomOpt = Annotated[
    RandomName | None,
    typer.Option(
        "--random",
        help="Random effects: intercept-slope, or intercept only [default: the scenario's, "
        "else intercept-slope].",
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notes on stderr.")]
JobsOpt = Annotated[
    int | None,
    typer.Option("--jobs", "-j", help="Worker processes [default: cores].", metavar="N"),
]


def _note(message: str, quiet: bool = False) -> None:
    """A message for the user on stderr (never stdout)."""
    if not quiet:
        typer.echo(message, err=True)


def _warn(warnings: Sequence[str]) -> None:
    for w in warnings:
        typer.echo(f"shrink: warning: {w}", err=True)


def _fit_input(
    inp: Input,
    *,
    y: str,
    x: str,
    cluster: str,
    method: MethodName | None,
    random: RandomName | None,
    engine: EngineName = EngineName.native,
) -> Fit:
    model = inp.scenario.model if inp.scenario is not None else None
    m = method.value if method else (model.method if model else "reml")
    r = random.value if random else (model.random if model else "intercept-slope")
    kwargs: dict[str, Any] = dict(y=y, x=x, cluster=cluster, method=m, random=r, truth=inp.truth)
    if engine is EngineName.statsmodels:
        from .fit_statsmodels import fit_statsmodels

        result = fit_statsmodels(inp.data, **kwargs)
    else:
        from .fit import fit

        result = fit(inp.data, **kwargs)
    _warn(result.warnings)
    return result


# -- simulate ---------------------------------------------------------------------------------


@app.command()
def simulate(
    scenario: Annotated[
        str,
        typer.Argument(help="A scenario file (.yaml).", show_default=False, metavar="SCENARIO"),
    ],
    output: OutputOpt = "-",
    format: Annotated[TableFormat, typer.Option("--format", "-f", help="Output format.")] = (
        TableFormat.csv
    ),
    seed: SeedOpt = None,
    rng: RngOpt = None,
    truth: Annotated[
        str | None,
        typer.Option(
            "--truth",
            help="Also write cluster,true_intercept,true_slope to this file.",
            metavar="PATH",
        ),
    ] = None,
) -> None:
    """Simulate a scenario's data (R-identical).

    Writes y,x,cluster in the post's row order; with rng r the numbers are exactly those of
    R's create_data() in the post.
    """
    from .io import check_output_path, table_text, write_output
    from .scenario import load_scenario, with_overrides
    from .simulate import simulate as run

    check_output_path(output)
    if truth is not None:
        if truth == "-":
            raise UsageError("--truth needs a file name (stdout is for the data)")
        check_output_path(truth)
    sc = with_overrides(load_scenario(scenario), seed=seed, rng=rng.value if rng else None)
    sim = run(sc)
    text = table_text(sim.data, format.value)
    truth_text = table_text(sim.truth, format.value) if truth is not None else None
    write_output(output, text)
    if truth is not None and truth_text is not None:
        write_output(truth, truth_text)


# -- fit --------------------------------------------------------------------------------------


@app.command()
def fit(
    input: InputArg,
    y: YOpt = "y",
    x: XOpt = "x",
    cluster: ClusterOpt = "cluster",
    method: MethodOpt = None,
    random: RandomOpt = None,
    engine: Annotated[
        EngineName,
        typer.Option(
            "--engine", help="native (exact, fast) or statsmodels (MixedLM lbfgs, a cross-check)."
        ),
    ] = EngineName.native,
    format: Annotated[
        FitFormat,
        typer.Option(
            "--format",
            "-f",
            help="csv/tsv: one row per cluster; json: the whole fit; summary: lme4's summary.",
        ),
    ] = FitFormat.csv,
    output: OutputOpt = "-",
    seed: SeedOpt = None,
    rng: RngOpt = None,
) -> None:
    """Fit the mixed model exactly as lme4 does.

    Fits y ~ x + (x | cluster) (or (1 | cluster)) by REML or ML, plus one OLS line per
    cluster, and reports how far each cluster is shrunk.
    """
    from .inputs import load_input
    from .io import check_output_path, table_text, to_json_text, write_output

    check_output_path(output)
    inp = load_input(input, seed=seed, rng=rng.value if rng else None, cluster=cluster)
    result = _fit_input(
        inp, y=y, x=x, cluster=cluster, method=method, random=random, engine=engine
    )
    if format is FitFormat.summary:
        from .summary import format_summary

        text = format_summary(result, data_name=inp.name)
    elif format is FitFormat.json:
        text = to_json_text(result.to_dict())
    else:
        text = table_text(result.to_frame(), "tsv" if format is FitFormat.tsv else "csv")
    write_output(output, text)


# -- animate ----------------------------------------------------------------------------------


def _animation_options(
    base: AnimationOptions, changes: dict[str, Any], flags: dict[str, str]
) -> AnimationOptions:
    """The scenario's animation section with command-line values on top; a bad value names
    its option."""
    from pydantic import ValidationError

    from .scenario import ALLOWED, AnimationOptions, parse_size

    data = base.model_dump()
    if changes.get("size") is not None:
        try:
            data["width"], data["height"] = parse_size(changes.pop("size"))
        except ValueError as exc:
            raise UsageError(f"--size: {exc}") from None
    changes.pop("size", None)
    data.update({k: v for k, v in changes.items() if v is not None})
    try:
        return AnimationOptions.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else ""
        flag = flags.get(key, key)
        allowed = ALLOWED.get(f"animation.{key}", "valid")
        raise UsageError(f"{flag}: must be {allowed} (got {err.get('input')!r})") from None


@app.command()
def animate(
    input: InputArg,
    output: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--output",
            help="The GIF to write ('-' for stdout) [default: NAME.gif].",
            metavar="FILE.gif",
            show_default=False,
        ),
    ] = None,
    png: Annotated[
        str | None,
        typer.Option(
            "--png", help="Also write a PNG of the final state with the paths.", metavar="FILE"
        ),
    ] = None,
    frames: Annotated[
        int | None,
        typer.Option("--frames", help="Number of frames [default: 120].", metavar="N"),
    ] = None,
    fps: Annotated[
        float | None,
        typer.Option("--fps", help="Frames per second [default: 10].", metavar="N"),
    ] = None,
    size: Annotated[
        str | None,
        typer.Option("--size", help="WIDTHxHEIGHT in pixels [default: 600x450].", metavar="WxH"),
    ] = None,
    zoom: Annotated[
        ZoomName | None,
        typer.Option(
            "--zoom",
            help="baseline: the post's fixed view, same in every scenario; data: fit all points.",
        ),
    ] = None,
    ellipses: Annotated[
        bool | None,
        typer.Option(
            "--ellipses/--no-ellipses", help="50% and 90% ellipses of N(β̂, Σ̂) [default: on]."
        ),
    ] = None,
    truth: Annotated[
        bool | None,
        typer.Option("--truth/--no-truth", help="Show the true coefficients [default: off]."),
    ] = None,
    jobs: JobsOpt = None,
    y: YOpt = "y",
    x: XOpt = "x",
    cluster: ClusterOpt = "cluster",
    method: MethodOpt = None,
    random: RandomOpt = None,
    seed: SeedOpt = None,
    rng: RngOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Animate the shrinkage as a GIF.

    Each cluster's by-cluster estimate slides to its mixed-model estimate, pulled toward the
    population average.
    """
    from .inputs import is_scenario_path, load_input, parameter_line
    from .io import check_output_path, write_output
    from .scenario import AnimationOptions, load_scenario

    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs: must be an integer ≥ 1 (got {jobs})")
    # Options first: a bad option costs nothing and writes nothing.
    base = load_scenario(input).animation if is_scenario_path(input) else AnimationOptions()
    options = _animation_options(
        base,
        dict(frames=frames, fps=fps, size=size, zoom=zoom.value if zoom else None,
             ellipses=ellipses, truth=truth),
        {"frames": "--frames", "fps": "--fps", "width": "--size", "height": "--size",
         "zoom": "--zoom"},
    )
    inp = load_input(input, seed=seed, rng=rng.value if rng else None, cluster=cluster)
    gif_path = output if output is not None else f"{inp.name}.gif"
    check_output_path(gif_path)
    if gif_path != "-" and not gif_path.lower().endswith(".gif"):
        raise UsageError(f"-o/--output: {gif_path}: the animation is a GIF; name it *.gif")
    if gif_path == "-" and sys.stdout.isatty():
        raise UsageError("-o -: stdout is a terminal; redirect it to a file or give -o FILE.gif")
    if options.truth and inp.truth is None:
        _warn(["--truth: only simulated data have true coefficients; drawing without them"])
    if png is not None:
        if png == "-" or not png.lower().endswith(".png"):
            raise UsageError(f"--png: {png}: give a file name ending in .png")
        check_output_path(png)
    result = _fit_input(inp, y=y, x=x, cluster=cluster, method=method, random=random)

    from .animate import render_animation

    title = inp.title
    if inp.scenario is not None:
        subtitle = parameter_line(inp.scenario)
    else:
        subtitle = f"{result.n_groups} clusters, {result.n_obs} observations"
    gif, picture = render_animation(
        result, options, title=title, subtitle=subtitle, jobs=jobs, png=png is not None
    )
    write_output(gif_path, gif)
    if png is not None and picture is not None:
        write_output(png, picture)
    if gif_path != "-":
        _note(f"wrote {gif_path} ({len(gif) / 1e6:.2f} MB, {options.frames} frames)", quiet)
    if png is not None:
        _note(f"wrote {png}", quiet)


# -- report -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _report_progress(show: bool) -> Iterator[Callable[[ProgressEvent], None] | None]:
    """A rich progress display on stderr, one bar per scenario through its stages; None (no
    display) when `show` is false. Refreshed on each event only: no timer thread, so that the
    scenario workers can be forked."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from .report import STAGES

    bar = Progress(
        TextColumn("{task.fields[name]}", style="bold"),
        BarColumn(bar_width=24),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        auto_refresh=False,
        transient=True,
    )
    tasks: dict[int, TaskID] = {}

    def on_event(event: ProgressEvent) -> None:
        if event.index not in tasks:
            tasks[event.index] = bar.add_task("", total=len(STAGES), name=event.scenario,
                                              stage="")
        task = tasks[event.index]
        done = bar.tasks[task].completed if task < len(bar.tasks) else 0
        if event.stage in STAGES:
            bar.update(task, completed=max(done, STAGES.index(event.stage)), stage=event.stage)
        elif event.stage == "done":
            bar.update(task, completed=len(STAGES), stage="done")
        elif event.stage == "failed":
            bar.update(task, stage="[red]failed")
        else:
            bar.update(task, stage=event.stage)
        bar.refresh()

    with bar:
        yield on_event


@app.command()
def report(
    scenarios: Annotated[
        list[str],
        typer.Argument(help="Scenario files (.yaml).", show_default=False, metavar="SCENARIO"),
    ],
    output: Annotated[
        str,
        typer.Option(
            "-o",
            "--output",
            help="The report folder; an earlier report there is replaced whole, any other "
            "folder refused.",
            metavar="DIR",
        ),
    ] = "report",
    jobs: JobsOpt = None,
    reps: Annotated[
        int | None,
        typer.Option(
            "--reps",
            help="Also run a Monte Carlo study with this many replications per scenario and "
            "add it to the report.",
            show_default=False,
            metavar="N",
        ),
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Build a browsable report of the scenarios.

    Every scenario's fit, animation and lesson, as a folder: DIR/index.html (open it in a
    browser), report.md, summary.csv, and per scenario a folder with its data, truth, estimates,
    fit, lme4 summary, animation and picture. A scenario that fails is shown in the report and
    the others are still built (exit code 1).
    """
    from .report import Section, build_report, preflight

    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs: must be an integer ≥ 1 (got {jobs})")
    if reps is not None and reps < 1:
        raise UsageError(f"--reps: must be an integer ≥ 1 (got {reps})")
    if output in ("-", ""):
        raise UsageError("-o/--output: the report is a folder; give its name")
    sections: list[Section] = []
    if reps is not None:
        from .report.study import study_section
        from .scenario import Scenario
        from .study import run_study

        valid = [s for s in preflight(scenarios, output) if isinstance(s, Scenario)]
        if valid:
            with _study_progress(not quiet and sys.stderr.isatty(), valid, reps) as progress:
                studied = run_study(valid, reps, jobs=jobs, progress=progress)
            sections.append(study_section(studied))
    with _report_progress(not quiet and sys.stderr.isatty()) as progress:
        result = build_report(scenarios, output, jobs=jobs, progress=progress, sections=sections)
    for r in result.reports:
        _warn([f"{r.name}: {w}" for w in r.warnings])
    _warn(result.warnings)
    for f in result.failures:
        typer.echo(f"shrink: error: {f.message}", err=True)
    index = os.path.join(output, "index.html")
    n, failed = len(result.entries), len(result.failures)
    if failed:
        _note(f"wrote {index} ({n - failed} of {n} scenarios; {failed} failed)", quiet)
        raise typer.Exit(1)
    _note(f"wrote {index} ({n} scenario{'s' if n != 1 else ''})", quiet)



# -- study ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _study_progress(
    show: bool, scenarios: Sequence[Any], reps: int
) -> Iterator[Callable[[str, int], None] | None]:
    """A rich progress bar per scenario on stderr (replications done), or None when hidden."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        TextColumn("{task.description}", style="bold"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        auto_refresh=False,
        transient=True,
    )
    tasks = {s.name: bar.add_task(s.name, total=reps) for s in scenarios}

    def on_chunk(name: str, done: int) -> None:
        bar.advance(tasks[name], done)
        bar.refresh()

    with bar:
        bar.refresh()
        yield on_chunk


@app.command()
def study(
    scenarios: Annotated[
        list[str],
        typer.Argument(help="Scenario files (.yaml).", show_default=False, metavar="SCENARIO"),
    ],
    reps: Annotated[
        int,
        typer.Option(
            "--reps", "-n", help="Replications per scenario.", show_default=False, metavar="N"
        ),
    ],
    jobs: JobsOpt = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Base seed for every scenario [default: each scenario's own]; replication k "
            "uses seed + k - 1.",
            show_default=False,
            metavar="N",
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--output",
            help="Also write summary.csv, replications.csv and plots (PNG) to this folder.",
            show_default=False,
            metavar="DIR",
        ),
    ] = None,
    format: Annotated[
        StudyFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="Format of the summary on stdout [default: table on a terminal, else csv].",
            show_default=False,
        ),
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Measure what shrinkage buys over many replications.

    Simulates and fits every scenario REPS times and prints, per scenario and quantity, the
    truth, mean, sd, bias, RMSE and the coverage of 95% Wald intervals.
    """
    from pathlib import Path

    from .io import table_text, write_atomic
    from .scenario import load_scenario
    from .study import run_study

    if reps < 1:
        raise UsageError(f"--reps: must be an integer ≥ 1 (got {reps})")
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs: must be an integer ≥ 1 (got {jobs})")
    folder = Path(output) if output is not None else None
    if folder is not None:
        if output == "-":
            raise UsageError("-o/--output: a folder for the tables and plots (stdout has the "
                             "summary already)")
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"-o/--output: {folder} exists and is not a folder")
        if not folder.parent.is_dir():
            raise UsageError(f"-o/--output: folder {str(folder.parent)!r} does not exist")
    loaded = [load_scenario(p) for p in scenarios]
    names: dict[str, str] = {}
    for path, sc in zip(scenarios, loaded, strict=True):
        if sc.name in names:
            raise UsageError(f"{path}: scenario name {sc.name!r} is also that of {names[sc.name]}")
        names[sc.name] = path
    with _study_progress(not quiet and sys.stderr.isatty(), loaded, reps) as progress:
        result = run_study(loaded, reps, jobs=jobs, seed=seed, progress=progress)
    failed_all = _study_failures(result)
    if folder is not None:
        from .study_plot import estimates_png, rmse_png

        files: dict[str, bytes | str] = {
            "summary.csv": table_text(result.summary, "csv"),
            "replications.csv": table_text(result.replications, "csv"),
            "estimates.png": estimates_png(result),
            "rmse.png": rmse_png(result),
        }
        folder.mkdir(exist_ok=True)
        for name, content in files.items():
            write_atomic(folder / name, content)
        _note(f"wrote {folder}/ (summary.csv, replications.csv, estimates.png, rmse.png)", quiet)
    if format is None:
        format = StudyFormat.table if sys.stdout.isatty() else StudyFormat.csv
    _print_summary(result.summary, format)
    if failed_all:
        raise typer.Exit(1)


def _print_summary(summary: Any, format: StudyFormat) -> None:
    from .io import table_text, write_output
    if format is StudyFormat.table:
        from .study import summary_text

        write_output("-", summary_text(summary))
    else:
        write_output("-", table_text(summary, format.value))


def _study_failures(result: Any) -> bool:
    """Say on stderr which scenarios had replications that could not be fitted; True when a
    scenario had none that could."""
    table = result.replications
    any_all = False
    for name, rows in table.groupby("scenario", sort=False):
        bad = rows[rows["error"] != ""]
        if bad.empty:
            continue
        first = bad["error"].iloc[0]
        if len(bad) == len(rows):
            any_all = True
            typer.echo(f"shrink: error: {name}: no replication could be fitted: {first}", err=True)
        else:
            _warn([f"{name}: {len(bad)} of {len(rows)} replications could not be fitted and "
                   f"are left out (e.g. {first})"])
    return any_all


if __name__ == "__main__":  # pragma: no cover
    app()

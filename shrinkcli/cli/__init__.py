"""The `shrink` command line: each command parses its options, calls the library, and writes
the result; errors become one line and an exit code (`errors`). Data goes to stdout, everything
else to stderr; heavy modules are imported inside the commands so that `shrink --help` answers
at once."""

from __future__ import annotations

import contextlib
import copy
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .. import __version__
from ..errors import UsageError
from .common import fit_input, note, warn
from .errors import ReaderGone, ShrinkGroup
from .options import (
    BY_SUFFIX,
    CI_CHOICES,
    CiOpt,
    ClusterOpt,
    Engine,
    FitFormat,
    InputArg,
    JobsOpt,
    LevelOpt,
    MethodOpt,
    OutputOpt,
    PathChoice,
    QuietOpt,
    RandomOpt,
    RngOpt,
    ScenariosArg,
    SeedOpt,
    ShrinkCommand,
    StudyFormat,
    TableClusterOpt,
    TableFormat,
    TableXOpt,
    TableYOpt,
    XOpt,
    YOpt,
    Zoom,
    at_least_one,
    format_option,
    output_format,
)
from .plot import plot_app
from .progress import report_progress, showing, study_progress

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from ..io import Payload
    from ..studies import StudyResult

__all__ = ["app"]


class _App(typer.Typer):
    """The `shrink` app. Run with a command's name first, it builds only that command's options
    (typer builds every command's before it parses anything: a twentieth of a `shrink fit`);
    with no command, an unknown one or an option first, all of them, for the help and the
    suggestions."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        argv = kwargs.get("args", args[0] if args else None)
        words = list(sys.argv[1:] if argv is None else argv)
        if words and not words[0].startswith("-"):
            commands = [c for c in self.registered_commands if _command_name(c) == words[0]]
            groups = [g for g in self.registered_groups if g.name == words[0]]
            if commands or groups:
                one = copy.copy(self)
                one.registered_commands, one.registered_groups = commands, groups
                return typer.Typer.__call__(one, *args, **kwargs)
        return super().__call__(*args, **kwargs)


def _command_name(info: Any) -> str | None:
    """A registered command's name, as typer names it."""
    if info.name is not None:
        return str(info.name)
    return None if info.callback is None else typer.main.get_command_name(info.callback.__name__)


app = _App(
    name="shrink",
    cls=ShrinkGroup,
    help="Shrinkage (partial pooling) in linear mixed models: simulate the post's scenarios, "
    "fit them exactly as lme4 does, animate and report how clusters borrow strength.",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from ..io import write_stdout

        try:
            write_stdout(f"shrink {__version__}\n")
        except BrokenPipeError:
            raise ReaderGone from None
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Shrinkage (partial pooling) in linear mixed models."""


# -- simulate ---------------------------------------------------------------------------------


@app.command(cls=ShrinkCommand)
def simulate(
    scenario: Annotated[
        str,
        typer.Argument(help="A scenario file (.yaml).", show_default=False, metavar="SCENARIO"),
    ],
    output: OutputOpt = "-",
    format: Annotated[TableFormat | None, format_option(f"Output format {BY_SUFFIX}.")] = None,
    seed: SeedOpt = None,
    rng: RngOpt = None,
    truth: Annotated[
        str | None,
        typer.Option(
            "--truth",
            help="Also write cluster,true_intercept,true_slope to this file (in the format "
            "its suffix names, else the data's).",
            metavar="PATH",
        ),
    ] = None,
) -> None:
    """Simulate a scenario's data (R-identical).

    Writes y,x,cluster in the post's row order; with rng r the numbers are exactly those of
    R's create_data() in the post. A data scenario has nothing to simulate: its table's three
    columns are written as read, under the names y,x,cluster, and --truth is refused (real
    data have no true coefficients).
    """
    from ..inputs import input_files, load_input
    from ..io import check_output_path, format_of, table_blocks, write_output
    from ..scenario import load_scenario

    spec = load_scenario(scenario)
    inputs = input_files(scenario, spec)
    check_output_path(output, inputs=inputs)
    fmt: TableFormat = output_format(output, format, "csv")
    _refuse_binary_on_terminal(output, fmt)
    truth_fmt: TableFormat = fmt
    if truth is not None:
        if spec.data is not None:
            raise UsageError(
                f"--truth: {scenario} is a data scenario; a data set has no true coefficients "
                "(drop --truth)"
            )
        if truth == "-":
            raise UsageError("--truth needs a file name (stdout is for the data)")
        check_output_path(truth, inputs=inputs)
        if output != "-" and Path(truth).resolve() == Path(output).resolve():
            raise UsageError(f"--truth: {truth} is also the data's output (-o); give another")
        truth_fmt = format_of(truth) or fmt
    if spec.data is None:  # simulated from the scenario already read (stdin is read once)
        from ..inputs import simulated_input
        from ..scenario import with_overrides

        sim = simulated_input(with_overrides(spec, seed=seed, rng=rng))
    else:
        sim = load_input(scenario, seed=seed, rng=rng)
    text = table_blocks(sim.standard_table(), fmt)
    truth_text = None
    if truth is not None and sim.truth is not None:
        truth_text = table_blocks(sim.truth, truth_fmt)
    write_output(output, text)
    if truth is not None and truth_text is not None:
        write_output(truth, truth_text)


# -- fit --------------------------------------------------------------------------------------


@app.command(cls=ShrinkCommand)
def fit(
    input: InputArg,
    y: YOpt = None,
    x: XOpt = None,
    cluster: ClusterOpt = None,
    method: MethodOpt = None,
    random: RandomOpt = None,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine", help="native (exact, fast) or statsmodels (MixedLM lbfgs, a cross-check)."
        ),
    ] = "native",
    format: Annotated[
        FitFormat | None,
        format_option(
            "csv/tsv/parquet: one row per cluster; json: the whole fit; summary: lme4's "
            f"summary {BY_SUFFIX}."
        ),
    ] = None,
    output: OutputOpt = "-",
    seed: SeedOpt = None,
    rng: RngOpt = None,
    max_evaluations: Annotated[
        int | None,
        typer.Option(
            "--max-evaluations",
            help="Stop the optimizer after N evaluations of the criterion (to see what an "
            "unfinished fit looks like; the convergence check then says so).",
            metavar="N",
            callback=at_least_one,
            show_default=False,
        ),
    ] = None,
    ci: CiOpt = None,
    level: LevelOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Fit the mixed model exactly as lme4 does.

    Fits y ~ x + (x | cluster), (x || cluster) or (1 | cluster) by REML or ML, plus one OLS
    line per cluster, and reports how far each cluster is shrunk, with standard errors. A fit
    that fails lme4's convergence check is still written, with a warning on stderr. --ci adds
    lme4's confidence intervals to the json and summary formats.
    """
    if max_evaluations is not None and engine == "statsmodels":
        raise UsageError(
            "--max-evaluations: applies to the native engine, not to statsmodels' optimizer"
        )
    fmt: FitFormat = output_format(output, format, "csv")
    if ci is not None and fmt not in ("json", "summary"):
        raise UsageError(
            "--ci: the intervals go into -f json or -f summary (the table has one row per cluster)"
        )
    if ci == "profile" and engine == "statsmodels":
        raise UsageError("--ci profile: profiling uses the native engine; drop --engine")
    if level is not None and ci is None:
        raise UsageError("--level: sets the level of --ci intervals; add --ci wald or profile")
    from ..inputs import input_files, load_input
    from ..io import check_output_path, json_column_blocks, table_bytes, write_output

    check_output_path(output, inputs=input_files(input))
    _refuse_binary_on_terminal(output, fmt)
    inp = load_input(input, seed=seed, rng=rng, y=y, x=x, cluster=cluster)
    result = fit_input(
        inp,
        method=method,
        random=random,
        engine=engine,
        max_evaluations=max_evaluations,
        ci=ci,
        level=0.95 if level is None else level,
        quiet=quiet,
    )
    text: Payload
    if fmt == "summary":
        from ..summary import format_summary

        text = format_summary(result, data_name=inp.name)
    elif fmt == "json":
        text = json_column_blocks(result.to_dict(clusters=False), "clusters", result.table)
    else:
        text = table_bytes(result.to_table(), fmt)
    write_output(output, text)


# -- animate ----------------------------------------------------------------------------------


@app.command(cls=ShrinkCommand)
def animate(
    input: InputArg,
    output: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--output",
            help="The animation to write: a GIF, or a video by its suffix (.mp4, .webm); '-' "
            "for a GIF on stdout [default: NAME.gif].",
            metavar="FILE.gif|.mp4|.webm",
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
        Zoom | None,
        typer.Option(
            "--zoom",
            help="auto: 95% of the by-cluster and every mixed estimate [default]; baseline: "
            "the post's fixed view, same in every scenario; data: every point.",
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
    path: Annotated[
        PathChoice | None,
        typer.Option(
            "--path",
            help="straight: the post's straight lines; pooling: the exact path as the random "
            "effects grow from none to the fit; pooling-complete: on to complete pooling "
            "[default: straight].",
        ),
    ] = None,
    jobs: JobsOpt = None,
    y: YOpt = None,
    x: XOpt = None,
    cluster: ClusterOpt = None,
    method: MethodOpt = None,
    random: RandomOpt = None,
    seed: SeedOpt = None,
    rng: RngOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Animate the shrinkage as a GIF or a video.

    Each cluster's by-cluster estimate slides to its mixed-model estimate, pulled toward the
    population average: along a straight line, or along the path pooling really takes.
    """
    from ..inputs import data_line, input_files, is_scenario_path, load_input, parameter_line
    from ..io import check_output_path, write_output
    from ..scenario import AnimationOptions, load_scenario
    from .options import animation_options

    # Options first: a bad option costs nothing and writes nothing.
    base = load_scenario(input).animation if is_scenario_path(input) else AnimationOptions()
    options = animation_options(
        base,
        frames=frames,
        fps=fps,
        size=size,
        zoom=zoom,
        ellipses=ellipses,
        truth=truth,
        path=path,
    )
    inp = load_input(input, seed=seed, rng=rng, y=y, x=x, cluster=cluster)
    gif_path = output if output is not None else f"{inp.name}.gif"
    inputs = input_files(input, inp.scenario)
    check_output_path(gif_path, inputs=inputs)
    suffix = gif_path.lower().rsplit(".", 1)[-1] if "." in gif_path else ""
    if gif_path != "-" and suffix not in ("gif", "mp4", "webm"):
        raise UsageError(
            f"-o/--output: {gif_path}: the animation is a GIF (*.gif) or a video (*.mp4, *.webm)"
        )
    if gif_path == "-" and sys.stdout.isatty():
        raise UsageError("-o -: stdout is a terminal; redirect it to a file or give -o FILE.gif")
    if options.truth and inp.truth is None:
        warn(["--truth: only simulated data have true coefficients; drawing without them"])
    if png is not None:
        if png == "-" or not png.lower().endswith(".png"):
            raise UsageError(f"--png: {png}: give a file name ending in .png")
        check_output_path(png, inputs=inputs)
    result = fit_input(inp, method=method, random=random)

    from ..pictures.animate import render_animation, render_video

    title = inp.title
    if inp.scenario is not None and not inp.scenario.is_data:
        subtitle = parameter_line(inp.scenario)
    else:
        sizes = result.table.array("n")
        subtitle = data_line(
            result.model.n_groups,
            result.model.n_obs,
            sizes=(int(sizes.min()), int(sizes.max())),
            scenario=inp.scenario,
            x=inp.x,
            cluster=inp.cluster,
        )
    if suffix in ("mp4", "webm"):
        gif, picture = render_video(
            result, options, title=title, subtitle=subtitle, format=suffix, png=png is not None
        )
    else:
        gif, picture = render_animation(
            result, options, title=title, subtitle=subtitle, jobs=jobs, png=png is not None
        )
    write_output(gif_path, gif)
    if png is not None and picture is not None:
        write_output(png, picture)
    if gif_path != "-":
        note(f"wrote {gif_path} ({len(gif) / 1e6:.2f} MB, {options.frames} frames)", quiet)
    if png is not None:
        note(f"wrote {png}", quiet)


# -- report -----------------------------------------------------------------------------------


@app.command(cls=ShrinkCommand)
def report(
    scenarios: ScenariosArg,
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
            callback=at_least_one,
        ),
    ] = None,
    quiet: QuietOpt = False,
    y: TableYOpt = "y",
    x: TableXOpt = "x",
    cluster: TableClusterOpt = "cluster",
) -> None:
    """Build a browsable report of the scenarios.

    Every scenario's fit, animation and lesson, as a folder: DIR/index.html (open it in a
    browser), report.md, summary.csv, manifest.json, and per scenario a folder with its data,
    truth, estimates, fit, lme4 summary, animation, picture and reproduce.R. A table given
    directly (or a scenario naming data) gets a page for real data. A scenario that fails is
    shown in the report and the others are still built (exit code 1).
    """
    from ..inputs import scenario_files
    from ..io.folder import check_holds_no_input
    from ..report import StudyOptions, build_report, load_scenarios

    if output in ("-", ""):
        raise UsageError("the report is a folder; give its name", field="output")
    study = StudyOptions(reps) if reps is not None else None
    loaded = load_scenarios(scenarios, y=y, x=x, cluster=cluster)
    check_holds_no_input(Path(output), [*scenarios, *scenario_files(loaded)])
    with report_progress(showing(quiet)) as progress:
        result = build_report(loaded, output, jobs=jobs, progress=progress, study=study)
    for r in result.reports:
        warn([f"{r.name}: {w}" for w in r.warnings])
    warn(result.warnings)
    for f in result.failures:
        typer.echo(f"shrink: error: {f.message}", err=True)
    index = os.path.join(output, "index.html")
    n, failed = len(result.entries), len(result.failures)
    if failed:
        note(f"wrote {index} ({n - failed} of {n} scenarios; {failed} failed)", quiet)
        raise typer.Exit(1)
    note(f"wrote {index} ({n} scenario{'s' if n != 1 else ''})", quiet)


# -- study ------------------------------------------------------------------------------------


@app.command(cls=ShrinkCommand)
def study(
    scenarios: ScenariosArg,
    reps: Annotated[
        int,
        typer.Option(
            "--reps",
            "-n",
            help="Replications per scenario.",
            show_default=False,
            metavar="N",
            callback=at_least_one,
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
        format_option("Format of the summary on stdout [default: table on a terminal, else csv]."),
    ] = None,
    ci: Annotated[
        str | None,
        typer.Option(
            "--ci",
            parser=CI_CHOICES,
            metavar=CI_CHOICES,
            help="wald: the fixed effects' Wald intervals (always there); profile: also the "
            "variance components' profile intervals in every replication (slower).",
            show_default=False,
        ),
    ] = None,
    quiet: QuietOpt = False,
    y: TableYOpt = "y",
    x: TableXOpt = "x",
    cluster: TableClusterOpt = "cluster",
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            help="Sweep a key over values, e.g. n_cluster=20,50,100; repeat it for a "
            "grid (the product). Adds to the scenario's sweep: mapping.",
            metavar="KEY=V1,V2,...",
            show_default=False,
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="With -o DIR: skip the designs an earlier run of the same "
            "arguments finished there.",
        ),
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Send the replications to the Dask scheduler at this address "
            "(e.g. tcp://host:8786) [default: $DASK_SCHEDULER_ADDRESS, else run here].",
            metavar="ADDRESS",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Measure what shrinkage buys over many replications.

    Simulates and fits every scenario REPS times and prints, per scenario and quantity, the
    truth, mean, sd, bias, RMSE and the coverage of 95% intervals: the fixed effects', and how
    often each cluster's intervals held its true coefficients; notes on stderr say where that
    coverage is poor. Data (a table, or a scenario naming one) are studied by a parametric
    bootstrap from their fitted model, the fitted values standing in for the truth. With
    --vary (or a sweep: in the scenario) it studies a grid of designs: when does pooling pay?
    """
    from pathlib import Path

    from ..inputs import load_source, scenario_files
    from ..io import write_output
    from ..io.folder import check_holds_no_input
    from ..studies import STUDY_FOLDER, run_study

    if output is not None:
        STUDY_FOLDER.check_destination(Path(output))
    if format is not None:
        _refuse_binary_on_terminal("-", format)
    loaded = [load_source(p, y=y, x=x, cluster=cluster) for p in scenarios]
    if output is not None:
        check_holds_no_input(Path(output), [*scenarios, *scenario_files(loaded)])
    executor = _executor(scheduler)
    if vary or resume or any(s.sweep for s in loaded):  # a sweep of designs
        from ..studies import parse_vary
        from .sweep import study_sweep, sweep_summary_text

        with executor as ex:
            swept = study_sweep(
                loaded,
                reps,
                vary=parse_vary(vary or []),
                jobs=jobs,
                seed=seed,
                ci=ci,
                output=output,
                resume=resume,
                executor=ex,
                show=showing(quiet),
            )
        failed = _study_failures(swept.study)
        if output is not None:
            note(f"wrote {Path(output)}/", quiet)
        fmt = format or ("table" if sys.stdout.isatty() else "csv")
        write_output("-", sweep_summary_text(swept, fmt))
        if failed:
            raise typer.Exit(1)
        return
    with executor as ex, study_progress(showing(quiet), [s.name for s in loaded], reps) as progress:
        result = run_study(
            loaded, reps, jobs=jobs, seed=seed, progress=progress, ci=ci, executor=ex
        )
    failed_all = _study_failures(result)
    if failed_all and (result.replications["error"] != "").all():
        # nothing was fitted: a folder and a table of empty rows would only look like results
        raise typer.Exit(1)
    from ..studies import coverage_findings

    for finding in coverage_findings(result):
        note(f"shrink: note: {finding}", quiet)
    if output is not None:
        files = result.files()
        warn(STUDY_FOLDER.replace_with(Path(output), files))
        note(f"wrote {Path(output)}/ ({', '.join(files)})", quiet)
    write_output("-", _summary_text(result, format or ("table" if sys.stdout.isatty() else "csv")))
    if failed_all:
        raise typer.Exit(1)


def _executor(scheduler: str | None) -> contextlib.AbstractContextManager[Executor | None]:
    """A Dask cluster's executor when a scheduler is given (option or environment), else
    None: the study's own process pool."""
    from ..studies import dask_executor, scheduler_address

    address = scheduler_address(scheduler)
    return dask_executor(address) if address else contextlib.nullcontext(None)


def _summary_text(result: StudyResult, format: StudyFormat) -> str | bytes:
    from ..io import table_bytes
    from ..studies import summary_text

    if format == "table":
        return summary_text(result.summary)
    return table_bytes(result.summary, format)


def _refuse_binary_on_terminal(output: str, format: str) -> None:
    """A binary format (Parquet) is not for a terminal: refused before any work."""
    from ..io import BINARY_FORMATS

    if format in BINARY_FORMATS and output == "-" and sys.stdout.isatty():
        raise UsageError(
            f"-f {format}: stdout is a terminal; redirect it to a file or give -o FILE.{format}"
        )


def _study_failures(result: StudyResult) -> bool:
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
            warn(
                [
                    f"{name}: {len(bad)} of {len(rows)} replications could not be fitted and "
                    f"are left out (e.g. {first})"
                ]
            )
    return any_all


# -- plot ---------------------------------------------------------------------------------------

app.add_typer(plot_app, name="plot")

if __name__ == "__main__":  # pragma: no cover
    app()

"""`shrink plot`: static pictures of a fit, one subcommand each (the caterpillar plot today)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..errors import UsageError
from .common import fit_input, note
from .errors import ShrinkGroup
from .options import (
    ClusterOpt,
    InputArg,
    LevelOpt,
    MethodOpt,
    QuietOpt,
    RandomOpt,
    RngOpt,
    SeedOpt,
    ShrinkCommand,
    XOpt,
    YOpt,
)

plot_app = typer.Typer(
    name="plot",
    cls=ShrinkGroup,
    help="Draw a fit as a static picture (PNG): the caterpillar plot.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@plot_app.command(cls=ShrinkCommand)
def caterpillar(
    input: InputArg,
    output: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--output",
            help="The PNG to write ('-' for stdout) [default: NAME-caterpillar.png].",
            metavar="FILE.png",
            show_default=False,
        ),
    ] = None,
    max_clusters: Annotated[
        int,
        typer.Option(
            "--max-clusters",
            help="Most clusters drawn; more are thinned to this many, evenly spaced in rank "
            "(the caption says so).",
            metavar="N",
        ),
    ] = 100,
    level: LevelOpt = None,
    truth: Annotated[
        bool,
        typer.Option("--truth/--no-truth", help="Mark the true coefficients when known."),
    ] = True,
    y: YOpt = None,
    x: XOpt = None,
    cluster: ClusterOpt = None,
    method: MethodOpt = None,
    random: RandomOpt = None,
    seed: SeedOpt = None,
    rng: RngOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Each cluster's intercept and slope with their intervals.

    For every cluster, its own least-squares estimate with a t interval beside the mixed
    model's estimate with lme4's conditional interval, sorted, the population value as a line
    and the true value marked for simulated data.
    """
    from ..inputs import input_files, load_input, parameter_line
    from ..io import check_output_path, write_output
    from ..pictures.caterpillar import caterpillar_png

    if max_clusters < 2:
        raise UsageError(f"--max-clusters: must be at least 2 (got {max_clusters})")
    inp = load_input(input, seed=seed, rng=rng, y=y, x=x, cluster=cluster)
    path = output if output is not None else f"{inp.name}-caterpillar.png"
    check_output_path(path, inputs=input_files(input, inp.scenario))
    if path != "-" and not path.lower().endswith(".png"):
        raise UsageError(f"-o/--output: {path}: the picture is a PNG; name it *.png")
    if path == "-" and sys.stdout.isatty():
        raise UsageError("-o -: stdout is a terminal; redirect it to a file or give -o FILE.png")
    result = fit_input(inp, method=method, random=random)
    if inp.scenario is not None:
        subtitle = parameter_line(inp.scenario)
    else:
        subtitle = f"{result.model.n_groups} clusters, {result.model.n_obs} observations"
    png = caterpillar_png(
        result,
        title=inp.title,
        subtitle=subtitle,
        level=0.95 if level is None else level,
        max_rows=max_clusters,
        truth=truth,
    )
    write_output(path, png)
    if path != "-":
        note(f"wrote {path}", quiet)

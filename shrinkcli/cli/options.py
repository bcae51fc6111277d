"""The options the commands share, defined once (same flag, same meaning everywhere), one
format type per kind of output, and the functions that turn option values into library values
(the model to fit, the animation options).

Nothing heavy is imported here: `shrink --help` must answer at once. Choices the library owns
(random structures, methods) are read from it only when an option is parsed or shown.
"""

from __future__ import annotations

import importlib
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, cast

import typer
from typer.core import TyperCommand

from ..errors import UsageError
from ..io import TableFormat, format_of

if TYPE_CHECKING:
    from ..model import ModelSpec
    from ..scenario import AnimationOptions, Scenario


class ShrinkCommand(TyperCommand):
    """A command whose help reads as a CLI's, not as Python: arguments by their metavar
    (`SCENARIO...`, not `{SCENARIO}...` or `SCENARIO <list[str]>`)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [re.sub(r"^\{(.*)\}", r"\1", p) for p in super().collect_usage_pieces(ctx)]

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments, options = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                name = (param.metavar or param.name or "").upper()
                if param.nargs != 1:
                    name += "..."
                arguments.append((name, record[1]))
            else:
                options.append(record)
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


# -- formats: one type per kind of output, all built on the table formats ------------------------

#: A fit: one row per cluster as a table, or lme4's summary.
FitFormat = Literal[TableFormat, "summary"]
#: A study's summary: aligned text for people, or a table.
StudyFormat = Literal["table", TableFormat]
Rng = Literal["r", "numpy"]
Engine = Literal["native", "statsmodels"]
Zoom = Literal["auto", "baseline", "data"]
PathChoice = Literal["straight", "pooling", "pooling-complete"]


class LibraryChoices:
    """An option's allowed values, a tuple in a library module, read when first needed: as the
    option's parser (refusing any other value) and as its metavar in the help."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def values(self) -> tuple[str, ...]:
        return tuple(getattr(importlib.import_module(self.module), self.name))

    def __call__(self, value: str) -> str:
        allowed = self.values()
        if value not in allowed:
            listed = ", ".join(f"'{v}'" for v in allowed[:-1]) + f" or '{allowed[-1]}'"
            raise typer.BadParameter(f"must be {listed} (got {value!r})")
        return value

    def __str__(self) -> str:
        return "<" + "|".join(self.values()) + ">"


RANDOM_CHOICES = LibraryChoices("shrinkcli.model", "RANDOM_STRUCTURES")
METHOD_CHOICES = LibraryChoices("shrinkcli.model", "METHODS")
CI_CHOICES = LibraryChoices("shrinkcli.lmm.intervals", "INTERVAL_METHODS")


def at_least_one(value: int | None) -> int | None:
    """Refuse a count below 1 (jobs, replications) while the arguments are parsed."""
    if value is not None and value < 1:
        raise typer.BadParameter(f"must be an integer ≥ 1 (got {value})")
    return value


def a_probability(value: float | None) -> float | None:
    """Refuse a confidence level outside (0, 1) while the arguments are parsed."""
    if value is not None and not 0.0 < value < 1.0:
        raise typer.BadParameter(f"must be a number between 0 and 1, e.g. 0.95 (got {value})")
    return value


def format_option(help: str) -> Any:
    """-f/--format, with the help of the command's kind of output."""
    return typer.Option("--format", "-f", help=help, show_default=False)


#: What -f says when it is not given and the output is a file.
BY_SUFFIX = "[default: the output's suffix (.csv, .tsv, .json, .parquet), else csv]"

F = TypeVar("F", bound=str)


def output_format(path: str, given: F | None, default: F, *, flag: str = "-o/--output") -> F:
    """The format to write `path` in: -f when given, else the table format the file's suffix
    names (`-o fit.parquet`: Parquet), else `default`. A suffix that names another table format
    than -f is refused: a .parquet file holding CSV text is what nobody can read back."""
    named = format_of(path)
    if given is None:
        return cast(F, named) if named is not None else default
    if named is not None and named != given:
        raise UsageError(
            f"{flag}: {path}: the name says {named} but -f {given} was given; drop -f to write "
            f"{named}, or give a name that does not say another format"
        )
    return given


# -- shared options ---------------------------------------------------------------------------

OutputOpt = Annotated[
    str,
    typer.Option(
        "-o", "--output", help="Where to write: a file, or '-' for stdout.", metavar="PATH"
    ),
]
SeedOpt = Annotated[
    int | None,
    typer.Option("--seed", help="Override the scenario's seed.", show_default=False, metavar="N"),
]
RngOpt = Annotated[
    Rng | None,
    typer.Option("--rng", help="Override the scenario's generator: r (R-identical) or numpy."),
]
InputArg = Annotated[
    str,
    typer.Argument(
        help="A scenario (.yaml: simulated first, or its data: table read), a CSV/TSV/JSON/"
        "Parquet file, or '-' for such a table on stdin.",
        show_default=False,
        metavar="INPUT",
    ),
]
ScenariosArg = Annotated[
    list[str],
    typer.Argument(
        help="Scenario files (.yaml, simulated or naming data), or tables (.csv, .tsv, "
        ".parquet) named after their files.",
        show_default=False,
        metavar="SCENARIO",
    ),
]
YOpt = Annotated[
    str | None,
    typer.Option(
        "--y",
        help="Response column [default: a data scenario's, else y].",
        metavar="COL",
        show_default=False,
    ),
]
XOpt = Annotated[
    str | None,
    typer.Option(
        "--x",
        help="Covariate column [default: a data scenario's, else x].",
        metavar="COL",
        show_default=False,
    ),
]
ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Cluster (grouping) column [default: a data scenario's, else cluster].",
        metavar="COL",
        show_default=False,
    ),
]
TableYOpt = Annotated[
    str, typer.Option("--y", help="Response column of the tables given directly.", metavar="COL")
]
TableXOpt = Annotated[
    str, typer.Option("--x", help="Covariate column of the tables given directly.", metavar="COL")
]
TableClusterOpt = Annotated[
    str,
    typer.Option("--cluster", help="Cluster column of the tables given directly.", metavar="COL"),
]
MethodOpt = Annotated[
    str | None,
    typer.Option(
        "--method",
        parser=METHOD_CHOICES,
        metavar=METHOD_CHOICES,  # shown as its choices
        help="The criterion [default: the scenario's, else reml].",
    ),
]
RandomOpt = Annotated[
    str | None,
    typer.Option(
        "--random",
        parser=RANDOM_CHOICES,
        metavar=RANDOM_CHOICES,  # shown as its choices
        help="The random effects [default: the scenario's, else intercept-slope].",
    ),
]
CiOpt = Annotated[
    str | None,
    typer.Option(
        "--ci",
        parser=CI_CHOICES,
        metavar=CI_CHOICES,  # shown as its choices
        help="Add lme4's confidence intervals: wald (fixed effects) or profile (every parameter, "
        "from the profiled ML deviance).",
        show_default=False,
    ),
]
LevelOpt = Annotated[
    float | None,
    typer.Option(
        "--level",
        help="Confidence level of --ci [default: 0.95].",
        metavar="P",
        callback=a_probability,
        show_default=False,
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notes on stderr.")]
JobsOpt = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        help="Worker processes [default: cores].",
        metavar="N",
        callback=at_least_one,
    ),
]


# -- option values -> library values -------------------------------------------------------------


def model_spec(
    scenario: Scenario | None, *, random: str | None = None, method: str | None = None
) -> ModelSpec:
    """The model a command fits: --random and --method where given, else the scenario's model
    section, else the defaults (for a data file)."""
    from ..model import ModelSpec

    base = scenario.model.spec if scenario is not None else ModelSpec()
    return ModelSpec(random=random or base.random, method=method or base.method)


def animation_options(base: AnimationOptions, **changes: Any) -> AnimationOptions:
    """The scenario's animation section with the command line's values on top (None: keep);
    a bad value is a UsageError about its field (`animation.fps`, ...)."""
    from pydantic import ValidationError

    from ..scenario import ALLOWED, AnimationOptions, describe, parse_size

    data = base.model_dump()
    size = changes.pop("size", None)
    if size is not None:
        try:
            data["width"], data["height"] = parse_size(size)
        except ValueError as exc:
            raise UsageError(str(exc), field="animation.size") from None
    data.update({k: v for k, v in changes.items() if v is not None})
    try:
        return AnimationOptions.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = f"animation.{err['loc'][0]}" if err["loc"] else "animation"
        allowed = ALLOWED.get(field, "valid")
        got = describe(err.get("input"))
        raise UsageError(f"must be {allowed} (got {got})", field=field) from None

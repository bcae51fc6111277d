"""What the commands share: messages on stderr and fitting an input as the options say. The
commands import these from here (never from the package's `__init__`, which builds the app
from the commands)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import typer

from ..errors import DataError, FitError

if TYPE_CHECKING:
    from ..inputs import Input
    from ..lmm import Fit
    from ..model import ModelSpec
    from .options import Engine

__all__ = ["fit_input", "note", "warn"]


def note(message: str, quiet: bool = False) -> None:
    """A message for the user on stderr (never stdout)."""
    if not quiet:
        typer.echo(message, err=True)


def warn(warnings: Sequence[str]) -> None:
    """Each warning on stderr, one line each."""
    for w in warnings:
        typer.echo(f"shrink: warning: {w}", err=True)


def fit_input(
    inp: Input,
    *,
    method: str | None,
    random: str | None,
    engine: Engine = "native",
    max_evaluations: int | None = None,
    ci: str | None = None,
    level: float = 0.95,
    quiet: bool = False,
) -> Fit:
    """Fit the model the options and the scenario describe to an input (with confidence
    intervals when `ci` names a method); warnings to stderr (`quiet`: without the singular-fit
    note, which explains and warns of nothing wrong; every other warning stays)."""
    from .options import model_spec

    spec = model_spec(inp.scenario, random=random, method=method)
    try:
        result = _fit_with(inp, spec, engine, max_evaluations, ci, level)
    except (DataError, FitError) as exc:  # about the data: say which
        if not exc.message.startswith(f"{inp.source}:"):
            exc.message = f"{inp.source}: {exc.message}"
        raise
    if quiet:
        from ..lmm import singular_note

        note = singular_note(result.model)
        warn([w for w in result.warnings if w != note])
    else:
        warn(result.warnings)
    return result


def _fit_with(
    inp: Input,
    spec: ModelSpec,
    engine: Engine,
    max_evaluations: int | None,
    ci: str | None,
    level: float,
) -> Fit:
    kwargs: dict[str, Any] = dict(**inp.names, truth=inp.truth)
    if engine == "statsmodels":
        import dataclasses

        from ..lmm import wald_intervals
        from ..lmm.statsmodels_engine import fit_statsmodels

        result = fit_statsmodels(inp.data, spec, **kwargs)
        if ci == "wald":
            cis = wald_intervals(result.model, level, x=inp.x, cluster=inp.cluster)
            result = dataclasses.replace(result, intervals=cis)
    else:
        from ..lmm import FitControl, fit

        control = FitControl(max_evaluations=max_evaluations)
        result = fit(inp.data, spec, control=control, intervals=ci, level=level, **kwargs)
    return result

"""The framework floor of `shrink fit`: the smallest command a user could write on the same
libraries (typer, pydantic, PyYAML, numpy) that does what `shrink fit SCENARIO` does around its
fit, with none of shrink's code.

A typer app with five commands, one of which takes the same number of options of the same kinds
as `shrink fit` (text, optional integers and numbers, fixed choices); it reads a YAML file into
a pydantic model with the same kinds of fields and validators as a scenario (nested sections,
bounds, a pattern, a before-validator), draws the post's data with numpy and writes the 100
per-cluster means as CSV. Its whole-process time is what any command on these libraries costs;
`bench_process.py` prints `shrink fit` next to it.

    python bench/typer_floor.py fit scenarios/baseline.yaml
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import typer
import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

app = typer.Typer(add_completion=False)


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    method: Literal["reml", "ml"] = "reml"
    random: Literal["intercept-slope", "uncorrelated", "intercept"] = "intercept-slope"


class Animation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    frames: StrictInt = Field(120, ge=2, le=2000)
    fps: float = Field(10.0, gt=0, le=100)
    width: StrictInt = Field(600, ge=100, le=4000)
    height: StrictInt = Field(450, ge=100, le=4000)
    zoom: Literal["auto", "baseline", "data"] = "auto"
    path: Literal["straight", "pooling", "pooling-complete"] = "straight"

    @model_validator(mode="before")
    @classmethod
    def _size(cls, values: Any) -> Any:
        if isinstance(values, dict) and "size" in values:
            values = dict(values)
            w, h = str(values.pop("size")).split("x")
            values.setdefault("width", int(w))
            values.setdefault("height", int(h))
        return values


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field("scenario", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=100)
    title: str = ""
    description: str = ""
    obs_per_cluster: StrictInt = Field(10, ge=1)
    n_cluster: StrictInt = Field(100, ge=2)
    intercept: float = 1.0
    beta: float = 0.5
    sigma: float = Field(1.0, gt=0)
    sd_int: float = Field(0.5, ge=0)
    sd_slope: float = Field(0.25, ge=0)
    cor: float = Field(0.0, ge=-1, le=1)
    balanced: float = Field(1.0, gt=0, le=1)
    seed: StrictInt = Field(888, ge=-(2**31 - 1), le=2**31 - 1)
    rng: Literal["r", "numpy"] = "r"
    model: Model = Model()
    animation: Animation = Animation()


Text = Annotated[str | None, typer.Option(help="A column.")]


@app.command()
def fit(
    scenario: Annotated[str, typer.Argument(help="A scenario file.")],
    y: Text = None,
    x: Text = None,
    cluster: Text = None,
    method: Annotated[Literal["reml", "ml"] | None, typer.Option(help="Method.")] = None,
    random: Annotated[str | None, typer.Option(help="Random structure.")] = None,
    engine: Annotated[Literal["native", "other"], typer.Option(help="Engine.")] = "native",
    format: Annotated[Literal["csv", "tsv", "json"], typer.Option("--format", "-f")] = "csv",
    output: Annotated[str, typer.Option("--output", "-o")] = "-",
    seed: Annotated[int | None, typer.Option(help="Seed.")] = None,
    rng: Annotated[Literal["r", "numpy"] | None, typer.Option(help="Generator.")] = None,
    max_evaluations: Annotated[int | None, typer.Option(min=1)] = None,
    ci: Annotated[Literal["wald", "profile"] | None, typer.Option(help="Intervals.")] = None,
    level: Annotated[float | None, typer.Option(help="Level.")] = None,
) -> None:
    """Read the scenario, draw its data, write each cluster's mean."""
    with open(scenario, encoding="utf-8") as f:
        s = Scenario.model_validate(yaml.safe_load(f) or {})
    g = np.random.Generator(np.random.PCG64(s.seed))
    n = s.n_cluster * s.obs_per_cluster
    cluster_of = np.repeat(np.arange(s.n_cluster), s.obs_per_cluster)
    yv = s.intercept + g.normal(0.0, s.sd_int, s.n_cluster)[cluster_of] + g.normal(0, s.sigma, n)
    means = np.bincount(cluster_of, yv) / s.obs_per_cluster
    typer.echo("cluster,mean\n" + "\n".join(f"{i + 1},{m!r}" for i, m in enumerate(means.tolist())))


@app.command()
def simulate(scenario: str, output: Annotated[str, typer.Option("--output", "-o")] = "-") -> None:
    """A second command, as the app has several."""


@app.command()
def animate(scenario: str, frames: int | None = None, fps: float | None = None) -> None:
    """A third command."""


@app.command()
def report(scenarios: list[str], jobs: int = 2) -> None:
    """A fourth command."""


@app.command()
def study(scenario: str, reps: int = 100, jobs: int = 2) -> None:
    """A fifth command."""


if __name__ == "__main__":
    app()

"""What the commands take as INPUT: a scenario file (simulated first), a CSV/TSV file, or CSV
on stdin ('-'). Resolves it to a data set, with the truth and scenario when there are any."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import DataError, UsageError

if TYPE_CHECKING:
    import pandas as pd

    from .scenario import Scenario

SCENARIO_SUFFIXES = (".yaml", ".yml")
TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".json", "")


@dataclass(frozen=True)
class Input:
    """A resolved input: its name (for titles and folders), the data, and for a scenario the
    truth and the scenario itself."""

    name: str
    source: str
    data: pd.DataFrame
    truth: pd.DataFrame | None = None
    scenario: Scenario | None = None

    @property
    def title(self) -> str:
        if self.scenario is not None:
            return self.scenario.title or self.scenario.name
        return self.name


def is_scenario_path(source: str) -> bool:
    return source.lower().endswith(SCENARIO_SUFFIXES)


def load_input(
    source: str,
    *,
    seed: int | None = None,
    rng: str | None = None,
    stdin_text: str | None = None,
    cluster: str = "cluster",
) -> Input:
    """Resolve INPUT. `seed` and `rng` override a scenario's and are refused for data files;
    `cluster` names the column whose ids are kept as given in a table."""
    if is_scenario_path(source):
        from .scenario import load_scenario, with_overrides

        return simulated_input(with_overrides(load_scenario(source), seed=seed, rng=rng))
    if seed is not None or rng is not None:
        raise UsageError("applies to scenario files (.yaml), not to data files",
                         field="seed" if seed is not None else "rng")
    from .io import read_table, read_text

    if source == "-":
        if stdin_text is None:
            stdin_text = read_text("-", error=DataError, kind="table", expected="UTF-8 CSV")
        table = read_table("<stdin>", text=stdin_text, id_columns=[cluster])
        return Input("stdin", "<stdin>", table)
    p = Path(source)
    if p.suffix.lower() not in TABLE_SUFFIXES:
        raise UsageError(
            f"{source}: unknown kind of file; give a scenario (.yaml), a table (.csv, .tsv, "
            ".json) or '-' for a table on stdin"
        )
    return Input(p.stem or "data", source, read_table(source, id_columns=[cluster]))


def simulated_input(scenario: Scenario) -> Input:
    """A scenario's data set, simulated once the machine is known to have the memory for it."""
    from .scenario import check_memory
    from .simulate import simulate

    check_memory(scenario)
    sim = simulate(scenario)
    return Input(scenario.name, scenario.source or scenario.name, sim.data, sim.truth, scenario)


def parameter_line(scenario: Scenario) -> str:
    """The scenario's key parameters in one line, for subtitles."""
    s = scenario
    parts = [
        f"{s.n_cluster} clusters × {s.obs_per_cluster} obs",
        f"σ = {s.sigma:g}",
        f"sd_int = {s.sd_int:g}",
        f"sd_slope = {s.sd_slope:g}",
    ]
    if s.cor:
        parts.append(f"cor = {s.cor:g}")
    if s.balanced < 1:
        parts.append(f"{s.balanced:.0%} of rows kept")
    default = type(s.model)()
    if s.model.random != default.random:
        parts.append(s.model.spec.random_term())
    if s.model.method != default.method:
        parts.append(s.model.method.upper())
    return " · ".join(parts)

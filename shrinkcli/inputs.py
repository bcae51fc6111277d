"""What the commands take as INPUT: a scenario file (simulated first, or its `data:` table read),
a CSV/TSV/JSON/Parquet file, or such a table on stdin ('-'). Resolves it to a data set, with the
truth and scenario when there are any, and the names of its columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:
    from .scenario import Scenario
    from .table import Table

SCENARIO_SUFFIXES = (".yaml", ".yml")
#: Suffixes of the tables an INPUT may be (no suffix: CSV).
TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".json", "", ".parquet", ".pq")


@dataclass(frozen=True)
class Input:
    """A resolved input: its name (for titles and folders), the data, for a scenario the truth
    (simulated) and the scenario itself, and the columns that hold y, x and the cluster."""

    name: str
    source: str
    data: Table
    truth: Table | None = None
    scenario: Scenario | None = None
    y: str = "y"
    x: str = "x"
    cluster: str = "cluster"

    @property
    def names(self) -> dict[str, str]:
        """The column names, as `fit` takes them."""
        return {"y": self.y, "x": self.x, "cluster": self.cluster}

    def standard_table(self) -> Table:
        """The data's y, x and cluster columns, named y, x and cluster and as read (ids as
        given, missing values kept): the table `shrink simulate` writes, the same shape for a
        data scenario as for a simulated one. A column the input lacks is a DataError."""
        from .errors import DataError
        from .table import Table

        missing = [c for c in (self.y, self.x, self.cluster) if c not in self.data]
        if missing:
            which = "column" if len(missing) == 1 else "columns"
            raise DataError(
                f"{self.source}: {which} {', '.join(repr(c) for c in missing)} not found; "
                f"columns present: {', '.join(self.data.names) or 'none'}"
            )
        if list(self.data.names) == ["y", "x", "cluster"]:
            return self.data
        return Table({new: self.data[old] for new, old in self.names.items()})

    @property
    def title(self) -> str:
        if self.scenario is not None:
            return self.scenario.title or self.scenario.name
        return self.name


def is_scenario_path(source: str) -> bool:
    return source.lower().endswith(SCENARIO_SUFFIXES)


def is_table_path(source: str) -> bool:
    """Whether a path names a table an INPUT may be (by its suffix)."""
    return Path(source).suffix.lower() in TABLE_SUFFIXES


def unknown_kind(source: str) -> UsageError:
    """An input named on the command line that shrink cannot read: a usage error."""
    return UsageError(
        f"{source}: unknown kind of file; give a scenario (.yaml), a table (.csv, .tsv, "
        ".json, .parquet) or '-' for a table on stdin"
    )


def load_input(
    source: str,
    *,
    seed: int | None = None,
    rng: str | None = None,
    stdin_text: str | bytes | None = None,
    y: str | None = None,
    x: str | None = None,
    cluster: str | None = None,
) -> Input:
    """Resolve INPUT. `seed` and `rng` override a simulated scenario's and are refused for data;
    `y`, `x` and `cluster` name the columns (None: a data scenario's own, else y, x, cluster);
    the cluster column's ids are kept as given."""
    columns = {"y": y, "x": x, "cluster": cluster}
    if is_scenario_path(source):
        from .scenario import load_scenario, with_overrides

        scenario = load_scenario(source)
        if scenario.data is None:
            sim = simulated_input(with_overrides(scenario, seed=seed, rng=rng))
            return replace(sim, y=y or sim.y, x=x or sim.x, cluster=cluster or sim.cluster)
        _refuse_seed(seed, rng, f"simulated scenarios, not to {source}, a data scenario")
        given = {k: v for k, v in columns.items() if v is not None}
        if given:  # the command line wins over the scenario's data: section
            scenario = scenario.model_copy(update={"data": scenario.data.model_copy(update=given)})
        return data_input(scenario)
    _refuse_seed(seed, rng, "scenario files (.yaml), not to data files")
    names = {"y": y or "y", "x": x or "x", "cluster": cluster or "cluster"}
    from .io import read_table, stdin_stream

    if source == "-":
        if stdin_text is not None:
            table = read_table("<stdin>", text=stdin_text, id_columns=[names["cluster"]])
        else:
            table = read_table(
                "<stdin>", stream=stdin_stream("table"), id_columns=[names["cluster"]]
            )
        return Input(
            "stdin", "<stdin>", table, y=names["y"], x=names["x"], cluster=names["cluster"]
        )
    p = Path(source)
    if not is_table_path(source):
        raise unknown_kind(source)
    table = read_table(source, id_columns=[names["cluster"]])
    return Input(
        p.stem or "data", source, table, y=names["y"], x=names["x"], cluster=names["cluster"]
    )


def input_files(source: str, scenario: Scenario | None = None) -> list[str]:
    """The files a command reads for INPUT `source`: the file itself and, for a data scenario
    (`scenario`, else read from `source`), its table, which an output must never replace."""
    if not is_scenario_path(source):
        return [source]
    if scenario is None:
        from .scenario import load_scenario

        scenario = load_scenario(source)
    return [source] if scenario.data is None else [source, scenario.data.path]


def scenario_files(scenarios: Sequence[object]) -> list[str]:
    """The files `scenarios` (Scenario values among others, e.g. failures) were read from:
    each one's file and a data scenario's table."""
    from .scenario import Scenario

    files: list[str] = []
    for s in scenarios:
        if isinstance(s, Scenario):
            files += [f for f in (s.source, s.data.path if s.data else "") if f]
    return files


def load_source(path: str, *, y: str = "y", x: str = "x", cluster: str = "cluster") -> Scenario:
    """A SCENARIO argument of `report` or `study`: a scenario file, or a table given directly,
    which becomes a data scenario named after its file with columns `y`, `x` and `cluster`."""
    from .scenario import load_scenario, table_scenario

    if is_scenario_path(path):
        return load_scenario(path)
    if path == "-":
        raise UsageError("give tables as files here; '-' (stdin) is for fit and animate")
    if not is_table_path(path):
        raise unknown_kind(path)
    return table_scenario(path, y=y, x=x, cluster=cluster)


def _refuse_seed(seed: int | None, rng: str | None, what: str) -> None:
    """--seed and --rng apply to `what` only."""
    if seed is not None or rng is not None:
        raise UsageError(f"applies to {what}", field="seed" if seed is not None else "rng")


def scenario_input(scenario: Scenario) -> Input:
    """A scenario's data set: simulated, or its `data:` table read."""
    return data_input(scenario) if scenario.data is not None else simulated_input(scenario)


def data_input(scenario: Scenario) -> Input:
    """A data scenario's table, read, with its columns' names."""
    from .io import read_table

    d = scenario.data
    if d is None:
        raise ValueError(f"{scenario.name} is not a data scenario")
    if not is_table_path(d.path):
        raise unknown_kind(d.path)
    table = read_table(d.path, id_columns=[d.cluster])
    return Input(
        scenario.name,
        scenario.source or d.path,
        table,
        None,
        scenario,
        y=d.y,
        x=d.x,
        cluster=d.cluster,
    )


def simulated_input(scenario: Scenario) -> Input:
    """A scenario's data set, simulated once the machine is known to have the memory for it."""
    from .scenario import check_memory
    from .simulate import simulate

    check_memory(scenario)
    sim = simulate(scenario)
    source = scenario.source or scenario.name
    return Input(scenario.name, source, sim.table, sim.truth_table, scenario)


def parameter_line(scenario: Scenario) -> str:
    """The scenario's key parameters in one line, for subtitles (a data scenario: see
    `data_line`)."""
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


def data_line(
    n_groups: int,
    n_obs: int,
    *,
    sizes: tuple[int, int] | None = None,
    scenario: Scenario | None = None,
    x: str = "x",
    cluster: str = "cluster",
) -> str:
    """A data set's shape in one line, for subtitles: clusters, rows, the range of cluster
    sizes, and the model where it is not the default."""
    parts = [f"{n_groups:,} clusters", f"{n_obs:,} observations"]
    if sizes is not None:
        lo, hi = sizes
        parts.append(f"{lo} per cluster" if lo == hi else f"{lo}–{hi} per cluster")
    if scenario is not None:
        default = type(scenario.model)()
        if scenario.model.random != default.random:
            parts.append(scenario.model.spec.random_term(x, cluster))
        if scenario.model.method != default.method:
            parts.append(scenario.model.method.upper())
    return " · ".join(parts)

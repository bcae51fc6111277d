"""Design sweeps: a scenario studied over a grid of designs — when does pooling pay?

A sweep varies some of a scenario's keys over lists of values (`sweep:` in the scenario file,
`--vary KEY=V1,V2,...` on the command line, which replaces the file's list of the same key);
the designs are the product of the lists, in the order the keys are given, the last key
varying fastest. Each design is the scenario with those values, studied as `run.run_study`
studies a scenario (replication k of every design uses seed + k − 1). Every output row carries the
varied keys as columns (`design_KEY` where the table has a column KEY already: the estimate
`sd_slope` beside the design's `design_sd_slope` in the replications); every mean its Monte
Carlo standard error (`mcse`: sd/√n, and for a share the binomial √(p(1 − p)/n)), every
coverage its binomial standard error (`coverage_se`).

`run_sweep` calls `on_design(index, rows)` as each design's last replication arrives, so that a
caller can keep finished designs (and skip them in a rerun: `done`). No I/O, no printing.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..errors import ScenarioError, UsageError
from ..scenario import SWEEP_KEYS, SWEEP_KEYS_DATA, Scenario, validated_from, with_key
from .columns import SUMMARY_COLUMNS
from .results import StudyResult
from .run import Progress, Row, run_study

#: Columns of a sweep's summary after the varied keys: the study's, with their standard errors.
SWEEP_SUMMARY_COLUMNS = SUMMARY_COLUMNS[1:]


@dataclass(frozen=True)
class Design:
    """One point of a sweep: the scenario with the varied keys set (`values`), under a name of
    its own; `base` is the scenario it varies."""

    scenario: Scenario
    base: str
    values: tuple[tuple[str, Any], ...]

    @property
    def label(self) -> str:
        """'baseline n_cluster=20 obs_per_cluster=3' (the scenario's name alone without keys)."""
        return " ".join([self.base, *(f"{k}={_text(v)}" for k, v in self.values)])


def _text(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def parse_value(text: str) -> Any:
    """A value as written on the command line: YAML's reading of it ('20' an integer, '0.5' and
    '1e-3' numbers, 'ml' text), as in a scenario file."""
    import yaml

    from ..scenario import load_yaml

    try:
        return load_yaml(text)
    except yaml.YAMLError:
        return text


def parse_vary(specs: Sequence[str]) -> dict[str, list[Any]]:
    """`--vary KEY=V1,V2,...` options as an ordered mapping of lists; a malformed option or a
    key given twice is a UsageError about `sweep`."""
    out: dict[str, list[Any]] = {}
    for spec in specs:
        key, sep, values = spec.partition("=")
        key = key.strip()
        if not sep or not key or not values.strip():
            raise UsageError(
                f"expected KEY=V1,V2,... (e.g. n_cluster=20,50,100), got {spec!r}", field="sweep"
            )
        if key in out:
            raise UsageError(f"'{key}' is varied twice; give its values in one list", field="sweep")
        out[key] = [parse_value(v.strip()) for v in values.split(",")]
    return out


def grid_of(scenario: Scenario, vary: Mapping[str, list[Any]] | None = None) -> dict[str, list]:
    """The keys `scenario` varies and their values: its `sweep:`, with `vary` on top (a key in
    both takes `vary`'s list; new keys come after the file's), each list checked as `sweep:` is."""
    grid = dict(scenario.sweep or {})
    for key, values in (vary or {}).items():
        grid[key] = list(values)
    if vary:
        data = scenario.model_dump(exclude_unset=True, exclude={"sweep"})
        data["sweep"] = grid
        try:
            Scenario.model_validate(data)
        except Exception as exc:  # a pydantic ValidationError: reworded for the command line
            from pydantic import ValidationError

            if not isinstance(exc, ValidationError):
                raise
            msg = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
            msg = msg.removeprefix("sweep: ").removeprefix("sweep.")
            raise UsageError(f"{scenario.name}: {msg}", field="sweep") from None
    return grid


def expand(scenario: Scenario, vary: Mapping[str, list[Any]] | None = None) -> list[Design]:
    """The designs of `scenario`'s sweep (one design, the scenario itself, when it has none)."""
    grid = grid_of(scenario, vary)
    if not grid:
        return [Design(scenario, scenario.name, ())]
    keys = list(grid)
    base = scenario.model_dump(exclude_unset=True, exclude={"sweep"})
    out = []
    for i, combo in enumerate(itertools.product(*(grid[k] for k in keys))):
        data = dict(base)
        for k, v in zip(keys, combo, strict=True):
            data = with_key(data, k, v)
        name = ".".join(
            [scenario.name, *(f"{k}-{_text(v)}" for k, v in zip(keys, combo, strict=True))]
        )
        if len(name) > 100 or not all(ch.isalnum() or ch in "._-" for ch in name):
            name = f"{scenario.name}.{i + 1}"
        data["name"] = name
        try:
            design = validated_from(data, source=scenario.source)
        except Exception as exc:
            from pydantic import ValidationError

            if not isinstance(exc, ValidationError):
                raise
            what = ", ".join(f"{k}={_text(v)}" for k, v in zip(keys, combo, strict=True))
            msg = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
            raise ScenarioError(
                f"{scenario.source or scenario.name}: sweep: the design {what} is not valid: {msg}"
            ) from None
        # the values as validated (balanced: true is the number 1), as the scenario holds them
        values = tuple((k, _value_of(design, k)) for k in keys)
        out.append(Design(design, scenario.name, values))
    return out


def _value_of(scenario: Scenario, key: str) -> Any:
    """A (dotted for model.*) key's value in a validated scenario."""
    section, _, sub = key.partition(".")
    value = getattr(scenario, section)
    return getattr(value, sub) if sub else value


def allowed_keys(scenario: Scenario) -> tuple[str, ...]:
    return SWEEP_KEYS_DATA if scenario.is_data else SWEEP_KEYS


@dataclass(frozen=True)
class SweepResult:
    """A sweep's study (over the designs, by their own names) and the designs themselves."""

    designs: tuple[Design, ...]
    study: StudyResult
    reps: int

    @property
    def keys(self) -> tuple[str, ...]:
        """Every varied key, in order of first appearance."""
        return tuple(dict.fromkeys(k for d in self.designs for k, _ in d.values))

    def _with_keys(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` (with a `scenario` column of design names) with the scenario's own name and
        a column per varied key after it."""
        by_name = {d.scenario.name: d for d in self.designs}
        names = frame["scenario"].map(lambda n: by_name[n].base)
        cols: dict[str, Any] = {"scenario": names}
        rest = frame.drop(columns=["scenario"])
        for key in self.keys:
            # a varied key that is also a column (sd_slope: the estimate) is design_KEY
            column = f"design_{key}" if key in rest.columns else key
            cols[column] = frame["scenario"].map(
                lambda n, key=key: dict(by_name[n].values).get(key, math.nan)
            )
        return pd.concat([pd.DataFrame(cols, index=frame.index), rest], axis=1)

    @property
    def replications(self) -> pd.DataFrame:
        return self._with_keys(self.study.replications)

    @property
    def cluster_coverage(self) -> pd.DataFrame | None:
        cc = self.study.cluster_coverage
        return None if cc is None else self._with_keys(cc)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per design and quantity: `SWEEP_SUMMARY_COLUMNS` after the keys."""
        return self._with_keys(self.study.summary)

    def files(self) -> dict[str, bytes | str]:
        """Tables (CSV) and pictures (PNG) by name: `sweep-NAME.png` per scenario with one or
        two varied keys."""
        from ..io import table_text
        from ..pictures.sweep import sweep_png

        out: dict[str, bytes | str] = {
            "summary.csv": table_text(self.summary, "csv"),
            "replications.csv": table_text(self.replications, "csv"),
        }
        cc = self.cluster_coverage
        if cc is not None:
            out["cluster_coverage.csv"] = table_text(cc, "csv")
        summary = self.summary
        for base in dict.fromkeys(d.base for d in self.designs):
            keys = [
                k
                for k in self.keys
                if any(d.base == base and k in dict(d.values) for d in self.designs)
            ]
            if 1 <= len(keys) <= 2:
                title = next(d.scenario.title for d in self.designs if d.base == base) or base
                out[f"sweep-{base}.png"] = sweep_png(
                    summary[summary["scenario"] == base], keys, title, self.reps
                )
        return out


def run_sweep(
    designs: Sequence[Design],
    reps: int,
    *,
    jobs: int | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
    executor: Executor | None = None,
    ci: str | None = None,
    done: Mapping[int, list[Row]] | None = None,
    on_design: Callable[[int, list[Row]], None] | None = None,
) -> SweepResult:
    """Study every design `reps` times (`run.run_study` over the designs' scenarios), over
    `jobs` processes or on `executor` (any `concurrent.futures.Executor`, e.g. a Dask
    client's). `done` holds the rows of designs already finished (by index), which are not run
    again; `on_design(index, rows)` is called as each other design finishes.
    `progress(design_name, replications)` as chunks finish. The rows, and so every output, do
    not depend on `jobs`, the executor or which designs were resumed."""
    study = run_study(
        [d.scenario for d in designs],
        reps,
        jobs=jobs,
        seed=seed,
        progress=progress,
        executor=executor,
        ci=ci,
        done=done,
        on_scenario=on_design,
    )
    # the designs' scenarios as studied (with `seed`, the base seed replaced)
    studied = [Design(s, d.base, d.values) for s, d in zip(study.scenarios, designs, strict=True)]
    return SweepResult(tuple(studied), study, reps)


def fingerprint(designs: Sequence[Design], reps: int, seed: int | None, ci: str | None) -> dict:
    """What a sweep's output depends on, as JSON-able values: each design's scenario, the
    replications, the base seed and the interval method (`--resume` compares them)."""
    return {
        "reps": reps,
        "seed": seed,
        "ci": ci or "wald",
        "designs": [
            d.scenario.model_dump(mode="json", exclude={"title", "description", "animation"})
            for d in designs
        ],
    }


#: The run's own settings in a fingerprint, besides its designs.
RUN_FIELDS = ("reps", "seed", "ci")


@dataclass(frozen=True)
class Change:
    """The first difference between two sweeps' fingerprints: a run setting (`field` one of
    `RUN_FIELDS`), the number of designs (`field` "designs"), or a key of design `design`;
    `was` and `now` as a scenario file writes them."""

    field: str
    was: str
    now: str
    design: str | None = None

    def words(self, flags: Mapping[str, str] | None = None) -> str:
        """In words, a run setting named by its flag in `flags` where it has one ('--reps was
        4, now 5'), else by its field ('reps was 4, now 5')."""
        if self.design is not None:
            return f"design {self.design}: {self.field} was {self.was}, now {self.now}"
        if self.field == "designs":
            return f"the sweep had {self.was} designs, now {self.now}"
        return f"{(flags or {}).get(self.field, self.field)} was {self.was}, now {self.now}"

    def __str__(self) -> str:
        return self.words()


def changed_argument(old: Mapping[str, Any], new: Mapping[str, Any]) -> Change | None:
    """The first difference between two fingerprints (None: the same run)."""
    for key in RUN_FIELDS:
        if old.get(key) != new.get(key):
            return Change(key, _said(old.get(key)), _said(new.get(key)))
    od, nd = old.get("designs", []), new.get("designs", [])
    if len(od) != len(nd):
        return Change("designs", str(len(od)), str(len(nd)))
    for a, b in zip(od, nd, strict=True):
        if a != b:
            keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            field = next((k for k in keys if k != "name"), keys[0])  # the name follows the keys
            return Change(
                field, _said(a.get(field)), _said(b.get(field)), design=b.get("name", "?")
            )
    return None


def _said(value: Any) -> str:
    """A value as a scenario file or the command line writes it: 'not given' for an option
    left out, true/false, text unquoted (never Python's None, True or repr)."""
    if value is None:
        return "not given"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

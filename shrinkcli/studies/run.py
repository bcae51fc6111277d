"""The one run loop of studies and sweeps: every scenario's replications split into chunks,
fitted over processes (or on any `concurrent.futures.Executor`, e.g. a Dask client's), and put
back in (scenario, replication) order, so that the output does not depend on the number of
processes or where a chunk ran.

A chunk of replications is fitted as one batch (`batched.py`) of `BATCH` replications; with
profile intervals, one replication at a time (`replication.py`), in chunks sized to the jobs.
A sweep is a study of its designs that keeps each design's rows as it finishes (`on_scenario`)
and skips those a stopped run finished (`done`). No I/O but reading a data scenario's table.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import pandas as pd

from .. import parallel
from ..errors import UsageError
from ..scenario import Scenario
from .bootstrap import Bootstrap, bootstrap_of
from .columns import BY_SIZE, PROFILED, REPLICATION_COLUMNS
from .coverage import coefficient_coverage, coverage_by_size
from .replication import replicate
from .results import StudyResult, summarize, truths_of

#: Replications fitted together in one batch (`batched.replicate_batch`); fixed, so that which
#: replications share a batch never depends on the processes or the executor.
BATCH = 100

#: `progress(scenario_name, replications)`, called as chunks finish.
Progress = Callable[[str, int], None]
#: A replication table's row, as a mapping of `columns.REPLICATION_COLUMNS` (and more).
Row = dict[str, Any]
#: A chunk of work: a scenario, its bootstrap, its first and last replication, the intervals.
Task = tuple[Scenario, "Bootstrap | None", int, int, "str | None"]


def check_reps(reps: int) -> None:
    """Refuse a number of replications below 1 (a UsageError about `reps`)."""
    if reps < 1:
        raise UsageError(f"must be an integer ≥ 1 (got {reps})", field="reps")


def run_chunk(task: Task) -> list[Row]:
    """The rows of one chunk's replications (run in a worker process)."""
    scenario, boot, first, last, ci = task
    if ci is None:  # fitted together; the rows are `replicate`'s
        from .batched import replicate_batch

        return replicate_batch(scenario, range(first, last + 1), boot)
    return [replicate(scenario, k, boot, ci) for k in range(first, last + 1)]


def chunks(
    scenarios: Sequence[Scenario],
    boots: Mapping[str, Bootstrap],
    reps: int,
    size: int,
    ci: str | None = None,
) -> list[Task]:
    """The tasks of `reps` replications of every scenario, `size` replications a task."""
    tasks: list[Task] = []
    for s in scenarios:
        for first in range(1, reps + 1, size):
            tasks.append((s, boots.get(s.name), first, min(reps, first + size - 1), ci))
    return tasks


def run_study(
    scenarios: Sequence[Scenario],
    reps: int,
    *,
    jobs: int | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
    executor: Executor | None = None,
    bootstraps: Mapping[str, Bootstrap] | None = None,
    ci: str | None = None,
    done: Mapping[int, list[Row]] | None = None,
    on_scenario: Callable[[int, list[Row]], None] | None = None,
) -> StudyResult:
    """Fit `reps` replications of every scenario, over `jobs` processes (default: the cores),
    or on `executor` when one is given (any `concurrent.futures.Executor`).

    `seed` replaces every scenario's base seed. `progress(scenario_name, done)` is called in
    the calling process as chunks of replications finish. A data scenario's table is read and
    fitted here, once, unless `bootstraps` holds it by name. `ci="profile"` adds the variance
    components' profile intervals and their coverage ('wald' or None: the fixed effects' Wald
    intervals only, as always). `done` holds the rows of scenarios already finished (by index
    in `scenarios`), which are not run again; `on_scenario(index, rows)` is called as each
    other scenario's last replication arrives. Raises, before any work, for `reps` below 1, two
    scenarios with the same name, one this machine has not the memory for, or a data scenario
    whose table cannot be read or fitted. The rows, and so every output, do not depend on
    `jobs`, the executor or which scenarios were `done`.
    """
    check_reps(reps)
    if ci not in (None, "wald", "profile"):
        raise ValueError(f"unknown interval method {ci!r}: use 'wald' or 'profile'")
    profile = "profile" if ci == "profile" else None
    from ..scenario import check_memory, check_names, with_overrides

    check_names(scenarios)
    for s in scenarios:
        check_memory(s)
    if seed is not None:
        scenarios = [with_overrides(s, seed=seed) for s in scenarios]
    scenarios = tuple(scenarios)
    boots = {
        s.name: (bootstraps or {}).get(s.name) or bootstrap_of(s) for s in scenarios if s.is_data
    }
    finished = dict(done or {})
    todo = [i for i in range(len(scenarios)) if i not in finished]
    jobs = jobs or parallel.cores()
    # a chunk of replications is fitted as one batch: its size must not depend on the jobs
    size = BATCH if profile is None else max(1, min(50, math.ceil(reps / (4 * jobs))))
    tasks = chunks([scenarios[i] for i in todo], boots, reps, size, profile)
    owner = {s.name: i for i, s in enumerate(scenarios)}
    pending: dict[int, dict[int, list[Row]]] = {i: {} for i in todo}
    needed = {i: sum(1 for t in tasks if t[0].name == scenarios[i].name) for i in todo}

    def on_result(j: int, chunk: list[Row]) -> None:
        name = tasks[j][0].name
        i = owner[name]
        pending[i][j] = chunk
        if progress is not None:
            progress(name, len(chunk))
        if len(pending[i]) == needed[i]:
            parts = pending.pop(i)
            finished[i] = [r for jj in sorted(parts) for r in parts[jj]]
            if on_scenario is not None:
                on_scenario(i, finished[i])

    workers = max(1, min(jobs, len(tasks)))
    if tasks:
        with (
            contextlib.nullcontext(executor) if executor is not None else parallel.pool(workers)
        ) as ex:
            parallel.ordered_map(run_chunk, tasks, executor=ex, on_result=on_result)
    flat = [dict(r) for i in range(len(scenarios)) for r in finished[i]]
    by_coef = coefficient_coverage(flat)
    by_size = [(r["scenario"], tuple(c)) for r in flat for c in r.pop(BY_SIZE, [])]
    columns = list(REPLICATION_COLUMNS)
    if profile:
        columns += [f"{p}_{end}" for p in PROFILED for end in ("lower", "upper")]
    table = pd.DataFrame(flat, columns=columns)
    truths = {s.name: truths_of(s, boots.get(s.name)) for s in scenarios}
    return StudyResult(
        table,
        summarize(table, scenarios, truths),
        scenarios,
        truths,
        coverage_by_size(by_size, scenarios),
        by_coef,
    )

"""Running the scenarios of a report: each one simulated, fitted, animated and written into its
own folder of the build, in parallel worker processes; progress reported as events."""

from __future__ import annotations

import os
import queue as queue_mod
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ShrinkError
from .metrics import Metrics, measure, reading

if TYPE_CHECKING:
    from ..scenario import Scenario

#: The stages of one scenario, in order; `ProgressEvent.stage` is "queued" first, then one of
#: these as it starts, then "done" or "failed".
STAGES = ("simulate", "fit", "animate", "write")
#: The files of one scenario's folder.
SCENARIO_FILES = (
    "data.csv",
    "truth.csv",
    "estimates.csv",
    "fit.json",
    "summary.txt",
    "animation.gif",
    "final.png",
)


@dataclass(frozen=True)
class ProgressEvent:
    """Scenario `scenario` (number `index` of `total`) has started `stage`, or is done/failed."""

    index: int
    total: int
    scenario: str
    stage: str


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class ScenarioReport:
    """One scenario that was reported: what it is, its fit's numbers and its lme4 summary."""

    name: str
    title: str
    description: str
    source: str
    parameters: dict[str, Any]
    subtitle: str
    method: str
    random: str
    n_obs: int
    n_groups: int
    metrics: Metrics
    summary: str
    reading: list[str]
    warnings: tuple[str, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Failure:
    """A scenario that could not be reported, and why (one line)."""

    name: str
    source: str
    message: str


def failure(name: str, source: str, exc: BaseException) -> Failure:
    text = str(exc) if isinstance(exc, ShrinkError) else f"{type(exc).__name__}: {exc}"
    if not text.startswith(source):
        text = f"{source}: {text}"
    return Failure(name, source, text)


# -- one scenario -----------------------------------------------------------------------------

_EMIT: dict[str, Any] = {}


def _emit(index: int, total: int, name: str, stage: str) -> None:
    sink = _EMIT.get("sink")
    if sink is not None:
        sink(ProgressEvent(index, total, name, stage))


def _worker_init(q: Any) -> None:
    _EMIT["sink"] = q.put


def run_scenario(
    scenario: Scenario, source: str, folder: Path, *, index: int, total: int, gif_jobs: int
) -> ScenarioReport | Failure:
    """Simulate, fit, animate and write one scenario into `folder` (created here)."""
    name = scenario.name
    seconds: dict[str, float] = {}
    stage_start = time.perf_counter()

    def stage(what: str) -> None:
        nonlocal stage_start
        now = time.perf_counter()
        if seconds or what != STAGES[0]:
            seconds[STAGES[len(seconds)]] = now - stage_start
        stage_start = now
        _emit(index, total, name, what)

    try:
        from ..animate import render_animation
        from ..fit import fit
        from ..inputs import load_input, parameter_line
        from ..io import table_text, to_json_text, write_atomic
        from ..summary import format_summary

        stage("simulate")
        inp = load_input(source)
        sc = inp.scenario or scenario
        stage("fit")
        result = fit(inp.data, method=sc.model.method, random=sc.model.random, truth=inp.truth)
        summary = format_summary(result, data_name=inp.name)
        x = inp.data[result.names["x"]].to_numpy(dtype=float)
        metrics = measure(result, x[np.isfinite(x)])
        stage("animate")
        subtitle = parameter_line(sc)
        gif, png = render_animation(
            result, sc.animation, title=inp.title, subtitle=subtitle, jobs=gif_jobs
        )
        stage("write")
        folder.mkdir()
        files: dict[str, str | bytes] = {
            "data.csv": table_text(inp.data, "csv"),
            "truth.csv": table_text(inp.truth, "csv") if inp.truth is not None else "",
            "estimates.csv": table_text(result.to_frame(), "csv"),
            "fit.json": to_json_text(result.to_dict()),
            "summary.txt": summary,
            "animation.gif": gif,
            "final.png": png,
        }
        for file, content in files.items():
            write_atomic(folder / file, content)
        seconds["write"] = time.perf_counter() - stage_start
        _emit(index, total, name, "done")
        return ScenarioReport(
            name=name,
            title=inp.title,
            description=sc.description.strip(),
            source=source,
            parameters={**sc.parameters(), "rng": sc.rng},
            subtitle=subtitle,
            method=result.method,
            random=result.random,
            n_obs=result.n_obs,
            n_groups=result.n_groups,
            metrics=metrics,
            summary=summary,
            reading=reading(metrics, result.n_groups),
            warnings=tuple(result.warnings),
            seconds=seconds,
        )
    except Exception as exc:  # one scenario's failure must not stop the others
        shutil.rmtree(folder, ignore_errors=True)  # no half folder (it is in the build, ours)
        _emit(index, total, name, "failed")
        return failure(name, source, exc)


# -- all of them ------------------------------------------------------------------------------


def _drain(q: Any, progress: ProgressCallback | None) -> None:
    while True:
        try:
            event = q.get_nowait()
        except queue_mod.Empty:
            return
        if progress is not None:
            progress(event)


def run_all(
    jobs: Sequence[tuple[Scenario, str]],
    build: Path,
    *,
    workers: int,
    progress: ProgressCallback | None,
) -> list[ScenarioReport | Failure]:
    """Run every scenario into `build/NAME`, in `jobs` order. With one worker (or one
    scenario) everything runs here and the animation gets all `workers` processes; otherwise
    the scenarios run in parallel processes, each drawing its frames alone."""
    total = len(jobs)
    n = max(1, min(workers, total))
    if progress is not None:
        for i, (sc, _) in enumerate(jobs):
            progress(ProgressEvent(i, total, sc.name, "queued"))
    if n == 1:
        _EMIT["sink"] = progress
        try:
            return [
                run_scenario(sc, src, build / sc.name, index=i, total=total, gif_jobs=workers)
                for i, (sc, src) in enumerate(jobs)
            ]
        finally:
            _EMIT.clear()
    # Import the heavy modules once here, so that forked workers inherit them.
    from .. import animate, fit, plot, summary  # noqa: F401

    ctx = animate._context()
    q = ctx.Queue()
    results: list[ScenarioReport | Failure | None] = [None] * total
    with ProcessPoolExecutor(n, mp_context=ctx, initializer=_worker_init, initargs=(q,)) as ex:
        futures: dict[Future[ScenarioReport | Failure], int] = {
            ex.submit(run_scenario, sc, src, build / sc.name, index=i, total=total, gif_jobs=1): i
            for i, (sc, src) in enumerate(jobs)
        }
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.05, return_when=FIRST_COMPLETED)
                _drain(q, progress)
                for fut in done:
                    i = futures[fut]
                    try:
                        results[i] = fut.result()
                    except Exception as exc:  # a worker died (e.g. out of memory)
                        sc, src = jobs[i]
                        results[i] = failure(sc.name, src, exc)
                        if progress is not None:
                            progress(ProgressEvent(i, total, sc.name, "failed"))
        except BaseException:
            ex.shutdown(wait=False, cancel_futures=True)
            raise
    _drain(q, progress)
    return [r for r in results if r is not None]


def default_jobs() -> int:
    return os.cpu_count() or 1


"""Running the scenarios of a report: each one simulated (or its table read), fitted, animated
and written into its own folder of the build, in parallel worker processes; progress reported
as events."""

from __future__ import annotations

import functools
import queue as queue_mod
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import parallel
from ..errors import ShrinkError
from .metrics import Metrics, measure, reading

if TYPE_CHECKING:
    from ..inputs import Input
    from ..lmm import Fit
    from ..scenario import Scenario
    from ..table import Table
    from .real import DataMetrics
    from .uncertainty import Uncertainty

#: The stages of one scenario, in order; `ProgressEvent.stage` is "queued" first, then one of
#: these as it starts, then "done" or "failed". "data" simulates, or reads a data scenario's
#: table.
STAGES = ("data", "fit", "animate", "write")


@dataclass(frozen=True)
class ProgressEvent:
    """Scenario `scenario` (number `index` of `total`) has started `stage`, or is done/failed."""

    index: int
    total: int
    scenario: str
    stage: str


@dataclass(frozen=True)
class StudyEvent:
    """The report's study fitted `done` more replications of scenario `scenario` (of `reps`)."""

    scenario: str
    done: int
    reps: int


ProgressCallback = Callable[[ProgressEvent | StudyEvent], None]


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
    formula: str  # the model as written, e.g. y ~ x + (x || cluster)
    n_obs: int
    n_groups: int
    metrics: Metrics
    summary: str
    reading: list[str]
    files: tuple[str, ...]  # the files of its folder, in the order its page lists them
    width: int  # pixels of its animation and picture
    height: int
    warnings: tuple[str, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)
    kind: str = "simulated"  # or "data": a table of one's own, no truth
    real: DataMetrics | None = None  # a data scenario's own numbers (ICC, sizes, ...)
    data_path: str = ""  # a data scenario's table
    real_reading: dict[str, list[str]] = field(default_factory=dict)  # its sentences, by part
    inputs: dict[str, str] = field(default_factory=dict)  # files read (path -> SHA-256)
    sha256: dict[str, str] = field(default_factory=dict)  # its folder's files -> SHA-256
    criterion_line: str = ""  # the line of lme4's summary with the criterion
    uncertainty: Uncertainty | None = None  # intervals, caterpillar and pooling path


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


def source_of(scenario: Scenario) -> str:
    """Where a scenario came from, for its page and messages: its file, else its name."""
    return scenario.source or scenario.name


def run_scenario(
    scenario: Scenario,
    folder: Path,
    *,
    index: int,
    total: int,
    gif_jobs: int,
    progress: ProgressCallback | None = None,
) -> ScenarioReport | Failure:
    """Simulate, fit, animate and write one scenario into `folder` (created here); `progress`
    is told each stage as it starts, then "done" or "failed"."""
    name = scenario.name

    def emit(what: str) -> None:
        if progress is not None:
            progress(ProgressEvent(index, total, name, what))

    source = source_of(scenario)
    seconds: dict[str, float] = {}
    stage_start = time.perf_counter()

    def stage(what: str) -> None:
        nonlocal stage_start
        now = time.perf_counter()
        if seconds or what != STAGES[0]:
            seconds[STAGES[len(seconds)]] = now - stage_start
        stage_start = now
        emit(what)

    try:
        from dataclasses import replace

        from ..inputs import parameter_line, scenario_input
        from ..io import table_text, to_json_text, write_files
        from ..lmm import fit
        from ..pictures.animate import render_animation
        from ..summary import format_summary
        from .uncertainty import measure_uncertainty, uncertainty_files, uncertainty_reading

        stage("data")
        inp = scenario_input(scenario)
        sc = scenario
        stage("fit")
        result = fit(
            inp.data, sc.model.spec, truth=inp.truth, y=inp.y, x=inp.x, cluster=inp.cluster
        )
        summary = format_summary(result, data_name=inp.name)
        intervals = _profile(result)
        x = np.asarray(inp.data.array(inp.x), dtype=float)
        metrics = measure(result, x[np.isfinite(x)])
        stage("animate")
        real, extra = _real_data(inp, result) if sc.is_data else (None, {})
        subtitle = parameter_line(sc) if not sc.is_data else _data_subtitle(inp, result)
        gif, png = render_animation(
            result, sc.animation, title=inp.title, subtitle=subtitle, jobs=gif_jobs
        )
        unc_files, path_scene = uncertainty_files(
            result, intervals, sc.animation, title=inp.title, subtitle=subtitle
        )
        # a data set has no truth: its scenario's parameters are defaults, not what made the data
        uncertainty = measure_uncertainty(result, intervals, None if sc.is_data else sc, path_scene)
        uncertainty = replace(uncertainty, reading=uncertainty_reading(uncertainty))
        stage("write")
        folder.mkdir()  # a fresh folder: nothing in it that this scenario did not write
        files: dict[str, str | bytes] = {"data.csv": table_text(inp.data, "csv")}
        if inp.truth is not None:
            files["truth.csv"] = table_text(inp.truth, "csv")
        files.update(
            {
                "estimates.csv": table_text(result.to_table(), "csv"),
                "fit.json": to_json_text(replace(result, intervals=intervals).to_dict()),
                "summary.txt": summary,
                "animation.gif": gif,
                "final.png": png,
                **extra,
                **unc_files,
                "reproduce.R": _reproduce(sc, inp, result, summary),
            }
        )
        written = write_files(folder, files)
        seconds["write"] = time.perf_counter() - stage_start
        emit("done")
        from .real import extremes_reading, icc_reading, size_reading
        from .rscript import criterion_line

        return ScenarioReport(
            name=name,
            title=inp.title,
            description=sc.description.strip(),
            source=source,
            parameters=(
                {**sc.parameters(), "rng": sc.rng}
                if not sc.is_data
                else {"seed": sc.seed, "rng": sc.rng}
            ),
            subtitle=subtitle,
            method=result.model.method,
            random=result.model.random,
            formula=result.spec.formula(*(result.names[k] for k in ("y", "x", "cluster"))),
            n_obs=result.model.n_obs,
            n_groups=result.model.n_groups,
            metrics=metrics,
            summary=summary,
            reading=reading(metrics, result.model.n_groups),
            files=tuple(written),
            width=sc.animation.width,
            height=sc.animation.height,
            warnings=tuple(result.warnings),
            seconds=seconds,
            kind="data" if sc.is_data else "simulated",
            real=real,
            data_path=sc.data.path if sc.data is not None else "",
            real_reading={}
            if real is None
            else {
                "icc": icc_reading(real),
                "size": size_reading(real),
                "extremes": extremes_reading(real),
            },
            inputs=_digests(sc, inp),
            sha256={f: _sha256(files[f]) for f in written},
            criterion_line=criterion_line(summary),
            uncertainty=uncertainty,
        )
    except Exception as exc:  # one scenario's failure must not stop the others
        shutil.rmtree(folder, ignore_errors=True)  # no half folder (it is in the build, ours)
        emit("failed")
        return failure(name, source, exc)


def _sha256(content: str | bytes) -> str:
    import hashlib

    return hashlib.sha256(
        content.encode("utf-8") if isinstance(content, str) else content
    ).hexdigest()


def _digests(scenario: Scenario, inp: Input) -> dict[str, str]:
    """The files a scenario was made from (its scenario file, its table), with their SHA-256."""
    from ..io import file_sha256

    paths = [p for p in (scenario.source, scenario.data.path if scenario.data else "") if p]
    return {p: file_sha256(p) for p in dict.fromkeys(paths)}


def _data_subtitle(inp: Input, result: Fit) -> str:
    from ..inputs import data_line

    n = np.asarray(result.table.array("n"))
    return data_line(
        result.model.n_groups,
        result.model.n_obs,
        sizes=(int(n.min()), int(n.max())),
        scenario=inp.scenario,
        x=inp.x,
        cluster=inp.cluster,
    )


def _real_data(inp: Input, result: Fit) -> tuple[DataMetrics, dict[str, bytes]]:
    """A data scenario's own numbers and pictures (the fitted rows prepared once more)."""
    from ..lmm import prepare_data
    from .real import measure_data, pictures

    prep = prepare_data(inp.data, y=inp.y, x=inp.x, cluster=inp.cluster, spec=result.spec)
    return measure_data(result, prep), pictures(result, prep)


def _text_ids(data: Table, cluster: str) -> bool:
    ids = data.array(cluster)
    return ids.dtype == object and any(isinstance(v, str) for v in ids.tolist())


def _reproduce(scenario: Scenario, inp: Input, result: Fit, summary: str) -> str:
    from .rscript import reproduce_r

    return reproduce_r(
        scenario, result, summary, data_name=inp.name, text_ids=_text_ids(inp.data, inp.cluster)
    )


def _profile(result: Any) -> Any:
    """The fit's profile intervals, or None where profiling fails (the page then says so)."""
    from ..lmm import profile_intervals

    try:
        return profile_intervals(
            result.stats, result.model, x=result.names["x"], cluster=result.names["cluster"]
        )
    except ShrinkError:
        return None


# -- all of them ------------------------------------------------------------------------------


def _drain(q: Any, progress: ProgressCallback | None) -> None:
    while True:
        try:
            event = q.get_nowait()
        except queue_mod.Empty:
            return
        if progress is not None:
            progress(event)


def _run_one(
    task: tuple[int, Scenario],
    *,
    build: Path,
    total: int,
    gif_jobs: int,
    progress: ProgressCallback | None,
) -> ScenarioReport | Failure:
    index, scenario = task
    return run_scenario(
        scenario,
        build / scenario.name,
        index=index,
        total=total,
        gif_jobs=gif_jobs,
        progress=progress,
    )


#: In a worker process of `run_all`'s pool, its end of the parent's queue of progress events,
#: set once as the worker starts (`_worker_init`): a multiprocessing queue reaches a worker
#: only through inheritance, never as a task's argument. None in every other process, where
#: the caller's callback is passed down to `run_scenario` as it is.
_worker_events: Any = None


def _worker_init(q: Any) -> None:
    global _worker_events
    _worker_events = q


def _run_in_worker(
    task: tuple[int, Scenario], *, build: Path, total: int
) -> ScenarioReport | Failure:
    """One scenario in a pool's worker, its progress put on the worker's queue."""
    return _run_one(task, build=build, total=total, gif_jobs=1, progress=_worker_events.put)


def _preload() -> bool:
    """Import here, once, every module a scenario's run imports, so that forked workers inherit
    them instead of each importing them again on its first scenario (about 0.3 s a worker,
    scipy.optimize for the profile intervals the most of it). The collector is paused
    meanwhile, as it would only walk the new modules' objects again and again (a sixth of the
    time), and they are frozen after: long-lived, they need no collector's pass in this process
    or a worker (unless the process froze objects of its own). True: they were frozen, and the
    caller unfreezes them when the scenarios are done."""
    import gc

    collecting = gc.isenabled()
    gc.disable()
    try:
        import scipy.optimize  # noqa: F401  (lmm.profile imports it where it minimises)
        from PIL import GifImagePlugin, Image  # noqa: F401

        from .. import inputs, io, lmm, simulate, summary  # noqa: F401
        from ..pictures import animate, caterpillar, figure  # noqa: F401
        from ..pictures.theme import load_matplotlib
        from . import real, rscript, uncertainty  # noqa: F401

        load_matplotlib()
        Image.preinit()  # the image plugins Pillow loads on its first save
    finally:
        freeze = gc.get_freeze_count() == 0
        if freeze:
            gc.freeze()
        if collecting:
            gc.enable()
    return freeze


def run_all(
    scenarios: Sequence[Scenario],
    build: Path,
    *,
    workers: int,
    progress: ProgressCallback | None,
) -> list[ScenarioReport | Failure]:
    """Run every scenario into `build/NAME`, in their order. With one worker (or one scenario)
    everything runs here and the animation gets all `workers` processes; otherwise the
    scenarios run in parallel processes, each drawing its frames alone."""
    total = len(scenarios)
    n = max(1, min(workers, total))
    if progress is not None:
        for i, sc in enumerate(scenarios):
            progress(ProgressEvent(i, total, sc.name, "queued"))
    tasks = list(enumerate(scenarios))

    def lost(i: int, exc: Exception) -> ScenarioReport | Failure:
        """A worker that died (e.g. out of memory): its scenario failed."""
        sc = scenarios[i]
        if progress is not None:
            progress(ProgressEvent(i, total, sc.name, "failed"))
        return failure(sc.name, source_of(sc), exc)

    ctx = parallel.mp_context()
    frozen = False
    try:
        if n == 1 or ctx.get_start_method() == "fork":  # not for spawned workers
            frozen = _preload()
        if n == 1:
            here = functools.partial(
                _run_one, build=build, total=total, gif_jobs=workers, progress=progress
            )
            return parallel.ordered_map(here, tasks, on_error=lost)
        q = ctx.Queue()
        run = functools.partial(_run_in_worker, build=build, total=total)
        with parallel.pool(n, context=ctx, initializer=_worker_init, initargs=(q,)) as ex:
            results = parallel.ordered_map(
                run, tasks, executor=ex, on_error=lost, tick=lambda: _drain(q, progress)
            )
        _drain(q, progress)
        return results
    finally:
        if frozen:
            import gc

            gc.unfreeze()  # what _preload froze (and all else) is the collector's again

"""Progress displays on stderr (rich), shown only to a person: not with --quiet and not when
stderr is not a terminal. Refreshed on each event only, with no timer thread, so that worker
processes can still be forked while a display is up."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..report import ProgressEvent, StudyEvent


def showing(quiet: bool) -> bool:
    """Whether to show progress: a terminal on stderr, and no --quiet."""
    return not quiet and sys.stderr.isatty()


def _display(*columns: Any) -> Any:
    """A rich Progress on stderr with these columns, refreshed by its callers only and gone
    when it ends."""
    from rich.console import Console
    from rich.progress import Progress

    return Progress(*columns, console=Console(stderr=True), auto_refresh=False, transient=True)


@contextlib.contextmanager
def report_progress(
    show: bool,
) -> Iterator[Callable[[ProgressEvent | StudyEvent], None] | None]:
    """A bar per scenario through its stages, after a bar per scenario for its study
    replications if there is a study; None (no display) when `show` is false."""
    if not show:
        yield None
        return
    from rich.progress import BarColumn, TaskID, TextColumn, TimeElapsedColumn

    from ..report import STAGES, StudyEvent

    bar = _display(
        TextColumn("{task.fields[name]}", style="bold"),
        BarColumn(bar_width=24),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
    )
    studied: dict[str, TaskID] = {}
    fitted: dict[str, int] = {}  # replications done, per scenario
    tasks: dict[int, TaskID] = {}
    reached: dict[int, int] = {}  # stages done, per scenario

    def on_study(event: StudyEvent) -> None:
        if event.scenario not in studied:
            studied[event.scenario] = bar.add_task(
                "", total=event.reps, name=event.scenario, stage="study"
            )
        fitted[event.scenario] = done = fitted.get(event.scenario, 0) + event.done
        bar.update(studied[event.scenario], completed=done, stage=f"study {done}/{event.reps}")

    def on_stage(event: ProgressEvent) -> None:
        for task in studied.values():  # the study is over
            bar.remove_task(task)
        studied.clear()
        if event.index not in tasks:
            tasks[event.index] = bar.add_task("", total=len(STAGES), name=event.scenario, stage="")
        task = tasks[event.index]
        if event.stage in STAGES:
            reached[event.index] = max(reached.get(event.index, 0), STAGES.index(event.stage))
            bar.update(task, completed=reached[event.index], stage=event.stage)
        elif event.stage == "done":
            bar.update(task, completed=len(STAGES), stage="done")
        elif event.stage == "failed":
            bar.update(task, stage="[red]failed")
        else:
            bar.update(task, stage=event.stage)

    def on_event(event: ProgressEvent | StudyEvent) -> None:
        if isinstance(event, StudyEvent):
            on_study(event)
        else:
            on_stage(event)
        bar.refresh()

    with bar:
        yield on_event


@contextlib.contextmanager
def study_progress(
    show: bool, names: Sequence[str], reps: int
) -> Iterator[Callable[[str, int], None] | None]:
    """A bar per scenario (replications done), or None when `show` is false."""
    if not show:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    bar = _display(
        TextColumn("{task.description}", style="bold"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    tasks = {name: bar.add_task(name, total=reps) for name in names}

    def on_chunk(name: str, done: int) -> None:
        bar.advance(tasks[name], done)
        bar.refresh()

    with bar:
        bar.refresh()
        yield on_chunk


class SweepProgress:
    """One bar over a sweep's grid (designs × replications) with the time left, and the count
    of finished designs; `replications(name, n)` and `design()` report progress."""

    def __init__(self, bar: Any, task: Any, designs: int, done: int) -> None:
        self._bar, self._task, self._designs, self._done = bar, task, designs, done

    def replications(self, name: str, done: int) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, done)
            self._bar.refresh()

    def design(self) -> None:
        self._done += 1
        if self._bar is not None:
            self._bar.update(self._task, designs=f"{self._done}/{self._designs} designs")
            self._bar.refresh()


@contextlib.contextmanager
def sweep_progress(show: bool, designs: int, reps: int, done: int = 0) -> Iterator[SweepProgress]:
    """A bar over `designs` × `reps` replications (`done` designs already finished), with an
    estimate of the time left; reports nowhere when `show` is false."""
    if not show:
        yield SweepProgress(None, None, designs, done)
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = _display(
        TextColumn("replications", style="bold"),
        BarColumn(bar_width=30),
        MofNCompleteColumn(),
        TextColumn("{task.fields[designs]}"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )
    task = bar.add_task(
        "", total=designs * reps, completed=done * reps, designs=f"{done}/{designs} designs"
    )
    with bar:
        bar.refresh()
        yield SweepProgress(bar, task, designs, done)

"""Running work in parallel, decided in one place: how many cores this process may use, which
start method is safe for worker processes, and an ordered map over any `concurrent.futures`
executor (a process pool here, or e.g. a thread pool or a cluster's executor passed in)."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from multiprocessing.context import BaseContext
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["cores", "in_background", "mp_context", "ordered_map", "pool"]


def die_with_parent() -> None:
    """Make this (worker) process end when its parent does, also when the parent is killed
    outright (SIGKILL): pool workers otherwise wait on their queue forever. Linux only (prctl's
    PR_SET_PDEATHSIG); elsewhere nothing happens."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before the request took hold
            os._exit(1)


# Every process forked from here (pool workers, with the fork start method) follows its parent.
os.register_at_fork(after_in_child=die_with_parent)


def in_background(work: Callable[[], T]) -> Callable[[], T]:
    """Start `work` in a thread now; the function returned waits for it and gives its result
    (or raises its error). The thread is a daemon: a caller that stops before asking (Ctrl-C,
    an error of its own) is not held up by it, and it ends with the process. Only for work on
    values in memory, which nothing needs once the caller has given up."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the caller, whatever it is
            box["error"] = exc

    thread = threading.Thread(target=run, name="shrink-background", daemon=True)
    thread.start()

    def result() -> T:
        thread.join()  # (also: no thread left for a fork to inherit)
        if "error" in box:
            raise box["error"]
        return box["value"]

    return result


def cores() -> int:
    """The cores this process may run on: its CPU affinity where the system has one (a
    container or `taskset` may allow fewer than the machine has), else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return os.cpu_count() or 1


def mp_context() -> BaseContext:
    """fork where it is safe (POSIX, and no other thread that a child could inherit mid-lock),
    so that workers inherit imported modules and drawn figures; spawn otherwise."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


@contextlib.contextmanager
def pool(
    workers: int,
    *,
    context: BaseContext | None = None,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
) -> Iterator[Executor | None]:
    """A process pool of `workers` processes (started with `context`, default `mp_context()`),
    or None for a single worker: the work then runs in this process, with no pool to start."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1 (got {workers})")
    if workers == 1:
        yield None
        return
    with ProcessPoolExecutor(
        workers,
        mp_context=context or mp_context(),
        initializer=_initialize,
        initargs=(initializer, initargs),
    ) as executor:
        yield executor


def _initialize(initializer: Callable[..., object] | None, initargs: tuple[Any, ...]) -> None:
    """A worker's start: follow the parent (also for spawned workers), then the caller's own."""
    die_with_parent()
    if initializer is not None:
        initializer(*initargs)


def ordered_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    executor: Executor | None = None,
    on_result: Callable[[int, R], None] | None = None,
    on_error: Callable[[int, Exception], R] | None = None,
    tick: Callable[[], None] | None = None,
    interval: float = 0.05,
) -> list[R]:
    """`[fn(item) for item in items]`, computed by `executor` (None: here, one after another),
    the results in the order of `items` whatever order they finish in.

    `on_result(index, result)` is called here as each result arrives (for progress);
    `on_error(index, exception)` turns an item's exception into its result (default: raise).
    `tick()` is called here about every `interval` seconds while waiting (e.g. to drain a
    queue of progress events). On an exception or KeyboardInterrupt every item not yet started
    is cancelled before it propagates; the executor itself belongs to the caller.
    """
    work = list(items)
    results: dict[int, R] = {}

    def finish(index: int, compute: Callable[[], R]) -> None:
        try:
            result = compute()
        except Exception as exc:
            if on_error is None:
                raise
            result = on_error(index, exc)
        results[index] = result
        if on_result is not None:
            on_result(index, result)

    if executor is None:
        for i, item in enumerate(work):
            finish(i, functools.partial(fn, item))
        return [results[i] for i in range(len(work))]

    futures = {executor.submit(fn, item): i for i, item in enumerate(work)}
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(
                pending,
                timeout=interval if tick is not None else None,
                return_when=FIRST_COMPLETED,
            )
            if tick is not None:
                tick()
            for future in sorted(done, key=futures.__getitem__):
                finish(futures[future], future.result)
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return [results[i] for i in range(len(work))]

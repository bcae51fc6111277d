"""The parallel helper: cores from the CPU affinity, results in input order whatever the
completion order, any executor, errors turned into results or cancelling the rest."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from shrinkcli import parallel


def _slow_square(x: int) -> int:
    time.sleep(0.01 * (5 - x))  # the first items finish last
    return x * x


def test_cores_follow_the_cpu_affinity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert parallel.cores() == 3


def test_cores_without_affinity_are_the_machines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert parallel.cores() == 6
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert parallel.cores() == 1


def test_the_start_method_is_fork_only_without_other_threads() -> None:
    import multiprocessing

    can_fork = "fork" in multiprocessing.get_all_start_methods()
    if threading.active_count() == 1:
        assert parallel.mp_context().get_start_method() == ("fork" if can_fork else "spawn")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert parallel.mp_context().get_start_method() == "spawn"
    finally:
        stop.set()
        other.join()


def test_results_come_in_input_order_from_any_executor() -> None:
    seen: list[int] = []
    with ThreadPoolExecutor(4) as ex:
        out = parallel.ordered_map(
            _slow_square, range(5), executor=ex, on_result=lambda i, r: seen.append(i)
        )
    assert out == [0, 1, 4, 9, 16]
    assert sorted(seen) == [0, 1, 2, 3, 4]
    assert parallel.ordered_map(_slow_square, range(5)) == out  # in this process


def test_a_process_pool_gives_the_same_results() -> None:
    with parallel.pool(2) as ex:
        assert ex is not None
        assert parallel.ordered_map(_slow_square, range(5), executor=ex) == [0, 1, 4, 9, 16]
    with parallel.pool(1) as ex:
        assert ex is None  # one worker: no pool, the work runs here


def _fail_on_two(x: int) -> int:
    if x == 2:
        raise ValueError("two")
    return x


def test_errors_become_results_or_propagate() -> None:
    with ThreadPoolExecutor(2) as ex:
        out = parallel.ordered_map(_fail_on_two, range(4), executor=ex, on_error=lambda i, exc: -i)
        assert out == [0, 1, -2, 3]
        with pytest.raises(ValueError, match="two"):
            parallel.ordered_map(_fail_on_two, range(4), executor=ex)
    assert parallel.ordered_map(_fail_on_two, range(4), on_error=lambda i, e: str(e)) == [
        0,
        1,
        "two",
        3,
    ]


def test_an_interrupt_cancels_what_has_not_started() -> None:
    started: list[int] = []
    gate = threading.Event()

    def work(x: int) -> int:
        started.append(x)
        if x > 0:
            gate.wait(5)
        return x

    def interrupt(i: int, r: int) -> None:
        raise KeyboardInterrupt

    with ThreadPoolExecutor(1) as ex:
        try:
            with pytest.raises(KeyboardInterrupt):
                parallel.ordered_map(work, range(20), executor=ex, on_result=interrupt)
        finally:
            gate.set()
    assert started in ([0], [0, 1])  # at most the one running went on; the rest were cancelled


def test_tick_runs_while_waiting() -> None:
    """The work waits until it has seen three ticks (with a bound far above any machine's), so
    the test asserts that ticks come while waiting, not how fast a loaded machine wakes up."""
    ticks: list[float] = []
    ticked = threading.Event()

    def tick() -> None:
        ticks.append(time.monotonic())
        if len(ticks) >= 3:
            ticked.set()

    with ThreadPoolExecutor(1) as ex:
        parallel.ordered_map(
            lambda x: ticked.wait(60) and x, [1], executor=ex, tick=tick, interval=0.02
        )
    assert ticked.is_set() and len(ticks) >= 3


def test_work_in_background_gives_its_result_or_error_and_holds_nobody_up() -> None:
    """`in_background` runs the work beside the caller: its result or its error when asked,
    no thread left after (a fork may follow), and a daemon thread that a caller stopping early
    (Ctrl-C) does not wait for."""
    started = threading.Event()
    release = threading.Event()

    def work() -> int:
        started.set()
        release.wait(5)
        return 42

    result = parallel.in_background(work)
    assert started.wait(5)  # running before anyone asks
    busy = [t for t in threading.enumerate() if t.name == "shrink-background"]
    assert len(busy) == 1 and busy[0].daemon  # the process may end without it
    release.set()
    assert result() == 42
    assert not busy[0].is_alive()  # joined: no thread left for a fork (`mp_context`)

    def failing() -> int:
        raise MemoryError("8 MB")

    with pytest.raises(MemoryError, match="8 MB"):
        parallel.in_background(failing)()
    assert not [t for t in threading.enumerate() if t.name == "shrink-background"]

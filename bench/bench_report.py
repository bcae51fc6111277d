"""Benchmark of the report: `shrink report scenarios/*.yaml` as a whole process (target ≤ 8 s
median for the post's six scenarios on 2 cores), how the parallel split compares (scenarios in
worker processes vs one scenario at a time with the animation's own workers), and seconds per
stage. Prints figures; it never fails."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted(str(p) for p in (ROOT / "scenarios").glob("*.yaml"))
SHRINK = [sys.executable, "-m", "shrinkcli"]
REPEAT = 3


def whole_process(jobs: int | None) -> float:
    """Median wall seconds of the command, from process start to exit."""
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        argv = [*SHRINK, "report", *SCENARIOS, "-o", str(Path(tmp) / "report"), "--quiet"]
        if jobs is not None:
            argv += ["--jobs", str(jobs)]
        for _ in range(REPEAT):
            t0 = time.perf_counter()
            subprocess.run(argv, check=True, cwd=ROOT, capture_output=True)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def splits() -> None:
    """How to use the cores, in process (warm): scenarios in parallel workers, each drawing
    its frames alone (what `shrink report` does), or one scenario at a time, its frames drawn
    by one or by several processes."""
    from shrinkcli.parallel import cores as count_cores
    from shrinkcli.report import build_report, load_scenarios, scenarios
    from shrinkcli.scenario import load_scenario

    cores = count_cores()

    def one_at_a_time(gif_jobs: int) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            for i, p in enumerate(SCENARIOS):
                sc = load_scenario(p)
                scenarios.run_scenario(
                    sc, Path(tmp) / sc.name, index=i, total=len(SCENARIOS), gif_jobs=gif_jobs
                )

    def parallel() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            build_report(load_scenarios(SCENARIOS), Path(tmp) / "report", jobs=cores)

    one_at_a_time(1)  # warm up
    for label, f in (
        (f"scenarios in {cores} workers, frames drawn alone", parallel),
        ("one scenario at a time, frames in 1 process", lambda: one_at_a_time(1)),
        (f"one scenario at a time, frames in {cores} processes", lambda: one_at_a_time(cores)),
    ):
        times = []
        for _ in range(REPEAT):
            t0 = time.perf_counter()
            f()
            times.append(time.perf_counter() - t0)
        print(f"  {label:<52} {statistics.median(times):.2f} s")


def stages() -> None:
    """Seconds per stage, summed over the scenarios, of one in-process run (serial, jobs=1, so
    the figures are not blurred by two processes sharing the cores)."""
    from shrinkcli.report import STAGES, build_report, load_scenarios

    with tempfile.TemporaryDirectory() as tmp:
        build_report(load_scenarios(SCENARIOS[:1]), Path(tmp) / "warm", jobs=1)  # imports, fonts
        result = build_report(load_scenarios(SCENARIOS), Path(tmp) / "report", jobs=1)
    total: dict[str, float] = defaultdict(float)
    print(f"  {'scenario':<24}" + "".join(f"{s:>10}" for s in STAGES))
    for r in result.reports:
        print(f"  {r.name:<24}" + "".join(f"{r.seconds.get(s, 0.0):>10.3f}" for s in STAGES))
        for s in STAGES:
            total[s] += r.seconds.get(s, 0.0)
    print(f"  {'all':<24}" + "".join(f"{total[s]:>10.3f}" for s in STAGES))
    print(f"  pages (index.html, report.md, summary.csv): {result.seconds['pages']:.3f} s")


def main() -> None:
    from shrinkcli.parallel import cores as count_cores

    cores = count_cores()
    print(f"shrink report, {len(SCENARIOS)} scenarios, {cores} cores, median of {REPEAT} runs")
    default = whole_process(None)
    print(
        f"  whole process, default --jobs {cores} (scenarios in parallel): {default:.2f} s "
        f"(target ≤ 8 s)"
    )
    print(f"  whole process, --jobs 1 (one process, no pool):             {whole_process(1):.2f} s")
    print("splitting the work (in process, warm, median):")
    splits()
    print("seconds per stage (in process, --jobs 1):")
    stages()


if __name__ == "__main__":
    from perfdoc import recorded  # bench/ is on the path of a script run from it

    with recorded(__file__, "The report of the six scenarios"):
        main()

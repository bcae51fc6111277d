"""Benchmark: a Monte Carlo study of the six post scenarios (1,000 replications each, both
cores), in-process, and the per-replication cost, beside that of a bootstrap replication of a
data scenario (lme4's sleepstudy). Prints figures; never fails."""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shrinkcli.parallel import cores  # noqa: E402
from shrinkcli.scenario import load_scenario  # noqa: E402
from shrinkcli.studies import bootstrap_of, replicate, run_study  # noqa: E402

REPS = int(os.environ.get("BENCH_STUDY_REPS", "1000"))


def main() -> None:
    scenarios = [load_scenario(p) for p in sorted((ROOT / "scenarios").glob("*.yaml"))]
    print("one replication (simulate with R's generator + fit), in-process, median of 30")
    for s in scenarios:
        times = []
        for k in range(1, 31):
            t = time.perf_counter()
            replicate(s, k)
            times.append(time.perf_counter() - t)
        print(f"  {s.name:<24} {statistics.median(times) * 1e3:6.2f} ms")
    sleep = load_scenario(ROOT / "examples" / "sleepstudy.yaml")
    boot = bootstrap_of(sleep)
    times = []
    for k in range(1, 31):
        t = time.perf_counter()
        replicate(sleep, k, boot)
        times.append(time.perf_counter() - t)
    print(f"  {'sleepstudy (bootstrap)':<24} {statistics.median(times) * 1e3:6.2f} ms")
    jobs = cores()
    t = time.perf_counter()
    result = run_study(scenarios, REPS, jobs=jobs)
    wall = time.perf_counter() - t
    n = len(result.replications)
    print(f"study: {len(scenarios)} scenarios × {REPS} replications = {n} fits, {jobs} processes")
    print(f"  wall time {wall:.1f} s  ({wall / n * 1e3:.2f} ms per replication)")


if __name__ == "__main__":
    from perfdoc import recorded  # bench/ is on the path of a script run from it

    with recorded(__file__, "A study of the six scenarios"):
        main()

"""Benchmark: what one replication of a Monte Carlo design costs — the baseline design (100
clusters × 10 observations) simulated with R's generator, fitted, the by-cluster fits and the
study's summary — in shrink's batched study (one process), against an R loop of the post's
`create_data()` + `lmer()` per replication, in the same run (skipped, saying so, without
Rscript and lme4). Then a small design sweep on every core. Prints medians; never fails.

Target: a replication costs ≤ 0.04 × the R loop's. Run: .venv/bin/python bench/bench_sweep.py
(BENCH_SWEEP_ROUNDS, BENCH_SWEEP_REPS, BENCH_SWEEP_R_REPS change the sizes).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shrinkcli.parallel import cores  # noqa: E402
from shrinkcli.report.rscript import CREATE_DATA  # noqa: E402
from shrinkcli.scenario import load_scenario  # noqa: E402
from shrinkcli.studies import (  # noqa: E402
    BATCH,
    expand,
    parse_vary,
    replicate,
    run_study,
    run_sweep,
)

ROUNDS = int(os.environ.get("BENCH_SWEEP_ROUNDS", "3"))
REPS = int(os.environ.get("BENCH_SWEEP_REPS", "1000"))
R_REPS = int(os.environ.get("BENCH_SWEEP_R_REPS", "40"))

# The post's create_data() (the text `reproduce.R` carries) and lmer(), once per replication,
# each timed on its own; prints the median in seconds.
R_LOOP = (
    "suppressMessages({library(dplyr); library(tibble); library(lme4)})\n"
    + CREATE_DATA
    + r"""
reps <- as.integer(commandArgs(TRUE)[1])
invisible(lmer(y ~ x + (x | cluster), create_data()))  # warm up
times <- vapply(seq_len(reps), function(k) {
  t <- proc.time()[["elapsed"]]
  mod <- lmer(y ~ x + (x | cluster), create_data(seed = 888 + k - 1))
  proc.time()[["elapsed"]] - t
}, numeric(1))
cat(median(times), "\n")
"""
)


def r_loop(reps: int) -> float | None:
    """The R loop's median seconds per replication, or None (saying why) without R."""
    if shutil.which("Rscript") is None:
        print("  R loop: skipped (no Rscript on PATH)")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "loop.R"
        script.write_text(R_LOOP)
        try:
            out = subprocess.run(
                ["Rscript", str(script), str(reps)], capture_output=True, text=True, timeout=600
            )
        except subprocess.TimeoutExpired:
            print("  R loop: skipped (timed out)")
            return None
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        print(f"  R loop: skipped (R failed: {last})")
        return None
    return float(out.stdout.split()[0])


def main() -> None:
    s = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    print(
        f"one replication of the baseline design (1,000 rows, 100 clusters), "
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )
    run_study([s], BATCH, jobs=1)  # warm up (imports, caches)
    batched = []
    for i in range(ROUNDS):  # a study of REPS fresh replications each round
        t = time.perf_counter()
        run_study([s], REPS, jobs=1, seed=888 + REPS * i)
        batched.append((time.perf_counter() - t) / REPS)
    single = []
    for k in range(1, 31):
        t = time.perf_counter()
        replicate(s, k)
        single.append(time.perf_counter() - t)
    ms = statistics.median(batched) * 1e3
    print(
        f"  shrink, a study of {REPS:,} replications (simulate + fit + by-cluster fits + "
        f"summary) in batches of {BATCH}, 1 process: {ms:.2f} ms per replication "
        f"(median of {ROUNDS} studies)"
    )
    print(
        f"  shrink, one replication at a time (the single fit): "
        f"{statistics.median(single) * 1e3:.2f} ms"
    )
    r = r_loop(R_REPS)
    if r is not None:
        print(
            f"  R loop, create_data() + lmer(): {r * 1e3:.1f} ms per replication "
            f"(median of {R_REPS})"
        )
        print(f"  ratio shrink / R: {ms / (r * 1e3):.3f}  (target ≤ 0.04)")
    designs = expand(s, parse_vary(["obs_per_cluster=3,10,30", "n_cluster=20,100"]))
    jobs = cores()
    t = time.perf_counter()
    run_sweep(designs, 200, jobs=jobs)
    wall = time.perf_counter() - t
    print(
        f"sweep: 6 designs × 200 replications on {jobs} processes: {wall:.1f} s "
        f"({wall / 1200 * 1e3:.2f} ms per replication)"
    )


if __name__ == "__main__":
    from perfdoc import recorded  # bench/ is on the path of a script run from it

    with recorded(__file__, "One replication of a design, against an R loop"):
        main()

"""Benchmark of whole processes, as a user runs them: each command next to its floor
(`python -c "import numpy"`) and its peer, timed in the same run, in rounds (every command once
per round, so that a busy machine slows all of them alike), medians and ratios, and the peak
memory (max RSS) of the million-row commands. Prints figures; it never fails.

Peers: the naive matplotlib loop (`naive_animation.py`: a pyplot figure per frame, saved with
imageio) for `animate` and `report`; mixedlm (PyPI, Rust) reading the same CSV with pandas and
fitting it, for the million-row pipes; R's lme4 through Rscript where it is installed.
mixedlm is looked for in this interpreter, then in the one named by SHRINK_BENCH_PEER_PYTHON;
whatever is not there is skipped and said.

    python bench/bench_process.py            # BENCH_ROUNDS=5 by default
    BENCH_STAGES=quick python bench/bench_process.py   # quick, heavy, big: a comma list

`typer._adapters` is what typer imports to coerce options (with pydantic's TypeAdapter), so
that line is the floor of a typer command that reads a pydantic-validated YAML file;
`typer_floor.py` is such a command written out (the same options and scenario fields as
`shrink fit`, numpy for the data, none of shrink's code), the floor of the framework itself.
"""

from __future__ import annotations

import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
TIMEOUT = 600.0
STAGES = set(os.environ.get("BENCH_STAGES", "quick,heavy,big").split(","))
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
SHRINK = [PY, "-m", "shrinkcli"]

BIG_SCENARIO = "name: big\nn_cluster: 100000\nobs_per_cluster: 10\n"

_MIXEDLM = """
import sys
import mixedlm
import pandas as pd
df = pd.read_csv(sys.argv[1], dtype={"cluster": str})
m = mixedlm.lmer("y ~ x + (x | cluster)", df)
print(m.REMLcrit())
"""

_LME4 = """
suppressMessages(library(lme4))
df <- read.csv(commandArgs(trailingOnly = TRUE)[1]); df$cluster <- factor(df$cluster)
m <- lmer(y ~ x + (x | cluster), df)
cat(REMLcrit(m), "\\n")
"""


@dataclass
class Run:
    """One benchmarked whole process (or pipe of two): its argv(s), and the times and peak
    memory of every round."""

    label: str
    argvs: list[list[str]]
    times: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)  # MB, the largest process of the pipe
    failed: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")


def run_once(run: Run, cwd: Path) -> None:
    """Start the processes (a pipe when there are two), wait for all, record wall time and
    each one's max RSS (wait4)."""
    errors = [tempfile.TemporaryFile() for _ in run.argvs]  # noqa: SIM115 - closed below
    t0 = time.perf_counter()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        stdin = None
        for i, argv in enumerate(run.argvs):
            last = i == len(run.argvs) - 1
            p = subprocess.Popen(
                argv,
                cwd=cwd,
                env=ENV,
                stdin=stdin,
                stdout=subprocess.DEVNULL if last else subprocess.PIPE,
                stderr=errors[i],
            )
            if stdin is not None:
                stdin.close()
            stdin = p.stdout
            procs.append(p)
        peak = 0.0
        codes = []
        for p in procs:
            _, status, usage = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            codes.append(p.returncode)
            peak = max(peak, usage.ru_maxrss / 1024)
        elapsed = time.perf_counter() - t0
        if any(codes):
            err = errors[codes.index(next(c for c in codes if c))]
            err.seek(0)
            last = (err.read().decode(errors="replace").strip().splitlines() or ["?"])[-1]
            run.failed = f"exit {codes}: {last[:80]}"
            return
        run.times.append(elapsed)
        run.rss.append(peak)
    finally:
        for e in errors:
            e.close()


def mixedlm_python() -> str | None:
    """An interpreter that can import mixedlm and pandas: this one, or SHRINK_BENCH_PEER_PYTHON."""
    for python in (PY, os.environ.get("SHRINK_BENCH_PEER_PYTHON")):
        if (
            python
            and subprocess.run(
                [python, "-c", "import mixedlm, pandas"], capture_output=True
            ).returncode
            == 0
        ):
            return python
    return None


def lme4_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    out = subprocess.run(["Rscript", "-e", "suppressMessages(library(lme4))"], capture_output=True)
    return out.returncode == 0


def rounds(
    runs: Sequence[Run], cwd: Path, n: int, before: Callable[[], None] | None = None
) -> None:
    """n rounds of every run, in turn (after one warm-up round, not counted)."""
    for k in range(n + 1):
        for run in runs:
            if run.failed:
                continue
            if before is not None:
                before()
            run_once(run, cwd)
            if k == 0 and run.times:  # the warm-up: page cache, compiled bytecode
                run.times.clear()
                run.rss.clear()


def fmt(seconds: float) -> str:
    return "—" if seconds != seconds else f"{seconds:.3f} s"


def ratio(a: Run | None, b: Run | None) -> str:
    if a is None or b is None or not a.times or not b.times:
        return "—"
    return f"{a.median / b.median:.2f}×"


def main() -> None:
    # shrink's bytecode compiled, as an installed package has it (see the Makefile's bench)
    compileall.compile_dir(ROOT / "shrinkcli", quiet=1)
    load = os.getloadavg()
    print(
        f"whole processes: {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} "
        f"/ {load[2]:.1f} at the start; medians of {ROUNDS} rounds (every command once a "
        "round)"
    )
    peer_py = mixedlm_python()
    has_r = lme4_available()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "big.yaml").write_text(BIG_SCENARIO)
        subprocess.run(
            [*SHRINK, "simulate", "big.yaml", "-o", "big.csv"], cwd=work, env=ENV, check=True
        )
        subprocess.run(
            [*SHRINK, "simulate", str(ROOT / "scenarios" / "baseline.yaml"), "-o", "baseline.csv"],
            cwd=work,
            env=ENV,
            check=True,
        )
        subprocess.run(
            [*SHRINK, "fit", "baseline.csv", "-o", "estimates.csv"], cwd=work, env=ENV, check=True
        )
        scenarios = sorted(str(p) for p in (ROOT / "scenarios").glob("*.yaml"))
        baseline = str(ROOT / "scenarios" / "baseline.yaml")

        floor = Run("python -c 'import numpy' (floor)", [[PY, "-c", "import numpy"]])
        quick = {
            "floor": floor,
            "help": Run("shrink --help", [[*SHRINK, "--help"]]),
            "fit": Run("shrink fit scenarios/baseline.yaml", [[*SHRINK, "fit", baseline]]),
            "frameworks": Run(
                "  its libraries: numpy.random, yaml, typer._adapters",
                [[PY, "-c", "import numpy.random, yaml, typer._adapters"]],
            ),
            "typer_floor": Run(
                "  the same command on the same libraries, no shrink",
                [[PY, str(ROOT / "bench" / "typer_floor.py"), "fit", baseline]],
            ),
        }
        if has_r:
            quick["fit_r"] = Run(
                "  R: Rscript + lme4 on the same CSV",
                [["Rscript", str(work / "lme4.R"), "baseline.csv"]],
            )
            (work / "lme4.R").write_text(_LME4)
        if "quick" in STAGES:
            rounds(list(quick.values()), work, max(ROUNDS, 7))

        heavy = {
            "floor": Run(floor.label, floor.argvs),
            "animate": Run(
                "shrink animate scenarios/baseline.yaml",
                [[*SHRINK, "animate", baseline, "-o", "a.gif", "-q"]],
            ),
            "naive": Run(
                "  naive matplotlib loop (peer)",
                [[PY, str(ROOT / "bench" / "naive_animation.py"), "estimates.csv", "naive.gif"]],
            ),
            "report": Run(
                "shrink report scenarios/*.yaml",
                [[*SHRINK, "report", *scenarios, "-o", "report", "-q"]],
            ),
        }
        if "heavy" in STAGES:
            rounds(
                list(heavy.values()),
                work,
                max(ROUNDS // 2, 3),
                before=lambda: shutil.rmtree(work / "report", ignore_errors=True),
            )

        big = {
            "floor": Run(floor.label, floor.argvs),
            "simulate": Run(
                "shrink simulate big.yaml -o big2.csv (1M rows)",
                [[*SHRINK, "simulate", "big.yaml", "-o", "big2.csv"]],
            ),
            "pipe": Run(
                "shrink simulate big.yaml | shrink fit -",
                [[*SHRINK, "simulate", "big.yaml"], [*SHRINK, "fit", "-"]],
            ),
            "pipe_parquet": Run(
                "  the same pipe in Parquet (-f parquet | fit -)",
                [[*SHRINK, "simulate", "big.yaml", "-f", "parquet"], [*SHRINK, "fit", "-"]],
            ),
            "json": Run(
                "shrink fit big.csv -f json",
                [[*SHRINK, "fit", "big.csv", "-f", "json", "-o", "fit.json"]],
            ),
            "parquet": Run(
                "shrink fit big.csv -f parquet",
                [[*SHRINK, "fit", "big.csv", "-f", "parquet", "-o", "fit.parquet"]],
            ),
        }
        if peer_py is not None:
            (work / "mixedlm_fit.py").write_text(_MIXEDLM)
            big["mixedlm"] = Run(
                "  mixedlm: pd.read_csv + lmer (peer)", [[peer_py, "mixedlm_fit.py", "big.csv"]]
            )
        if "big" in STAGES:
            rounds(list(big.values()), work, ROUNDS)
        if has_r and "big" in STAGES:
            lme4_big = Run(
                "  R: Rscript + lme4 (one run)", [["Rscript", str(work / "lme4.R"), "big.csv"]]
            )
            run_once(lme4_big, work)
        else:
            lme4_big = None

    rows: list[tuple[str, str, str, str, str]] = []

    def row(run: Run | None, vs_floor: Run | None, peer: Run | None, target: str) -> None:
        if run is None:
            return
        value = run.failed or fmt(run.median)
        rows.append((run.label, value, ratio(run, vs_floor), ratio(run, peer), target))

    row(quick["floor"], None, None, "")
    row(quick["help"], quick["floor"], None, "≤ 1.5× floor")
    row(quick["fit"], quick["floor"], quick.get("fit_r"), "≤ 2.5× floor")
    row(quick["frameworks"], quick["floor"], None, "(what fit imports before its own code)")
    row(quick["typer_floor"], quick["floor"], None, "(typer_floor.py: the framework's floor)")
    row(quick.get("fit_r"), quick["floor"], None, "")
    row(heavy["floor"], None, None, "")
    row(heavy["animate"], heavy["floor"], heavy["naive"], "≤ 0.08× naive loop")
    row(heavy["report"], heavy["floor"], heavy["naive"], "≤ 0.15× naive loop")
    row(heavy["naive"], heavy["floor"], None, "")
    row(big["floor"], None, None, "")
    peer = big.get("mixedlm")
    row(big["simulate"], big["floor"], peer, "≤ 0.15× mixedlm")
    row(big["pipe"], big["floor"], peer, "≤ 0.2× mixedlm")
    row(big["pipe_parquet"], big["floor"], peer, "(no text: the same doubles)")
    row(big["json"], big["floor"], peer, "≤ 0.2× mixedlm")
    row(big["parquet"], big["floor"], peer, "≤ 0.2× mixedlm")
    row(peer, big["floor"], None, "")
    row(lme4_big, big["floor"], None, "")
    if peer is None:
        rows.append(("  mixedlm", "not importable (set SHRINK_BENCH_PEER_PYTHON)", "", "", ""))
    if not has_r:
        rows.append(("  R/lme4", "Rscript or lme4 not installed", "", "", ""))

    width = max(len(r[0]) for r in rows) + 2
    print(f"\n{'command':<{width}}{'median':>12}{'÷ floor':>10}{'÷ peer':>10}   target")
    for label, value, vs_floor, vs_peer, target in rows:
        print(f"{label:<{width}}{value:>12}{vs_floor:>10}{vs_peer:>10}   {target}")
    print("\npeak memory (max RSS of the largest process), 1M rows:")
    for key in ("simulate", "pipe", "pipe_parquet", "json", "parquet", "mixedlm"):
        run = big.get(key)
        if run is not None and run.rss:
            print(
                f"  {run.label.strip():<48} {max(run.rss):6.0f} MB   "
                f"{'target ≤ 300 MB' if key != 'mixedlm' else ''}"
            )
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")


if __name__ == "__main__":
    from perfdoc import recorded  # bench/ is on the path of a script run from it

    with recorded(__file__, "Whole processes against their floor and peers"):
        main()

"""Benchmark of the mixed-model engine (prints figures, never fails).

Native engine in-process (`fit` on the reference baseline, `fit_arrays` on 1e5 and 1e6 rows) with
peak memory, then statsmodels MixedLM (lbfgs), the `mixedlm` package if importable and lme4 via
Rscript if available, each in a subprocess with a timeout. Run: .venv/bin/python bench/bench_fit.py
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
from pathlib import Path

# The engine as shrink runs it: one BLAS thread (shrinkcli sets it before numpy loads; here
# numpy loads first). Two threads make its small BLAS calls many times slower on a busy machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "data" / "reference"
SIZES = ((100_000, 10_000), (1_000_000, 100_000))
TIMEOUT = 150.0  # seconds per foreign-engine measurement
#: Fastest run of each median_time call, for context when the machine is loaded.
BEST: dict[object, float] = {}


def make_arrays(n: int, k: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Balanced clusters (n/k rows each) from the post's baseline model, rows shuffled."""
    rng = np.random.default_rng(seed)
    codes = rng.permutation(np.repeat(np.arange(k), n // k))
    x = rng.normal(size=n)
    b = rng.normal(size=(k, 2)) * np.array([0.5, 0.25])
    y = 1.0 + b[codes, 0] + (0.5 + b[codes, 1]) * x + rng.normal(size=n)
    return y, x, codes


def median_time(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    for _ in range(min(repeat, 20)):  # warm-up: caches, allocator, lazy imports
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    BEST[fn] = min(times)
    return statistics.median(times)


def peak_tracemalloc(fn) -> float:  # type: ignore[no-untyped-def]
    """Peak bytes allocated (numpy reports to tracemalloc) while fn runs, in MB."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


_CHILD = textwrap.dedent(
    """
    import resource, sys, time, json
    import numpy as np
    sys.path.insert(0, {root!r})
    from bench.bench_fit import make_arrays
    n, k = {n}, {k}
    y, x, codes = make_arrays(n, k)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    from shrinkcli.lmm import fit_arrays
    fit_arrays(y[:2000], x[:2000], np.repeat(np.arange(200), 10), 200)  # imports
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    fit_arrays(y, x, codes, k)
    dt = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({{"rss_data": base, "rss_before": before, "rss_after": after, "t": dt}}))
    """
)


def native_rss(n: int, k: int) -> dict[str, float] | None:
    """Max RSS of a fresh process around one fit (MB): before and after the fit."""
    root = str(Path(__file__).resolve().parents[1])
    code = _CHILD.format(root=root, n=n, k=k)
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT
        )
        return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 - a benchmark reports, it does not fail
        return None


_SM_CHILD = textwrap.dedent(
    """
    import sys, time, warnings
    import numpy as np
    sys.path.insert(0, {root!r})
    from bench.bench_fit import make_arrays
    from statsmodels.regression.mixed_linear_model import MixedLM
    warnings.simplefilter("ignore")
    y, x, codes = make_arrays({n}, {k})
    ex = np.column_stack((np.ones(len(y)), x))
    t0 = time.perf_counter()
    r = MixedLM(y, ex, groups=codes, exog_re=ex).fit(reml=True, method="lbfgs")
    print(time.perf_counter() - t0, -2 * r.llf)
    """
)

_MIXEDLM_CHILD = textwrap.dedent(
    """
    import sys, time
    import pandas as pd
    sys.path.insert(0, {root!r})
    from bench.bench_fit import make_arrays
    import mixedlm
    y, x, codes = make_arrays({n}, {k})
    df = pd.DataFrame({{"y": y, "x": x, "cluster": codes.astype(str)}})
    mixedlm.lmer("y ~ x + (x | cluster)", df.iloc[:2000])  # warm up (first call compiles)
    t0 = time.perf_counter()
    m = mixedlm.lmer("y ~ x + (x | cluster)", df)
    print(time.perf_counter() - t0, m.REMLcrit())
    """
)


def run_child(template: str, n: int, k: int) -> str:
    root = str(Path(__file__).resolve().parents[1])
    try:
        out = subprocess.run(
            [sys.executable, "-c", template.format(root=root, n=n, k=k)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return f"> {TIMEOUT:.0f} s (timeout)"
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["failed"])[-1]
        return f"failed: {last[:60]}"
    t, crit = out.stdout.split()[:2]
    if crit == "nan":
        return f"{float(t):.3f} s"
    return f"{float(t):.3f} s (criterion {float(crit):.4f})"


_R_SCRIPT = """
suppressMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
df <- read.csv(args[1]); df$cluster <- factor(df$cluster)
reps <- as.integer(args[2])
t <- sapply(seq_len(reps), function(i)
  system.time(m <<- lmer(y ~ x + (x | cluster), df))[["elapsed"]])
cat(median(t), REMLcrit(m), "\\n")
"""


def lme4_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    try:
        out = subprocess.run(
            ["Rscript", "-e", "suppressMessages(library(lme4))"], capture_output=True, timeout=60
        )
    except Exception:  # noqa: BLE001
        return False
    return out.returncode == 0


def run_lme4(csv: Path, reps: int) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write(_R_SCRIPT)
        script = fh.name
    try:
        out = subprocess.run(
            ["Rscript", script, str(csv), str(reps)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT * 2,
        )
    except subprocess.TimeoutExpired:
        return f"> {2 * TIMEOUT:.0f} s (timeout)"
    finally:
        Path(script).unlink(missing_ok=True)
    if out.returncode != 0:
        return "failed: " + (out.stderr.strip().splitlines() or ["?"])[-1][:60]
    t, crit = out.stdout.split()[:2]
    return f"{float(t):.3f} s (median of {reps}, criterion {float(crit):.4f})"


def main() -> None:
    from shrinkcli.lmm import fit, fit_arrays

    rows: list[tuple[str, str, str]] = []

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"shrink engine benchmark (load average {load:.2f} on {os.cpu_count()} CPUs)\n")

    # 1. baseline (reference data) in-process
    baseline = REFERENCE / "baseline" / "data.csv"
    if baseline.is_file():
        data = pd.read_csv(baseline)
        fit(data)
        fit_once = lambda: fit(data)  # noqa: E731
        t_fit = median_time(fit_once, 300)
        codes, uniq = pd.factorize(data["cluster"], sort=True)
        y0, x0 = data["y"].to_numpy(), data["x"].to_numpy()
        t_arr = median_time(lambda: fit_arrays(y0, x0, codes, len(uniq)), 300)
        t_fast = median_time(
            lambda: fit_arrays(y0, x0, codes, len(uniq), residual_quantiles=False), 300
        )
        rows.append(
            (
                "native fit() baseline 1e3/100",
                f"{t_fit * 1e3:.3f} ms (median of 300; best {BEST[fit_once] * 1e3:.3f} ms)",
                "target <= 2 ms",
            )
        )
        rows.append(("native fit_arrays() baseline", f"{t_arr * 1e3:.3f} ms", ""))
        rows.append(("native fit_arrays(no quantiles)", f"{t_fast * 1e3:.3f} ms", ""))
    else:
        t_fit = float("nan")

    # 2. large data from arrays, in-process
    native: dict[int, float] = {}
    for n, k in SIZES:
        y, x, codes = make_arrays(n, k)
        fit_arrays(y, x, codes, k)
        reps = 7 if n <= 100_000 else 5
        t = median_time(lambda y=y, x=x, codes=codes, k=k: fit_arrays(y, x, codes, k), reps)
        native[n] = t
        peak = peak_tracemalloc(lambda y=y, x=x, codes=codes, k=k: fit_arrays(y, x, codes, k))
        label = f"native fit_arrays {n:.0e}/{k:.0e}"
        target = "target <= 0.4 s, <= 300 MB" if n == 1_000_000 else ""
        rows.append((label, f"{t:.3f} s (median of {reps})", target))
        rows.append(("  peak allocations (tracemalloc)", f"{peak:.1f} MB", ""))
        rss = native_rss(n, k)
        if rss:
            grow = rss["rss_after"] - rss["rss_before"]
            rows.append(
                (
                    "  max RSS, fresh process",
                    f"{rss['rss_after']:.0f} MB (fit added {grow:.0f} MB; "
                    f"data+python {rss['rss_data']:.0f} MB)",
                    "",
                )
            )

    # 3. statsmodels MixedLM (lbfgs), 1e5 only (1e6 takes many minutes)
    n, k = SIZES[0]
    sm = run_child(_SM_CHILD, n, k)
    rows.append((f"statsmodels MixedLM lbfgs {n:.0e}/{k:.0e}", sm, "1 run"))
    rows.append(("statsmodels 1e6/1e5", "skipped (minutes)", ""))

    # 4. mixedlm (Rust) if importable
    try:
        import mixedlm  # type: ignore[import-not-found]  # noqa: F401

        for n, k in SIZES:
            rows.append((f"mixedlm {n:.0e}/{k:.0e}", run_child(_MIXEDLM_CHILD, n, k), "1 run"))
    except ImportError:
        rows.append(("mixedlm (PyPI, Rust)", "not installed", ""))

    # 5. lme4 via Rscript
    if lme4_available():
        with tempfile.TemporaryDirectory() as tmp:
            if baseline.is_file():
                rows.append(("lme4 lmer baseline 1e3/100", run_lme4(baseline, 11), ""))
            for (n, k), reps in zip(SIZES, (3, 1), strict=True):
                y, x, codes = make_arrays(n, k)
                csv = Path(tmp) / f"d{n}.csv"
                pd.DataFrame({"y": y, "x": x, "cluster": codes + 1}).to_csv(csv, index=False)
                rows.append((f"lme4 lmer {n:.0e}/{k:.0e}", run_lme4(csv, reps), ""))
    else:
        rows.append(("lme4 (Rscript)", "not available", ""))

    width = max(len(r[0]) for r in rows) + 2
    for name, value, note in rows:
        print(f"{name:<{width}}{value:<58}{note}")
    print("\nratios (other time / native time, same data):")
    for name, value, _ in rows:
        if name.startswith(("statsmodels MixedLM", "lme4 lmer 1e", "mixedlm 1e")) and " s" in value:
            try:
                other = float(value.split()[0])
            except ValueError:
                continue
            n = int(float(name.split()[-1].split("/")[0]))  # rows, e.g. "1e+06/1e+05"
            print(f"  {name}: {other / native[n]:.0f}x slower than native")


if __name__ == "__main__":
    from perfdoc import recorded  # bench/ is on the path of a script run from it

    with recorded(__file__, "The engine in-process, against lme4, mixedlm and statsmodels"):
        main()

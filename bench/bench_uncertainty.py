"""Benchmark of the uncertainty work (prints figures, never fails).

Profile intervals of every parameter on the six reference scenarios (criterion evaluations and
median time, against the fit itself in the same run, and against lme4's `confint(method =
"profile")` via Rscript when it is installed); the caterpillar plot; and the animation as MP4 and
WebM against the GIF (time and size). Run: .venv/bin/python bench/bench_uncertainty.py
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

# isort: off
import shrinkcli  # noqa: F401  (first: it keeps BLAS to one thread before numpy loads)

# isort: on
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "data" / "reference"
SCENARIOS = (
    "baseline",
    "more-subject-variance",
    "more-slope-variance",
    "few-observations",
    "more-observations",
    "unbalanced",
)


def median_time(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def lme4_confint(name: str) -> float | None:
    """Median seconds of lme4's profile confint (3 runs, inside R), or None without R."""
    if shutil.which("Rscript") is None:
        return None
    script = textwrap.dedent(f"""
        suppressMessages(library(lme4))
        df <- read.csv("{REFERENCE / name / "data.csv"}")
        mod <- lmer(y ~ x + (x | cluster), df)
        t <- replicate(3, system.time(suppressMessages(suppressWarnings(
          confint(mod, method = "profile"))))[["elapsed"]])
        cat(median(t))
    """)
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(["Rscript", f.name], capture_output=True, text=True, timeout=300)
        return float(out.stdout.strip())
    except (subprocess.SubprocessError, ValueError):
        return None
    finally:
        Path(f.name).unlink()


def main() -> None:
    from shrinkcli.lmm import fit, profile_intervals

    print("profile intervals of every parameter (in-process, median of 5)")
    print(
        f"{'scenario':24s} {'evals':>6s} {'fit':>8s} {'profile':>8s} {'ratio':>6s} "
        f"{'lme4':>8s} {'speed-up':>8s}"
    )
    for name in SCENARIOS:
        data = pd.read_csv(REFERENCE / name / "data.csv")
        result = fit(data)
        t_fit = median_time(lambda d=data: fit(d), 5)
        t_prof = median_time(lambda r=result: profile_intervals(r.stats, r.model), 5)
        evals = profile_intervals(result.stats, result.model).evaluations  # type: ignore[arg-type]
        t_r = lme4_confint(name)
        r_text = f"{t_r:8.2f}" if t_r is not None else "       –"
        up = f"{t_r / t_prof:7.0f}×" if t_r is not None else "       –"
        print(
            f"{name:24s} {evals:6d} {t_fit * 1e3:6.1f}ms {t_prof * 1e3:6.0f}ms "
            f"{t_prof / t_fit:5.0f}× {r_text}s {up}"
        )

    from shrinkcli import load_scenario, simulate
    from shrinkcli.pictures.animate import render_gif, render_video
    from shrinkcli.pictures.caterpillar import caterpillar_png
    from shrinkcli.scenario import AnimationOptions

    sim = simulate(load_scenario(str(ROOT / "scenarios" / "baseline.yaml")))
    result = fit(sim.data, truth=sim.truth)
    t_cat = median_time(lambda: caterpillar_png(result, title="t"), 3)
    print(f"\ncaterpillar plot, baseline (100 clusters): {t_cat:.2f} s")
    options = AnimationOptions()
    sizes = {}
    times = {}
    times["gif"] = median_time(
        lambda: sizes.__setitem__(
            "gif", len(render_gif(result, options, title="t", subtitle="s", jobs=1))
        ),
        3,
    )
    for fmt in ("mp4", "webm"):
        times[fmt] = median_time(
            lambda f=fmt: sizes.__setitem__(
                f, len(render_video(result, options, title="t", subtitle="s", format=f)[0])
            ),
            3,
        )
    print("baseline animation, 120 frames 600x450, one process:")
    for fmt in ("gif", "mp4", "webm"):
        print(
            f"  {fmt:5s} {times[fmt]:.2f} s  {sizes[fmt] / 1e6:.2f} MB "
            f"({sizes[fmt] / sizes['gif']:.2f} of the GIF)"
        )
    path = AnimationOptions(path="pooling")
    t_path = median_time(lambda: render_gif(result, path, title="t", subtitle="s", jobs=1), 3)
    print(f"  pooling path GIF: {t_path:.2f} s ({t_path / times['gif']:.2f}× the straight one)")


if __name__ == "__main__":
    from perfdoc import recorded  # bench/ is on the path of a script run from it

    with recorded(__file__, "Intervals: profiles, caterpillar plot, video"):
        main()

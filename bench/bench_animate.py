"""Benchmark of the animation: the 120-frame 600×450 GIF in-process (target ≤ 1.0 s median for
the baseline), the PNG, the GIF sizes, and `shrink animate` as a whole process (target ≤ 2.5 s).
Prints medians; it never fails."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "data" / "reference"
SCENARIOS = ("baseline", "unbalanced")
REPEAT = 5


def median_seconds(f: Callable[[], object], repeat: int = REPEAT) -> float:
    f()  # warm up: imports, fonts
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def whole_process(argv: list[str], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, cwd=ROOT, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from shrinkcli.lmm import fit
    from shrinkcli.pictures.animate import render_gif
    from shrinkcli.pictures.figure import render_png
    from shrinkcli.scenario import AnimationOptions

    options = AnimationOptions()
    print(f"cores: {os.cpu_count()}; 120 frames, 600x450, medians of {REPEAT} runs")
    for name in SCENARIOS:
        result = fit(pd.read_csv(REFERENCE / name / "data.csv"))
        for jobs in (None, 1):
            gif = render_gif(result, options, title=name, subtitle="bench", jobs=jobs)
            t = median_seconds(
                partial(render_gif, result, options, title=name, subtitle="bench", jobs=jobs)
            )
            label = "cores" if jobs is None else str(jobs)
            print(f"{name:11s} GIF jobs={label:5s} {t:6.3f} s   {len(gif) / 1e6:.2f} MB")
        png = render_png(result, options, title=name, subtitle="bench")
        t = median_seconds(partial(render_png, result, options, title=name, subtitle="bench"))
        print(f"{name:11s} PNG            {t:6.3f} s   {len(png) / 1e3:.0f} kB")

    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "baseline.gif")
        code = (
            "import pandas as pd; from shrinkcli.lmm import fit; "
            "from shrinkcli.pictures.animate import render_gif; "
            "from shrinkcli.scenario import AnimationOptions; "
            f"r = fit(pd.read_csv({str(REFERENCE / 'baseline' / 'data.csv')!r})); "
            f"open({out!r}, 'wb').write(render_gif(r, AnimationOptions(), title='b', subtitle='b'))"
        )
        t = whole_process([python, "-c", code])
        print(f"python -c 'fit + render_gif' (whole process, baseline)   {t:6.3f} s")
        shrink = Path(python).with_name("shrink")
        if shrink.exists():
            argv = [str(shrink), "animate", "scenarios/baseline.yaml", "-o", out, "--quiet"]
            t = whole_process(argv)
            print(f"shrink animate scenarios/baseline.yaml (whole process)    {t:6.3f} s")


if __name__ == "__main__":
    from perfdoc import recorded  # bench/ is on the path of a script run from it

    with recorded(__file__, "The animation"):
        main()

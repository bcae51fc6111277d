"""Benchmark: simulating 1,000,000 rows with either generator, and the whole-process start of
`shrink --help`, `shrink simulate` and `shrink fit` (medians). Prints figures; never fails."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shrinkcli.scenario import Scenario  # noqa: E402
from shrinkcli.simulate import simulate  # noqa: E402

SHRINK = str(Path(sys.executable).with_name("shrink"))


def median_time(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def process_time(args: list[str], repeat: int = 7) -> float:
    def run() -> None:
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)

    run()  # warm the file cache
    return median_time(run, repeat)


def main() -> None:
    print("simulate, in-process, median of 5")
    for rng in ("r", "numpy"):
        s = Scenario(n_cluster=100_000, obs_per_cluster=10, rng=rng)
        simulate(s)
        print(f"  1,000,000 rows, rng {rng:<5}  {median_time(lambda s=s: simulate(s), 5):.3f} s")
    s = Scenario()
    print(f"  baseline (1,000 rows), rng r  {median_time(lambda: simulate(s), 50) * 1e3:.2f} ms")
    print("whole process, median of 7")
    print(f"  shrink --help                          {process_time([SHRINK, '--help']):.3f} s")
    print(
        "  shrink simulate scenarios/baseline.yaml "
        f"{process_time([SHRINK, 'simulate', 'scenarios/baseline.yaml']):.3f} s"
    )
    print(
        "  shrink fit scenarios/baseline.yaml      "
        f"{process_time([SHRINK, 'fit', 'scenarios/baseline.yaml']):.3f} s"
    )
    mods = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, shrinkcli.cli as c; "
            "sys.argv=['shrink','fit','scenarios/baseline.yaml','-o','/dev/null'];\n"
            "try:\n c.app()\nexcept SystemExit: pass\n"
            "print('matplotlib' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.strip()
    print(f"  shrink fit imports matplotlib: {mods}")


if __name__ == "__main__":
    from perfdoc import recorded  # bench/ is on the path of a script run from it

    with recorded(__file__, "Simulating a million rows; process start"):
        main()

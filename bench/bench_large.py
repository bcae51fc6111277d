"""Benchmark of `shrink report` and `shrink animate --path pooling` from 2 to 100,000 clusters
(a scenario `n_cluster: K`, the other keys the baseline's): wall seconds (median of 3 runs up to
2,000 clusters, one run beyond) and each process's peak RSS. Prints figures; it never fails.
`python bench/bench_large.py 2 200` runs only the sizes given."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = (2, 200, 2_000, 20_000, 100_000)


def run(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        print(f"  failed (exit {proc.returncode}): {' '.join(argv)}")
    return seconds, usage.ru_maxrss / 1024.0  # kB on Linux


def main() -> None:
    sizes = tuple(int(a) for a in sys.argv[1:]) or SIZES
    shrink = str(Path(sys.executable).with_name("shrink"))
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cores: {os.cpu_count()}; "
        f"Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for k in sizes:
            yaml = Path(tmp) / f"c{k}.yaml"
            yaml.write_text(f"name: c{k}\nn_cluster: {k}\n")
            repeat = 3 if k <= 2_000 else 1
            for what, argv in (
                ("report", [shrink, "report", str(yaml), "-o", str(Path(tmp) / f"r{k}"), "-q"]),
                (
                    "animate --path pooling",
                    [
                        shrink,
                        "animate",
                        str(yaml),
                        "--path",
                        "pooling",
                        "-o",
                        str(Path(tmp) / f"c{k}.gif"),
                        "-q",
                    ],
                ),
            ):
                runs = []
                for _ in range(repeat):
                    subprocess.run(["rm", "-rf", str(Path(tmp) / f"r{k}")], check=False)
                    runs.append(run(argv))
                t = statistics.median(r[0] for r in runs)
                mb = max(r[1] for r in runs)
                print(
                    f"{k:>7,} clusters  {what:24s} {t:7.2f} s  peak RSS {mb:6.0f} MB"
                    + (f"  (median of {repeat})" if repeat > 1 else "")
                )


if __name__ == "__main__":
    from perfdoc import recorded  # bench/ is on the path of a script run from it

    with recorded(__file__, "Report and animation from 2 to 100,000 clusters"):
        main()

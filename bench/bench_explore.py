"""Benchmark of the explorer page: how long one update takes in the browser (simulate, fit,
measure, the numbers and one frame of the picture) for 100 clusters × 10 observations (target
≤ 50 ms) and 1,000 × 10, in Debian's headless Chromium, against the same work done by the Python
package in this process. Medians over seeds after a warm-up; prints figures, never fails."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SIZES = ((100, 10), (1000, 10), (1000, 100))
WARMUP, REPEAT = 5, 25


def page_file(folder: Path) -> Path:
    from shrinkcli.report.pages import explore_page, stylesheet

    (folder / "style.css").write_text(stylesheet())
    page = folder / "explore.html"
    page.write_text(explore_page([]))
    return page


def browser_updates(page: Path) -> dict[tuple[int, int], dict[str, float]]:
    """Median milliseconds of each part of one update, per size."""
    from playwright.sync_api import sync_playwright

    out: dict[tuple[int, int], dict[str, float]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        ctx = browser.new_context(
            viewport={"width": 1280, "height": 900}, offline=True, reduced_motion="reduce"
        )
        p = ctx.new_page()
        p.goto(page.as_uri())
        p.wait_for_function("window.shrinkExplorer && shrinkExplorer.current")
        for k, n in SIZES:
            runs = p.evaluate(
                """([k, n, warm, reps]) => {
                  const out = [];
                  for (let i = 0; i < warm + reps; i++) {
                    const t = shrinkExplorer.apply({n_cluster: k, obs_per_cluster: n, seed: i});
                    const t0 = performance.now();
                    shrinkExplorer.draw(0.5);
                    const frame = performance.now() - t0;
                    if (i >= warm) out.push(Object.assign({frame}, t));
                  }
                  return out;
                }""",
                [k, n, WARMUP, REPEAT],
            )
            out[(k, n)] = {
                key: statistics.median(r[key] for r in runs)
                for key in ("simulate", "fit", "draw", "total", "frame")
            }
        browser.close()
    return out


def python_updates() -> dict[tuple[int, int], float]:
    """Median milliseconds of simulate + fit + measure in this process, per size."""
    from shrinkcli.lmm import fit
    from shrinkcli.report.metrics import measure
    from shrinkcli.scenario import Scenario
    from shrinkcli.simulate import simulate

    out = {}
    for k, n in SIZES:
        times = []
        for i in range(WARMUP + REPEAT):
            t0 = time.perf_counter()
            s = Scenario(n_cluster=k, obs_per_cluster=n, seed=i)
            sim = simulate(s)
            result = fit(sim.data, truth=sim.truth)
            measure(result, sim.data["x"].to_numpy(float))
            if i >= WARMUP:
                times.append((time.perf_counter() - t0) * 1e3)
        out[(k, n)] = statistics.median(times)
    return out


def main() -> None:
    if not CHROMIUM.exists():
        print("skipped: no /usr/bin/chromium (apt-get install chromium)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        page = page_file(Path(tmp))
        weight = page.stat().st_size
        browser = browser_updates(page)
    python = python_updates()
    print(f"explore.html with its scripts: {weight / 1000:.0f} KB (limit 300 KB)")
    print(
        "one update in the browser, medians over "
        f"{REPEAT} seeds (ms): simulate / fit+measure / numbers+first frame = total; "
        "one more frame of the motion; the Python package's simulate+fit+measure"
    )
    for (k, n), b in browser.items():
        target = "  (target ≤ 50 ms)" if (k, n) == (100, 10) else ""
        print(
            f"  {k:>5} clusters × {n:<3}: {b['simulate']:6.1f} / {b['fit']:6.1f} / "
            f"{b['draw']:5.1f} = {b['total']:6.1f} ms{target}; frame {b['frame']:5.1f} ms; "
            f"Python {python[(k, n)]:6.1f} ms ({python[(k, n)] / b['total']:.1f}× the page)"
        )


if __name__ == "__main__":
    from perfdoc import recorded  # bench/ is on the path of a script run from it

    with recorded(__file__, "The explorer in Chromium"):
        main()

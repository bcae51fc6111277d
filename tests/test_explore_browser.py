"""The explorer in a real browser (Debian's headless Chromium through Playwright, offline, from
file://): its engine against the Python package — R's generator against R's own streams, the
simulated data against `shrink simulate` to 1e-12, the fit against the Python engine (criterion
within 1e-6, estimates within 1e-5) for the post's scenarios and random settings — and the page:
labelled keyboard controls, every change redrawing numbers that equal the command line's, the
motion controls, the downloaded scenario reproducing the fit through `shrink fit`."""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import POST_SCENARIOS, REFERENCE, SCENARIO_DIR
from typer.testing import CliRunner

from shrinkcli.cli import app
from shrinkcli.errors import ShrinkError
from shrinkcli.lmm import Fit, fit
from shrinkcli.model import SINGULAR_TOL, ModelSpec
from shrinkcli.report import build_report, load_scenarios
from shrinkcli.report.explore import SLIDERS
from shrinkcli.report.metrics import Metrics, measure
from shrinkcli.report.pages import fmt
from shrinkcli.rrng import RRandom, qnorm
from shrinkcli.scenario import AnimationOptions, Scenario, load_scenario
from shrinkcli.simulate import random_effect_factor, simulate

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
WIDTHS = {"desktop": 1280, "phone": 390}
#: Agreement of the page's engine with the Python package.
DATA_TOL = 1e-12  # simulated data, relative to max(1, |value|)
CRITERION_TOL = 1e-6
ESTIMATE_TOL = 1e-5


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the post's six scenarios, built once for this module."""
    out = tmp_path_factory.mktemp("explore-browser") / "report"
    paths = [SCENARIO_DIR / f"{name}.yaml" for name in POST_SCENARIOS]
    few_frames = AnimationOptions(frames=2)  # the animations are not what is tested here
    scenarios = [
        s.model_copy(update={"animation": few_frames}) if isinstance(s, Scenario) else s
        for s in load_scenarios(paths)
    ]
    result = build_report(scenarios, out, jobs=2)
    assert result.ok
    return out


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    """Chromium through Playwright (the `chromium` fixture finds it, or skips outside CI)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(chromium), args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


class Watched:
    """A page with its console errors, uncaught exceptions and requests recorded."""

    def __init__(
        self,
        browser: Any,
        url: str,
        *,
        width: int = 1280,
        motion: bool = False,
        downloads: bool = False,
        ready: bool = True,
    ) -> None:
        self.context = browser.new_context(
            viewport={"width": width, "height": 900},
            offline=True,
            accept_downloads=downloads,
            reduced_motion="no-preference" if motion else "reduce",
        )
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.page.on(
            "console",
            lambda m: self.problems.append(m.text) if m.type in ("error", "warning") else None,
        )
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url, wait_until="load")
        if ready:
            self.page.wait_for_function("window.shrinkExplorer && shrinkExplorer.current")

    def close(self) -> None:
        self.context.close()
        assert not self.problems, self.problems
        remote = [u for u in self.requests if not u.startswith(("file:", "data:", "blob:"))]
        assert not remote, f"fetched from the network: {remote}"


@pytest.fixture(scope="module")
def engine(browser: Any, report_dir: Path) -> Iterator[Any]:
    """A page of the explorer, for calling its engine."""
    w = Watched(browser, (report_dir / "explore.html").as_uri())
    yield w.page
    w.close()


# -- the settings compared -------------------------------------------------------------------------


def post_settings() -> list[dict[str, Any]]:
    out = []
    for name in POST_SCENARIOS:
        s = load_scenario(SCENARIO_DIR / f"{name}.yaml")
        out.append({"params": s.parameters(), "method": "reml", "random": "intercept-slope"})
    return out


def random_settings(n: int, seed: int) -> list[dict[str, Any]]:
    """Valid settings over the explorer's controls (each slider's values, any intercept, slope
    and seed), every model, at most 10,000 rows each."""
    rng = np.random.default_rng(seed)
    values = {key: vals for key, _, vals in SLIDERS}
    out: list[dict[str, Any]] = []
    while len(out) < n:
        p: dict[str, Any] = {key: rng.choice(vals).item() for key, vals in values.items()}
        if p["n_cluster"] * p["obs_per_cluster"] > 10_000:
            continue
        p["intercept"] = round(float(rng.uniform(-5, 5)), 3)
        p["beta"] = round(float(rng.uniform(-3, 3)), 3)
        p["seed"] = int(rng.integers(-(2**31) + 1, 2**31 - 1))
        if round(p["n_cluster"] * p["obs_per_cluster"] * p["balanced"]) < 1:
            continue
        out.append(
            {
                "params": p,
                "method": str(rng.choice(["reml", "ml"])),
                "random": str(rng.choice(["intercept-slope", "uncorrelated", "intercept"])),
            }
        )
    return out


def scenario_of(setting: dict[str, Any]) -> Scenario:
    return Scenario(
        **setting["params"], model={"method": setting["method"], "random": setting["random"]}
    )


SIMULATE_JS = """text => JSON.stringify(JSON.parse(text).map(s => {
  const d = shrinkEngine.simulate(s.params);
  return {y: Array.from(d.y), x: Array.from(d.x), cluster: Array.from(d.cluster),
          true_intercept: Array.from(d.truth.true_intercept),
          true_slope: Array.from(d.truth.true_slope)};
}))"""

FIT_JS = """text => JSON.stringify(JSON.parse(text).map(c => {
  try {
    const f = shrinkEngine.fit(c.data, c.model);
    return {fit: f, metrics: shrinkEngine.measure(f, c.truth)};
  } catch (e) {
    return {error: e.message};
  }
}))"""


def run(page: Any, script: str, arg: Any) -> Any:
    """Evaluate `script` on `arg`, both ways as JSON text (much faster than Playwright's own
    serialization of long arrays; NaN becomes null)."""
    return json.loads(page.evaluate(script, json.dumps(arg)))


def _gap(a: Any, b: Any, *, relative: bool = False) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    if not a.size:
        return 0.0
    assert np.array_equal(np.isnan(a), np.isnan(b))
    d = np.abs(np.nan_to_num(a) - np.nan_to_num(b))
    if relative:
        d = d / np.maximum(1.0, np.abs(np.nan_to_num(b)))
    return float(d.max())


# -- R's generator ---------------------------------------------------------------------------------

STREAMS = json.loads((REFERENCE / "r-rng.json").read_text())


def test_generator_gives_rs_own_streams(engine: Any) -> None:
    got = engine.evaluate(
        """seeds => seeds.map(s => {
      const u = new shrinkEngine.RRandom(s).runif(10), z = new shrinkEngine.RRandom(s).rnorm(10);
      return {runif: Array.from(u), rnorm: Array.from(z),
              a: Array.from(new shrinkEngine.RRandom(s).sampleInt(1000, 10)),
              b: Array.from(new shrinkEngine.RRandom(s).sampleInt(7))};
    })""",
        [int(s) for s in STREAMS],
    )
    for seed, g in zip(STREAMS, got, strict=True):
        r = STREAMS[seed]
        np.testing.assert_allclose(g["runif"], r["runif"], rtol=1e-13, atol=0)
        np.testing.assert_allclose(g["rnorm"], r["rnorm"], rtol=0, atol=1e-12)
        assert g["a"] == r["sample_int_1000_10"]
        assert g["b"] == r["sample_int_7"]


def test_generator_equals_the_python_one(engine: Any) -> None:
    """Bit for bit: raw uniforms and normals, both samplers (the hashed one for n > 1e7)."""
    cases = [
        (888, 70_000, 70_000),
        (-5, 5_000, 2_000),
        (2**31 - 1, 3, 3),
        (12345, 20_000_000, 2_000),
        (7, 30_000_001, 10),
    ]
    got = run(
        engine,
        """text => JSON.stringify(JSON.parse(text).map(([seed, n, size]) => {
      const r = new shrinkEngine.RRandom(seed);
      const u = Array.from(r.runif(700)), z = Array.from(r.rnorm(5000));
      return {u, z, s: Array.from(r.sampleInt(n, size)), after: r.unifRand()};
    }))""",
        cases,
    )
    for (seed, n, size), g in zip(cases, got, strict=True):
        r = RRandom(seed)
        assert g["u"] == r.runif(700).tolist()
        assert g["z"] == r.rnorm(5000).tolist()
        assert g["s"] == r.sample_int(n, size).tolist()
        assert g["after"] == r.runif(1)[0]  # the stream continues where R's does


def test_qnorm_is_rs(engine: Any) -> None:
    p = np.concatenate(
        [
            np.linspace(1e-6, 1 - 1e-6, 2001),
            [1e-300, 1e-100, 1e-20, 1e-10, 0.02425, 0.075, 0.5, 0.925, 1 - 1e-12],
        ]
    )
    got = np.array(engine.evaluate("ps => ps.map(shrinkEngine.qnorm)", p.tolist()))
    want = qnorm(p)
    assert np.all(np.abs(got - want) <= 1e-15 * np.maximum(1.0, np.abs(want)))


def test_random_effect_factor_is_mvtnorms(engine: Any) -> None:
    """The eigen square root, including a correlation of ±1 (an eigenvalue of 0, whose square
    root magnifies any rounding) and equal variances (any eigenvector basis)."""
    rng = np.random.default_rng(3)
    cases = [
        (0.5, 0.25, 0.0),
        (1.0, 1.0, 1.0),
        (0.5, 0.25, -1.0),
        (2.0, 0.1, 1.0),
        (0.0, 0.5, 0.3),
        (0.0, 0.0, 0.0),
        (1.0, 1.0, 0.0),
        (0.7, 0.7, -1.0),
    ]
    cases += [
        (
            float(rng.uniform(0, 3)),
            float(rng.uniform(0, 3)),
            float(rng.choice([-1.0, 1.0, rng.uniform(-1, 1)])),
        )
        for _ in range(300)
    ]
    got = engine.evaluate(
        "cs => cs.map(c => shrinkEngine.randomEffectFactor(c[0], c[1], c[2]))",
        [list(c) for c in cases],
    )
    for c, g in zip(cases, got, strict=True):
        want = random_effect_factor(*c)
        assert np.max(np.abs(np.array(g) - want)) <= 1e-15 * max(1.0, c[0], c[1]), c


# -- the data --------------------------------------------------------------------------------------


def test_simulate_equals_shrink_simulate(engine: Any, runner: CliRunner, tmp_path: Path) -> None:
    """The post's six scenarios and 60 random settings, to 1e-12; the six also through the
    command itself (its CSV is written at full round-trip precision)."""
    settings = post_settings() + random_settings(60, seed=14)
    got = run(engine, SIMULATE_JS, settings)
    worst = 0.0
    for s, g in zip(settings, got, strict=True):
        sim = simulate(scenario_of(s))
        assert g["cluster"] == sim.data["cluster"].tolist()
        for key, want in (
            ("y", sim.data["y"]),
            ("x", sim.data["x"]),
            ("true_intercept", sim.truth["true_intercept"]),
            ("true_slope", sim.truth["true_slope"]),
        ):
            worst = max(worst, _gap(g[key], want, relative=True))
    assert worst <= DATA_TOL
    for name, g in zip(POST_SCENARIOS, got, strict=False):
        truth = tmp_path / f"{name}-truth.csv"
        res = runner.invoke(
            app, ["simulate", str(SCENARIO_DIR / f"{name}.yaml"), "--truth", str(truth)]
        )
        assert res.exit_code == 0, res.output
        data = pd.read_csv(__import__("io").StringIO(res.stdout))
        assert _gap(g["y"], data["y"], relative=True) <= DATA_TOL
        assert _gap(g["x"], data["x"], relative=True) <= DATA_TOL
        assert g["cluster"] == data["cluster"].tolist()
        t = pd.read_csv(truth)
        assert _gap(g["true_slope"], t["true_slope"], relative=True) <= DATA_TOL


def test_simulate_refuses_what_the_schema_refuses(engine: Any) -> None:
    got = engine.evaluate(
        """ps => ps.map(p => {
      try { shrinkEngine.simulate(p); return null; } catch (e) { return e.message; }
    })""",
        [
            {"sigma": 0},
            {"n_cluster": 1},
            {"cor": 1.5},
            {"obs_per_cluster": 2.5},
            {"balanced": 0.0001, "n_cluster": 2, "obs_per_cluster": 1},
        ],
    )
    assert got[0].startswith("sigma: must be a number > 0")
    assert got[1].startswith("n_cluster: must be an integer ≥ 2")
    assert got[2].startswith("cor: must be a number between -1 and 1")
    assert got[3].startswith("obs_per_cluster: must be an integer ≥ 1")
    assert got[4].startswith("balanced keeps no rows")


# -- the fit ---------------------------------------------------------------------------------------


def correlation_determined(theta: Any, spec: ModelSpec) -> bool:
    """Is the random effects' correlation determined by the data? Not when a standard deviation
    is estimated at 0: any correlation then fits equally well."""
    if not spec.correlated:
        return False
    a, b, c = spec.lambda_entries(theta)
    return a >= SINGULAR_TOL and math.hypot(b, c) >= SINGULAR_TOL


def compare_fit(js: dict[str, Any], jm: dict[str, Any], py: Fit, pm: Metrics) -> dict[str, float]:
    """Gaps between the page's fit and measures and the Python engine's; asserts agreement."""
    m = py.model
    gaps = {"criterion": abs(js["criterion"] - m.criterion)}
    assert js["singular"] == m.singular
    c = py.clusters
    est = [
        (js["beta"], m.beta),
        (js["se"], m.std_errors),
        ([js["sigma"]], [m.sigma]),
        (js["covariance"], m.covariance),
        ([q["mixed_intercept"] for q in js["clusters"]], c["mixed_intercept"]),
        ([q["mixed_slope"] for q in js["clusters"]], c["mixed_slope"]),
        ([q["ols_intercept"] for q in js["clusters"]], c["ols_intercept"]),
        (
            [np.nan if q["ols_slope"] is None else q["ols_slope"] for q in js["clusters"]],
            c["ols_slope"],
        ),
    ]
    if not m.singular:
        est.append((js["theta"], m.theta))
    gaps["estimates"] = max(_gap(a, b, relative=True) for a, b in est)
    assert [q["cluster"] for q in js["clusters"]] == c["cluster"].tolist()
    # the report's measures
    measures = [(jm["mean_shrinkage"], pm.mean_shrinkage)]
    for key, value in pm.estimates.items():
        if key == "est_cor" and not correlation_determined(m.theta, m.spec):
            continue
        measures.append((jm["estimates"][key], value))
    e = pm.errors
    assert e is not None
    for key in (
        "ols_intercept",
        "mixed_intercept",
        "ols_slope",
        "mixed_slope",
        "ols_line",
        "mixed_line",
    ):
        measures.append((jm["errors"][key], getattr(e, key)))
    assert (jm["errors"]["clusters"], jm["errors"]["left_out"]) == (e.clusters, e.left_out)
    gaps["measures"] = max(
        _gap(np.nan if a is None else a, np.nan if b is None else b) for a, b in measures
    )
    assert gaps["criterion"] <= CRITERION_TOL, gaps
    assert gaps["estimates"] <= ESTIMATE_TOL, gaps
    assert gaps["measures"] <= ESTIMATE_TOL, gaps
    return gaps


def _fit_both(engine: Any, settings: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Each setting's data (simulated by the Python package) fitted by the page and by Python."""
    sims = [simulate(scenario_of(s)) for s in settings]
    cases = [
        {
            "data": {
                "y": sim.data["y"].tolist(),
                "x": sim.data["x"].tolist(),
                "cluster": sim.data["cluster"].tolist(),
            },
            "truth": {k: sim.truth[k].tolist() for k in sim.truth.columns},
            "model": {"method": s["method"], "random": s["random"]},
        }
        for s, sim in zip(settings, sims, strict=True)
    ]
    got = run(engine, FIT_JS, cases)
    out = []
    for s, sim, g in zip(settings, sims, got, strict=True):
        spec = ModelSpec(s["random"], s["method"])
        try:
            py = fit(sim.data, spec, truth=sim.truth)
        except ShrinkError as exc:
            out.append((s, g, exc, None))
            continue
        out.append((s, g, py, measure(py, sim.data["x"].to_numpy(float))))
    return out


def test_fit_equals_the_python_engine_on_the_posts_scenarios(engine: Any) -> None:
    settings = [dict(s, method=method) for s in post_settings() for method in ("reml", "ml")]
    for s, g, py, pm in _fit_both(engine, settings):
        assert "error" not in g, (s, g)
        compare_fit(g["fit"], g["metrics"], py, pm)
    baseline = _fit_both(engine, settings[:1])[0][1]["fit"]
    assert f"{baseline['criterion']:.1f}" == "3012.2"  # the post's REML criterion


def test_fit_equals_the_python_engine_on_random_settings(engine: Any) -> None:
    """75 random valid settings of the controls, every model and criterion: the same optimum
    (singular fits included), or the same error."""
    results = _fit_both(engine, random_settings(75, seed=1406))
    fitted = singular = failed = 0
    for s, g, py, pm in results:
        if isinstance(py, ShrinkError):
            assert g.get("error") == str(py), s
            failed += 1
            continue
        assert "error" not in g, (s, g)
        compare_fit(g["fit"], g["metrics"], py, pm)
        fitted += 1
        singular += py.model.singular
    assert fitted >= 50 and singular >= 5 and failed >= 1, (fitted, singular, failed)


def test_fit_takes_clusters_as_lme4_orders_them(engine: Any) -> None:
    """Text ids sort as text, numbers numerically; rows with a missing value are dropped."""
    sim = simulate(Scenario(n_cluster=12, obs_per_cluster=6, seed=5))
    data = sim.data.copy()
    data["cluster"] = ["c" + str(v) for v in data["cluster"]]
    data.loc[3, "y"] = np.nan
    got = engine.evaluate(
        "d => shrinkEngine.fit(d, {})",
        {
            "y": [None if math.isnan(v) else v for v in data["y"]],
            "x": data["x"].tolist(),
            "cluster": data["cluster"].tolist(),
        },
    )
    py = fit(data)
    assert [c["cluster"] for c in got["clusters"]] == py.clusters["cluster"].tolist()
    assert got["warnings"] == ["dropped 1 row with missing values"] == list(py.warnings)
    assert abs(got["criterion"] - py.model.criterion) <= CRITERION_TOL


# -- the page --------------------------------------------------------------------------------------


def _numbers(page: Any) -> dict[str, tuple[str, float | None]]:
    cells = page.eval_on_selector_all(
        "#explorer td[data-key]",
        "els => els.map(e => [e.dataset.key, e.textContent, e.dataset.value ?? null])",
    )
    return {k: (text, None if v is None else float(v)) for k, text, v in cells}


#: The numbers panel's cells and the summary.csv column (or function of a row) each shows.
SUMMARY_OF_CELL: dict[str, Any] = {
    **{
        k: k
        for k in (
            "est_intercept",
            "est_intercept_se",
            "est_beta",
            "est_beta_se",
            "est_sd_int",
            "est_sd_slope",
            "est_cor",
            "est_sigma",
            "criterion",
            "mean_shrinkage",
            "n_obs",
            "n_groups",
        )
    },
    **{
        f"{w}_{q}": f"rmse_{w}_{q}"
        for w in ("ols", "mixed")
        for q in ("intercept", "slope", "line")
    },
    "closer": "mixed_closer",
    "ols_closer": lambda row: row["rmse_clusters"] - row["mixed_closer"],
}
DECIMALS = {"criterion": ".1f", "mean_shrinkage": ".2f"}


def check_numbers(page: Any, row: pd.Series) -> None:
    """Every number of the panel against the command line's (a row of summary.csv), and its
    text against the number, formatted as the report formats it."""
    shown = _numbers(page)
    for cell, source in SUMMARY_OF_CELL.items():
        text, value = shown[cell]
        want = source(row) if callable(source) else row[source]
        if pd.isna(want) or (cell == "est_cor" and value is None):
            assert text == "–" and (value is None or cell == "est_cor"), (cell, text)
            continue
        assert value is not None, cell
        tol = CRITERION_TOL if cell == "criterion" else ESTIMATE_TOL
        assert abs(value - float(want)) <= tol, (cell, value, want)
        if isinstance(want, (int, np.integer)) or cell in (
            "n_obs",
            "n_groups",
            "closer",
            "ols_closer",
        ):
            assert text == str(int(want))
        else:
            assert text == fmt(value, DECIMALS.get(cell, ".3f")), (cell, text)
    assert shown["singular"][0] == ("yes" if bool(row["singular"]) else "no")


def test_page_renders_offline_at_desktop_and_phone_width(
    browser: Any, report_dir: Path, tmp_path: Path
) -> None:
    for device, width in WIDTHS.items():
        w = Watched(browser, (report_dir / "explore.html").as_uri(), width=width)
        page = w.page
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{device}: the page is {overflow}px wider than the screen"
        box = page.eval_on_selector("#picture", "c => [c.clientWidth, c.clientHeight]")
        assert box[0] >= min(width - 40, 500) and box[1] > 200, box
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        for href in hrefs:
            assert href.startswith("file:"), href
        page.screenshot(path=str(tmp_path / f"explore-{device}.png"), full_page=True)
        w.close()
    keep = os.environ.get("SHRINK_SCREENSHOTS")  # to look at them: SHRINK_SCREENSHOTS=dir
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in tmp_path.glob("*.png"):
            shutil.copy(shot, Path(keep) / shot.name)


def test_controls_are_labelled_and_reachable_by_keyboard(browser: Any, report_dir: Path) -> None:
    w = Watched(browser, (report_dir / "explore.html").as_uri())
    page = w.page
    unlabelled = page.eval_on_selector_all(
        "input, select, button",
        """els => els.filter(e => !((e.labels && e.labels.length)
             || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')
             || (e.tagName === 'BUTTON' && e.textContent.trim()))).map(e => e.id || e.outerHTML)""",
    )
    assert not unlabelled
    order = []
    for _ in range(40):  # Tab through the page: every control is reached
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id"))
    for key, _, _ in SLIDERS:
        assert f"c-{key}" in order
    for control in ("preset", "c-seed", "next-seed", "c-random", "play", "scrub", "download"):
        assert control in order, control
    # a slider moves with the arrow keys
    page.focus("#c-n_cluster")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("shrinkExplorer.current.settings.params.n_cluster === 75")
    assert page.inner_text("#o-n_cluster") == "75"
    w.close()


@pytest.mark.parametrize("name", POST_SCENARIOS)
def test_each_scenario_page_opens_its_scenario(browser: Any, report_dir: Path, name: str) -> None:
    """Following a scenario page's link, the explorer shows that scenario and the numbers the
    report (the command line) computed for it."""
    w = Watched(browser, (report_dir / name / "index.html").as_uri(), ready=False)
    with w.page.expect_navigation():
        w.page.click("a[href^='../explore.html#']")
    w.page.wait_for_function("window.shrinkExplorer && shrinkExplorer.current")
    settings = w.page.evaluate("shrinkExplorer.settings()")
    scenario = load_scenario(SCENARIO_DIR / f"{name}.yaml")
    assert settings["params"] == scenario.parameters()
    assert settings["preset"] == name and settings["name"] == name
    assert w.page.input_value("#preset") == name
    summary = pd.read_csv(report_dir / "summary.csv").set_index("scenario")
    check_numbers(w.page, summary.loc[name])
    w.close()


def _canvas(page: Any) -> str:
    return str(page.evaluate("document.getElementById('picture').toDataURL()"))


def _python_row(settings: dict[str, Any]) -> pd.Series:
    """The summary.csv row `shrink report` writes for these settings."""
    from shrinkcli.report.pages import summary_table
    from shrinkcli.report.scenarios import ScenarioReport

    s = scenario_of(settings)
    sim = simulate(s)
    result = fit(sim.data, s.model.spec, truth=sim.truth)
    entry = ScenarioReport(
        name=s.name,
        title=s.title,
        description="",
        source="",
        parameters={**s.parameters(), "rng": s.rng},
        subtitle="",
        method=s.model.method,
        random=s.model.random,
        formula="",
        n_obs=result.model.n_obs,
        n_groups=result.model.n_groups,
        metrics=measure(result, sim.data["x"].to_numpy(float)),
        summary="",
        reading=[],
        files=(),
        width=600,
        height=450,
    )
    return summary_table([entry]).to_pandas().iloc[0]


def test_changing_a_control_updates_the_numbers_and_the_picture(
    browser: Any, report_dir: Path
) -> None:
    w = Watched(browser, (report_dir / "explore.html").as_uri())
    page = w.page
    before, picture = _numbers(page), _canvas(page)

    page.focus("#c-obs_per_cluster")
    page.keyboard.press("ArrowLeft")  # 10 -> 9 observations per cluster
    page.wait_for_function("shrinkExplorer.current.settings.params.obs_per_cluster === 9")
    assert "obs_per_cluster=9" in page.url
    assert page.input_value("#c-name") == "baseline-explored"
    after = _numbers(page)
    assert after["criterion"] != before["criterion"]
    assert _canvas(page) != picture
    check_numbers(page, _python_row(page.evaluate("shrinkExplorer.settings()")))

    page.check("input[name=method][value=ml]")
    page.wait_for_function("shrinkExplorer.current.settings.method === 'ml'")
    assert page.inner_text("#criterion-label") == "deviance (ML)"
    check_numbers(page, _python_row(page.evaluate("shrinkExplorer.settings()")))

    page.select_option("#c-random", "intercept")
    page.wait_for_function("shrinkExplorer.current.settings.random === 'intercept'")
    assert _numbers(page)["est_sd_slope"] == ("–", None)
    check_numbers(page, _python_row(page.evaluate("shrinkExplorer.settings()")))

    # the truth and the ellipses change the picture, not the numbers
    numbers, picture = _numbers(page), _canvas(page)
    page.check("#c-truth")
    page.wait_for_function("shrinkExplorer.current.settings.truth")
    assert _canvas(page) != picture and _numbers(page) == numbers
    assert page.is_visible("#explorer .when-truth")
    picture = _canvas(page)
    page.uncheck("#c-ellipses")
    page.wait_for_function("!shrinkExplorer.current.settings.ellipses")
    assert _canvas(page) != picture and _numbers(page) == numbers

    page.click("#next-seed")
    page.wait_for_function("shrinkExplorer.current.settings.params.seed === 889")
    check_numbers(page, _python_row(page.evaluate("shrinkExplorer.settings()")))
    w.close()


def test_a_model_that_cannot_be_fitted_is_explained(browser: Any, report_dir: Path) -> None:
    w = Watched(browser, (report_dir / "explore.html").as_uri())
    page = w.page
    page.evaluate("shrinkExplorer.apply({obs_per_cluster: 2})")
    try:
        fit(simulate(Scenario(obs_per_cluster=2)).data)
    except ShrinkError as exc:
        expected = exc.message
    status = page.inner_text("#status")
    assert status.startswith(expected) and "intercept only" in status
    assert _numbers(page)["criterion"] == ("", None)
    page.evaluate("shrinkExplorer.apply({obs_per_cluster: 2, random: 'intercept'})")
    check_numbers(page, _python_row(page.evaluate("shrinkExplorer.settings()")))
    w.close()


#: The motion has ended: the scrubber at its end and Play no longer pressed. Both, since the
#: scrubber shows the rounded position (1000 from u = 0.9995, while the motion still runs);
#: waited for with a bound far above any machine's, as the state asserted, not a time.
AT_THE_END_AND_STOPPED = (
    "document.getElementById('scrub').value === '1000' && "
    "document.getElementById('play').getAttribute('aria-pressed') "
    "=== 'false'"
)


def test_play_pause_and_scrubber(browser: Any, report_dir: Path) -> None:
    w = Watched(browser, (report_dir / "explore.html").as_uri(), motion=True)
    page = w.page
    page.wait_for_function(AT_THE_END_AND_STOPPED, timeout=120_000)
    assert page.get_attribute("#play", "aria-pressed") == "false"
    assert page.inner_text("#phase") == "mixed-model estimates"
    end = _canvas(page)
    page.focus("#scrub")
    page.keyboard.press("Home")
    assert page.inner_text("#phase") == "by-cluster estimates"
    start = _canvas(page)
    assert start != end
    page.keyboard.press("PageUp")
    assert page.inner_text("#phase") == "pooling toward the average"
    assert _canvas(page) not in (start, end)
    page.click("#play")
    assert page.get_attribute("#play", "aria-pressed") == "true"
    assert page.inner_text("#play") == "Pause"
    page.click("#play")
    assert page.get_attribute("#play", "aria-pressed") == "false"
    page.click("#play")
    page.wait_for_function(AT_THE_END_AND_STOPPED, timeout=120_000)
    assert page.inner_text("#play") == "Play"
    assert _canvas(page) == end
    w.close()


def test_downloaded_scenario_reproduces_the_fit(
    browser: Any, report_dir: Path, runner: CliRunner, tmp_path: Path
) -> None:
    w = Watched(browser, (report_dir / "explore.html").as_uri(), downloads=True)
    page = w.page
    page.evaluate("""shrinkExplorer.apply({obs_per_cluster: 6, n_cluster: 40, sigma: 0.7,
      sd_slope: 0.5, cor: 0.35, balanced: 0.65, seed: -123456, intercept: 2.5, beta: -0.125,
      method: 'ml', random: 'uncorrelated', truth: true})""")
    page.fill("#c-name", "my-explore")
    with page.expect_download() as info:
        page.click("#download")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(str(path))
    assert path.name == "my-explore.yaml"

    scenario = load_scenario(path)
    settings = page.evaluate("shrinkExplorer.settings()")
    assert scenario.parameters() == settings["params"]
    assert (scenario.model.method, scenario.model.random) == ("ml", "uncorrelated")
    assert scenario.animation.truth and scenario.name == "my-explore"
    assert "obs_per_cluster 10 → 6" in scenario.description

    page_fit = page.evaluate("shrinkExplorer.current.fit")
    res = runner.invoke(app, ["fit", str(path), "--format", "json"])
    assert res.exit_code == 0, res.output
    cli = json.loads(res.stdout)
    assert abs(cli["criterion"] - page_fit["criterion"]) <= CRITERION_TOL
    assert _gap(page_fit["theta"], cli["theta"], relative=True) <= ESTIMATE_TOL
    assert _gap(page_fit["beta"], [f["estimate"] for f in cli["fixed_effects"]]) <= ESTIMATE_TOL
    assert _gap(page_fit["se"], [f["std_error"] for f in cli["fixed_effects"]]) <= ESTIMATE_TOL
    assert abs(page_fit["sigma"] - cli["residual"]["sd"]) <= ESTIMATE_TOL
    assert (
        _gap(
            [c["mixed_slope"] for c in page_fit["clusters"]],
            [c["mixed_slope"] for c in cli["clusters"]],
        )
        <= ESTIMATE_TOL
    )

    out = tmp_path / "rep"
    res = runner.invoke(app, ["report", str(path), "-o", str(out), "--quiet", "--jobs", "1"])
    assert res.exit_code == 0, res.output
    row = pd.read_csv(out / "summary.csv").iloc[0]
    assert row["scenario"] == "my-explore"
    check_numbers(page, row)
    w.close()


@pytest.mark.parametrize("name", POST_SCENARIOS)
def test_the_explorer_opens_in_the_reports_view(browser: Any, report_dir: Path, name: str) -> None:
    """The explorer opens in the view of the report's pictures (`animation.zoom: auto`), and
    each of the three views holds the same box and leaves the same clusters outside as
    scene.py's for the same data: the caption's count is the report's."""
    from shrinkcli.pictures.scene import build_scene

    scenario = load_scenario(SCENARIO_DIR / f"{name}.yaml")
    w = Watched(browser, (report_dir / "explore.html").as_uri() + f"#scenario={name}")
    assert w.page.evaluate("shrinkExplorer.settings().zoom") == "auto"
    assert w.page.input_value("#c-zoom") == "auto"
    result = fit(simulate(scenario).data, scenario.model.spec)
    for zoom in ("auto", "baseline", "data"):
        scene = build_scene(result, AnimationOptions(zoom=zoom))
        w.page.evaluate("z => shrinkExplorer.apply({zoom: z})", zoom)
        got = w.page.evaluate(
            "({view: shrinkExplorer.current.scene.view, "
            "outside: shrinkExplorer.current.scene.outside})"
        )
        assert got["outside"] == scene.n_outside, (zoom, got["outside"], scene.n_outside)
        for js, py in ((got["view"]["x"], scene.xlim), (got["view"]["y"], scene.ylim)):
            span = py[1] - py[0]
            # the engines agree to about 1e-6 (their optima), the boxes to that of their span
            assert abs(js[0] - py[0]) <= 1e-4 * span and abs(js[1] - py[1]) <= 1e-4 * span, zoom
        caption = w.page.inner_text("#caption")
        if scene.n_outside:
            assert f"{scene.n_outside} cluster" in caption and "outside the view" in caption
        else:
            assert "outside the view" not in caption
    w.close()

"""The parametric bootstrap of a data scenario: seeded replications drawn from the fitted model at
the data's own design, the fitted values as the truth, the same output for any number of jobs,
and what it measures behaving as a Monte Carlo study should."""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shrinkcli.errors import UsageError
from shrinkcli.io import read_table
from shrinkcli.lmm import fit, prepare_data
from shrinkcli.scenario import Scenario, parse_scenario, table_scenario
from shrinkcli.studies import Bootstrap, bootstrap_of, replicate, replication_seed, run_study

REAL = Path(__file__).resolve().parent / "data" / "real"


def sleep(**keys: object) -> Scenario:
    extra = "".join(f"{k}: {v}\n" for k, v in keys.items())
    s = parse_scenario(
        f"name: sleep\ndata: {{path: {REAL / 'sleepstudy.csv'}, y: Reaction, "
        f"x: Days, cluster: Subject}}\n{extra}"
    )
    return s


@cache
def sleep_study(reps: int = 200) -> pd.DataFrame:
    return run_study([sleep()], reps, jobs=2).summary.set_index("quantity")


def test_the_truth_is_the_fit() -> None:
    boot = bootstrap_of(sleep())
    data = read_table(str(REAL / "sleepstudy.csv"), id_columns=["Subject"])
    result = fit(data, y="Reaction", x="Days", cluster="Subject")
    truth = boot.truths()
    assert truth["intercept"] == result.fixed_effects[0].estimate
    assert truth["beta"] == result.fixed_effects[1].estimate
    assert truth["sd_int"] == pytest.approx(result.model.variance.intercept_sd, rel=1e-12)
    assert truth["sd_slope"] == pytest.approx(result.model.variance.slope_sd, rel=1e-12)
    assert truth["cor"] == pytest.approx(result.model.variance.corr, rel=1e-12)
    assert truth["sigma"] == pytest.approx(result.model.sigma, rel=1e-12)


def test_a_draw_keeps_the_design_and_its_coefficients_are_the_truth() -> None:
    boot = bootstrap_of(sleep())
    y, coef = boot.draw(888, "r")
    assert y.shape == boot.x.shape
    # without residual noise the draw would lie on each cluster's drawn line: the residuals
    # left are σ̂ times standard normals
    resid = y - (coef[boot.codes, 0] + coef[boot.codes, 1] * boot.x)
    assert abs(resid.std() / boot.sigma - 1) < 0.15 and abs(resid.mean()) < 0.2 * boot.sigma
    again, _ = boot.draw(888, "r")
    other, _ = boot.draw(888, "numpy")
    assert np.array_equal(y, again) and not np.allclose(y, other)


def test_replication_k_uses_seed_plus_k_minus_1() -> None:
    s = sleep(seed=41)
    boot = bootstrap_of(s)
    row = replicate(s, 3, boot)
    assert row["seed"] == replication_seed(41, 3) == 43
    y, coef = boot.draw(43, "r")
    again = fit(pd.DataFrame({"y": y, "x": boot.x, "cluster": boot.codes}))
    assert row["intercept"] == pytest.approx(again.fixed_effects[0].estimate, rel=1e-9)
    assert row["sigma"] == pytest.approx(again.model.sigma, rel=1e-9)
    ols = again.clusters[["ols_intercept", "ols_slope"]].to_numpy()
    want = math.sqrt(
        (np.mean((ols[:, 0] - coef[:, 0]) ** 2) + np.mean((ols[:, 1] - coef[:, 1]) ** 2)) / 2
    )
    assert row["cluster_rmse_ols"] == pytest.approx(want, rel=1e-9)


def test_identical_for_any_number_of_jobs_and_seeded() -> None:
    scenarios = [sleep(), Scenario(name="small", n_cluster=20, obs_per_cluster=5, seed=5)]
    a = run_study(scenarios, 9, jobs=1)
    b = run_study(scenarios, 9, jobs=2)
    pd.testing.assert_frame_equal(a.replications, b.replications)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    c = run_study(scenarios, 9, jobs=2, seed=7)
    assert not np.allclose(a.replications["intercept"], c.replications["intercept"])
    numpy = run_study([sleep(rng="numpy")], 9, jobs=1)
    assert not np.allclose(
        numpy.replications["intercept"], a.replications["intercept"].to_numpy()[:9]
    )


def test_the_bootstrap_measures_what_a_study_measures() -> None:
    """Over 200 draws from the fitted model: the fixed effects are unbiased and their intervals
    cover; the mixed cluster estimates are closer to the drawn truth than the by-cluster ones."""
    s = sleep_study()
    reps = 200
    for q in ("intercept", "beta", "sigma"):
        se = s.loc[q, "sd"] / math.sqrt(reps)
        assert abs(s.loc[q, "bias"]) < 4 * se, (q, s.loc[q])
    band = 4 * math.sqrt(0.95 * 0.05 / reps)
    # Wald intervals of 18 clusters run a little narrow (df are not counted)
    for q in ("intercept", "beta"):
        assert 0.95 - 2 * band < s.loc[q, "coverage"] < 0.95 + band, s.loc[q]
    assert s.loc["cluster_rmse_mixed", "mean"] < s.loc["cluster_rmse_ols", "mean"]
    assert s.loc["failed_share", "mean"] == 0


def test_a_table_that_cannot_be_read_stops_the_study_before_any_work(tmp_path: Path) -> None:
    s = table_scenario(str(tmp_path / "missing.csv"))
    with pytest.raises(UsageError, match="no such file"):  # a named input: exit 2
        run_study([s], 3, jobs=1)


def test_single_row_clusters_are_drawn_and_refitted() -> None:
    s = parse_scenario(
        f"data: {{path: {REAL / 'sleepstudy_dropout.csv'}, y: Reaction, x: Days, "
        "cluster: Subject}\nname: dropout\n"
    )
    result = run_study([s], 5, jobs=1)
    assert (result.replications["error"] == "").all()
    data = read_table(str(REAL / "sleepstudy_dropout.csv"), id_columns=["Subject"])
    prep = prepare_data(data, y="Reaction", x="Days", cluster="Subject")
    boot = bootstrap_of(s)
    assert isinstance(boot, Bootstrap)
    assert np.array_equal(boot.codes, prep.codes) and np.array_equal(boot.x, prep.x)

"""Monte Carlo studies: the post's claims as numbers, reproducible for any number of jobs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIO_DIR

from shrinkcli.scenario import Scenario, load_scenario
from shrinkcli.simulate import simulate
from shrinkcli.studies import (
    QUANTITIES,
    SUMMARY_COLUMNS,
    replicate,
    replication_seed,
    run_study,
)

BASELINE = load_scenario(SCENARIO_DIR / "baseline.yaml")
REPS = 200


@pytest.fixture(scope="module")
def baseline_study():  # type: ignore[no-untyped-def]
    return run_study([BASELINE], REPS, jobs=2)


def test_coverage_of_wald_intervals_is_near_95_percent(baseline_study) -> None:  # type: ignore[no-untyped-def]
    s = baseline_study.summary.set_index("quantity")
    sd = math.sqrt(0.95 * 0.05 / REPS)
    for q in ("intercept", "beta"):
        assert abs(s.loc[q, "coverage"] - 0.95) < 3.5 * sd, s.loc[q]


def test_mixed_estimates_beat_by_cluster_estimates(baseline_study) -> None:  # type: ignore[no-untyped-def]
    s = baseline_study.summary.set_index("quantity")
    assert s.loc["cluster_rmse_mixed", "mean"] < s.loc["cluster_rmse_ols", "mean"]
    reps = baseline_study.replications
    # ... and not just on average: in (nearly) every single replication.
    assert (reps["cluster_rmse_mixed"] < reps["cluster_rmse_ols"]).mean() > 0.95


def test_estimates_are_nearly_unbiased(baseline_study) -> None:  # type: ignore[no-untyped-def]
    s = baseline_study.summary.set_index("quantity")
    for q in ("intercept", "beta", "sigma", "sd_int"):
        se = s.loc[q, "sd"] / math.sqrt(REPS)
        assert abs(s.loc[q, "bias"]) < 4 * se + 1e-3, (q, s.loc[q])


def test_summary_layout(baseline_study) -> None:  # type: ignore[no-untyped-def]
    summary = baseline_study.summary
    assert tuple(summary.columns) == SUMMARY_COLUMNS
    assert tuple(summary["quantity"]) == QUANTITIES
    row = summary.set_index("quantity").loc["intercept"]
    reps = baseline_study.replications
    assert row["mean"] == pytest.approx(reps["intercept"].mean())
    assert row["rmse"] == pytest.approx(math.sqrt(((reps["intercept"] - 1.0) ** 2).mean()))
    assert 0 <= summary.set_index("quantity").loc["singular_share", "mean"] <= 1


def test_identical_for_any_number_of_jobs() -> None:
    few = Scenario(name="small", n_cluster=20, obs_per_cluster=5, seed=5)
    a = run_study([few, BASELINE], 13, jobs=1)
    b = run_study([few, BASELINE], 13, jobs=2)
    pd.testing.assert_frame_equal(a.replications, b.replications)
    pd.testing.assert_frame_equal(a.summary, b.summary)


def test_replication_one_is_the_scenarios_own_data_set() -> None:
    assert replication_seed(888, 1) == 888
    assert replication_seed(2**31 - 1, 2) == -(2**31 - 1)
    row = replicate(BASELINE, 1)
    from shrinkcli.lmm import fit

    f = fit(simulate(BASELINE).data)
    assert row["intercept"] == pytest.approx(f.fixed_effects[0].estimate, rel=1e-9)
    assert row["sd_int"] == pytest.approx(f.model.variance.intercept_sd, rel=1e-9)


def test_seed_override_changes_the_draws() -> None:
    a = run_study([BASELINE], 3, jobs=1)
    b = run_study([BASELINE], 3, jobs=1, seed=1)
    assert not np.allclose(a.replications["intercept"], b.replications["intercept"])
    assert (b.replications["seed"] == [1, 2, 3]).all()

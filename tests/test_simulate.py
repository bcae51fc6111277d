"""Simulated data against R's create_data() output for the post's six scenarios."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import POST_SCENARIOS, REFERENCE, SCENARIO_DIR

from shrinkcli.scenario import Scenario, load_scenario
from shrinkcli.simulate import simulate


@pytest.mark.parametrize("name", POST_SCENARIOS)
def test_scenario_data_is_r_identical(name: str) -> None:
    sim = simulate(load_scenario(SCENARIO_DIR / f"{name}.yaml"))
    ref = pd.read_csv(REFERENCE / name / "data.csv")
    assert list(sim.data.columns) == ["y", "x", "cluster"]
    assert len(sim.data) == len(ref)
    np.testing.assert_array_equal(sim.data["cluster"].to_numpy(), ref["cluster"].to_numpy())
    np.testing.assert_allclose(sim.data["x"], ref["x"], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(sim.data["y"], ref["y"], rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", POST_SCENARIOS)
def test_scenario_truth_is_r_identical(name: str) -> None:
    sim = simulate(load_scenario(SCENARIO_DIR / f"{name}.yaml"))
    ref = pd.read_csv(REFERENCE / name / "truth.csv")
    assert list(sim.truth.columns) == ["cluster", "true_intercept", "true_slope"]
    np.testing.assert_array_equal(sim.truth["cluster"], ref["cluster"])
    np.testing.assert_allclose(sim.truth["true_intercept"], ref["true_intercept"], atol=1e-13)
    np.testing.assert_allclose(sim.truth["true_slope"], ref["true_slope"], atol=1e-13)


def test_scenario_files_carry_the_posts_arguments() -> None:
    expected = {
        "baseline": {},
        "more-subject-variance": {"sd_int": 1, "sd_slope": 1},
        "more-slope-variance": {"sd_int": 0.25, "sd_slope": 1},
        "few-observations": {"obs_per_cluster": 3},
        "more-observations": {"obs_per_cluster": 100},
        "unbalanced": {"balanced": 0.5, "sd_int": 0.5, "sd_slope": 0.5, "sigma": 0.25},
    }
    defaults = Scenario().parameters()
    for name, changes in expected.items():
        s = load_scenario(SCENARIO_DIR / f"{name}.yaml")
        assert s.name == name
        assert s.title and len(s.description.split(". ")) >= 2
        assert s.parameters() == {**defaults, **changes}


def test_numpy_generator_is_reproducible_and_plausible() -> None:
    s = Scenario(rng="numpy", n_cluster=400, obs_per_cluster=50, seed=3)
    a, b = simulate(s), simulate(s)
    pd.testing.assert_frame_equal(a.data, b.data)
    assert abs(a.truth["true_intercept"].std() - 0.5) < 0.05
    assert abs(a.truth["true_slope"].std() - 0.25) < 0.03
    assert abs(a.data["x"].mean()) < 0.02


def test_correlation_is_a_correlation() -> None:
    s = Scenario(rng="numpy", n_cluster=20_000, sd_int=2.0, sd_slope=0.5, cor=0.6, seed=1)
    t = simulate(s).truth
    assert abs(np.corrcoef(t["true_intercept"], t["true_slope"])[0, 1] - 0.6) < 0.02
    assert abs(t["true_intercept"].std() - 2.0) < 0.05


def test_balanced_fraction_keeps_rounded_rows_in_sampled_order() -> None:
    s = Scenario(n_cluster=5, obs_per_cluster=3, balanced=0.5)  # 7.5 rows -> 8 (half to even)
    d = simulate(s).data
    assert len(d) == 8
    assert d["cluster"].between(1, 5).all()


def test_a_large_simulation_is_still_rs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above `OVERLAP_ROWS` the sample is drawn in a thread while the normals are computed (a
    chunk at a time): the rows and values are still those of R's create_data() (a fingerprint
    R wrote: every 997th row, the sums), and the same numbers as drawing everything in turn."""
    import importlib
    import json

    sim_module = importlib.import_module("shrinkcli.simulate")
    ref = json.loads((REFERENCE.parent / "large" / "simulation.json").read_text())
    scenario = Scenario(**ref["scenario"])
    assert scenario.n_cluster * scenario.obs_per_cluster >= sim_module.OVERLAP_ROWS
    sim = simulate(scenario)
    data, truth = sim.table, sim.truth_table
    assert len(data) == ref["n_rows"]
    for table, expected in ((data, ref["data"]), (truth, ref["truth"])):
        rows = np.asarray(expected.pop("row")) - 1
        for name, values in expected.items():
            got = table.array(name)[rows]
            want = np.asarray([float(v) if isinstance(v, str) else v for v in values])
            if name == "cluster":  # the sample: exactly R's
                assert got.tolist() == want.tolist(), name
            else:  # as the other tests: R's qnorm and BLAS round a last bit differently
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
    for name, total in ref["sums"].items():
        assert math.isclose(
            float(np.sum(data.array(name), dtype=np.float64)), float(total), rel_tol=1e-12
        ), name
    monkeypatch.setattr(sim_module, "OVERLAP_ROWS", 1 << 40)  # everything in turn
    in_turn = simulate(scenario)
    for name in data.names:
        assert np.array_equal(in_turn.table.array(name), data.array(name)), name
    for name in truth.names:
        assert np.array_equal(in_turn.truth_table.array(name), truth.array(name)), name

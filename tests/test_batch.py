"""The batched engine (`lmm/batch.py`, `studies/batched.py`) against the single-fit engine.

The single-fit engine is itself held to lme4 (test_fit*.py, tests/data/reference, lme4-tight);
here every replication's batched estimate must equal its single fit (criterion within 1e-8,
θ within 1e-6), every row of the study the single path's, and everything the batch does not
accept must be what the single fit gives, exactly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shrinkcli.lmm import model_fit, prepare_arrays, solve, sufficient_stats
from shrinkcli.lmm.batch import batch_stats, fit_batch, lambda_entries, solve_batch
from shrinkcli.model import ModelSpec
from shrinkcli.scenario import Scenario, load_scenario, with_overrides
from shrinkcli.simulate import simulate
from shrinkcli.studies import bootstrap_of, replicate, replication_seed
from shrinkcli.studies.batched import replicate_batch, simulate_batch

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"

DESIGNS = [
    {},
    {"obs_per_cluster": 3, "n_cluster": 20},
    {"obs_per_cluster": 100, "n_cluster": 20, "model": {"method": "ml"}},
    {"obs_per_cluster": 5, "n_cluster": 50, "model": {"random": "uncorrelated"}},
    {"obs_per_cluster": 5, "n_cluster": 30, "model": {"random": "intercept"}},
    {"rng": "numpy", "obs_per_cluster": 4, "n_cluster": 40},
    {"obs_per_cluster": 6, "n_cluster": 30, "balanced": 0.7, "cor": 0.5},
]


def _scenario(**changes: object) -> Scenario:
    base = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    model = changes.pop("model", None)
    s = with_overrides(base, **changes) if changes else base
    if model is not None:
        data = s.model_dump(exclude_unset=True)
        data["model"] = model
        s = Scenario.model_validate(data)
    return s


def _data(s: Scenario, ks: range) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y, x, codes, _ = simulate_batch(s, [replication_seed(s.seed, k) for k in ks])
    return y, x, np.broadcast_to(codes, y.shape)


@pytest.mark.parametrize("changes", DESIGNS, ids=lambda c: ",".join(map(str, c.items())) or "base")
def test_every_accepted_estimate_is_the_single_fit(changes: dict) -> None:
    s = _scenario(**changes)
    spec = s.model.spec
    y, x, codes = _data(s, range(1, 41))
    bf = fit_batch(batch_stats(y, x, codes, s.n_cluster), spec)
    singular = 0
    for r in range(y.shape[0]):
        if np.bincount(codes[r], minlength=s.n_cluster).min() == 0:
            singular += 1  # a cluster lost: the study runs such a draw through the single fit
            continue
        prep = prepare_arrays(y[r], x[r], codes[r], s.n_cluster, spec)
        st = sufficient_stats(prep.y, prep.x, prep.codes, prep.n_groups)
        one = model_fit(st, prep, spec, residual_quantiles=False)
        if one.singular or not one.converged:
            singular += 1
            assert not bf.accepted[r]  # boundary fits are the single engine's
            continue
        if not bf.accepted[r]:
            continue
        assert abs(one.criterion - bf.criterion[r]) <= 1e-8
        assert np.max(np.abs(np.array(one.theta) - bf.theta[r])) <= 1e-6
        np.testing.assert_allclose(bf.beta[r], one.beta, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(bf.std_errors[r], one.std_errors, rtol=1e-6)
        assert math.isclose(bf.sigma2[r], one.sigma2, rel_tol=1e-7)
    # the batch answers for nearly every interior fit, so the comparison is not vacuous
    assert bf.accepted.sum() >= 0.8 * (y.shape[0] - singular)


def test_batched_fit_of_the_post_data_is_lme4s() -> None:
    """The post's baseline data set (R's create_data) in a batch of one: lme4's criterion
    (lme4 stops slightly short: never lower than ours, within 1e-4) and θ."""
    ref = json.loads((DATA / "reference" / "baseline" / "lme4.json").read_text())
    data = pd.read_csv(DATA / "reference" / "baseline" / "data.csv")
    codes = data["cluster"].to_numpy() - 1
    st = batch_stats(data["y"].to_numpy()[None], data["x"].to_numpy()[None], codes, 100)
    bf = fit_batch(st, ModelSpec())
    assert bf.accepted[0]
    crit = ref["reml"]["criterion"]
    assert bf.criterion[0] <= crit + 1e-9
    assert crit - bf.criterion[0] < 1e-4
    np.testing.assert_allclose(bf.theta[0], ref["reml"]["theta"], atol=1e-4)


def test_batch_stats_and_gradient_are_the_single_engines() -> None:
    s = _scenario(obs_per_cluster=7, n_cluster=12, balanced=0.9)
    y, x, codes = _data(s, range(1, 6))
    bs = batch_stats(y, x, codes, s.n_cluster)
    spec = ModelSpec()
    rng = np.random.default_rng(1)
    theta = rng.uniform(0.1, 1.5, size=(5, 3))
    a, b, c = lambda_entries(spec, theta)
    sol = solve_batch(a, b, c, bs, True, grad=True)
    assert sol.gradient is not None
    for r in range(5):
        one = bs.single(r)
        ref = sufficient_stats(y[r], x[r], codes[r], s.n_cluster)
        for f in ("n", "s", "q", "t", "w", "sxx_c", "sxy_c", "syy_c"):
            np.testing.assert_allclose(getattr(one, f), getattr(ref, f), rtol=1e-12, atol=1e-12)
        single = solve(theta[r], ref, spec, grad=True)
        assert single.gradient is not None
        assert math.isclose(sol.criterion[r], single.criterion, rel_tol=1e-13)
        np.testing.assert_allclose(sol.gradient[r], single.gradient, rtol=1e-9, atol=1e-9)
        # and against central differences of the criterion: the gradient is the derivative
        for j in range(3):
            h = 1e-6
            up, down = theta[r].copy(), theta[r].copy()
            up[j] += h
            down[j] -= h
            fd = (solve(up, ref, spec).criterion - solve(down, ref, spec).criterion) / (2 * h)
            assert abs(fd - sol.gradient[r, j]) < 1e-5 * max(1.0, abs(fd))


@pytest.mark.parametrize("changes", [{}, {"balanced": 0.8}, {"rng": "numpy"}])
def test_batched_draws_are_simulates(changes: dict) -> None:
    s = _scenario(obs_per_cluster=6, n_cluster=25, **changes)
    ks = range(3, 9)
    y, x, codes, truth = simulate_batch(s, [replication_seed(s.seed, k) for k in ks])
    for r, k in enumerate(ks):
        sim = simulate(s.model_copy(update={"seed": replication_seed(s.seed, k)}))
        data, truth_table = sim.data, sim.truth
        np.testing.assert_array_equal(truth[r, :, 0], truth_table["true_intercept"].to_numpy())
        np.testing.assert_array_equal(truth[r, :, 1], truth_table["true_slope"].to_numpy())
        mine = pd.DataFrame({"y": y[r], "x": x[r], "cluster": codes[r] + 1})
        if s.balanced < 1:  # the same rows, in the same order
            pd.testing.assert_frame_equal(mine, data.reset_index(drop=True), check_dtype=False)
        else:  # the same rows; sample_frac(1) only shuffles them
            order = ["cluster", "x"]
            pd.testing.assert_frame_equal(
                mine.sort_values(order).reset_index(drop=True),
                data.sort_values(order).reset_index(drop=True),
                check_dtype=False,
            )


def _close_rows(batch: list[dict], single: list[dict]) -> None:
    assert len(batch) == len(single)
    for a, b in zip(batch, single, strict=True):
        assert a.keys() == b.keys()
        for key, va in a.items():
            vb = b[key]
            if isinstance(va, float) and isinstance(vb, float):
                if math.isnan(vb):
                    assert math.isnan(va), key
                else:
                    assert math.isclose(va, vb, rel_tol=1e-5, abs_tol=1e-7), (key, va, vb)
            else:
                assert va == vb, key


@pytest.mark.parametrize("changes", DESIGNS[:2] + DESIGNS[4:])
def test_rows_are_the_single_paths(changes: dict) -> None:
    s = _scenario(**changes)
    ks = range(1, 31)
    _close_rows(replicate_batch(s, ks), [replicate(s, k) for k in ks])


def test_bootstrap_rows_are_the_single_paths() -> None:
    s = load_scenario(ROOT / "examples" / "sleepstudy.yaml")
    boot = bootstrap_of(s)
    _close_rows(
        replicate_batch(s, range(1, 21), boot), [replicate(s, k, boot) for k in range(1, 21)]
    )


def test_a_replication_does_not_depend_on_its_batch() -> None:
    s = _scenario(obs_per_cluster=4, n_cluster=30)
    whole = replicate_batch(s, range(1, 21))
    part = replicate_batch(s, range(8, 12))
    alone = replicate_batch(s, [10])
    assert whole[7:11] == part
    assert whole[9] == alone[0]


def test_singular_and_unfittable_replications_are_the_single_fits_exactly() -> None:
    flat = _scenario(obs_per_cluster=4, n_cluster=20, sd_int=0.0, sd_slope=0.0)
    rows = replicate_batch(flat, range(1, 11))
    assert any(r["singular"] for r in rows)
    for r, k in zip(rows, range(1, 11), strict=True):
        if r["singular"]:
            single = replicate(flat, k)
            single.pop("_by_size")
            mine = dict(r)
            mine.pop("_by_size")
            assert mine == single or all(
                (isinstance(v, float) and math.isnan(v) and math.isnan(single[key]))
                or v == single[key]
                for key, v in mine.items()
            )
    bad = _scenario(obs_per_cluster=1, n_cluster=20)  # fewer rows than random effects
    rows = replicate_batch(bad, range(1, 4))
    assert all(r["error"] for r in rows)
    assert [r["error"] for r in rows] == [replicate(bad, k)["error"] for k in range(1, 4)]

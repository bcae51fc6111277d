"""R's rbinom() and rpois(), and create_glmm_data(), against streams and data sets that R
itself wrote (tests/r/make_glmm_streams.R → tests/data/glmm/), and against the binomial and
Poisson distributions themselves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from shrinkcli.errors import ScenarioError
from shrinkcli.rrng import RRandom, Uniforms, rbinom_draws, rpois_draws
from shrinkcli.simulate import simulate_glmm

GLMM = Path(__file__).resolve().parent / "data" / "glmm"
STREAMS = json.loads((GLMM / "streams.json").read_text())["streams"]
CASES = json.loads((GLMM / "cases.json").read_text())["cases"]


def _numbers(v: Any) -> np.ndarray:
    """Parameters as R wrote them ("%.17g" strings, one or a vector)."""
    return np.array([float(s) for s in (v if isinstance(v, list) else [v])])


def _label(e: dict[str, Any]) -> str:
    if e["kind"] == "rbinom":
        size, prob = _numbers(e["size"]), _numbers(e["prob"])
        if size.shape[0] == 1 and prob.shape[0] == 1:
            return f"rbinom-seed{e['seed']}-size{size[0]:g}-prob{prob[0]:g}"
        return f"rbinom-seed{e['seed']}-vector"
    lam = _numbers(e["lambda"])
    return f"rpois-seed{e['seed']}-" + (f"lambda{lam[0]:g}" if lam.shape[0] == 1 else "vector")


def _draw(r: RRandom, kind: str, e: dict[str, Any]) -> np.ndarray:
    if kind == "rbinom":
        return r.rbinom(e["n"], _numbers(e["size"]), _numbers(e["prob"]))
    return r.rpois(e["n"], _numbers(e["lambda"]))


@pytest.mark.parametrize("entry", STREAMS, ids=[_label(e) for e in STREAMS])
def test_stream_matches_r(entry: dict[str, Any]) -> None:
    """Every draw equal to R's, and a second call on the same stream too (the stream is left
    where R leaves it)."""
    r = RRandom(entry["seed"])
    got = _draw(r, entry["kind"], entry)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, entry["values"])
    if "then" in entry:
        np.testing.assert_array_equal(
            _draw(r, entry["kind"], entry["then"]), entry["then"]["values"]
        )


def test_streams_cross_every_switch() -> None:
    """The reference streams reach both sides of each algorithm switch."""
    nps, lams = [], []
    for e in STREAMS:
        if e["kind"] == "rbinom":
            size = np.resize(_numbers(e["size"]), e["n"])
            prob = np.resize(_numbers(e["prob"]), e["n"])
            nps.extend((size * np.minimum(prob, 1 - prob)).tolist())
        else:
            lams.extend(_numbers(e["lambda"]).tolist())
    assert min(nps) < 1e-6 and any(29 < v < 30 for v in nps) and any(30 <= v < 31 for v in nps)
    assert max(nps) > 1e8
    assert any(9.99 <= v < 10 for v in lams) and 10.0 in lams and max(lams) >= 1e9


@pytest.mark.parametrize("name", sorted(CASES))
def test_create_glmm_data_matches_r(name: str) -> None:
    """`simulate_glmm` is R's create_glmm_data(): y, cluster and trials equal, the row order
    and count of sample_frac; x and the truth within a few units in the last place (R writes
    17 digits; rnorm's qnorm differs from R's in the last bit for a few percent of draws)."""
    args = dict(CASES[name])
    args["balanced"] = float(args["balanced"])
    sim = simulate_glmm(**args)
    ref = pd.read_csv(GLMM / f"{name}.csv", dtype={"x": str})
    truth = pd.read_csv(GLMM / f"{name}-truth.csv", dtype=str)
    table = sim.table
    assert list(table.names if hasattr(table, "names") else dict(table.items())) == list(
        ref.columns
    )
    np.testing.assert_array_equal(table["y"], ref["y"].to_numpy())
    np.testing.assert_array_equal(table["cluster"], ref["cluster"].to_numpy())
    if "trials" in ref:
        np.testing.assert_array_equal(table["trials"], ref["trials"].to_numpy())
    np.testing.assert_allclose(table["x"], ref["x"].map(float), rtol=0, atol=5e-16)
    for col in ("true_intercept", "true_slope"):
        np.testing.assert_allclose(
            sim.truth_table[col], truth[col].map(float), rtol=1e-15, atol=1e-15
        )


def test_binomial_cases_reach_btpe_and_poisson_both_methods() -> None:
    """The data sets exercise inversion and BTPE, table lookup and PD (means from R's data)."""
    large = pd.read_csv(GLMM / "poisson-large.csv")
    mixed = pd.read_csv(GLMM / "poisson-mixed.csv")
    assert large["y"].min() >= 10 and (mixed["y"] < 10).any() and (mixed["y"] >= 30).any()
    assert pd.read_csv(GLMM / "binomial-200.csv")["y"].between(30, 170).mean() > 0.9


# -- the distributions themselves (an independent check of each algorithm) ------------------


def _chi2_pvalue(draws: np.ndarray, pmf: np.ndarray, support: np.ndarray) -> float:
    """Pearson's χ² of the draws' counts on `support` (cells of expected count ≥ 20 kept,
    the rest pooled into the tails) against `pmf`."""
    expected = pmf * draws.shape[0]
    keep = expected >= 20
    lo, hi = support[keep][0], support[keep][-1]
    cells = np.arange(lo, hi + 1)
    obs = np.array(
        [(draws <= lo).sum()] + [(draws == c).sum() for c in cells[1:-1]] + [(draws >= hi).sum()]
    )
    e = np.concatenate(
        [
            [pmf[support <= lo].sum()],
            pmf[(support > lo) & (support < hi)],
            [pmf[support >= hi].sum()],
        ]
    )
    e = e / e.sum() * draws.shape[0]
    return float(stats.chisquare(obs, e).pvalue)


@pytest.mark.parametrize(
    ("size", "prob"), [(20, 0.3), (1000, 0.031), (1000, 0.5), (5000, 0.9), (10**6, 0.2)]
)
def test_rbinom_follows_the_binomial(size: int, prob: float) -> None:
    draws = RRandom(2024).rbinom(40_000, size, prob)
    mean, sd = size * prob, np.sqrt(size * prob * (1 - prob))
    support = np.arange(max(0, int(mean - 8 * sd)), min(size, int(mean + 8 * sd)) + 1)
    assert _chi2_pvalue(draws, stats.binom.pmf(support, size, prob), support) > 1e-4


@pytest.mark.parametrize("lam", [0.7, 9.99, 10.0, 37.5, 1e4])
def test_rpois_follows_the_poisson(lam: float) -> None:
    draws = RRandom(2025).rpois(40_000, lam)
    sd = np.sqrt(lam)
    support = np.arange(max(0, int(lam - 8 * sd)), int(lam + 8 * sd) + 12)
    assert _chi2_pvalue(draws, stats.poisson.pmf(support, lam), support) > 1e-4


def test_vector_and_scalar_paths_agree() -> None:
    """Runs of inversion draws are vectorised when long and made one by one when short; both
    give the same stream (draws recycled over many parameters versus one at a time)."""
    rng = np.random.default_rng(3)
    size = rng.choice([1, 5, 40, 300, 2000], 600).astype(float)
    prob = rng.uniform(size=600)
    lam = np.exp(rng.normal(1.5, 1.5, 600))
    at_once = RRandom(5)
    a = at_once.rbinom(600, size, prob)
    b = at_once.rpois(600, lam)
    one = RRandom(5)
    a1 = np.concatenate([one.rbinom(1, s, p) for s, p in zip(size, prob, strict=True)])
    b1 = np.concatenate([one.rpois(1, m) for m in lam])
    np.testing.assert_array_equal(a, a1)
    np.testing.assert_array_equal(b, b1)
    np.testing.assert_array_equal(at_once.runif(3), one.runif(3))


class _Fixed(Uniforms):
    """A stream of given uniforms (to reach the walks' rare restarts)."""

    def __init__(self, values: list[float]) -> None:
        self._buf = np.array(values, dtype=np.float64)
        self._list = None
        self.pos = 0

    def _ensure(self, k: int) -> None:
        assert self.pos + k <= self._buf.shape[0], "ran out of fixed uniforms"

    def close(self) -> None:
        assert self.pos == self._buf.shape[0] - 1, "not every uniform but the last was read"


@pytest.mark.parametrize("count", [3, 100])
def test_inversion_restarts_with_the_next_uniform(
    count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A uniform beyond the table's end (F(35) for Poisson; the walk past 110 for the
    binomial) is dropped and the draw made from the next uniform, vectorised or not."""
    import shrinkcli.rrng as rrng

    lam = 9.999999
    assert stats.poisson.cdf(35, lam) < 1 - 1e-12
    uniforms = [0.3, 1 - 1e-12] + [0.6] * (count - 1) + [0.1]
    monkeypatch.setattr(rrng, "Uniforms", lambda rng, ahead: _Fixed(uniforms))
    got = rpois_draws(RRandom(1), count, lam)
    want = stats.poisson.ppf([0.3] + [0.6] * (count - 1), lam)
    np.testing.assert_array_equal(got, want)
    # binomial: a uniform above 1 can only be reached by such a walk
    uniforms = [0.3, 1.5] + [0.6] * (count - 1) + [0.1]
    monkeypatch.setattr(rrng, "Uniforms", lambda rng, ahead: _Fixed(uniforms))
    got = rbinom_draws(RRandom(1), count, 20, 0.3)
    np.testing.assert_array_equal(got, stats.binom.ppf([0.3] + [0.6] * (count - 1), 20, 0.3))


def test_edges_draw_no_uniform() -> None:
    r = RRandom(9)
    np.testing.assert_array_equal(r.rbinom(4, [0, 7, 7, 0], [0.5, 0.0, 1.0, 1.0]), [0, 0, 7, 0])
    np.testing.assert_array_equal(r.rpois(3, 0.0), [0, 0, 0])
    assert r.rbinom(0, 5, 0.5).shape == (0,) and r.rpois(0, 2.0).shape == (0,)
    np.testing.assert_array_equal(r.runif(4), RRandom(9).runif(4))


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda r: r.rbinom(3, 10, np.nan), "prob"),
        (lambda r: r.rbinom(3, 10, 1.2), "prob"),
        (lambda r: r.rbinom(3, 10, -0.1), "prob"),
        (lambda r: r.rbinom(3, -1, 0.5), "size"),
        (lambda r: r.rbinom(3, 2.5, 0.5), "size"),
        (lambda r: r.rbinom(3, np.inf, 0.5), "size"),
        (lambda r: r.rbinom(3, 2.0**31, 0.5), "size"),
        (lambda r: r.rbinom(3, [], 0.5), "size"),
        (lambda r: r.rbinom(-1, 3, 0.5), "n"),
        (lambda r: r.rpois(3, -1.0), "lambda"),
        (lambda r: r.rpois(3, [1.0, np.nan]), "lambda"),
        (lambda r: r.rpois(3, np.inf), "lambda"),
    ],
)
def test_invalid_arguments_refused(call: Any, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        call(RRandom(1))


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"balanced": 1.5}, "balanced"),
        ({"family": "gaussian"}, "family"),
        ({"trials": -1}, "trials"),
        ({"cor": 2.0}, "cor"),
        ({"sd_int": -1.0}, "sd_int"),
        ({"n_cluster": 0}, "n_cluster"),
    ],
)
def test_simulate_glmm_refuses_bad_arguments(args: dict[str, Any], field: str) -> None:
    with pytest.raises(ScenarioError) as err:
        simulate_glmm(**args)
    assert err.value.field == field


def test_simulate_glmm_columns() -> None:
    """A trials column only for a binomial outcome of more than one trial, as R's data frame."""
    assert "trials" not in simulate_glmm(n_cluster=5).table
    assert "trials" not in simulate_glmm(n_cluster=5, family="poisson", trials=7).table
    sim = simulate_glmm(n_cluster=5, trials=4, balanced=0.5)
    assert len(sim.table) == 25 and set(np.unique(sim.table["trials"])) == {4}
    assert sim.data.shape == (25, 4) and sim.truth.shape == (5, 3)

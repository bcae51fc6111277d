"""R's default generator against raw streams that R itself produced (r-rng.json)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import REFERENCE

from shrinkcli.rrng import RRandom, qnorm

STREAMS = json.loads((REFERENCE / "r-rng.json").read_text())


@pytest.mark.parametrize("seed", sorted(STREAMS, key=int))
def test_runif_matches_r(seed: str) -> None:
    got = RRandom(int(seed)).runif(10)
    np.testing.assert_allclose(got, STREAMS[seed]["runif"], rtol=1e-13, atol=0)


@pytest.mark.parametrize("seed", sorted(STREAMS, key=int))
def test_rnorm_matches_r(seed: str) -> None:
    got = RRandom(int(seed)).rnorm(10)
    np.testing.assert_allclose(got, STREAMS[seed]["rnorm"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", sorted(STREAMS, key=int))
def test_sample_int_matches_r(seed: str) -> None:
    assert RRandom(int(seed)).sample_int(1000, 10).tolist() == STREAMS[seed]["sample_int_1000_10"]
    assert RRandom(int(seed)).sample_int(7).tolist() == STREAMS[seed]["sample_int_7"]


def test_streams_continue_across_calls() -> None:
    """Drawing in pieces gives the same stream as drawing at once."""
    a = RRandom(42)
    pieces = np.concatenate([a.runif(3), a.runif(700), a.runif(1)])
    np.testing.assert_array_equal(pieces, RRandom(42).runif(704))


def test_sample_int_is_a_permutation_and_block_size_does_not_matter() -> None:
    perm = RRandom(7).sample_int(70_000)
    assert sorted(perm.tolist()) == list(range(1, 70_001))
    # A reference walk, one index at a time, exactly as R's SampleNoReplace does it.
    r = RRandom(7)
    pool = list(range(70_000))
    n = 70_000
    out = []
    while n:
        bits = int(np.ceil(np.log2(n))) if n > 1 else 0
        while True:
            v = 0
            for _ in range(bits // 16 + 1):
                v = 65536 * v + int(np.floor(r.runif(1)[0] * 65536))
            v &= (1 << bits) - 1
            if v < n:
                break
        out.append(pool[v] + 1)
        n -= 1
        pool[v] = pool[n]
    assert perm.tolist() == out


def test_qnorm_is_the_normal_quantile() -> None:
    from statistics import NormalDist

    p = np.array([1e-300, 1e-20, 1e-12, 0.001, 0.02425, 0.075, 0.3, 0.5, 0.8, 0.925, 0.99999])
    expected = [NormalDist().inv_cdf(v) for v in p]
    np.testing.assert_allclose(qnorm(p), expected, rtol=1e-13)
    assert qnorm(np.array([0.5]))[0] == 0.0


def test_seed_out_of_range() -> None:
    with pytest.raises(ValueError):
        RRandom(2**31)

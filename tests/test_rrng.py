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


def _reference_sample(seed: int, n: int, size: int) -> list[int]:
    """R's SampleNoReplace, one index at a time, from the raw uniforms."""
    r = RRandom(seed)
    pool = list(range(n))
    out = []
    for _ in range(size):
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
    return out


@pytest.mark.parametrize(("n", "size"), [(70_000, 70_000), (5_000, 2_000), (1_000, 500), (3, 3)])
def test_sample_int_follows_rs_algorithm(n: int, size: int) -> None:
    got = RRandom(7).sample_int(n, size).tolist()
    assert got == _reference_sample(7, n, size)
    assert len(set(got)) == size and min(got) >= 1 and max(got) <= n


def test_qnorm_is_the_normal_quantile() -> None:
    from statistics import NormalDist

    p = np.array([1e-300, 1e-20, 1e-12, 0.001, 0.02425, 0.075, 0.3, 0.5, 0.8, 0.925, 0.99999])
    expected = [NormalDist().inv_cdf(v) for v in p]
    np.testing.assert_allclose(qnorm(p), expected, rtol=1e-13)
    assert qnorm(np.array([0.5]))[0] == 0.0


def test_seed_out_of_range() -> None:
    with pytest.raises(ValueError):
        RRandom(2**31)


def test_hashed_sampler_follows_rs_sample2() -> None:
    """R uses its hash-based sampler for n > 1e7 and size <= n/2: draw with replacement, skip
    repeats. The algorithm does not depend on n, so it is checked on a small one."""
    r = RRandom(11)
    expected: list[int] = []
    n = 1000
    bits = int(np.ceil(np.log2(n)))
    while len(expected) < 300:
        v = int(np.floor(r.runif(1)[0] * 65536)) & ((1 << bits) - 1)
        if v < n and v + 1 not in expected:
            expected.append(v + 1)
    fast = RRandom(11)
    assert fast._sample_hashed(n, 300).tolist() == expected
    # the stream goes on exactly after the last attempt used, as R's does
    assert fast.runif(5).tolist() == r.runif(5).tolist()


def test_normals_in_chunks_and_deferred_are_the_same_numbers() -> None:
    """rnorm computes its normals a chunk at a time, and `rnorm_deferred` whenever asked:
    the same doubles as Inversion in one pass over all the uniforms, and the stream moves on
    as rnorm moves it."""
    n = 3 * (1 << 16) + 5  # chunks and a ragged end
    u = RRandom(5).runif(2 * n)
    one_pass = qnorm((np.floor(2.0**27 * u[0::2]) + u[1::2]) / 2.0**27)
    np.testing.assert_array_equal(RRandom(5).rnorm(n), one_pass)
    np.testing.assert_array_equal(RRandom(5).rnorm(n, 2.0, 3.0), 2.0 + 3.0 * one_pass)
    a, b = RRandom(9), RRandom(9)
    later = a.rnorm_deferred(1000, 1.0, 0.5)
    after = a.sample_int(50_000, 100)  # drawn before the normals are computed
    np.testing.assert_array_equal(later(), b.rnorm(1000, 1.0, 0.5))
    np.testing.assert_array_equal(after, b.sample_int(50_000, 100))

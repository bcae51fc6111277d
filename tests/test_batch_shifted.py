"""The batched engine (`lmm/batch.py`) on a covariate far from 0 (x + 2000, x + 1e6).

For (x | cluster) and (1 | cluster) a shift of x is a reparametrisation: the criterion of the
shifted data is the centred data's, and the batched fit must find it (1e-8 relative) and agree
with the single fit, which evaluates in centred coordinates (`pls.py`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shrinkcli.lmm import model_fit, prepare_arrays, sufficient_stats
from shrinkcli.lmm.batch import batch_stats, fit_batch
from shrinkcli.model import ModelSpec

DATA = Path(__file__).parent / "data" / "reference"
SETS = ["baseline", "more-observations", "more-slope-variance"]


def _batch(y: np.ndarray, x: np.ndarray, codes: np.ndarray, spec: ModelSpec):  # noqa: ANN202
    return fit_batch(batch_stats(y[None], x[None], codes, int(codes.max()) + 1), spec)


@pytest.mark.parametrize("random", ["intercept-slope", "intercept"])
@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("shift", [2000.0, 1e6])
def test_a_shifted_covariate_gives_the_centred_criterion(
    random: str, name: str, shift: float
) -> None:
    data = pd.read_csv(DATA / name / "data.csv")
    y = data["y"].to_numpy(dtype=float)
    x = data["x"].to_numpy(dtype=float)
    codes = data["cluster"].to_numpy() - 1
    spec = ModelSpec(random=random)  # type: ignore[arg-type]
    centred = _batch(y, x - x.mean(), codes, spec)
    shifted = _batch(y, x + shift, codes, spec)
    assert centred.accepted[0]
    assert math.isclose(shifted.criterion[0], centred.criterion[0], rel_tol=1e-8)
    prep = prepare_arrays(y, x + shift, codes, int(codes.max()) + 1, spec)
    one = model_fit(
        sufficient_stats(prep.y, prep.x, prep.codes, prep.n_groups),
        prep,
        spec,
        residual_quantiles=False,
    )
    assert shifted.accepted[0]
    assert abs(one.criterion - shifted.criterion[0]) <= 1e-8 * abs(one.criterion)
    assert np.max(np.abs(np.array(one.theta) - shifted.theta[0])) <= 1e-6 * max(1.0, shift)
    np.testing.assert_allclose(shifted.beta[0], one.beta, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(shifted.std_errors[0], one.std_errors, rtol=1e-6)
    assert math.isclose(shifted.sigma2[0], one.sigma2, rel_tol=1e-7)

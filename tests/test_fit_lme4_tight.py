"""The native engine against lme4 run to convergence (tests/r/make_lme4_tight.R wrote
tests/data/lme4-tight/*.json from the reference data), at the target agreement: criterion
within 1e-4, fixed effects and standard errors within 1e-5 relative, variance components within
1e-4 relative, every cluster's mixed coefficients within 1e-5.

lme4's default optimizer stops slightly short of the optimum (test_fit_reference.py compares with
those numbers); with a tight tolerance lme4 and this engine reach the same point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import POST_SCENARIOS, REFERENCE

from shrinkcli.lmm import fit
from shrinkcli.model import ModelSpec

TIGHT = Path(__file__).resolve().parent / "data" / "lme4-tight"


@pytest.mark.parametrize("method", ["reml", "ml"])
@pytest.mark.parametrize("scenario", POST_SCENARIOS)
def test_agrees_with_converged_lme4(scenario: str, method: str) -> None:
    ref = json.loads((TIGHT / f"{scenario}.json").read_text())[method]
    data = pd.read_csv(REFERENCE / scenario / "data.csv")
    res = fit(data, ModelSpec(method=method))  # type: ignore[arg-type]
    assert abs(res.model.criterion - ref["criterion"]) < 1e-4
    # lme4 at its tightest and this engine find the same optimum, to far better than 1e-4
    assert abs(res.model.criterion - ref["criterion"]) < 1e-8
    for mine, theirs in zip(res.fixed_effects, ref["fixed_effects"], strict=True):
        assert mine.estimate == pytest.approx(theirs["estimate"], rel=1e-5)
        assert mine.std_error == pytest.approx(theirs["std_error"], rel=1e-5)
    re = res.model.variance
    assert re.intercept_var == pytest.approx(ref["random_effects"]["intercept_var"], rel=1e-4)
    assert re.slope_var == pytest.approx(ref["random_effects"]["slope_var"], rel=1e-4)
    assert re.corr == pytest.approx(ref["random_effects"]["corr"], abs=1e-4)
    assert res.model.sigma2 == pytest.approx(ref["residual_variance"], rel=1e-5)
    ids = [str(c) for c in res.clusters["cluster"]]
    assert ids == [c["cluster"] for c in ref["clusters"]]
    for col in ("mixed_intercept", "mixed_slope"):
        np.testing.assert_allclose(
            res.clusters[col], [c[col] for c in ref["clusters"]], rtol=0, atol=1e-5
        )

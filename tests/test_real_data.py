"""Real data sets of several shapes against lme4 (tests/r/make_real_data.R wrote
tests/data/real/): lme4's sleepstudy (integer ids, equal sizes), nlme's Orthodont (a growth table,
text ids), R's ChickWeight (unequal sizes, 2 to 12 rows) and sleepstudy with drop-outs (clusters
of a single row). The fits against lme4 run to convergence, the summary text against what lme4
prints, the by-cluster lines against lmList, and the bootstrap's draws against lme4's
simulate()."""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import fit_from_lme4

from shrinkcli.io import read_table
from shrinkcli.lmm import Fit, fit, prepare_data
from shrinkcli.model import ModelSpec
from shrinkcli.studies import Bootstrap
from shrinkcli.summary import format_summary

REAL = Path(__file__).resolve().parent / "data" / "real"
DATA_SETS = ("sleepstudy", "orthodont", "chickweight", "sleepstudy_dropout")


@cache
def reference(name: str) -> dict[str, Any]:
    return json.loads((REAL / f"{name}-lme4.json").read_text())  # type: ignore[no-any-return]


def table(name: str) -> pd.DataFrame:
    return read_table(
        str(REAL / f"{name}.csv"), id_columns=[reference(name)["cluster"]]
    ).to_pandas()


def names(name: str) -> dict[str, str]:
    ref = reference(name)
    return {"y": ref["y"], "x": ref["x"], "cluster": ref["cluster"]}


def number(v: Any) -> float:
    return math.nan if v is None else float(v)


def test_the_data_sets_have_the_shapes_they_stand_for() -> None:
    sizes = {n: table(n).groupby(names(n)["cluster"]).size() for n in DATA_SETS}
    assert sizes["sleepstudy"].nunique() == 1 and len(sizes["sleepstudy"]) == 18
    assert table("orthodont")["Subject"].map(type).eq(str).all()  # text ids, kept as text
    assert sizes["chickweight"].min() == 2 and sizes["chickweight"].max() == 12
    assert (sizes["sleepstudy_dropout"] == 1).sum() == 3


@pytest.mark.parametrize("method", ["reml", "ml"])
@pytest.mark.parametrize("name", DATA_SETS)
def test_agrees_with_converged_lme4(name: str, method: str) -> None:
    ref = reference(name)[f"{method}_tight"]
    res = fit(table(name), ModelSpec(method=method), **names(name))
    assert res.model.converged and not res.warnings
    assert abs(res.model.criterion - ref["criterion"]) < 1e-8
    for mine, theirs in zip(res.fixed_effects, ref["fixed_effects"], strict=True):
        assert mine.estimate == pytest.approx(theirs["estimate"], rel=1e-6)
        assert mine.std_error == pytest.approx(theirs["std_error"], rel=1e-6)
    vc, want = res.model.variance, ref["random_effects"]
    assert vc.intercept_var == pytest.approx(want["intercept_var"], rel=1e-5)
    assert vc.slope_var == pytest.approx(want["slope_var"], rel=1e-5)
    assert vc.corr == pytest.approx(want["corr"], abs=1e-5)
    assert res.model.sigma2 == pytest.approx(ref["residual"]["variance"], rel=1e-6)
    assert [str(c) for c in res.clusters["cluster"]] == [c["cluster"] for c in ref["clusters"]]
    assert list(res.clusters["n"]) == [c["n"] for c in ref["clusters"]]
    for col in ("mixed_intercept", "mixed_slope"):  # the target tolerance
        np.testing.assert_allclose(
            res.clusters[col], [c[col] for c in ref["clusters"]], rtol=0, atol=1e-5
        )


@pytest.mark.parametrize("name", DATA_SETS)
def test_by_cluster_lines_are_lmLists(name: str) -> None:
    ref = reference(name)["reml"]
    res = fit(table(name), **names(name))
    for col in ("ols_intercept", "ols_slope"):
        want = np.array([number(c[col]) for c in ref["clusters"]])
        got = res.clusters[col].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(got), np.isnan(want)), col  # no slope from one row
        np.testing.assert_allclose(got[~np.isnan(want)], want[~np.isnan(want)], rtol=1e-10)
    if name == "sleepstudy_dropout":
        assert res.clusters["ols_slope"].isna().sum() == 3


@pytest.mark.parametrize("name", DATA_SETS)
def test_summary_text_is_lme4s(name: str) -> None:
    """At lme4's own estimates (its default optimizer stops a little short of the optimum, so
    the last printed digit of a variance can differ from this engine's)."""
    d = reference(name)["reml"]
    lme4_fit: Fit = fit_from_lme4(d, names=names(name))
    assert format_summary(lme4_fit, data_name=name) == (REAL / f"{name}-summary.txt").read_text()
    mine = format_summary(fit(table(name), **names(name)), data_name=name)
    crit = next(ln for ln in mine.splitlines() if ln.startswith("REML criterion"))
    assert crit in (REAL / f"{name}-summary.txt").read_text()


@pytest.mark.parametrize("random", ["intercept-slope", "uncorrelated", "intercept"])
@pytest.mark.parametrize("name", DATA_SETS)
def test_bootstrap_draws_are_lme4s_simulate(name: str, random: str) -> None:
    """With R's generator, a bootstrap draw at lme4's θ, β and σ is lme4's simulate(mod, seed)
    number for number: the random effects in lme4's order, then the residuals."""
    sim = json.loads((REAL / f"{name}-simulate.json").read_text())[random]
    spec = ModelSpec(random=random)
    prep = prepare_data(table(name), **names(name), spec=spec)
    boot = Bootstrap(
        prep.x,
        prep.codes,
        prep.n_groups,
        spec,
        np.array(sim["beta"]),
        tuple(np.atleast_1d(sim["theta"])),
        float(sim["sigma"]),
    )
    y, coef = boot.draw(int(sim["seed"]), "r")
    want = np.array(sim["y"])
    np.testing.assert_allclose(y, want, rtol=0, atol=1e-11 * float(np.abs(want).max()))
    assert coef.shape == (prep.n_groups, 2)
    if random == "intercept":  # no random slope: every cluster has the fixed slope
        assert np.all(coef[:, 1] == sim["beta"][1])

"""The study's cluster-level coverage: how often each cluster's 95% intervals held its true
coefficients, overall and by cluster size; the profile intervals' coverage; the sentences that
say where coverage is poor; and `shrink study` writing and saying them."""

from __future__ import annotations

import math
from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIO_DIR, read_csv_text
from scipy.stats import t as student_t
from typer.testing import CliRunner

from shrinkcli import fit, simulate
from shrinkcli.cli import app
from shrinkcli.scenario import Scenario, load_scenario
from shrinkcli.studies import (
    COEFFICIENT_COVERAGE_COLUMNS,
    COVERAGE_COLUMNS,
    PROFILED,
    QUANTITIES,
    REPLICATION_COLUMNS,
    StudyResult,
    coverage_findings,
    poor,
    replicate,
    replication_seed,
    run_study,
)


def _scenario(name: str, **changes: object) -> Scenario:
    return load_scenario(SCENARIO_DIR / f"{name}.yaml").model_copy(update=changes)


@cache
def _study(name: str, reps: int, ci: str | None = None) -> StudyResult:
    return run_study([_scenario(name)], reps, jobs=1, ci=ci)


def test_new_quantities_and_columns() -> None:
    assert QUANTITIES[8:10] == ("cluster_coverage_ols", "cluster_coverage_mixed")
    assert REPLICATION_COLUMNS[-3:] == ("cluster_coverage_ols", "cluster_coverage_mixed", "error")
    result = _study("unbalanced", 4)
    assert tuple(result.cluster_coverage.columns) == COVERAGE_COLUMNS  # type: ignore[union-attr]
    assert list(result.replications.columns) == list(REPLICATION_COLUMNS)
    assert set(result.files()) >= {"cluster_coverage.csv", "coverage.png"}


def test_a_replication_against_a_direct_computation() -> None:
    """Replication 3 of the unbalanced scenario: every cluster's intervals recomputed from the
    fit, with scipy's t and normal quantiles."""
    scenario = _scenario("unbalanced")
    row = replicate(scenario, 3)
    sim = simulate(scenario.model_copy(update={"seed": replication_seed(scenario.seed, 3)}))
    result = fit(sim.data, truth=sim.truth)
    c = result.clusters
    has = c["ols_slope"].notna().to_numpy()
    df = int(c["n"].sum() - np.where(has, 2, 1).sum())
    q = student_t.ppf(0.975, df)
    hits_ols, hits_mixed = [], []
    for coef in ("intercept", "slope"):
        truth = c[f"true_{coef}"].to_numpy()
        o = np.abs(c[f"ols_{coef}"] - truth) <= q * c[f"ols_{coef}_se"]
        hits_ols += list(o[has])
        m = np.abs(c[f"mixed_{coef}"] - truth) <= 1.959963984540054 * c[f"mixed_{coef}_se"]
        hits_mixed += list(m)
    assert row["cluster_coverage_ols"] == pytest.approx(np.mean(hits_ols), abs=1e-12)
    assert row["cluster_coverage_mixed"] == pytest.approx(np.mean(hits_mixed), abs=1e-12)
    by_size = {int(r[0]): r for r in row["_by_size"]}
    n = c["n"].to_numpy()
    assert sum(r[1] for r in by_size.values()) == len(c)
    assert by_size[int(n.min())][1] == int((n == n.min()).sum())


def test_by_size_adds_up_over_replications() -> None:
    result = _study("unbalanced", 6)
    table = result.cluster_coverage
    assert table is not None
    scenario = _scenario("unbalanced")
    present = sum(  # balanced < 1 can drop every row of a cluster
        simulate(scenario.model_copy(update={"seed": replication_seed(scenario.seed, k)}))
        .data["cluster"]
        .nunique()
        for k in range(1, 7)
    )
    assert table["clusters"].sum() == present
    assert list(table["n"]) == sorted(table["n"])
    single = table[table["n"] == 1]
    if len(single):  # a cluster of one row has no line of its own: no by-cluster interval
        assert (single["ols_clusters"] == 0).all() and single["ols_slope"].isna().all()
    shares = table[["ols_intercept", "ols_slope", "mixed_intercept", "mixed_slope"]]
    values = shares.to_numpy(float)
    assert np.nanmin(values) >= 0 and np.nanmax(values) <= 1
    # the overall shares are the by-size ones weighted by their intervals
    mixed = result.summary.set_index("quantity").loc["cluster_coverage_mixed"]
    weights = table["clusters"].to_numpy(float)
    pooled = (
        (table["mixed_intercept"] * weights).sum() + (table["mixed_slope"] * weights).sum()
    ) / (2 * weights.sum())
    assert mixed["mean"] == pytest.approx(pooled, abs=0.01)  # mean of per-replication shares
    assert mixed["truth"] == 0.95 and mixed["coverage"] == mixed["mean"]


def test_intercept_only_leaves_the_slope_out_of_the_mixed_coverage() -> None:
    scenario = _scenario("baseline", n_cluster=30).model_copy(
        update={"model": _scenario("baseline").model.model_copy(update={"random": "intercept"})}
    )
    result = run_study([scenario], 3, jobs=1)
    table = result.cluster_coverage
    assert table is not None and table["mixed_slope"].isna().all()
    assert table["mixed_intercept"].notna().all()


def test_profile_coverage_of_the_variance_components() -> None:
    result = _study("baseline", 5, "profile")
    reps = result.replications
    for p in PROFILED:
        assert (reps[f"{p}_lower"] <= reps[p]).all() and (reps[p] <= reps[f"{p}_upper"]).all()
    summary = result.summary.set_index("quantity")
    for p in PROFILED:
        truth = summary.loc[p, "truth"]
        inside = ((reps[f"{p}_lower"] <= truth) & (truth <= reps[f"{p}_upper"])).mean()
        assert summary.loc[p, "coverage"] == pytest.approx(inside)
    plain = _study("baseline", 5).summary.set_index("quantity")
    assert plain.loc[list(PROFILED), "coverage"].isna().all()
    # the other rows are the same with or without profiling
    pd.testing.assert_frame_equal(plain.drop(list(PROFILED)), summary.drop(list(PROFILED)))


def test_poor_means_short_by_more_than_chance() -> None:
    assert poor(0.90, 10_000) and not poor(0.94, 10_000)
    assert not poor(0.90, 30)  # 30 intervals: chance alone moves 95% by ±12 points
    assert not poor(math.nan, 100) and not poor(0.5, 0)


def _synthetic(
    rows: list[dict[str, float]],
    reps: pd.DataFrame | None = None,
    by_coef: pd.DataFrame | None = None,
) -> StudyResult:
    scenario = Scenario(name="s", title="Synthetic")
    table = pd.DataFrame([{"scenario": "s", **r} for r in rows], columns=list(COVERAGE_COLUMNS))
    summary = pd.DataFrame(columns=["scenario", "quantity"])
    replications = reps if reps is not None else pd.DataFrame(columns=list(REPLICATION_COLUMNS))
    if by_coef is None and reps is not None:  # each coefficient covered as both together
        by_coef = pd.DataFrame(
            {
                "scenario": reps["scenario"],
                "replication": reps["replication"],
                "mixed_intercept": reps["cluster_coverage_mixed"],
                "mixed_slope": reps["cluster_coverage_mixed"],
            }
        )
    return StudyResult(
        replications, summary, (scenario,), cluster_coverage=table, coefficient_coverage=by_coef
    )


def test_findings_when_all_is_well() -> None:
    good = {
        "n": 10,
        "clusters": 5000,
        "ols_clusters": 5000,
        "ols_intercept": 0.949,
        "ols_slope": 0.951,
        "mixed_intercept": 0.946,
        "mixed_slope": 0.948,
    }
    assert coverage_findings(_synthetic([good])) == [
        "In every scenario the clusters' 95% intervals, by-cluster and mixed, held the true "
        "coefficients about 95% of the time (within what chance allows)."
    ]


def test_findings_say_where_coverage_is_poor_and_why() -> None:
    rows = [
        {
            "n": 2,
            "clusters": 2000,
            "ols_clusters": 2000,
            "ols_intercept": 0.95,
            "ols_slope": 0.95,
            "mixed_intercept": 0.94,
            "mixed_slope": 0.70,
        },
        {
            "n": 8,
            "clusters": 2000,
            "ols_clusters": 2000,
            "ols_intercept": 0.95,
            "ols_slope": 0.95,
            "mixed_intercept": 0.95,
            "mixed_slope": 0.90,
        },
    ]
    reps = pd.DataFrame(
        {
            "scenario": ["s"] * 4,
            "replication": [1, 2, 3, 4],
            "error": [""] * 4,
            "sd_slope": [0.1, 0.2, 0.3, 0.4],
            "sd_int": [0.5] * 4,
            "cluster_coverage_mixed": [0.7, 0.8, 0.93, 0.95],
        }
    )
    found = coverage_findings(_synthetic(rows, reps))
    assert found[0] == (
        "In Synthetic, the mixed model's 95% intervals held the true slope of only 80% of the "
        "clusters (the by-cluster ones: 95%). These intervals take the estimated SDs as known: "
        "in the replications whose slope SD came out below the true 0.25 (50% of them) they "
        "held the true slope of 75% of the clusters, in the others 94%."
    )
    assert found[1] == (
        "In Synthetic, coverage was poorest for clusters of 2 observations: "
        "70% for the mixed slopes (2,000 intervals)."
    )
    assert len(found) == 2
    # no "why" when the replications do not show it
    flat = reps.assign(cluster_coverage_mixed=[0.9, 0.9, 0.8, 0.8])
    assert coverage_findings(_synthetic(rows, flat))[0].endswith("(the by-cluster ones: 95%).")


def test_why_compares_the_coverage_of_the_coefficient_it_names() -> None:
    """The replications' joint coverage (intercepts and slopes together) differs from each
    coefficient's: the sentence on the intercept gives the intercept's."""
    rows = [
        {
            "n": 4,
            "clusters": 4000,
            "ols_clusters": 4000,
            "ols_intercept": 0.95,
            "ols_slope": 0.95,
            "mixed_intercept": 0.85,
            "mixed_slope": 0.95,
        }
    ]
    reps = pd.DataFrame(
        {
            "scenario": ["s"] * 4,
            "replication": [1, 2, 3, 4],
            "error": [""] * 4,
            "sd_slope": [0.25] * 4,
            "sd_int": [0.2, 0.3, 0.6, 0.7],
            "cluster_coverage_mixed": [0.82, 0.82, 0.86, 0.86],
        }
    )
    by_coef = pd.DataFrame(
        {
            "scenario": ["s"] * 4,
            "replication": [4, 3, 2, 1],
            "mixed_intercept": [0.91, 0.89, 0.71, 0.69],
            "mixed_slope": [0.97] * 4,
        }
    )
    found = coverage_findings(_synthetic(rows, reps, by_coef))
    assert found[0].endswith(
        "in the replications whose intercept SD came out below the true 0.5 (50% of them) they "
        "held the true intercept of 70% of the clusters, in the others 90%."
    )
    # without each coefficient's own coverage the study says no why
    alone = coverage_findings(replace(_synthetic(rows, reps), coefficient_coverage=None))
    assert alone[0].endswith("(the by-cluster ones: 95%).")


def test_a_study_keeps_each_coefficients_coverage() -> None:
    result = _study("few-observations", 5)
    by_coef = result.coefficient_coverage
    assert by_coef is not None and list(by_coef.columns) == list(COEFFICIENT_COVERAGE_COLUMNS)
    reps = result.replications.set_index("replication")
    for _, r in by_coef.iterrows():
        joint = reps.loc[r["replication"], "cluster_coverage_mixed"]
        lo, hi = sorted((r["mixed_intercept"], r["mixed_slope"]))
        assert lo - 1e-12 <= joint <= hi + 1e-12  # both together lie between the two


def test_findings_of_a_real_study() -> None:
    found = coverage_findings(_study("few-observations", 40))
    assert any(
        f.startswith(
            "In Few observations per cluster, the mixed model's 95% intervals "
            "held the true slope of only"
        )
        for f in found
    )


def test_cli_study_writes_coverage_and_says_where_it_is_poor(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "study"
    res = runner.invoke(
        app,
        [
            "study",
            str(SCENARIO_DIR / "few-observations.yaml"),
            "-n",
            "30",
            "-o",
            str(out),
            "-f",
            "csv",
        ],
    )
    assert res.exit_code == 0, res.stderr
    table = read_csv_text(res.stdout)
    assert "cluster_coverage_mixed" in set(table["quantity"])
    assert "shrink: note: In Few observations per cluster, the mixed model's" in res.stderr
    coverage = pd.read_csv(out / "cluster_coverage.csv")
    assert list(coverage.columns) == list(COVERAGE_COLUMNS)
    assert (out / "coverage.png").read_bytes().startswith(b"\x89PNG")
    quiet = runner.invoke(
        app, ["study", str(SCENARIO_DIR / "few-observations.yaml"), "-n", "3", "-q", "-f", "csv"]
    )
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_cli_study_profile(runner: CliRunner) -> None:
    res = runner.invoke(
        app,
        [
            "study",
            str(SCENARIO_DIR / "baseline.yaml"),
            "-n",
            "3",
            "--ci",
            "profile",
            "-f",
            "csv",
            "-q",
        ],
    )
    assert res.exit_code == 0, res.stderr
    table = read_csv_text(res.stdout).set_index("quantity")
    assert table.loc[list(PROFILED), "coverage"].notna().all()
    bad = runner.invoke(
        app, ["study", str(SCENARIO_DIR / "baseline.yaml"), "-n", "3", "--ci", "bootstrap"]
    )
    assert bad.exit_code == 2 and "--ci" in bad.stderr

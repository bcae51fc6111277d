"""Every sentence the report writes follows from the numbers it reads: each branch of the
reading, the headline and the table's colours, against numbers that trigger it."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import pytest

from shrinkcli.report.metrics import RHO, SAME, Errors, Metrics, compare, reading
from shrinkcli.report.pages import verdict

BASE = Metrics(
    estimates={"est_sd_int": 0.5},
    criterion=3000.0,
    singular=False,
    converged=True,
    mean_shrinkage=0.4,
    errors=Errors(
        clusters=100,
        left_out=0,
        ols_intercept=0.3,
        mixed_intercept=0.2,
        ols_slope=0.4,
        mixed_slope=0.2,
        ols_line=0.5,
        mixed_line=0.3,
        closer=70,
    ),
    cluster_size=10.0,
    own_intercept_se=0.32,
)


def _errors(m: Metrics, **changes: float) -> Metrics:
    assert m.errors is not None
    return replace(m, errors=replace(m.errors, **changes))


def test_compare_is_one_rule() -> None:
    assert compare(1.0, 1.0 - 2 * SAME) == "better"
    assert compare(1.0, 1.0 + 2 * SAME) == "worse"
    assert compare(1.0, 1.0 - SAME / 2) == compare(1.0, 1.0 + SAME / 2) == "same"
    assert compare(math.nan, 1.0) == "same"


def test_shrinkage_and_closer_sentences_read_the_numbers() -> None:
    text = reading(BASE, 100)
    assert text[0].startswith("On average a cluster's line moved 40% of the way")
    assert "(mean shrinkage 0.40)" in text[0]
    assert "closer to the true line for 70 of 100 clusters" in text[1]
    assert "fell from 0.300 to 0.200" in text[1] and "fell from 0.400 to 0.200" in text[1]


def test_better_branch() -> None:
    text = " ".join(reading(BASE, 100))
    assert "removes much more noise" in text and "Fewer than half" not in text
    few = " ".join(reading(_errors(BASE, closer=40), 100))
    assert "Fewer than half of the clusters moved closer, yet the error fell" in few


def test_worse_branch() -> None:
    text = " ".join(reading(_errors(BASE, mixed_line=0.6), 100))
    assert "cost more than it saved" in text and "removes much more noise" not in text


def test_about_equal_because_clusters_are_large() -> None:
    m = replace(_errors(BASE, mixed_line=0.5), mean_shrinkage=0.08, cluster_size=100.0)
    text = " ".join(reading(m, 100))
    assert "With 100 observations per cluster, each cluster's own line is already precise" in text


def test_about_equal_because_clusters_differ_a_lot() -> None:
    """More subject-level variance: 10 observations per cluster like the baseline, so the reason
    is the spread between clusters, not the amount of data (a sentence once said otherwise)."""
    m = replace(_errors(BASE, mixed_line=0.49), mean_shrinkage=0.10, estimates={"est_sd_int": 1.09})
    text = " ".join(reading(m, 100))
    assert "The clusters differ much more than one cluster's own estimate is uncertain" in text
    assert "SD between clusters is 1.09" in text and "about 0.32" in text
    assert "information per cluster" not in text and "observations per cluster" not in text


def test_about_equal_otherwise() -> None:
    m = replace(_errors(BASE, mixed_line=0.49), mean_shrinkage=0.45)
    text = " ".join(reading(m, 100))
    assert "the bias that pooling adds and the noise it removes about cancel" in text


def test_left_out_sizes_and_singular_sentences() -> None:
    m = _errors(BASE, left_out=7, clusters=93)
    assert any(s.startswith("7 of 100 clusters have no by-cluster slope") for s in reading(m, 100))
    sized = replace(
        BASE, most_shrunk=[{"n": 2}, {"n": 3}], least_shrunk=[{"n": 9}, {"n": 10}], size_rho=-0.5
    )
    assert any(
        "have 2.5 observations on average, the 2 least shrunk 9.5" in s for s in reading(sized, 100)
    )
    equal = replace(BASE, most_shrunk=[{"n": 10}], least_shrunk=[{"n": 10}])
    assert not any("observations on average" in s for s in reading(equal, 100))
    assert any("The fit is singular" in s for s in reading(replace(BASE, singular=True), 100))
    assert not any("singular" in s for s in reading(BASE, 100))


def test_the_size_sentence_follows_the_rank_correlation_of_all_clusters() -> None:
    """The extremes may be smaller while over all clusters size has little to do with
    shrinkage (the data page then says so): the sentence on the extremes needs the same rank
    correlation, `RHO`, that the data page reads."""
    sized = replace(BASE, most_shrunk=[{"n": 2}, {"n": 3}], least_shrunk=[{"n": 9}, {"n": 10}])
    for rho in (-RHO / 2, 0.0, RHO, math.nan):
        assert not any(
            "observations on average" in s for s in reading(replace(sized, size_rho=rho), 100)
        )
    assert any("observations on average" in s for s in reading(replace(sized, size_rho=-RHO), 100))
    # strongly negative, but the extremes disagree: nothing said of them
    backwards = replace(
        sized, most_shrunk=sized.least_shrunk, least_shrunk=sized.most_shrunk, size_rho=-0.9
    )
    assert not any("observations on average" in s for s in reading(backwards, 100))


def test_no_truth_no_comparison() -> None:
    text = reading(replace(BASE, errors=None), 100)
    assert len(text) == 1 and text[0].startswith("On average")


class _Report:
    def __init__(self, m: Metrics) -> None:
        self.metrics = m


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ([(0.3, 0.2, 0.4, 0.2)] * 3, "In all 3 scenarios"),
        (
            [(0.3, 0.2, 0.4, 0.2), (0.3, 0.29, 0.4, 0.2), (0.3, 0.2, 0.4, 0.5)],
            "In 1 of 3 scenarios",
        ),
    ],
)
def test_headline_counts_the_rows_the_table_colours(
    cells: list[tuple[float, float, float, float]], expected: str
) -> None:
    reports = [
        _Report(_errors(BASE, ols_intercept=a, mixed_intercept=b, ols_slope=c, mixed_slope=d))
        for a, b, c, d in cells
    ]
    text = verdict(reports)  # type: ignore[arg-type]
    assert text.startswith(expected)
    green_rows = sum(
        compare(a, b) == "better" and compare(c, d) == "better" for a, b, c, d in cells
    )
    assert re.search(rf"\b{green_rows}\b|all", text)


def _study_row(title: str, ols: float, mixed: float, shrinkage: float) -> dict:
    return {
        "title": title,
        "rmse_ols": ols,
        "rmse_mixed": mixed,
        "reduction": 1 - mixed / ols,
        "shrinkage": shrinkage,
        "cover_intercept": math.nan,
        "cover_beta": math.nan,
        "failed": 0.0,
        "singular": 0.0,
        "reps": 10,
    }


def test_the_study_names_each_extreme_once_and_a_tie_as_a_tie() -> None:
    from shrinkcli.report.study import reading as study_reading

    two = [_study_row("Baseline", 1.0, 0.5, 0.6), _study_row("Unbalanced", 1.0, 0.8, 0.3)]
    text = study_reading(two)
    assert text[0].endswith(
        "The RMSE fell most in Baseline (1.000 → 0.500, 50% lower) and "
        "least in Unbalanced (1.000 → 0.800, 20%)."
    )
    assert "was 0.60 in Baseline and 0.30 in Unbalanced." in text[1]
    # every scenario the same: said once, no scenario named twice
    same = [_study_row("Baseline", 1.0, 0.5, 0.4), _study_row("Copy", 2.0, 1.0, 0.4)]
    text = study_reading(same)
    assert text[0].endswith("The RMSE changed by the same 50% in every scenario.")
    assert "the mean shrinkage was 0.40 in every scenario." in text[1]
    # a tie at one end names both
    tied = [*same, _study_row("Unbalanced", 1.0, 0.8, 0.1)]
    text = study_reading(tied)
    assert text[0].endswith(
        "The RMSE fell most, by 50%, in Baseline (1.000 → 0.500) and Copy "
        "(2.000 → 1.000), and least, by 20%, in Unbalanced (1.000 → 0.800)."
    )
    assert "was 0.40 in Baseline and Copy and 0.10 in Unbalanced." in text[1]
    for t in (two, same, tied):
        for sentence in study_reading(t):
            assert sentence.count("Baseline") <= 1


def test_a_study_of_one_scenario_names_it() -> None:
    from shrinkcli.report.study import reading as study_reading

    text = study_reading([_study_row("Baseline", 1.0, 0.5, 0.6)])
    assert text == [
        "On average over the replications, the mixed model's cluster estimates were "
        "closer to the truth than the by-cluster ones in Baseline."
    ]
    worse = study_reading([_study_row("Baseline", 1.0, 1.2, 0.6)])
    assert "were not closer to the truth than the by-cluster ones in Baseline." in worse[0]

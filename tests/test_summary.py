"""format_summary against what lme4 1.1-31 prints, and the R number formatting underneath.

Targets: the six scenarios' `lme4-summary.txt` in tests/data/reference (REML fits), and the extra
cases in tests/data/summary made by tests/r/make_summary_cases.R (ML, random intercept only,
singular fits, renamed columns, huge and tiny numbers, a battery of format()/round() results).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import POST_SCENARIOS, REFERENCE, fit_from_lme4

from shrinkcli.lmm import Fit
from shrinkcli.rformat import cat_fill, format_coefmat, format_r, r_name, r_round, zapsmall
from shrinkcli.summary import format_summary, formula

CASES = Path(__file__).resolve().parent / "data" / "summary"
SCENARIOS = POST_SCENARIOS
EXTRA_CASES = sorted(p.stem for p in CASES.glob("*.txt"))


def build_fit(
    d: dict[str, Any],
    *,
    random: str = "intercept-slope",
    names: dict[str, str] | None = None,
    optimizer: str = "nloptwrap",
    opt_converged: bool = True,
    messages: tuple[str, ...] = (),
) -> Fit:
    """A Fit from the numbers of an lme4.json fit object; `opt_converged` is lme4's optimizer
    convergence code 0."""
    return fit_from_lme4(
        d,
        random=random,
        names=names,
        optimizer=optimizer,
        converged=opt_converged,
        warnings=messages,
    )


def load_case(name: str) -> tuple[Fit, str, str]:
    case = json.loads((CASES / f"{name}.json").read_text())
    fit = build_fit(
        case["fit"],
        random=case["random"],
        names=case["names"],
        optimizer=case["optimizer"],
        opt_converged=case["convergence_code"] == 0,
        messages=tuple(case["messages"]),
    )
    return fit, case["data_name"], (CASES / f"{name}.txt").read_text()


# ---------------------------------------------------------------------------------------------
# format_summary
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_reml_summary_matches_lme4(scenario: str) -> None:
    ref = json.loads((REFERENCE / scenario / "lme4.json").read_text())
    expected = (REFERENCE / scenario / "lme4-summary.txt").read_bytes().decode()
    assert expected.endswith("12.74\n") or expected.endswith("\n")
    assert format_summary(build_fit(ref["reml"])) == expected


@pytest.mark.parametrize("name", EXTRA_CASES)
def test_extra_cases_match_lme4(name: str) -> None:
    fit, data_name, expected = load_case(name)
    assert format_summary(fit, data_name=data_name) == expected


def test_extra_cases_cover_the_layouts() -> None:
    assert {
        "baseline-ml",
        "baseline-intercept",
        "baseline-intercept-ml",
        "singular-corr-minus-one",
        "singular-corr-one",
        "singular-corr-nan",
        "singular-intercept",
        "huge",
        "tiny",
        "renamed",
    } <= set(EXTRA_CASES)


def test_ml_layout_by_hand() -> None:
    ref = json.loads((REFERENCE / "baseline" / "lme4.json").read_text())
    text = format_summary(build_fit(ref["ml"]))
    lines = text.split("\n")
    assert lines[0] == "Linear mixed model fit by maximum likelihood  ['lmerMod']"
    assert lines[4:7] == [
        "     AIC      BIC   logLik deviance df.resid ",
        "  3016.0   3045.4  -1502.0   3004.0      994 ",
        "",
    ]
    assert "REML criterion" not in text


def test_intercept_only_has_no_corr_column() -> None:
    fit, _, _ = load_case("baseline-intercept")
    lines = format_summary(fit).split("\n")
    assert lines[11:15] == [
        " Groups   Name        Variance Std.Dev.",
        " cluster  (Intercept) 0.2948   0.5429  ",
        " Residual             1.0474   1.0234  ",
        "Number of obs: 1000, groups:  cluster, 100",
    ]
    assert lines[1] == "Formula: y ~ x + (1 | cluster)"


def test_names_and_data_name_are_used() -> None:
    ref = json.loads((REFERENCE / "baseline" / "lme4.json").read_text())
    fit = build_fit(ref["reml"], names={"y": "score", "x": "hours", "cluster": "school"})
    text = format_summary(fit, data_name="pupils")
    assert "Formula: score ~ hours + (hours | school)\n   Data: pupils\n" in text
    assert "Number of obs: 1000, groups:  school, 100\n" in text


def test_unconverged_fit_reports_optimizer_message() -> None:
    ref = json.loads((REFERENCE / "baseline" / "lme4.json").read_text())
    fit = build_fit(ref["reml"], optimizer="bobyqa", opt_converged=False)
    opt = replace(fit.model.optimizer, evaluations=9, message="maxfun")
    fit = replace(fit, model=replace(fit.model, optimizer=opt))
    assert format_summary(fit).endswith(
        "x            0.54405    0.04270   12.74\n"
        "optimizer (bobyqa) convergence code: 1 (maxfun)\n\n"
    )


def test_singular_message_is_not_repeated() -> None:
    fit, data_name, expected = load_case("singular-corr-one")
    fit = replace(fit, warnings=("boundary (singular) fit: see help('isSingular')",))
    assert format_summary(fit, data_name=data_name) == expected


def test_long_group_names_wrap_as_cat_fill_does() -> None:
    # R: cat("Number of obs: 1000, groups: ", paste0(strrep("c", n), ", 100"), fill = TRUE)
    head = "Number of obs: 1000, groups: "
    assert cat_fill(head, "c" * 44 + ", 100") == [head + " " + "c" * 44 + ", 100"]
    assert cat_fill(head, "c" * 45 + ", 100") == [head + " ", "c" * 45 + ", 100"]
    ref = json.loads((REFERENCE / "baseline" / "lme4.json").read_text())
    fit = build_fit(ref["reml"], names={"y": "y", "x": "x", "cluster": "c" * 50})
    assert f"groups:  \n{'c' * 50}, 100\n" in format_summary(fit)


def test_backquoted_names() -> None:
    assert r_name("y") == "y"
    assert r_name(".x_1") == ".x_1"
    assert r_name("my y") == "`my y`"
    assert r_name("2x") == "`2x`"
    assert r_name(".2x") == "`.2x`"
    assert r_name("if") == "`if`"
    ref = json.loads((REFERENCE / "baseline" / "lme4.json").read_text())
    fit = build_fit(ref["reml"], names={"y": "log y", "x": "x", "cluster": "id"})
    assert formula(fit) == "`log y` ~ x + (x | id)"


# ---------------------------------------------------------------------------------------------
# format_r, r_round and friends
# ---------------------------------------------------------------------------------------------


def test_format_r_known_cases_from_the_reference() -> None:
    # t values: format(round(t, 3), digits = 4)
    assert format_r([14.908, 12.741], 4) == ["14.91", "12.74"]
    assert format_r([12.099, 9.496], 4) == ["12.099", " 9.496"]
    assert format_r([17.530, 9.628], 4) == ["17.530", " 9.628"]
    # estimates and standard errors, formatted together
    assert format_r([0.93647, 0.54405, 0.06282, 0.0427], 4) == [
        "0.93647",
        "0.54405",
        "0.06282",
        "0.04270",
    ]
    assert format_r([0.9451, 0.5748, 0.0408, 0.1104], 4) == [
        "0.9451",
        "0.5748",
        "0.0408",
        "0.1104",
    ]
    # scaled residual quantiles after zapsmall
    assert format_r([-2.9392, -0.6352, -0.0061, 0.6156, 2.8721], 4) == [
        "-2.9392",
        "-0.6352",
        "-0.0061",
        " 0.6156",
        " 2.8721",
    ]
    # the REML criterion: format(round(x, 1)) with 7 digits
    assert format_r([r_round(28976.97, 1)]) == ["28977"]
    assert format_r([r_round(3012.18950810254, 1)]) == ["3012.2"]
    # huge and tiny variances go scientific
    assert format_r([2.914e9, 5.986e8, 9.924e9], 4) == ["2.914e+09", "5.986e+08", "9.924e+09"]
    assert format_r([0.0, 2.26e-11, 1.154], 4) == ["0.000e+00", "2.260e-11", "1.154e+00"]
    # correlations: format(round(R, 2), nsmall = 2)
    assert format_r([1.0, 0.3, 0.3, 1.0], nsmall=2) == ["1.00", "0.30", "0.30", "1.00"]
    assert format_r([1.0, -0.33, -0.33, 1.0], nsmall=2)[1] == "-0.33"
    assert format_r([1.0, math.nan, math.nan, 1.0], nsmall=2)[1] == " NaN"


def test_format_r_special_values() -> None:
    assert format_r([None, 1.5]) == [" NA", "1.5"]
    assert format_r([-math.inf, 1.0]) == ["-Inf", "   1"]
    assert format_r([-0.0]) == ["0"]
    assert format_r([9996.0], 3) == ["9996"]
    assert format_r([123456789.0]) == ["123456789"]
    assert format_r([1e-20]) == ["1e-20"]
    assert format_r([1e100, 1.0]) == ["1e+100", " 1e+00"]


def _floats(values: list[str]) -> list[float]:
    return [float(v) for v in values]


def test_format_r_matches_r_on_a_battery() -> None:
    cases = json.loads((CASES / "format-cases.json").read_text())["format"]
    for case in cases:
        got = format_r(_floats(case["x"]), case["digits"], nsmall=case["nsmall"])
        assert got == case["format"], case


def test_r_round_matches_r_on_a_battery() -> None:
    cases = json.loads((CASES / "format-cases.json").read_text())["round"]
    for x, d, want in zip(
        _floats(cases["x"]), cases["digits"], _floats(cases["round"]), strict=True
    ):
        assert r_round(x, d) == want, (x, d)


def test_r_round_edge_cases() -> None:
    assert r_round(0.125, 2) == 0.12
    assert r_round(0.375, 2) == 0.38
    assert r_round(2.5) == 2.0
    assert r_round(-0.00001, 2) == 0.0
    assert math.isnan(r_round(math.nan, 2))
    assert r_round(math.inf, 2) == math.inf
    assert r_round(1234.5678, -2) == 1200.0
    # non-integer digits are rounded (as zapsmall relies on)
    assert r_round(-0.00609810590632798, 4.53) == -0.0061
    assert r_round(-0.0309931, 4.55) == -0.03099


def test_zapsmall_decimals_follow_the_largest_value() -> None:
    q = [-2.93924245288209, -0.635247254524578, -0.00609810590632798, 0.6156, 2.87212775]
    assert zapsmall(q, 5)[2] == -0.0061
    q = [-4.3915, -0.6835, 0.00213, 0.6616, 4.1165]
    assert zapsmall(q, 5)[2] == 0.0021
    assert zapsmall([0.0, 0.0], 5) == [0.0, 0.0]


def test_coefmat_zero_and_nan() -> None:
    lines = format_coefmat(["(Intercept)", "x"], [1.0, 1e-9], [0.5, 0.25], [2.0, 4e-9])
    assert lines[0] == "            Estimate Std. Error t value"
    assert lines[2].startswith("x ")
    lines = format_coefmat(["(Intercept)", "x"], [1.0, math.nan], [0.5, math.nan], [2.0, math.nan])
    assert lines[2].split() == ["x", "NaN", "NaN", "NaN"]


def test_formatting_never_depends_on_numpy_scalars() -> None:
    assert format_r([np.float64(0.5), 1]) == ["0.5", "1.0"]

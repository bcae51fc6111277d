"""A singular fit is said in words a student understands, in every command that fits: which
variance is zero (or which correlation ±1) and what it does to the clusters' lines."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shrinkcli.cli import app
from shrinkcli.lmm import Fit, fit, singular_note
from shrinkcli.model import ModelSpec
from shrinkcli.scenario import parse_scenario
from shrinkcli.simulate import simulate
from shrinkcli.summary import SINGULAR_MESSAGE, format_summary

SMALL = "obs_per_cluster: 4\nn_cluster: 30\nseed: 1\n"
#: Designs whose fit lands on the boundary, and the words each must produce.
CASES = {
    "no-slopes": ("sd_slope: 0\n", "intercept-slope", "perfectly correlated (−1)"),
    "no-variance": ("sd_int: 0\n", "intercept-slope", "complete pooling"),
    "one-line": (
        "sd_int: 0.5\nsd_slope: 0.5\ncor: 0.999\n",
        "intercept-slope",
        "perfectly correlated (+1)",
    ),
    "intercept-only": ("sd_int: 0\nsd_slope: 0\n", "intercept", "complete pooling"),
}


@cache
def _fit(case: str) -> Fit:
    extra, random, _ = CASES[case]
    data = simulate(parse_scenario(extra + SMALL)).data
    return fit(data, ModelSpec(random))


@pytest.mark.parametrize("case", CASES)
def test_each_kind_of_boundary_is_named(case: str) -> None:
    res = _fit(case)
    assert res.model.singular
    note = singular_note(res.model)
    assert note is not None and note.startswith("boundary (singular) fit: ")
    assert CASES[case][2] in note
    assert note in res.warnings
    # lme4's own line stays the summary's; the explanation is not added to lme4's text
    text = format_summary(res)
    assert SINGULAR_MESSAGE in text and note not in text


def test_the_crossing_point_is_where_the_lines_meet() -> None:
    res = _fit("no-slopes")
    note = singular_note(res.model) or ""
    x0 = float(note.rsplit("x = ", 1)[1].rstrip(")").replace("−", "-"))
    beta = res.model.beta
    lines = res.clusters[["mixed_intercept", "mixed_slope"]].to_numpy()
    # every cluster's line meets the population line at x0 (to the 3 digits printed)
    gaps = (lines[:, 0] - beta[0]) + (lines[:, 1] - beta[1]) * x0
    spread = abs(lines[:, 0] - beta[0]).max()
    assert abs(gaps).max() < 2e-3 * max(1.0, abs(x0)) * spread + 1e-9


def test_the_slope_variance_alone_can_vanish() -> None:
    """(x || cluster) has no correlation to reach ±1: a zero slope variance is named as such."""
    data = simulate(parse_scenario("sd_slope: 0\n" + SMALL)).data
    res = fit(data, ModelSpec("uncorrelated"))
    if res.model.singular:
        note = singular_note(res.model) or ""
        assert "slopes' variance is estimated as zero" in note or "complete pooling" in note


def test_a_regular_fit_says_nothing() -> None:
    data = simulate(parse_scenario("name: regular")).data
    res = fit(data)
    assert singular_note(res.model) is None
    assert not [w for w in res.warnings if "singular" in w]


@pytest.mark.parametrize("command", ["fit", "animate", "report"])
def test_every_command_that_fits_says_it(runner: CliRunner, tmp_path: Path, command: str) -> None:
    scenario = tmp_path / "flat.yaml"
    scenario.write_text(CASES["no-slopes"][0] + SMALL + "animation: {frames: 3}\n")
    args = {
        "fit": ["fit", str(scenario)],
        "animate": ["animate", str(scenario), "-o", str(tmp_path / "a.gif"), "-q", "-j", "1"],
        "report": ["report", str(scenario), "-o", str(tmp_path / "rep"), "-q", "-j", "1"],
    }[command]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.stderr
    assert "boundary (singular) fit: the random intercepts and slopes" in res.stderr

"""`shrink fit` with standard errors and confidence intervals, as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import REFERENCE, SCENARIO_DIR, read_csv_text
from typer.testing import CliRunner

from shrinkcli.cli import app

BASELINE = str(SCENARIO_DIR / "baseline.yaml")
FEW = str(SCENARIO_DIR / "few-observations.yaml")


def test_csv_has_standard_errors_always(runner: CliRunner) -> None:
    res = runner.invoke(app, ["fit", BASELINE])
    assert res.exit_code == 0 and res.stderr == ""
    table = read_csv_text(res.stdout)
    assert list(table.columns[7:11]) == [
        "ols_intercept_se",
        "ols_slope_se",
        "mixed_intercept_se",
        "mixed_slope_se",
    ]
    ref = json.loads((REFERENCE / "baseline" / "lme4-uncertainty.json").read_text())["clusters"]
    by_id = {int(c["cluster"]): c for c in ref}
    want = np.array([np.sqrt(by_id[k]["condvar_slope"]) for k in table["cluster"]])
    np.testing.assert_allclose(table["mixed_slope_se"], want, rtol=1e-4)


def test_fit_json_with_profile_intervals(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "fit.json"
    res = runner.invoke(app, ["fit", FEW, "-f", "json", "--ci", "profile", "-o", str(out)])
    assert res.exit_code == 0, res.stderr
    got = json.loads(out.read_text())
    ref = json.loads((REFERENCE / "few-observations" / "lme4-uncertainty.json").read_text())
    rows = got["intervals"]["rows"]
    assert [r["parameter"] for r in rows] == [r["parameter"] for r in ref["profile_ci"]]
    for mine, theirs in zip(rows, ref["profile_ci"], strict=True):
        width = theirs["upper"] - theirs["lower"]
        assert abs(mine["lower"] - theirs["lower"]) < 0.01 * width
        assert abs(mine["upper"] - theirs["upper"]) < 0.01 * width
    first = got["clusters"][0]
    assert {"condvar_intercept", "condcov", "condvar_slope", "mixed_intercept_se"} <= set(first)


def test_summary_with_wald_intervals_at_another_level(runner: CliRunner) -> None:
    res = runner.invoke(app, ["fit", BASELINE, "-f", "summary", "--ci", "wald", "--level", "0.9"])
    assert res.exit_code == 0, res.stderr
    plain = runner.invoke(app, ["fit", BASELINE, "-f", "summary"]).stdout
    assert res.stdout.startswith(plain)
    tail = res.stdout[len(plain) :].splitlines()
    assert tail[1].startswith("Wald confidence intervals")
    assert tail[2].split() == ["5", "%", "95", "%"]
    assert tail[3].split() == ["sd_(Intercept)|cluster", "NA", "NA"]


def test_statsmodels_engine_gets_wald(runner: CliRunner) -> None:
    res = runner.invoke(
        app, ["fit", BASELINE, "-f", "json", "--ci", "wald", "--engine", "statsmodels"]
    )
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["intervals"]["method"] == "wald"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ci", "wald"], "--ci: the intervals go into -f json or -f summary"),
        (
            ["--ci", "profile", "-f", "json", "--engine", "statsmodels"],
            "--ci profile: profiling uses the native engine",
        ),
        (["--level", "0.9"], "--level: sets the level of --ci intervals"),
        (["--ci", "both", "-f", "json"], "must be 'wald' or 'profile'"),
        (["--ci", "wald", "-f", "json", "--level", "0"], "must be a number between 0 and 1"),
    ],
)
def test_fit_ci_errors(runner: CliRunner, args: list[str], message: str) -> None:
    res = runner.invoke(app, ["fit", BASELINE, *args])
    assert res.exit_code == 2
    assert message in res.stderr and "Traceback" not in res.stderr
    assert res.stdout == ""

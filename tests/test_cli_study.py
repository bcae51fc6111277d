"""`shrink study` and `shrink report --reps` as a user runs them."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from conftest import read_csv_text
from PIL import Image
from typer.testing import CliRunner

from shrinkcli.cli import app
from shrinkcli.report import MARKER
from shrinkcli.studies import QUANTITIES, SUMMARY_COLUMNS

SMALL = """\
title: {title}
n_cluster: 15
obs_per_cluster: {obs}
seed: {seed}
animation:
  frames: 3
  size: 200x150
"""


@pytest.fixture
def two(tmp_path: Path) -> list[str]:
    paths = []
    for name, obs, seed in (("tiny-a", 4, 1), ("tiny-b", 9, 2)):
        p = tmp_path / f"{name}.yaml"
        p.write_text(SMALL.format(title=name.title(), obs=obs, seed=seed))
        paths.append(str(p))
    return paths


def test_summary_on_stdout_and_files_in_folder(
    runner: CliRunner, two: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "study"
    res = runner.invoke(app, ["study", *two, "--reps", "12", "-o", str(out), "-j", "1"])
    assert res.exit_code == 0, res.stderr
    table = read_csv_text(res.stdout)
    assert tuple(table.columns) == SUMMARY_COLUMNS
    assert len(table) == 2 * len(QUANTITIES)
    assert set(table["scenario"]) == {"tiny-a", "tiny-b"}
    reps = pd.read_csv(out / "replications.csv")
    assert len(reps) == 24 and reps["replication"].max() == 12
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"), table)
    for png in ("estimates.png", "rmse.png"):
        with Image.open(out / png) as im:
            assert im.width > 300


def test_same_output_for_any_jobs_and_json(runner: CliRunner, two: list[str]) -> None:
    one = runner.invoke(app, ["study", *two, "--reps", "10", "--jobs", "1"]).stdout
    both = runner.invoke(app, ["study", *two, "--reps", "10", "--jobs", "2"]).stdout
    assert one == both
    rows = json.loads(runner.invoke(app, ["study", *two, "-n", "4", "-f", "json"]).stdout)
    assert rows[0]["scenario"] == "tiny-a" and set(rows[0]) == set(SUMMARY_COLUMNS)


def test_seed_changes_the_draws(runner: CliRunner, two: list[str]) -> None:
    a = runner.invoke(app, ["study", two[0], "--reps", "3"]).stdout
    b = runner.invoke(app, ["study", two[0], "--reps", "3", "--seed", "77"]).stdout
    assert a != b


@pytest.mark.parametrize("reps", ["0", "-2", "abc", "1.5"])
def test_bad_reps_exit_2(runner: CliRunner, two: list[str], reps: str) -> None:
    res = runner.invoke(app, ["study", *two, "--reps", reps])
    assert res.exit_code == 2
    assert "--reps" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert res.stdout == ""


def test_bad_inputs_exit_2(runner: CliRunner, two: list[str], tmp_path: Path) -> None:
    res = runner.invoke(app, ["study", *two])
    assert res.exit_code == 2 and "--reps" in res.stderr
    res = runner.invoke(app, ["study", two[0], two[0], "--reps", "2"])
    assert res.exit_code == 2 and "also that of" in res.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("sigma: -1\n")
    res = runner.invoke(app, ["study", bad.as_posix(), "--reps", "2"])
    assert res.exit_code == 2 and "sigma" in res.stderr
    res = runner.invoke(app, ["study", two[0], "--reps", "2", "-o", str(tmp_path / "a" / "b")])
    assert res.exit_code == 2 and "does not exist" in res.stderr
    res = runner.invoke(app, ["study", two[0], "--reps", "2", "-o", two[1]])
    assert res.exit_code == 2 and "not a folder" in res.stderr


def test_report_with_a_study_section(runner: CliRunner, two: list[str], tmp_path: Path) -> None:
    out = tmp_path / "rep"
    res = runner.invoke(app, ["report", *two, "-o", str(out), "--reps", "8", "-j", "1"])
    assert res.exit_code == 0, res.stderr
    html = (out / "index.html").read_text()
    assert 'id="study"' in html and "8 replications per scenario" in html
    for name in ("summary.csv", "replications.csv", "rmse.png", "estimates.png"):
        assert (out / "study" / name).is_file()
        assert f"study/{name}" in html
    listed = json.loads((out / MARKER).read_text())["files"]
    assert "study/rmse.png" in listed
    assert "What shrinkage buys" in (out / "report.md").read_text()
    res = runner.invoke(app, ["report", *two, "-o", str(out), "--reps", "0"])
    assert res.exit_code == 2 and "--reps" in res.stderr


def test_table_format_for_people(runner: CliRunner, two: list[str]) -> None:
    res = runner.invoke(app, ["study", two[0], "--reps", "6", "--format", "table"])
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "tiny-a"
    assert lines[1].split() == [
        "quantity",
        "truth",
        "mean",
        "mcse",
        "sd",
        "bias",
        "rmse",
        "coverage",
        "coverage_se",
    ]
    intercept = lines[2].split()
    assert intercept[0] == "intercept" and intercept[-1].endswith("%")
    assert len(intercept) == 9  # every cell filled: the fixed effects have Wald coverage
    # the standard errors are the summary's, as the CSV has them
    frame = pd.read_csv(io.StringIO(runner.invoke(app, ["study", two[0], "--reps", "6"]).stdout))
    row = frame[frame["quantity"] == "intercept"].iloc[0]
    assert intercept[3] == f"{row['mcse']:.4f}"
    assert intercept[-1] == f"{100 * row['coverage_se']:.1f}%"
    assert row["mcse"] == pytest.approx(row["sd"] / math.sqrt(row["n"]))
    # not a terminal: csv by default, for pipes
    plain = runner.invoke(app, ["study", two[0], "--reps", "6"]).stdout
    assert plain.splitlines()[0] == ",".join(SUMMARY_COLUMNS)


def test_a_scenario_that_cannot_be_fitted(
    runner: CliRunner, two: list[str], tmp_path: Path
) -> None:
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text("n_cluster: 10\nobs_per_cluster: 1\n")
    res = runner.invoke(app, ["study", str(tiny), two[0], "--reps", "3"])
    assert res.exit_code == 1
    assert "tiny: no replication could be fitted" in res.stderr
    table = read_csv_text(res.stdout)  # the other scenario is still summarised
    ok = table[table["scenario"] == "tiny-a"].set_index("quantity")
    assert ok.loc["failed_share", "mean"] == 0 and ok.loc["intercept", "mean"] > 0
    bad = table[table["scenario"] == "tiny"].set_index("quantity")
    assert bad.loc["failed_share", "mean"] == 1
    out = tmp_path / "rep"
    res = runner.invoke(app, ["report", str(tiny), two[0], "-o", str(out), "--reps", "3"])
    assert res.exit_code == 1
    html = (out / "index.html").read_text()
    assert "could not be fitted in any replication" in html
    assert 'href="tiny/index.html"' not in html


def test_a_study_where_nothing_could_be_fitted_writes_nothing(
    runner: CliRunner, tmp_path: Path
) -> None:
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text("n_cluster: 10\nobs_per_cluster: 1\n")
    out = tmp_path / "st"
    res = runner.invoke(app, ["study", str(tiny), "--reps", "3", "-o", str(out)])
    assert res.exit_code == 1
    assert res.stderr.count("\n") == 1 and "tiny: no replication could be fitted" in res.stderr
    assert res.stdout == "" and not out.exists()

"""`shrink simulate` as a user runs it: data on stdout, one-line errors on stderr, exit codes,
nothing written on failure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE, SCENARIO_DIR, read_csv_text
from typer.testing import CliRunner

from shrinkcli.cli import app

BASELINE = str(SCENARIO_DIR / "baseline.yaml")


def test_prints_the_posts_data(runner: CliRunner) -> None:
    res = runner.invoke(app, ["simulate", BASELINE])
    assert res.exit_code == 0, res.stderr
    assert res.stderr == ""
    got = read_csv_text(res.stdout)
    ref = pd.read_csv(REFERENCE / "baseline" / "data.csv")
    assert list(got.columns) == ["y", "x", "cluster"]
    assert got.iloc[0]["cluster"] == 19  # R's first row
    np.testing.assert_allclose(got[["y", "x"]], ref[["y", "x"]], rtol=1e-12, atol=1e-13)


def test_full_round_trip_precision(runner: CliRunner, tmp_path: Path) -> None:
    from shrinkcli.scenario import load_scenario
    from shrinkcli.simulate import simulate

    res = runner.invoke(app, ["simulate", BASELINE])
    got = read_csv_text(res.stdout)
    sim = simulate(load_scenario(BASELINE)).data
    np.testing.assert_array_equal(got["y"].to_numpy(), sim["y"].to_numpy())


def test_tsv_json_truth_and_output_file(runner: CliRunner, tmp_path: Path) -> None:
    out, truth = tmp_path / "d.tsv", tmp_path / "t.tsv"
    res = runner.invoke(
        app, ["simulate", BASELINE, "-o", str(out), "--format", "tsv", "--truth", str(truth)]
    )
    assert res.exit_code == 0 and res.stdout == ""
    assert out.read_text().splitlines()[0] == "y\tx\tcluster"
    t = pd.read_csv(truth, sep="\t")
    assert list(t.columns) == ["cluster", "true_intercept", "true_slope"] and len(t) == 100
    res = runner.invoke(app, ["simulate", str(SCENARIO_DIR / "unbalanced.yaml"), "-f", "json"])
    rows = json.loads(res.stdout)
    assert len(rows) == 500 and set(rows[0]) == {"y", "x", "cluster"}


def test_seed_and_rng_override(runner: CliRunner) -> None:
    a = runner.invoke(app, ["simulate", BASELINE, "--seed", "1"]).stdout
    b = runner.invoke(app, ["simulate", BASELINE]).stdout
    c = runner.invoke(app, ["simulate", BASELINE, "--rng", "numpy"]).stdout
    assert a != b and c != b
    assert runner.invoke(app, ["simulate", BASELINE, "--rng", "numpy"]).stdout == c


BAD_SCENARIOS = [
    ("sd_slpoe: 1\n", "did you mean 'sd_slope'"),
    ("sigma: high\n", "sigma: must be a finite number > 0"),
    ("n_cluster: 10.5\n", "n_cluster: must be an integer"),
    ("sigma: 0\n", "sigma"),
    ("sd_int: -1\n", "sd_int"),
    ("sd_slope: -1\n", "sd_slope"),
    ("cor: 3\n", "cor"),
    ("n_cluster: 1\n", "n_cluster"),
    ("obs_per_cluster: 0\n", "obs_per_cluster"),
    ("balanced: 0\n", "balanced"),
    ("balanced: 2\n", "balanced"),
    ("rng: python\n", "rng"),
    ("sigma: [1\n", "starts on line 1"),
    ("", "empty"),
    ("[1, 2]\n", "mapping"),
    ("n_cluster: 100000000\nobs_per_cluster: 100000\n", "rows"),
]


@pytest.mark.parametrize(("content", "message"), BAD_SCENARIOS)
def test_bad_scenarios_exit_2_with_one_line(
    runner: CliRunner, tmp_path: Path, content: str, message: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    out = tmp_path / "out.csv"
    res = runner.invoke(app, ["simulate", str(bad), "-o", str(out), "--truth", str(tmp_path / "t")])
    assert res.exit_code == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert str(bad) in lines[0] and message in lines[0]
    assert "Traceback" not in res.stderr
    assert list(tmp_path.iterdir()) == [bad]  # nothing written


def test_missing_unreadable_and_directory(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(app, ["simulate", str(tmp_path / "nope.yaml")])
    assert res.exit_code == 2 and "no such file" in res.stderr
    res = runner.invoke(app, ["simulate", str(tmp_path)])
    assert res.exit_code == 2 and "is a folder" in res.stderr
    locked = tmp_path / "locked.yaml"
    locked.write_text("seed: 1\n")
    locked.chmod(0)
    try:
        import os

        if os.geteuid() != 0:  # root reads anything
            res = runner.invoke(app, ["simulate", str(locked)])
            assert res.exit_code == 2 and "permission denied" in res.stderr
    finally:
        locked.chmod(0o644)


def test_bad_options_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    for args, message in [
        (["--format", "xml"], "'xml' is not one of"),
        (["--rng", "mt"], "--rng"),
        (["--seed", "abc"], "--seed"),
        (["--seed", "99999999999"], "--seed: must be an integer"),
        (["-o", str(tmp_path / "missing" / "d.csv")], "does not exist"),
        (["-o", str(tmp_path)], "is a folder"),
    ]:
        res = runner.invoke(app, ["simulate", BASELINE, *args])
        assert res.exit_code == 2, (args, res.stderr)
        assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1
        assert res.stdout == ""

"""`shrink fit` as a user runs it: formats, pipes, and one-line errors for bad data."""

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
CSV_COLUMNS = [
    "cluster",
    "n",
    "ols_intercept",
    "ols_slope",
    "mixed_intercept",
    "mixed_slope",
    "shrinkage",
    "ols_intercept_se",
    "ols_slope_se",
    "mixed_intercept_se",
    "mixed_slope_se",
]


def test_summary_is_lme4s(runner: CliRunner) -> None:
    res = runner.invoke(app, ["fit", BASELINE, "--format", "summary"])
    assert res.exit_code == 0, res.stderr
    expected = (REFERENCE / "baseline" / "lme4-summary.txt").read_text()
    # Everything but the data's name matches lme4's text exactly.
    assert res.stdout.replace("Data: baseline", "Data: df") == expected
    for number in ("3012.2", "0.54405", "0.04270", "12.74"):
        assert number in res.stdout


def test_csv_per_cluster_with_truth(runner: CliRunner) -> None:
    res = runner.invoke(app, ["fit", BASELINE])
    assert res.exit_code == 0 and res.stderr == ""
    table = read_csv_text(res.stdout)
    assert list(table.columns) == [*CSV_COLUMNS, "true_intercept", "true_slope"]
    assert len(table) == 100
    ref = json.loads((REFERENCE / "baseline" / "lme4.json").read_text())["reml"]["clusters"]
    np.testing.assert_allclose(table["mixed_slope"], [c["mixed_slope"] for c in ref], atol=2e-5)


def test_pipe_from_simulate(runner: CliRunner) -> None:
    data = runner.invoke(app, ["simulate", BASELINE]).stdout
    res = runner.invoke(app, ["fit", "-"], input=data)
    assert res.exit_code == 0, res.stderr
    table = read_csv_text(res.stdout)
    assert list(table.columns) == CSV_COLUMNS  # no truth from a plain table
    direct = read_csv_text(runner.invoke(app, ["fit", BASELINE]).stdout)
    np.testing.assert_allclose(table["mixed_intercept"], direct["mixed_intercept"], rtol=1e-12)


def test_json_has_lme4s_keys(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "fit.json"
    res = runner.invoke(app, ["fit", BASELINE, "-f", "json", "-o", str(out)])
    assert res.exit_code == 0 and res.stdout == ""
    got = json.loads(out.read_text())
    ref = json.loads((REFERENCE / "baseline" / "lme4.json").read_text())["reml"]
    assert set(ref) <= set(got)
    assert set(ref["clusters"][0]) <= set(got["clusters"][0])
    assert got["criterion"] == pytest.approx(ref["criterion"], abs=1e-4)
    assert "converged" in got


def test_string_cluster_ids_tsv_and_column_options(runner: CliRunner, tmp_path: Path) -> None:
    df = pd.read_csv(REFERENCE / "unbalanced" / "data.csv")
    df = df.rename(columns={"y": "score", "x": "hours", "cluster": "school"})
    df["school"] = "s" + df["school"].astype(str).str.zfill(3)
    path = tmp_path / "schools.tsv"
    df.to_csv(path, sep="\t", index=False)
    res = runner.invoke(
        app, ["fit", str(path), "--y", "score", "--x", "hours", "--cluster", "school", "-f", "tsv"]
    )
    assert res.exit_code == 0, res.stderr
    table = pd.read_csv(pd.io.common.StringIO(res.stdout), sep="\t")
    assert table["cluster"].iloc[0] == "s001" and len(table) == 100


def test_ml_and_intercept_only(runner: CliRunner) -> None:
    ref = json.loads((REFERENCE / "baseline" / "lme4.json").read_text())["ml"]
    res = runner.invoke(app, ["fit", BASELINE, "--method", "ml", "-f", "json"])
    assert json.loads(res.stdout)["criterion"] == pytest.approx(ref["criterion"], abs=1e-4)
    res = runner.invoke(app, ["fit", BASELINE, "--random", "intercept", "-f", "summary"])
    assert res.exit_code == 0 and "(1 | cluster)" in res.stdout


def test_statsmodels_engine_agrees(runner: CliRunner) -> None:
    res = runner.invoke(app, ["fit", BASELINE, "--engine", "statsmodels", "-f", "json"])
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["criterion"] == pytest.approx(3012.1895, abs=1e-2)
    assert json.loads(res.stdout)["engine"] == "statsmodels"
    res = runner.invoke(app, ["fit", BASELINE, "--engine", "statsmodels", "-f", "summary"])
    assert res.stdout.startswith("Linear mixed model fit by REML ['statsmodels MixedLM']")


def test_missing_values_are_dropped_with_a_warning(runner: CliRunner) -> None:
    data = runner.invoke(app, ["simulate", BASELINE]).stdout.splitlines()
    data[3] = "NA," + data[3].split(",", 1)[1]
    data[7] = data[7].rsplit(",", 1)[0] + ","
    res = runner.invoke(app, ["fit", "-"], input="\n".join(data) + "\n")
    assert res.exit_code == 0
    assert "dropped 2 rows with missing values" in res.stderr


BAD_DATA = [
    ("y,x,cluster\n1,2,a\n2,3,a\n3,4,b\n4,5,b\n5,1,c\n", [], "--random intercept"),
    ("y,x,g\n1,2,a\n2,3,b\n", [], "column 'cluster' not found"),
    ("y,x,cluster\n1,2,a\n2,3,a\n3,4,a\n", ["--random", "intercept"], "single cluster"),
    ("y,x,cluster\n1,1,a\n2,1,a\n3,1,b\n4,1,b\n", ["--random", "intercept"], "'x' is constant"),
    ("y,x,cluster\n1,foo,a\n2,3,b\n", [], "column 'x' must be numeric"),
    ("y,x,cluster\n1,inf,a\n2,3,b\n", [], "infinite"),
    ("", [], "empty"),
    ("y,x,cluster\n", [], "no rows"),
]


@pytest.mark.parametrize(("content", "args", "message"), BAD_DATA)
def test_bad_data_exit_1_with_one_line(
    runner: CliRunner, tmp_path: Path, content: str, args: list[str], message: str
) -> None:
    path = tmp_path / "d.csv"
    path.write_text(content)
    out = tmp_path / "out.csv"
    for source, stdin in ((str(path), None), ("-", content)):
        res = runner.invoke(app, ["fit", source, *args, "-o", str(out)], input=stdin)
        assert res.exit_code == 1, res.stderr
        assert res.stdout == ""
        assert len(res.stderr.strip().splitlines()) == 1 and message in res.stderr
        # the line names the input, whether the reader or the fit refused it
        assert f"error: {str(path) if stdin is None else '<stdin>'}: " in res.stderr
        assert "Traceback" not in res.stderr
        assert not out.exists()


def test_unreadable_and_unknown_inputs(runner: CliRunner, tmp_path: Path) -> None:
    """An input named on the command line that cannot be opened is a usage error (2); content
    that cannot be read as data is a data error (1) — the same in every command."""
    for command in (["fit"], ["animate"], ["simulate"], ["study", "-n", "1"], ["report"]):
        missing = "none.yaml" if command[0] in ("simulate", "study", "report") else "none.csv"
        res = runner.invoke(app, [*command, str(tmp_path / missing)])
        assert res.exit_code == 2 and "no such file" in res.stderr, (command, res.stderr)
    res = runner.invoke(app, ["fit", str(tmp_path)])
    assert res.exit_code == 2 and "is a folder" in res.stderr
    (tmp_path / "d.xlsx").write_bytes(b"PK")
    res = runner.invoke(app, ["fit", str(tmp_path / "d.xlsx")])
    assert res.exit_code == 2 and "unknown kind of file" in res.stderr
    (tmp_path / "d.parquet").write_bytes(b"PAR1")  # too short to be Parquet
    res = runner.invoke(app, ["fit", str(tmp_path / "d.parquet")])
    assert res.exit_code == 1 and "cannot read the Parquet file" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x01")
    res = runner.invoke(app, ["fit", str(tmp_path / "bin.csv")])
    assert res.exit_code == 1
    assert "bin.csv: not a table (expected UTF-8 CSV, TSV or JSON text, or Parquet)" in res.stderr


def test_bad_options_exit_2(runner: CliRunner) -> None:
    for args in (
        ["--method", "bayes"],
        ["--random", "slope"],
        ["--engine", "lme4"],
        ["--format", "xlsx"],
    ):
        res = runner.invoke(app, ["fit", BASELINE, *args])
        assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1
    res = runner.invoke(app, ["fit", str(SCENARIO_DIR / "baseline.yaml"), "--seed", "x"])
    assert res.exit_code == 2
    res = runner.invoke(app, ["fit", "-", "--seed", "3"], input="y,x,cluster\n1,2,3\n")
    assert res.exit_code == 2 and "--seed" in res.stderr


def test_an_unfinished_fit_is_written_and_said(runner: CliRunner) -> None:
    """--max-evaluations 1 stops the optimizer at lme4's start: the fit is still written, its
    JSON says converged false with the reason, and stderr says so in one line."""
    res = runner.invoke(app, ["fit", BASELINE, "--max-evaluations", "1", "-f", "json"])
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["converged"] is False and out["optimizer"]["converged"] is False
    assert "not a minimum" in out["optimizer"]["reason"]
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("shrink: warning: the fit did not converge: ")
    summary = runner.invoke(app, ["fit", BASELINE, "--max-evaluations", "1", "-f", "summary"])
    assert "convergence code: 1" in summary.stdout
    # a converged fit says nothing on stderr
    quiet = runner.invoke(app, ["fit", BASELINE, "-f", "json"])
    assert quiet.stderr == "" and json.loads(quiet.stdout)["converged"] is True
    bad = runner.invoke(app, ["fit", BASELINE, "--max-evaluations", "0"])
    assert bad.exit_code == 2 and "--max-evaluations" in bad.stderr


def test_the_uncorrelated_model_from_the_command_line(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(app, ["fit", BASELINE, "--random", "uncorrelated", "-f", "summary"])
    assert res.exit_code == 0, res.stderr
    assert "Formula: y ~ x + ((1 | cluster) + (0 + x | cluster))" in res.stdout
    assert " cluster.1 x " in res.stdout and "Corr" not in res.stdout
    scenario = tmp_path / "unc.yaml"
    scenario.write_text(
        "name: unc\nn_cluster: 30\nmodel: {random: uncorrelated}\nanimation: {frames: 4}\n"
    )
    js = runner.invoke(app, ["fit", str(scenario), "-f", "json"])
    out = json.loads(js.stdout)
    assert out["random"] == "uncorrelated" and out["formula"] == "y ~ x + (x || cluster)"
    assert len(out["theta"]) == 2 and out["random_effects"]["corr"] is None
    gif = tmp_path / "u.gif"
    anim = runner.invoke(app, ["animate", str(scenario), "-o", str(gif), "-q", "-j", "1"])
    assert anim.exit_code == 0, anim.stderr
    assert gif.read_bytes()[:6] == b"GIF89a"
    report = tmp_path / "report"
    rep = runner.invoke(app, ["report", str(scenario), "-o", str(report), "-q", "-j", "1"])
    assert rep.exit_code == 0, rep.stderr
    page = (report / "unc" / "index.html").read_text()
    assert "y ~ x + (x || cluster)" in page
    assert "cluster.1" in (report / "unc" / "summary.txt").read_text()


def test_parquet_out_and_in(runner: CliRunner, tmp_path: Path) -> None:
    """-f parquet writes the same numbers as the CSV; a .parquet data file is an INPUT like a
    CSV one, and gives the same fit."""
    from shrinkcli.io import read_table

    est = tmp_path / "est.parquet"
    res = runner.invoke(app, ["fit", BASELINE, "-f", "parquet", "-o", str(est)])
    assert res.exit_code == 0, res.stderr
    assert est.read_bytes()[:4] == b"PAR1"
    back = read_table(str(est), id_columns=["cluster"])
    csv = read_table("t", text=runner.invoke(app, ["fit", BASELINE]).stdout, id_columns=["cluster"])
    assert back.names == csv.names
    for name in csv.names:
        np.testing.assert_array_equal(back[name], csv[name])  # the same doubles

    data = tmp_path / "data.parquet"
    res = runner.invoke(app, ["simulate", BASELINE, "-f", "parquet", "-o", str(data)])
    assert res.exit_code == 0, res.stderr
    from_parquet = runner.invoke(app, ["fit", str(data)]).stdout
    csv_data = runner.invoke(app, ["simulate", BASELINE]).stdout
    assert from_parquet == runner.invoke(app, ["fit", "-"], input=csv_data).stdout


def test_parquet_on_stdin_and_under_any_name(runner: CliRunner, tmp_path: Path) -> None:
    """Parquet is known by its first bytes: piped to '-' (simulate -f parquet | fit -) it gives
    the fit of the same data as CSV, under a .csv name too; cut short, one line and exit 1."""
    parquet = runner.invoke(app, ["simulate", BASELINE, "-f", "parquet"]).stdout_bytes
    assert parquet[:4] == b"PAR1"
    csv_data = runner.invoke(app, ["simulate", BASELINE]).stdout
    expected = runner.invoke(app, ["fit", "-"], input=csv_data)
    assert expected.exit_code == 0, expected.stderr
    res = runner.invoke(app, ["fit", "-"], input=parquet)
    assert res.exit_code == 0, res.stderr
    assert res.stdout == expected.stdout
    named = tmp_path / "data.csv"
    named.write_bytes(parquet)
    assert runner.invoke(app, ["fit", str(named)]).stdout == expected.stdout
    for cut in (parquet[:4], parquet[: len(parquet) // 2]):
        res = runner.invoke(app, ["fit", "-"], input=cut)
        assert res.exit_code == 1 and "Traceback" not in res.stderr
        assert res.stderr.startswith("shrink: error: <stdin>: cannot read the Parquet file: ")
        assert len(res.stderr.strip().splitlines()) == 1


def test_the_output_names_its_format(runner: CliRunner, tmp_path: Path) -> None:
    """Without -f, -o's suffix names the format (and --truth's its own); a suffix that names
    another format than -f is refused before any work, exit 2, one line, no file."""
    data, truth = tmp_path / "d.parquet", tmp_path / "t.csv"
    res = runner.invoke(app, ["simulate", BASELINE, "-o", str(data), "--truth", str(truth)])
    assert res.exit_code == 0, res.stderr
    assert data.read_bytes()[:4] == b"PAR1"
    assert truth.read_text().startswith("cluster,true_intercept,true_slope\n")
    untyped = tmp_path / "t"
    res = runner.invoke(
        app,
        ["simulate", BASELINE, "-f", "json", "-o", str(tmp_path / "d"), "--truth", str(untyped)],
    )
    assert res.exit_code == 0, res.stderr
    assert json.loads(untyped.read_text())[0]["cluster"] == 1  # the data's format
    fit_json = tmp_path / "fit.json"
    res = runner.invoke(app, ["fit", BASELINE, "--ci", "wald", "-o", str(fit_json)])
    assert res.exit_code == 0, res.stderr
    assert "intervals" in json.loads(fit_json.read_text())
    tsv = tmp_path / "e.tsv"
    assert runner.invoke(app, ["fit", BASELINE, "-o", str(tsv)]).exit_code == 0
    assert tsv.read_text().startswith("cluster\tn\t")
    for args, said in (
        (
            ["simulate", BASELINE, "-f", "csv", "-o", "x.parquet"],
            "-o/--output: x.parquet: the name says parquet but -f csv was given",
        ),
        (
            ["fit", BASELINE, "-f", "summary", "-o", "s.csv"],
            "-o/--output: s.csv: the name says csv but -f summary was given",
        ),
        (["fit", BASELINE, "--ci", "wald", "-o", "e.csv"], "--ci: the intervals go into -f json"),
    ):
        res = runner.invoke(app, [*args[:-1], str(tmp_path / args[-1])])
        assert res.exit_code == 2, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
        assert said.replace(args[-1], str(tmp_path / args[-1])) in res.stderr, res.stderr
        assert not (tmp_path / args[-1]).exists()


def test_parquet_is_refused_on_a_terminal(tmp_path: Path) -> None:
    """Binary output to a terminal: one line on stderr, exit 2, nothing else written."""
    import os
    import pty
    import subprocess
    import sys

    from conftest import ROOT

    leader, follower = pty.openpty()
    try:
        out = subprocess.run(
            [sys.executable, "-m", "shrinkcli", "fit", BASELINE, "-f", "parquet"],
            stdout=follower,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=120,
        )
    finally:
        os.close(follower)
        os.close(leader)
    err = out.stderr.decode()
    assert out.returncode == 2, err
    assert len(err.strip().splitlines()) == 1 and "stdout is a terminal" in err
    assert "Traceback" not in err


def test_fit_keeps_a_and_space_a_as_two_clusters(runner: CliRunner, tmp_path: Path) -> None:
    """As R's read.csv does: 'a' and ' a' are two clusters of three rows, not one of six."""
    path = tmp_path / "sp.csv"
    rows = [
        (1, 0.1, "a"),
        (2, 0.5, "a"),
        (3, 0.2, "a"),
        (1.5, 0.9, " a"),
        (2.5, 0.3, " a"),
        (0.5, 0.7, " a"),
        (4, 0.1, "b"),
        (5, 0.8, "b"),
        (3, 0.4, "b"),
    ]
    path.write_text("y,x,cluster\n" + "".join(f"{y},{x},{c}\n" for y, x, c in rows))
    res = runner.invoke(app, ["fit", str(path), "--random", "intercept"])
    assert res.exit_code == 0, res.stderr
    table = pd.read_csv(
        __import__("io").StringIO(res.stdout),
        dtype={"cluster": str},
        skipinitialspace=False,
        keep_default_na=False,
    )
    assert dict(zip(table["cluster"], table["n"], strict=True)) == {" a": 3, "a": 3, "b": 3}


def test_quiet_drops_the_singular_note_and_keeps_the_data(
    runner: CliRunner, tmp_path: Path
) -> None:
    from shrinkcli.cli import app

    s = tmp_path / "sing.yaml"
    s.write_text("sd_slope: 0\nsd_int: 0\nn_cluster: 10\nseed: 2\n")
    loud = runner.invoke(app, ["fit", str(s)])
    quiet = runner.invoke(app, ["fit", str(s), "-q"])
    assert loud.exit_code == quiet.exit_code == 0
    assert "boundary (singular) fit" in loud.stderr
    assert quiet.stderr == ""
    assert quiet.stdout == loud.stdout

"""Data scenarios: a scenario file naming a table of one's own (CSV, TSV, Parquet) instead of
simulation parameters, or a table given directly; the schema, its errors, and every command
taking both kinds."""

from __future__ import annotations

import io
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, SCENARIO_DIR
from typer.testing import CliRunner

from shrinkcli.cli import app
from shrinkcli.errors import ScenarioError, UsageError
from shrinkcli.inputs import data_input, load_input, load_source
from shrinkcli.scenario import (
    SIMULATION_KEYS,
    Scenario,
    load_scenario,
    parse_scenario,
    table_scenario,
    with_overrides,
)

REAL = Path(__file__).resolve().parent / "data" / "real"
SLEEP = """\
name: sleep
title: Reaction times under sleep deprivation
data: {path: sleepstudy.csv, y: Reaction, x: Days, cluster: Subject}
animation:
  frames: 3
  size: 300x225
"""


@pytest.fixture
def sleep(tmp_path: Path) -> Path:
    """A data scenario beside its table, in a folder of its own."""
    folder = tmp_path / "study"
    folder.mkdir()
    shutil.copy(REAL / "sleepstudy.csv", folder / "sleepstudy.csv")
    path = folder / "sleep.yaml"
    path.write_text(SLEEP)
    return path


def test_a_data_scenario_names_its_table_relative_to_its_file(sleep: Path) -> None:
    s = load_scenario(sleep)
    assert s.is_data and s.data is not None
    assert Path(s.data.path) == sleep.parent / "sleepstudy.csv"
    assert (s.data.y, s.data.x, s.data.cluster) == ("Reaction", "Days", "Subject")
    assert s.source == str(sleep)
    inp = data_input(s)
    assert inp.names == {"y": "Reaction", "x": "Days", "cluster": "Subject"}
    assert inp.truth is None and len(inp.data) == 180


def test_a_path_alone_and_an_absolute_path(tmp_path: Path) -> None:
    s = parse_scenario("data: table.csv\n")
    assert s.data is not None and s.data.path == "table.csv" and s.data.y == "y"
    path = tmp_path / "abs.yaml"
    path.write_text(f"data: {REAL / 'sleepstudy.csv'}\n")
    assert load_scenario(path).data.path == str(REAL / "sleepstudy.csv")  # type: ignore[union-attr]


@pytest.mark.parametrize("key", SIMULATION_KEYS)
def test_simulation_keys_beside_data_are_refused(key: str) -> None:
    value = {"balanced": 0.5, "cor": 0.1}.get(key, 3)
    with pytest.raises(ScenarioError) as err:
        parse_scenario(f"data: t.csv\n{key}: {value}\n", source="s.yaml")
    message = str(err.value)
    assert message.startswith(f"s.yaml: {key}: a data scenario takes no simulation keys")
    assert "data: t.csv" in message and "\n" not in message


def test_seed_and_rng_stay_they_seed_the_bootstrap() -> None:
    s = parse_scenario("data: t.csv\nseed: 12\nrng: numpy\n")
    assert (s.seed, s.rng) == (12, "numpy")
    again = with_overrides(s, seed=5)  # the override keeps it a data scenario
    assert again.is_data and again.seed == 5 and again.data == s.data


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("data: {y: Reaction}\n", "data.path: missing; give the path of a CSV, TSV or Parquet"),
        ("data: {path: t.csv, yy: Reaction}\n", "unknown key 'yy' in data; did you mean 'y'?"),
        ("data: {path: t.csv, y: [3]}\n", "data.y: must be a column name (got [3])"),
        ("data: [t.csv]\n", "data: must be a table's path, or a mapping with keys path"),
    ],
)
def test_bad_data_sections_name_the_field(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, source="s.yaml")
    assert str(err.value).startswith("s.yaml: ") and message in str(err.value)


def test_a_table_given_directly_is_a_data_scenario_named_after_its_file() -> None:
    s = table_scenario("some/dir/sleep study.csv", y="Reaction", x="Days", cluster="Subject")
    assert s.is_data and s.name == "sleep-study" and s.title == "sleep study"
    assert s.source == "some/dir/sleep study.csv"
    assert load_source(str(REAL / "sleepstudy.csv")).name == "sleepstudy"
    assert load_source(str(SCENARIO_DIR / "baseline.yaml")).name == "baseline"
    with pytest.raises(UsageError):
        load_source("-")


def test_the_command_line_columns_win_over_the_scenarios(sleep: Path, tmp_path: Path) -> None:
    renamed = pd.read_csv(REAL / "sleepstudy.csv").rename(columns={"Reaction": "rt"})
    renamed.to_csv(sleep.parent / "sleepstudy.csv", index=False)
    inp = load_input(str(sleep), y="rt")
    assert inp.names == {"y": "rt", "x": "Days", "cluster": "Subject"}
    with pytest.raises(UsageError) as err:
        load_input(str(sleep), seed=3)
    assert "data scenario" in str(err.value)


def test_parquet_reads_as_the_csv_does(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    from shrinkcli.io import read_table
    from shrinkcli.lmm import fit

    csv = read_table(str(REAL / "orthodont.csv"), id_columns=["Subject"])
    path = tmp_path / "orthodont.parquet"
    csv.to_pandas().to_parquet(path)
    table = read_table(str(path), id_columns=["Subject"])
    pd.testing.assert_frame_equal(table.to_pandas(), csv.to_pandas())
    a = fit(csv, y="distance", x="age", cluster="Subject")
    b = fit(table, y="distance", x="age", cluster="Subject")
    assert a.model.criterion == b.model.criterion
    assert list(b.clusters["cluster"]) == list(a.clusters["cluster"])  # text ids kept


# -- the commands -----------------------------------------------------------------------------


def test_fit_takes_a_data_scenario_as_it_takes_the_table(runner: CliRunner, sleep: Path) -> None:
    by_file = runner.invoke(app, ["fit", str(sleep)])
    by_flags = runner.invoke(
        app,
        [
            "fit",
            str(REAL / "sleepstudy.csv"),
            "--y",
            "Reaction",
            "--x",
            "Days",
            "--cluster",
            "Subject",
        ],
    )
    assert by_file.exit_code == 0, by_file.stderr
    assert by_file.stdout == by_flags.stdout
    summary = runner.invoke(app, ["fit", str(sleep), "-f", "summary"]).stdout
    assert "Formula: Reaction ~ Days + (Days | Subject)" in summary
    assert "REML criterion at convergence: 1743.6" in summary  # lme4's


def test_a_data_scenarios_model_section_is_used(runner: CliRunner, sleep: Path) -> None:
    sleep.write_text(SLEEP + "model: {method: ml, random: uncorrelated}\n")
    out = runner.invoke(app, ["fit", str(sleep), "-f", "summary"]).stdout
    assert "Linear mixed model fit by maximum likelihood" in out
    assert "((1 | Subject) + (0 + Days | Subject))" in out


@pytest.mark.parametrize("command", ["fit", "animate", "study"])
def test_simulation_keys_beside_data_exit_2_in_one_line(
    runner: CliRunner, sleep: Path, command: str
) -> None:
    sleep.write_text(SLEEP + "n_cluster: 20\n")
    args = [command, str(sleep), *(["--reps", "2"] if command == "study" else [])]
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert res.stderr.strip().splitlines() == [
        f"shrink: error: {sleep}: n_cluster: a data scenario takes no simulation keys; its "
        "clusters come from data: sleepstudy.csv (remove n_cluster, or the data: section to "
        "simulate)"
    ]
    assert res.stdout == ""


def test_seed_on_a_data_scenario_exit_2(runner: CliRunner, sleep: Path) -> None:
    res = runner.invoke(app, ["fit", str(sleep), "--seed", "3"])
    assert res.exit_code == 2
    assert res.stderr.startswith("shrink: error: --seed: applies to simulated scenarios")


def test_a_missing_table_exit_2_naming_it(runner: CliRunner, sleep: Path) -> None:
    """The scenario names a table that is not there: an input that cannot be opened (2)."""
    (sleep.parent / "sleepstudy.csv").unlink()
    res = runner.invoke(app, ["fit", str(sleep)])
    assert res.exit_code == 2
    assert res.stderr.strip() == f"shrink: error: {sleep.parent / 'sleepstudy.csv'}: no such file"


def test_animate_a_data_scenario(runner: CliRunner, sleep: Path, tmp_path: Path) -> None:
    gif, png = tmp_path / "s.gif", tmp_path / "s.png"
    res = runner.invoke(app, ["animate", str(sleep), "-o", str(gif), "--png", str(png), "-q"])
    assert res.exit_code == 0, res.stderr
    from PIL import Image

    im = Image.open(gif)
    assert im.size == (300, 225) and getattr(im, "n_frames", 1) == 3
    assert Image.open(png).size == (300, 225)


def test_study_mixes_both_kinds_and_the_bootstrap_is_seeded(runner: CliRunner, sleep: Path) -> None:
    args = [
        "study",
        str(sleep),
        str(SCENARIO_DIR / "few-observations.yaml"),
        str(REAL / "orthodont.csv"),
        "--y",
        "distance",
        "--x",
        "age",
        "--cluster",
        "Subject",
        "--reps",
        "6",
        "-f",
        "csv",
        "-q",
    ]
    one = runner.invoke(app, [*args, "-j", "1"])
    two = runner.invoke(app, [*args, "-j", "2"])
    assert one.exit_code == 0, one.stderr
    assert one.stdout == two.stdout
    summary = pd.read_csv(io.StringIO(one.stdout))
    assert list(summary["scenario"].unique()) == ["sleep", "few-observations", "orthodont"]
    truth = summary[summary["scenario"] == "sleep"].set_index("quantity")["truth"]
    assert truth["intercept"] == pytest.approx(251.405104848, rel=1e-9)  # lme4's estimate
    assert truth["sigma"] == pytest.approx(25.5918, rel=1e-4)
    assert math.isnan(truth["cluster_rmse_ols"])
    other = runner.invoke(app, [*args, "--seed", "1"])
    assert other.stdout != one.stdout


def test_report_takes_tables_and_both_kinds_of_scenario(
    runner: CliRunner, sleep: Path, tmp_path: Path
) -> None:
    small = tmp_path / "small.yaml"
    small.write_text("n_cluster: 12\nobs_per_cluster: 4\nanimation: {frames: 3, size: 300x225}\n")
    out = tmp_path / "rep"
    res = runner.invoke(
        app,
        [
            "report",
            str(sleep),
            str(small),
            str(REAL / "orthodont.csv"),
            "--y",
            "distance",
            "--x",
            "age",
            "--cluster",
            "Subject",
            "-o",
            str(out),
            "-q",
        ],
    )
    assert res.exit_code == 0, res.stderr
    summary = pd.read_csv(out / "summary.csv").set_index("scenario")
    assert list(summary.index) == ["sleep", "small", "orthodont"]
    assert list(summary["kind"]) == ["data", "simulated", "data"]
    assert summary.loc["orthodont", "data"] == str(REAL / "orthodont.csv")
    assert np.isnan(summary.loc["small", "icc"]) and 0 < summary.loc["sleep", "icc"] < 1
    assert "Reaction times under sleep deprivation" in (out / "index.html").read_text()
    assert not (out / "sleep" / "truth.csv").exists()
    assert (out / "small" / "truth.csv").exists()


def test_the_example_scenario_is_sleepstudy() -> None:
    s = load_scenario(ROOT / "examples" / "sleepstudy.yaml")
    inp = data_input(s)
    pd.testing.assert_frame_equal(inp.data.to_pandas(), pd.read_csv(REAL / "sleepstudy.csv"))
    assert isinstance(s, Scenario)


def test_simulate_writes_a_data_scenarios_table_as_read(runner: CliRunner, sleep: Path) -> None:
    """Nothing to simulate: the three columns the scenario names, under the names y, x and
    cluster that `simulate` always writes (so `simulate | fit -` reads either kind)."""
    res = runner.invoke(app, ["simulate", str(sleep)])
    assert res.exit_code == 0, res.stderr
    assert res.stderr == ""
    got = pd.read_csv(io.StringIO(res.stdout))
    table = pd.read_csv(REAL / "sleepstudy.csv")
    assert list(got.columns) == ["y", "x", "cluster"]
    np.testing.assert_array_equal(got["y"], table["Reaction"])
    np.testing.assert_array_equal(got["x"], table["Days"])
    np.testing.assert_array_equal(got["cluster"], table["Subject"])


def test_simulate_refuses_truth_for_a_data_scenario(
    runner: CliRunner, sleep: Path, tmp_path: Path
) -> None:
    truth = tmp_path / "truth.csv"
    res = runner.invoke(app, ["simulate", str(sleep), "--truth", str(truth)])
    assert res.exit_code == 2
    assert res.stderr == (
        f"shrink: error: --truth: {sleep} is a data scenario; a data set has "
        "no true coefficients (drop --truth)\n"
    )
    assert res.stdout == "" and not truth.exists()


def test_simulate_refuses_a_missing_table_as_fit_does(runner: CliRunner, sleep: Path) -> None:
    (sleep.parent / "sleepstudy.csv").unlink()
    res = runner.invoke(app, ["simulate", str(sleep)])
    assert res.exit_code == 2
    assert res.stderr.strip() == f"shrink: error: {sleep.parent / 'sleepstudy.csv'}: no such file"
    assert res.stdout == ""


def test_simulate_names_a_column_the_table_lacks(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,x,cluster\n1,2,a\n")
    (tmp_path / "s.yaml").write_text("data: t.csv\n")
    res = runner.invoke(app, ["simulate", str(tmp_path / "s.yaml")])
    assert res.exit_code == 1
    assert res.stderr == (
        f"shrink: error: {tmp_path / 's.yaml'}: column 'y' not found; columns "
        "present: a, x, cluster\n"
    )


#: Every command that writes a file, with its output aimed at the data scenario's own table.
WRITES_A_FILE = [
    ["fit", "{s}", "-o", "{t}"],
    ["fit", "{s}", "-f", "json", "-o", "{t}"],
    ["simulate", "{s}", "-o", "{t}"],
    ["animate", "{s}", "-o", "{t}"],
    ["plot", "caterpillar", "{s}", "-o", "{t}"],
]


@pytest.mark.parametrize("args", WRITES_A_FILE, ids=lambda a: " ".join(a[:2]))
def test_a_data_scenarios_table_is_never_an_output(
    runner: CliRunner, sleep: Path, args: list[str]
) -> None:
    table = sleep.parent / "sleepstudy.csv"
    before = table.read_bytes()
    res = runner.invoke(app, [a.format(s=sleep, t=table) for a in args])
    assert res.exit_code == 2
    assert res.stderr.count("\n") == 1 and str(table) in res.stderr
    assert table.read_bytes() == before


def test_the_table_is_an_input_of_fit_as_given_directly(runner: CliRunner, sleep: Path) -> None:
    """Through the scenario or directly, the same refusal."""
    table = sleep.parent / "sleepstudy.csv"
    by_scenario = runner.invoke(app, ["fit", str(sleep), "-o", str(table)])
    direct = runner.invoke(
        app,
        [
            "fit",
            str(table),
            "--y",
            "Reaction",
            "--x",
            "Days",
            "--cluster",
            "Subject",
            "-o",
            str(table),
        ],
    )
    assert (
        by_scenario.stderr
        == direct.stderr
        == (f"shrink: error: {table}: is also an input; write the output elsewhere\n")
    )


@pytest.mark.parametrize("command", ["report", "study"])
def test_an_output_folder_holding_a_data_scenarios_table_is_refused(
    runner: CliRunner, tmp_path: Path, command: str
) -> None:
    """The folder is replaced whole: a table inside it (one an earlier run wrote, so the folder
    is shrink's to replace) would be deleted with it."""
    from shrinkcli.io.folder import OwnedFolder
    from shrinkcli.report import MARKER as REPORT_MARKER
    from shrinkcli.studies import MARKER as STUDY_MARKER

    out = tmp_path / "out"
    marker = REPORT_MARKER if command == "report" else STUDY_MARKER
    table = (REAL / "sleepstudy.csv").read_bytes()
    OwnedFolder(command, marker).replace_with(out, {"sleep/data.csv": table})
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "data: {path: out/sleep/data.csv, y: Reaction, x: Days, cluster: Subject}\n"
    )
    extra = ["-n", "1"] if command == "study" else []
    for given in (scenario, out / "sleep" / "data.csv"):
        res = runner.invoke(app, [command, str(given), "-o", str(out), "-q", *extra])
        assert res.exit_code == 2, res.stderr
        assert res.stderr == (
            f"shrink: error: -o/--output: {out}: holds "
            f"{out / 'sleep' / 'data.csv'}, an input; it would be replaced "
            "with the folder, so write the output elsewhere\n"
        )
        assert (out / "sleep" / "data.csv").read_bytes() == table

"""`shrink study --vary` as a user runs it: the grid on stdout and in the folder, errors,
`--resume`, signals, and the same bytes for any --jobs and on a Dask cluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import read_csv_text
from typer.testing import CliRunner

from shrinkcli.cli import app
from shrinkcli.studies import SWEEP_SUMMARY_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SMALL = """\
n_cluster: 12
obs_per_cluster: 4
seed: 3
"""
VARY = ["--vary", "obs_per_cluster=3,6", "--vary", "n_cluster=10,20"]


@pytest.fixture
def small(tmp_path: Path) -> str:
    p = tmp_path / "small.yaml"
    p.write_text(SMALL)
    return str(p)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_grid_on_stdout_and_in_the_folder(runner: CliRunner, small: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = runner.invoke(app, ["study", small, "--reps", "8", *VARY, "-o", str(out), "-j", "1"])
    assert res.exit_code == 0, res.stderr
    table = read_csv_text(res.stdout)
    assert tuple(table.columns) == (
        "scenario",
        "obs_per_cluster",
        "n_cluster",
        *SWEEP_SUMMARY_COLUMNS,
    )
    assert len(table.groupby(["obs_per_cluster", "n_cluster"])) == 4
    names = set(_files(out))
    assert {
        "summary.csv",
        "replications.csv",
        "cluster_coverage.csv",
        "sweep-small.png",
        "sweep.json",
        ".shrink-study",
    } <= names
    assert sum(n.startswith("designs/") for n in names) == 4
    assert (out / "summary.csv").read_text() == res.stdout


def test_the_scenario_files_sweep_runs_without_vary(runner: CliRunner, tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(SMALL + "sweep:\n  sd_slope: [0.1, 0.3]\n")
    res = runner.invoke(app, ["study", str(p), "--reps", "5", "-j", "1", "-f", "csv"])
    assert res.exit_code == 0, res.stderr
    assert sorted(set(read_csv_text(res.stdout)["sd_slope"])) == [0.1, 0.3]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vary", "n_cluster"], "--vary: expected KEY=V1,V2,..."),
        (
            ["--vary", "n_cluster=10,1"],
            "--vary: s: n_cluster: every value must be an integer ≥ 2 (got 1)",
        ),
        (["--vary", "sd_slpoe=1"], "did you mean 'sd_slope'?"),
        (["--resume"], "--resume: needs -o/--output DIR"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(SMALL)
    res = runner.invoke(app, ["study", str(p), "--reps", "3", *args])
    assert res.exit_code == 2
    assert message in res.stderr and res.stderr.count("\n") == 1, res.stderr
    assert res.stdout == ""


def test_a_bad_sweep_in_the_file_names_file_and_field(runner: CliRunner, tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(SMALL + "sweep:\n  cor: [0, 2]\n")
    res = runner.invoke(app, ["study", str(p), "--reps", "3"])
    assert res.exit_code == 2
    assert (
        f"{p}: sweep.cor: every value must be a finite number between -1 and 1 (got 2)"
        in res.stderr
    )


def test_same_bytes_for_any_jobs_and_after_a_resume(
    runner: CliRunner, small: str, tmp_path: Path
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    a = runner.invoke(app, ["study", small, "--reps", "12", *VARY, "-j", "1", "-o", str(one)])
    b = runner.invoke(app, ["study", small, "--reps", "12", *VARY, "-j", "2", "-o", str(two)])
    assert a.exit_code == b.exit_code == 0
    assert a.stdout == b.stdout
    assert _files(one) == _files(two)
    # a stopped run: two designs finished; --resume runs the other two, to the same bytes
    for name in ("summary.csv", "replications.csv", "designs/00002.json"):
        (two / name).unlink()
    c = runner.invoke(app, ["study", small, "--reps", "12", *VARY, "-o", str(two), "--resume"])
    assert c.exit_code == 0, c.stderr
    assert c.stdout == a.stdout and _files(two) == _files(one)


def test_resume_refuses_a_changed_argument(runner: CliRunner, small: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert runner.invoke(app, ["study", small, "--reps", "4", *VARY, "-o", str(out)]).exit_code == 0
    before = _files(out)
    for args, what in (
        (["--reps", "5", *VARY], "--reps was 4, now 5"),
        (["--reps", "4", *VARY, "--seed", "9"], "--seed was not given, now 9"),
        (
            ["--reps", "4", "--vary", "obs_per_cluster=3,7", VARY[2], VARY[3]],
            "obs_per_cluster was 6, now 7",
        ),
    ):
        res = runner.invoke(app, ["study", small, *args, "-o", str(out), "--resume"])
        assert res.exit_code == 2, res.stderr
        assert what in res.stderr and "--resume" in res.stderr
    assert _files(out) == before  # nothing touched
    empty = tmp_path / "empty"
    res = runner.invoke(app, ["study", small, "--reps", "4", *VARY, "-o", str(empty), "--resume"])
    assert res.exit_code == 2 and "nothing to resume" in res.stderr


def test_ctrl_c_keeps_finished_designs_and_resume_completes(small: str, tmp_path: Path) -> None:
    """A real process, interrupted after its first design: one line, exit 130, the finished
    designs kept; --resume finishes to the bytes of an uninterrupted run."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [
        sys.executable,
        "-m",
        "shrinkcli",
        "study",
        small,
        "--reps",
        "150",
        "--vary",
        "obs_per_cluster=3,4,5,6,7,8",
        "-j",
        "1",
        "-o",
    ]
    proc = subprocess.Popen(
        [*args, "out"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "out" / "designs" / "00001.json").exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal")
    assert proc.returncode == 130 and err.strip() == "shrink: interrupted"
    kept = json.loads((tmp_path / "out" / ".shrink-study").read_text())["files"]
    assert "designs/00001.json" in kept and "summary.csv" not in kept
    resumed = subprocess.run(
        [*args, "out", "--resume"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    whole = subprocess.run(
        [*args, "whole"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == whole.returncode == 0, resumed.stderr
    assert resumed.stdout == whole.stdout
    assert _files(tmp_path / "out") == _files(tmp_path / "whole")


def test_fit_and_help_never_import_dask() -> None:
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom shrinkcli.cli import app\n"
        "r = CliRunner()\nassert r.invoke(app, ['--help']).exit_code == 0\n"
        "assert r.invoke(app, ['fit', 'scenarios/baseline.yaml']).exit_code == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('dask', 'distributed')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_an_unreachable_scheduler_is_one_line(runner: CliRunner, small: str) -> None:
    pytest.importorskip("distributed")
    res = runner.invoke(
        app,
        ["study", small, "--reps", "2", "--scheduler", "tcp://127.0.0.1:9"],
        env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"},
    )
    assert res.exit_code == 2
    assert res.stderr.startswith(
        "shrink: error: --scheduler: cannot reach a Dask scheduler at tcp://127.0.0.1:9"
    )
    assert res.stderr.count("\n") == 1


def test_a_two_worker_dask_cluster_gives_the_same_bytes(small: str, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    base = [sys.executable, "-m", "shrinkcli", "study", small, "--reps", "30", *VARY]
    local = subprocess.run(
        [*base, "-j", "1", "-o", str(tmp_path / "local")], env=env, capture_output=True, timeout=300
    )
    assert local.returncode == 0, local.stderr
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        for how, extra, more_env in (
            ("option", ["--scheduler", cluster.scheduler_address], {}),
            ("environment", [], {"DASK_SCHEDULER_ADDRESS": cluster.scheduler_address}),
        ):
            out = tmp_path / how
            run = subprocess.run(
                [*base, *extra, "-o", str(out)],
                env={**env, **more_env},
                capture_output=True,
                timeout=300,
            )
            assert run.returncode == 0, run.stderr
            assert run.stdout == local.stdout
            assert _files(out) == _files(tmp_path / "local")
        # a study without a sweep goes to the cluster the same way
        plain = [sys.executable, "-m", "shrinkcli", "study", small, "--reps", "20"]
        here = subprocess.run([*plain, "-j", "1"], env=env, capture_output=True, timeout=300)
        there = subprocess.run(
            [*plain, "--scheduler", cluster.scheduler_address],
            env=env,
            capture_output=True,
            timeout=300,
        )
        assert here.returncode == there.returncode == 0 and here.stdout == there.stdout
        # the chunks ran as the cluster's tasks
        assert "run_chunk" in cluster.scheduler.task_prefixes

"""The edges a new user meets: help that reads as a CLI's, errors in plain words, one rule for
exit codes, stdin and JSON inputs, outputs that cannot be written or would overwrite an input,
folders shrink does not own, and signals (SIGTERM as CI systems send it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SCENARIO_DIR, read_csv_text
from typer.testing import CliRunner

from shrinkcli.cli import app

BASELINE = str(SCENARIO_DIR / "baseline.yaml")
COMMANDS = ("simulate", "fit", "animate", "report", "study")


@pytest.mark.parametrize("command", COMMANDS)
def test_help_reads_as_a_cli(runner: CliRunner, command: str) -> None:
    res = runner.invoke(app, [command, "--help"])
    assert res.exit_code == 0
    for python in ("<str>", "<list[", "<int>", "{SCENARIO}", "{INPUT}"):
        assert python not in res.stdout, (command, python)
    usage = res.stdout.splitlines()[0]
    assert usage.endswith(("SCENARIO", "SCENARIO...", "INPUT")), usage


def test_type_errors_in_plain_words(runner: CliRunner) -> None:
    cases = [
        (["fit", BASELINE, "--seed", "abc"], "--seed: must be an integer (got 'abc')"),
        (["study", BASELINE, "-n", "x"], "-n/--reps: must be an integer (got 'x')"),
        (["animate", BASELINE, "--fps=fast"], "--fps: must be a number (got 'fast')"),
    ]
    for args, message in cases:
        res = runner.invoke(app, args)
        assert res.exit_code == 2 and message in res.stderr, res.stderr
        assert "Input should be" not in res.stderr and len(res.stderr.splitlines()) == 1


def test_shell_completion_is_on() -> None:
    env = {**os.environ, "_SHRINK_COMPLETE": "source_bash"}
    out = subprocess.run(
        [sys.executable, "-m", "shrinkcli"],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert out.returncode == 0 and "_shrink_completion" in out.stdout, out.stderr
    env = {
        **os.environ,
        "_SHRINK_COMPLETE": "complete_bash",
        "COMP_WORDS": "shrink rep",
        "COMP_CWORD": "1",
    }
    out = subprocess.run(
        [sys.executable, "-m", "shrinkcli"],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert out.stdout.split() == ["report"]


def test_simulate_reads_a_scenario_on_stdin_and_fit_reads_json(runner: CliRunner) -> None:
    scenario = Path(BASELINE).read_text()
    piped = runner.invoke(app, ["simulate", "-"], input=scenario)
    direct = runner.invoke(app, ["simulate", BASELINE])
    assert piped.exit_code == 0 and piped.stdout == direct.stdout
    as_json = runner.invoke(app, ["simulate", BASELINE, "-f", "json"])
    fitted = runner.invoke(app, ["fit", "-"], input=as_json.stdout)
    from_csv = runner.invoke(app, ["fit", "-"], input=direct.stdout)
    assert fitted.exit_code == 0, fitted.stderr
    assert fitted.stdout == from_csv.stdout
    text_ids = json.dumps(
        [{"y": float(i % 7), "x": float(i % 5), "cluster": f"0{i % 3}"} for i in range(30)]
    )
    res = runner.invoke(app, ["fit", "-"], input=text_ids)
    assert res.exit_code == 0, res.stderr
    assert read_csv_text(res.stdout)["cluster"].astype(str).str.zfill(2).tolist() == [
        "00",
        "01",
        "02",
    ]
    assert "00" in res.stdout.splitlines()[1]  # ids kept as given: '00', not 0


def test_one_rule_for_exit_codes(runner: CliRunner, tmp_path: Path) -> None:
    # inputs that cannot be opened: usage errors, in every command
    for command in COMMANDS:
        args = [command, str(tmp_path / "none.yaml")] + (["-n", "1"] if command == "study" else [])
        res = runner.invoke(app, args)
        assert res.exit_code == 2 and "none.yaml: no such file" in res.stderr, res.stderr
    # outputs that cannot be written: named, before any work
    readme = Path(__file__).resolve().parents[1] / "README.md"
    for out, words in (
        (f"{readme}/x.csv", "is a file, not a folder"),
        (f"{readme}/x/y.csv", "is a file, not a folder"),
        ("/proc/x.csv", "cannot create files in '/proc'"),
    ):
        res = runner.invoke(app, ["fit", BASELINE, "-o", out])
        assert res.exit_code == 2 and words in res.stderr, res.stderr
    res = runner.invoke(app, ["study", BASELINE, "-n", "2", "-o", "/proc/study"])
    assert res.exit_code == 2 and "cannot create files in '/proc'" in res.stderr
    assert res.stdout == ""  # refused before the replications ran
    # data that cannot be used: 1
    bad = tmp_path / "bad.csv"
    bad.write_text("y,x,cluster\n1,2,a\n")
    assert runner.invoke(app, ["fit", str(bad)]).exit_code == 1


def test_an_output_may_not_be_an_input(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    data.write_text(runner.invoke(app, ["simulate", BASELINE]).stdout)
    before = data.read_bytes()
    res = runner.invoke(app, ["fit", str(data), "-o", str(data)])
    assert res.exit_code == 2 and "is also an input" in res.stderr
    assert data.read_bytes() == before
    scenario = tmp_path / "s.yaml"
    scenario.write_text(Path(BASELINE).read_text())
    res = runner.invoke(app, ["simulate", str(scenario), "-o", str(scenario)])
    assert res.exit_code == 2 and "is also an input" in res.stderr
    res = runner.invoke(
        app,
        [
            "simulate",
            str(scenario),
            "-o",
            str(tmp_path / "d.csv"),
            "--truth",
            str(tmp_path / "d.csv"),
        ],
    )
    assert res.exit_code == 2 and "--truth" in res.stderr


def test_dropped_rows_are_said_before_the_error_they_explain(runner: CliRunner) -> None:
    res = runner.invoke(app, ["fit", "-"], input="y,x,cluster\n1,2,a\n2,3,a\n3,,b\n4,5,a\n")
    lines = res.stderr.strip().splitlines()
    assert res.exit_code == 1 and len(lines) == 2
    assert lines[0] == "shrink: warning: dropped 1 row with missing values"
    assert "single cluster" in lines[1]
    res = runner.invoke(app, ["fit", "-"], input="y,x,cluster\n1,2,2\n2,3,2\n3,4,2\n")
    assert "single cluster (2)" in res.stderr  # the id as given, no numpy type


def test_study_owns_its_folder(runner: CliRunner, tmp_path: Path) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    res = runner.invoke(app, ["study", BASELINE, "-n", "2", "-o", str(foreign)])
    assert res.exit_code == 2 and "not a shrink study" in res.stderr
    assert (foreign / "notes.txt").read_text() == "keep me" and res.stdout == ""
    out = tmp_path / "study"
    assert runner.invoke(app, ["study", BASELINE, "-n", "2", "-o", str(out)]).exit_code == 0
    marker = json.loads((out / ".shrink-study").read_text())
    assert sorted(marker["files"]) == sorted(
        p.name for p in out.iterdir() if p.name != ".shrink-study"
    )
    # an earlier study is replaced whole
    assert runner.invoke(app, ["study", BASELINE, "-n", "3", "-o", str(out)]).exit_code == 0
    assert len(read_csv_text((out / "replications.csv").read_text())) == 3
    assert not list(tmp_path.glob(".study.*"))


def _run_and_signal(args: list[str], cwd: Path, after: float, sig: int) -> tuple[int, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "shrinkcli", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    time.sleep(after)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def test_sigterm_stops_a_report_cleanly(tmp_path: Path) -> None:
    scenarios = [str(p) for p in sorted(SCENARIO_DIR.glob("*.yaml"))]
    first = subprocess.run(
        [sys.executable, "-m", "shrinkcli", "report", *scenarios, "-o", "out", "-q"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert first.returncode == 0
    before = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    code, err = _run_and_signal(["report", *scenarios, "-o", "out"], tmp_path, 1.5, signal.SIGTERM)
    assert code == 143 and err.strip().splitlines()[-1] == "shrink: terminated", err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no build folder left
    after = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert after == before  # the earlier report is intact


HUGE = "n_cluster: 1000000\nobs_per_cluster: 10\n"
#: When the signal is sent: long after the handlers are installed, long before the work ends.
SIGNAL_AFTER = 1.5


@pytest.fixture(scope="module")
def huge_simulation_seconds(tmp_path_factory: pytest.TempPathFactory) -> float:
    """How long the whole simulation of ten million rows takes on this machine, now: what a
    signal must save, measured rather than assumed (a loaded machine takes longer for both)."""
    folder = tmp_path_factory.mktemp("huge")
    (folder / "huge.yaml").write_text(HUGE)
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "shrinkcli", "simulate", "huge.yaml", "-o", "h.csv"],
        cwd=folder,
        capture_output=True,
        check=True,
        timeout=600,
    )
    seconds = time.monotonic() - started
    (folder / "h.csv").unlink()
    return seconds


@pytest.mark.parametrize(
    ("sig", "code", "line"),
    [(signal.SIGINT, 130, "shrink: interrupted"), (signal.SIGTERM, 143, "shrink: terminated")],
)
def test_a_signal_stops_a_large_simulation_at_once(
    tmp_path: Path, huge_simulation_seconds: float, sig: int, code: int, line: str
) -> None:
    """Ctrl-C or SIGTERM while ten million rows are drawn (the sample in a thread beside the
    normals, the text formatted by Arrow's threads): one line, no file, and no waiting for work
    that nobody needs any more. "At once" is relative to the work skipped, not a speed: the
    run must end in well under half the time the rest of the simulation would have taken."""
    (tmp_path / "huge.yaml").write_text(HUGE)
    proc = subprocess.Popen(
        [sys.executable, "-m", "shrinkcli", "simulate", "huge.yaml", "-o", "h.csv"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    time.sleep(SIGNAL_AFTER)
    proc.send_signal(sig)
    signalled = time.monotonic()
    _, err = proc.communicate(timeout=600)
    stopping = time.monotonic() - signalled
    skipped = huge_simulation_seconds - SIGNAL_AFTER
    assert skipped > 2, f"the whole simulation took {huge_simulation_seconds:.1f} s: too short"
    assert stopping < skipped / 2, (
        f"the run went on {stopping:.1f} s after the signal; the whole work would have taken "
        f"{skipped:.1f} s more"
    )
    assert proc.returncode == code and err.strip().splitlines() == [line], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.yaml"]


@pytest.mark.parametrize(
    ("sig", "code", "line"),
    [(signal.SIGINT, 130, "shrink: interrupted"), (signal.SIGTERM, 143, "shrink: terminated")],
)
def test_a_signal_while_the_command_line_is_imported_is_one_line(
    tmp_path: Path, sig: int, code: int, line: str
) -> None:
    """A signal while the command line is still being imported (a tenth of a second at start):
    its one line and exit code, no traceback from the module being imported, no file. Python's
    `-X importtime` says on stderr when each module is imported; the signal is sent as soon as
    typer has been (the command line's own module is then still loading)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "shrinkcli",
            "fit",
            str(SCENARIO_DIR / "baseline.yaml"),
            "-o",
            "e.csv",
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    for got in proc.stderr:
        if got.rsplit("|", 1)[-1].strip() == "typer":
            proc.send_signal(sig)
            break
    else:
        pytest.fail("typer was never imported")
    rest = [ln for ln in proc.stderr.read().splitlines() if not ln.startswith("import time:")]
    proc.wait(timeout=120)
    assert rest == [line] and proc.returncode == code, "\n".join(rest[-5:])
    assert not (tmp_path / "e.csv").exists()


def test_a_killed_runs_build_folder_is_removed_by_the_next(tmp_path: Path) -> None:
    scenarios = [str(p) for p in sorted(SCENARIO_DIR.glob("*.yaml"))]
    code, _ = _run_and_signal(["report", *scenarios, "-o", "out"], tmp_path, 1.5, signal.SIGKILL)
    assert code == -signal.SIGKILL
    time.sleep(0.5)
    stale = list(tmp_path.glob(".out.*.building"))
    assert stale, "a killed run leaves its build folder"
    foreign = tmp_path / ".out.notours.building"
    foreign.mkdir()  # not shrink's (no process id inside): left alone
    res = subprocess.run(
        [sys.executable, "-m", "shrinkcli", "report", scenarios[0], "-o", "out", "-q"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert res.returncode == 0
    assert list(tmp_path.glob(".out.*.building")) == [foreign]


def test_the_statsmodels_engine_reports_only_real_problems(runner: CliRunner) -> None:
    """statsmodels falls back from lbfgs and warns of a singular covariance on this
    non-singular random-intercept fit: its notes go with the optimizer's record, not stderr."""
    res = runner.invoke(
        app, ["fit", BASELINE, "--engine", "statsmodels", "--random", "intercept", "-f", "json"]
    )
    assert res.exit_code == 0 and res.stderr == ""
    out = json.loads(res.stdout)
    assert out["converged"] is True and out["singular"] is False and out["warnings"] == []
    assert out["optimizer"]["message"].startswith("converged")


def test_devices_pipes_and_links_are_written_not_replaced(tmp_path: Path) -> None:
    """An atomic rename must never put a regular file where a device, a pipe or a link was:
    devices and pipes are written in place, a link's target is replaced."""
    import stat
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    res = subprocess.run(
        [sys.executable, "-m", "shrinkcli", "simulate", BASELINE, "-o", str(fifo)],
        capture_output=True,
        check=False,
    )
    reader.join(timeout=60)
    assert res.returncode == 0, res.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode) and got[0].startswith(b"y,x,cluster\n")
    target = tmp_path / "target.csv"
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    res = subprocess.run(
        [sys.executable, "-m", "shrinkcli", "simulate", BASELINE, "-o", str(link)],
        capture_output=True,
        check=False,
    )
    assert res.returncode == 0 and link.is_symlink()
    assert target.read_text().startswith("y,x,cluster\n")
    full = Path("/dev/full")
    if full.exists() and stat.S_ISCHR(full.stat().st_mode):
        res = subprocess.run(
            [sys.executable, "-m", "shrinkcli", "simulate", BASELINE, "-o", str(full)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert res.returncode == 1 and "No space left" in res.stderr
        assert stat.S_ISCHR(full.stat().st_mode)  # still the device

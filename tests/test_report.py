"""shrink report: the folder and its files, summary.csv, failures shown and not fatal, and a
destination that is only ever replaced whole and never when it is not a report."""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import SCENARIO_DIR
from markupsafe import escape
from typer.testing import CliRunner

from shrinkcli.cli import app
from shrinkcli.report import MARKER, STAGES, Section, build_report, load_scenarios
from shrinkcli.report.pages import SUMMARY_COLUMNS

SMALL = """\
title: {title}
description: A small test scenario.
n_cluster: 20
obs_per_cluster: {obs}
seed: {seed}
animation:
  frames: 4
  size: 200x150
"""


def scenario(folder: Path, name: str, *, obs: int = 5, seed: int = 1, title: str = "") -> str:
    path = folder / f"{name}.yaml"
    path.write_text(SMALL.format(title=title or name.title(), obs=obs, seed=seed))
    return str(path)


@pytest.fixture
def two(tmp_path: Path) -> list[str]:
    src = tmp_path / "scenarios"
    src.mkdir()
    return [scenario(src, "small-a", obs=4, seed=3), scenario(src, "small-b", obs=8, seed=4)]


def run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    res = runner.invoke(app, ["report", *args])
    return res.exit_code, res.stdout, res.stderr


def test_folder_has_every_file(runner: CliRunner, two: list[str], tmp_path: Path) -> None:
    out = tmp_path / "rep"
    code, stdout, stderr = run(runner, *two, "-o", str(out))
    assert code == 0, stderr
    assert stdout == ""
    assert stderr.strip() == f"wrote {out / 'index.html'} (2 scenarios)"
    for name in ("index.html", "report.md", "summary.csv", "style.css", "manifest.json", MARKER):
        assert (out / name).is_file(), name
    listed = json.loads((out / MARKER).read_text())["files"]
    for sc in ("small-a", "small-b"):
        names = [f.split("/", 1)[1] for f in listed if f.startswith(f"{sc}/")]
        assert sorted(names) == sorted(
            [
                "data.csv",
                "truth.csv",
                "estimates.csv",
                "fit.json",
                "summary.txt",
                "animation.gif",
                "final.png",
                "reproduce.R",
                "caterpillar.png",
                "pooling.png",
                "intervals.csv",
                "index.html",
            ]
        )
        for name in names:
            assert (out / sc / name).stat().st_size > 0, f"{sc}/{name}"
        assert (out / sc / "animation.gif").read_bytes()[:6] == b"GIF89a"
        assert (out / sc / "final.png").read_bytes()[:4] == b"\x89PNG"
    summary = pd.read_csv(out / "summary.csv")
    assert tuple(summary.columns) == SUMMARY_COLUMNS
    assert list(summary["scenario"]) == ["small-a", "small-b"]
    assert list(summary["status"]) == ["ok", "ok"]
    assert list(summary["obs_per_cluster"]) == [4, 8]
    assert summary["rmse_mixed_line"].notna().all()
    md = (out / "report.md").read_text()
    assert "](small-a/final.png)" in md and "](small-b/index.html)" in md
    index = (out / "index.html").read_text()
    assert 'href="small-a/index.html"' in index and "http" not in index.replace("http-equiv", "")
    # nothing but the report beside it: the temporary build folder is gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep", "scenarios"]


def test_baseline_shows_lme4s_numbers(runner: CliRunner, tmp_path: Path) -> None:
    text = (SCENARIO_DIR / "baseline.yaml").read_text() + "animation:\n  frames: 4\n"
    (tmp_path / "baseline.yaml").write_text(text)
    out = tmp_path / "rep"
    code, _, stderr = run(runner, str(tmp_path / "baseline.yaml"), "-o", str(out), "-q")
    assert code == 0, stderr
    summary = (out / "baseline" / "summary.txt").read_text()
    assert "REML criterion at convergence: 3012.2" in summary
    assert str(escape(summary)) in (out / "baseline" / "index.html").read_text()
    row = pd.read_csv(out / "summary.csv").iloc[0]
    assert round(row["criterion"], 1) == 3012.2
    assert row["rmse_mixed_intercept"] < row["rmse_ols_intercept"]
    assert row["rmse_mixed_slope"] < row["rmse_ols_slope"]


def test_rmse_is_measured_from_the_written_tables(
    runner: CliRunner, two: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "rep"
    assert run(runner, *two, "-o", str(out), "-q")[0] == 0
    summary = pd.read_csv(out / "summary.csv").set_index("scenario")
    for sc in ("small-a", "small-b"):
        est = pd.read_csv(out / sc / "estimates.csv")
        est = est[est["ols_slope"].notna()]
        row = summary.loc[sc]
        for kind in ("ols", "mixed"):
            for coef in ("intercept", "slope"):
                err = est[f"{kind}_{coef}"] - est[f"true_{coef}"]
                want = math.sqrt(float((err**2).mean()))
                assert row[f"rmse_{kind}_{coef}"] == pytest.approx(want, rel=1e-12)
        assert row["rmse_clusters"] == len(est)
        assert row["mean_shrinkage"] == pytest.approx(est["shrinkage"].mean(), rel=1e-12)


def test_a_failing_scenario_does_not_stop_the_others(
    runner: CliRunner, two: list[str], tmp_path: Path
) -> None:
    bad = tmp_path / "scenarios" / "broken.yaml"
    bad.write_text("n_cluster: [1,\n")
    invalid = tmp_path / "scenarios" / "invalid.yaml"
    invalid.write_text("n_cluster: 1\n")
    missing = str(tmp_path / "scenarios" / "missing.yaml")
    out = tmp_path / "rep"
    # a file named on the command line that does not exist: a usage error before any work
    code, _, stderr = run(runner, two[0], missing, two[1], "-o", str(out))
    assert code == 2 and "missing.yaml: no such file" in stderr and not out.exists()
    # files that exist but do not validate are shown as failures; the others are reported
    code, stdout, stderr = run(runner, two[0], str(bad), str(invalid), two[1], "-o", str(out))
    assert code == 1
    assert stdout == ""
    assert "broken.yaml" in stderr and "YAML syntax error" in stderr
    assert "invalid.yaml: n_cluster" in stderr
    assert stderr.strip().endswith("(2 of 4 scenarios; 2 failed)")
    assert (out / "small-a" / "animation.gif").is_file()
    assert (out / "small-b" / "animation.gif").is_file()
    index = (out / "index.html").read_text()
    assert "Scenarios that failed" in index
    assert "YAML syntax error" in index and "n_cluster" in index
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["status"]) == ["ok", "failed", "failed", "ok"]
    assert "failed" in (out / "report.md").read_text()


def test_a_fit_error_is_a_failure_too(two: list[str], tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from shrinkcli.errors import FitError
    from shrinkcli.report import scenarios

    real = scenarios.run_scenario

    def flaky(sc, *args, **kwargs):  # type: ignore[no-untyped-def]
        if sc.name == "small-b":
            return scenarios.failure(sc.name, sc.source, FitError("model did not converge"))
        return real(sc, *args, **kwargs)

    monkeypatch.setattr(scenarios, "run_scenario", flaky)
    result = build_report(load_scenarios(two), tmp_path / "rep", jobs=1)
    assert not result.ok
    assert [f.name for f in result.failures] == ["small-b"]
    assert "model did not converge" in (tmp_path / "rep" / "index.html").read_text()


def test_duplicate_names_exit_2_before_any_work(
    runner: CliRunner, two: list[str], tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    twin = scenario(other, "small-a", obs=6)
    code, stdout, stderr = run(runner, *two, twin, "-o", str(tmp_path / "rep"))
    assert code == 2
    assert stdout == "" and "small-a" in stderr and len(stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other", "scenarios"]


def test_a_name_that_is_a_report_file_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("name: summary.csv\nn_cluster: 20\n")
    code, _, stderr = run(runner, str(path), "-o", str(tmp_path / "rep"))
    assert code == 2 and "summary.csv" in stderr
    assert not (tmp_path / "rep").exists()


def test_a_folder_that_is_not_a_report_is_never_replaced(
    runner: CliRunner, two: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    code, _, stderr = run(runner, *two, "-o", str(out))
    assert code == 2
    assert "not a shrink report" in stderr
    assert (out / "notes.txt").read_text() == "precious"
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    file_out = tmp_path / "a-file"
    file_out.write_text("x")
    assert run(runner, *two, "-o", str(file_out))[0] == 2
    assert file_out.read_text() == "x"


def test_an_earlier_report_is_replaced_whole(
    runner: CliRunner, two: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "rep"
    assert run(runner, *two, "-o", str(out), "-q")[0] == 0
    assert (out / "small-b").is_dir()
    assert run(runner, two[0], "-o", str(out), "-q")[0] == 0
    assert (out / "small-a" / "index.html").is_file()
    assert not (out / "small-b").exists()  # the old report is gone, not merged
    assert len(pd.read_csv(out / "summary.csv")) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep", "scenarios"]


def test_a_report_holding_someone_elses_file_is_kept(
    runner: CliRunner, two: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "rep"
    assert run(runner, *two, "-o", str(out), "-q")[0] == 0
    (out / "small-a" / "my-notes.md").write_text("mine")
    code, _, stderr = run(runner, *two, "-o", str(out), "-q")
    assert code == 2 and "my-notes.md" in stderr
    assert (out / "small-a" / "my-notes.md").read_text() == "mine"
    assert (out / "small-b" / "animation.gif").is_file()


def test_an_interrupted_run_leaves_the_earlier_report(two: list[str], tmp_path: Path) -> None:
    out = tmp_path / "rep"
    build_report(load_scenarios(two), out, jobs=1)
    before = (out / "index.html").read_bytes()

    def interrupt(event: object) -> None:
        if getattr(event, "stage", None) == "animate":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_report(load_scenarios(two[:1]), out, jobs=1, progress=interrupt)
    assert (out / "index.html").read_bytes() == before
    assert (out / "small-b").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep", "scenarios"]
    with pytest.raises(KeyboardInterrupt):
        build_report(load_scenarios(two), tmp_path / "new", jobs=1, progress=interrupt)
    assert not (tmp_path / "new").exists()


def test_quiet_prints_nothing(runner: CliRunner, two: list[str], tmp_path: Path) -> None:
    code, stdout, stderr = run(runner, *two, "-o", str(tmp_path / "rep"), "--quiet")
    assert (code, stdout, stderr) == (0, "", "")


def test_parallel_and_serial_runs_write_the_same_files(two: list[str], tmp_path: Path) -> None:
    events: list[tuple[str, str]] = []
    a = build_report(
        load_scenarios(two),
        tmp_path / "a",
        jobs=2,
        progress=lambda e: events.append((e.scenario, e.stage)),
    )  # type: ignore[union-attr]
    b = build_report(load_scenarios(two), tmp_path / "b", jobs=1)
    assert a.ok and b.ok
    assert a.files == b.files
    for sc, r in zip(("small-a", "small-b"), a.reports, strict=True):
        assert [s for n, s in events if n == sc] == ["queued", *STAGES, "done"]
        for name in r.files:
            assert (tmp_path / "a" / sc / name).read_bytes() == (
                tmp_path / "b" / sc / name
            ).read_bytes(), f"{sc}/{name}"


def test_an_extra_section_goes_into_the_overview(two: list[str], tmp_path: Path) -> None:
    extra = Section(
        title="A study", anchor="study", html="<p>Study <b>here</b></p>", markdown="Study **here**"
    )
    build_report(load_scenarios(two), tmp_path / "rep", jobs=1, sections=[extra])
    assert '<section id="study">' in (tmp_path / "rep" / "index.html").read_text()
    assert "## A study\n\nStudy **here**" in (tmp_path / "rep" / "report.md").read_text()


def test_titles_are_escaped(tmp_path: Path) -> None:
    path = scenario(tmp_path, "esc", title="<script>alert(1)</script>")
    build_report(load_scenarios([path]), tmp_path / "rep", jobs=1)
    html = (tmp_path / "rep" / "index.html").read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_bad_options_exit_2(runner: CliRunner, two: list[str], tmp_path: Path) -> None:
    assert run(runner, *two, "--jobs", "0", "-o", str(tmp_path / "r"))[0] == 2
    assert run(runner, *two, "-o", "-")[0] == 2
    assert run(runner, *two, "-o", str(tmp_path / "no" / "such" / "r"))[0] == 2
    assert run(runner)[0] == 2
    assert not (tmp_path / "r").exists()


def test_stdout_is_clean_and_stderr_not_a_terminal_has_no_progress(
    two: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "rep"
    proc = subprocess.run(
        [sys.executable, "-m", "shrinkcli", "report", *two, "-o", str(out)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [f"wrote {out / 'index.html'} (2 scenarios)"]
    assert pd.read_csv(io.StringIO((out / "summary.csv").read_text())).shape[0] == 2


def _walk(folder: Path) -> set[str]:
    return {
        (Path(d) / f).relative_to(folder).as_posix()
        for d, _, files in os.walk(folder)
        for f in files
    }


def test_the_marker_lists_exactly_what_was_written(two: list[str], tmp_path: Path) -> None:
    from shrinkcli.report import StudyOptions

    out = tmp_path / "rep"
    result = build_report(load_scenarios(two), out, jobs=1, study=StudyOptions(reps=2))
    listed = json.loads((out / MARKER).read_text())["files"]
    assert listed == sorted(listed) and list(result.files) == listed
    assert set(listed) == _walk(out) - {MARKER}
    assert {
        "study/summary.csv",
        "study/replications.csv",
        "study/rmse.png",
        "study/estimates.png",
    } <= set(listed)
    for r in result.reports:  # a scenario's page lists the files of its folder
        page = (out / r.name / "index.html").read_text()
        assert all(f'<a href="{f}">{f}</a>' in page for f in r.files)
        assert {f"{r.name}/{f}" for f in r.files} | {f"{r.name}/index.html"} == {
            f for f in listed if f.startswith(f"{r.name}/")
        }


def test_reserved_names_are_the_reports_own_files(two: list[str], tmp_path: Path) -> None:
    from shrinkcli.report import RESERVED, StudyOptions

    out = tmp_path / "rep"
    build_report(load_scenarios(two), out, jobs=1, study=StudyOptions(reps=2))
    top = {p.name for p in out.iterdir()} - {"small-a", "small-b"}
    assert top == set(RESERVED)


def test_images_take_the_animation_size(tmp_path: Path) -> None:
    wide = tmp_path / "wide.yaml"
    wide.write_text("n_cluster: 12\nobs_per_cluster: 4\nanimation:\n  frames: 3\n  size: 320x180\n")
    small = tmp_path / "small.yaml"
    small.write_text(
        "n_cluster: 12\nobs_per_cluster: 4\nanimation:\n  frames: 3\n  width: 200\n  height: 150\n"
    )
    out = tmp_path / "rep"
    build_report(load_scenarios([str(wide), str(small)]), out, jobs=1)
    index = (out / "index.html").read_text()
    assert '<img src="wide/final.png"' in index
    assert 'width="320" height="180"' in index and 'width="200" height="150"' in index
    page = (out / "wide" / "index.html").read_text()
    assert page.count('width="320" height="180"') == 3  # animation, picture, pooling path
    assert 'width="600"' not in page


def test_a_scenario_too_large_for_this_machine_is_a_failure(
    two: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shrinkcli.scenario as sc

    big = tmp_path / "scenarios" / "big.yaml"
    big.write_text("n_cluster: 100000\nobs_per_cluster: 1000\n")
    loaded = load_scenarios([two[0], str(big)])
    monkeypatch.setattr(sc, "available_memory", lambda: 10**9)
    result = build_report(loaded, tmp_path / "rep", jobs=1)
    assert [f.name for f in result.failures] == ["big"]
    assert "of memory" in result.failures[0].message
    assert result.failures[0].message.startswith(str(big))


def test_wide_tables_scroll_in_a_box_that_shows_it() -> None:
    """A table wider than a phone scrolls inside `.scroll` (numbers never wrap), with a
    shadow on the side that has more to see."""
    from shrinkcli.report.pages import stylesheet

    css = stylesheet()
    block = css[css.index(".scroll {") : css.index("}", css.index(".scroll {"))]
    assert "overflow-x: auto" in block and "radial-gradient" in block and "local" in block
    assert "white-space: nowrap" in css[css.index(".numbers td") :]

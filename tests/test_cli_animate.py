"""`shrink animate` as a user runs it: files written, options from the scenario and the command
line, one-line errors and nothing written for bad options."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SCENARIO_DIR
from PIL import Image
from typer.testing import CliRunner

from shrinkcli.cli import app

SMALL = """\
title: Small
n_cluster: 12
obs_per_cluster: 6
animation:
  frames: 6
  fps: 5
  size: 320x240
"""


@pytest.fixture
def small(tmp_path: Path) -> Path:
    p = tmp_path / "small.yaml"
    p.write_text(SMALL)
    return p


def test_writes_gif_and_png_with_scenario_options(
    runner: CliRunner, tmp_path: Path, small: Path
) -> None:
    gif, png = tmp_path / "a.gif", tmp_path / "a.png"
    res = runner.invoke(app, ["animate", str(small), "-o", str(gif), "--png", str(png), "-j", "1"])
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    with Image.open(gif) as im:
        assert im.size == (320, 240) and im.n_frames == 6
        assert im.info.get("loop") == 0 and im.info.get("duration") == 200
    with Image.open(png) as im:
        assert im.size == (320, 240)
    assert "wrote" in res.stderr


def test_command_line_wins_over_the_scenario(
    runner: CliRunner, tmp_path: Path, small: Path
) -> None:
    gif = tmp_path / "b.gif"
    res = runner.invoke(
        app,
        [
            "animate",
            str(small),
            "-o",
            str(gif),
            "--frames",
            "3",
            "--size",
            "200x150",
            "--fps",
            "4",
            "--quiet",
            "-j",
            "1",
        ],
    )
    assert res.exit_code == 0, res.stderr
    assert res.stderr == ""
    with Image.open(gif) as im:
        assert im.size == (200, 150) and im.n_frames == 3 and im.info["duration"] == 250


def test_default_output_name(
    runner: CliRunner, tmp_path: Path, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["animate", str(small), "-j", "1"])
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / "small.gif").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fps", "0"], "--fps"),
        (["--fps", "-3"], "--fps"),
        (["--size", "0x0"], "--size"),
        (["--size", "big"], "--size"),
        (["--frames", "1"], "--frames"),
        (["--frames", "abc"], "--frames"),
        (["--zoom", "far"], "--zoom"),
        (["--jobs", "0"], "--jobs"),
        (["-o", "{tmp}/missing/u.gif"], "does not exist"),
        (["-o", "{tmp}"], "is a folder"),
        (["-o", "{tmp}/u.png"], "GIF"),
        (["--png", "{tmp}/nodir/u.png"], "does not exist"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(
    runner: CliRunner, tmp_path: Path, small: Path, args: list[str], message: str
) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "-o" not in args:
        args = [*args, "-o", str(tmp_path / "u.gif")]
    res = runner.invoke(app, ["animate", str(small), *args])
    assert res.exit_code == 2, res.stderr
    assert message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.yaml"]


def test_bad_animation_section_in_scenario(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("animation:\n  fps: 0\n")
    res = runner.invoke(app, ["animate", str(bad), "-o", str(tmp_path / "x.gif")])
    assert res.exit_code == 2 and "animation.fps" in res.stderr
    assert not (tmp_path / "x.gif").exists()


def test_from_a_csv_file(runner: CliRunner, tmp_path: Path) -> None:
    data = runner.invoke(app, ["simulate", str(SCENARIO_DIR / "baseline.yaml")]).stdout
    csv = tmp_path / "d.csv"
    csv.write_text(data)
    gif = tmp_path / "d.gif"
    res = runner.invoke(app, ["animate", str(csv), "-o", str(gif), "--frames", "2", "-j", "1"])
    assert res.exit_code == 0, res.stderr
    assert gif.stat().st_size > 1000

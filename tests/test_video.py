"""Video: the animation as MP4 (H.264) and WebM (VP9) through imageio's ffmpeg writer, read back
with imageio; and `shrink animate -o FILE.mp4 --path ...`."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest
from conftest import SCENARIO_DIR
from typer.testing import CliRunner

from shrinkcli import Fit, fit, load_scenario, simulate
from shrinkcli.cli import app
from shrinkcli.pictures.animate import even_frame, render_video
from shrinkcli.pictures.figure import ShrinkageFigure
from shrinkcli.scenario import AnimationOptions

SMALL = {"frames": 24, "fps": 12.0}


@cache
def _baseline() -> Fit:
    sim = simulate(load_scenario(str(SCENARIO_DIR / "baseline.yaml")))
    return fit(sim.data)


def _read(video: bytes, suffix: str, tmp_path: Path) -> tuple[list[np.ndarray], dict]:
    path = tmp_path / f"read.{suffix}"
    path.write_bytes(video)
    reader = imageio.get_reader(str(path), format="FFMPEG")
    try:
        meta = reader.get_meta_data()
        frames = [np.asarray(f) for f in reader]
    finally:
        reader.close()
    return frames, meta


@pytest.mark.parametrize("suffix", ["mp4", "webm"])
def test_video_plays_back_with_every_frame(suffix: str, tmp_path: Path) -> None:
    options = AnimationOptions(**SMALL)
    video, png = render_video(
        _baseline(), options, title="t", subtitle="s", format=suffix, png=True
    )
    assert png is not None and png.startswith(b"\x89PNG")
    frames, meta = _read(video, suffix, tmp_path)
    assert len(frames) == 24
    assert meta["size"] == (600, 450) and meta["fps"] == pytest.approx(12.0)
    assert frames[0].shape == (450, 600, 3)
    figure = ShrinkageFigure.from_fit(_baseline(), options, title="t", subtitle="s")
    for k, t in ((0, 0.0), (-1, 1.0)):  # lossy, but the same picture
        want = figure.rgba(t)[:, :, :3].astype(int)
        assert np.abs(frames[k].astype(int) - want).mean() < 4.0


def test_mp4_is_reproducible_and_smaller_than_the_gif() -> None:
    from shrinkcli.pictures.animate import render_gif

    options = AnimationOptions()
    one, _ = render_video(_baseline(), options, title="t", subtitle="s", format="mp4")
    two, _ = render_video(_baseline(), options, title="t", subtitle="s", format="mp4")
    assert one == two
    assert one[4:8] == b"ftyp"
    assert len(one) < len(render_gif(_baseline(), options, title="t", subtitle="s", jobs=1))


def test_odd_sizes_are_padded_to_even(tmp_path: Path) -> None:
    options = AnimationOptions(frames=4, width=301, height=201)
    video, _ = render_video(_baseline(), options, title="t", subtitle="s", format="mp4")
    frames, meta = _read(video, "mp4", tmp_path)
    assert meta["size"] == (302, 202) and len(frames) == 4
    padded = even_frame(np.zeros((3, 5, 3), dtype=np.uint8))
    assert padded.shape == (4, 6, 3) and padded[3].min() == 255 and padded[:, 5].min() == 255


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown video format"):
        render_video(_baseline(), AnimationOptions(frames=2), title="t", subtitle="s", format="avi")


def test_cli_animate_writes_an_mp4_along_the_pooling_path(
    runner: CliRunner, tmp_path: Path
) -> None:
    out, png = tmp_path / "a.mp4", tmp_path / "a.png"
    res = runner.invoke(
        app,
        [
            "animate",
            str(SCENARIO_DIR / "unbalanced.yaml"),
            "-o",
            str(out),
            "--png",
            str(png),
            "--frames",
            "30",
            "--path",
            "pooling",
        ],
    )
    assert res.exit_code == 0, res.stderr
    assert f"wrote {out}" in res.stderr and "30 frames" in res.stderr
    frames, meta = _read(out.read_bytes(), "mp4", tmp_path)
    assert len(frames) == 30 and meta["size"] == (600, 450)
    assert png.read_bytes().startswith(b"\x89PNG")


def test_scenario_path_key_and_the_command_line(runner: CliRunner, tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\nn_cluster: 12\nanimation:\n  frames: 6\n  path: pooling\n")
    a, b, c = (tmp_path / f"{k}.gif" for k in "abc")
    assert runner.invoke(app, ["animate", str(scenario), "-o", str(a), "-q"]).exit_code == 0
    assert (
        runner.invoke(
            app, ["animate", str(scenario), "-o", str(b), "-q", "--path", "pooling"]
        ).exit_code
        == 0
    )
    assert (
        runner.invoke(
            app, ["animate", str(scenario), "-o", str(c), "-q", "--path", "straight"]
        ).exit_code
        == 0
    )
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "x.avi"], "-o/--output: x.avi: the animation is a GIF (*.gif) or a video"),
        (["--path", "curved"], "--path: 'curved' is not one of"),
    ],
)
def test_cli_animate_errors(runner: CliRunner, args: list[str], message: str) -> None:
    res = runner.invoke(app, ["animate", str(SCENARIO_DIR / "baseline.yaml"), *args])
    assert res.exit_code == 2 and message in res.stderr
    assert "Traceback" not in res.stderr


def test_bad_path_in_a_scenario(runner: CliRunner, tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("animation:\n  path: curved\n")
    res = runner.invoke(app, ["animate", str(scenario)])
    assert res.exit_code == 2
    assert "animation.path: must be 'straight', 'pooling' or 'pooling-complete'" in res.stderr

"""The shrinkage animation: timing (hold, eased motion, long hold), one palette for all frames,
frames rendered by blitting (over several processes), and a GIF that stores only what changed.
The final PNG comes from the same laid-out figure as the GIF's frames (`render_animation`).

The GIF container is written here (a few fixed blocks); Pillow's GIF encoder compresses each
frame. Pillow's own multi-frame writer merges identical consecutive frames, and the hold frames
are identical, so it would not keep the requested frame count.

Video (`render_video`: MP4 with H.264, WebM with VP9) goes through imageio's ffmpeg writer with
the ffmpeg that imageio-ffmpeg ships: full colour, every frame kept, smaller than the GIF. The
encoder runs on one thread, so the same input gives the same bytes.
"""

from __future__ import annotations

import multiprocessing
import os
import struct
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from .. import parallel

if TYPE_CHECKING:
    from PIL import Image

    from ..lmm import Fit
    from ..scenario import AnimationOptions
    from .figure import ShrinkageFigure
    from .scene import Scene

#: Fractions of the animation: hold on the by-cluster estimates, then the motion; the rest is
#: the long hold on the mixed-model estimates.
HOLD_START = 0.2
MOTION_END = 0.6
#: Palette index left free for "unchanged since the previous frame".
TRANSPARENT = 255
#: Progress values whose frames make up the sample the palette is computed from.
PALETTE_SAMPLE = (0.0, 0.25, 0.5, 0.75, 1.0)
#: On to complete pooling (`pooling-complete`): hold, to the fit, hold on it, to complete
#: pooling, hold; the fractions of the animation where each motion starts and ends.
LEG_ONE = (0.15, 0.42)
LEG_TWO = (0.58, 0.85)


def ease_cubic_in_out(s: np.ndarray) -> np.ndarray:
    """Slow start, slow end (gganimate's 'cubic-in-out')."""
    s = np.clip(s, 0.0, 1.0)
    return np.where(s < 0.5, 4 * s**3, 1 - (-2 * s + 2) ** 3 / 2)


def frame_progress(frames: int, path: str = "straight") -> np.ndarray:
    """Progress t ∈ [0, 1] of each frame: a hold at 0 (the by-cluster estimates), eased motion,
    a long hold at 1 (the mixed model). The first frame is always 0 and the last always 1. On to
    complete pooling (`path` 'pooling-complete'), the fit is t = 0.5: two eased motions with a
    hold on the fit between them."""
    if frames < 2:
        raise ValueError(f"an animation needs at least 2 frames (got {frames})")
    u = np.arange(frames) / (frames - 1)
    if path == "pooling-complete":
        one = ease_cubic_in_out((u - LEG_ONE[0]) / (LEG_ONE[1] - LEG_ONE[0]))
        two = ease_cubic_in_out((u - LEG_TWO[0]) / (LEG_TWO[1] - LEG_TWO[0]))
        t = np.where(u < 0.5, 0.5 * one, 0.5 + 0.5 * two)
        t[0], t[-1] = 0.0, 1.0
        return t
    t = ease_cubic_in_out((u - HOLD_START) / (MOTION_END - HOLD_START))
    t[0], t[-1] = 0.0, 1.0
    return t


def frame_delays(frames: int, fps: float) -> list[int]:
    """Per-frame delays in GIF units (1/100 s) that add up to frames / fps seconds: GIF delays
    are whole centiseconds, so the rounding is spread over the frames."""
    ends = np.round(np.arange(1, frames + 1) * 100.0 / fps).astype(int)
    delays = np.diff(np.concatenate([[0], ends]))
    return [max(int(d), 1) for d in delays]


# -- palette and encoding ------------------------------------------------------------------------


def palette_image(fig: ShrinkageFigure) -> Image.Image:
    """One palette (255 colors; index 255 stays free) for every frame, from a sample of frames
    across the motion: no per-frame quantization, so no flickering colors."""
    from PIL import Image

    sample = np.concatenate([fig.rgba(t)[:, :, :3] for t in PALETTE_SAMPLE])
    pal = Image.fromarray(sample).quantize(TRANSPARENT, method=Image.Quantize.MAXCOVERAGE)
    return pal


def to_indexed(rgba: np.ndarray, palette: Image.Image) -> np.ndarray:
    """Map a frame to the palette (nearest color, no dithering)."""
    from PIL import Image

    rgb = Image.fromarray(rgba, mode="RGBA").convert("RGB")
    return np.asarray(rgb.quantize(palette=palette, dither=Image.Dither.NONE))


def gif_palette(palette: Image.Image) -> bytes:
    """The 256 RGB triples of the global color table."""
    return bytes(palette.getpalette() or [])[: 3 * 256].ljust(3 * 256, b"\0")


def gif_header(width: int, height: int, colors: bytes) -> bytes:
    """Signature, screen descriptor with a 256-color global table, and loop forever."""
    screen = struct.pack("<HHBBB", width, height, 0xF7, 0, 0)
    loop = b"!\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", 0) + b"\0"
    return b"GIF89a" + screen + colors + loop


def encode_frame(
    index: np.ndarray, previous: np.ndarray | None, delay: int, palette: Image.Image
) -> bytes:
    """One frame: graphic control (delay, keep the previous frame, transparency) and the
    rectangle that changed, with its unchanged pixels transparent so they compress well."""
    from PIL import GifImagePlugin, Image

    if previous is None:
        box, offset = index, (0, 0)
    else:
        changed = index != previous
        rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
        if len(rows) == 0:  # identical: one transparent pixel keeps the frame and its delay
            box, offset = np.full((1, 1), TRANSPARENT, dtype=np.uint8), (0, 0)
        else:
            r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
            box = np.where(changed[r0:r1, c0:c1], index[r0:r1, c0:c1], TRANSPARENT)
            box = box.astype(np.uint8)
            offset = (int(c0), int(r0))
    im = Image.fromarray(np.ascontiguousarray(box), mode="P")
    im.putpalette(palette.getpalette() or [])
    parts = GifImagePlugin.getdata(
        im, offset, duration=delay * 10, disposal=1, transparency=TRANSPARENT
    )
    return b"".join(bytes(p) for p in parts)


# -- frames, in one process or many ---------------------------------------------------------------


def _figure(scene: Scene, options: AnimationOptions, title: str, subtitle: str) -> ShrinkageFigure:
    """The scene laid out and drawn at the animation's size."""
    from .figure import ShrinkageFigure

    return ShrinkageFigure(
        scene, width=options.width, height=options.height, title=title, subtitle=subtitle
    )


class _Renderer:
    """A figure, its palette and the animation's timing: encodes any range of frames."""

    def __init__(self, figure: ShrinkageFigure, options: AnimationOptions) -> None:
        self.figure = figure
        self.palette = palette_image(self.figure)
        self.progress = frame_progress(options.frames, options.path)
        self.delays = frame_delays(options.frames, options.fps)
        self._cache: tuple[float, np.ndarray] | None = None

    def indexed(self, i: int) -> np.ndarray:
        t = float(self.progress[i])
        if self._cache is None or self._cache[0] != t:  # hold frames are drawn once
            self._cache = (t, to_indexed(self.figure.rgba(t), self.palette))
        return self._cache[1]

    def encode(self, start: int, stop: int) -> list[bytes]:
        previous = self.indexed(start - 1) if start > 0 else None
        out = []
        for i in range(start, stop):
            current = self.indexed(i)
            out.append(encode_frame(current, previous, self.delays[i], self.palette))
            previous = current
        return out


#: A cache, not a channel: the renderer of the animation being drawn, by its key (the drawing
#: process and its arguments), in this process. A pool's worker renders its span of frames
#: with it: inherited already drawn through fork, or drawn once as the worker starts (spawn),
#: since a laid-out figure cannot travel as a task's argument. Set only around one pool's life
#: (`render_animation` clears it); it carries no progress and no result.
_WORKER: dict[str, Any] = {}


def _worker_init(key: tuple[int, int], args: tuple[Any, ...] | None) -> None:
    """Use the renderer inherited through fork, or lay out the scene again (spawn)."""
    parallel.die_with_parent()
    if _WORKER.get("key") != key:
        assert args is not None
        _WORKER["key"], _WORKER["renderer"] = key, _Renderer(_figure(*args), args[1])


def _worker_encode(span: tuple[int, int]) -> tuple[bytes, list[bytes]]:
    renderer: _Renderer = _WORKER["renderer"]
    return gif_palette(renderer.palette), renderer.encode(*span)


def _spans(progress: np.ndarray, parts: int) -> list[tuple[int, int]]:
    """Contiguous frame ranges with about equal work (a hold frame costs little)."""
    moving = np.concatenate([[True], progress[1:] != progress[:-1]])
    cost = np.where(moving, 1.0, 0.15).cumsum()
    cuts = [0] + [int(np.searchsorted(cost, cost[-1] * k / parts)) for k in range(1, parts)]
    cuts.append(len(progress))
    cuts = sorted(set(cuts))
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]


@overload
def render_animation(
    fit: Fit,
    options: AnimationOptions,
    *,
    title: str,
    subtitle: str,
    jobs: int | None = None,
    png: Literal[True] = True,
) -> tuple[bytes, bytes]: ...


@overload
def render_animation(
    fit: Fit,
    options: AnimationOptions,
    *,
    title: str,
    subtitle: str,
    jobs: int | None = None,
    png: bool,
) -> tuple[bytes, bytes | None]: ...


def render_animation(
    fit: Fit,
    options: AnimationOptions,
    *,
    title: str,
    subtitle: str,
    jobs: int | None = None,
    png: bool = True,
) -> tuple[bytes, bytes | None]:
    """The animation as GIF bytes and, with `png`, the final state with the full paths as PNG
    bytes; both come from one laid-out figure.

    `options.frames` frames at `options.fps`, looping forever. `jobs` worker processes render
    the frames (None: one per core; 1: in this process). The bytes are the same for any `jobs`.
    """
    from .scene import build_scene

    frames = options.frames
    progress = frame_progress(frames, options.path)
    workers = jobs if jobs is not None else parallel.cores()
    if workers < 1:
        raise ValueError(f"jobs must be at least 1 (got {jobs})")
    if multiprocessing.current_process().daemon:  # a pool's worker may not start its own
        workers = 1
    spans = _spans(progress, min(workers, frames))
    args = (build_scene(fit, options), options, title, subtitle)
    figure: ShrinkageFigure | None = None
    if len(spans) == 1:
        renderer = _Renderer(_figure(*args), options)
        figure = renderer.figure
        results = [(gif_palette(renderer.palette), renderer.encode(0, frames))]
    else:
        ctx = parallel.mp_context()
        key = (os.getpid(), id(args))
        init_args: tuple[Any, ...] | None = args
        if ctx.get_start_method() == "fork":  # draw once here; the workers inherit it
            renderer = _Renderer(_figure(*args), options)
            figure = renderer.figure
            _WORKER["key"], _WORKER["renderer"] = key, renderer
            init_args = None
        try:
            with ctx.Pool(len(spans), _worker_init, (key, init_args)) as pool:
                results = pool.map(_worker_encode, spans, chunksize=1)
        finally:
            _WORKER.clear()
    header = gif_header(options.width, options.height, results[0][0])
    gif = header + b"".join(b"".join(frames) for _, frames in results) + b";"
    if not png:
        return gif, None
    if figure is None:  # spawned workers laid out their own copies
        figure = _figure(*args)
    return gif, figure.png()


#: Video formats by file suffix: the codec and its settings (constant quality, one thread).
VIDEO_CODECS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mp4": (
        "libx264",
        (
            "-crf",
            "18",
            "-preset",
            "veryfast",
            "-tune",
            "animation",
            "-movflags",
            "+faststart",
            "-threads",
            "1",
        ),
    ),
    "webm": (
        "libvpx-vp9",
        (
            "-crf",
            "33",
            "-b:v",
            "0",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-row-mt",
            "0",
            "-threads",
            "1",
        ),
    ),
}
VIDEO_FORMATS = tuple(VIDEO_CODECS)


def even_frame(rgb: np.ndarray) -> np.ndarray:
    """The frame padded with white to an even width and height (4:2:0 video needs both)."""
    h, w = rgb.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return rgb
    return np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), constant_values=255)


def render_video(
    fit: Fit,
    options: AnimationOptions,
    *,
    title: str,
    subtitle: str,
    format: str = "mp4",
    png: bool = False,
) -> tuple[bytes, bytes | None]:
    """The animation as video bytes (`format` 'mp4' or 'webm', at `options.fps`, every frame of
    `options.frames`) and, with `png`, the final picture; frames drawn in this process."""
    import tempfile
    from pathlib import Path

    import imageio.v2 as imageio

    from .scene import build_scene

    if format not in VIDEO_CODECS:
        raise ValueError(f"unknown video format {format!r}: use {', '.join(VIDEO_FORMATS)}")
    codec, params = VIDEO_CODECS[format]
    figure = _figure(build_scene(fit, options), options, title, subtitle)
    progress = frame_progress(options.frames, options.path)
    with tempfile.TemporaryDirectory(prefix="shrink-video-") as tmp:
        path = Path(tmp) / f"animation.{format}"
        writer = imageio.get_writer(
            str(path),
            format="FFMPEG",
            mode="I",
            fps=options.fps,
            codec=codec,
            pixelformat="yuv420p",
            macro_block_size=1,
            ffmpeg_log_level="error",
            output_params=["-fflags", "+bitexact", "-map_metadata", "-1", *params],
        )
        try:
            last: tuple[float, np.ndarray] | None = None
            for t in progress:
                if last is None or last[0] != t:  # hold frames are drawn once
                    last = (float(t), even_frame(figure.rgba(float(t))[:, :, :3]))
                writer.append_data(last[1])
        finally:
            writer.close()
        video = path.read_bytes()
    return video, figure.png() if png else None


def render_gif(
    fit: Fit,
    options: AnimationOptions,
    *,
    title: str,
    subtitle: str,
    jobs: int | None = None,
) -> bytes:
    """The animation alone as GIF bytes (see `render_animation`)."""
    gif, _ = render_animation(fit, options, title=title, subtitle=subtitle, jobs=jobs, png=False)
    return gif

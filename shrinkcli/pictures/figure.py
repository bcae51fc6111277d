"""The picture of one moment of the shrinkage: intercept (x) against slope (y), each cluster's
by-cluster OLS estimate sliding toward its mixed-model coefficients, pulled to the population
average (the "black hole").

This module draws a `Scene` (scene.py: the geometry) with the theme (theme.py: palette, fonts).
Rendering uses a `matplotlib.figure.Figure` with its own Agg canvas (no pyplot, no global
state). `ShrinkageFigure` lays out and draws the static parts once, in named steps, and redraws
only the moving artists for each moment `t` in [0, 1] (blitting), returning RGBA arrays; its
`png()` is the final state with the full paths.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .scene import Scene, build_scene
from .theme import (
    BY_CLUSTER,
    ELLIPSE,
    HOLE,
    MIXED,
    MUTED,
    PATH,
    TEXT,
    TRUTH,
    encode_png,
    font,
    load_matplotlib,
    mix,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..lmm import Fit
    from ..scenario import AnimationOptions

#: Pixels per inch of a 600×450 picture; larger pictures scale it.
BASE_DPI = 100.0
BASE_SIZE = (600.0, 450.0)
#: Path codes (matplotlib.path.Path's), for the arrowheads' compound path.
MOVETO, LINETO, CLOSEPOLY = 1, 2, 79
#: Line styles of the contours at scene.ELLIPSE_LEVELS (50%, 90%).
ELLIPSE_STYLES = ("-", "--")
PHASE_LABELS = {
    "start": "by-cluster estimates",
    "moving": "pooling toward the average",
    "end": "mixed-model estimates",
}
#: The phases of the pooling path where they differ: no pooling, the fit halfway (on the way to
#: complete pooling), complete pooling at the end.
PATH_LABELS = {
    "start": "no pooling",
    "middle": "mixed-model estimates",
    "complete": "complete pooling",
}


def _plural(k: int, word: str) -> str:
    return f"{k} {word}" + ("" if k == 1 else "s")


def captions(scene: Scene) -> list[str]:
    """What the picture leaves out, said under it: clusters outside the view, clusters without
    a by-cluster slope, in a crowded picture what was thinned, and on the pooling path where
    the clusters start."""
    notes = []
    if scene.n_outside:
        notes.append(f"{_plural(scene.n_outside, 'cluster')} outside the view")
    if scene.n_left_out:
        notes.append(f"{_plural(scene.n_left_out, 'cluster')} without a by-cluster slope not shown")
    if scene.crowded:
        notes.append(
            f"{scene.n_paths:,} of {len(scene.ols):,} paths drawn, points shrunk and faded"
        )
    track = scene.track
    if track is not None and not track.path.reaches_own_lines:
        why = (
            "the slope is not random"
            if not track.path.spec.has_random_slope
            else "the fit is singular"
        )
        notes.append(
            f"{why}: the path starts at the model's no-pooling limit, not at each "
            "cluster's own line"
        )
    elif scene.n_from_limit:
        k = scene.n_from_limit
        whose, verb, them = ("its", "starts", "it") if k == 1 else ("their", "start", "them")
        notes.append(
            f"{_plural(k, 'cluster')} without a line of {whose} own {verb} where no "
            f"pooling puts {them}"
        )
    return notes


def scale_label(s: float) -> str:
    """The scale of the random effects as the picture says it: 'random-effect SDs × 2.51'."""
    if s >= 100:
        number = f"{s:,.0f}"
    elif s >= 1e-4:
        number = f"{s:.3g}" if s >= 0.01 else f"{s:.2g}"
    else:
        number = f"{s:.1e}".replace("e-0", "e−").replace("e-", "e−")
    return f"random-effect SDs × {number}"


class ShrinkageFigure:
    """The figure of one scene, laid out and drawn once; `rgba(t)` redraws only what moves.

    t = 0 shows the by-cluster estimates, t = 1 the mixed-model coefficients; in between each
    point sits on the straight path between the two, leaving a faint trail with an arrowhead and
    a ring where it started. The GIF's frames and the PNG come from the same figure.
    """

    def __init__(self, scene: Scene, *, width: int, height: int, title: str, subtitle: str) -> None:
        load_matplotlib()
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.scene = scene
        self.width, self.height = width, height
        # Scale the layout with the picture so a larger GIF is the same picture, sharper.
        self.dpi = BASE_DPI * min(self.width / BASE_SIZE[0], self.height / BASE_SIZE[1])
        self.scale = self.dpi / 72.0  # pixels per point
        fig = Figure(figsize=(self.width / self.dpi, self.height / self.dpi), dpi=self.dpi)
        fig.patch.set_facecolor("white")
        self.figure = fig
        self.canvas = FigureCanvasAgg(fig)
        self.regular, self.bold = font(), font(bold=True)
        # One pixel of the 600×450 layout, in figure fractions.
        self.px = (self.dpi / BASE_DPI / self.width, self.dpi / BASE_DPI / self.height)
        self.notes = captions(scene)

        # The drawing order is the stacking order of equal layers: keep it.
        self.ax = self._draw_axes()
        self._draw_titles(title, subtitle)
        self._draw_caption()
        self._draw_ellipses()
        self._draw_truth()
        self._add_trails()
        self._add_points()
        self._draw_phase_track()
        self._add_phase_marker()
        self._draw_legend()
        self._draw_size_legend()
        self._draw_static()

    @classmethod
    def from_fit(
        cls, fit: Fit, options: AnimationOptions, *, title: str, subtitle: str
    ) -> ShrinkageFigure:
        """The figure of a fit drawn with the animation options (size, view, overlays)."""
        return cls(
            build_scene(fit, options),
            width=options.width,
            height=options.height,
            title=title,
            subtitle=subtitle,
        )

    # -- layout and static drawing ---------------------------------------------------------------

    def _draw_axes(self) -> Axes:
        """The plotting area, in figure fractions of a 600×450 picture: the view, light spines
        and grid, ticks and axis labels."""
        s, (px_x, px_y) = self.scene, self.px
        left, right = 58 * px_x, 1 - 152 * px_x
        bottom, top = 56 * px_y, 1 - 66 * px_y
        ax = self.figure.add_axes((left, bottom, right - left, top - bottom))
        ax.set_xlim(*s.xlim)
        ax.set_ylim(*s.ylim)
        ax.set_facecolor("white")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_color("#9E9E9E")
        ax.tick_params(colors=MUTED, length=3, width=0.6)
        ax.grid(True, color="#EBEBEB", linewidth=0.6)
        ax.set_axisbelow(True)
        self._draw_ticks(ax)
        regular = self.regular
        ax.set_xlabel("Intercept", fontproperties=regular, fontsize=10, color=TEXT, labelpad=3)
        ylabel = ax.set_ylabel(
            f"Slope for {s.x_name}", fontproperties=regular, fontsize=10, color=TEXT, labelpad=3
        )
        self._make_room(ax, ylabel)
        return ax

    def _make_room(self, ax: Axes, ylabel: Any) -> None:
        """Keep the slope's axis label whole: shrink it to the plot's height, and move the
        plot right when long tick labels push the label out of the picture. (A layout that
        fits is left as it is.)"""
        renderer = self.canvas.get_renderer()
        height = ax.get_window_extent(renderer).height
        self._fit_text(ylabel, height, smallest=7.0, along="height")
        left = ax.yaxis.get_tightbbox(renderer)
        if left is not None and left.x0 < 0:  # cut at the picture's left edge
            shift = (self.dpi / BASE_DPI - left.x0) / self.width  # then a pixel clear of it
            box = ax.get_position()
            ax.set_position((box.x0 + shift, box.y0, box.width - shift, box.height))

    def _draw_ticks(self, ax: Axes) -> None:
        """About six round ticks per axis, all inside the view, labelled alike."""
        from matplotlib.ticker import MaxNLocator

        s = self.scene
        for lim, setter in ((s.xlim, ax.set_xticks), (s.ylim, ax.set_yticks)):
            ticks = np.asarray(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(*lim))
            ticks = ticks[(ticks >= lim[0] - 1e-9) & (ticks <= lim[1] + 1e-9)]
            labels = _tick_labels(ticks)
            setter(list(ticks), labels, fontproperties=self.regular, fontsize=8.5, color=MUTED)

    def _draw_titles(self, title: str, subtitle: str) -> None:
        """The title and the subtitle, top left, each shrunk to fit the width."""
        px_x, px_y = self.px
        width = (1 - 24 * px_x) * self.width
        text = self._text(12 * px_x, 1 - 10 * px_y, title, bold=True, size=12.5, va="top")
        self._fit_text(text, width, smallest=9.0)
        if subtitle:
            text = self._text(12 * px_x, 1 - 32 * px_y, subtitle, size=8.5, color=MUTED, va="top")
            self._fit_text(text, width, smallest=7.0)

    def _draw_caption(self) -> None:
        """The notes on what is not shown, bottom left, shrunk to fit the width."""
        if self.notes:
            px_x, px_y = self.px
            text = self._text(
                12 * px_x, 6 * px_y, " · ".join(self.notes), size=8, color=MUTED, va="bottom"
            )
            self._fit_text(text, (1 - 24 * px_x) * self.width, smallest=6.0)

    def _draw_ellipses(self) -> None:
        """The fitted random-effect distribution N(β̂, Σ̂): its 50% and 90% contours; over the
        points, with a white edge, when the picture is crowded."""
        from matplotlib.patheffects import withStroke

        crowded = self.scene.crowded
        self.overlays: list[Any] = []  # drawn over the moving points in every frame
        for e, style in zip(self.scene.ellipses, ELLIPSE_STYLES, strict=False):  # none when off
            line = self.ax.plot(
                e[:, 0],
                e[:, 1],
                color=ELLIPSE,
                linewidth=1.1 if crowded else 0.9,
                linestyle=style,
                alpha=0.9 if crowded else 0.7,
                zorder=3.5 if crowded else 1.5,
            )
            if crowded:
                line[0].set_path_effects([withStroke(linewidth=3.0, foreground="white")])
                self.overlays.append(line[0])

    def _draw_truth(self) -> None:
        """The true coefficients as faint crosses, when known and asked for."""
        truth = self.scene.truth
        if truth is not None:
            self.ax.scatter(
                truth[:, 0],
                truth[:, 1],
                s=16,
                marker="x",
                color=TRUTH,
                linewidths=0.8,
                alpha=0.6,
                zorder=1.8,
            )

    def _add_trails(self) -> None:
        """The moving trails and arrowheads: one path for all the trails and one for all the
        arrowheads (in pixels), so one draw call each."""
        from matplotlib.lines import Line2D
        from matplotlib.patches import PathPatch
        from matplotlib.path import Path as MplPath
        from matplotlib.transforms import IdentityTransform

        self.paths = Line2D([], [], color=PATH, linewidth=0.8, alpha=0.5, zorder=2)
        self.ax.add_artist(self.paths)
        self.heads = PathPatch(
            MplPath(np.zeros((1, 2))),
            facecolor=PATH,
            edgecolor="none",
            alpha=0.9,
            zorder=2.1,
            transform=IdentityTransform(),
        )
        self.ax.add_artist(self.heads)
        self._path_cls = MplPath

    def _add_points(self) -> None:
        """The rings left where the points started, the moving points, and the population
        average (the "black hole")."""
        from matplotlib.lines import Line2D

        s, ax = self.scene, self.ax
        drawn = s.path_mask  # a ring where each drawn path starts
        ring_colors = np.zeros((int(drawn.sum()), 4))
        ring_colors[:, :3] = mix(BY_CLUSTER, MIXED, 0.0)
        ring_colors[:, 3] = 0.25 + 0.6 * s.alpha[drawn]
        self.rings = ax.scatter(
            s.ols[drawn, 0],
            s.ols[drawn, 1],
            s=s.sizes[drawn] * 0.8,
            facecolors="none",
            edgecolors=ring_colors,  # type: ignore[arg-type]
            linewidths=0.8,
            zorder=2.2,
        )
        # A crowded picture's points have no edge: thousands of opaque white edges would paint
        # the view white, over the faded points and everything under them.
        self.points = ax.scatter(
            s.ols[:, 0],
            s.ols[:, 1],
            s=s.sizes,
            linewidths=0.0 if s.crowded else 0.5,
            edgecolors="none" if s.crowded else "white",
            zorder=3,
        )
        # The average: one round marker of 190 pt² (a line's marker draws the same pixels as a
        # one-point scatter, without the collection's extent check of the circle on every frame).
        self.hole = Line2D(
            [s.center[0]],
            [s.center[1]],
            marker="o",
            linestyle="none",
            markersize=math.sqrt(190),
            color=HOLE,
            alpha=0.62,
            markeredgewidth=0,
            zorder=4,
        )
        ax.add_line(self.hole)

    def _draw_phase_track(self) -> None:
        """Above the legend, "by-cluster" and "mixed" over a track for the phase marker."""
        from matplotlib.lines import Line2D

        px_x, px_y = self.px
        col0, col1 = 1 - 146 * px_x, 1 - 8 * px_x
        y_words, y_track = 1 - 68 * px_y, 1 - 84 * px_y
        self._text(col0, y_words, "by-cluster", bold=True, size=8.5, color=BY_CLUSTER)
        if self.scene.path == "pooling-complete":  # the fit halfway, complete pooling at the end
            self._text(col1, y_words, "pooled", bold=True, size=8.5, color=HOLE, ha="right")
        else:
            self._text(col1, y_words, "mixed", bold=True, size=8.5, color=MIXED, ha="right")
        x0, x1 = col0 + 6 * px_x, col1 - 6 * px_x
        self.figure.add_artist(
            Line2D(
                [x0, x1],
                [y_track, y_track],
                transform=self.figure.transFigure,
                color="#D0D0D0",
                linewidth=2.4,
                solid_capstyle="round",
            )
        )
        if self.scene.path == "pooling-complete":
            mid = (x0 + x1) / 2
            self.figure.add_artist(
                Line2D(
                    [mid, mid],
                    [y_track - 5 * px_y, y_track + 5 * px_y],
                    transform=self.figure.transFigure,
                    color=MIXED,
                    linewidth=1.2,
                )
            )
        self.phase_column = (col0, col1)
        self.phase_track = (x0, x1, y_track)

    def _add_phase_marker(self) -> None:
        """The dot on the track at t, and the phase's name under it."""
        from matplotlib.lines import Line2D

        x0, _, y_track = self.phase_track
        self.phase = Line2D(
            [x0],
            [y_track],
            transform=self.figure.transFigure,
            marker="o",
            markersize=8,
            color=BY_CLUSTER,
            markeredgecolor="white",
            markeredgewidth=0.8,
            linestyle="none",
        )
        self.figure.add_artist(self.phase)
        col0, col1 = self.phase_column
        self.phase_text = self._text(
            (col0 + col1) / 2, 1 - 100 * self.px[1], "", size=7.5, color=MUTED, ha="center"
        )
        # on the pooling path, the scale of the random effects under the phase's name
        self.scale_text = self._text(
            (col0 + col1) / 2, 1 - 113 * self.px[1], "", size=7, color=MUTED, ha="center"
        )
        self.scale_text.set_visible(self.scene.track is not None)

    def _draw_legend(self) -> None:
        """What the marks mean, in the right column."""
        from matplotlib.legend_handler import HandlerTuple

        px_x, px_y = self.px
        handles, labels = self._legend_entries()
        leg = self.figure.legend(
            handles,
            labels,
            loc="upper left",
            handler_map={tuple: HandlerTuple(ndivide=1)},
            bbox_to_anchor=(1 - 146 * px_x, 1 - (118 if self.scene.track is None else 130) * px_y),
            frameon=False,
            prop=self.regular,
            fontsize=8.5,
            handlelength=1.6,
            handletextpad=0.5,
            labelspacing=0.7,
            borderaxespad=0,
            borderpad=0,
            labelcolor=TEXT,
        )
        for text in leg.get_texts():
            text.set_fontproperties(self.regular)
            text.set_fontsize(8.5)

    def _legend_entries(self) -> tuple[list[Any], list[str]]:
        """The legend's handles and labels: the points, the average, and the overlays shown."""
        from matplotlib.lines import Line2D

        s = self.scene
        ring = Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markersize=9,
            markerfacecolor="none",
            markeredgecolor=BY_CLUSTER,
            markeredgewidth=0.8,
        )
        handles: list[Any] = [
            (ring, _dot(BY_CLUSTER, 6.5)),
            _dot(MIXED, 6.5),
            _dot(HOLE, 11.5, alpha=0.62, edge="none"),
        ]
        labels = ["by-cluster (OLS)", "mixed model", "population\naverage"]
        if s.ellipses:
            handles += [
                Line2D([], [], color=ELLIPSE, linewidth=0.9, alpha=0.7),
                Line2D([], [], color=ELLIPSE, linewidth=0.9, alpha=0.7, linestyle="--"),
            ]
            labels += ["50% of fitted\ndistribution", "90%"]
        if s.truth is not None:
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="x",
                    linestyle="none",
                    markersize=5,
                    color=TRUTH,
                    alpha=0.6,
                    markeredgewidth=0.8,
                )
            )
            labels.append("true value")
        return handles, labels

    def _draw_size_legend(self) -> None:
        """The cluster sizes, bottom right, when they differ."""
        s, (px_x, px_y) = self.scene, self.px
        if not s.size_legend:
            return
        leg = self.figure.legend(
            [_dot("#7F7F7F", math.sqrt(area)) for area in s.legend_areas()],
            [str(k) for k in s.size_legend],
            loc="lower left",
            bbox_to_anchor=(1 - 146 * px_x, 56 * px_y),
            frameon=False,
            prop=self.regular,
            fontsize=8.5,
            title="cluster size (n)",
            title_fontproperties=self.regular,
            handletextpad=0.5,
            labelspacing=0.6,
            borderaxespad=0,
            borderpad=0,
            alignment="left",
        )
        leg.get_title().set_fontsize(8.5)
        leg.get_title().set_color(TEXT)
        for text in leg.get_texts():
            text.set_fontproperties(self.regular)
            text.set_fontsize(8.5)
            text.set_color(TEXT)

    def _draw_static(self) -> None:
        """Draw everything that does not move once, and keep it as the base of every frame.
        What changes with every frame is animated; the rings and the phase label change only
        with the phase, so they go into one background per phase."""
        # Animated artists are drawn after the static base, in this order, whatever their
        # zorder: a crowded picture's ellipses go after the points so that the crowd cannot
        # cover them.
        self.animated = [self.paths, self.heads, self.points, *self.overlays, self.hole, self.phase]
        if self.scene.track is not None:
            self.animated.append(self.scale_text)
        for a in (*self.animated, self.rings, self.phase_text, self.scale_text):
            a.set_animated(True)
        self.canvas.draw()
        self._base = self.canvas.copy_from_bbox(self.figure.bbox)
        self._backgrounds: dict[str, Any] = {}
        self._data_to_px = self.ax.transData

    def _text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float,
        bold: bool = False,
        color: str = TEXT,
        ha: str = "left",
        va: str = "center",
    ) -> Any:
        """A line of text at figure fractions (x, y) in the picture's font."""
        return self.figure.text(
            x,
            y,
            text,
            fontproperties=self.bold if bold else self.regular,
            fontsize=size,
            color=color,
            ha=ha,
            va=va,
        )

    def _fit_text(self, text: Any, room: float, *, smallest: float, along: str = "width") -> None:
        """Shrink a line of text to `room` pixels along its `along` ("width", or "height" for
        a rotated axis label), down to `smallest` points, then shorten it with an ellipsis."""
        renderer = self.canvas.get_renderer()

        def extent() -> float:
            return float(getattr(text.get_window_extent(renderer), along))

        size = float(text.get_fontsize())
        while extent() > room and size > smallest:
            size = max(size - 0.5, smallest)
            text.set_fontsize(size)
        full = text.get_text()
        keep = len(full)
        while extent() > room and keep > 1:
            keep -= 1
            text.set_text(full[:keep].rstrip() + "…")

    # -- geometry ------------------------------------------------------------------------------

    def plot_box(self) -> tuple[float, float, float, float]:
        """The plotting area in image pixels: (left col, top row, right col, bottom row)."""
        b = self.ax.bbox
        return (float(b.x0), float(self.height - b.y1), float(b.x1), float(self.height - b.y0))

    def pixels(self, points: np.ndarray) -> np.ndarray:
        """(col, row) image coordinates of data points (row 0 at the top; pixel centers at .5)."""
        d = self._data_to_px.transform(np.asarray(points, dtype=float).reshape(-1, 2))
        return np.stack([d[:, 0], self.height - d[:, 1]], axis=1)

    # -- drawing -------------------------------------------------------------------------------

    def _update(self, t: float) -> None:
        """Move the points, trails, arrowheads and phase marker to progress t."""
        s = self.scene
        t = float(min(max(t, 0.0), 1.0))
        pos = s.positions(t)
        trail = s.trails(t)
        self.paths.set_data(trail[:, 0], trail[:, 1])
        self.paths.set_visible(t > 0)
        self.points.set_offsets(pos)
        colors = np.empty((len(pos), 4))
        colors[:, :3] = mix(BY_CLUSTER, MIXED, s.color_progress(t))
        colors[:, 3] = s.alpha
        self.points.set_facecolor(colors)  # type: ignore[arg-type]
        heads = self._arrowheads(pos, t)
        self.heads.set_visible(len(heads) > 0)
        if len(heads):
            codes = np.tile([MOVETO, LINETO, LINETO, CLOSEPOLY], len(heads)).astype(np.uint8)
            verts = np.concatenate([heads, heads[:, :1]], axis=1).reshape(-1, 2)
            self.heads.set_path(self._path_cls(verts, codes))
        x0, x1, y = self.phase_track
        self.phase.set_data([x0 + t * (x1 - x0)], [y])
        self.phase.set_color(tuple(mix(BY_CLUSTER, MIXED, s.color_progress(t))))
        self.phase.set_markeredgecolor("white")
        scale = s.scale(t)
        if scale is not None:
            self.scale_text.set_text(scale_label(scale))

    def _background(self, t: float) -> Any:
        """The static picture for the phase of t: with the rings where the points started once
        they move, and the phase's label; drawn once per phase."""
        phase = "start" if t <= 0 else "end" if t >= 1 else "moving"
        label = PHASE_LABELS[phase]
        if self.scene.track is not None:
            if self.scene.track.complete:
                phase = "middle" if t == 0.5 else "complete" if phase == "end" else phase
            label = PATH_LABELS.get(phase, label)
        if phase not in self._backgrounds:
            self.canvas.restore_region(self._base)
            if phase != "start":
                self.figure.draw_artist(self.rings)
            self.phase_text.set_text(label)
            self.figure.draw_artist(self.phase_text)
            self._backgrounds[phase] = self.canvas.copy_from_bbox(self.figure.bbox)
        return self._backgrounds[phase]

    def _arrowheads(self, pos: np.ndarray, t: float) -> np.ndarray:
        """Small triangles just behind each moving point, pointing along its path: (k, 3, 2)
        pixels."""
        if t <= 0 or len(pos) == 0:
            return np.zeros((0, 3, 2))
        drawn = self.scene.path_mask
        disp = self._data_to_px.transform
        start, end = disp(self.scene.ols[drawn]), disp(pos[drawn])
        v = end - start
        length = np.hypot(v[:, 0], v[:, 1])
        radius = np.sqrt(self.scene.sizes[drawn] / math.pi) * self.scale  # marker radius, px
        head_len, head_w = 5.0 * self.scale / 1.39, 2.4 * self.scale / 1.39
        ok = length > radius + head_len + 2.0
        if self.scene.track is not None:  # on a curve: along its last stretch
            v = end - disp(self.scene.tails(t))
            length = np.hypot(v[:, 0], v[:, 1])
            ok &= length > 0
        u = np.zeros_like(v)
        u[ok] = v[ok] / length[ok, None]
        nrm = np.stack([-u[:, 1], u[:, 0]], axis=1)
        tip = end - u * (radius[:, None] + 0.8)
        base = tip - u * head_len
        tri = np.stack([tip, base + nrm * head_w, base - nrm * head_w], axis=1)
        return tri[ok]

    def rgba(self, t: float) -> np.ndarray:
        """The picture at progress t as an (height, width, 4) uint8 array (a copy)."""
        t = float(min(max(t, 0.0), 1.0))
        self.canvas.restore_region(self._background(t))
        self._update(t)
        for a in self.animated:
            if a.get_visible():
                self.figure.draw_artist(a)
        return np.array(self.canvas.buffer_rgba(), copy=True)

    def png(self) -> bytes:
        """The final state with the full paths, as PNG bytes of the picture's size."""
        return encode_png(self.rgba(1.0)[:, :, :3])  # opaque: RGB is enough


def _dot(color: str, size: float, alpha: float = 1.0, edge: str = "white") -> Any:
    """A round marker for a legend."""
    from matplotlib.lines import Line2D

    return Line2D(
        [],
        [],
        marker="o",
        linestyle="none",
        markersize=size,
        color=color,
        alpha=alpha,
        markeredgecolor=edge,
        markeredgewidth=0.5,
    )


def _tick_labels(ticks: np.ndarray) -> list[str]:
    """Tick labels with the same number of decimals, and a real minus sign."""
    for decimals in range(0, 4):
        if np.allclose(np.round(ticks, decimals), ticks, atol=1e-9):
            break
    labels = [f"{v:.{decimals}f}" for v in ticks]
    return [("0" if float(t) == 0 else t).replace("-", "\u2212") for t in labels]


def pixel_positions(fit: Fit, options: AnimationOptions, t: float) -> np.ndarray:
    """Pixel (col, row) of each cluster's point at progress t, one row per row of
    `fit.clusters`; NaN for clusters left out of the motion."""
    fig = ShrinkageFigure.from_fit(fit, options, title="", subtitle="")
    out = np.full((fig.scene.n_clusters, 2), np.nan)
    out[fig.scene.rows] = fig.pixels(fig.scene.positions(t))
    return out


def render_png(fit: Fit, options: AnimationOptions, *, title: str, subtitle: str) -> bytes:
    """The final state with the full paths, as PNG bytes of the GIF's size."""
    return ShrinkageFigure.from_fit(fit, options, title=title, subtitle=subtitle).png()

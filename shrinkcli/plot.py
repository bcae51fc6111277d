"""The picture of one moment of the shrinkage: intercept (x) against slope (y), each cluster's
by-cluster OLS estimate sliding toward its mixed-model coefficients, pulled to the population
average (the "black hole").

Rendering uses a `matplotlib.figure.Figure` with its own Agg canvas (no pyplot, no global
state). `ShrinkageFigure` draws the static parts once and redraws only the moving artists for
each moment `t` in [0, 1] (blitting), returning RGBA arrays; `render_png` is the final state with
the full paths.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .scene import build_scene
from .theme import BY_CLUSTER, ELLIPSE, HOLE, MIXED, MUTED, PATH, TEXT, TRUTH, encode_png, font, mix

if TYPE_CHECKING:
    from matplotlib.font_manager import FontProperties

    from .fit import Fit
    from .scenario import AnimationOptions

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


def _plural(k: int, word: str) -> str:
    return f"{k} {word}" + ("" if k == 1 else "s")


class ShrinkageFigure:
    """The figure of one fit, drawn once; `rgba(t)` redraws only what moves.

    t = 0 shows the by-cluster estimates, t = 1 the mixed-model coefficients; in between each
    point sits on the straight path between the two, leaving a faint trail with an arrowhead and
    a ring where it started.
    """

    def __init__(self, fit: Fit, options: AnimationOptions, *, title: str, subtitle: str) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.patches import PathPatch
        from matplotlib.path import Path as MplPath
        from matplotlib.transforms import IdentityTransform

        self.scene = s = build_scene(fit, options)
        self.width, self.height = options.width, options.height
        # Scale the layout with the picture so a larger GIF is the same picture, sharper.
        self.dpi = BASE_DPI * min(self.width / BASE_SIZE[0], self.height / BASE_SIZE[1])
        self.scale = self.dpi / 72.0  # pixels per point
        fig = Figure(figsize=(self.width / self.dpi, self.height / self.dpi), dpi=self.dpi)
        fig.patch.set_facecolor("white")
        self.figure = fig
        self.canvas = FigureCanvasAgg(fig)
        regular, bold = font(), font(bold=True)

        # Layout, in figure fractions of a 600×450 picture.
        W, H = self.width, self.height
        px_x, px_y = self.dpi / BASE_DPI / W, self.dpi / BASE_DPI / H  # one base pixel
        left, right = 58 * px_x, 1 - 152 * px_x
        bottom, top = 56 * px_y, 1 - 66 * px_y
        ax = fig.add_axes((left, bottom, right - left, top - bottom))
        self.ax = ax
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
        from matplotlib.ticker import MaxNLocator

        for lim, setter in ((s.xlim, ax.set_xticks), (s.ylim, ax.set_yticks)):
            ticks = np.asarray(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(*lim))
            ticks = ticks[(ticks >= lim[0] - 1e-9) & (ticks <= lim[1] + 1e-9)]
            labels = _tick_labels(ticks)
            setter(list(ticks), labels, fontproperties=regular, fontsize=8.5, color=MUTED)
        ax.set_xlabel("Intercept", fontproperties=regular, fontsize=10, color=TEXT, labelpad=3)
        ax.set_ylabel(
            f"Slope for {s.x_name}", fontproperties=regular, fontsize=10, color=TEXT, labelpad=3
        )

        # Titles and captions.
        title_text = fig.text(
            12 * px_x,
            1 - 10 * px_y,
            title,
            fontproperties=bold,
            fontsize=12.5,
            color=TEXT,
            va="top",
            ha="left",
        )
        self._fit_width(title_text, (1 - 24 * px_x) * self.width, smallest=9.0)
        if subtitle:
            subtitle_text = fig.text(
                12 * px_x,
                1 - 32 * px_y,
                subtitle,
                fontproperties=regular,
                fontsize=8.5,
                color=MUTED,
                va="top",
                ha="left",
            )
            self._fit_width(subtitle_text, (1 - 24 * px_x) * self.width, smallest=7.0)
        self.notes: list[str] = []
        if s.n_outside:
            self.notes.append(f"{_plural(s.n_outside, 'cluster')} outside the view")
        if s.n_left_out:
            self.notes.append(
                f"{_plural(s.n_left_out, 'cluster')} without a by-cluster slope not shown"
            )
        notes = self.notes
        if notes:
            fig.text(
                12 * px_x,
                6 * px_y,
                " · ".join(notes),
                fontproperties=regular,
                fontsize=8,
                color=MUTED,
                va="bottom",
                ha="left",
                style="normal",
            )

        # The fitted random-effect distribution N(β̂, Σ̂): its 50% and 90% contours.
        for e, style in zip(s.ellipses, ELLIPSE_STYLES, strict=False):  # none when off
            ax.plot(
                e[:, 0],
                e[:, 1],
                color=ELLIPSE,
                linewidth=0.9,
                linestyle=style,
                alpha=0.7,
                zorder=1.5,
            )
        if s.truth is not None:
            ax.scatter(
                s.truth[:, 0],
                s.truth[:, 1],
                s=16,
                marker="x",
                color=TRUTH,
                linewidths=0.8,
                alpha=0.6,
                zorder=1.8,
            )

        # The moving artists, drawn per frame.
        m = len(s.ols)
        # One path for all the trails and one for all the arrowheads: one draw call each.
        self.paths = Line2D([], [], color=PATH, linewidth=0.8, alpha=0.5, zorder=2)
        ax.add_artist(self.paths)
        self.heads = PathPatch(
            MplPath(np.zeros((1, 2))),
            facecolor=PATH,
            edgecolor="none",
            alpha=0.9,
            zorder=2.1,
            transform=IdentityTransform(),
        )
        ax.add_artist(self.heads)
        self._path_cls = MplPath
        ring_colors = np.zeros((m, 4))
        ring_colors[:, :3] = mix(BY_CLUSTER, MIXED, 0.0)
        ring_colors[:, 3] = 0.25 + 0.6 * s.alpha
        self.rings = ax.scatter(
            s.ols[:, 0],
            s.ols[:, 1],
            s=s.sizes * 0.8,
            facecolors="none",
            edgecolors=ring_colors,  # type: ignore[arg-type]
            linewidths=0.8,
            zorder=2.2,
        )
        self.points = ax.scatter(
            s.ols[:, 0], s.ols[:, 1], s=s.sizes, linewidths=0.5, edgecolors="white", zorder=3
        )
        self.hole = ax.scatter(
            [s.center[0]],
            [s.center[1]],
            s=190,
            color=HOLE,
            alpha=0.62,
            linewidths=0,
            zorder=4,
        )

        # The phase, above the legend: "by-cluster" and "mixed" over a track with a dot at t.
        col0, col1 = 1 - 146 * px_x, 1 - 8 * px_x
        y_words, y_track, y_label = 1 - 68 * px_y, 1 - 84 * px_y, 1 - 100 * px_y
        fig.text(
            col0,
            y_words,
            "by-cluster",
            fontproperties=bold,
            fontsize=8.5,
            color=BY_CLUSTER,
            ha="left",
            va="center",
        )
        fig.text(
            col1,
            y_words,
            "mixed",
            fontproperties=bold,
            fontsize=8.5,
            color=MIXED,
            ha="right",
            va="center",
        )
        x0, x1 = col0 + 6 * px_x, col1 - 6 * px_x
        fig.add_artist(
            Line2D(
                [x0, x1],
                [y_track, y_track],
                transform=fig.transFigure,
                color="#D0D0D0",
                linewidth=2.4,
                solid_capstyle="round",
            )
        )
        self.phase_track = (x0, x1, y_track)
        self.phase = Line2D(
            [x0],
            [y_track],
            transform=fig.transFigure,
            marker="o",
            markersize=8,
            color=BY_CLUSTER,
            markeredgecolor="white",
            markeredgewidth=0.8,
            linestyle="none",
        )
        fig.add_artist(self.phase)
        self.phase_text = fig.text(
            (col0 + col1) / 2,
            y_label,
            "",
            fontproperties=regular,
            fontsize=7.5,
            color=MUTED,
            ha="center",
            va="center",
        )

        self._legend(options, regular, px_x, px_y)

        # What changes with every frame; the rings and the phase label change only with the
        # phase, so they go into one background per phase.
        self.animated = [self.paths, self.heads, self.points, self.hole, self.phase]
        for a in (*self.animated, self.rings, self.phase_text):
            a.set_animated(True)
        self.canvas.draw()
        self._base = self.canvas.copy_from_bbox(fig.bbox)
        self._backgrounds: dict[str, Any] = {}
        self._data_to_px = ax.transData

    def _fit_width(self, text: Any, width: float, *, smallest: float) -> None:
        """Shrink a line of text to `width` pixels, down to `smallest` points, then shorten it
        with an ellipsis."""
        renderer = self.canvas.get_renderer()
        size = float(text.get_fontsize())
        while text.get_window_extent(renderer).width > width and size > smallest:
            size = max(size - 0.5, smallest)
            text.set_fontsize(size)
        full = text.get_text()
        keep = len(full)
        while text.get_window_extent(renderer).width > width and keep > 1:
            keep -= 1
            text.set_text(full[:keep].rstrip() + "…")

    def _legend(
        self, options: AnimationOptions, regular: FontProperties, px_x: float, px_y: float
    ) -> None:
        """What the marks mean (right column), and the cluster sizes when they differ."""
        fig, s = self.figure, self.scene
        from matplotlib.legend_handler import HandlerTuple
        from matplotlib.lines import Line2D

        def dot(color: str, size: float, alpha: float = 1.0, edge: str = "white") -> Line2D:
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
            (ring, dot(BY_CLUSTER, 6.5)),
            dot(MIXED, 6.5),
            dot(HOLE, 11.5, alpha=0.62, edge="none"),
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
        leg = fig.legend(
            handles,
            labels,
            loc="upper left",
            handler_map={tuple: HandlerTuple(ndivide=1)},
            bbox_to_anchor=(1 - 146 * px_x, 1 - 118 * px_y),
            frameon=False,
            prop=regular,
            fontsize=8.5,
            handlelength=1.6,
            handletextpad=0.5,
            labelspacing=0.7,
            borderaxespad=0,
            borderpad=0,
            labelcolor=TEXT,
        )
        for text in leg.get_texts():
            text.set_fontproperties(regular)
            text.set_fontsize(8.5)
        if s.size_legend:
            sizes = [
                dot("#7F7F7F", math.sqrt(area)) for area in s.legend_areas()
            ]
            leg2 = fig.legend(
                sizes,
                [str(k) for k in s.size_legend],
                loc="lower left",
                bbox_to_anchor=(1 - 146 * px_x, 56 * px_y),
                frameon=False,
                prop=regular,
                fontsize=8.5,
                title="cluster size (n)",
                title_fontproperties=regular,
                handletextpad=0.5,
                labelspacing=0.6,
                borderaxespad=0,
                borderpad=0,
                alignment="left",
            )
            leg2.get_title().set_fontsize(8.5)
            leg2.get_title().set_color(TEXT)
            for text in leg2.get_texts():
                text.set_fontproperties(regular)
                text.set_fontsize(8.5)
                text.set_color(TEXT)

    # -- geometry ------------------------------------------------------------------------------

    def positions(self, t: float) -> np.ndarray:
        """Data coordinates of the moving points at progress t."""
        s = self.scene
        return s.ols + float(t) * (s.mixed - s.ols)

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
        s = self.scene
        t = float(min(max(t, 0.0), 1.0))
        pos = self.positions(t)
        trail = np.stack([s.ols, pos, np.full_like(pos, np.nan)], axis=1).reshape(-1, 2)
        self.paths.set_data(trail[:, 0], trail[:, 1])
        self.paths.set_visible(t > 0)
        self.points.set_offsets(pos)
        colors = np.empty((len(pos), 4))
        colors[:, :3] = mix(BY_CLUSTER, MIXED, t)
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
        self.phase.set_color(tuple(mix(BY_CLUSTER, MIXED, t)))
        self.phase.set_markeredgecolor("white")

    def _background(self, t: float) -> Any:
        """The static picture for the phase of t: with the rings where the points started once
        they move, and the phase's label; drawn once per phase."""
        phase = "start" if t <= 0 else "end" if t >= 1 else "moving"
        if phase not in self._backgrounds:
            self.canvas.restore_region(self._base)
            if phase != "start":
                self.figure.draw_artist(self.rings)
            self.phase_text.set_text(PHASE_LABELS[phase])
            self.figure.draw_artist(self.phase_text)
            self._backgrounds[phase] = self.canvas.copy_from_bbox(self.figure.bbox)
        return self._backgrounds[phase]

    def _arrowheads(self, pos: np.ndarray, t: float) -> np.ndarray:
        """Small triangles just behind each moving point, pointing along its path: (k, 3, 2)
        pixels."""
        if t <= 0 or len(pos) == 0:
            return np.zeros((0, 3, 2))
        disp = self._data_to_px.transform
        start, end = disp(self.scene.ols), disp(pos)
        v = end - start
        length = np.hypot(v[:, 0], v[:, 1])
        radius = np.sqrt(self.scene.sizes / math.pi) * self.scale  # marker radius, pixels
        head_len, head_w = 5.0 * self.scale / 1.39, 2.4 * self.scale / 1.39
        ok = length > radius + head_len + 2.0
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
    fig = ShrinkageFigure(fit, options, title="", subtitle="")
    out = np.full((len(fit.clusters), 2), np.nan)
    out[fig.scene.rows] = fig.pixels(fig.positions(t))
    return out


def render_png(fit: Fit, options: AnimationOptions, *, title: str, subtitle: str) -> bytes:
    """The final state with the full paths, as PNG bytes of the GIF's size."""
    fig = ShrinkageFigure(fit, options, title=title, subtitle=subtitle)
    return encode_png(fig.rgba(1.0)[:, :, :3])  # opaque: RGB is enough

"""The peer of `shrink animate`: the loop a user writes by hand with matplotlib and imageio.

For each of 120 frames it draws a new 600×450 figure with pyplot (every cluster's point moved
from its by-cluster estimate toward its mixed-model estimate along the same eased timing, the
paths travelled so far, the population estimate), renders it to an array, closes it, and at the
end saves the frames as a looping GIF with imageio. Run as a whole process:
`python bench/naive_animation.py ESTIMATES.csv OUT.gif` (ESTIMATES from `shrink fit`).
"""

from __future__ import annotations

import sys

import imageio.v2 as imageio
import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FRAMES, FPS, WIDTH, HEIGHT, DPI = 120, 10, 600, 450, 100


def progress(frames: int) -> np.ndarray:
    """Hold on the by-cluster estimates, eased motion, hold on the mixed estimates."""
    u = np.clip((np.arange(frames) / (frames - 1) - 0.2) / 0.4, 0.0, 1.0)
    return np.where(u < 0.5, 4 * u**3, 1 - (-2 * u + 2) ** 3 / 2)


def main(estimates: str, out: str) -> None:
    est = pd.read_csv(estimates).dropna(subset=["ols_slope"])
    ols = est[["ols_intercept", "ols_slope"]].to_numpy()
    mixed = est[["mixed_intercept", "mixed_slope"]].to_numpy()
    center = mixed.mean(axis=0)
    lo = np.minimum(ols.min(axis=0), mixed.min(axis=0))
    hi = np.maximum(ols.max(axis=0), mixed.max(axis=0))
    frames = []
    for t in progress(FRAMES):
        fig, ax = plt.subplots(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
        pos = ols + t * (mixed - ols)
        for (a0, b0), (a1, b1) in zip(ols, pos, strict=True):
            ax.plot([a0, a1], [b0, b1], color="0.7", linewidth=0.8)
        ax.scatter(pos[:, 0], pos[:, 1], s=30, color="tab:blue", alpha=0.8, edgecolor="white")
        ax.scatter([center[0]], [center[1]], s=80, color="tab:red", marker="X")
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_xlabel("intercept")
        ax.set_ylabel("slope")
        ax.set_title(f"Shrinkage: by-cluster to mixed-model estimates ({t:.0%})")
        fig.tight_layout()
        fig.canvas.draw()
        frames.append(np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy())
        plt.close(fig)
    imageio.mimsave(out, frames, duration=1000 / FPS, loop=0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

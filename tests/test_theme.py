"""What every picture shares: colour mixing in OKLCh and the PNG encoder."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.colors import to_rgb
from PIL import Image

from shrinkcli.theme import BY_CLUSTER, MIXED, encode_png, mix, oklch_to_srgb, srgb_to_oklch


def test_oklch_round_trips_srgb() -> None:
    for color in (BY_CLUSTER, MIXED, "#595959", "#FFFFFF"):
        rgb = np.array(to_rgb(color))
        np.testing.assert_allclose(oklch_to_srgb(srgb_to_oklch(rgb)), rgb, atol=1e-6)


def test_mix_runs_from_one_color_to_the_other_without_going_gray() -> None:
    np.testing.assert_allclose(mix(BY_CLUSTER, MIXED, 0.0), to_rgb(BY_CLUSTER))
    np.testing.assert_allclose(mix(BY_CLUSTER, MIXED, 1.0), to_rgb(MIXED))
    chroma = [srgb_to_oklch(mix(BY_CLUSTER, MIXED, t))[1] for t in (0.0, 0.5, 1.0)]
    assert chroma[1] > 0.8 * min(chroma[0], chroma[2])  # a purple, not a muddy gray


def test_png_keeps_the_pixels_and_the_resolution() -> None:
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 256, size=(7, 5, 4), dtype=np.uint8)
    opaque = Image.open(io.BytesIO(encode_png(rgba[:, :, :3])))
    assert opaque.mode == "RGB" and "dpi" not in opaque.info
    np.testing.assert_array_equal(np.asarray(opaque), rgba[:, :, :3])
    tagged = Image.open(io.BytesIO(encode_png(rgba, dpi=100)))
    assert tagged.mode == "RGBA" and round(tagged.info["dpi"][0]) == 100
    np.testing.assert_array_equal(np.asarray(tagged), rgba)
    assert encode_png(rgba) == encode_png(rgba)


def test_loading_matplotlib_without_docstring_tables_draws_the_same() -> None:
    """load_matplotlib skips the setter tables of matplotlib's docstrings: the picture is the
    same, byte for byte, as with matplotlib imported the ordinary way first."""
    import subprocess
    import sys

    code = (
        "import sys, hashlib\n"
        "if sys.argv[1] == 'plain':\n"
        "    import matplotlib.figure, matplotlib.backends.backend_agg\n"
        "from shrinkcli import fit, load_scenario, simulate\n"
        "from shrinkcli.plot import render_png\n"
        "from shrinkcli.scenario import AnimationOptions\n"
        "sim = simulate(load_scenario(sys.argv[2]))\n"
        "png = render_png(fit(sim.table, truth=sim.truth_table), AnimationOptions(truth=True),\n"
        "                 title='t', subtitle='s')\n"
        "import matplotlib.artist, matplotlib.lines\n"
        "tables = 'agg_filter' in (matplotlib.lines.Line2D.set.__doc__ or '')\n"
        "print(hashlib.sha256(png).hexdigest(), tables, matplotlib.artist.kwdoc.__name__)\n"
    )
    from conftest import SCENARIO_DIR

    scenario = str(SCENARIO_DIR / "unbalanced.yaml")
    runs = {
        how: subprocess.run([sys.executable, "-c", code, how, scenario], capture_output=True,
                            text=True, check=True).stdout.split()
        for how in ("plain", "shrink")
    }
    assert runs["plain"][0] == runs["shrink"][0]  # the same PNG
    assert runs["plain"][1] == "True" and runs["shrink"][1] == "False"  # tables skipped
    assert runs["shrink"][2] == "kwdoc"  # and matplotlib's own function is back

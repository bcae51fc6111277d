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

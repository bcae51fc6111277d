"""What every picture shares: colour mixing in OKLCh and the PNG encoder."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

from shrinkcli.pictures.theme import (
    BY_CLUSTER,
    MIXED,
    encode_png,
    mix,
    oklch_to_srgb,
    srgb_to_oklch,
)


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
        "from shrinkcli.pictures.figure import render_png\n"
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
        how: subprocess.run(
            [sys.executable, "-c", code, how, scenario], capture_output=True, text=True, check=True
        ).stdout.split()
        for how in ("plain", "shrink")
    }
    assert runs["plain"][0] == runs["shrink"][0]  # the same PNG
    assert runs["plain"][1] == "True" and runs["shrink"][1] == "False"  # tables skipped
    assert runs["shrink"][2] == "kwdoc"  # and matplotlib's own function is back


CJK_EMOJI = ("中国", "日本", "한국", "😀", "🚀", "東京")


def test_pictures_with_cjk_and_emoji_ids_leak_no_warning() -> None:
    """matplotlib warns of every glyph missing from its fonts; the pictures catch those
    warnings (drawing with a font that has the glyphs where one is installed)."""
    import warnings

    import numpy as np

    from shrinkcli.pictures.clusters import Panel, clusters_png, shrinkage_png

    x = np.arange(4.0)
    panels = [
        Panel(title=f"学校 {c}", x=x, y=x * 0.5, ols=(0.0, 0.5), mixed=(0.1, 0.4))
        for c in CJK_EMOJI
    ]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        pngs = [
            shrinkage_png(
                np.array([2.0, 3, 4, 5, 6, 7]),
                np.linspace(0.1, 0.6, 6),
                labels=list(CJK_EMOJI[:2]),
                marked=[0, 1],
                cluster="学校",
            ),
            clusters_png(panels, (0.0, 0.5), x_name="時間", y_name="y", title="🚀 学校"),
        ]
    assert all(p.startswith(b"\x89PNG") for p in pngs)
    assert [str(w.message) for w in seen] == []


def test_a_fallback_font_only_where_dejavu_lacks_a_character(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shrinkcli.pictures import theme

    plain = theme.font(text=["Subject 308", "Ångström −1"])
    assert plain.get_file() is not None and plain.get_file().endswith("DejaVuSans.ttf")
    monkeypatch.setattr(theme, "installed_fallbacks", lambda: ("Noto Sans CJK JP",))
    assert theme.font(text=["Subject 308"]).get_file() is not None  # ASCII: as always
    cjk = theme.font(bold=True, text=["中国"])
    assert cjk.get_file() is None
    assert cjk.get_family() == ["DejaVu Sans", "Noto Sans CJK JP"]
    assert cjk.get_weight() == "bold"
    monkeypatch.setattr(theme, "installed_fallbacks", lambda: ())
    assert theme.font(text=["中国"]).get_file() is not None  # nothing better: DejaVu, quietly

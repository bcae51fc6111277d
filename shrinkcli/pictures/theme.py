"""What every picture of shrink shares: the palette, the fonts, the colour mixing and the PNG
encoder.

matplotlib is imported only inside the functions that need it, so importing the theme is free;
`load_matplotlib` is the one place its drawing modules are first imported.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import sys
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

#: Colors (Okabe-Ito, legible on white and for color-blind readers): by-cluster, mixed.
BY_CLUSTER = "#D55E00"
MIXED = "#0072B2"
HOLE = "#1B1B1B"
PATH = "#8C8C8C"
ELLIPSE = "#4D4D4D"
TRUTH = "#1B1B1B"
TEXT = "#222222"
MUTED = "#595959"


#: The matplotlib modules shrink draws with, imported together by `load_matplotlib`.
_MATPLOTLIB = (
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "matplotlib.collections",
    "matplotlib.lines",
    "matplotlib.patches",
    "matplotlib.legend_handler",
    "matplotlib.ticker",
)


def load_matplotlib() -> None:
    """Import matplotlib's drawing modules, once, without the property tables of its Artist
    docstrings: matplotlib writes a table of every setter into the docstring of each Artist
    class's `set` as the class is defined (`matplotlib.artist.kwdoc`), a third of its import
    time (0.25-0.3 s), for help texts shrink never shows. Drawing is unchanged."""
    if "matplotlib.figure" in sys.modules:
        return
    import importlib

    import matplotlib.artist

    kwdoc = matplotlib.artist.kwdoc
    matplotlib.artist.kwdoc = lambda artist: ""
    try:
        for name in _MATPLOTLIB:
            importlib.import_module(name)
    finally:
        matplotlib.artist.kwdoc = kwdoc


#: Installed fonts that hold what DejaVu Sans lacks (CJK, emoji), in the order they are tried.
#: Colour-bitmap emoji fonts are left out: matplotlib's FreeType renderer cannot scale them.
FALLBACK_FAMILIES = (
    "Noto Sans CJK JP",
    "Noto Sans CJK SC",
    "Noto Sans CJK TC",
    "Source Han Sans",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "Noto Emoji",
    "Symbola",
)
#: matplotlib's warning for a character no font in use has; pictures catch it (`quiet`).
MISSING_GLYPH = r"Glyph \d+ .*missing from"


def _dejavu_path(bold: bool) -> Path:
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


@functools.cache
def _dejavu_characters(bold: bool) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(str(_dejavu_path(bold))).get_charmap())


@functools.cache
def installed_fallbacks() -> tuple[str, ...]:
    """The `FALLBACK_FAMILIES` this machine has, as matplotlib's font list knows them."""
    load_matplotlib()
    from matplotlib.font_manager import fontManager

    known = {f.name for f in fontManager.ttflist}
    return tuple(name for name in FALLBACK_FAMILIES if name in known)


def font(bold: bool = False, text: Iterable[str] = ()) -> FontProperties:
    """matplotlib's bundled DejaVu Sans, by file: no font lookup, the same glyphs everywhere.
    When `text` (e.g. the cluster ids a picture writes) holds characters DejaVu Sans lacks
    (CJK, emoji) and a font with them is installed, DejaVu Sans followed by those fonts as
    matplotlib's fallback list, so that they are drawn, not boxes."""
    load_matplotlib()
    from matplotlib.font_manager import FontProperties

    have = _dejavu_characters(bold)
    lacking = any(ord(ch) not in have for word in text for ch in word if not ch.isspace())
    fallbacks = installed_fallbacks() if lacking else ()
    if not fallbacks:
        return FontProperties(fname=str(_dejavu_path(bold)))
    return FontProperties(family=["DejaVu Sans", *fallbacks], weight="bold" if bold else "normal")


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Inside, matplotlib's warnings of characters missing from the fonts are not shown (the
    picture then shows a box): a picture is drawn without leaking library warnings, and the
    warning filters are as they were afterwards."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=MISSING_GLYPH, category=UserWarning)
        yield


_TO_LMS = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ]
)
_LMS_TO_LAB = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ]
)


def srgb_to_oklch(rgb: np.ndarray) -> np.ndarray:
    """An sRGB color (three values in [0, 1]) as OKLCh: lightness, chroma, hue in radians."""
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    lab = _LMS_TO_LAB @ np.cbrt(_TO_LMS @ lin)
    return np.array([lab[0], math.hypot(lab[1], lab[2]), math.atan2(lab[2], lab[1])])


def oklch_to_srgb(lch: np.ndarray) -> np.ndarray:
    """An OKLCh color back to sRGB, clipped to the sRGB gamut."""
    lab = np.array([lch[0], lch[1] * math.cos(lch[2]), lch[1] * math.sin(lch[2])])
    lin = np.linalg.solve(_TO_LMS, np.linalg.solve(_LMS_TO_LAB, lab) ** 3)
    lin = np.clip(lin, 0.0, 1.0)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


def mix(a: str, b: str, t: float) -> np.ndarray:
    """The color a fraction t of the way from a to b, in OKLCh (lightness, chroma, hue), turning
    the hue through red and purple: no muddy gray halfway between orange and blue."""
    from matplotlib.colors import to_rgb

    if t <= 0 or t >= 1 or a == b:
        return np.array(to_rgb(a if t < 1 else b))
    ca, cb = srgb_to_oklch(np.array(to_rgb(a))), srgb_to_oklch(np.array(to_rgb(b)))
    if cb[2] > ca[2]:  # go the negative way round (orange -> red -> purple -> blue)
        cb[2] -= 2 * math.pi
    return np.clip(oklch_to_srgb(ca + t * (cb - ca)), 0.0, 1.0)


def encode_png(pixels: np.ndarray, *, dpi: float | None = None) -> bytes:
    """PNG bytes of a (height, width, 3 or 4) uint8 array, with the resolution tag when `dpi`
    is given; no timestamps or software tags, so the same picture gives the same bytes."""
    from PIL import Image

    buf = io.BytesIO()
    options = {} if dpi is None else {"dpi": (dpi, dpi)}
    Image.fromarray(np.ascontiguousarray(pixels)).save(buf, format="PNG", **options)
    return buf.getvalue()


def figure_png(fig: Figure) -> bytes:
    """A matplotlib figure drawn on its own Agg canvas, as PNG bytes (RGBA, at the figure's
    dpi, as matplotlib itself would write it)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    with quiet():
        canvas.draw()
    return encode_png(np.asarray(canvas.buffer_rgba()), dpi=fig.dpi)

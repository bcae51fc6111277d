"""The explorer (explore.html): the post's experiment live in the report. The page simulates,
fits and draws in the browser with the engine in `static/shrink-engine.js` (R's generator, the
post's create_data(), lme4's criterion and an optimizer reaching the Python engine's optimum) and
the page's own script `static/explore.js`; both are inlined, so the page works from file://
with no network.

This module gives the link that opens the page preset to a scenario (`explore_fragment`), its
scripts and styles, and what the page is told: the report's scenarios as presets, the values
each control offers, and the picture's colours from the theme; `pages.explore_page` renders it.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..scenario import DATA_KEYS, Scenario

if TYPE_CHECKING:
    from .scenarios import Failure, ScenarioReport

#: The page's scripts and styles, in the package's static files, in the order they are inlined.
SCRIPTS = ("shrink-engine.js", "explore.js")
STYLES = ("explore.css",)
#: Largest page, scripts included (bytes).
MAX_BYTES = 300_000

_SD = (
    0.0,
    0.05,
    0.1,
    0.15,
    0.2,
    0.25,
    0.3,
    0.4,
    0.5,
    0.6,
    0.7,
    0.8,
    0.9,
    1.0,
    1.25,
    1.5,
    1.75,
    2.0,
    2.5,
    3.0,
)

#: Each slider: the scenario key, its label, and the values it steps through (a preset's value
#: that is not among them is added to the list in the page).
SLIDERS: tuple[tuple[str, str, tuple[float, ...]], ...] = (
    (
        "obs_per_cluster",
        "Observations per cluster",
        (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 150, 200),
    ),
    (
        "n_cluster",
        "Number of clusters",
        (
            2,
            3,
            4,
            5,
            6,
            8,
            10,
            12,
            15,
            20,
            25,
            30,
            40,
            50,
            60,
            75,
            100,
            150,
            200,
            250,
            300,
            400,
            500,
            750,
            1000,
        ),
    ),
    (
        "sigma",
        "Residual SD (σ)",
        (
            0.05,
            0.1,
            0.15,
            0.2,
            0.25,
            0.3,
            0.4,
            0.5,
            0.6,
            0.7,
            0.8,
            0.9,
            1.0,
            1.25,
            1.5,
            1.75,
            2.0,
            2.5,
            3.0,
            4.0,
            5.0,
        ),
    ),
    ("sd_int", "SD of the intercepts (sd_int)", _SD),
    ("sd_slope", "SD of the slopes (sd_slope)", _SD),
    (
        "cor",
        "Correlation of intercepts and slopes (cor)",
        tuple(round(k / 20, 2) for k in range(-20, 21)),
    ),
    ("balanced", "Share of rows kept (balanced)", tuple(round(k / 20, 2) for k in range(1, 21))),
)

#: What a scenario page's link carries besides the data keys.
MODEL_KEYS = ("method", "random")


def _number(v: Any) -> str:
    """A number for a link: integers as integers, floats by their shortest repr."""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def explore_fragment(name: str, parameters: dict[str, Any], method: str, random: str) -> str:
    """The fragment (after '#') that opens the explorer preset to a scenario: its name, every
    data-generating key and the model."""
    pairs = [("scenario", name)]
    pairs += [(k, _number(parameters[k])) for k in DATA_KEYS]
    pairs += [("method", method), ("random", random)]
    return "&".join(f"{k}={quote(str(v), safe='')}" for k, v in pairs)


def report_fragment(report: ScenarioReport) -> str:
    """`explore_fragment` of a reported scenario."""
    return explore_fragment(report.name, report.parameters, report.method, report.random)


def _preset(
    name: str,
    title: str,
    description: str,
    parameters: dict[str, Any],
    rng: str,
    method: str,
    random: str,
) -> dict[str, Any]:
    return {
        "name": name,
        "title": title,
        "description": description,
        "parameters": {k: parameters[k] for k in DATA_KEYS},
        "rng": rng,
        "method": method,
        "random": random,
    }


def presets(entries: Sequence[ScenarioReport | Failure]) -> list[dict[str, Any]]:
    """The report's simulated scenarios as the explorer's starting points (a data set has no
    simulation settings to start from); the post's defaults (the baseline) when there are none."""
    from .scenarios import ScenarioReport

    out = [
        _preset(
            r.name,
            r.title,
            r.description,
            r.parameters,
            str(r.parameters.get("rng", "r")),
            r.method,
            r.random,
        )
        for r in entries
        if isinstance(r, ScenarioReport) and r.kind == "simulated"
    ]
    if not out:
        s = Scenario(name="defaults", title="The post's defaults")
        out.append(
            _preset(
                s.name,
                s.title,
                "Every create_data() argument at its default.",
                s.parameters(),
                s.rng,
                s.model.method,
                s.model.random,
            )
        )
    return out


def palette(steps: int = 32) -> list[str]:
    """The colour of a moving point at progress k/steps, from by-cluster to mixed, as the
    animation mixes them (theme.mix)."""
    from ..pictures.theme import BY_CLUSTER, MIXED, mix

    out = []
    for k in range(steps + 1):
        r, g, b = (round(float(v) * 255) for v in mix(BY_CLUSTER, MIXED, k / steps))
        out.append(f"#{r:02x}{g:02x}{b:02x}")
    return out


def page_data(entries: Sequence[ScenarioReport | Failure]) -> dict[str, Any]:
    """Everything the page's script is told: presets, slider values, colours, the defaults."""
    from ..pictures import theme
    from ..pictures.scene import AUTO_OUTSIDE, BASELINE_HALF_WIDTH, ELLIPSE_LEVELS, POINT_AREA
    from .metrics import SAME

    return {
        "presets": presets(entries),
        "sliders": {key: list(values) for key, _, values in SLIDERS},
        "palette": palette(),
        "colors": {
            "by_cluster": theme.BY_CLUSTER,
            "mixed": theme.MIXED,
            "hole": theme.HOLE,
            "path": theme.PATH,
            "ellipse": theme.ELLIPSE,
            "truth": theme.TRUTH,
            "text": theme.TEXT,
            "muted": theme.MUTED,
        },
        "baseline_half_width": list(BASELINE_HALF_WIDTH),
        "auto_outside": AUTO_OUTSIDE,
        "ellipse_levels": list(ELLIPSE_LEVELS),
        "point_area": POINT_AREA,
        "same": SAME,
    }


def static_text(name: str) -> str:
    """A static file of the report package, as text."""
    return (resources.files("shrinkcli.report") / "static" / name).read_text("utf-8")

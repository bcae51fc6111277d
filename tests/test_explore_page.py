"""The explorer page as the report writes it (no browser): in every report and its marker, linked
from the overview and from each scenario page with that scenario's settings, self-contained (its
scripts inlined, nothing fetched) and within its weight."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from conftest import POST_SCENARIOS, SCENARIO_DIR

from shrinkcli.pictures.theme import BY_CLUSTER, MIXED, mix
from shrinkcli.report import MARKER, RESERVED, build_report, load_scenarios
from shrinkcli.report.explore import (
    MAX_BYTES,
    SCRIPTS,
    SLIDERS,
    explore_fragment,
    palette,
    static_text,
)
from shrinkcli.report.pages import explore_page, inline
from shrinkcli.scenario import DATA_KEYS, Scenario, load_scenario


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of two post scenarios (a small one keeps this quick) and a numpy-generator one."""
    root = tmp_path_factory.mktemp("explore")
    numpy_one = root / "drawn-by-numpy.yaml"
    numpy_one.write_text(
        "title: By numpy\nn_cluster: 20\nobs_per_cluster: 5\nrng: numpy\n"
        "model:\n  method: ml\n  random: uncorrelated\nanimation:\n  frames: 3\n"
    )
    paths = [SCENARIO_DIR / "unbalanced.yaml", SCENARIO_DIR / "few-observations.yaml", numpy_one]
    out = root / "report"
    result = build_report(load_scenarios(paths), out, jobs=1)
    assert result.ok
    return out


def _page_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="explore-data">(.*?)</script>', html, re.S)
    assert m is not None
    return json.loads(m.group(1))


def test_every_report_has_the_explorer(report: Path) -> None:
    assert (report / "explore.html").is_file()
    assert "explore.html" in RESERVED
    listed = json.loads((report / MARKER).read_text())["files"]
    assert "explore.html" in listed


def test_overview_links_to_the_explorer(report: Path) -> None:
    assert '<a href="explore.html">' in (report / "index.html").read_text()


def _explore_link(page: Path) -> dict[str, str]:
    html = page.read_text()
    hrefs = re.findall(r'href="\.\./explore\.html#([^"]*)"', html)
    assert len(hrefs) == 1, page
    return dict(parse_qsl(unescape(hrefs[0]), keep_blank_values=True))


@pytest.mark.parametrize("name", ["unbalanced", "few-observations", "drawn-by-numpy"])
def test_each_scenario_page_opens_the_explorer_preset_to_it(report: Path, name: str) -> None:
    fields = _explore_link(report / name / "index.html")
    path = SCENARIO_DIR / f"{name}.yaml"
    scenario = load_scenario(path if path.exists() else report.parent / f"{name}.yaml")
    assert fields.pop("scenario") == name
    assert fields.pop("method") == scenario.model.method
    assert fields.pop("random") == scenario.model.random
    assert list(fields) == list(DATA_KEYS)
    for key in DATA_KEYS:
        assert float(fields[key]) == float(getattr(scenario, key)), key  # exact round trip


def test_fragment_keeps_every_value_exactly() -> None:
    s = Scenario(sigma=1e-07, cor=-0.123456789012345, balanced=0.3, seed=-2147483647)
    fields = dict(parse_qsl(explore_fragment("x", s.parameters(), "ml", "intercept")))
    for key in DATA_KEYS:
        assert type(getattr(s, key))(fields[key]) == getattr(s, key), key
    assert fields["obs_per_cluster"] == "10" and fields["intercept"] == "1"  # no "1.0"


def test_presets_are_the_reports_scenarios(report: Path) -> None:
    data = _page_data((report / "explore.html").read_text())
    names = [p["name"] for p in data["presets"]]
    assert names == ["unbalanced", "few-observations", "drawn-by-numpy"]
    numpy_one = data["presets"][2]
    assert numpy_one["rng"] == "numpy" and numpy_one["method"] == "ml"
    assert numpy_one["random"] == "uncorrelated"
    assert numpy_one["parameters"]["n_cluster"] == 20
    unbalanced = data["presets"][0]["parameters"]
    assert unbalanced == {
        k: getattr(load_scenario(SCENARIO_DIR / "unbalanced.yaml"), k) for k in DATA_KEYS
    }


def test_without_scenarios_the_explorer_starts_from_the_posts_defaults() -> None:
    data = _page_data(explore_page([]))
    (preset,) = data["presets"]
    assert preset["parameters"] == Scenario().parameters()
    assert (preset["method"], preset["random"], preset["rng"]) == ("reml", "intercept-slope", "r")


def test_the_page_is_self_contained_and_light(report: Path) -> None:
    html = (report / "explore.html").read_text()
    assert len(html.encode()) <= MAX_BYTES
    assert "<script src" not in html and "http://" not in html and "https://" not in html
    for name in SCRIPTS:  # the engine and the page's script are inlined whole
        assert static_text(name).strip() in html
    assert 'href="style.css"' in html and 'href="index.html"' in html


def test_each_slider_offers_the_post_values() -> None:
    post = [load_scenario(SCENARIO_DIR / f"{n}.yaml") for n in POST_SCENARIOS]
    for key, _, values in SLIDERS:
        assert list(values) == sorted(set(values)), key
        for s in post:
            assert getattr(s, key) in values, (key, s.name)
        for v in values:  # every value is a valid setting
            Scenario(**{key: v, "n_cluster": 20, "obs_per_cluster": 5})


def test_palette_is_the_animations() -> None:
    colors = palette(4)
    assert colors[0] == BY_CLUSTER.lower() and colors[-1] == MIXED.lower()
    r, g, b = (round(float(v) * 255) for v in mix(BY_CLUSTER, MIXED, 0.5))
    assert colors[2] == f"#{r:02x}{g:02x}{b:02x}"


def test_an_inlined_script_cannot_close_its_element() -> None:
    with pytest.raises(ValueError):
        inline("var s = '</SCRIPT>';", "script")
    assert inline("a < b", "script") == "a < b"

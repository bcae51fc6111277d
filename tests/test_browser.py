"""The report in a real browser: Debian's headless Chromium, driven by Playwright (never a
downloaded browser). Every page loads with no console error, every image decodes, every local
link resolves, nothing is fetched from the network; screenshots at desktop and phone widths."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from conftest import POST_SCENARIOS, SCENARIO_DIR
from typer.testing import CliRunner

from shrinkcli.cli import app

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full report of the post's six scenarios, built once for this module."""
    out = tmp_path_factory.mktemp("browser") / "report"
    paths = [str(SCENARIO_DIR / f"{name}.yaml") for name in POST_SCENARIOS]
    result = CliRunner().invoke(app, ["report", *paths, "-o", str(out), "--quiet", "--reps", "20"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    """Chromium through Playwright (the `chromium` fixture finds it, or skips with the reason
    outside CI); a failure to launch a browser that is there fails the tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(chromium), args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _pages(report: Path) -> list[Path]:
    return [report / "index.html", *sorted(report.glob("*/index.html"))]


def _check_page(browser: Any, page_path: Path, width: int, shot: Path) -> None:
    ctx = browser.new_context(viewport={"width": width, "height": 900}, offline=True)
    page = ctx.new_page()
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"failed to load {r.url}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_path.as_uri(), wait_until="load")
    page.wait_for_load_state("networkidle")

    images = page.eval_on_selector_all(
        "img", "els => els.map(e => [e.getAttribute('src'), e.complete, e.naturalWidth])"
    )
    assert images, f"{page_path}: no images"
    broken = [src for src, complete, w in images if not (complete and w > 0)]
    assert not broken, f"{page_path}: images not loaded: {broken}"

    remote = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert not remote, f"{page_path}: fetched from the network: {remote}"

    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    for href in hrefs:
        url = urlsplit(href)
        assert url.scheme == "file", f"{page_path}: link leaves the report: {href}"
        target = Path(unquote(url.path))
        assert target.exists(), f"{page_path}: broken link {href}"
        assert report_root(page_path) in target.resolve().parents, f"link outside: {href}"
        if url.fragment and target == page_path:
            assert page.locator(f"#{url.fragment}").count() == 1, f"no #{url.fragment}"

    # Nothing wider than the screen, except inside the scrolling table boxes.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{page_path} at {width}px: page is {overflow}px wider than the screen"

    page.screenshot(path=str(shot), full_page=True)
    ctx.close()
    assert not problems, f"{page_path}: {problems}"


def report_root(page_path: Path) -> Path:
    p = page_path.resolve().parent
    while not (p / ".shrink-report").exists():
        p = p.parent
    return p


@pytest.mark.parametrize("device", list(WIDTHS))
def test_every_page_renders(browser: Any, report_dir: Path, device: str, tmp_path: Path) -> None:
    pages = _pages(report_dir)
    assert len(pages) == 1 + len(POST_SCENARIOS)
    for page_path in pages:
        name = "index" if page_path.parent == report_dir else page_path.parent.name
        shot = tmp_path / f"{name}-{device}.png"
        _check_page(browser, page_path, WIDTHS[device], shot)
        assert shot.stat().st_size > 10_000
    keep = os.environ.get("SHRINK_SCREENSHOTS")  # to look at them: SHRINK_SCREENSHOTS=dir
    if keep:
        import shutil

        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in tmp_path.glob("*.png"):
            shutil.copy(shot, Path(keep) / shot.name)


@pytest.fixture(scope="module")
def data_report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of real data of several shapes: lme4's sleepstudy as a data scenario, nlme's
    Orthodont (text ids) and sleepstudy with drop-outs (single rows) given directly, with a
    bootstrap study."""
    real = Path(__file__).resolve().parent / "data" / "real"
    root = Path(__file__).resolve().parents[1]
    folder = tmp_path_factory.mktemp("browser-data")
    dropout = folder / "dropout.yaml"
    dropout.write_text(
        f"title: Sleep deprivation with drop-outs\ndata: {{path: "
        f"{real / 'sleepstudy_dropout.csv'}, y: Reaction, x: Days, "
        "cluster: Subject}\n"
    )
    # a file path longer than a phone's width, as a user's may be: the page must wrap it
    deep = folder / "AFolderNameFarTooLongForOneLineOfAPhoneScreenWithNoPlaceToBreakIt" / "data"
    deep.mkdir(parents=True)
    shutil.copy(real / "orthodont.csv", deep / "orthodont.csv")
    out = folder / "report"
    result = CliRunner().invoke(
        app,
        [
            "report",
            str(root / "examples" / "sleepstudy.yaml"),
            str(deep / "orthodont.csv"),
            str(dropout),
            "--y",
            "distance",
            "--x",
            "age",
            "--cluster",
            "Subject",
            "-o",
            str(out),
            "--quiet",
            "--reps",
            "10",
        ],
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("device", list(WIDTHS))
def test_every_data_page_renders(
    browser: Any, data_report_dir: Path, device: str, tmp_path: Path
) -> None:
    pages = _pages(data_report_dir)
    assert len(pages) == 1 + 3
    for page_path in pages:
        name = "index" if page_path.parent == data_report_dir else page_path.parent.name
        _check_page(browser, page_path, WIDTHS[device], tmp_path / f"data-{name}-{device}.png")
    keep = os.environ.get("SHRINK_SCREENSHOTS")
    if keep:
        import shutil

        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in tmp_path.glob("*.png"):
            shutil.copy(shot, Path(keep) / shot.name)


def test_baseline_page_shows_lme4_numbers(browser: Any, report_dir: Path) -> None:
    ctx = browser.new_context(offline=True)
    page = ctx.new_page()
    page.goto((report_dir / "baseline" / "index.html").as_uri())
    assert "REML criterion at convergence: 3012.2" in page.inner_text("pre.summary")
    ctx.close()

"""The report of data of one's own: a page that reads the data without a truth, the manifest of
every input and output, and reproduce.R, which redoes every scenario in R (run where Rscript and
lme4 are installed)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pandas as pd
import pytest
from conftest import POST_SCENARIOS, SCENARIO_DIR
from markupsafe import escape

from shrinkcli import __version__
from shrinkcli.report import MARKER, ReportResult, StudyOptions, build_report, load_scenarios
from shrinkcli.report.rscript import criterion_line, r_number, reproduce_r
from shrinkcli.scenario import parse_scenario

REAL = Path(__file__).resolve().parent / "data" / "real"
FAST = "animation:\n  frames: 3\n  size: 300x225\n"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def walk(folder: Path) -> set[str]:
    return {
        (Path(d) / f).relative_to(folder).as_posix()
        for d, _, files in os.walk(folder)
        for f in files
    }


@pytest.fixture(scope="module")
def data_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ReportResult]:
    """Orthodont as a data scenario (text ids), sleepstudy with drop-outs given directly, and a
    small simulated scenario, with a bootstrap study."""
    src = tmp_path_factory.mktemp("src")
    shutil.copy(REAL / "orthodont.csv", src / "orthodont.csv")
    (src / "growth.yaml").write_text(
        "title: Jaw growth of 27 children\n"
        "data: {path: orthodont.csv, y: distance, x: age, cluster: Subject}\n" + FAST
    )
    shutil.copy(REAL / "sleepstudy_dropout.csv", src / "dropout.csv")
    (src / "small.yaml").write_text("n_cluster: 15\nobs_per_cluster: 5\nseed: 4\n" + FAST)
    out = tmp_path_factory.mktemp("out") / "rep"
    loaded = load_scenarios(
        [str(src / "growth.yaml"), str(src / "dropout.csv"), str(src / "small.yaml")],
        y="Reaction",
        x="Days",
        cluster="Subject",
    )
    result = build_report(loaded, out, jobs=2, study=StudyOptions(reps=8))
    assert result.ok, result.failures
    return out, result


def test_a_data_page_reads_the_data(data_report: tuple[Path, ReportResult]) -> None:
    out, result = data_report
    growth = next(r for r in result.reports if r.name == "growth")
    assert growth.kind == "data" and growth.real is not None
    page = (out / "growth" / "index.html").read_text()
    assert "Jaw growth of 27 children" in page
    for sentence in (
        *growth.real_reading["icc"],
        *growth.real_reading["size"],
        *growth.real_reading["extremes"],
    ):
        assert str(escape(sentence)) in page
    assert f"{growth.real.icc:.2f}" in page
    for picture in ("shrinkage.png", "clusters.png", "every-cluster.png"):
        assert (out / "growth" / picture).read_bytes()[:4] == b"\x89PNG"
        assert f'src="{picture}"' in page
    assert "M01" in page and "truth.csv" not in growth.files
    assert str(escape(growth.summary)) in page
    assert "Formula: distance ~ age + (age | Subject)" in growth.summary


def test_a_table_given_directly_is_named_after_its_file(
    data_report: tuple[Path, ReportResult],
) -> None:
    out, result = data_report
    dropout = next(r for r in result.reports if r.name == "dropout")
    assert dropout.title == "dropout" and dropout.real is not None
    assert dropout.real.single == 3
    page = (out / "dropout" / "index.html").read_text()
    assert "3 clusters have a single row" in page
    index = (out / "index.html").read_text()
    assert 'href="dropout/index.html"' in index and "(data)" in index
    md = (out / "report.md").read_text()
    assert "| [dropout](dropout/index.html) | 18 × 1–10 (data) |" in md


def test_the_bootstrap_study_is_in_the_report(data_report: tuple[Path, ReportResult]) -> None:
    out, _ = data_report
    summary = pd.read_csv(out / "study" / "summary.csv")
    assert set(summary["scenario"]) == {"growth", "dropout", "small"}
    index = (out / "index.html").read_text()
    assert "parametric bootstrap" in index
    assert "so Jaw growth of 27 children and dropout are\nstudied" in index  # a list with "and"
    assert (
        'real,\nwith no truth to compare with: <a href="growth/index.html">Jaw growth of 27 '
        'children</a> and <a href="dropout/index.html">dropout</a>.'
    ) in index
    assert "own (Jaw growth of 27 children and dropout) by a" in (out / "report.md").read_text()
    growth = summary[summary["scenario"] == "growth"].set_index("quantity")
    fitted = json.loads((out / "growth" / "fit.json").read_text())
    assert growth.loc["intercept", "truth"] == fitted["fixed_effects"][0]["estimate"]
    assert growth.loc["sigma", "truth"] == pytest.approx(fitted["residual"]["sd"], rel=1e-12)


def test_the_manifest_lists_every_file_with_its_hash(
    data_report: tuple[Path, ReportResult],
) -> None:
    out, result = data_report
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["version"] == __version__
    assert manifest["python"] == platform.python_version()
    assert {"numpy", "pandas", "matplotlib", "pillow", "jinja2"} <= set(manifest["libraries"])
    outputs = {o["path"]: o["sha256"] for o in manifest["outputs"]}
    assert set(outputs) == walk(out) - {MARKER, "manifest.json"}
    for path, digest in outputs.items():
        assert sha(out / path) == digest, path
    inputs = {i["path"]: i["sha256"] for i in manifest["inputs"]}
    src = Path(next(p for p in inputs if p.endswith("growth.yaml"))).parent
    assert set(inputs) == {
        str(src / n) for n in ("growth.yaml", "orthodont.csv", "dropout.csv", "small.yaml")
    }
    for path, digest in inputs.items():
        assert sha(Path(path)) == digest
    seeds = {s["name"]: (s["seed"], s["generator"], s["kind"]) for s in manifest["scenarios"]}
    assert seeds == {
        "growth": (888, "r", "data"),
        "dropout": (888, "r", "data"),
        "small": (4, "r", "simulated"),
    }
    assert manifest["sections"][0]["reps"] == 8
    assert "manifest.json" in json.loads((out / MARKER).read_text())["files"]
    assert "manifest.json" in {f for f in result.files}


def test_the_report_is_the_same_for_any_jobs(
    data_report: tuple[Path, ReportResult], tmp_path: Path
) -> None:
    out, result = data_report
    again = build_report(
        load_scenarios(
            [r.source for r in result.reports], y="Reaction", x="Days", cluster="Subject"
        ),
        tmp_path / "again",
        jobs=1,
        study=StudyOptions(reps=8),
    )
    for name in again.files:
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes(), name


# -- reproduce.R ------------------------------------------------------------------------------


def test_reproduce_r_writes_the_posts_create_data_with_the_scenarios_arguments() -> None:
    s = parse_scenario(
        "name: odd\nn_cluster: 30\nobs_per_cluster: 7\ncor: 0.3\nsd_int: 0.8\n"
        "balanced: 0.6\nseed: -12\nmodel: {random: uncorrelated, method: ml}\n"
    )
    from shrinkcli import fit, simulate

    sim = simulate(s)
    result = fit(sim.data, s.model.spec, truth=sim.truth)
    text = reproduce_r(
        s, result, "REML criterion at convergence: 1.0\n", data_name="odd", text_ids=False
    )
    assert "create_data <- function(obs_per_cluster = 10, n_cluster = 100" in text
    assert "  cor = 0.3 * 0.8 * 0.25,\n" in text  # the correlation as the post's covariance
    assert "  balanced = 0.6,\n  seed = -12\n)" in text
    assert "mod <- lmer(y ~ x + (x || cluster), data = odd, REML = FALSE)" in text
    assert "#   REML criterion at convergence: 1.0" in text
    numpy = parse_scenario("rng: numpy\nmodel: {random: intercept}\n")
    text = reproduce_r(numpy, result, "", data_name="numpy-data", text_ids=True)
    assert "create_data" not in text
    assert 'colClasses = c(cluster = "character")' in text
    assert '`numpy-data` <- read.csv("data.csv"' in text
    assert r_number(0.1) == "0.1" and r_number(1.0) == "1" and r_number(3) == "3"


def test_criterion_line_reads_reml_and_ml_summaries() -> None:
    reml = (REAL / "sleepstudy-summary.txt").read_text()
    assert criterion_line(reml) == "REML criterion at convergence: 1743.6"
    ml = (
        "Linear mixed model fit by maximum likelihood  ['lmerMod']\n\n"
        "     AIC      BIC   logLik deviance df.resid \n"
        "  1763.9   1783.1   -876.0   1751.9      174 \n"
    )
    assert criterion_line(ml) == "AIC BIC logLik deviance df.resid: 1763.9 1783.1 -876.0 1751.9 174"


@cache
def r_missing() -> str:
    """Why R cannot check the scripts here ('' when it can)."""
    if shutil.which("Rscript") is None:
        return "Rscript is not installed"
    probe = subprocess.run(
        [
            "Rscript",
            "-e",
            "for (p in c('lme4', 'mvtnorm', 'dplyr', 'tibble')) "
            "if (!requireNamespace(p, quietly = TRUE)) { cat(p); quit(status = 3) }",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return "" if probe.returncode == 0 else f"the R package {probe.stdout.strip()} is missing"


@pytest.fixture(scope="module")
def r_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The six post scenarios, an ML fit of an uncorrelated model with a correlation (the
    covariance conversion matters), a data scenario with text ids and one with single rows."""
    if r_missing():
        pytest.skip(f"reproduce.R is run in R: {r_missing()}")
    src = tmp_path_factory.mktemp("src")
    paths = []
    for name in POST_SCENARIOS:
        (src / f"{name}.yaml").write_text((SCENARIO_DIR / f"{name}.yaml").read_text() + FAST)
        paths.append(str(src / f"{name}.yaml"))
    (src / "odd.yaml").write_text(
        "n_cluster: 40\nobs_per_cluster: 6\ncor: 0.6\nsd_slope: 0.5\n"
        "balanced: 0.7\nseed: 31\nmodel: {random: uncorrelated, "
        "method: ml}\n" + FAST
    )
    shutil.copy(REAL / "orthodont.csv", src / "orthodont.csv")
    (src / "growth.yaml").write_text(
        "data: {path: orthodont.csv, y: distance, x: age, cluster: Subject}\n" + FAST
    )
    shutil.copy(REAL / "sleepstudy_dropout.csv", src / "dropout.csv")
    out = tmp_path_factory.mktemp("r") / "rep"
    loaded = load_scenarios(
        [*paths, str(src / "odd.yaml"), str(src / "growth.yaml"), str(src / "dropout.csv")],
        y="Reaction",
        x="Days",
        cluster="Subject",
    )
    assert build_report(loaded, out, jobs=2).ok
    return out


@pytest.mark.parametrize("name", [*POST_SCENARIOS, "odd", "growth", "dropout"])
def test_rscript_reproduce_r_gives_the_reports_criterion(r_report: Path, name: str) -> None:
    folder = r_report / name
    run = subprocess.run(
        ["Rscript", "reproduce.R"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    ours = (folder / "summary.txt").read_text()
    assert criterion_line(run.stdout) == criterion_line(ours) != ""
    assert run.stdout.splitlines()[:3] == ours.splitlines()[:3]  # model, formula, data


def test_a_data_set_is_not_called_simulated(data_report: tuple[Path, ReportResult]) -> None:
    out, _ = data_report
    index = (out / "index.html").read_text()
    assert (
        '<th colspan="2">Simulated or data</th><th colspan="4">Estimated <span '
        'class="truth">(truth, where simulated)</span></th>'
    ) in index
    assert '<th colspan="2">Simulated</th>' not in index
    data_page = (out / "growth" / "index.html").read_text()
    assert "fits as lme4 computes them.</footer>" in data_page
    assert "create_data()</code> simulates them" not in data_page
    assert (
        "create_data()</code> simulates them.</footer>"
        in (out / "small" / "index.html").read_text()
    )
    md = (out / "report.md").read_text()
    assert "green" not in md and "The data are simulated, so" not in md
    assert 'A data set of one\'s own (marked "data") has no truth' in md


def test_markdown_marks_in_bold_only_the_lower_mixed_rmse() -> None:
    from dataclasses import replace as change

    from shrinkcli.report.metrics import Errors
    from shrinkcli.report.pages import verdict

    class Report:
        def __init__(self, errors: Errors) -> None:
            self.metrics = type("M", (), {"errors": errors})()

    e = Errors(
        clusters=10,
        left_out=0,
        ols_intercept=1.0,
        mixed_intercept=0.5,
        ols_slope=1.0,
        mixed_slope=0.5,
        ols_line=1.0,
        mixed_line=0.5,
        closer=8,
    )
    assert verdict([Report(e)], "bold").endswith("(the rows with two bold numbers).")  # type: ignore[list-item]
    assert verdict([Report(change(e, mixed_slope=1.0))]).startswith("In 0 of 1 scenario")  # type: ignore[list-item]


def page_intervals(page: str) -> list[list[str]]:
    """The rows of the page's intervals table, as the cells' texts (markers dropped)."""
    import re

    table = page.split('<table class="numbers intervals">', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        [re.sub(r"<sup>b</sup>", "", c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body)
    ]


@pytest.mark.parametrize("name", ["growth", "dropout"])
def test_a_data_page_shows_its_uncertainty_without_a_truth(
    data_report: tuple[Path, ReportResult], name: str
) -> None:
    out, result = data_report
    report = next(r for r in result.reports if r.name == name)
    page = (out / name / "index.html").read_text()
    for picture in ("caterpillar.png", "pooling.png"):
        assert picture in report.files and (out / name / picture).read_bytes()[:4] == b"\x89PNG"
        assert f'<img src="{picture}"' in page
    csv = pd.read_csv(out / name / "intervals.csv")
    rows = page_intervals(page)
    assert len(rows) == len(csv)
    for cells, (_, want) in zip(rows, csv.iterrows(), strict=True):
        assert len(cells) == 4  # parameter, estimated, from, to: no "true" column
        for text, column in zip(cells[1:], ("estimate", "lower", "upper"), strict=True):
            assert float(text.replace("−", "-")) == pytest.approx(want[column], abs=5e-4)
    words = page.lower()
    for wrong in ("true value", "the truth", "simulated with", "<th>true</th>", "coverage"):
        assert wrong not in words
    # every file the page links to exists, and every file written is listed
    import re

    linked = set(re.findall(r'(?:href|src)="([^"/#:]+\.(?:png|gif|csv|json|txt|R))"', page))
    assert linked <= set(os.listdir(out / name))
    assert set(os.listdir(out / name)) - {"index.html"} <= linked
    md = (out / "report.md").read_text()
    section = md.split(f"]({name}/index.html) ·", 1)[0].rsplit("\n## ", 1)[1]
    for picture in ("caterpillar.png", "pooling.png"):
        assert f"]({name}/{picture})" in section
    for _, want in csv.iterrows():
        assert (
            f"| {want['estimate']:.3f} | {want['lower']:.3f} | {want['upper']:.3f} |".replace(
                "-", "−"
            )
            in section
            or f"| {want['estimate']:.3f} | {want['lower']:.3f} | {want['upper']:.3f} |" in section
        )

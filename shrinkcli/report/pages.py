"""The report's pages, one function per page returning its text, from Jinja2 templates (HTML
autoescaped), and the summary table; `PAGES` names the report's own files once."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..words import separator
from .explore import SCRIPTS, SLIDERS, STYLES, page_data, report_fragment, static_text
from .metrics import SAME, compare
from .scenarios import Failure, ScenarioReport

if TYPE_CHECKING:
    import jinja2

    from ..table import Table


@dataclass(frozen=True)
class Section:
    """Extra content for the overview (e.g. a simulation study): a heading, an anchor, the
    body as trusted HTML and as Markdown, and the files it links to (paths relative to the
    report folder)."""

    title: str
    anchor: str
    html: str
    markdown: str
    files: Mapping[str, bytes | str] = field(default_factory=dict)
    #: What the report's manifest records about the section (e.g. a study's replications).
    meta: Mapping[str, Any] = field(default_factory=dict)


def fmt(value: Any, spec: str = ".2f") -> str:
    """A number for a page: `spec`-formatted, '–' when missing, a true minus sign."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return format(value, spec).replace("-", "−")
    return str(value)


@functools.cache
def environment() -> jinja2.Environment:
    """The pages' Jinja2 environment, made once: its templates are compiled once per process."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("shrinkcli.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["fmt"] = fmt
    env.filters["md"] = lambda text: str(text).replace("|", "\\|").replace("]", "\\]")
    env.filters["explore_fragment"] = report_fragment
    env.globals["version"] = __version__
    env.globals["same"] = SAME
    env.globals["compare"] = compare
    env.globals["sep"] = separator  # {{ sep(loop.index0, loop.length) }}: ', ', ' and ', ''
    return env


def stylesheet() -> str:
    return (resources.files("shrinkcli.report") / "static" / "style.css").read_text("utf-8")


def verdict(reports: Sequence[ScenarioReport], marked: str = "green") -> str:
    """One sentence over all scenarios: in how many the mixed estimates had the lower RMSE;
    `marked` says how the table marks a lower one ('green' in HTML, 'bold' in Markdown)."""
    compared = [r.metrics.errors for r in reports if r.metrics.errors is not None]
    if not compared:
        return ""
    k = len(compared)
    both = sum(
        compare(e.ols_intercept, e.mixed_intercept) == "better"
        and compare(e.ols_slope, e.mixed_slope) == "better"
        for e in compared
    )
    what = "all" if both == k else f"{both} of"
    pct = round(100 * SAME)
    return (
        f"In {what} {k} scenario{'s' if k != 1 else ''}, the mixed model's estimates of both "
        f"the cluster intercepts and the slopes had an RMSE lower by more than {pct}% "
        f"(the rows with two {marked} numbers)."
    )


def _context(
    entries: Sequence[ScenarioReport | Failure],
    sections: Sequence[Section],
    marked: str = "green",
) -> dict[str, Any]:
    reports = [e for e in entries if isinstance(e, ScenarioReport)]
    return {
        "entries": list(entries),
        "reports": reports,
        "data_reports": [r for r in reports if r.kind == "data"],
        "failures": [e for e in entries if isinstance(e, Failure)],
        "sections": list(sections),
        "verdict": verdict(reports, marked),
        "simulated": any(r.kind == "simulated" for r in reports),
    }


def index_page(
    entries: Sequence[ScenarioReport | Failure], sections: Sequence[Section] = ()
) -> str:
    """index.html: the lesson, the overview table, a card per scenario, the failures."""
    from markupsafe import Markup

    ctx = _context(entries, sections)
    ctx["sections"] = [(s, Markup(s.html)) for s in sections]
    return environment().get_template("index.html.j2").render(ctx, root="")


def scenario_page(report: ScenarioReport) -> str:
    """NAME/index.html: one scenario's description, numbers, pictures, summary and files (a
    data scenario's page says what can be said without a truth)."""
    template = "data.html.j2" if report.kind == "data" else "scenario.html.j2"
    return (
        environment()
        .get_template(template)
        .render(r=report, root="../", simulated=report.kind == "simulated")
    )


def markdown_page(
    entries: Sequence[ScenarioReport | Failure], sections: Sequence[Section] = ()
) -> str:
    """report.md: the overview as Markdown, with relative links."""
    return (
        environment()
        .get_template("report.md.j2")
        .render(_context(entries, sections, marked="bold"))
    )


#: Columns of summary.csv, in order.
SUMMARY_COLUMNS = (
    "scenario",
    "title",
    "status",
    "error",
    "obs_per_cluster",
    "n_cluster",
    "intercept",
    "beta",
    "sigma",
    "sd_int",
    "sd_slope",
    "cor",
    "balanced",
    "seed",
    "rng",
    "method",
    "random",
    "n_obs",
    "n_groups",
    "est_intercept",
    "est_intercept_se",
    "est_beta",
    "est_beta_se",
    "est_sd_int",
    "est_sd_slope",
    "est_cor",
    "est_sigma",
    "criterion",
    "singular",
    "converged",
    "mean_shrinkage",
    "rmse_clusters",
    "rmse_ols_intercept",
    "rmse_mixed_intercept",
    "rmse_ols_slope",
    "rmse_mixed_slope",
    "rmse_ols_line",
    "rmse_mixed_line",
    "mixed_closer",
    "kind",
    "data",
    "icc",
)

_INTEGER_COLUMNS = (
    "obs_per_cluster",
    "n_cluster",
    "seed",
    "n_obs",
    "n_groups",
    "rmse_clusters",
    "mixed_closer",
)


def summary_table(entries: Sequence[ScenarioReport | Failure]) -> Table:
    """summary.csv: one row per scenario, in the given order, failures included (their
    numbers empty)."""
    import numpy as np

    from ..table import Table

    rows: list[dict[str, Any]] = []
    for r in entries:
        if isinstance(r, Failure):
            rows.append({"scenario": r.name, "status": "failed", "error": r.message})
            continue
        m, e = r.metrics, r.metrics.errors
        row: dict[str, Any] = {
            "scenario": r.name,
            "title": r.title,
            "status": "ok",
            "error": "",
            **r.parameters,
            "method": r.method,
            "random": r.random,
            "n_obs": r.n_obs,
            "n_groups": r.n_groups,
            **m.estimates,
            "criterion": m.criterion,
            "singular": m.singular,
            "converged": m.converged,
            "mean_shrinkage": m.mean_shrinkage,
            "kind": r.kind,
        }
        if r.real is not None:
            row.update({"data": r.data_path, "icc": r.real.icc})
        if e is not None:
            row.update(
                {
                    "rmse_clusters": e.clusters,
                    "rmse_ols_intercept": e.ols_intercept,
                    "rmse_mixed_intercept": e.mixed_intercept,
                    "rmse_ols_slope": e.ols_slope,
                    "rmse_mixed_slope": e.mixed_slope,
                    "rmse_ols_line": e.ols_line,
                    "rmse_mixed_line": e.mixed_line,
                    "mixed_closer": e.closer,
                }
            )
        rows.append(row)
    columns: dict[str, np.ndarray] = {}
    for name in SUMMARY_COLUMNS:
        values = [row.get(name) for row in rows]
        present = [v for v in values if v is not None]
        if all(isinstance(v, float) for v in present) and name not in _INTEGER_COLUMNS:
            columns[name] = np.array([math.nan if v is None else v for v in values], dtype=float)
        else:  # text, flags, and integers that stay integers beside a failure's empty cell
            column = np.empty(len(values), dtype=object)
            column[:] = values
            columns[name] = column
    return Table(columns)


def summary_csv(entries: Sequence[ScenarioReport | Failure]) -> str:
    """summary.csv's text."""
    from ..io import table_text

    return table_text(summary_table(entries), "csv")


def inline(text: str, tag: str) -> str:
    """Text safe to put between <tag> and </tag>: it must not close the element early."""
    if f"</{tag}" in text.lower():
        raise ValueError(f"an inlined {tag} holds '</{tag}'")
    return text


def explore_page(
    entries: Sequence[ScenarioReport | Failure], sections: Sequence[Section] = ()
) -> str:
    """explore.html: the controls, the picture and the numbers, with the engine inlined."""
    from markupsafe import Markup

    scripts = Markup("\n".join(inline(static_text(n), "script") for n in SCRIPTS))
    styles = Markup("\n".join(inline(static_text(n), "style") for n in STYLES))
    return (
        environment()
        .get_template("explore.html.j2")
        .render(root="", data=page_data(entries), sliders=SLIDERS, scripts=scripts, styles=styles)
    )


Entries = Sequence[ScenarioReport | Failure]

#: The report's own files at the top of its folder, each with the function that writes it from
#: the scenarios and the extra sections.
PAGES: dict[str, Callable[[Entries, Sequence[Section]], str]] = {
    "style.css": lambda entries, sections: stylesheet(),
    "index.html": index_page,
    "report.md": markdown_page,
    "summary.csv": lambda entries, sections: summary_csv(entries),
    "explore.html": explore_page,
}


#: The report's manifest: versions, every input and output file with its SHA-256, each
#: scenario's seed and generator.
MANIFEST = "manifest.json"


def report_pages(entries: Entries, sections: Sequence[Section] = ()) -> dict[str, bytes | str]:
    """Every file of the report but the scenarios' own: the overview pages, each scenario's
    page, the sections' files, and last the manifest of them all, by path in the report
    folder."""
    files: dict[str, bytes | str] = {name: page(entries, sections) for name, page in PAGES.items()}
    for r in entries:
        if isinstance(r, ScenarioReport):
            files[f"{r.name}/index.html"] = scenario_page(r)
    for section in sections:
        files.update(section.files)
    files[MANIFEST] = manifest_json(entries, sections, files)
    return files


#: Distributions whose versions the manifest records (those installed).
LIBRARIES = (
    "numpy",
    "pandas",
    "scipy",
    "matplotlib",
    "pillow",
    "jinja2",
    "pydantic",
    "pyyaml",
    "pyarrow",
    "statsmodels",
    "typer",
    "rich",
)

GENERATORS = {
    "r": "R's default generator (Mersenne-Twister, set.seed scrambling, normals by inversion, "
    "sample.int by rejection)",
    "numpy": "numpy's PCG64, seeded with seed mod 2^32",
}


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def manifest_json(
    entries: Entries, sections: Sequence[Section], files: Mapping[str, bytes | str]
) -> str:
    """manifest.json: shrink's, Python's and the libraries' versions; every input file and
    every output file with its SHA-256 (`files`: the report's own, beside each scenario's
    own); each scenario's seed and generator. The same inputs give the same manifest."""
    import hashlib
    import platform

    from ..io import to_json_text

    def sha(content: bytes | str) -> str:
        data = content.encode("utf-8") if isinstance(content, str) else content
        return hashlib.sha256(data).hexdigest()

    outputs = {name: sha(content) for name, content in files.items() if name != MANIFEST}
    inputs: dict[str, str] = {}
    scenarios: list[dict[str, Any]] = []
    for r in entries:
        if isinstance(r, Failure):
            scenarios.append(
                {"name": r.name, "source": r.source, "status": "failed", "error": r.message}
            )
            continue
        inputs.update(r.inputs)
        outputs.update({f"{r.name}/{f}": h for f, h in r.sha256.items()})
        seed, rng = r.parameters.get("seed"), r.parameters.get("rng", "r")
        scenarios.append(
            {
                "name": r.name,
                "source": r.source,
                "status": "ok",
                "kind": r.kind,
                "model": {"formula": r.formula, "method": r.method.upper()},
                "seed": seed,
                "generator": rng,
                "generator_detail": GENERATORS.get(str(rng), ""),
                "seed_use": (
                    "the data are simulated with this seed; study replication k uses seed + k - 1"
                )
                if r.kind == "simulated"
                else (
                    "the data are read from a table; bootstrap replication k of a study "
                    "uses seed + k - 1"
                ),
                "criterion": r.metrics.criterion,
            }
        )
    manifest = {
        "tool": "shrink",
        "version": __version__,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "libraries": _versions(),
        "scenarios": scenarios,
        "sections": [{"title": s.title, "anchor": s.anchor, **s.meta} for s in sections],
        "inputs": [{"path": p, "sha256": h} for p, h in inputs.items()],
        "outputs": [{"path": p, "sha256": outputs[p]} for p in sorted(outputs)],
    }
    return to_json_text(manifest)

"""Shared test fixtures: where the R reference lives, the post's scenarios, a CLI runner."""

from __future__ import annotations

# isort: off
import shrinkcli  # noqa: F401  (first: it keeps BLAS to one thread before numpy loads OpenBLAS)

# isort: on
import io
import math
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings
from typer.testing import CliRunner

from shrinkcli.lmm import CLUSTER_COLUMNS, Fit, ModelFit, OptSummary
from shrinkcli.model import ModelSpec
from shrinkcli.table import Table

# Property tests explore the same examples on every run, so that CI is repeatable; run with
# HYPOTHESIS_PROFILE=explore to draw new ones, HYPOTHESIS_PROFILE=long for a long search.
settings.register_profile("repeatable", derandomize=True, deadline=None)
settings.register_profile("explore", deadline=None)
# A long search: fifty times the examples of every property test (those of whole commands
# scale their CI size by it, tests/test_properties_commands.py), new ones on every run.
settings.register_profile("long", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

ROOT = Path(__file__).resolve().parents[1]
#: lme4's numbers and R's data for the six scenarios of the post (tests/r/make_reference.R).
REFERENCE = Path(__file__).resolve().parent / "data" / "reference"
SCENARIO_DIR = ROOT / "scenarios"
POST_SCENARIOS = (
    "baseline",
    "more-subject-variance",
    "more-slope-variance",
    "few-observations",
    "more-observations",
    "unbalanced",
)


def find_chromium() -> Path | None:
    """A Chromium to drive: $SHRINK_CHROMIUM, else Debian's (`chromium` on the PATH)."""
    given = os.environ.get("SHRINK_CHROMIUM")
    if given:
        return Path(given)
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The browser for the browser tests. Without one they are skipped, saying why — except
    in CI (the CI variable set), where a missing browser is a failure."""
    path = find_chromium()
    if path is None or not path.exists():
        what = f"SHRINK_CHROMIUM={path}" if path else "no chromium on the PATH"
        message = (
            f"{what}: install Debian's chromium (`make test` does, where apt-get and root "
            "or sudo are available) or set SHRINK_CHROMIUM=/path/to/chromium"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def read_csv_text(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text))


def _number(v: Any) -> float:
    """A JSON number; R's NULL (`{}`), null and "NaN" as NaN."""
    if v is None or v == {}:
        return math.nan
    return float(v)


def fit_from_lme4(
    d: dict[str, Any],
    *,
    random: str = "intercept-slope",
    names: dict[str, str] | None = None,
    optimizer: str = "nloptwrap",
    converged: bool = True,
    warnings: tuple[str, ...] = (),
    clusters: pd.DataFrame | None = None,
) -> Fit:
    """A Fit holding the numbers of an lme4.json fit object (lme4's θ, β, SEs, σ², criterion),
    for tests of what is drawn or printed from a fit."""
    theta = tuple(float(t) for t in d["theta"])
    if clusters is None:
        rows = []
        for c in d["clusters"]:
            row = {col: math.nan for col in CLUSTER_COLUMNS}
            row.update({k: v for k, v in c.items() if k in CLUSTER_COLUMNS})
            rows.append(row)
        clusters = pd.DataFrame(rows, columns=list(CLUSTER_COLUMNS))
    ranef = clusters[["ranef_intercept", "ranef_slope"]].to_numpy(dtype=float)
    model = ModelFit(
        spec=ModelSpec(random, "reml" if d["method"] == "REML" else "ml"),
        criterion=float(d["criterion"]),
        n_obs=int(d["n_obs"]),
        n_groups=int(d["n_groups"]),
        theta=theta,
        beta=np.array([_number(f["estimate"]) for f in d["fixed_effects"]]),
        std_errors=np.array([_number(f["std_error"]) for f in d["fixed_effects"]]),
        sigma2=float(d["residual"]["variance"]),
        ranef=np.nan_to_num(ranef),
        optimizer=OptSummary(
            optimizer, 0, converged, "" if converged else "failed", "", theta, theta, 0, 0.0, None
        ),
        scaled_residual_quantiles=tuple(d["scaled_residual_quantiles"]),  # type: ignore[arg-type]
    )
    return Fit(
        model=model,
        table=Table.from_pandas(clusters),
        names=names or {"y": "y", "x": "x", "cluster": "cluster"},
        engine="lme4",
        warnings=warnings,
    )

"""Shared test fixtures: where the R reference lives, the post's scenarios, a CLI runner."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings
from typer.testing import CliRunner

# Property tests explore the same examples on every run, so that CI is repeatable; run with
# HYPOTHESIS_PROFILE=explore to draw new ones.
settings.register_profile("repeatable", derandomize=True, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
SCENARIO_DIR = ROOT / "scenarios"
POST_SCENARIOS = (
    "baseline",
    "more-subject-variance",
    "more-slope-variance",
    "few-observations",
    "more-observations",
    "unbalanced",
)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def read_csv_text(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text))

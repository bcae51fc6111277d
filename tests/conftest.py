"""Shared test fixtures: where the R reference lives, the post's scenarios, a CLI runner."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

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

"""Values whose squares double precision cannot hold (y ≈ 1e300, a spread of 1e-300) are refused
in one line naming the column, before any sum overflows or underflows; values within the limit
are fitted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIO_DIR
from typer.testing import CliRunner

from shrinkcli.cli import app
from shrinkcli.scenario import load_scenario
from shrinkcli.simulate import simulate


def _table(tmp_path: Path, column: str, factor: float) -> str:
    data = simulate(load_scenario(SCENARIO_DIR / "baseline.yaml")).data.copy()
    data[column] = data[column] * factor
    path = tmp_path / "d.csv"
    pd.DataFrame(data).to_csv(path, index=False, float_format="%.17g")
    return str(path)


@pytest.mark.parametrize(
    ("column", "factor", "says"),
    [
        ("y", 1e300, "holds values up to"),
        ("y", -1e300, "holds values up to"),
        ("x", 1e300, "holds values up to"),
        ("y", 1e-300, "varies by only"),
        ("x", 1e-300, "varies by only"),
    ],
)
def test_a_column_beyond_double_precision_is_refused_in_one_line(
    runner: CliRunner, tmp_path: Path, column: str, factor: float, says: str
) -> None:
    path = _table(tmp_path, column, factor)
    res = runner.invoke(app, ["fit", path])
    assert res.exit_code == 1
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr  # no RuntimeWarning, no traceback
    assert lines[0].startswith(f"shrink: error: {path}: column '{column}' {says}")
    assert "power of ten" in lines[0]


def test_large_values_within_the_limit_are_fitted(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(app, ["fit", _table(tmp_path, "y", 1e90), "-f", "json"])
    assert res.exit_code == 0, res.stderr
    assert res.stderr == ""
    assert np.isfinite(float(res.stdout.split('"criterion": ')[1].split(",")[0]))

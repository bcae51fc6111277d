"""Values that are numbers only by reading, and outcomes that want another model than the
Gaussian one fitted, are said in one warning each (PreparedData.warnings, then on stderr)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from shrinkcli.cli import app
from shrinkcli.io import read_table
from shrinkcli.lmm.prepare import prepare_data
from shrinkcli.table import Table

BINARY = (
    "y: every value is 0 or 1: fitted as a Gaussian (linear) mixed model; a binary "
    "outcome wants a binomial model, which shrink does not fit yet"
)


def _table(y: np.ndarray, x: object = None) -> Table:
    rng = np.random.default_rng(3)
    n = y.shape[0]
    return Table(
        {"y": y, "x": rng.normal(size=n) if x is None else x, "cluster": np.arange(n) % 10}
    )


def test_a_binary_outcome_is_said() -> None:
    y = (np.random.default_rng(1).random(200) < 0.4).astype(np.float64)
    assert prepare_data(_table(y)).warnings == (BINARY,)
    assert prepare_data(_table(y.astype(np.int64))).warnings == (BINARY,)


def test_a_count_outcome_is_said_and_a_measured_one_is_not() -> None:
    counts = np.random.default_rng(2).poisson(3.0, size=200).astype(np.float64)
    counts[0] = 0
    (warning,) = prepare_data(_table(counts)).warnings
    assert warning.startswith(
        f"y: every value is a whole number from 0 to {counts.max():g}: "
        "fitted as a Gaussian (linear) mixed model; if these are counts"
    )
    grams = 35 + np.random.default_rng(2).integers(0, 300, size=200)  # weights, no zero
    assert prepare_data(_table(grams.astype(np.float64))).warnings == ()
    measured = np.random.default_rng(2).normal(size=200)
    assert prepare_data(_table(measured)).warnings == ()


def test_true_false_text_is_said_to_be_read_as_1_0(tmp_path: Path) -> None:
    path = tmp_path / "tf.csv"
    rng = np.random.default_rng(4)
    path.write_text(
        "y,x,cluster\n"
        + "".join(
            f"{rng.normal():.4f},{'TRUE' if i % 3 else 'FALSE'},{i % 10}\n" for i in range(100)
        )
    )
    prep = prepare_data(read_table(str(path), id_columns=["cluster"]))
    assert prep.warnings == ("x: TRUE/FALSE read as 1/0",)
    assert prep.x.tolist() == [0.0 if i % 3 == 0 else 1.0 for i in range(100)]


def test_quoted_numbers_are_said_to_be_read_as_numbers(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    rows = [{"y": float(rng.normal()), "x": str(1 + i % 4), "cluster": i % 10} for i in range(100)]
    path = tmp_path / "q.json"
    path.write_text(json.dumps(rows))
    prep = prepare_data(read_table(str(path), id_columns=["cluster"]))
    (warning,) = prep.warnings
    assert warning.startswith("x: quoted numbers read as numbers; if they are a factor's levels")
    assert prep.x.tolist() == [1.0 + i % 4 for i in range(100)]


@pytest.mark.parametrize("y", ["0/1", "measured"])
def test_fit_says_a_binary_outcome_on_stderr(runner: CliRunner, tmp_path: Path, y: str) -> None:
    rng = np.random.default_rng(6)
    path = tmp_path / "b.csv"
    path.write_text(
        "y,x,cluster\n"
        + "".join(
            f"{int(rng.random() < 0.5) if y == '0/1' else rng.normal()},"
            f"{rng.normal():.4f},{i % 10}\n"
            for i in range(200)
        )
    )
    res = runner.invoke(app, ["fit", str(path), "--random", "intercept"])
    assert res.exit_code == 0, res.stderr
    said = f"shrink: warning: {BINARY}\n" in res.stderr
    assert said == (y == "0/1")
    assert res.stdout.startswith("cluster,n,")


def test_quoted_numbers_in_a_csv_are_said_as_r_writes_a_factor(tmp_path: Path) -> None:
    """R's write.csv quotes a factor's levels ("1".."4"); pyarrow drops the quotes, so the
    reader keeps such a column as text for the engine to read and say."""
    rng = np.random.default_rng(7)
    path = tmp_path / "r.csv"
    path.write_text(
        '"y","x","cluster"\n'
        + "".join(f'{rng.normal():.4f},"{1 + i % 4}","c{i % 10}"\n' for i in range(100))
    )
    prep = prepare_data(read_table(str(path), id_columns=["cluster"]))
    (warning,) = prep.warnings
    assert warning.startswith("x: quoted numbers read as numbers")
    assert prep.x.tolist() == [1.0 + i % 4 for i in range(100)]
    unquoted = tmp_path / "u.csv"
    unquoted.write_text(path.read_text().replace('"', ""))
    assert prepare_data(read_table(str(unquoted), id_columns=["cluster"])).warnings == ()

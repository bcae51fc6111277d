"""Tables as numpy columns: conversions from and to pandas, text ids as Factors, and the engine
taking a Table exactly as it takes a data frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIO_DIR

from shrinkcli import fit, load_scenario, simulate
from shrinkcli.lmm import TABLE_COLUMNS, prepare_data
from shrinkcli.table import Factor, Table, missing


def test_columns_of_one_length() -> None:
    t = Table({"a": [1.0, 2.0], "b": np.array([3, 4])})
    assert len(t) == 2 and t.names == ["a", "b"] and "a" in t and "c" not in t
    assert t["b"].dtype.kind == "i"
    with pytest.raises(ValueError, match="different lengths"):
        Table({"a": [1.0], "b": [1.0, 2.0]})


def test_from_pandas_keeps_values_and_marks_missing_ones() -> None:
    df = pd.DataFrame(
        {
            "f": [1.5, np.nan, 3.0],
            "i": pd.array([7, None, 9], dtype="Int64"),
            "s": ["007", None, "b"],
            "c": pd.Categorical(["x", "y", "x"]),
            "b": [True, False, True],
        }
    )
    t = Table.from_pandas(df)
    assert np.isnan(t["f"]).tolist() == [False, True, False]
    assert t["i"].dtype == np.float64 and np.isnan(t["i"][1]) and t["i"][2] == 9.0
    assert isinstance(t["s"], Factor) and t.array("s").tolist() == ["007", None, "b"]
    assert missing(t["s"]).tolist() == [False, True, False]
    assert isinstance(t["c"], Factor) and t.array("c").tolist() == ["x", "y", "x"]
    assert t["b"].dtype == bool
    back = t.to_pandas()
    assert back["s"].tolist()[0] == "007" and back["f"].isna().tolist() == [False, True, False]


def test_text_ids_in_lme4s_order_with_missing_and_unused_levels() -> None:
    rng = np.random.default_rng(4)
    n = 60
    codes = np.repeat(np.arange(3), n // 3)
    codes[5] = -1  # a missing id: its row is dropped
    ids = Factor(codes, np.array(["s10", "s9", "unused", "s1"], dtype=object)[[0, 1, 3]])
    table = Table({"y": rng.normal(size=n), "x": rng.normal(size=n), "cluster": ids})
    prep = prepare_data(table)
    assert prep.ids.tolist() == ["s1", "s10", "s9"]  # text order, as R sorts character ids
    assert prep.warnings == ("dropped 1 row with missing values",)
    assert prep.y.shape == (n - 1,)
    # the codes point at the right ids
    kept = np.flatnonzero(codes >= 0)
    original = np.array(["s10", "s9", "s1"], dtype=object)[codes[kept]]
    assert (prep.ids[prep.codes] == original).all()


def test_a_table_and_a_data_frame_give_the_same_fit() -> None:
    sim = simulate(load_scenario(SCENARIO_DIR / "unbalanced.yaml"))
    a = fit(sim.table, truth=sim.truth_table)
    b = fit(sim.data, truth=sim.truth)
    assert a.model.criterion == b.model.criterion and a.model.theta == b.model.theta
    for name in a.table.names:
        np.testing.assert_array_equal(a.table[name], b.table[name])
    assert list(a.clusters.columns) == list(a.table.names)
    assert a.to_frame().shape == (100, len(TABLE_COLUMNS) + 2)  # with the truth

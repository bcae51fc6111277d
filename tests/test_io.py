"""Reading tables (ids kept as given, missing values, separators) and atomic writing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shrinkcli.errors import DataError, OutputError, UsageError
from shrinkcli.io import check_output_folder, read_table, table_text, write_atomic, write_files


def test_ids_are_kept_as_given() -> None:
    ints = read_table("t", text="y,x,g\n1,2,7\n2,3,12\n", id_columns=["g"])
    assert ints["g"].tolist() == [7, 12] and ints["g"].dtype.kind == "i"
    padded = read_table("t", text="y,x,g\n1,2,007\n2,3,12\n", id_columns=["g"])
    assert padded["g"].tolist() == ["007", "12"]
    names = read_table("t", text="y,x,g\n1,2,north\n2,3,south\n", id_columns=["g"])
    assert names["g"].tolist() == ["north", "south"]
    gaps = read_table("t", text="y,x,g\n1,2,7\n2,3,\n", id_columns=["g"])
    assert str(gaps["g"].dtype) == "Int64" and gaps["g"].isna().tolist() == [False, True]


def test_numbers_missing_values_and_separators() -> None:
    df = read_table("t", text="y,x,g\n1.5,NA,a\n,2,b\n")
    assert df["y"].isna().tolist() == [False, True] and df["x"].isna().tolist() == [True, False]
    tsv = read_table("t", text="y\tx\tg\n1\t2\ta\n")
    assert list(tsv.columns) == ["y", "x", "g"]
    with pytest.raises(DataError, match="no rows"):
        read_table("t", text="y,x,g\n")
    with pytest.raises(DataError, match="empty"):
        read_table("t", text="\n\n")


def test_table_text_round_trips_floats() -> None:
    import pandas as pd

    df = pd.DataFrame({"a": [0.1 + 0.2, 1 / 3, float("nan")], "b": [1, 2, 3]})
    text = table_text(df, "csv")
    assert text.splitlines()[1].startswith("0.30000000000000004,")
    assert text.splitlines()[3] == ",3"
    back = read_table("t", text=text)
    assert back["a"].iloc[1] == 1 / 3


def test_write_atomic_leaves_nothing_half_written(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    folder = tmp_path / "locked"
    folder.mkdir()
    os.chmod(folder, 0o500)
    try:
        if os.geteuid() != 0:
            with pytest.raises(OutputError):
                write_atomic(folder / "x.csv", "data")
            assert list(folder.iterdir()) == []
    finally:
        os.chmod(folder, 0o700)
    with pytest.raises(OutputError):
        write_atomic(tmp_path / "missing" / "x.csv", "data")


def test_one_writer_puts_a_results_files_in_a_folder(tmp_path: Path) -> None:
    files = {"a.csv": "x\n1\n", "sub/b.png": b"\x89PNG", "sub/deeper/c.txt": "c"}
    out = tmp_path / "out"
    assert write_files(out, files) == list(files)
    assert (out / "a.csv").read_text() == "x\n1\n"
    assert (out / "sub" / "b.png").read_bytes() == b"\x89PNG"
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["a.csv", "b.png", "c.txt"]
    for bad in ("../escape.txt", "/abs.txt", ""):
        with pytest.raises(ValueError):
            write_files(out, {bad: "x"})
    assert not (tmp_path / "escape.txt").exists()


def test_an_output_folder_is_checked_before_any_work(tmp_path: Path) -> None:
    check_output_folder(str(tmp_path / "new"))
    (tmp_path / "file").write_text("x")
    for bad in ("-", str(tmp_path / "file"), str(tmp_path / "no" / "such")):
        with pytest.raises(UsageError) as info:
            check_output_folder(bad)
        assert info.value.field == "output"

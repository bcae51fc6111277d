"""Reading tables (ids kept as given, missing values, separators) and atomic writing."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from shrinkcli.errors import DataError, OutputError, UsageError
from shrinkcli.io import (
    check_output_folder,
    read_table,
    table_bytes,
    table_text,
    write_atomic,
    write_files,
)
from shrinkcli.table import Factor, Table


def test_ids_are_kept_as_given() -> None:
    ints = read_table("t", text="y,x,g\n1,2,7\n2,3,12\n", id_columns=["g"])
    assert ints["g"].tolist() == [7, 12] and ints["g"].dtype.kind == "i"
    padded = read_table("t", text="y,x,g\n1,2,007\n2,3,12\n", id_columns=["g"])
    assert padded.array("g").tolist() == ["007", "12"]
    names = read_table("t", text="y,x,g\n1,2,north\n2,3,south\n", id_columns=["g"])
    assert names.array("g").tolist() == ["north", "south"]
    assert isinstance(names["g"], Factor)  # codes and the distinct ids, not a string per row
    assert names["g"].levels.tolist() == ["north", "south"]
    gaps = read_table("t", text="y,x,g\n1,2,7\n2,3,\n4,5, 7\n", id_columns=["g"])
    assert isinstance(gaps["g"], Factor) and gaps["g"].levels.tolist() == [7]
    assert gaps.array("g").tolist() == [7, None, 7]
    big = read_table("t", text="y,x,g\n1,2,99999999999999999999\n", id_columns=["g"])
    assert big.array("g").tolist() == ["99999999999999999999"]  # beyond int64: kept as text


def test_numbers_missing_values_and_separators() -> None:
    t = read_table("t", text="y,x,g\n1.5,NA,a\n,2,b\n")
    assert np.isnan(t["y"]).tolist() == [False, True] and np.isnan(t["x"]).tolist() == [True, False]
    tsv = read_table("t", text="y\tx\tg\n1\t2\ta\n")
    assert tsv.names == ["y", "x", "g"]
    spaced = read_table("t", text="y, x, g\n1.5, NA, a\n2, 3, b\n")
    assert spaced.names == ["y", "x", "g"] and np.isnan(spaced["x"]).tolist() == [True, False]
    assert spaced["y"].tolist() == [1.5, 2.0]
    with pytest.raises(DataError, match="no rows"):
        read_table("t", text="y,x,g\n")
    with pytest.raises(DataError, match="empty"):
        read_table("t", text="\n\n")
    with pytest.raises(DataError, match="cannot parse the table: .*Expected 3 columns"):
        read_table("t", text="y,x,g\n1,2,3\n1,2,3,4\n")
    with pytest.raises(DataError, match="'x' appears twice"):
        read_table("t", text="y,x,x\n1,2,3\n")
    trailing = read_table("t", text="y,x,g,,\n1,2,a,,\n")  # a spreadsheet's trailing commas
    assert trailing.names == ["y", "x", "g", "Unnamed: 3", "Unnamed: 4"]
    with pytest.raises(DataError, match="not a table"):
        read_table("t", text=b"\xff\xfe\x00\x01")


def test_table_text_round_trips_floats() -> None:
    import pandas as pd

    df = pd.DataFrame({"a": [0.1 + 0.2, 1 / 3, float("nan")], "b": [1, 2, 3]})
    text = table_text(df, "csv")
    assert text.splitlines()[1].startswith("0.30000000000000004,")
    assert text.splitlines()[3] == ",3"
    back = read_table("t", text=text)
    assert back["a"][1] == 1 / 3


#: Doubles whose text is easy to get wrong: both ends of the range, subnormals, negative zero,
#: powers of ten around the switches between positional and exponent notation.
SPECIAL = [
    0.0,
    -0.0,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    0.1 + 0.2,
    1 / 3,
    1.0,
    -1.0,
    100.0,
    123456789.0,
    9999999999.0,
    1e10,
    1.5e10,
    1e-6,
    1.5e-6,
    9.999999999999999e-7,
    1e-7,
    1e21,
    1e22,
    2.5e-310,
    123456789012345680.0,
    0.000123,
    12345.678,
]


def random_doubles(n: int, seed: int = 1) -> np.ndarray:
    """n doubles: random bit patterns (any finite double), normals at every scale, integers,
    the special values, and NaN."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2**64, size=n // 4, dtype=np.uint64).view(np.float64)
    bits = bits[np.isfinite(bits)]
    scaled = rng.standard_normal(n // 4) * 10.0 ** rng.integers(-12, 16, size=n // 4)
    integers = rng.integers(-(10**6), 10**6, size=n // 4).astype(np.float64)
    out = np.concatenate([bits, scaled, integers, SPECIAL, [np.nan] * 100])
    return np.concatenate([out, rng.standard_normal(n - out.shape[0])])


def same_doubles(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal as doubles bit for bit (so −0.0 ≠ 0.0), NaN equal to NaN."""
    nan = np.isnan(a)
    return bool(
        np.array_equal(nan, np.isnan(b))
        and np.array_equal(a[~nan].view(np.int64), b[~nan].view(np.int64))
    )


def test_a_million_doubles_read_back_exactly() -> None:
    """Every number written reads back as the same double (the CSV path pyarrow writes and
    reads, NaN as an empty cell), in CSV, TSV, JSON and Parquet."""
    values = random_doubles(1_000_000)
    ids = np.arange(values.shape[0]) % 997
    table = Table({"v": values, "cluster": ids})
    for fmt in ("csv", "tsv", "parquet"):
        data = table_bytes(table, fmt)
        if fmt == "csv":
            assert b"\n,1\n" in data or b"\n," in data  # NaN: an empty cell
            assert b"nan" not in data
        back = read_table(f"t.{fmt}", text=data) if fmt != "parquet" else _parquet_back(data)
        assert same_doubles(np.asarray(back["v"], dtype=float), values), fmt
        assert np.array_equal(back["cluster"], ids)
    small = Table({"v": values[:20_000]})
    parsed = json.loads(table_bytes(small, "json"))
    got = np.array([np.nan if r["v"] is None else r["v"] for r in parsed])
    assert same_doubles(got, values[:20_000])


def _parquet_back(data: bytes) -> Table:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".parquet") as f:
        f.write(data)
        f.flush()
        return read_table(f.name, id_columns=["cluster"])


def test_the_python_and_the_arrow_writers_write_the_same_bytes() -> None:
    """Small tables are formatted in Python, large ones by pyarrow: the same text either way."""
    from shrinkcli.io.write import arrow_delimited, python_delimited

    values = random_doubles(200_000, seed=7)
    rng = np.random.default_rng(3)
    table = Table(
        {
            "v": values,
            "n": rng.integers(-5, 10**12, size=values.shape[0]),
            "ok": rng.integers(0, 2, size=values.shape[0]).astype(bool),
            "id": Factor(
                rng.integers(-1, 3, size=values.shape[0]),
                np.array(["007", "north", "a b"], dtype=object),
            ),
            "name": np.array([f"c{i:06d}" for i in range(values.shape[0])], dtype=object),
            "town": np.array(["Zoë", "Łódź", "x"], dtype=object)[
                rng.integers(0, 3, values.shape[0])
            ],
        }
    )
    for sep in (",", "\t"):
        assert b"".join(arrow_delimited(table, sep)) == python_delimited(table, sep).encode()


def test_blocks_formatted_ahead_come_in_order_and_stop_with_their_reader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Blocks formatted by several threads come out in order, whichever finishes first; a
    formatting error reaches the reader; a reader that stops leaves no thread behind."""
    import random
    import threading
    import time

    import pyarrow as pa

    from shrinkcli import parallel
    from shrinkcli.io import formatted_ahead

    monkeypatch.setattr(pa, "cpu_count", lambda: 3)
    monkeypatch.setattr(parallel, "cores", lambda: 4)
    delays = random.Random(5).choices([0.0, 0.001, 0.004], k=40)
    busy: list[int] = []

    def block(start: int) -> bytes:
        busy.append(start)
        time.sleep(delays[start])
        return f"{start}\n".encode()

    assert list(formatted_ahead(block, range(40))) == [f"{i}\n".encode() for i in range(40)]

    def formatter() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("shrink-format")]

    assert formatter() == []
    busy.clear()
    blocks = formatted_ahead(block, range(40))
    assert next(blocks) == b"0\n"
    assert formatter() and len(busy) <= 1 + 3  # never more than one a thread ahead
    blocks.close()  # the reader stops (an error, Ctrl-C): nothing goes on formatting
    assert formatter() == [] and len(busy) < 40

    def failing(start: int) -> bytes:
        if start == 7:
            raise OSError("no space left on device")
        return b"."

    with pytest.raises(OSError, match="no space"):
        list(formatted_ahead(failing, range(40)))
    assert formatter() == []
    monkeypatch.setattr(parallel, "cores", lambda: 1)  # one core allowed: as asked, no thread
    assert list(formatted_ahead(block, range(3))) == [b"0\n", b"1\n", b"2\n"]
    assert formatter() == [] and busy[-3:] == [0, 1, 2]
    monkeypatch.setattr(parallel, "cores", lambda: 8)
    monkeypatch.setattr(pa, "cpu_count", lambda: 1)  # Arrow told to use one thread: the same
    assert list(formatted_ahead(block, range(3))) == [b"0\n", b"1\n", b"2\n"]


def test_the_python_and_the_arrow_json_rows_are_the_same_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """JSON rows are assembled in Python for small tables, by Arrow for large ones (the same
    dumps of the values either way): the same text, in blocks or whole."""
    import shrinkcli.io as sio
    from shrinkcli.io import json_output

    values = random_doubles(120_000, seed=5)  # blocks of 43,690 rows: three
    values[::997] = np.nan
    values[1::1999] = np.inf
    rng = np.random.default_rng(4)
    text = np.array(["a,b", 'say "hi"', "Zoë", "7%", "", "tab\there", "line\nbreak"], dtype=object)
    table = Table(
        {
            "v": values,
            "n%s": rng.integers(-5, 10**12, size=values.shape[0]),
            "ok": rng.integers(0, 2, size=values.shape[0]).astype(bool),
            "id": Factor(
                rng.integers(-1, 3, size=values.shape[0]),
                np.array(["007", "north", "a b"], dtype=object),
            ),
            "text": text[rng.integers(0, text.shape[0], size=values.shape[0])],
            "plain": np.array([f"c{i:06d}" for i in range(values.shape[0])], dtype=object),
        }
    )
    monkeypatch.setattr(json_output, "JSON_ARROW_CELLS", (10**12, 10**12))
    python = sio.table_bytes(table, "json")
    python_fit = sio.to_json_columns({"a": [1, 2]}, "rows", table)
    monkeypatch.setattr(json_output, "JSON_ARROW_CELLS", (0, 0))
    assert sio.table_bytes(table, "json") == python
    assert b"".join(sio.table_blocks(table, "json")) == python
    assert sio.to_json_columns({"a": [1, 2]}, "rows", table) == python_fit
    assert json.loads(python_fit)["rows"][1]["id"] == table.array("id")[1]
    assert sio.table_bytes(Table({"v": values[:1]}), "json") == b'[\n  {\n    "v": ' + (
        json_output._json_texts(values[:1])[0] + b"\n  }\n]\n"
    )


def test_text_that_needs_quotes_is_quoted() -> None:
    table = Table(
        {
            "name": np.array(["a,b", 'say "hi"', "plain", None], dtype=object),
            "x": np.array([1.0, 2.0, 3.0, 4.0]),
        }
    )
    text = table_text(table, "csv")
    assert text.splitlines() == ["name,x", '"a,b",1', '"say ""hi""",2', "plain,3", ",4"]
    back = read_table("t", text=text)
    assert back.array("name").tolist() == ["a,b", 'say "hi"', "plain", None]


def test_parquet_in_and_out(tmp_path: Path) -> None:
    table = Table(
        {"y": [1.5, np.nan], "x": [0.25, -0.0], "cluster": np.array(["007", "b"], dtype=object)}
    )
    path = tmp_path / "d.parquet"
    path.write_bytes(table_bytes(table, "parquet"))
    back = read_table(str(path), id_columns=["cluster"])
    assert back.array("cluster").tolist() == ["007", "b"]  # text stays text in Parquet
    assert same_doubles(np.asarray(back["y"]), np.array([1.5, np.nan]))
    assert same_doubles(np.asarray(back["x"]), np.array([0.25, -0.0]))
    assert table_bytes(table, "parquet") == table_bytes(table, "parquet")  # reproducible
    with pytest.raises(ValueError):
        table_text(table, "parquet")


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

    def stopped() -> Iterator[bytes]:  # Ctrl-C while the blocks are formatted
        yield b"y,x\n"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, stopped())
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["locked", "out.csv"]


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


def test_json_from_columns_is_the_dump_of_the_rows() -> None:
    """A fit's JSON is written from its table's columns: the bytes of one dump of row dicts,
    with missing values (no slope of its own), text ids with commas, quotes and accents, and
    awkward column names."""
    from shrinkcli import fit, load_scenario, simulate
    from shrinkcli.io import to_json_bytes, to_json_columns
    from shrinkcli.table import Table

    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "unbalanced.yaml"
    data = simulate(load_scenario(scenario)).table
    cluster = data.array("cluster")
    keep = (cluster != 1) | (np.arange(len(data)) == np.flatnonzero(cluster == 1)[0])
    result = fit(Table({name: data.array(name)[keep] for name in data.names}))
    whole = to_json_bytes(result.to_dict())
    rows = json.loads(whole)["clusters"]
    assert rows[0]["cluster"] == 1 and any(r["ols_slope"] is None for r in rows)
    assert to_json_columns(result.to_dict(clusters=False), "clusters", result.table) == whole
    ids = np.array(["a,b", 'say "hi"', "Zoë", "7%"], dtype=object)
    table = Table(
        {
            "cluster": ids,
            "n%b": np.array([1, 2, 3, 4]),
            "v": np.array([0.1, np.nan, np.inf, -1e-300]),
            "ok": np.array([True, False, True, True]),
        }
    )
    records = [
        {"cluster": c, "n%b": n, "v": v, "ok": o}
        for c, n, v, o in zip(
            ids.tolist(),
            [1, 2, 3, 4],
            [0.1, None, None, -1e-300],
            [True, False, True, True],
            strict=True,
        )
    ]
    assert to_json_columns({"a": 1}, "rows", table) == to_json_bytes({"a": 1, "rows": records})
    assert to_json_columns({"a": 1}, "c", Table({})) == to_json_bytes({"a": 1, "c": []})


def test_a_stream_a_file_and_text_read_alike(tmp_path: Path) -> None:
    """stdin is read by pyarrow a block at a time after the first 64 KiB (the header check);
    what it reads is what the same bytes give from a file or as text, BOM and CRLF included."""
    import io as _io

    rng = np.random.default_rng(11)
    n = 20_000  # about 0.8 MB: well past the first 64 KiB
    y, x = rng.normal(size=n), rng.normal(size=n)
    ids = [f"s{i % 37:03d}" for i in range(n)]
    rows = zip(y.tolist(), x.tolist(), ids, strict=True)
    lines = ["y,x,cluster"] + [f"{a!r},{b!r},{c}" for a, b, c in rows]
    raw = b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n"
    path = tmp_path / "d.csv"
    path.write_bytes(raw)
    tables = [
        read_table("<stdin>", stream=_io.BytesIO(raw), id_columns=["cluster"]),
        read_table(str(path), id_columns=["cluster"]),
        read_table("t", text=raw, id_columns=["cluster"]),
    ]
    for t in tables:
        assert t.names == ["y", "x", "cluster"] and len(t) == n
        assert same_doubles(t["y"], y) and same_doubles(t["x"], x)
        assert t.array("cluster").tolist() == ids


@pytest.mark.parametrize(("cell", "kind"), [({"a": 1}, "an object"), (["a"], "an array")])
@pytest.mark.parametrize("column", ["x", "cluster"])
def test_a_json_cell_that_is_not_one_value_is_refused_in_one_line(
    tmp_path: Path, cell: object, kind: str, column: str
) -> None:
    from shrinkcli.io import read_table

    rows = [{"y": 1.0, "x": 0.5, "cluster": "a"}, {"y": 2.0, "x": 1.5, "cluster": "b"}]
    rows[1][column] = cell  # type: ignore[assignment]
    path = tmp_path / "n.json"
    path.write_text(json.dumps(rows))
    with pytest.raises(DataError) as err:
        read_table(str(path), id_columns=["cluster"])
    text = str(err.value)
    assert text.startswith(f"{path}: column '{column}', row 2: holds {kind} (")
    assert text.endswith("each value must be a number, text, true/false or null")
    assert "\n" not in text


def test_text_ids_are_kept_exactly_as_written_and_numbers_as_r_reads_them(tmp_path: Path) -> None:
    """R's read.csv (strip.white = FALSE) keeps 'a' and ' a' as two levels, and reads ' 7' and
    '7 ' as the number 7 (a numeric column allows spaces around its numbers)."""
    from shrinkcli.io import read_table
    from shrinkcli.table import missing

    path = tmp_path / "ids.csv"
    path.write_text("y,x,cluster\n1,1,a\n2,2, a\n3,3,a \n4,4,a\n5,5,\n6,6,  \n")
    column = read_table(str(path), id_columns=["cluster"])["cluster"]
    assert isinstance(column, Factor)
    assert column.values().tolist() == ["a", " a", "a ", "a", None, None]
    assert missing(column).tolist() == [False] * 4 + [True] * 2  # blank: missing
    path.write_text("y,x,cluster\n1,1,7\n2,2, 7\n3,3,7 \n4,4,8\n")
    column = read_table(str(path), id_columns=["cluster"])["cluster"]
    assert not isinstance(column, Factor) and column.tolist() == [7, 7, 7, 8]

"""Reading tables: CSV and TSV by pyarrow's multi-threaded reader block by block (never
held whole), JSON arrays of row objects, Parquet; the format from the file's name or its
first bytes, the separator from the header. Content that is not a table is a DataError
naming the source; the columns become numpy by `columns.from_arrow`."""

from __future__ import annotations

import io
import re
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, BinaryIO

from ..errors import DataError
from .columns import from_arrow
from .files import open_input, read_bytes
from .formats import MISSING, PARQUET_MAGIC, format_of

if TYPE_CHECKING:
    from ..table import Table


def read_table(
    source: str,
    *,
    text: str | bytes | None = None,
    stream: BinaryIO | None = None,
    id_columns: Collection[str] = (),
) -> Table:
    """Read a CSV, TSV, JSON or Parquet table from the file `source`, or from `text` or a binary
    `stream` (stdin) when given, with pyarrow's multi-threaded readers (CSV and TSV block by
    block, never held whole).

    The format is the one `source`'s name says (`format_of`), else what the first bytes say:
    Parquet starts with `PAR1`; JSON, an array of row objects (what `--format json` writes),
    with '['. Otherwise the separator is a tab for `.tsv`/`.tab`
    files and for text whose header has tabs and no commas, else a comma. Numbers are read at
    full precision (the double nearest the text); `id_columns` (the cluster column) keep their
    ids as given: integers when every id in a CSV is a canonical integer ("7", not "007" or
    "7.0"; spaces around them ignored, as R's read.csv reads numbers), else the text exactly as
    written (" a" is not "a"). Missing values: empty, NA, NaN, NULL and the like (`MISSING`).
    Column names are stripped of surrounding spaces.
    """
    named = format_of(source) if text is None and stream is None else None
    if named == "parquet":
        return _read_parquet(source, id_columns)
    if named == "json":
        return _json_table(source, read_bytes(source, kind="data file"), id_columns)
    if text is not None:
        return _read_csv(
            source, io.BytesIO(text.encode() if isinstance(text, str) else text), None, id_columns
        )
    if stream is not None:
        return _read_csv(source, stream, None, id_columns)
    with open_input(source, "data file") as f:
        return _read_csv(source, f, source, id_columns)


#: Anything but white space.
_TEXT = re.compile(rb"\S")
#: Bytes read ahead to check the text and find the header.
_HEAD = 1 << 16


def _read_head(f: BinaryIO) -> tuple[bytes, bool]:
    """The first bytes of a stream, at least 64 KiB and on until a line after the first
    non-blank one has text (or the stream ends); and whether it ended."""
    head = b""
    while True:
        chunk = f.read(_HEAD)
        head += chunk
        if not chunk:
            return head, True
        first = _TEXT.search(head)
        if first is not None and len(head) >= _HEAD:
            end = head.find(b"\n", first.start())
            if end >= 0 and _TEXT.search(head, end + 1) is not None:
                return head, False


def _read_csv(source: str, f: BinaryIO, path: str | None, id_columns: Collection[str]) -> Table:
    """A table from a stream `f` (the file at `path`, if it is one): delimited text, or JSON or
    Parquet by its first bytes."""
    head, ended = _read_head(f)
    if head.startswith(PARQUET_MAGIC):  # a Parquet file on stdin, or under another name
        import pyarrow as pa

        return _read_parquet(
            source, id_columns, pa.BufferReader(head if ended else head + f.read())
        )
    start = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    try:
        head[start : start + _HEAD].decode("utf-8")
    except UnicodeDecodeError as exc:
        cut = not (ended and start + _HEAD >= len(head)) and exc.reason == "unexpected end of data"
        if not cut:  # (a character cut in two by the 64 KiB window is fine)
            raise DataError(
                f"{source}: not a table (expected UTF-8 CSV, TSV or JSON text, or Parquet)"
            ) from None
    first = _TEXT.search(head, start)
    if first is None:
        raise DataError(f"{source}: empty input; expected a CSV table with a header row")
    if head[first.start()] == ord("["):  # a JSON array of rows
        return _json_table(source, head if ended else head + f.read(), id_columns)
    begin = max(head.rfind(b"\n", start, first.start()) + 1, start)  # the header line
    end = head.find(b"\n", begin)
    header = head[begin : end if end >= 0 else len(head)].decode("utf-8", "replace").rstrip("\r")
    tsv = format_of(source) == "tsv" or ("\t" in header and "," not in header)
    sep = "\t" if tsv else ","
    import csv

    names = [
        n.strip() or f"Unnamed: {i}"  # (a trailing separator: pandas' name for it)
        for i, n in enumerate(next(csv.reader([header], delimiter=sep)))
    ]
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise DataError(f"{source}: column {n!r} appears twice in the header")
        seen.add(n)
    if end < 0 or _TEXT.search(head, end + 1) is None:
        raise DataError(f"{source}: the table has a header but no rows")
    import pyarrow as pa

    if path is not None:  # a file: pyarrow reads it natively, from the first row on
        body = pa.OSFile(path)
        body.seek(end + 1)
    else:
        body = pa.PythonFile(_Joined(head[end + 1 :], f), mode="r")
    quoted = _quoted_numbers(head[end + 1 :], names, sep, id_columns)
    try:
        return _read_delimited(source, body, names, sep, id_columns, quoted)
    finally:
        body.close()


#: Data lines looked at for columns of quoted numbers.
_QUOTED_LINES = 200


def _quoted_numbers(
    body: bytes, names: list[str], sep: str, id_columns: Collection[str]
) -> list[str]:
    """The columns whose every cell in the first lines is a number in quotes ("1", as R's
    write.csv writes a factor's levels): pyarrow drops the quotes and reads them as numbers, so
    they are kept as text here, for the engine to read as numbers and say so."""
    import csv

    lines = body.decode("utf-8", "replace").splitlines()[:_QUOTED_LINES]
    raw = [line for line in lines if line.strip()]
    if not raw or '"' not in "".join(raw):
        return []
    cells = list(csv.reader(raw, delimiter=sep, quoting=csv.QUOTE_NONE))  # quotes kept
    out = []
    for j, name in enumerate(names):
        if name in id_columns:
            continue
        column = [row[j] for row in cells if j < len(row) and row[j].strip()]
        if column and all(
            len(c) >= 2 and c[0] == c[-1] == '"' and _is_number(c[1:-1]) for c in column
        ):
            out.append(name)
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Joined(io.RawIOBase):
    """A stream of the bytes already read, then the rest of `rest`."""

    def __init__(self, first: bytes, rest: BinaryIO) -> None:
        self._first = memoryview(first)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._first.nbytes:
            n = min(len(buffer), self._first.nbytes)
            buffer[:n] = self._first[:n]
            self._first = self._first[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _read_delimited(
    source: str,
    body: Any,
    names: list[str],
    sep: str,
    id_columns: Collection[str],
    quoted: Collection[str] = (),
) -> Table:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    try:
        arrow = pcsv.read_csv(
            body,
            read_options=pcsv.ReadOptions(column_names=names),
            parse_options=pcsv.ParseOptions(delimiter=sep),
            convert_options=pcsv.ConvertOptions(
                null_values=list(MISSING),
                strings_can_be_null=True,
                column_types={c: pa.string() for c in [*id_columns, *quoted] if c in names},
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        lines = str(exc).strip().splitlines()
        raise DataError(f"{source}: cannot parse the table: {lines[0] if lines else exc}") from None
    if arrow.num_rows == 0:
        raise DataError(f"{source}: the table has a header but no rows")
    table = from_arrow(arrow, id_columns, text_ids=True, quoted=quoted)
    del arrow
    pa.default_memory_pool().release_unused()  # the parsed blocks: numpy holds the columns now
    return table


def _read_parquet(source: str, id_columns: Collection[str], data: Any = None) -> Table:
    """The Parquet table in the file `source`, or in `data` (its bytes in a pyarrow buffer, read
    from a stream) when given."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    where = source if data is None else data
    if data is None:
        read_bytes(source, kind="data file", size=4)  # missing, a folder, ...
    try:
        schema = pq.read_schema(where)
        text = [
            c
            for c in schema.names
            if pa.types.is_string(schema.field(c).type)
            or pa.types.is_large_string(schema.field(c).type)
        ]
        # (a ParquetFile, not pq.read_table: that imports pyarrow.dataset, and pandas with it)
        with pq.ParquetFile(where, read_dictionary=[c for c in id_columns if c in text]) as pf:
            arrow = pf.read()
    except (pa.ArrowException, OSError) as exc:
        lines = str(exc).strip().splitlines()
        raise DataError(
            f"{source}: cannot read the Parquet file: {lines[0] if lines else exc}"
        ) from None
    if arrow.num_rows == 0:
        raise DataError(f"{source}: the table has no rows")
    return from_arrow(arrow.unify_dictionaries(), id_columns, text_ids=False)


def _json_table(source: str, data: bytes, id_columns: Collection[str]) -> Table:
    """A JSON array of row objects as a table; ids in `id_columns` kept as given (numbers as
    integers, text as text)."""
    import orjson
    import pandas as pd

    from ..table import Table

    try:
        rows = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DataError(f"{source}: not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise DataError(
            f"{source}: expected a JSON array of row objects, e.g. "
            '[{"y": 1.2, "x": 0.5, "cluster": 1}, ...]'
        )
    if not rows:
        raise DataError(f"{source}: the table has no rows")
    _check_json_cells(source, rows)
    df = pd.DataFrame.from_records(rows)
    for col in id_columns:
        if col in df.columns and df[col].dtype == object:
            df[col] = df[col].map(lambda v: v if v is None or isinstance(v, str) else str(v))
    return Table.from_pandas(df)


def _check_json_cells(source: str, rows: list[dict[str, Any]]) -> None:
    """Refuse a row whose value is an object or an array: a table's cell holds one number, text,
    true/false or null (pandas would keep the object, and a cluster column of them fails)."""
    for i, row in enumerate(rows):
        for name, value in row.items():
            if isinstance(value, dict | list):
                kind = "an object" if isinstance(value, dict) else "an array"
                raise DataError(
                    f"{source}: column {name!r}, row {i + 1}: holds {kind} "
                    f"({_short_json(value)}); each value must be a number, text, true/false "
                    "or null"
                )


def _short_json(value: Any) -> str:
    """A JSON value's text, cut to a length a message can hold."""
    import orjson

    text = orjson.dumps(value).decode()
    return text if len(text) <= 40 else text[:37] + "..."

"""JSON output: any value, or a table's rows as objects, at full round-trip precision (the
shortest text that reads back as the same double; NaN and ±inf as null), by orjson. A large
table's rows are assembled from its columns a block at a time, by Arrow when it pays, never
a dict of Python values per row."""

from __future__ import annotations

import contextlib
import math
import re
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .files import Bytes

if TYPE_CHECKING:
    import numpy as np

    from ..table import Table


def to_json_bytes(obj: Any) -> bytes:
    """JSON with floats at full round-trip precision (shortest text that reads back as the same
    double) and NaN, ±inf as null; numpy arrays and scalars as their values (orjson)."""
    import orjson

    option = orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    return orjson.dumps(obj, option=option) + b"\n"


def to_json_columns(head: Mapping[str, Any], key: str, table: Table) -> bytes:
    """`to_json_bytes({**head, key: rows})`, the same bytes, where `rows` are the rows of
    `table` as objects, written from its columns (see `_json_rows`)."""
    return b"".join(json_column_blocks(head, key, table))


def json_column_blocks(head: Mapping[str, Any], key: str, table: Table) -> Iterator[Bytes]:
    """`to_json_columns` a block at a time, formatted as they are asked for."""
    import orjson

    option = orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    text = orjson.dumps({**head, key: []}, option=option)
    assert text.endswith(b"[]\n}")
    if len(table) == 0:
        yield text + b"\n"
        return
    yield text[:-4] + b"[\n"
    yield from _json_rows(table, 2)
    yield b"\n  ]\n}\n"


#: Rows turned into JSON at a time (the texts of one block are held, not of all).
_JSON_BLOCK = 8192


def _json_rows(table: Table, depth: int) -> Iterator[Bytes]:
    """The rows of `table` as the objects of an indented orjson dump of a list at `depth`
    (separated by ',\n'), built from the columns a block of rows at a time: each column's block
    serialized whole (numbers by one dump of the array), the rows assembled from the values'
    texts; never a dict of Python values per row (a fit of 10⁵ clusters, a simulation of 10⁶
    rows)."""
    if len(table) * len(table.names) > _json_arrow_cells():
        yield from _arrow_json_rows(table, depth)
        return
    import orjson

    pad = "  " * depth
    fields = ",\n".join(
        f"{pad}  {orjson.dumps(name).decode().replace('%', '%%')}: %b" for name in table.names
    )
    row = f"{pad}{{\n{fields}\n{pad}}}".encode()
    columns = [table.array(name) for name in table.names]
    for start in range(0, len(table), _JSON_BLOCK):
        texts = [_json_texts(c[start : start + _JSON_BLOCK]) for c in columns]
        if start:
            yield b",\n"
        yield b",\n".join(row % values for values in zip(*texts, strict=True))


#: Cells from which JSON rows are assembled by Arrow: always worth it once pyarrow.compute is
#: loaded (a table read by pyarrow), else only for tables big enough to pay for its import.
JSON_ARROW_CELLS = (20_000, 2_000_000)


#: Cells of a block of rows joined by Arrow.
_JSON_ARROW_BLOCK = 1 << 18


def _json_arrow_cells() -> int:
    return JSON_ARROW_CELLS[0] if "pyarrow.compute" in sys.modules else JSON_ARROW_CELLS[1]


def _arrow_json_rows(table: Table, depth: int) -> Iterator[Bytes]:
    """`_json_rows` with the rows assembled by Arrow: the values' texts as Arrow strings (from
    the same dumps), each row joined from them and the constant text between them by one
    `binary_join_element_wise` per block, in C, without a Python object per row or per value.
    (One block at a time: formatted by several threads, as CSV is, a million rows' JSON took
    no less time and 30-50 MB more memory.)"""
    import numpy as np
    import orjson
    import pyarrow.compute as pc

    pad = "  " * depth
    keys = [orjson.dumps(name).decode() for name in table.names]
    pieces = [
        f"{pad}{{\n{pad}  {keys[0]}: ",
        *(f",\n{pad}  {k}: " for k in keys[1:]),
        f"\n{pad}}},\n",
    ]  # each row ends in ",\n", the last one's cut off at the end
    rows = min(max(_JSON_ARROW_BLOCK // len(keys), 1), len(table))
    constants = []  # each piece of text as an array, once per row of a block
    for piece in pieces:
        text = piece.encode()
        constants.append(_arrow_text(text * rows, np.arange(rows + 1) * len(text)))
    nothing = _arrow_text(b"", np.zeros(2, dtype=np.int64))[0]
    columns = [table.array(name) for name in table.names]
    for start in range(0, len(table), rows):
        texts = [_arrow_json_texts(c[start : start + rows]) for c in columns]
        n = len(texts[0])
        between = [c if len(c) == n else c.slice(0, n) for c in constants]
        parts = [a for pair in zip(between, texts, strict=False) for a in pair]
        joined = pc.binary_join_element_wise(*parts, between[-1], nothing)
        offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32)
        last = start + n == len(table)
        yield memoryview(joined.buffers()[2])[  # (the last row without its ",\n")
            offsets[joined.offset] : offsets[joined.offset + n] - (2 if last else 0)
        ]


def _arrow_text(data: bytes, offsets: np.ndarray) -> Any:
    """Arrow strings: `data` cut at `offsets` (one more than the strings)."""
    import numpy as np
    import pyarrow as pa

    return pa.Array.from_buffers(
        pa.string(),
        offsets.shape[0] - 1,
        [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)],
    )


def _arrow_json_texts(column: np.ndarray) -> Any:
    """`_json_texts` as an Arrow string array (numbers: one dump, split by Arrow)."""
    import numpy as np
    import orjson
    import pyarrow.compute as pc

    if column.dtype.kind in "fiub":
        whole = orjson.dumps(np.ascontiguousarray(column), option=orjson.OPT_SERIALIZE_NUMPY)
        one = _arrow_text(whole[1:-1], np.array([0, len(whole) - 2]))
        return pc.list_flatten(pc.split_pattern(one, ","))
    values = column.tolist()
    with contextlib.suppress(TypeError):  # not all text
        joined = "".join(values)
        if joined.isascii() and not _JSON_ESCAPED.search(joined):  # each is "value"
            lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values)) + 2
            offsets = np.zeros(len(values) + 1, dtype=np.int64)
            np.cumsum(lengths, out=offsets[1:])
            quoted = '"' + '""'.join(values) + '"'  # "a""b""c": each value in quotes
            return _arrow_text(quoted.encode("ascii"), offsets)
    texts = _json_texts(column)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in texts], out=offsets[1:])
    return _arrow_text(b"".join(texts), offsets)


#: Characters JSON text escapes.
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')


def _json_texts(column: np.ndarray) -> list[bytes]:
    """Each value of a column as orjson writes it (NaN and ±inf as null)."""
    import numpy as np
    import orjson

    if column.dtype.kind in "fiub":  # one dump of the array, split at its commas
        whole = orjson.dumps(np.ascontiguousarray(column), option=orjson.OPT_SERIALIZE_NUMPY)
        return whole[1:-1].split(b",")
    return [
        orjson.dumps(
            None if isinstance(v, float) and not math.isfinite(v) else v,
            option=orjson.OPT_SERIALIZE_NUMPY,
        )
        for v in column.tolist()
    ]


def to_json_text(obj: Any) -> str:
    """`to_json_bytes` as text."""
    return to_json_bytes(obj).decode("utf-8")


def jsonable(obj: Any) -> Any:
    """`obj` with plain Python values for JSON: numpy scalars unwrapped, NaN and ±inf as None,
    keys as text, tuples as lists."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    return _json_number(obj)


def _json_number(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item"):  # numpy scalar
        return _json_number(v.item())
    return v


def json_table_blocks(t: Table) -> Iterator[Bytes]:
    """A table as a JSON array of row objects, a block at a time."""
    if not len(t):
        yield to_json_bytes([])
        return
    yield b"[\n"
    yield from _json_rows(t, 1)
    yield b"\n]\n"

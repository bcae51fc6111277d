"""Writing tables as CSV, TSV, JSON or Parquet, in one text form whichever engine writes
them: small tables formatted here in Python (no import of pyarrow), large ones by pyarrow's
multi-threaded writer, block by block. The form is described below; a test pins the two
engines to the same bytes. (JSON rows are `json_output`'s.)"""

from __future__ import annotations

import collections
import io
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .files import Bytes
from .formats import TableFormat
from .json_output import json_table_blocks

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ..table import Column, Table


# One text form for every table, whichever engine writes it: numbers at full round-trip precision
# in the shortest text that reads back as the same double, as Arrow's CSV writer prints it
# (positional from 1e-6 up to 1e10, e.g. 0.000015 and 1234.5, else 1.5e-7 or 1.5e+10; 1 for 1.0,
# -0 for negative zero), missing values empty, booleans True/False, text quoted only where it
# holds the separator, a quote or a line break. Small tables are formatted here in Python (no
# import of pyarrow, whose import costs more than a fit of the post's data); large ones by
# pyarrow's multi-threaded writer. A test pins the two to the same bytes.

#: Tables with more cells than this are written by pyarrow (below it, formatting them here
#: takes less time than importing pyarrow, ~1.5 µs a cell against ~0.09 s).
ARROW_CELLS = 60_000


def table_bytes(table: Table | pd.DataFrame, fmt: TableFormat) -> bytes:
    """A table as CSV, TSV, JSON (an array of row objects, missing values null) or Parquet."""
    from ..table import Table

    t = table if isinstance(table, Table) else Table.from_pandas(table)
    if fmt == "json":
        return b"".join(json_table_blocks(t))
    if fmt == "parquet":
        return _parquet(t)
    sep = "," if fmt == "csv" else "\t"
    cells = len(t) * max(len(t.names), 1)
    if cells > ARROW_CELLS and _arrow_can_write(t, sep):
        return b"".join(arrow_delimited(t, sep))
    return python_delimited(t, sep).encode("utf-8")


def table_blocks(table: Table | pd.DataFrame, fmt: TableFormat) -> Iterator[Bytes]:
    """`table_bytes`, for a large CSV, TSV or JSON a block of rows at a time, formatted as they
    are asked for (written to a pipe, the reader parses one block while the next is
    formatted)."""
    from ..table import Table

    t = table if isinstance(table, Table) else Table.from_pandas(table)
    sep = "," if fmt == "csv" else "\t"
    cells = len(t) * max(len(t.names), 1)
    if fmt in ("csv", "tsv") and cells > ARROW_CELLS and _arrow_can_write(t, sep):
        yield from arrow_delimited(t, sep)
    elif fmt == "json":
        yield from json_table_blocks(t)
    else:
        yield table_bytes(t, fmt)


def table_text(table: Table | pd.DataFrame, fmt: TableFormat) -> str:
    """A table as CSV, TSV or JSON text (see `table_bytes`)."""
    if fmt == "parquet":
        raise ValueError("Parquet is binary; use table_bytes")
    return table_bytes(table, fmt).decode("utf-8")


_STRUCTURAL = ('"', "\n", "\r")


def _quote(text: str, sep: str) -> str:
    if sep in text or any(c in text for c in _STRUCTURAL):
        return '"' + text.replace('"', '""') + '"'
    return text


def format_float(v: float) -> str:
    """A double as its shortest round-trip text in Arrow's CSV form (NaN: empty)."""
    if v != v:
        return ""
    if v in (math.inf, -math.inf):
        return "inf" if v > 0 else "-inf"
    if v == 0.0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    text = repr(v)
    if -1e10 < v < 1e10 and "e" not in text:  # 1e-4 <= |v| < 1e10: repr is the form, or ends
        return text[:-2] if text.endswith(".0") else text  # in ".0" where Arrow writes none
    sign = "-" if text[0] == "-" else ""
    mantissa, _, exp = text.lstrip("-").partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = whole + frac
    point = len(whole) + (int(exp) if exp else 0)  # value = 0.digits × 10^point
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    exponent = point - 1
    if -6 <= exponent < 10:
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return sign + digits + "0" * (point - len(digits))
        return f"{sign}{digits[:point]}.{digits[point:]}"
    tail = f".{digits[1:]}" if len(digits) > 1 else ""
    return f"{sign}{digits[0]}{tail}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"


def _text_cells(col: Column, sep: str) -> list[str]:
    """A column's cells as text (see the form above)."""
    from ..table import Factor

    if isinstance(col, Factor):
        levels = _text_cells(col.levels, sep) + [""]
        return [levels[c] for c in col.codes.tolist()]  # code −1: the "" at the end
    kind = col.dtype.kind
    if kind == "f":
        return [format_float(v) for v in col.tolist()]
    if kind in "iu":
        return [str(v) for v in col.tolist()]
    if kind == "b":
        return ["True" if v else "False" for v in col.tolist()]
    return [_object_cell(v, sep) for v in col.tolist()]


def _object_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, float):
        return format_float(v)
    return str(v)


def _object_cell(v: Any, sep: str) -> str:
    return _quote(_object_text(v), sep)


def python_delimited(t: Table, sep: str) -> str:
    header = sep.join(_quote(n, sep) for n in t.names)
    if not t.names:
        return "\n"
    columns = [_text_cells(t[n], sep) for n in t.names]
    lines = [header, *(sep.join(row) for row in zip(*columns, strict=True))]
    return "\n".join(lines) + "\n"


def _text_levels(col: Column) -> np.ndarray | None:
    """The distinct text values a column may hold (None for numbers and booleans)."""
    from ..table import Factor

    if isinstance(col, Factor):
        return _text_levels(col.levels)
    return col if col.dtype.kind in "OUS" else None


def _arrow_can_write(t: Table, sep: str) -> bool:
    """Whether pyarrow writes the table in the form above: no text to quote."""
    for name in t.names:
        if _quote(name, sep) != name:
            return False
        values = _text_levels(t[name])
        if values is None:
            continue
        texts = [v for v in values.tolist() if v is not None]
        try:  # one scan of all the texts for a character that needs quotes
            joined = "".join(texts)
        except TypeError:  # not all text
            joined = "".join(str(v) for v in texts)
        if _quote(joined, sep) != joined:
            return False
    return True


# Arrow arrays are made from and read into numpy through their buffers: pyarrow's own
# conversions (pa.array, to_numpy) import pandas, which then imports pyarrow.compute, 0.3 s.


def _ascii_strings(values: list[Any]) -> Any:
    """Values that are all text and all ASCII as an Arrow string array, made from their
    concatenation (no bytes object per value, as the ids of 10⁵ clusters usually are); None for
    anything else."""
    import numpy as np
    import pyarrow as pa

    try:
        joined = "".join(values)
    except TypeError:  # not all text
        return None
    if not joined.isascii():  # lengths in characters are not lengths in bytes
        return None
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, values), dtype=np.int64, count=len(values)), out=offsets[1:])
    kind, width = (pa.string(), np.int32) if offsets[-1] < 2**31 else (pa.large_string(), np.int64)
    return pa.Array.from_buffers(
        kind,
        len(values),
        [None, pa.py_buffer(offsets.astype(width)), pa.py_buffer(joined.encode("ascii"))],
    )


def _arrow_strings(values: list[str | None]) -> Any:
    """UTF-8 strings (None: null) as an Arrow string array."""
    import numpy as np
    import pyarrow as pa

    plain = _ascii_strings(values)
    if plain is not None:
        return plain
    encoded = [b"" if v is None else v.encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    kind, width = (pa.string(), np.int32) if offsets[-1] < 2**31 else (pa.large_string(), np.int64)
    valid = _validity([v is not None for v in values])
    return pa.Array.from_buffers(
        kind,
        len(values),
        [valid, pa.py_buffer(offsets.astype(width)), pa.py_buffer(b"".join(encoded))],
    )


def _validity(valid: Any) -> Any:
    """An Arrow validity bitmap (None when every value is present)."""
    import numpy as np
    import pyarrow as pa

    flags = np.asarray(valid, dtype=bool)
    if flags.all():
        return None
    return pa.py_buffer(np.packbits(flags, bitorder="little"))


def _arrow_numbers(values: np.ndarray) -> Any:
    """float64 (NaN as null), int64 or bool values as an Arrow array."""
    import numpy as np
    import pyarrow as pa

    n = values.shape[0]
    if values.dtype.kind == "b":
        bits = pa.py_buffer(np.packbits(values, bitorder="little"))
        return pa.Array.from_buffers(pa.bool_(), n, [None, bits])
    if values.dtype.kind == "f":
        data = np.ascontiguousarray(values, dtype=np.float64)
        return pa.Array.from_buffers(
            pa.float64(), n, [_validity(~np.isnan(data)), pa.py_buffer(data)]
        )
    data = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(data)])


def _arrow_column(col: Column, *, csv: bool) -> Any:
    """A column as an Arrow array: numbers as they are (NaN as null), a Factor's ids row by
    row, other objects as text; for CSV also booleans as True/False."""
    from ..table import Factor

    if isinstance(col, Factor):
        levels = [_object_text(v) for v in col.levels.tolist()]
        return _arrow_strings([levels[c] if c >= 0 else None for c in col.codes.tolist()])
    kind = col.dtype.kind
    if kind in "fiu" or (kind == "b" and not csv):
        return _arrow_numbers(col)
    values = col.tolist()
    plain = _ascii_strings(values)  # all text: each value is its own text
    if plain is not None:
        return plain
    return _arrow_strings(
        [
            None if v is None or (isinstance(v, float) and v != v) else _object_text(v)
            for v in values
        ]
    )


def _arrow_table(t: Table, *, csv: bool) -> Any:
    import pyarrow as pa

    return pa.Table.from_arrays([_arrow_column(t[n], csv=csv) for n in t.names], names=t.names)


#: Rows of a block of a large table's text.
BLOCK_ROWS = 1 << 17


def arrow_delimited(t: Table, sep: str) -> Iterator[Bytes]:
    """The header, then blocks of `BLOCK_ROWS` rows formatted by pyarrow, several at once
    (`formatted_ahead`)."""
    import pyarrow.csv as pcsv

    yield sep.join(t.names).encode("utf-8") + b"\n"
    options = pcsv.WriteOptions(include_header=False, delimiter=sep, quoting_style="none")
    arrow = _arrow_table(t, csv=True)

    def block(start: int) -> bytes:
        buf = io.BytesIO()
        pcsv.write_csv(arrow.slice(start, BLOCK_ROWS), buf, options)
        return buf.getvalue()

    yield from formatted_ahead(block, range(0, len(t), BLOCK_ROWS))


def formatted_ahead(format_block: Callable[[int], Bytes], starts: Sequence[int]) -> Iterator[Bytes]:
    """`format_block(start)` for each of `starts`, in order, formatted by as many threads as
    Arrow uses and this process has cores for (pyarrow's formatting runs without the GIL, one
    block per core), one a thread ahead of the block asked for; the same bytes as one at a
    time. A consumer that stops (an error, Ctrl-C) cancels the blocks not begun and waits for
    those being formatted."""
    import pyarrow as pa

    from ..parallel import cores

    workers = min(pa.cpu_count(), cores(), len(starts))
    if workers <= 1:
        yield from map(format_block, starts)
        return
    from concurrent.futures import Future, ThreadPoolExecutor

    pool = ThreadPoolExecutor(workers, thread_name_prefix="shrink-format")
    waiting = iter(starts)
    pending: collections.deque[Future[Bytes]] = collections.deque(
        pool.submit(format_block, s) for s in itertools.islice(waiting, workers)
    )
    try:
        while pending:
            block = pending.popleft().result()
            for s in itertools.islice(waiting, 1):
                pending.append(pool.submit(format_block, s))
            yield block
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _parquet(t: Table) -> bytes:
    """The table as a Parquet file (numbers as doubles and 64-bit integers, ids as they are,
    text as UTF-8 strings, booleans as booleans, missing values null)."""
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(_arrow_table(t, csv=False), buf)
    return buf.getvalue()

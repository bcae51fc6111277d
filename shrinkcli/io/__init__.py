"""Reading input tables and writing outputs: the only module that touches files for the
library. Every file is written atomically (a temporary file beside it, then a rename), so an
interrupted or failed run never leaves a half-written file."""

from __future__ import annotations

import collections
import contextlib
import errno
import io
import itertools
import math
import os
import re
import stat
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from ..errors import DataError, OutputError, ShrinkError, UsageError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ..table import Column, Table

# numpy and the table type are imported inside the functions: the command line imports this
# module for its format names, and `shrink --help` must not import numpy.

TableFormat = Literal["csv", "tsv", "json", "parquet"]
#: Formats that are not text (refused on a terminal's stdout).
BINARY_FORMATS = ("parquet",)
#: The table format a file's name says, by its suffix.
SUFFIX_FORMATS: dict[str, TableFormat] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def format_of(path: str) -> TableFormat | None:
    """The table format the name `path` says (None for '-' and names that say none)."""
    return None if path == "-" else SUFFIX_FORMATS.get(Path(path).suffix.lower())


def _check_parent(path: str, folder: Path, field: str | None = None) -> None:
    """Refuse a folder that cannot take new files: missing (naming the first part that is a file
    where a folder is needed), or one that refuses a file (read-only, /proc, /sys, ...)."""
    if not folder.exists():
        for above in folder.parents:
            if above.exists():
                if not above.is_dir():
                    raise UsageError(f"{path}: {str(above)!r} is a file, not a folder", field=field)
                break
        raise UsageError(f"{path}: folder {str(folder)!r} does not exist", field=field)
    if not folder.is_dir():
        raise UsageError(f"{path}: {str(folder)!r} is a file, not a folder", field=field)
    import tempfile

    try:  # the only sure test: make a file there (root may write where access() says no)
        fd, probe = tempfile.mkstemp(prefix=".shrink-probe.", dir=folder)
    except OSError as exc:
        reason = _REASONS.get(exc.errno or 0, exc.strerror or "refused")
        raise UsageError(
            f"{path}: cannot create files in {str(folder)!r} ({reason})", field=field
        ) from None
    os.close(fd)
    os.unlink(probe)


_REASONS = {
    errno.ENOENT: "it takes no new files",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on the device",
}


def check_output_path(path: str, *, inputs: Iterable[str] = ()) -> None:
    """Refuse, before any work is done, an output path that cannot be written or that is one
    of the command's `inputs`."""
    if path == "-":
        return
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{path}: is a folder; give a file name for the output")
    if _is_special(p):  # a device or pipe: written in place
        if not os.access(p, os.W_OK):
            raise UsageError(f"{path}: permission denied")
        return
    _check_parent(path, Path(os.path.realpath(p)).parent)
    check_not_an_input(path, inputs)


def check_output_folder(path: str) -> None:
    """Refuse, before any work, an output folder that cannot be made or replaced: '-', a file,
    one whose parent is missing, or one in a place that takes no files (output folders are built
    beside their destination and moved into place)."""
    folder = Path(path)
    if path in ("-", ""):
        raise UsageError("give a folder's name (stdout is not a folder)", field="output")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file, not a folder", field="output")
    _check_parent(path, folder.parent, field="output")


def check_not_an_input(output: str, inputs: Iterable[str]) -> None:
    """Refuse an output that is one of the command's inputs: it would be replaced before (or
    while) it is read."""
    if output == "-":
        return
    out = Path(output)
    for source in inputs:
        if source == "-" or not out.exists():
            continue
        with contextlib.suppress(OSError):
            if os.path.samefile(out, source):
                raise UsageError(f"{output}: is also an input; write the output elsewhere")


def _is_special(p: Path) -> bool:
    """A device, FIFO or socket (e.g. /dev/null, /dev/stdout, a named pipe): written in place,
    never replaced by a rename."""
    try:
        mode = p.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


#: Bytes, or a view of them.
Bytes = bytes | bytearray | memoryview
#: What a file is written from: text, bytes, or bytes a block at a time.
Payload = bytes | bytearray | str | Iterator[Bytes]


def _blocks(data: Payload) -> Iterator[Bytes]:
    if isinstance(data, str):
        yield data.encode("utf-8")
    elif isinstance(data, bytes | bytearray):
        yield data
    else:
        yield from data


def write_atomic(path: str | Path, data: Payload) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename (into
    the file a symbolic link points to); a device or pipe is written in place."""
    p = Path(path)
    if _is_special(p):
        try:
            with open(p, "wb") as f:
                for block in _blocks(data):
                    f.write(block)
        except OSError as exc:
            raise OutputError(f"{p}: cannot write: {exc.strerror}") from None
        return
    if p.is_symlink():
        p = Path(os.path.realpath(p))
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
    except OSError as exc:
        raise OutputError(f"{p}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            for block in _blocks(data):
                f.write(block)
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"{p}: cannot write: {exc.strerror}") from None
    except BaseException:  # a signal, or an error while the blocks were formatted
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_files(folder: str | Path, files: Mapping[str, bytes | str]) -> list[str]:
    """Write every file of `files` (a relative POSIX path → its content) under `folder`, each
    atomically, creating the folder and its subfolders as needed. Returns the paths written:
    what a result declares is exactly what lands on disk."""
    root = Path(folder)
    for name in files:
        rel = PurePosixPath(name)
        if not rel.parts or rel.is_absolute() or ".." in rel.parts:
            raise ValueError(f"{name!r}: a file of a folder must have a relative path inside it")
    written: list[str] = []
    for name, content in files.items():
        path = root.joinpath(*PurePosixPath(name).parts)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{path.parent}: cannot create the folder: {exc.strerror}") from None
        write_atomic(path, content)
        written.append(name)
    return written


def write_output(path: str, data: Payload) -> None:
    """Write to stdout for '-' (`write_stdout`), else atomically to the file."""
    if path == "-":
        write_stdout(data)
        return
    write_atomic(path, data)


def write_stdout(data: Payload) -> None:
    """Write `data` to standard output, every byte of it or an OutputError naming stdout (a
    full disk, an I/O error): the one place shrink writes data to stdout. Blocks go out as they
    come (the reader at the other end of a pipe starts on the first), each written whole by
    `os.write` on the descriptor when there is one, so that no short write or error is held in a
    buffer that the interpreter's last flush drops without a word. A reader that went away
    (`| head`) raises BrokenPipeError, for the caller's rule."""
    stream = sys.stdout
    try:
        stream.flush()  # text written before (e.g. by typer.echo) goes first
        fd = _descriptor(stream)
        for block in _blocks(data):
            if fd is not None:
                _write_all(fd, block)
            elif hasattr(stream, "buffer"):
                stream.buffer.write(block)
                stream.buffer.flush()
            else:  # a text-only stream (a test's)
                stream.write(bytes(block).decode("utf-8"))
                stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        reason = _REASONS.get(exc.errno or 0, exc.strerror or str(exc))
        raise OutputError(f"stdout: cannot write: {reason}") from None


def _descriptor(stream: Any) -> int | None:
    """The file descriptor under a stream, if it has one (not a test's in-memory stream)."""
    try:
        return int(stream.fileno())
    except (AttributeError, OSError, ValueError):  # (io.UnsupportedOperation is an OSError)
        return None


def _write_all(fd: int, block: Bytes) -> None:
    """Write every byte of `block` to `fd`, on after short writes (a pipe, a disk near full)."""
    view = memoryview(block).cast("B")
    while view.nbytes:
        written = os.write(fd, view)
        view = view[written:]


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


# -- writing tables ------------------------------------------------------------------------------
#
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
        return b"".join(_json_blocks(t))
    if fmt == "parquet":
        return _parquet(t)
    sep = "," if fmt == "csv" else "\t"
    cells = len(t) * max(len(t.names), 1)
    if cells > ARROW_CELLS and _arrow_can_write(t, sep):
        return b"".join(_arrow_delimited(t, sep))
    return _python_delimited(t, sep).encode("utf-8")


def table_blocks(table: Table | pd.DataFrame, fmt: TableFormat) -> Iterator[Bytes]:
    """`table_bytes`, for a large CSV, TSV or JSON a block of rows at a time, formatted as they
    are asked for (written to a pipe, the reader parses one block while the next is
    formatted)."""
    from ..table import Table

    t = table if isinstance(table, Table) else Table.from_pandas(table)
    sep = "," if fmt == "csv" else "\t"
    cells = len(t) * max(len(t.names), 1)
    if fmt in ("csv", "tsv") and cells > ARROW_CELLS and _arrow_can_write(t, sep):
        yield from _arrow_delimited(t, sep)
    elif fmt == "json":
        yield from _json_blocks(t)
    else:
        yield table_bytes(t, fmt)


def _json_blocks(t: Table) -> Iterator[Bytes]:
    """A table as a JSON array of row objects, a block at a time."""
    if not len(t):
        yield to_json_bytes([])
        return
    yield b"[\n"
    yield from _json_rows(t, 1)
    yield b"\n]\n"


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


def _python_delimited(t: Table, sep: str) -> str:
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


def _arrow_delimited(t: Table, sep: str) -> Iterator[Bytes]:
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


# -- reading tables ------------------------------------------------------------------------------


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, in hex (for a report's manifest)."""
    import hashlib

    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise OutputError(f"{path}: cannot read: {exc.strerror}") from None
    return digest.hexdigest()


def read_text(path: str | Path, *, error: type[ShrinkError], kind: str, expected: str) -> str:
    """A text file's content ('-': standard input). An input that is missing or cannot be
    opened is a usage error (exit 2: the command line names it); content that is not text is
    `error`."""
    raw = read_stdin(kind) if str(path) == "-" else _read_bytes(path, kind=kind)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        name = "<stdin>" if str(path) == "-" else str(path)
        raise error(f"{name}: not a text file (expected {expected})") from None


def read_stdin(kind: str) -> bytes:
    """Everything piped to standard input; a usage error when nothing is (a terminal)."""
    return stdin_stream(kind).read()


def stdin_stream(kind: str) -> BinaryIO:
    """Standard input as a binary stream; a usage error when nothing is piped to it."""
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError(f"'-' means a {kind} on stdin, but nothing is piped to it")
    if hasattr(sys.stdin, "buffer"):
        return sys.stdin.buffer
    return io.BytesIO(sys.stdin.read().encode())


def _read_bytes(path: str | Path, *, kind: str, size: int = -1) -> bytes:
    """The file's bytes (the first `size` of them, all for −1). A file that is missing or
    cannot be opened is a usage error naming it (exit 2)."""
    with _open_input(path, kind) as f:
        try:
            return f.read(size)
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror}") from None


def _open_input(path: str | Path, kind: str) -> BinaryIO:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder, not a {kind}") from None
    except PermissionError:
        raise UsageError(f"{path}: permission denied") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None


#: What a table's cell may say for a missing value.
MISSING = ("", "NA", "NaN", "nan", "NULL", "null", "N/A", "n/a", "#N/A", "None")
#: The bytes a Parquet file starts (and ends) with.
PARQUET_MAGIC = b"PAR1"


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
        return _json_table(source, _read_bytes(source, kind="data file"), id_columns)
    if text is not None:
        return _read_csv(
            source, io.BytesIO(text.encode() if isinstance(text, str) else text), None, id_columns
        )
    if stream is not None:
        return _read_csv(source, stream, None, id_columns)
    with _open_input(source, "data file") as f:
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
    table = _from_arrow(arrow, id_columns, text_ids=True, quoted=quoted)
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
        _read_bytes(source, kind="data file", size=4)  # missing, a folder, ...
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
    return _from_arrow(arrow.unify_dictionaries(), id_columns, text_ids=False)


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


def _from_arrow(
    arrow: Any, id_columns: Collection[str], *, text_ids: bool, quoted: Collection[str] = ()
) -> Table:
    """An Arrow table as numpy columns: numbers as float64 (NaN where missing) or int64, the
    id columns (text, or dictionaries of text) as `_arrow_ids` makes them, other text as object
    arrays (numbers written with spaces around them, as in "1, 2, 3", as numbers)."""
    import numpy as np
    import pyarrow as pa

    from ..table import Table

    out: dict[str, Column] = {}
    for name, chunked in zip(arrow.column_names, arrow.columns, strict=True):
        col = chunked.combine_chunks()
        kind = col.type
        if pa.types.is_dictionary(kind) or (
            name in id_columns and (pa.types.is_string(kind) or pa.types.is_large_string(kind))
        ):
            out[name] = _arrow_ids(col, text=text_ids)
        elif pa.types.is_null(kind):
            out[name] = np.full(len(col), np.nan)
        elif pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_boolean(kind):
            out[name] = _numpy_numbers(col)
        else:
            values = np.empty(len(col), dtype=object)
            values[:] = col.to_pylist()
            is_text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
            as_text = name in id_columns or name in quoted  # (quoted numbers: the engine's)
            out[name] = _numbers_with_spaces(values) if is_text and not as_text else values
    return Table(out)


def _numpy_numbers(arr: Any) -> np.ndarray:
    """An Arrow array of numbers or booleans as numpy: its values (float64 with NaN where
    missing, if any is)."""
    import numpy as np
    import pyarrow as pa

    n, offset = len(arr), arr.offset
    validity, data = arr.buffers()[:2]
    if pa.types.is_boolean(arr.type):
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
        values: np.ndarray = bits[offset : offset + n].astype(bool)
    else:
        kind = (
            "f"
            if pa.types.is_floating(arr.type)
            else ("u" if pa.types.is_unsigned_integer(arr.type) else "i")
        )
        dtype = np.dtype(f"{kind}{arr.type.bit_width // 8}")
        values = np.frombuffer(data, dtype=dtype, count=n, offset=offset * dtype.itemsize)
    if arr.null_count:
        present = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
        out = values.astype(np.float64)
        out[present[offset : offset + n] == 0] = np.nan
        return out
    return values.copy() if values.dtype.kind in "fiu" and not values.flags.writeable else values


def _numbers_with_spaces(values: np.ndarray) -> np.ndarray:
    """Text that is all numbers or missing once stripped of spaces, as float64; else as it is."""
    import numpy as np

    out = np.empty(values.shape[0], dtype=np.float64)
    for i, v in enumerate(values.tolist()):
        t = v.strip() if isinstance(v, str) else v
        if t is None or t in MISSING:
            out[i] = np.nan
            continue
        try:
            out[i] = float(t)
        except ValueError:
            return values
    return out


#: An integer written canonically: "7", "-12", "0"; not "007", "+7", "-0" or "7.0".
_CANONICAL_INTEGER = r"^(0|-?[1-9][0-9]*)$"


def _arrow_ids(col: Any, *, text: bool) -> Column:
    """An Arrow array of ids (text, null where missing, or a dictionary of text) as `_ids`
    makes them. Encoded, checked and cast by Arrow: when every id is a canonical integer (the
    usual 1..K), the column is cast to int64 without a Python object per row or per id."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = col if pa.types.is_dictionary(col.type) else pc.dictionary_encode(col)
    codes = _numpy_numbers(encoded.indices)  # (pc.fill_null would import pandas)
    codes = np.where(np.isnan(codes), -1, codes) if codes.dtype.kind == "f" else codes
    codes = codes.astype(np.int64, copy=False)
    levels = encoded.dictionary
    if (
        text
        and len(levels)
        and pc.all(pc.match_substring_regex(levels, _CANONICAL_INTEGER)).as_py()
    ):
        with contextlib.suppress(pa.ArrowInvalid):  # beyond int64: text
            ints = _numpy_numbers(pc.cast(levels, pa.int64()))
            if (codes >= 0).all():
                return ints[codes]
            from ..table import Factor

            return Factor(codes, ints)
    values = np.empty(len(levels), dtype=object)
    values[:] = levels.to_pylist()
    return _ids(codes, values, text=text)


def _canonical_integers(ids: list[str]) -> np.ndarray | None:
    """The ids as int64 when every one is an integer written canonically ("7", "-12"; not
    "007", "+7", "-0", "7.0" or beyond int64), else None. Vectorized: parsed by numpy and
    written back, which gives the same text only for the canonical ones."""
    import numpy as np

    text = np.array(ids)
    if text.dtype.kind != "U" or text.dtype.itemsize > 4 * 20:
        return None
    try:
        ints = text.astype(np.int64)
    except (ValueError, OverflowError):
        return None
    return ints if bool(np.all(ints.astype(text.dtype) == text)) else None


def _ids(codes: np.ndarray, levels: np.ndarray, *, text: bool) -> Column:
    """Ids as given: from text (a CSV), integers when every present id is a canonical integer
    once stripped of surrounding spaces (" 7" and "7" are the cluster 7, as R's read.csv reads
    numbers), else the text exactly as written ("a" and " a" are two clusters, as in R); a
    cell of nothing but spaces, or one of `MISSING` around spaces, is missing. A Factor (codes
    into the distinct ids) for text or where an id is missing, else a plain array of
    integers."""
    import numpy as np

    from ..table import Factor

    given = levels.tolist()
    stripped = [s.strip() for s in given]
    present = [s for s in stripped if s not in MISSING]
    ints = _canonical_integers(present) if text and present else None
    keys = stripped if ints is not None else given
    if keys != given or any(s in MISSING for s in stripped):
        uniq: dict[str, int] = {}
        remap = np.array(
            [
                -1 if s in MISSING else uniq.setdefault(k, len(uniq))
                for s, k in zip(stripped, keys, strict=True)
            ]
            + [-1],
            dtype=np.int64,
        )
        codes = remap[codes]  # code −1 picks the −1 at the end
        keys = list(uniq)
    new_levels = _canonical_integers(keys) if ints is not None and keys else None
    if new_levels is None:
        new_levels = np.empty(len(keys), dtype=object)
        new_levels[:] = keys
    if new_levels.dtype.kind != "O" and (codes >= 0).all():
        return new_levels[codes]  # integer ids: a plain array
    return Factor(codes, new_levels)

"""Reading input tables and writing outputs: the only module that touches files for the
library. Every file is written atomically (a temporary file beside it, then a rename), so an
interrupted or failed run never leaves a half-written file."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import math
import os
import re
import stat
import sys
import tempfile
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from .errors import DataError, OutputError, ShrinkError, UsageError

if TYPE_CHECKING:
    import pandas as pd

TableFormat = Literal["csv", "tsv", "json"]

_INT_RE = re.compile(r"-?(0|[1-9][0-9]*)")


def _check_parent(path: str, folder: Path, field: str | None = None) -> None:
    """Refuse a folder that cannot take new files: missing (naming the first part that is a file
    where a folder is needed), or one that refuses a file (read-only, /proc, /sys, ...)."""
    if not folder.exists():
        for above in folder.parents:
            if above.exists():
                if not above.is_dir():
                    raise UsageError(f"{path}: {str(above)!r} is a file, not a folder",
                                     field=field)
                break
        raise UsageError(f"{path}: folder {str(folder)!r} does not exist", field=field)
    if not folder.is_dir():
        raise UsageError(f"{path}: {str(folder)!r} is a file, not a folder", field=field)
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


def write_atomic(path: str | Path, data: bytes | str) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename (into
    the file a symbolic link points to); a device or pipe is written in place."""
    p = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if _is_special(p):
        try:
            with open(p, "wb") as f:
                f.write(payload)
        except OSError as exc:
            raise OutputError(f"{p}: cannot write: {exc.strerror}") from None
        return
    if p.is_symlink():
        p = Path(os.path.realpath(p))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
    except OSError as exc:
        raise OutputError(f"{p}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"{p}: cannot write: {exc.strerror}") from None


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


def write_output(path: str, data: bytes | str) -> None:
    """Write to stdout for '-', else atomically to the file."""
    if path == "-":
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(data)
            sys.stdout.flush()
        return
    write_atomic(path, data)


def _json_number(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item"):  # numpy scalar
        return _json_number(v.item())
    return v


def to_json_text(obj: Any) -> str:
    """JSON with floats at full round-trip precision and NaN as null."""
    return json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n"


def jsonable(obj: Any) -> Any:
    """`obj` with plain Python values for JSON: numpy scalars unwrapped, NaN and ±inf as None,
    keys as text, tuples as lists."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    return _json_number(obj)


def table_text(df: pd.DataFrame, fmt: TableFormat) -> str:
    """A data frame as CSV, TSV (numbers at full round-trip precision, missing values empty)
    or JSON (an array of row objects, missing values null)."""
    if fmt == "json":
        cols = list(df.columns)
        rows: Iterable[tuple[Any, ...]] = df.itertuples(index=False, name=None)
        records = [dict(zip(cols, row, strict=True)) for row in rows]
        return to_json_text(records)
    buf = io.StringIO()
    df.to_csv(buf, index=False, sep="," if fmt == "csv" else "\t", na_rep="", lineterminator="\n")
    return buf.getvalue()


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


def read_text(
    path: str | Path, *, error: type[ShrinkError], kind: str, expected: str
) -> str:
    """A text file's content ('-': standard input). An input that is missing or cannot be
    opened is a usage error (exit 2: the command line names it); content that is not text is
    `error`."""
    try:
        raw = read_stdin(kind) if str(path) == "-" else Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder, not a {kind}") from None
    except PermissionError:
        raise UsageError(f"{path}: permission denied") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        name = "<stdin>" if str(path) == "-" else str(path)
        raise error(f"{name}: not a text file (expected {expected})") from None


def read_stdin(kind: str) -> bytes:
    """Everything piped to standard input; a usage error when nothing is (a terminal)."""
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError(f"'-' means a {kind} on stdin, but nothing is piped to it")
    return sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()


def read_table(
    source: str, *, text: str | None = None, id_columns: Collection[str] = ()
) -> pd.DataFrame:
    """Read a CSV, TSV, JSON or Parquet table from a file, or CSV/TSV/JSON from `text` (stdin)
    when given.

    JSON is an array of row objects (what `--format json` writes), recognised by a `.json`
    name or text that starts with '['. Otherwise the separator is a tab for `.tsv`/`.tab`
    files and for text whose header has tabs and no commas, else a comma. Numbers are parsed by
    pandas' C parser. `id_columns` (the cluster column) keep their ids as given: integers when
    every id is a canonical integer ("7", not "007" or "7.0"), else the strings. Missing
    values: empty, NA, NaN, NULL and the like (null in JSON).
    """
    import pandas as pd

    if text is None and source.lower().endswith(PARQUET_SUFFIXES):
        return _read_parquet(source, id_columns)
    if text is None:
        text = read_text(source, error=DataError, kind="data file", expected="UTF-8 CSV or TSV")
    if not text.strip():
        raise DataError(f"{source}: empty input; expected a CSV table with a header row")
    if source.lower().endswith(".json") or text.lstrip().startswith("["):
        return _json_table(source, text, id_columns)
    header = text.split("\n", 1)[0]
    tsv = source.lower().endswith((".tsv", ".tab")) or ("\t" in header and "," not in header)
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep="\t" if tsv else ",",
            dtype={c: str for c in id_columns},
            keep_default_na=False,
            na_values=sorted(_MISSING),
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "malformed table"
        raise DataError(f"{source}: cannot parse the table: {first}") from None
    if df.empty:
        raise DataError(f"{source}: the table has a header but no rows")
    for col in id_columns:
        if col in df.columns:
            df[col] = _ids(df[col])
    return df


PARQUET_SUFFIXES = (".parquet", ".pq")


def _read_parquet(source: str, id_columns: Collection[str]) -> pd.DataFrame:
    """A Parquet file (through pyarrow), its columns typed as stored; text cluster ids are
    treated as in a CSV file."""
    import pandas as pd

    p = Path(source)
    if not p.exists():
        raise UsageError(f"{source}: no such file")
    if p.is_dir():
        raise UsageError(f"{source}: is a folder, not a data file")
    try:
        df = pd.read_parquet(source)
    except ImportError:
        raise DataError(f"{source}: reading Parquet needs pyarrow (pip install pyarrow)") from None
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        why = first.rsplit(": ", 1)[-1] or "not a Parquet file"  # pyarrow repeats the path
        raise DataError(f"{source}: cannot read the Parquet file: {why}") from None
    if df.empty:
        raise DataError(f"{source}: the table has no rows")
    df = df.reset_index(drop=True)
    for col in id_columns:
        if col in df.columns and df[col].dtype == object:
            df[col] = _ids(df[col].astype("string").astype(object))
    return df


_MISSING = {"", "NA", "NaN", "nan", "NULL", "null", "N/A", "n/a", "#N/A", "None"}


def _json_table(source: str, text: str, id_columns: Collection[str]) -> pd.DataFrame:
    """A JSON array of row objects as a table; ids in `id_columns` kept as given (numbers as
    integers, text as text)."""
    import pandas as pd

    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{source}: not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise DataError(f"{source}: expected a JSON array of row objects, e.g. "
                        '[{"y": 1.2, "x": 0.5, "cluster": 1}, ...]')
    if not rows:
        raise DataError(f"{source}: the table has no rows")
    df = pd.DataFrame.from_records(rows)
    for col in id_columns:
        if col in df.columns and df[col].dtype == object:
            df[col] = df[col].map(lambda v: v if v is None or isinstance(v, str) else str(v))
    return df


def _ids(col: pd.Series) -> pd.Series:
    """Cluster ids as given: integers if every present id is a canonical integer, else text."""
    import numpy as np

    s = col.str.strip()
    present = s.dropna()
    if len(present) and present.str.fullmatch(_INT_RE.pattern).all():
        ints = present.astype(np.int64)
        if len(present) == len(s):
            return ints
        return ints.reindex(s.index).astype("Int64")
    return s

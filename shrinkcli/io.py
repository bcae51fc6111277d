"""Reading input tables and writing outputs: the only module that touches files for the
library. Every file is written atomically (a temporary file beside it, then a rename), so an
interrupted or failed run never leaves a half-written file."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
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


def check_output_path(path: str) -> None:
    """Refuse an output path that cannot be written, before any work is done."""
    if path == "-":
        return
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{path}: is a directory; give a file name for the output")
    parent = p.parent
    if not parent.exists():
        raise UsageError(f"{path}: folder {str(parent)!r} does not exist")
    if not parent.is_dir():
        raise UsageError(f"{path}: {str(parent)!r} is not a folder")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{path}: folder {str(parent)!r} is not writable")


def check_output_folder(path: str) -> None:
    """Refuse, before any work, an output folder that cannot be made: '-', a file, or one whose
    parent folder is missing."""
    folder = Path(path)
    if path in ("-", ""):
        raise UsageError("give a folder's name (stdout is not a folder)", field="output")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} exists and is not a folder", field="output")
    if not folder.parent.is_dir():
        raise UsageError(f"folder {str(folder.parent)!r} does not exist", field="output")


def write_atomic(path: str | Path, data: bytes | str) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename."""
    p = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
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
    """A text file's content; one-line `error` naming the file when it cannot be read."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, not a {kind}") from None
    except PermissionError:
        raise error(f"{path}: permission denied") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise error(f"{path}: not a text file (expected {expected})") from None


def read_table(
    source: str, *, text: str | None = None, id_columns: Collection[str] = ()
) -> pd.DataFrame:
    """Read a CSV, TSV or Parquet table from a file, or CSV/TSV from `text` (stdin) when given.

    The separator is a tab for `.tsv`/`.tab` files and for text whose header has tabs and no
    commas, else a comma. Numbers are parsed by pandas' C parser. `id_columns` (the cluster
    column) keep their ids as given: integers when every id is a canonical integer ("7", not
    "007" or "7.0"), else the strings. Missing values: empty, NA, NaN, NULL and the like.
    """
    import pandas as pd

    if text is None and source.lower().endswith(PARQUET_SUFFIXES):
        return _read_parquet(source, id_columns)
    if text is None:
        text = read_text(source, error=DataError, kind="data file", expected="UTF-8 CSV or TSV")
    if not text.strip():
        raise DataError(f"{source}: empty input; expected a CSV table with a header row")
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
        raise DataError(f"{source}: no such file")
    if p.is_dir():
        raise DataError(f"{source}: is a directory, not a data file")
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

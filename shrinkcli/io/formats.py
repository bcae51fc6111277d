"""Table formats and how a file's name or first bytes say which: the suffixes, the binary
formats, the cells that mean a missing value. No I/O here: the command line imports it for
the format names, and `shrink --help` must not import numpy."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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


#: What a table's cell may say for a missing value.
MISSING = ("", "NA", "NaN", "nan", "NULL", "null", "N/A", "n/a", "#N/A", "None")
#: The bytes a Parquet file starts (and ends) with.
PARQUET_MAGIC = b"PAR1"

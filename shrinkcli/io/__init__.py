"""The only files shrink touches, for the library and the command line alike: the wing's face.

- `formats`: the table formats, by a file's suffix; no I/O.
- `paths`: output paths checked before any work is done.
- `files`: bytes written atomically and to stdout; input files and stdin read.
- `json_output`: values and tables' rows as JSON at full precision.
- `write`: tables as CSV, TSV, JSON or Parquet; `read` and `columns`: tables read back.
- `folder`: the output folder shrink owns, imported as `shrinkcli.io.folder` (its imports,
  tempfile, shutil and uuid among them, would make this package heavier for every command).

Listed here is what the rest of the package and its tests use. Every submodule imports
numpy, pyarrow, pandas and orjson inside the functions that need them: the command line imports
this package for its format names, `shrink --help` must not import numpy, and `shrink fit` on
a CSV must not import pandas."""

from __future__ import annotations

from .files import (
    Bytes,
    Payload,
    file_sha256,
    read_text,
    stdin_stream,
    write_atomic,
    write_files,
    write_output,
    write_stdout,
)
from .formats import BINARY_FORMATS, TableFormat, format_of
from .json_output import (
    json_column_blocks,
    jsonable,
    to_json_bytes,
    to_json_columns,
    to_json_text,
)
from .paths import check_output_folder, check_output_path
from .read import read_table
from .write import formatted_ahead, table_blocks, table_bytes, table_text

__all__ = [
    "BINARY_FORMATS",
    "Bytes",
    "Payload",
    "TableFormat",
    "check_output_folder",
    "check_output_path",
    "file_sha256",
    "format_of",
    "formatted_ahead",
    "json_column_blocks",
    "jsonable",
    "read_table",
    "read_text",
    "stdin_stream",
    "table_blocks",
    "table_bytes",
    "table_text",
    "to_json_bytes",
    "to_json_columns",
    "to_json_text",
    "write_atomic",
    "write_files",
    "write_output",
    "write_stdout",
]

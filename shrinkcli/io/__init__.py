"""The only files shrink touches, for the library and the command line alike: formats by suffix
(`formats`), output paths checked before any work (`paths`), bytes written atomically and to
stdout, and inputs read (`files`), JSON output (`json_output`), writing tables (`write`), reading
them (`read`, `columns`), and the owned output folder (`folder`, imported from there: it is the
one part that needs the package's version).

Every submodule imports numpy, pyarrow, pandas and orjson inside the functions that use them:
the command line imports this package for its format names, `shrink --help` must not import
numpy, and `shrink fit` on a CSV must not import pandas."""

from __future__ import annotations

from .files import (
    Bytes,
    Payload,
    file_sha256,
    read_stdin,
    read_text,
    stdin_stream,
    write_atomic,
    write_files,
    write_output,
    write_stdout,
)
from .formats import BINARY_FORMATS, MISSING, SUFFIX_FORMATS, TableFormat, format_of
from .json_output import (
    json_column_blocks,
    jsonable,
    to_json_bytes,
    to_json_columns,
    to_json_text,
)
from .paths import check_not_an_input, check_output_folder, check_output_path
from .read import read_table
from .write import format_float, formatted_ahead, table_blocks, table_bytes, table_text

__all__ = [
    "BINARY_FORMATS",
    "MISSING",
    "SUFFIX_FORMATS",
    "Bytes",
    "Payload",
    "TableFormat",
    "check_not_an_input",
    "check_output_folder",
    "check_output_path",
    "file_sha256",
    "format_float",
    "format_of",
    "formatted_ahead",
    "json_column_blocks",
    "jsonable",
    "read_stdin",
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

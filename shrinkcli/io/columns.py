"""Arrow's columns as the numpy columns of a `Table`, through their buffers (pyarrow's own
conversions import pandas): numbers as float64 with NaN where missing, or int64; text as
objects; and ids kept as given, integers only when every id is a canonical integer, else
the text exactly as written, as R reads them."""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from .formats import MISSING

if TYPE_CHECKING:
    import numpy as np

    from ..table import Column, Table


def from_arrow(
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

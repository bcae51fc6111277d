"""Tables as named numpy columns: the form in which data moves from a reader or the simulation
to the engine and from a fit to a writer, without pandas (whose import alone costs more than a
whole `shrink fit` of the post's data).

A column is a 1-d numpy array (float64 numbers with NaN where missing, int64 ids and counts,
bool, or an object array of text) or a `Factor`: ids stored once each (`levels`) and a code per
row, which is how a reader keeps a million rows of text ids without a million strings.
`Table.to_pandas` and `Table.from_pandas` convert for the library's users and the pandas-based
parts (the statsmodels cross-check, the study's tables).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Factor:
    """A column of ids: row i holds `levels[codes[i]]`, or is missing where `codes[i]` < 0."""

    codes: np.ndarray
    levels: np.ndarray

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def missing(self) -> np.ndarray:
        return np.asarray(self.codes < 0)

    def values(self) -> np.ndarray:
        """One id per row (an object array with None where missing, unless none is)."""
        if not self.missing().any():
            return self.levels[self.codes]
        out = np.empty(len(self), dtype=object)
        present = ~self.missing()
        out[present] = self.levels[self.codes[present]]
        return out


Column = Union[np.ndarray, Factor]  # noqa: UP007 - a runtime alias, also for Python 3.10


def missing(column: Column) -> np.ndarray:
    """Which rows of a column are missing (NaN, None, or a Factor's code −1)."""
    if isinstance(column, Factor):
        return column.missing()
    if column.dtype.kind == "f":
        return np.isnan(column)
    if column.dtype.kind == "O":
        return np.fromiter(
            (v is None or (isinstance(v, float) and v != v) for v in column),
            dtype=bool,
            count=column.shape[0],
        )
    return np.zeros(column.shape[0], dtype=bool)


class Table:
    """Named columns of one length, in order. `len(table)` is the number of rows, as for a data
    frame; `table[name]` a column."""

    __slots__ = ("_columns", "_rows")

    def __init__(self, columns: Mapping[str, Any]) -> None:
        cols: dict[str, Column] = {}
        for name, col in columns.items():
            cols[str(name)] = col if isinstance(col, Factor) else np.asarray(col)
        lengths = {len(c) for c in cols.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: {sorted(lengths)}")
        self._columns = cols
        self._rows = lengths.pop() if lengths else 0

    def __getitem__(self, name: str) -> Column:
        return self._columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __len__(self) -> int:
        return self._rows

    def __repr__(self) -> str:
        return f"Table({self._rows} rows: {', '.join(self._columns)})"

    def items(self) -> Iterator[tuple[str, Column]]:
        return iter(self._columns.items())

    @property
    def names(self) -> list[str]:
        return list(self._columns)

    def array(self, name: str) -> np.ndarray:
        """Column `name` as one numpy array (a Factor's ids row by row)."""
        col = self._columns[name]
        return col.values() if isinstance(col, Factor) else col

    def select(self, names: list[str]) -> Table:
        return Table({n: self._columns[n] for n in names})

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame({n: self.array(n) for n in self._columns}, columns=self.names)

    @classmethod
    def from_pandas(cls, df: pd.DataFrame) -> Table:
        """A data frame's columns as numpy arrays: numbers as they are (nullable ones as float64
        with NaN), anything else (text, categories, mixed objects) as Factors."""
        import pandas as pd

        out: dict[str, Column] = {}
        for name in df.columns:
            s = df[name]
            kind = s.dtype.kind
            if isinstance(s.dtype, pd.CategoricalDtype):
                out[str(name)] = Factor(
                    np.asarray(s.cat.codes, dtype=np.int64), np.asarray(s.cat.categories)
                )
            elif kind in "biuf" and not s.hasnans:
                out[str(name)] = s.to_numpy()
            elif kind in "iuf":
                out[str(name)] = s.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                codes, uniques = pd.factorize(s, use_na_sentinel=True)
                out[str(name)] = Factor(
                    np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object)
                )
        return cls(out)

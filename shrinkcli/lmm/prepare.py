"""Data preparation: the only place that validates data for the engine.

A table (a `Table` of numpy columns, or a pandas data frame) becomes finite float arrays and
cluster codes 0..K−1 with the K cluster ids in lme4's level order (numbers numerically, text as
text, ids kept as given); rows with a missing value are dropped (lme4's na.omit) and counted in
a warning. Arrays given directly (`prepare_arrays`,
the fast path of simulation loops) are checked for shape only. Either way the model must be
identifiable on the data (lme4's checks on the numbers of observations and random effects).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError, FitError, ShrinkError
from ..model import ModelSpec
from ..table import Column, Factor, Table, missing

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class PreparedData:
    """Validated model data: finite float arrays, cluster codes 0..K−1 and the K cluster ids in
    lme4's level order, and the warnings raised on the way (dropped rows)."""

    y: np.ndarray
    x: np.ndarray
    codes: np.ndarray
    ids: np.ndarray
    warnings: tuple[str, ...]

    @property
    def n_groups(self) -> int:
        return int(self.ids.shape[0])


def prepare_data(
    data: Table | pd.DataFrame,
    *,
    y: str = "y",
    x: str = "x",
    cluster: str = "cluster",
    spec: ModelSpec | None = None,
) -> PreparedData:
    """Check `data` and turn it into arrays, dropping rows with missing values (lme4's na.omit).

    Raises DataError for unusable data and FitError for a model (default: `ModelSpec()`) that
    cannot be fitted to it, each with a one-line message naming the column where there is one.
    """
    table = data if isinstance(data, Table) else Table.from_pandas(data)
    missing_columns = [c for c in (y, x, cluster) if c not in table]
    if missing_columns:
        present = ", ".join(table.names) or "none"
        which = "column" if len(missing_columns) == 1 else "columns"
        raise DataError(
            f"{which} {', '.join(repr(c) for c in missing_columns)} not found; "
            f"columns present: {present}"
        )
    if len(table) == 0:
        raise DataError("the data set is empty (no rows)")
    warnings: list[str] = []
    yv = _numeric_column(table, y, warnings)
    xv = _numeric_column(table, x, warnings)
    cl = table[cluster]
    keep = ~(np.isnan(yv) | np.isnan(xv) | missing(cl))
    n_dropped = int(keep.shape[0] - keep.sum())
    if n_dropped:
        warnings.append(
            f"dropped {n_dropped} row{'s' if n_dropped != 1 else ''} with missing values"
        )
        if n_dropped == keep.shape[0]:
            raise DataError(f"no rows left after dropping {n_dropped} rows with missing values")
        yv, xv = yv[keep], xv[keep]
        cl = Factor(cl.codes[keep], cl.levels) if isinstance(cl, Factor) else cl[keep]
    warnings.extend(outcome_warnings(yv, y))
    codes, ids = cluster_codes(cl)
    try:  # what the kept rows cannot do; the dropped rows' warning goes with the error
        _check_kept(yv, xv, ids, y=y, x=x, cluster=cluster, spec=spec or ModelSpec())
    except ShrinkError as exc:
        exc.warnings = tuple(warnings)
        raise
    return PreparedData(yv, xv, np.ascontiguousarray(codes), ids, tuple(warnings))


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (for messages: 2, not np.int64(2))."""
    return value.item() if isinstance(value, np.generic) else value


def _check_kept(
    yv: np.ndarray,
    xv: np.ndarray,
    ids: np.ndarray,
    *,
    y: str,
    x: str,
    cluster: str,
    spec: ModelSpec,
) -> None:
    """Refuse data the model cannot be fitted to: one cluster, a constant x or y, too few rows."""
    n_groups = int(ids.shape[0])
    if n_groups < 2:
        raise FitError(
            f"column '{cluster}' has a single cluster ({_plain(ids[0])!r}): a mixed model needs at "
            "least two clusters"
        )
    if np.ptp(xv) == 0.0:
        raise DataError(f"column '{x}' is constant ({xv[0]:g}): its slope cannot be estimated")
    if np.ptp(yv) == 0.0:
        raise DataError(f"column '{y}' is constant ({yv[0]:g}): there is nothing to fit")
    for name, values in ((y, yv), (x, xv)):
        check_magnitude(values, name)
    check_identifiable(int(yv.shape[0]), n_groups, spec)


#: The largest size of a value, and the smallest spread of a column, whose squares and
#: products summed over 10⁹ rows stay within double precision (about 1e±308) with room for the
#: variance parameters' own scale: beyond them the sums overflow to inf or underflow to 0.
MAGNITUDE_LIMIT = 1e100


def check_magnitude(values: np.ndarray, name: str) -> None:
    """Refuse a column whose sums of squares cannot be formed in double precision: a value
    beyond ±`MAGNITUDE_LIMIT`, or a spread below 1/`MAGNITUDE_LIMIT` (the squares underflow)."""
    biggest = float(np.max(np.abs(values)))
    if biggest > MAGNITUDE_LIMIT:
        raise DataError(
            f"column '{name}' holds values up to {biggest:.3g} in size, beyond the "
            f"{MAGNITUDE_LIMIT:g} whose sums of squares double precision can hold; divide the "
            "column by a power of ten"
        )
    spread = float(np.ptp(values))
    if spread < 1.0 / MAGNITUDE_LIMIT:
        raise DataError(
            f"column '{name}' varies by only {spread:.3g}, below the {1.0 / MAGNITUDE_LIMIT:g} "
            "whose squares double precision can hold; multiply the column by a power of ten"
        )


def outcome_warnings(yv: np.ndarray, y: str) -> list[str]:
    """What the outcome's values say about the model they want, when it is not the Gaussian
    (linear) one fitted: 0/1 values a binomial model, whole numbers from 0 up perhaps counts
    (a Poisson model; a zero is asked for, as weights in whole grams are not counts). Worded to
    stay true whatever families are added: the fit is Gaussian."""
    if yv.shape[0] == 0 or float(yv.min()) != 0 or not bool(np.all(yv == np.floor(yv))):
        return []
    fitted = "fitted as a Gaussian (linear) mixed model"
    if float(yv.max()) <= 1:
        return [
            f"{y}: every value is 0 or 1: {fitted}; a binary outcome wants a binomial "
            "model, which shrink does not fit yet"
        ]
    return [
        f"{y}: every value is a whole number from {yv.min():g} to {yv.max():g}: {fitted}; "
        "if these are counts, they want a Poisson model, which shrink does not fit yet"
    ]


def _numeric_column(table: Table, name: str, warnings: list[str]) -> np.ndarray:
    """Column `name` as float64 (missing values as NaN); one-line DataError on anything else.
    Values that are numbers only by reading (TRUE/FALSE, numbers written as text, as R writes
    a factor) are read as numbers and said in `warnings`."""
    col = table[name]
    if not isinstance(col, Factor) and col.dtype.kind == "b":
        warnings.append(f"{name}: TRUE/FALSE read as 1/0")
    if not isinstance(col, Factor) and col.dtype.kind in "biuf":
        values = col.astype(np.float64)
    else:
        factor = col if isinstance(col, Factor) else _factor(col)
        numbers = _to_numbers(factor.levels)
        bad_level = np.isnan(numbers) & ~missing(factor.levels)
        present = factor.codes >= 0
        at = np.where(present, factor.codes, 0)
        values = np.where(present, numbers[at], np.nan)
        bad = present & bad_level[at]
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            held = factor.levels[factor.codes[i]]
            raise DataError(f"column '{name}' must be numeric, but row {i + 1} holds {held!r}")
        if any(isinstance(v, str) for v in factor.levels.tolist()):
            warnings.append(
                f"{name}: quoted numbers read as numbers; if they are a factor's "
                "levels (categories, as R writes them), their values mean nothing "
                "to the model: recode them as numbers that do"
            )
    inf = np.isinf(values)
    if inf.any():
        i = int(np.flatnonzero(inf)[0])
        raise DataError(f"column '{name}' has an infinite value in row {i + 1}")
    return values


def _to_numbers(values: np.ndarray) -> np.ndarray:
    """Numbers from an array of objects (numbers or numeric text); NaN for anything else."""
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    out = np.empty(values.shape[0], dtype=np.float64)
    for i, v in enumerate(values.tolist()):
        try:
            out[i] = float(v) if v is not None and not isinstance(v, bool) else np.nan
        except (TypeError, ValueError):
            out[i] = np.nan
    return out


def cluster_codes(col: Column) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..K−1 and the K cluster ids in lme4's level order (numbers numerically, strings
    as strings), the ids kept as given. No id may be missing."""
    if isinstance(col, Factor):
        used = np.bincount(col.codes, minlength=col.levels.shape[0]) > 0
        levels = col.levels[used]
        renumber = np.cumsum(used) - 1
        order = _level_order(levels)
        rank = np.empty_like(order)
        rank[order] = np.arange(order.shape[0])
        return rank[renumber[col.codes]], levels[order]
    if col.dtype.kind in "iu" and col.shape[0]:
        low, high = int(col.min()), int(col.max())
        if high - low <= 4 * col.shape[0]:  # ids in a compact range: counting, not sorting
            present = np.bincount(col - low, minlength=high - low + 1) > 0
            rank = np.cumsum(present) - 1
            return rank[col - low], (np.flatnonzero(present) + low).astype(col.dtype)
    if col.dtype.kind in "biuf":
        ids, codes = np.unique(col, return_inverse=True)
        return codes.reshape(-1), ids
    return cluster_codes(_factor(col))


def _level_order(levels: np.ndarray) -> np.ndarray:
    """The order of distinct ids: numbers numerically, text as text, mixed ones as text."""
    try:
        return np.argsort(levels, kind="stable")
    except TypeError:  # mixed types: compare as strings
        return np.argsort(np.array([str(v) for v in levels], dtype=object), kind="stable")


def _factor(col: np.ndarray) -> Factor:
    """An array of ids (objects) as codes into its distinct values, in order of appearance."""
    first: dict[object, int] = {}
    values = col.tolist()
    codes = np.fromiter(
        (first.setdefault(v, len(first)) for v in values), dtype=np.intp, count=len(values)
    )
    levels = np.empty(len(first), dtype=object)
    for v, i in first.items():
        levels[i] = v
    return Factor(codes, levels)


def check_identifiable(n_obs: int, n_groups: int, spec: ModelSpec) -> None:
    """lme4's checks that the model can be fitted to n_obs rows in n_groups clusters."""
    if n_groups < 2:
        raise FitError(f"only {n_groups} cluster: a mixed model needs at least two clusters")
    n_re = n_groups * spec.random_per_cluster
    term = spec.random_term()
    if n_obs <= n_re:
        if spec.has_random_slope:
            # a random intercept alone is a way out only where it can be fitted itself
            helps = n_obs > n_groups + 1
            raise FitError(
                f"number of observations ({n_obs}) <= number of random effects ({n_re}) for "
                f"{term}: the model is not identifiable; use more observations per cluster",
                hint=("model.random", "intercept") if helps else None,
            )
        raise FitError(
            f"number of observations ({n_obs}) <= number of random effects ({n_re}) for "
            f"{term}: the model is not identifiable; it needs more than one observation "
            f"per cluster on average"
        )
    if not spec.has_random_slope and n_obs <= n_groups + 1:
        # cluster intercepts and a common slope interpolate the data: the criterion is unbounded
        raise FitError(
            f"number of observations ({n_obs}) <= number of clusters + 1 ({n_groups + 1}) for "
            f"{term}: the data can be fitted exactly and the model is not identifiable"
        )


def prepare_arrays(
    y: np.ndarray, x: np.ndarray, codes: np.ndarray, n_groups: int, spec: ModelSpec
) -> PreparedData:
    """Clean arrays as they are (y and x finite floats, `codes` in 0..n_groups−1, every cluster
    non-empty: only shapes are checked), with ids 0..n_groups−1."""
    y = np.ascontiguousarray(y, dtype=np.float64)
    x = np.ascontiguousarray(x, dtype=np.float64)
    codes = np.asarray(codes)
    if codes.dtype.kind not in "iu":
        codes = codes.astype(np.intp)
    if not (y.shape == x.shape == codes.shape) or y.ndim != 1:
        raise DataError("y, x and codes must be 1-d arrays of the same length")
    if y.shape[0] == 0:
        raise DataError("the data set is empty")
    k = int(n_groups)
    counts = np.bincount(codes, minlength=k)
    if counts.shape[0] != k:
        raise DataError(f"cluster codes go up to {counts.shape[0] - 1}, but n_groups is {k}")
    if not np.all(counts > 0):
        raise DataError("every cluster needs at least one row (a cluster code has none)")
    check_identifiable(int(y.shape[0]), int(n_groups), spec)
    return PreparedData(y, x, codes, np.arange(int(n_groups)), ())

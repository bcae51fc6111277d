"""Words for the sentences shrink writes: lists joined as English joins them, the rows that share
the highest or the lowest value (so that a tie is named as a tie, never one row twice), and
shares as percentages."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")


def separator(index: int, count: int, last: str = "and") -> str:
    """What follows item `index` (0-based) of `count` in a list: ', ' between items, ' and '
    (or `last`) before the final one, nothing after it."""
    if index >= count - 1:
        return ""
    return f" {last} " if index == count - 2 else ", "


def join_words(items: Iterable[str], last: str = "and") -> str:
    """'a', 'a and b', 'a, b and c' (`last` in place of 'and', e.g. 'or')."""
    words = list(items)
    return "".join(w + separator(i, len(words), last) for i, w in enumerate(words))


def extremes(rows: Sequence[T], value: Callable[[T], float]) -> tuple[list[T], list[T]]:
    """The rows that share the highest value and those that share the lowest, each in their
    order; both the same list when every row has the same value."""
    if not rows:
        return [], []
    values = [value(r) for r in rows]
    hi, lo = max(values), min(values)
    return (
        [r for r, v in zip(rows, values, strict=True) if v == hi],
        [r for r, v in zip(rows, values, strict=True) if v == lo],
    )


def percent(share: float, missing: str | None = None) -> str:
    """A share as a whole percentage: 0.423 → '42%'. A NaN or infinite share gives `missing`
    when it is given (the study report's '–'), else Python's own ('nan%', 'inf%')."""
    if missing is not None and not math.isfinite(share):
        return missing
    return f"{100 * share:.0f}%"

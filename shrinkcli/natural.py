"""Natural order of cluster ids for pictures and tables a person reads: "2" before "10".

The rule: an id is split into runs of digits and runs of other characters; runs are compared in
turn, a digit run by its value, any other run as text, and a digit run comes before a text run
at the same place ("a2" < "a10" < "ab"). Ids equal under this rule ("1" and "01") keep the order
of their text. The fitted tables keep lme4's order (R's factor levels); only what is drawn or
listed for reading uses this one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_RUNS = re.compile(r"(\d+)")


def natural_key(cluster_id: object) -> tuple[tuple[tuple[int, int, str], ...], str]:
    """The sort key of one id under the natural order described in the module's docstring."""
    text = str(cluster_id)
    runs = tuple(
        (0, int(run), "") if run.isdigit() and run.isascii() else (1, 0, run)
        for run in _RUNS.split(text)
        if run
    )
    return runs, text


def natural_order(cluster_ids: Iterable[object]) -> list[int]:
    """Positions of `cluster_ids` in natural order (stable)."""
    ids = list(cluster_ids)
    return sorted(range(len(ids)), key=lambda i: natural_key(ids[i]))

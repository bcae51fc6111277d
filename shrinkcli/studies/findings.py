"""What a study's coverage says, in plain sentences: where the clusters' 95% intervals held the
truth much less often than promised (overall, then the poorest cluster size), with what the
study's own replications say about why; or that they held it about as often as promised."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..scenario import Scenario
from ..words import percent
from .columns import LEVEL
from .results import StudyResult

#: Fewest intervals of a cluster size for it to be named as where coverage is poorest.
FINDING_MIN_INTERVALS = 100


def poor(share: float, count: float, level: float = LEVEL) -> bool:
    """Coverage below the nominal level by more than two percentage points and more than three
    Monte Carlo standard errors of `count` intervals."""
    if not (math.isfinite(share) and count > 0):
        return False
    return share < level - max(0.02, 3.0 * math.sqrt(level * (1.0 - level) / count))


def coverage_findings(result: StudyResult) -> list[str]:
    """Plain sentences on where the clusters' 95% intervals held the truth much less often than
    95% (overall, then the poorest cluster size), or that they held it about as often as
    promised everywhere."""
    table = result.cluster_coverage
    if table is None or table.empty:
        return []
    out: list[str] = []
    for s in result.scenarios:
        part = table[table["scenario"] == s.name]
        if part.empty:
            continue
        title = s.title or s.name
        counts = {
            "ols": part["ols_clusters"].to_numpy(float),
            "mixed": part["clusters"].to_numpy(float),
        }
        for coef in ("intercept", "slope"):
            share: dict[str, float] = {}
            total: dict[str, float] = {}
            for kind in ("ols", "mixed"):
                v = part[f"{kind}_{coef}"].to_numpy(float)
                ok = np.isfinite(v)
                total[kind] = float(counts[kind][ok].sum())
                share[kind] = (
                    float((v[ok] * counts[kind][ok]).sum() / total[kind])
                    if total[kind] > 0
                    else math.nan
                )
            for kind, other in (("mixed", "ols"), ("ols", "mixed")):
                if not poor(share[kind], total[kind]):
                    continue
                who = "mixed model's" if kind == "mixed" else "by-cluster"
                text = (
                    f"In {title}, the {who} 95% intervals held the true {coef} of only "
                    f"{percent(share[kind])} of the clusters"
                )
                if math.isfinite(share[other]):
                    text += (
                        f" (the {'by-cluster' if other == 'ols' else 'mixed'} ones: "
                        f"{percent(share[other])})"
                    )
                out.append(text + "." + _why(kind, coef, s, result))
        worst = _poorest_size(part)
        if worst is not None:
            n, kind, coef, lowest, count = worst
            who = "mixed" if kind == "mixed" else "by-cluster"
            out.append(
                f"In {title}, coverage was poorest for clusters of {n} observation"
                f"{'s' if n != 1 else ''}: {percent(lowest)} for the {who} {coef}s "
                f"({count:,} intervals)."
            )
    if not out:
        out.append(
            "In every scenario the clusters' 95% intervals, by-cluster and mixed, held "
            "the true coefficients about 95% of the time (within what chance allows)."
        )
    return out


def _why(kind: str, coef: str, scenario: Scenario, result: StudyResult) -> str:
    """What the study's own replications say about why the mixed intervals fall short: they
    take the estimated SD of the random effect as known, so they held the truth less often in
    the replications whose SD came out below the true one. The coverage compared is that of
    the coefficient named (`coefficient_coverage`), the measure the sentence before gives;
    without it there is nothing to say."""
    by_coef = result.coefficient_coverage
    if kind != "mixed" or by_coef is None:
        return ""
    sd = "sd_slope" if coef == "slope" else "sd_int"
    truth = scenario.sd_slope if coef == "slope" else scenario.sd_int
    table = result.replications
    mine = table[(table["scenario"] == scenario.name) & (table["error"] == "")]
    of_this = by_coef[by_coef["scenario"] == scenario.name].set_index("replication")
    cover_of = of_this.loc[~of_this.index.duplicated(), f"mixed_{coef}"]
    est = mine[sd].to_numpy(float)
    cover = cover_of.reindex(mine["replication"].to_numpy()).to_numpy(float)
    ok = np.isfinite(est) & np.isfinite(cover)
    low, high = ok & (est < truth), ok & (est >= truth)
    if not (low.any() and high.any()) or cover[low].mean() >= cover[high].mean():
        return ""
    what = "slope" if coef == "slope" else "intercept"
    return (
        f" These intervals take the estimated SDs as known: in the replications whose "
        f"{what} SD came out below the true {truth:g} ({percent(float(low.mean()))} of them) "
        f"they held the true {what} of {percent(float(cover[low].mean()))} of the clusters, in "
        f"the others {percent(float(cover[high].mean()))}."
    )


def _poorest_size(part: pd.DataFrame) -> tuple[int, str, str, float, int] | None:
    """The cluster size and kind of interval with the poorest coverage among those that are
    poor, with at least `FINDING_MIN_INTERVALS` intervals; None when the scenario has one
    cluster size or none is poor."""
    if len(part) < 2:
        return None
    best: tuple[int, str, str, float, int] | None = None
    for _, row in part.iterrows():
        for kind in ("mixed", "ols"):
            count = int(row["clusters"] if kind == "mixed" else row["ols_clusters"])
            for coef in ("intercept", "slope"):
                share = float(row[f"{kind}_{coef}"])
                if (
                    count >= FINDING_MIN_INTERVALS
                    and poor(share, count)
                    and (best is None or share < best[3])
                ):
                    best = (int(row["n"]), kind, coef, share, count)
    return best

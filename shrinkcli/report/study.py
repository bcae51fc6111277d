"""The report's study section: what many replications say about the post's claims, in a table,
two pictures and sentences that read the numbers."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..words import extremes, join_words, percent
from .pages import Section, environment

if TYPE_CHECKING:
    from ..studies import StudyResult

#: The report's folder for the study's files.
FOLDER = "study"


@dataclass(frozen=True)
class StudyOptions:
    """A study for the report: `reps` replications per scenario, from `seed` (None: each
    scenario's own seed)."""

    reps: int
    seed: int | None = None

    def __post_init__(self) -> None:
        from ..studies import check_reps

        check_reps(self.reps)


def _scenario_rows(result: StudyResult) -> list[dict[str, Any]]:
    rows = []
    reps = result.replications
    for s in result.scenarios:
        q = result.summary[result.summary["scenario"] == s.name].set_index("quantity")

        def get(quantity: str, col: str, q: Any = q) -> float:
            return float(q.loc[quantity, col])

        ols, mixed = get("cluster_rmse_ols", "mean"), get("cluster_rmse_mixed", "mean")
        mine = reps[reps["scenario"] == s.name]
        rows.append(
            {
                "name": s.name,
                "title": s.title or s.name,
                "reps": int(len(mine)),
                "shrinkage": get("mean_shrinkage", "mean"),
                "rmse_ols": ols,
                "rmse_mixed": mixed,
                "reduction": 1 - mixed / ols if ols > 0 and math.isfinite(mixed) else math.nan,
                "mixed_wins": float((mine["cluster_rmse_mixed"] < mine["cluster_rmse_ols"]).mean()),
                "cover_intercept": get("intercept", "coverage"),
                "cover_beta": get("beta", "coverage"),
                "singular": get("singular_share", "mean"),
                "sd_slope": get("sd_slope", "mean"),
                "sd_slope_truth": get("sd_slope", "truth"),
                "failed": get("failed_share", "mean"),
                # replication 1 is the report's own data set: its page exists if it fitted
                # (a data scenario's page is its table's, which the bootstrap fitted first)
                "has_page": s.is_data
                or bool((mine[mine["replication"] == 1]["error"] == "").any()),
                "bootstrap": s.is_data,
            }
        )
    return rows


#: A share as the study page words it: "–" where there is none (NaN).
_pct = functools.partial(percent, missing="–")


def _titles(rows: list[dict[str, Any]]) -> str:
    return join_words(r["title"] for r in rows)


def _rmse_extremes(ok: list[dict[str, Any]]) -> str:
    """Where the RMSE fell most and least (as the table rounds the reduction): each extreme
    names every scenario that shares it, and one value shared by all is said once."""
    top, bottom = extremes(ok, lambda r: round(r["reduction"], 2))
    if top == bottom:
        return f"The RMSE changed by the same {_pct(top[0]['reduction'])} in every scenario."
    if len(top) == 1 and len(bottom) == 1:
        hi, lo = top[0], bottom[0]
        return (
            f"The RMSE fell most in {hi['title']} ({hi['rmse_ols']:.3f} → "
            f"{hi['rmse_mixed']:.3f}, {_pct(hi['reduction'])} lower) and least in "
            f"{lo['title']} ({lo['rmse_ols']:.3f} → {lo['rmse_mixed']:.3f}, "
            f"{_pct(lo['reduction'])})."
        )

    def named(group: list[dict[str, Any]]) -> str:
        return join_words(
            f"{r['title']} ({r['rmse_ols']:.3f} → {r['rmse_mixed']:.3f})" for r in group
        )

    return (
        f"The RMSE fell most, by {_pct(top[0]['reduction'])}, in {named(top)}, and least, "
        f"by {_pct(bottom[0]['reduction'])}, in {named(bottom)}."
    )


def reading(rows: list[dict[str, Any]]) -> list[str]:
    """Sentences that read the study's numbers."""
    out: list[str] = []
    ok = [r for r in rows if math.isfinite(r["reduction"])]
    if ok:
        better = sum(r["reduction"] > 0 for r in ok)
        if len(ok) == 1:
            text = (
                f"On average over the replications, the mixed model's cluster estimates were "
                f"{'' if better else 'not '}closer to the truth than the by-cluster ones in "
                f"{ok[0]['title']}."
            )
        else:
            what = "every" if better == len(ok) else f"{better} of {len(ok)}"
            text = (
                f"On average over the replications, the mixed model's cluster estimates were "
                f"closer to the truth than the by-cluster ones in {what} scenario"
                f"{'' if what == 'every' else 's'}."
            )
            text += " " + _rmse_extremes(ok)
        out.append(text)
        if len(ok) > 1:
            top, bottom = extremes(ok, lambda r: round(r["shrinkage"], 2))
            if top == bottom:
                where = f"{top[0]['shrinkage']:.2f} in every scenario"
            else:
                where = (
                    f"{top[0]['shrinkage']:.2f} in {_titles(top)} and "
                    f"{bottom[0]['shrinkage']:.2f} in {_titles(bottom)}"
                )
            out.append(
                f"Shrinkage is largest where each cluster says least about itself: the mean "
                f"shrinkage was {where}. This is the "
                f"trade the post describes: a little bias toward the average buys a large cut in "
                f"variance, and it pays most when the by-cluster estimates are noisiest."
            )
    covers = [v for r in rows for v in (r["cover_intercept"], r["cover_beta"]) if math.isfinite(v)]
    if covers:
        n = min(r["reps"] for r in rows)
        band = 2 * math.sqrt(0.95 * 0.05 / n) if n else math.nan
        out.append(
            f"The 95% Wald intervals of the fixed effects held the true intercept and slope in "
            f"{_pct(min(covers))}–{_pct(max(covers))} of the replications; with {n} replications "
            f"chance alone moves a true 95% by about ±{100 * band:.1f} points."
        )
    for r in rows:
        if r["failed"] >= 1:
            out.append(
                f"{r['title']} could not be fitted in any replication (too few "
                "observations for its random effects)."
            )
        elif r["failed"] > 0:
            out.append(
                f"In {r['title']}, {_pct(r['failed'])} of the replications could not be "
                "fitted and are left out."
            )
    sing = [r for r in rows if r["singular"] >= 0.05]
    for r in sing:
        out.append(
            f"In {r['title']}, {_pct(r['singular'])} of the fits were singular (a random-effect "
            f"variance or correlation estimated at its boundary); the slope SD averaged "
            f"{r['sd_slope']:.3f} against a true {r['sd_slope_truth']:.3g}."
        )
    return out


def study_section(result: StudyResult, *, seed: int | None = None) -> Section:
    """The study as a Section of the report, with its tables and pictures as files; `seed` is
    the base seed that replaced the scenarios' own (None: each its own)."""
    from ..studies import coverage_findings

    rows = _scenario_rows(result)
    reps = max((r["reps"] for r in rows), default=0)
    boots = [r for r in rows if r["bootstrap"]]
    ctx = {
        "rows": rows,
        "reading": reading(rows),
        "reps": reps,
        "folder": FOLDER,
        "bootstraps": boots,
        "simulated": len(rows) - len(boots),
        "coverage": coverage_findings(result) if result.cluster_coverage is not None else [],
    }
    env = environment()
    files = {f"{FOLDER}/{name}": content for name, content in result.files().items()}
    return Section(
        title=f"What shrinkage buys: {reps:,} replications per scenario",
        anchor="study",
        html=env.get_template("study.html.j2").render(ctx),
        markdown=env.get_template("study.md.j2").render(ctx),
        files=files,
        meta={
            "reps": reps,
            "base_seed": seed,
            "replication_seeds": "seed + k - 1 for replication k = 1, 2, ...",
        },
    )

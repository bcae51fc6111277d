"""The report's sweep section: for scenarios with a `sweep:`, the grid of designs studied as
`shrink study --vary` does, in a table, the sweep picture and sentences that read the numbers
(when does pooling pay, where do fits go singular, where do the clusters' intervals fall short).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..words import extremes, join_words, percent
from .pages import Section, environment

if TYPE_CHECKING:
    import pandas as pd

    from ..scenario import Scenario
    from ..studies import SweepResult
    from .study import StudyOptions

#: The report's folder for the sweep's files (inside the study's: a sweep comes with a study).
FOLDER = "study/sweep"
#: A singular share at least this large is worth a sentence.
SINGULAR_NOTE = 0.05


def design_rows(summary: pd.DataFrame, keys: Sequence[str]) -> list[dict[str, Any]]:
    """One row per design of one scenario's sweep summary: its key values and label, the
    clusters' RMSE by-cluster and mixed with their MCSEs, the gain and whether it is beyond
    two Monte Carlo SEs, the mixed intervals' coverage (with its SE) and the singular share."""
    rows = []
    for values, part in summary.groupby(list(keys), sort=False):
        vals = values if isinstance(values, tuple) else (values,)
        q = part.set_index("quantity")

        def get(quantity: str, col: str = "mean", q: Any = q) -> float:
            return float(q.loc[quantity, col])

        ols, mixed = get("cluster_rmse_ols"), get("cluster_rmse_mixed")
        se = math.hypot(get("cluster_rmse_ols", "mcse"), get("cluster_rmse_mixed", "mcse"))
        gain_se = (
            math.hypot(
                get("cluster_rmse_mixed", "mcse") / ols,
                mixed * get("cluster_rmse_ols", "mcse") / ols**2,
            )
            if ols > 0
            else math.nan
        )
        rows.append(
            {
                "values": dict(zip(keys, vals, strict=True)),
                "gain_se": gain_se,
                "label": ", ".join(f"{k} = {_value(v)}" for k, v in zip(keys, vals, strict=True)),
                "rmse_ols": ols,
                "rmse_mixed": mixed,
                "gain": 1.0 - mixed / ols if ols > 0 else math.nan,
                "pays": (ols - mixed) > 2.0 * se if math.isfinite(se) else ols > mixed,
                "costs": (mixed - ols) > 2.0 * se if math.isfinite(se) else mixed > ols,
                "cover_mixed": get("cluster_coverage_mixed"),
                "cover_mixed_se": get("cluster_coverage_mixed", "mcse"),
                "singular": get("singular_share"),
            }
        )
    return rows


def _value(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def gain_trend(rows: list[dict[str, Any]], key: str, keys: Sequence[str]) -> int:
    """+1 when the gain rose with `key` in every slice of the grid (the other keys fixed), −1
    when it fell in every one, 0 otherwise (or with one value of `key`); in each slice from its
    first value to its last by more than two Monte Carlo standard errors."""
    others = [k for k in keys if k != key]
    slices: dict[tuple, list[tuple[Any, float, float]]] = {}
    for r in rows:
        slices.setdefault(tuple(r["values"][k] for k in others), []).append(
            (r["values"][key], r["gain"], r["gain_se"])
        )
    signs = set()
    for points in slices.values():
        if len(points) < 2:
            return 0
        try:
            points.sort(key=lambda p: p[0])
        except TypeError:
            return 0
        steps = [b[1] - a[1] for a, b in zip(points, points[1:], strict=False)]
        if not all(math.isfinite(d) for d in steps):
            return 0
        first, last = points[0][2], points[-1][2]
        if not abs(points[-1][1] - points[0][1]) > 2.0 * math.hypot(first, last):
            return 0
        if all(d > 0 for d in steps):
            signs.add(1)
        elif all(d < 0 for d in steps):
            signs.add(-1)
        else:
            return 0
    return signs.pop() if len(signs) == 1 else 0


def reading(rows: list[dict[str, Any]], keys: Sequence[str], reps: int) -> list[str]:
    """Sentences that read one scenario's sweep."""
    out: list[str] = []
    n = len(rows)
    pays = [r for r in rows if r["pays"]]
    costs = [r for r in rows if r["costs"]]
    if len(pays) == n:
        text = (
            f"Pooling paid in every one of the {n} designs: the mixed model's "
            "cluster estimates were closer to the truth than the by-cluster ones, by more "
            "than two Monte Carlo standard errors."
        )
    elif not pays:
        text = (
            f"Pooling made no clear difference in any of the {n} designs: the "
            "mixed and by-cluster estimates were within two Monte Carlo standard errors of "
            "each other" + (", or the by-cluster ones were closer." if costs else ".")
        )
    else:
        text = (
            f"Pooling paid in {len(pays)} of the {n} designs (the mixed "
            "model's cluster estimates closer to the truth by more than two Monte Carlo "
            "standard errors)"
            + (
                f"; the by-cluster ones were closer in {len(costs)}."
                if costs
                else "; in the others the two were within chance of each other."
            )
        )
    out.append(text)
    ok = [r for r in rows if math.isfinite(r["gain"])]
    if len(ok) > 1:
        top, bottom = extremes(ok, lambda r: round(r["gain"], 2))  # as the percentages read
        if top == bottom:
            out.append(f"The RMSE changed by the same {percent(top[0]['gain'])} in every design.")
        elif len(top) == 1 and len(bottom) == 1:
            hi, lo = top[0], bottom[0]
            out.append(
                f"The RMSE fell most at {hi['label']} ({hi['rmse_ols']:.3f} → "
                f"{hi['rmse_mixed']:.3f}, {percent(hi['gain'])} lower) and least at {lo['label']} "
                f"({lo['rmse_ols']:.3f} → {lo['rmse_mixed']:.3f}, {percent(lo['gain'])})."
            )
        else:

            def named(group: list[dict[str, Any]]) -> str:
                return join_words(
                    f"{r['label']} ({r['rmse_ols']:.3f} → {r['rmse_mixed']:.3f})" for r in group
                )

            out.append(
                f"The RMSE fell most, by {percent(top[0]['gain'])}, at {named(top)}, and "
                f"least, by {percent(bottom[0]['gain'])}, at {named(bottom)}."
            )
    for key in keys:
        trend = gain_trend(rows, key, keys)
        if trend:
            where = "" if len(keys) == 1 else ", whatever the other keys"
            out.append(f"The gain {'grew' if trend > 0 else 'shrank'} as {key} grew{where}.")
    worst = max(rows, key=lambda r: r["singular"])
    if worst["singular"] >= SINGULAR_NOTE:
        many = sum(r["singular"] >= SINGULAR_NOTE for r in rows)
        out.append(
            f"Singular fits (a variance estimated at zero) were most common at {worst['label']}: "
            f"{percent(worst['singular'])} of the replications; {many} of the {n} designs had "
            f"{percent(SINGULAR_NOTE)} or more."
        )
    else:
        out.append(f"No design had {percent(SINGULAR_NOTE)} or more singular fits.")
    short = [
        r
        for r in rows
        if math.isfinite(r["cover_mixed"])
        and r["cover_mixed"]
        < 0.95
        - max(0.02, 3.0 * (r["cover_mixed_se"] if math.isfinite(r["cover_mixed_se"]) else 0.0))
    ]
    if short:
        low = min(short, key=lambda r: r["cover_mixed"])
        out.append(
            f"The mixed model's 95% intervals of the cluster coefficients held the truth "
            f"clearly less often than promised in {len(short)} of the {n} designs, least at "
            f"{low['label']} ({percent(low['cover_mixed'])}): they take the estimated variances "
            "as known."
        )
    else:
        out.append(
            "The mixed model's 95% intervals of the cluster coefficients held the truth "
            "about 95% of the time in every design (within what chance allows with "
            f"{reps:,} replications)."
        )
    return out


def sweep_section(result: SweepResult) -> Section:
    """The sweep as a Section of the report, with its tables and pictures as files."""
    summary = result.summary
    blocks = []
    for base in dict.fromkeys(d.base for d in result.designs):
        designs = [d for d in result.designs if d.base == base]
        if not designs[0].values:
            continue
        keys = [k for k, _ in designs[0].values]
        title = designs[0].scenario.title or base
        rows = design_rows(summary[summary["scenario"] == base], keys)
        blocks.append(
            {
                "name": base,
                "title": title,
                "keys": keys,
                "rows": rows,
                "reading": reading(rows, keys, result.reps),
                "picture": f"{FOLDER}/sweep-{base}.png" if len(keys) <= 2 else None,
            }
        )
    ctx = {"blocks": blocks, "reps": result.reps, "folder": FOLDER}
    env = environment()
    files = {f"{FOLDER}/{name}": content for name, content in result.files().items()}
    return Section(
        title=f"When does pooling pay? {len(result.designs)} designs, "
        f"{result.reps:,} replications each",
        anchor="sweep",
        html=env.get_template("sweep.html.j2").render(ctx),
        markdown=env.get_template("sweep.md.j2").render(ctx),
        files=files,
        meta={"reps": result.reps, "designs": len(result.designs)},
    )


def sweep_study(
    scenarios: Sequence[Scenario],
    options: StudyOptions,
    jobs: int | None,
    progress: Callable[[str, int], None] | None = None,
) -> Section | None:
    """The sweeps of the scenarios that carry one, as a section (None when none does)."""
    from ..studies import expand, run_sweep

    swept = [s for s in scenarios if s.sweep]
    if not swept:
        return None
    designs = [d for s in swept for d in expand(s)]
    result = run_sweep(designs, options.reps, jobs=jobs, seed=options.seed, progress=progress)
    return sweep_section(result)

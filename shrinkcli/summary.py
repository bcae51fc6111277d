"""The text lme4 prints for a fit: `print(summary(mod, cor = FALSE))` of lme4 1.1-31 (R 4.2).

`format_summary` rebuilds that text byte for byte from a `Fit`, in lme4's layout (its
`formatVC`, the coefficient table, the convergence notes), with R's number formatting from
`rformat`. No I/O.
"""

from __future__ import annotations

import math

from .lmm import Fit, Intervals
from .rformat import (
    cat_fill,
    format_coefmat,
    format_r,
    matrix_lines,
    named_vector_lines,
    r_name,
    r_round,
    zapsmall,
)

#: The line above the intervals, by method.
INTERVAL_HEADINGS = {
    "profile": "Profile confidence intervals (the ML deviance profiled, as lme4's confint):",
    "wald": "Wald confidence intervals (fixed effects only, as lme4's confint):",
}

#: lme4's `max(3, getOption("digits") - 3)`.
LME4_DIGITS = 4
SINGULAR_MESSAGE = "boundary (singular) fit: see help('isSingular')"


def formula(fit: Fit) -> str:
    """The model formula lme4 echoes, e.g. `y ~ x + (x | cluster)` (the double bar expanded)."""
    y, x, g = (r_name(fit.names[k]) for k in ("y", "x", "cluster"))
    return fit.spec.lme4_formula(y, x, g)


def _n_parameters(fit: Fit) -> int:
    return len(fit.fixed_effects) + len(fit.model.theta) + 1


def _aic_table(fit: Fit) -> list[str]:
    """The AIC / BIC / logLik / deviance / df.resid line of an ML fit."""
    k = _n_parameters(fit)
    m = fit.model
    deviance = -2.0 * m.loglik
    values = [
        deviance + 2.0 * k,
        deviance + math.log(m.n_obs) * k,
        m.loglik,
        m.criterion,
        float(m.n_obs - k),
    ]
    rounded = [r_round(v, 1) for v in values]
    cells = format_r(rounded)
    cells[4] = format_r(rounded[4:])[0]
    return named_vector_lines(["AIC", "BIC", "logLik", "deviance", "df.resid"], cells)


def _residual_lines(fit: Fit, digits: int) -> list[str]:
    quantiles = zapsmall(list(fit.model.scaled_residual_quantiles or (math.nan,) * 5), digits + 1)
    cells = format_r(quantiles, digits)
    return ["Scaled residuals: ", *named_vector_lines(["Min", "1Q", "Median", "3Q", "Max"], cells)]


def _corr_cell(corr: float | None) -> str:
    """`format(round(R, 2), nsmall = 2)` of the 2×2 correlation matrix, its lower corner."""
    r = math.nan if corr is None else corr
    return format_r([1.0, r_round(r, 2), r_round(r, 2), 1.0], nsmall=2)[1]


def _random_effects_lines(fit: Fit, digits: int) -> list[str]:
    """lme4's `formatVC` table (variances and standard deviations, and the correlation when the
    model has one)."""
    re_ = fit.model.variance
    spec = fit.spec
    slope_name = fit.fixed_effects[1].term if len(fit.fixed_effects) > 1 else fit.names["x"]
    rows = spec.variance_rows(slope_name, fit.names["cluster"])
    groups, names = [g for g, _ in rows], [n for _, n in rows]
    sds: list[float] = [re_.intercept_sd]
    if spec.has_random_slope:
        sd = re_.slope_sd
        sds.append(math.nan if sd is None else sd)
    sds.append(fit.model.sigma)
    groups.append("Residual")
    names.append("")
    variances = format_r([s * s for s in sds], digits)
    std_devs = format_r(sds, digits)
    columns = ["Groups", "Name", "Variance", "Std.Dev."]
    cells = [[g, n, v, s] for g, n, v, s in zip(groups, names, variances, std_devs, strict=True)]
    if spec.correlated:
        columns.append("Corr")
        corr = ["", _corr_cell(re_.corr), ""]
        cells = [row + [c] for row, c in zip(cells, corr, strict=True)]
    table = matrix_lines([""] * len(cells), columns, cells, right=False)
    return ["Random effects:", *table]


def _warning_lines(fit: Fit) -> list[str]:
    """lme4's closing optimizer / convergence note (printed only when there is one)."""
    opt = fit.model.optimizer
    messages = [SINGULAR_MESSAGE] if fit.model.singular else []
    # lme4 prints its own line for a singular fit; our explanation of it stays on stderr
    messages += [w for w in fit.warnings if not w.startswith("boundary (singular) fit")]
    code = 0 if opt.converged else 1
    if code == 0 and not messages:
        return []
    status = "(OK)" if code == 0 else (f"({opt.message})" if opt.message else "")
    head = f"optimizer ({opt.optimizer}) convergence code: {code} {status}"
    return [head, *messages, ""]


def format_summary(fit: Fit, *, data_name: str = "df") -> str:
    """The text lme4 1.1-31 prints for `print(summary(mod, cor = FALSE))` of this fit, with a
    final newline; `data_name` is what the `Data:` line names. A fit with confidence intervals
    gets them after it, as `print(confint(mod))` shows them (`intervals_text`)."""
    digits = LME4_DIGITS
    # lme4's class tag; a cross-check fit says which engine made the numbers instead
    tag = "statsmodels MixedLM" if fit.engine == "statsmodels" else "lmerMod"
    m = fit.model
    if m.spec.reml:
        title = f"Linear mixed model fit by REML ['{tag}']"
    else:
        title = f"Linear mixed model fit by maximum likelihood  ['{tag}']"
    lines = [title, *cat_fill("Formula:", formula(fit)), *cat_fill("   Data:", data_name), ""]
    if m.spec.reml:
        criterion = format_r([r_round(m.criterion, 1)])[0]
        lines += cat_fill("REML criterion at convergence:", criterion)
    else:
        lines += _aic_table(fit)
    lines.append("")
    lines += _residual_lines(fit, digits)
    lines.append("")
    lines += _random_effects_lines(fit, digits)
    cluster = fit.names["cluster"]
    lines += cat_fill(f"Number of obs: {m.n_obs}, groups: ", f"{cluster}, {m.n_groups}")
    if fit.fixed_effects:
        lines += ["", "Fixed effects:"]
        lines += format_coefmat(
            [fe.term for fe in fit.fixed_effects],
            [fe.estimate for fe in fit.fixed_effects],
            [fe.std_error for fe in fit.fixed_effects],
            [fe.t_value for fe in fit.fixed_effects],
            digits,
        )
    lines += _warning_lines(fit)
    text = "\n".join(lines) + "\n"
    if fit.intervals is not None:
        text += "\n" + intervals_text(fit.intervals)
    return text


def percent_labels(level: float) -> list[str]:
    """The columns R's `confint()` names (`format.perc`: the two tail probabilities formatted
    together to three significant digits), e.g. ['2.5 %', '97.5 %']."""
    a = (1.0 - level) / 2.0
    return [f"{cell.strip()} %" for cell in format_r([100.0 * a, 100.0 * (1.0 - a)], 3)]


def format_intervals(intervals: Intervals) -> list[str]:
    """`print()` of lme4's `confint()` matrix: lme4's row names, each column formatted on its
    own with seven significant digits, NA where the method gives no interval."""

    def cells(values: list[float]) -> list[str]:
        return format_r([v if math.isfinite(v) else None for v in values])

    lower = cells([r.lower for r in intervals.rows])
    upper = cells([r.upper for r in intervals.rows])
    return matrix_lines(
        [r.name for r in intervals.rows],
        percent_labels(intervals.level),
        [[lo, hi] for lo, hi in zip(lower, upper, strict=True)],
        right=True,
    )


def intervals_text(intervals: Intervals) -> str:
    """The intervals as the summary shows them: a line naming the method, then the matrix."""
    heading = INTERVAL_HEADINGS.get(intervals.method, "Confidence intervals:")
    return "\n".join([heading, *format_intervals(intervals)]) + "\n"

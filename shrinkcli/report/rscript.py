"""reproduce.R: the R script in every scenario folder of a report that redoes the scenario in R
with lme4, so that anyone can check the report's numbers. For a simulated scenario it is the
post's `create_data()` called with the scenario's arguments (R makes the very same data), for a
data scenario (or one drawn with numpy's generator, which R cannot replay) `read.csv` of the
folder's data.csv; then the `lmer()` call of the scenario's model, and lme4's summary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..rformat import r_name

if TYPE_CHECKING:
    from ..lmm import Fit
    from ..scenario import Scenario

#: The post's create_data(), as R code. Its `cor` argument is put into the covariance matrix of
#: the random effects as it is: it is a covariance.
CREATE_DATA = """\
# The post's create_data(). Its `cor` argument goes into the covariance matrix of the random
# effects as it is, so it is a covariance, not a correlation.
create_data <- function(obs_per_cluster = 10, n_cluster = 100, intercept = 1, beta = .5,
                        sigma = 1, sd_int = .5, sd_slope = .25, cor = 0, balanced = TRUE,
                        seed = 888) {
  set.seed(seed)
  cluster <- rep(1:n_cluster, each = obs_per_cluster)
  N <- n_cluster * obs_per_cluster
  x <- rnorm(N)
  re <- mvtnorm::rmvnorm(n_cluster, sigma = matrix(c(sd_int^2, cor, cor, sd_slope^2), 2, 2))
  y <- (intercept + re[cluster, 1]) + (beta + re[cluster, 2]) * x + rnorm(N, sd = sigma)
  sample_frac(tibble(y, x, cluster), balanced)
}
"""


def r_number(v: float | int) -> str:
    """A number as R code that reads back as the same double."""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") else text


def criterion_line(summary: str) -> str:
    """The line of lme4's summary that holds the criterion: the REML criterion, or (ML) the
    AIC, BIC, logLik, deviance and df.resid values."""
    lines = summary.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("REML criterion at convergence:"):
            return line
        if line.split() == ["AIC", "BIC", "logLik", "deviance", "df.resid"] and i + 1 < len(lines):
            return f"{' '.join(line.split())}: {' '.join(lines[i + 1].split())}"
    return ""


def _lmer(fit: Fit, data: str) -> str:
    names = fit.names
    formula = fit.spec.formula(r_name(names["y"]), r_name(names["x"]), r_name(names["cluster"]))
    method = "" if fit.spec.reml else ", REML = FALSE"
    return (
        f"mod <- lmer({formula}, data = {data}{method})\nprint(summary(mod), correlation = FALSE)\n"
    )


def _header(scenario: Scenario, how: str, summary: str, packages: str) -> str:
    check = criterion_line(summary)
    return (
        f"# Scenario {scenario.name!r} of a shrink report, redone in R:\n# {how}\n"
        "# In this folder, run\n"
        "#   Rscript reproduce.R\n"
        "# and compare lme4's summary with summary.txt"
        + (f", which says\n#   {check}\n" if check else ".\n")
        + f"# R packages: {packages}.\n"
    )


def reproduce_r(
    scenario: Scenario, fit: Fit, summary: str, *, data_name: str, text_ids: bool
) -> str:
    """reproduce.R for a scenario fitted as `fit` (lme4's summary of it: `summary`).
    `data_name` is the name the summary's Data: line gives; `text_ids` says whether the cluster
    ids in data.csv are text (read as such in R, not as numbers)."""
    var = r_name(data_name)
    if scenario.is_data or scenario.rng != "r":
        why = (
            "the table shrink read (data.csv) and the model it fitted."
            if scenario.is_data
            else "the data shrink drew (data.csv: numpy's generator, which R cannot replay) "
            "and the model it fitted."
        )
        cluster = fit.names["cluster"]
        col_classes = f',\n  colClasses = c({r_name(cluster)} = "character")' if text_ids else ""
        body = (
            "suppressMessages(library(lme4))\n\n"
            f'{var} <- read.csv("data.csv", check.names = FALSE, na.strings = c("", "NA")'
            f"{col_classes})\n" + _lmer(fit, var)
        )
        return _header(scenario, why, summary, "lme4") + "\n" + body
    s = scenario
    args = [
        f"obs_per_cluster = {r_number(s.obs_per_cluster)},",
        f"n_cluster = {r_number(s.n_cluster)},",
        f"intercept = {r_number(s.intercept)},",
        f"beta = {r_number(s.beta)},",
        f"sigma = {r_number(s.sigma)},",
        f"sd_int = {r_number(s.sd_int)},",
        f"sd_slope = {r_number(s.sd_slope)},",
        "# shrink's cor is a correlation; the post's cor is the covariance cor * sd_int * sd_slope",
        f"cor = {r_number(s.cor)} * {r_number(s.sd_int)} * {r_number(s.sd_slope)},",
        f"balanced = {'TRUE' if s.balanced == 1 else r_number(s.balanced)},",
        f"seed = {r_number(s.seed)}",
    ]
    call = f"{var} <- create_data(\n" + "".join(f"  {a}\n" for a in args) + ")\n"
    how = "the post's create_data() with this scenario's arguments, then the model it fitted."
    return (
        _header(scenario, how, summary, "lme4, mvtnorm, dplyr, tibble")
        + "\nsuppressMessages({library(lme4); library(dplyr); library(tibble)})\n\n"
        + CREATE_DATA
        + "\n"
        + call
        + _lmer(fit, var)
    )

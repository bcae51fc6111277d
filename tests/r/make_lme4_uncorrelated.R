# lme4's fits of the uncorrelated random intercept and slope, y ~ x + (x || cluster), on the six
# scenarios of the post, REML and ML: with lme4's default optimizer settings
# (tests/data/lme4-uncorrelated/NAME.json and NAME-summary.txt, what summary() prints) and run to
# convergence (tests/data/lme4-uncorrelated-tight/NAME.json).
# The data are the post's create_data() with each scenario's arguments (shrink simulate makes the
# same numbers). Run from this folder:  Rscript make_lme4_uncorrelated.R
# (Debian: apt-get install r-base-core r-cran-lme4 r-cran-mvtnorm r-cran-dplyr r-cran-tibble
#  r-cran-jsonlite)
suppressMessages({library(lme4); library(jsonlite); library(dplyr); library(tibble)})

create_data <- function(obs_per_cluster = 10, n_cluster = 100, intercept = 1, beta = .5,
                        sigma = 1, sd_int = .5, sd_slope = .25, cor = 0, balanced = TRUE,
                        seed = 888) {
  set.seed(seed)
  cluster <- rep(1:n_cluster, each = obs_per_cluster)
  N <- n_cluster * obs_per_cluster
  x <- rnorm(N)
  varmat <- matrix(c(sd_int^2, cor, cor, sd_slope^2), 2, 2)
  re <- mvtnorm::rmvnorm(n_cluster, sigma = varmat)
  colnames(re) <- c("Intercept", "x")
  y <- (intercept + re[cluster, "Intercept"]) + (beta + re[cluster, "x"]) * x +
    rnorm(N, sd = sigma)
  sample_frac(tibble(y, x, cluster), balanced)
}

scenarios <- list(
  "baseline" = list(),
  "more-subject-variance" = list(sd_int = 1, sd_slope = 1),
  "more-slope-variance" = list(sd_int = .25, sd_slope = 1),
  "few-observations" = list(obs_per_cluster = 3),
  "more-observations" = list(obs_per_cluster = 100),
  "unbalanced" = list(balanced = .5, sd_int = .5, sd_slope = .5, sigma = .25)
)
tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 0,
                                    ftol_rel = 0, maxeval = 100000))

one <- function(mod) {
  fe <- summary(mod)$coefficients
  vc <- as.data.frame(VarCorr(mod))
  cf <- coef(mod)$cluster
  ids <- rownames(cf)
  list(
    method = if (isREML(mod)) "REML" else "ML",
    criterion = if (isREML(mod)) REMLcrit(mod) else deviance(mod),
    theta = unname(getME(mod, "theta")), singular = isSingular(mod),
    fixed_effects = lapply(seq_len(nrow(fe)), function(i) list(
      term = rownames(fe)[i], estimate = fe[i, 1], std_error = fe[i, 2])),
    random_effects = list(intercept_var = vc$vcov[1], slope_var = vc$vcov[2]),
    residual = list(variance = sigma(mod)^2),
    clusters = lapply(seq_along(ids), function(i) list(
      cluster = ids[i], mixed_intercept = cf[i, "(Intercept)"], mixed_slope = cf[i, "x"])))
}

for (kind in c("lme4-uncorrelated", "lme4-uncorrelated-tight")) {
  dir.create(file.path("..", "data", kind), showWarnings = FALSE, recursive = TRUE)
}
for (name in names(scenarios)) {
  df <- do.call(create_data, scenarios[[name]])
  df$cluster <- as.character(df$cluster)  # clusters in text order, as in the files
  for (kind in c("lme4-uncorrelated", "lme4-uncorrelated-tight")) {
    if (kind == "lme4-uncorrelated") {  # the defaults, as users run it
      reml <- lmer(y ~ x + (x || cluster), df)
      ml <- lmer(y ~ x + (x || cluster), df, REML = FALSE)
    } else {
      reml <- lmer(y ~ x + (x || cluster), df, control = tight)
      ml <- lmer(y ~ x + (x || cluster), df, REML = FALSE, control = tight)
    }
    out <- list(scenario = name, model = "y ~ x + (x || cluster)",
                software = list(R = R.version.string, lme4 = as.character(packageVersion("lme4"))),
                reml = one(reml), ml = one(ml))
    write(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
          file.path("..", "data", kind, paste0(name, ".json")))
    if (kind == "lme4-uncorrelated") {
      writeLines(capture.output(print(summary(reml), correlation = FALSE)),
                 file.path("..", "data", kind, paste0(name, "-summary.txt")))
    }
  }
  cat(name, "done\n")
}

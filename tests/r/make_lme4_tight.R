# lme4 fits of the six reference data sets with a tight optimizer tolerance, so that lme4's
# numbers are at the optimum to many digits (its defaults stop up to ~3e-5 short of it in theta).
# Run from this folder:  Rscript make_lme4_tight.R
# (Debian: apt-get install r-base-core r-cran-lme4 r-cran-jsonlite)
suppressMessages({library(lme4); library(jsonlite)})

reference <- file.path("..", "data", "reference")
out <- file.path("..", "data", "lme4-tight")
dir.create(out, showWarnings = FALSE, recursive = TRUE)
tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 0,
                                    ftol_rel = 0, maxeval = 100000))

summarise <- function(mod) {
  V <- VarCorr(mod)$cluster
  fe <- summary(mod)$coefficients
  cf <- coef(mod)$cluster
  list(
    criterion = if (isREML(mod)) REMLcrit(mod) else deviance(mod),
    theta = unname(getME(mod, "theta")),
    fixed_effects = lapply(seq_len(nrow(fe)), function(i) list(
      term = rownames(fe)[i], estimate = fe[i, 1], std_error = fe[i, 2], t_value = fe[i, 3])),
    random_effects = list(intercept_var = V[1, 1], slope_var = V[2, 2],
                          corr = attr(V, "correlation")[1, 2]),
    residual_variance = sigma(mod)^2,
    clusters = lapply(seq_len(nrow(cf)), function(i) list(
      cluster = rownames(cf)[i], mixed_intercept = cf[i, 1], mixed_slope = cf[i, 2]))
  )
}

for (name in c("baseline", "more-subject-variance", "more-slope-variance", "few-observations",
               "more-observations", "unbalanced")) {
  df <- read.csv(file.path(reference, name, "data.csv"))
  reml <- lmer(y ~ x + (x | cluster), df, control = tight)
  ml <- lmer(y ~ x + (x | cluster), df, REML = FALSE, control = tight)
  res <- list(scenario = name, lme4 = as.character(packageVersion("lme4")),
              control = "nloptwrap xtol_abs 1e-12, ftol_abs 1e-14",
              reml = summarise(reml), ml = summarise(ml))
  writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE),
             file.path(out, paste0(name, ".json")))
}

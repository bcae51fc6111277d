# The reference values most tests compare with, for the six scenarios of the post:
#   reference/NAME/data.csv, truth.csv   the post's create_data() (and the true coefficients)
#   reference/NAME/lme4.json              lmer(y ~ x + (x | cluster)), REML and ML, lme4's defaults
#   reference/NAME/lme4-summary.txt       what summary(mod, cor = FALSE) prints for the REML fit
#   reference/NAME/lme4-uncertainty.json  ranef(condVar = TRUE) and confint() of the REML fit
#   reference/r-rng.json                  raw streams of R's default generator
# Run from this folder:  Rscript make_reference.R   (writes into ../data/reference)
# Debian: apt-get install r-base-core r-cran-lme4 r-cran-mvtnorm r-cran-dplyr r-cran-tibble
#         r-cran-jsonlite
suppressMessages({library(dplyr); library(tibble); library(lme4); library(jsonlite)})
out_dir <- file.path("..", "data", "reference")

# The post's create_data(); `cov` is what the post passes as `cor`: the off-diagonal of the
# random effects' covariance matrix. Also returns the true cluster coefficients.
simulate_post <- function(obs_per_cluster = 10, n_cluster = 100, intercept = 1, beta = .5,
                          sigma = 1, sd_int = .5, sd_slope = .25, cov = 0, balanced = TRUE,
                          seed = 888) {
  set.seed(seed)
  cluster <- rep(1:n_cluster, each = obs_per_cluster)
  N <- n_cluster * obs_per_cluster
  x <- rnorm(N)
  re <- mvtnorm::rmvnorm(n_cluster, sigma = matrix(c(sd_int^2, cov, cov, sd_slope^2), 2, 2))
  y <- (intercept + re[cluster, 1]) + (beta + re[cluster, 2]) * x + rnorm(N, sd = sigma)
  list(data = sample_frac(tibble(y, x, cluster), balanced),
       truth = data.frame(cluster = 1:n_cluster, true_intercept = intercept + re[, 1],
                          true_slope = beta + re[, 2]))
}

as_list <- function(mod, df) {
  V <- VarCorr(mod)$cluster
  fe <- summary(mod)$coefficients
  cf <- coef(mod)$cluster
  re <- ranef(mod)$cluster
  ols <- coef(lmList(y ~ x | cluster, df))
  sizes <- table(df$cluster)
  ids <- rownames(cf)
  list(
    method = if (isREML(mod)) "REML" else "ML",
    criterion = if (isREML(mod)) REMLcrit(mod) else deviance(mod),
    loglik = as.numeric(logLik(mod)), n_obs = nobs(mod), n_groups = length(ids),
    theta = unname(getME(mod, "theta")), singular = isSingular(mod),
    fixed_effects = lapply(seq_len(nrow(fe)), function(i) list(
      term = rownames(fe)[i], estimate = fe[i, 1], std_error = fe[i, 2], t_value = fe[i, 3])),
    random_effects = list(intercept_var = V[1, 1], slope_var = V[2, 2],
                          intercept_sd = sqrt(V[1, 1]), slope_sd = sqrt(V[2, 2]),
                          corr = attr(V, "correlation")[1, 2]),
    residual = list(variance = sigma(mod)^2, sd = sigma(mod)),
    scaled_residual_quantiles = unname(quantile(residuals(mod, type = "pearson", scaled = TRUE))),
    clusters = lapply(seq_along(ids), function(i) list(
      cluster = ids[i], n = as.integer(sizes[[ids[i]]]),
      ols_intercept = ols[ids[i], 1], ols_slope = ols[ids[i], 2],
      mixed_intercept = cf[i, 1], mixed_slope = cf[i, 2],
      ranef_intercept = re[i, 1], ranef_slope = re[i, 2])))
}

uncertainty <- function(df, name) {
  df$cluster <- as.character(df$cluster)  # clusters in text order
  mod <- lmer(y ~ x + (x | cluster), df)
  re <- ranef(mod, condVar = TRUE)$cluster
  pv <- attr(re, "postVar")  # 2 x 2 x clusters
  prof <- suppressWarnings(confint(mod, method = "profile", level = 0.95, oldNames = FALSE))
  wald <- confint(mod, method = "Wald", level = 0.95, parm = "beta_")
  rows <- function(m) lapply(seq_len(nrow(m)), function(i) list(
    parameter = rownames(m)[i], lower = unname(m[i, 1]), upper = unname(m[i, 2])))
  ids <- rownames(re)
  list(scenario = name, model = "y ~ x + (x | cluster), REML",
       software = list(R = R.version.string, lme4 = as.character(packageVersion("lme4"))),
       criterion = REMLcrit(mod), singular = isSingular(mod),
       profile_ci = rows(prof), wald_ci = rows(wald),
       clusters = lapply(seq_along(ids), function(i) list(
         cluster = ids[i], ranef_intercept = re[i, 1], ranef_slope = re[i, 2],
         condvar_intercept = pv[1, 1, i], condcov = pv[1, 2, i], condvar_slope = pv[2, 2, i])))
}

scenarios <- list(
  "baseline" = list(),
  "more-subject-variance" = list(sd_int = 1, sd_slope = 1),
  "more-slope-variance" = list(sd_int = .25, sd_slope = 1),
  "few-observations" = list(obs_per_cluster = 3),
  "more-observations" = list(obs_per_cluster = 100),
  "unbalanced" = list(balanced = .5, sd_int = .5, sd_slope = .5, sigma = .25)
)
json <- function(x, path) writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, pretty = TRUE,
                                            na = "null"), path)
for (name in names(scenarios)) {
  folder <- file.path(out_dir, name)
  dir.create(folder, showWarnings = FALSE, recursive = TRUE)
  sim <- do.call(simulate_post, scenarios[[name]])
  write.csv(sim$data, file.path(folder, "data.csv"), row.names = FALSE)
  write.csv(sim$truth, file.path(folder, "truth.csv"), row.names = FALSE)
  df <- sim$data
  reml <- lmer(y ~ x + (x | cluster), df)
  ml <- lmer(y ~ x + (x | cluster), df, REML = FALSE)
  json(list(scenario = name, arguments = scenarios[[name]],
            software = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                            mvtnorm = as.character(packageVersion("mvtnorm")),
                            dplyr = as.character(packageVersion("dplyr"))),
            reml = as_list(reml, df), ml = as_list(ml, df)),
       file.path(folder, "lme4.json"))
  writeLines(capture.output(print(summary(reml), correlation = FALSE)),
             file.path(folder, "lme4-summary.txt"))
  # the intervals are fitted to the numbers as the file holds them (15 significant digits)
  json(uncertainty(read.csv(file.path(folder, "data.csv")), name),
       file.path(folder, "lme4-uncertainty.json"))
  cat(name, "done\n")
}

streams <- list()
for (s in c(1, 42, 888, 2024)) {
  set.seed(s); u <- runif(10)
  set.seed(s); z <- rnorm(10)
  set.seed(s); k <- sample.int(1000, 10)
  set.seed(s); p <- sample.int(7)
  streams[[as.character(s)]] <- list(runif = u, rnorm = z, sample_int_1000_10 = k,
                                     sample_int_7 = p)
}
json(streams, file.path(out_dir, "r-rng.json"))

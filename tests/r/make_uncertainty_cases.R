# lme4's uncertainty numbers beyond those of make_reference.R (which has the REML fits of
# y ~ x + (x | cluster)): for the six scenarios of the post, the ML fit, the uncorrelated
# (x || cluster) and the intercept-only (1 | cluster) REML fits, the REML fit's conditional
# variances with its θ, and lmList's pooled standard errors and intervals; and boundary cases (singular fits, intervals that end at a bound) on small simulated
# data sets (there also run to convergence, nloptwrap xtol_abs 1e-12, ftol_abs 1e-14, without
# intervals). Per fit: ranef(condVar = TRUE) (for (x || cluster) the whole per-cluster block of
# condVar(), whose covariance ranef() leaves out), confint(method = "profile") and Wald.
# Writes ../data/uncertainty/NAME.json (and NAME.csv, the data of a simulated case).
# Run from this folder:  Rscript make_uncertainty_cases.R
# (Debian: apt-get install r-base-core r-cran-lme4 r-cran-mvtnorm r-cran-dplyr r-cran-tibble
#  r-cran-jsonlite)
suppressMessages({library(lme4); library(jsonlite); library(dplyr); library(tibble)})
out_dir <- file.path("..", "data", "uncertainty")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

# The post's create_data() (`cor` is passed as the covariance, as the post does).
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

rows <- function(m) lapply(seq_len(nrow(m)), function(i) list(
  parameter = rownames(m)[i], lower = unname(m[i, 1]), upper = unname(m[i, 2])))

# Per-cluster conditional covariance blocks from condVar() (the full matrix, in lme4's order of
# the random effects: by term, then by level).
cond_blocks <- function(mod) {
  cv <- as.matrix(lme4:::condVar(mod))
  k <- nlevels(mod@flist$cluster)
  nterm <- nrow(cv) / k
  if (length(mod@cnms) == 1L && nterm == 2) {  # (x | cluster): by level, then by column
    i1 <- seq(1, 2 * k, by = 2); i2 <- i1 + 1
  } else {  # (x || cluster): all intercepts, then all slopes
    i1 <- seq_len(k); i2 <- i1 + k
  }
  if (nterm == 1) return(list(v11 = diag(cv), v12 = rep(NA, k), v22 = rep(NA, k)))
  list(v11 = cv[cbind(i1, i1)], v12 = cv[cbind(i1, i2)], v22 = cv[cbind(i2, i2)])
}

one_fit <- function(mod, profile = TRUE) {
  ids <- levels(mod@flist$cluster)
  re <- ranef(mod, condVar = TRUE)$cluster
  pv <- attr(re, "postVar")
  blocks <- cond_blocks(mod)
  # what ranef() itself attaches: one array (a single term) or one per term
  ranef_var <- function(j) if (is.list(pv)) pv[[j]][1, 1, ] else pv[j, j, ]
  prof <- if (profile) suppressMessages(suppressWarnings(
    confint(mod, method = "profile", level = 0.95, oldNames = FALSE))) else NULL
  wald <- confint(mod, method = "Wald", level = 0.95, oldNames = FALSE)
  list(
    formula = deparse(formula(mod)), method = if (isREML(mod)) "REML" else "ML",
    criterion = if (isREML(mod)) REMLcrit(mod) else deviance(mod),
    theta = unname(getME(mod, "theta")), sigma = sigma(mod), singular = isSingular(mod),
    profile_ci = if (profile) rows(prof) else NULL, wald_ci = rows(wald),
    # what print() shows of the two matrices
    profile_text = if (profile) capture.output(print(prof)) else NULL,
    wald_text = capture.output(print(wald)),
    clusters = lapply(seq_along(ids), function(i) list(
      cluster = ids[i],
      postvar_intercept = ranef_var(1)[i],
      postvar_slope = if (ncol(re) > 1) ranef_var(2)[i] else NA,
      condvar_intercept = blocks$v11[i], condcov = blocks$v12[i],
      condvar_slope = blocks$v22[i])))
}

# lmList's pooled standard errors (summary(); NA for a cluster without residual degrees of
# freedom of its own) and t intervals (confint(), which has them for every cluster).
ols_pooled <- function(df) {
  l <- lmList(y ~ x | cluster, df)
  s <- summary(l)  # pool = TRUE: the pooled residual standard deviation
  co <- s$coefficients  # clusters x statistics x terms
  ci <- confint(l)  # clusters x (lower, upper) x terms
  ids <- dimnames(co)[[1]]
  list(pooled_sd = s$RSE, df = s$df.residual,
       clusters = lapply(seq_along(ids), function(i) list(
         cluster = ids[i], ols_intercept = co[i, 1, 1], ols_slope = co[i, 1, 2],
         ols_intercept_se = co[i, 2, 1], ols_slope_se = co[i, 2, 2],
         intercept_lower = ci[i, 1, 1], intercept_upper = ci[i, 2, 1],
         slope_lower = ci[i, 1, 2], slope_upper = ci[i, 2, 2])))
}

tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 0,
                                    ftol_rel = 0, maxeval = 100000))

json <- function(x, path) writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, pretty = TRUE,
                                            na = "null", null = "null"), path)
software <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")))

for (name in c("baseline", "more-subject-variance", "more-slope-variance", "few-observations",
               "more-observations", "unbalanced")) {
  df <- read.csv(file.path("..", "data", "reference", name, "data.csv"))
  df$cluster <- factor(df$cluster)  # numeric order, as shrink orders numbers
  json(list(
    scenario = name, data = file.path("reference", name, "data.csv"), software = software,
    ols = ols_pooled(df),
    # make_reference.R has this fit's intervals; here its θ and conditional variances
    reml = one_fit(lmer(y ~ x + (x | cluster), df), profile = FALSE),
    ml = one_fit(lmer(y ~ x + (x | cluster), df, REML = FALSE)),
    uncorrelated = one_fit(lmer(y ~ x + (x || cluster), df)),
    intercept = one_fit(lmer(y ~ x + (1 | cluster), df))),
    file.path(out_dir, paste0(name, ".json")))
  cat(name, "done\n")
}

# The layout of other levels (format.perc names the columns).
df <- read.csv(file.path("..", "data", "reference", "baseline", "data.csv"))
mod <- lmer(y ~ x + (x | cluster), df)
json(lapply(c(0.9, 0.99, 0.975), function(level) list(
  level = level, wald_ci = rows(confint(mod, method = "Wald", level = level, oldNames = FALSE)),
  wald_text = capture.output(print(confint(mod, method = "Wald", level = level,
                                           oldNames = FALSE))))),
  file.path(out_dir, "levels.json"))

# Boundary cases: small data sets whose fits are singular or whose intervals end at a bound.
cases <- list(
  # the slope's SD estimated at 0 (a correlation of ±1): REML and ML fits singular
  "singular-slope" = list(args = list(n_cluster = 20, obs_per_cluster = 5, sd_slope = .05,
                                      seed = 1), random = "intercept-slope"),
  # the intercept's SD small: its interval starts at 0
  "small-intercept" = list(args = list(n_cluster = 20, obs_per_cluster = 5, sd_int = .05,
                                       sd_slope = .3, seed = 5), random = "intercept-slope"),
  # a random intercept whose SD is estimated at 0
  "singular-intercept" = list(args = list(n_cluster = 20, obs_per_cluster = 5, sd_int = .05,
                                          sd_slope = .3, seed = 2), random = "intercept")
)
for (name in names(cases)) {
  case <- cases[[name]]
  df <- do.call(create_data, case$args)
  write.csv(df, file.path(out_dir, paste0(name, ".csv")), row.names = FALSE)
  df <- read.csv(file.path(out_dir, paste0(name, ".csv")))
  df$cluster <- factor(df$cluster)
  f <- if (case$random == "intercept") y ~ x + (1 | cluster) else y ~ x + (x | cluster)
  json(list(
    scenario = name, arguments = case$args, random = case$random,
    data = file.path("uncertainty", paste0(name, ".csv")), software = software,
    reml = one_fit(suppressMessages(lmer(f, df))),
    ml = one_fit(suppressMessages(lmer(f, df, REML = FALSE))),
    reml_tight = one_fit(suppressMessages(lmer(f, df, control = tight)), profile = FALSE),
    ml_tight = one_fit(suppressMessages(lmer(f, df, REML = FALSE, control = tight)),
                       profile = FALSE)),
    file.path(out_dir, paste0(name, ".json")))
  cat(name, "done\n")
}

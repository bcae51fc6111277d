# Extra targets for tests/test_summary.py: what lme4 prints for fits that the six reference
# scenarios do not cover (ML, random intercept only, singular fits, other names, huge and tiny
# numbers), next to the fit's numbers at full precision (same keys as lme4.json's `reml`).
# Made with R 4.2.2 and lme4 1.1-31. Run from the repository root:
#   Rscript tests/r/make_summary_cases.R
# The test suite only reads the files this writes; it never needs R.
suppressMessages({library(lme4); library(jsonlite)})

out_dir = "tests/data/summary"
ref_dir = file.path("tests", "data", "reference")

fit_numbers <- function(mod) {
  V = VarCorr(mod)[[1]]
  slope = ncol(V) > 1
  fe = summary(mod)$coefficients
  cf = coef(mod)[[1]]
  re = ranef(mod)[[1]]
  ids = rownames(cf)
  list(
    method = if (isREML(mod)) "REML" else "ML",
    criterion = if (isREML(mod)) REMLcrit(mod) else deviance(mod),
    loglik = as.numeric(logLik(mod)),
    n_obs = nobs(mod), n_groups = length(ids),
    theta = I(unname(getME(mod, "theta"))),
    singular = isSingular(mod),
    fixed_effects = lapply(seq_len(nrow(fe)), function(i) list(
      term = rownames(fe)[i], estimate = fe[i, 1], std_error = fe[i, 2], t_value = fe[i, 3])),
    random_effects = list(
      intercept_var = V[1, 1], slope_var = if (slope) V[2, 2] else NULL,
      intercept_sd = sqrt(V[1, 1]), slope_sd = if (slope) sqrt(V[2, 2]) else NULL,
      corr = if (slope) attr(V, "correlation")[1, 2] else NULL),
    residual = list(variance = sigma(mod)^2, sd = sigma(mod)),
    scaled_residual_quantiles = unname(quantile(residuals(mod, type = "pearson", scaled = TRUE))),
    clusters = lapply(seq_along(ids), function(i) list(
      cluster = ids[i],
      mixed_intercept = cf[i, 1], mixed_slope = cf[i, 2],
      ranef_intercept = re[i, 1], ranef_slope = if (slope) re[i, 2] else 0))
  )
}

save_case <- function(name, mod, data_name, names = c(y = "y", x = "x", cluster = "cluster")) {
  slope = ncol(VarCorr(mod)[[1]]) > 1
  res = list(case = name, data_name = data_name, names = as.list(names),
             random = if (slope) "intercept-slope" else "intercept",
             optimizer = mod@optinfo$optimizer,
             convergence_code = mod@optinfo$conv$opt,
             messages = as.list(unlist(mod@optinfo$conv$lme4$messages)),
             lme4 = as.character(packageVersion("lme4")),
             fit = fit_numbers(mod))
  writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "string"),
             file.path(out_dir, paste0(name, ".json")))
  writeLines(capture.output(print(summary(mod, cor = FALSE))),
             file.path(out_dir, paste0(name, ".txt")))
}

small_data <- function(seed, n_cl = 20, per = 5) {
  # No random slope in the truth (and no random intercept): fits on the boundary.
  set.seed(seed)
  cluster = rep(1:n_cl, each = per)
  x = rnorm(n_cl * per)
  y = 1 + .5 * x + rnorm(n_cl * per)
  data.frame(y, x, cluster)
}

dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
df = read.csv(file.path(ref_dir, "baseline", "data.csv"))
fw = read.csv(file.path(ref_dir, "few-observations", "data.csv"))

save_case("baseline-ml", lmer(y ~ x + (x | cluster), df, REML = FALSE), "df")
save_case("baseline-intercept", lmer(y ~ x + (1 | cluster), df), "df")
save_case("baseline-intercept-ml", lmer(y ~ x + (1 | cluster), df, REML = FALSE), "df")
save_case("few-observations-ml", lmer(y ~ x + (x | cluster), fw, REML = FALSE), "fw")

pupils = setNames(df, c("score", "hours", "school"))
save_case("renamed", lmer(score ~ hours + (hours | school), pupils), "pupils",
          c(y = "score", x = "hours", cluster = "school"))

big = transform(df, y = y * 1e5)
save_case("huge", lmer(y ~ x + (x | cluster), big), "big")
tiny = transform(df, y = y * 1e-5, x = x * 1e3)
save_case("tiny", lmer(y ~ x + (x | cluster), tiny), "tiny")

s1 = small_data(1)   # correlation -1
save_case("singular-corr-minus-one", suppressMessages(lmer(y ~ x + (x | cluster), s1)), "s1")
s7 = small_data(7)   # correlation +1
save_case("singular-corr-one", suppressMessages(lmer(y ~ x + (x | cluster), s7)), "s7")
s5 = small_data(5)   # no intercept variance: correlation NaN
save_case("singular-corr-nan", suppressMessages(lmer(y ~ x + (x | cluster), s5)), "s5")
s8 = small_data(8)   # both variances (almost) zero
save_case("singular-zero", suppressMessages(lmer(y ~ x + (x | cluster), s8)), "s8")
s2 = small_data(2)   # random intercept only, variance zero
save_case("singular-intercept", suppressMessages(lmer(y ~ x + (1 | cluster), s2)), "s2")
s4 = small_data(4)   # correlation -0.9999997, not singular
save_case("corr-almost-minus-one", suppressMessages(lmer(y ~ x + (x | cluster), s4)), "s4")

# format() and round() of assorted numbers, for the unit tests of format_r and r_round.
# Numbers are written with 17 significant digits so that they read back exactly.
set.seed(2024)
num = function(v) sprintf("%.17g", v)
format_cases = lapply(1:400, function(i) {
  n = sample(1:5, 1)
  v = sample(c(-1, 1), n, replace = TRUE) * 10^runif(n, -9, 9)
  if (runif(1) < .5) v = round(v, sample(0:6, 1))
  if (runif(1) < .1) v[1] = 0
  if (runif(1) < .05) v[n] = sample(c(NaN, Inf, -Inf), 1)
  digits = sample(c(1:15, 3:7), 1)
  nsmall = if (runif(1) < .2) sample(1:3, 1) else 0
  list(x = I(num(v)), digits = digits, nsmall = nsmall,
       format = I(format(v, digits = digits, nsmall = nsmall)))
})
x = c(sample(-2000:2000, 300) / 8, sample(-2000:2000, 300) * 0.005, 10^runif(300, -6, 6))
d = sample(-2:8, length(x), replace = TRUE)
round_cases = list(x = num(x), digits = d, round = num(round(x, d)))
writeLines(toJSON(list(format = format_cases, round = round_cases), auto_unbox = TRUE, pretty = TRUE),
           file.path(out_dir, "format-cases.json"))

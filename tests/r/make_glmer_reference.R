# glmer reference fits (Laplace, nAGQ = 1, and adaptive Gauss-Hermite, nAGQ > 1) for shrinkcli/lmm/glmm.py: lme4's cbpp with period as a
# number, and binomial (0/1 and with trials) and Poisson data simulated with the issue's
# create_glmm_data(). Each model is fitted with glmer's defaults and run to convergence
# (nloptwrap with tight tolerances in both stages, tolPwrss 1e-12); the stage-2 deviance function
# (devFunOnly = TRUE) is evaluated at both optima and at a point away from them.
# Run from this folder:  Rscript make_glmer_reference.R
# (Debian: apt-get install r-base-core r-cran-lme4 r-cran-mvtnorm r-cran-dplyr r-cran-tibble
#  r-cran-jsonlite)
suppressMessages({library(lme4); library(jsonlite)})
source("create_glmm_data.R")

out <- file.path("..", "data", "glmer")
dir.create(out, showWarnings = FALSE, recursive = TRUE)
tight <- glmerControl(optimizer = "nloptwrap", tolPwrss = 1e-12,
                      optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 0,
                                     ftol_rel = 0, maxeval = 100000))

write_data <- function(df, name) {
  con <- file(file.path(out, paste0(name, ".csv")), "w")
  writeLines(paste(names(df), collapse = ","), con)
  m <- vapply(df, function(col) formatC(col, digits = 17, format = "g"), character(nrow(df)))
  writeLines(apply(m, 1, function(r) paste(trimws(r), collapse = ",")), con)
  close(con)
}

summarise <- function(mod, devfun) {
  re <- ranef(mod, condVar = TRUE)[[1]]
  pv <- attr(re, "postVar")
  q <- ncol(re)
  fe <- summary(mod)$coefficients
  theta <- unname(getME(mod, "theta"))
  beta <- unname(fixef(mod))
  list(
    deviance = -2 * as.numeric(logLik(mod)),
    devfun_at_estimate = devfun(c(theta, beta)),
    theta = theta,
    beta = beta,
    std_error = unname(fe[, 2]),
    std_error_rx = unname(sqrt(diag(as.matrix(vcov(mod, use.hessian = FALSE))))),
    singular = isSingular(mod),
    optimizer_messages = paste(unlist(mod@optinfo$conv$lme4$messages), collapse = "; "),
    clusters = rownames(re),
    modes = lapply(seq_len(q), function(j) unname(re[[j]])),
    condvar = lapply(seq_len(q), function(j) lapply(seq_len(q), function(k) pv[j, k, ]))
  )
}

fit_case <- function(name, formula, df, nAGQ = 1) {
  default <- glmer(formula, df, family = fam[[name]], nAGQ = nAGQ)
  tightfit <- glmer(formula, df, family = fam[[name]], control = tight, nAGQ = nAGQ)
  devfun <- glmer(formula, df, family = fam[[name]], control = tight, devFunOnly = TRUE,
                  nAGQ = nAGQ)
  away <- c(getME(tightfit, "theta") * 1.25 + 0.05, fixef(tightfit) + 0.1)
  res <- list(case = name, nAGQ = nAGQ, r = R.version.string, lme4 = as.character(packageVersion("lme4")),
              formula = paste(deparse(formula), collapse = ""), family = fam[[name]]$family,
              link = fam[[name]]$link,
              tight_control = "nloptwrap xtol_abs 1e-12 ftol_abs 1e-14, tolPwrss 1e-12",
              default = summarise(default, devfun), tight = summarise(tightfit, devfun),
              devfun_away = list(at = unname(away), value = devfun(unname(away))))
  writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE),
             file.path(out, paste0(name, ".json")))
}

fam <- list()
cbpp2 <- transform(cbpp, period = as.numeric(as.character(period)), cluster = as.integer(herd),
                   trials = size, y = incidence)
cb <- cbpp2[, c("y", "trials", "period", "cluster")]
write_data(cb, "cbpp")
fam[["cbpp"]] <- binomial(); fam[["cbpp-intercept"]] <- binomial()
fit_case("cbpp", cbind(y, trials - y) ~ period + (1 | cluster), cb)
fit_case("cbpp-intercept", cbind(y, trials - y) ~ 1 + (1 | cluster), cb)

bin <- as.data.frame(create_glmm_data(obs_per_cluster = 20, n_cluster = 50, intercept = 0.3,
                                      beta = 0.7, sd_int = 0.8, sd_slope = 0.5, cor = 0.3,
                                      family = "binomial", seed = 2024))
write_data(bin, "binary")
fam[["binary-intercept"]] <- binomial(); fam[["binary-slope"]] <- binomial()
fit_case("binary-intercept", y ~ x + (1 | cluster), bin)
fit_case("binary-slope", y ~ x + (x | cluster), bin)

bt <- as.data.frame(create_glmm_data(obs_per_cluster = 8, n_cluster = 30, intercept = -0.5,
                                     beta = 0.4, sd_int = 0.6, sd_slope = 0.3, cor = -0.4,
                                     family = "binomial", trials = 6, seed = 77))
write_data(bt, "trials")
fam[["trials-slope"]] <- binomial()
fit_case("trials-slope", cbind(y, trials - y) ~ x + (x | cluster), bt)

po <- as.data.frame(create_glmm_data(obs_per_cluster = 10, n_cluster = 40, intercept = 1,
                                     beta = 0.3, sd_int = 0.5, sd_slope = 0.25, cor = 0.2,
                                     family = "poisson", seed = 31))
write_data(po, "poisson")
fam[["poisson-intercept"]] <- poisson(); fam[["poisson-slope"]] <- poisson()
fam[["poisson-null"]] <- poisson()
fit_case("poisson-intercept", y ~ x + (1 | cluster), po)
fit_case("poisson-slope", y ~ x + (x | cluster), po)
fit_case("poisson-null", y ~ 1 + (1 | cluster), po)

# boundary cases: a random intercept and a random slope with no variance behind them
ps <- as.data.frame(create_glmm_data(obs_per_cluster = 10, n_cluster = 30, intercept = 0.5,
                                     beta = 0.3, sd_int = 0.02, sd_slope = 0, cor = 0,
                                     family = "poisson", seed = 5))
write_data(ps, "poisson-boundary")
fam[["poisson-singular"]] <- poisson()
fit_case("poisson-singular", y ~ x + (1 | cluster), ps)
bs <- as.data.frame(create_glmm_data(obs_per_cluster = 15, n_cluster = 40, intercept = 0,
                                     beta = 0.5, sd_int = 0.7, sd_slope = 0, cor = 0,
                                     family = "binomial", seed = 11))
write_data(bs, "binary-boundary")
fam[["binary-singular-slope"]] <- binomial()
fit_case("binary-singular-slope", y ~ x + (x | cluster), bs)

# adaptive Gauss-Hermite quadrature for a scalar random intercept
fam[["cbpp-agq9"]] <- binomial(); fam[["binary-agq25"]] <- binomial()
fam[["poisson-agq5"]] <- poisson()
fit_case("cbpp-agq9", cbind(y, trials - y) ~ period + (1 | cluster), cb, nAGQ = 9)
fit_case("binary-agq25", y ~ x + (1 | cluster), bin, nAGQ = 25)
fit_case("poisson-agq5", y ~ x + (1 | cluster), po, nAGQ = 5)

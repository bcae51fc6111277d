# Real data sets for the tests of data scenarios, and lme4's numbers for them:
#   real/NAME.csv               the table, as a user would give it to shrink
#   real/NAME-lme4.json         lmer REML and ML with lme4's defaults and run to convergence
#   real/NAME-summary.txt       what print(summary(mod), correlation = FALSE) shows (REML, defaults)
#   real/NAME-simulate.json     simulate(mod, seed = s) of the default REML fit, for the three
#                               random structures, with the theta, beta and sigma it drew from
# The data sets ship with R and lme4 (GPL):
#   sleepstudy          lme4::sleepstudy: reaction times of 18 subjects over 10 days of sleep
#                       deprivation (Belenky et al. 2003); integer ids, equal cluster sizes
#   orthodont           nlme::Orthodont: a growth table, distance by age of 27 children;
#                       text ids (M01, F11), 4 rows each
#   chickweight         datasets::ChickWeight: body weight of 50 chicks over 21 days; unequal
#                       cluster sizes (2 to 12 rows)
#   sleepstudy_dropout  sleepstudy with subjects dropping out of the study after a fixed day
#                       (a design of this shape, not a published data set): 1 to 10 rows per
#                       subject, three subjects with a single row
# Run from this folder:  Rscript make_real_data.R   (writes into ../data/real)
# Debian: apt-get install r-base-core r-cran-lme4 r-cran-nlme r-cran-jsonlite
suppressMessages({library(lme4); library(jsonlite)})
out_dir <- file.path("..", "data", "real")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

tight <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 0,
                                    ftol_rel = 0, maxeval = 100000))

sleepstudy_df <- data.frame(Reaction = sleepstudy$Reaction, Days = sleepstudy$Days,
                            Subject = as.integer(as.character(sleepstudy$Subject)))
orthodont_df <- data.frame(distance = nlme::Orthodont$distance, age = nlme::Orthodont$age,
                           Subject = as.character(nlme::Orthodont$Subject),
                           Sex = as.character(nlme::Orthodont$Sex))
chick_df <- data.frame(weight = ChickWeight$weight, Time = ChickWeight$Time,
                       Chick = as.integer(as.character(ChickWeight$Chick)),
                       Diet = as.integer(as.character(ChickWeight$Diet)))
# the last day each subject (in order of their ids) stays in the study
last_day <- c(9, 9, 9, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 9, 9)
ids <- sort(unique(sleepstudy_df$Subject))
keep <- sleepstudy_df$Days <= last_day[match(sleepstudy_df$Subject, ids)]
dropout_df <- sleepstudy_df[keep, ]

sets <- list(
  sleepstudy = list(df = sleepstudy_df, y = "Reaction", x = "Days", g = "Subject"),
  orthodont = list(df = orthodont_df, y = "distance", x = "age", g = "Subject"),
  chickweight = list(df = chick_df, y = "weight", x = "Time", g = "Chick"),
  sleepstudy_dropout = list(df = dropout_df, y = "Reaction", x = "Days", g = "Subject")
)

fit_numbers <- function(mod, df, s) {
  V <- VarCorr(mod)[[1]]
  fe <- summary(mod)$coefficients
  cf <- coef(mod)[[1]]
  re <- ranef(mod)[[1]]
  ols <- coef(lmList(as.formula(paste(s$y, "~", s$x, "|", s$g)), df))
  sizes <- table(df[[s$g]])
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

json <- function(x, path) writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, pretty = TRUE,
                                            na = "null"), path)
terms <- c("intercept-slope" = "(%s | %s)", "uncorrelated" = "(%s || %s)",
           "intercept" = "(1 | %s)")
formula_of <- function(s, random) {
  term <- if (random == "intercept") sprintf(terms[[random]], s$g) else
    sprintf(terms[[random]], s$x, s$g)
  as.formula(paste(s$y, "~", s$x, "+", term))
}

for (name in names(sets)) {
  s <- sets[[name]]
  write.csv(s$df, file.path(out_dir, paste0(name, ".csv")), row.names = FALSE)
  df <- read.csv(file.path(out_dir, paste0(name, ".csv")))  # the numbers as the file holds them
  assign(name, df)  # so that summary's Data: line names the data set
  f <- formula_of(s, "intercept-slope")
  reml <- eval(bquote(lmer(.(f), .(as.name(name)))))
  ml <- eval(bquote(lmer(.(f), .(as.name(name)), REML = FALSE)))
  reml_tight <- lmer(f, df, control = tight)
  ml_tight <- lmer(f, df, REML = FALSE, control = tight)
  json(list(data = name, y = s$y, x = s$x, cluster = s$g,
            software = list(R = R.version.string, lme4 = as.character(packageVersion("lme4"))),
            tight_control = "nloptwrap xtol_abs 1e-12, ftol_abs 1e-14",
            reml = fit_numbers(reml, df, s), ml = fit_numbers(ml, df, s),
            reml_tight = fit_numbers(reml_tight, df, s), ml_tight = fit_numbers(ml_tight, df, s)),
       file.path(out_dir, paste0(name, "-lme4.json")))
  writeLines(capture.output(print(summary(reml), correlation = FALSE)),
             file.path(out_dir, paste0(name, "-summary.txt")))
  sims <- list()
  for (random in names(terms)) {
    mod <- lmer(formula_of(s, random), df)
    seed <- 101
    y <- simulate(mod, nsim = 1, seed = seed)[[1]]
    sims[[random]] <- list(seed = seed, theta = unname(getME(mod, "theta")),
                           beta = unname(fixef(mod)), sigma = sigma(mod), y = y)
  }
  json(sims, file.path(out_dir, paste0(name, "-simulate.json")))
  cat(name, "done\n")
}

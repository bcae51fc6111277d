# R's own rbinom() and rpois() streams, and whole create_glmm_data() data sets, for the tests
# that shrink draws binomial and Poisson variates exactly as R does (tests/test_rrng_glmm.py):
#   glmm/streams.json   set.seed(seed); rbinom(n, size, prob) or rpois(n, lambda) for
#                       parameters crossing every switch of R's algorithms (binomial: inversion
#                       for n*min(p, 1-p) < 30, BTPE from 30; Poisson: table lookup for
#                       lambda < 10, Ahrens-Dieter PD from 10), for vectors of parameters that
#                       alternate within one stream, and two calls in a row on one stream;
#                       parameters as "%.17g" strings
#   glmm/NAME.csv       create_glmm_data(...) (create_glmm_data.R, the issue's generator), x to
#                       17 significant digits; NAME-truth.csv the clusters' true coefficients
#                       (intercept + re, beta + re, redrawn as create_glmm_data draws them)
#   glmm/cases.json     the data sets' arguments, and the R version
# Run from this folder:  Rscript make_glmm_streams.R   (writes into ../data/glmm)
# Debian: apt-get install r-base-core r-cran-mvtnorm r-cran-dplyr r-cran-tibble r-cran-jsonlite
suppressMessages({library(dplyr); library(tibble); library(jsonlite)})
source("create_glmm_data.R")
out_dir <- file.path("..", "data", "glmm")
dir.create(out_dir, showWarnings = FALSE)
g17 <- function(v) sprintf("%.17g", v)

streams <- list()
add <- function(kind, seed, n, ..., then = NULL) {
  args <- list(...)
  set.seed(seed)
  values <- if (kind == "rbinom") rbinom(n, args$size, args$prob) else rpois(n, args$lambda)
  entry <- c(list(kind = kind, seed = seed, n = n), lapply(args, g17), list(values = values))
  if (!is.null(then)) {  # a second call on the same stream
    more <- if (kind == "rbinom") rbinom(then$n, then$size, then$prob) else rpois(then$n, then$lambda)
    entry$then <- c(list(n = then$n), lapply(then[setdiff(names(then), "n")], g17), list(values = more))
  }
  streams[[length(streams) + 1]] <<- entry
}

seed <- 100L
# binomial: sizes x probabilities, near 0, 1/2 and 1
for (size in c(1, 3, 50, 1000, 1e6)) {
  for (prob in c(1e-7, 0.001, 0.03, 0.2, 0.5, 0.77, 0.999, 1 - 1e-7)) {
    seed <- seed + 1L
    add("rbinom", seed, 2000L, size = size, prob = prob)
  }
}
# either side of n * p = 30, below and above 1/2
for (case in list(c(299, 0.1), c(301, 0.1), c(100, 0.299), c(100, 0.301), c(100, 0.699),
                  c(100, 0.701), c(30, 0.9999), c(60, 0.5), c(59, 0.5), c(61, 0.5),
                  c(2147483646, 0.3), c(1e8, 1e-7), c(1e9, 0.5))) {
  seed <- seed + 1L
  add("rbinom", seed, 2000L, size = case[1], prob = case[2])
}
# edge cases inside vectors: size 0, prob 0 and 1 draw no uniform
add("rbinom", 201L, 500L, size = c(0, 10, 5, 1000, 7), prob = c(0.3, 0, 1, 0.5, 0.4, 1, 0.2))
# alternating parameters within one stream (R recycles both vectors)
add("rbinom", 202L, 3000L, size = c(10, 1000, 1, 500, 1e5), prob = c(0.3, 0.5, 0.9, 0.05, 0.7, 0.02))
add("rbinom", 203L, 3000L, size = c(1000, 1000, 60), prob = c(0.5, 0.5, 0.5, 0.6))
set.seed(7); p <- runif(5000); s <- sample(c(1, 2, 20, 80, 400, 5000), 5000, replace = TRUE)
add("rbinom", 204L, 5000L, size = s, prob = p)
set.seed(8); p <- plogis(rnorm(4000, 0, 2))
add("rbinom", 205L, 4000L, size = 1, prob = p)
add("rbinom", 206L, 4000L, size = 20, prob = p)
# two calls in a row: R's saved constants from the first call carry into the second
add("rbinom", 207L, 300L, size = 1000, prob = 0.4, then = list(n = 300L, size = 1000, prob = 0.4))
add("rbinom", 208L, 300L, size = 1000, prob = 0.4, then = list(n = 300L, size = 5, prob = 0.4))
add("rbinom", 209L, 20000L, size = 1e6, prob = 0.5)

# Poisson: small, at the switch, large
for (lambda in c(1e-8, 0.01, 0.5, 1, 3.7, 9, 9.99, 9.999999, 10, 10.01, 12.3, 29.9, 100,
                 1e3, 1e4, 1e6, 1e9)) {
  seed <- seed + 1L
  add("rpois", seed, 2000L, lambda = lambda)
}
add("rpois", 301L, 500L, lambda = c(3, 15, 0, 9.99, 10, 1e3, 0.2, 45))
add("rpois", 302L, 3000L, lambda = c(10, 10, 10, 9.99, 9.99, 25, 25, 2))
set.seed(9); lam <- exp(rnorm(5000, 1, 1.5))
add("rpois", 303L, 5000L, lambda = lam)
add("rpois", 304L, 300L, lambda = 50, then = list(n = 300L, lambda = 50))
add("rpois", 305L, 300L, lambda = 5, then = list(n = 300L, lambda = 5))
add("rpois", 306L, 300L, lambda = 5, then = list(n = 300L, lambda = 50))
add("rpois", 307L, 20000L, lambda = 1e3)
add("rpois", 308L, 20000L, lambda = 3.5)
writeLines(toJSON(list(software = list(R = R.version.string), streams = streams),
                  auto_unbox = TRUE), file.path(out_dir, "streams.json"))

# whole data sets
cases <- list(
  `binomial-1` = list(family = "binomial", trials = 1, cor = 0.3, balanced = TRUE, seed = 888),
  `binomial-20-half` = list(family = "binomial", trials = 20, intercept = 0, cor = -0.4,
                            balanced = 0.5, seed = 11),
  `binomial-rare` = list(family = "binomial", trials = 1, intercept = -3, sd_int = 1,
                         balanced = 0.7, seed = 12),
  `binomial-200` = list(family = "binomial", trials = 200, intercept = 0.2, cor = 0.5,
                        n_cluster = 50, balanced = TRUE, seed = 13),
  `poisson-small` = list(family = "poisson", intercept = 1, cor = 0.5, balanced = TRUE, seed = 14),
  `poisson-mixed` = list(family = "poisson", intercept = 2.3, sd_int = 0.6, cor = -0.2,
                         balanced = 0.5, seed = 15),
  `poisson-large` = list(family = "poisson", intercept = 8, n_cluster = 60, obs_per_cluster = 25,
                         cor = 0.7, balanced = 0.8, seed = 16)
)
for (name in names(cases)) {
  a <- cases[[name]]
  df <- do.call(create_glmm_data, a)
  out <- as.data.frame(df)
  out$x <- g17(out$x)
  write.csv(out, file.path(out_dir, paste0(name, ".csv")), row.names = FALSE, quote = FALSE)
  # the true coefficients: the same draws, redrawn
  f <- formals(create_glmm_data); f[names(a)] <- a
  set.seed(f$seed)
  N <- f$n_cluster * f$obs_per_cluster
  invisible(rnorm(N))
  cv <- f$cor * f$sd_int * f$sd_slope
  re <- mvtnorm::rmvnorm(f$n_cluster, sigma = matrix(c(f$sd_int^2, cv, cv, f$sd_slope^2), 2, 2))
  write.csv(data.frame(cluster = seq_len(f$n_cluster), true_intercept = g17(f$intercept + re[, 1]),
                       true_slope = g17(f$beta + re[, 2])),
            file.path(out_dir, paste0(name, "-truth.csv")), row.names = FALSE, quote = FALSE)
}
writeLines(toJSON(list(software = list(R = R.version.string,
                                       mvtnorm = as.character(packageVersion("mvtnorm")),
                                       dplyr = as.character(packageVersion("dplyr"))),
                       cases = cases), auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out_dir, "cases.json"))

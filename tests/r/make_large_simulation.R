# A fingerprint of one large simulation (80,000 rows, 90% kept), for the test that shrink's
# simulation of large data (whose normals and sample are computed side by side) is still R's:
#   large/simulation.json   every 997th row of create_data()'s data and truth (17 significant
#                           digits), the columns' sums, and the scenario that made them
# Run from this folder:  Rscript make_large_simulation.R   (writes into ../data/large)
# Debian: apt-get install r-base-core r-cran-mvtnorm r-cran-dplyr r-cran-tibble r-cran-jsonlite
suppressMessages({library(dplyr); library(tibble); library(jsonlite)})
out_dir <- file.path("..", "data", "large")
dir.create(out_dir, showWarnings = FALSE)

# The post's create_data(), with the random effects' correlation given as such (shrink's `cor`).
create_data <- function(obs_per_cluster, n_cluster, intercept, beta, sigma, sd_int, sd_slope,
                        cor, balanced, seed) {
  set.seed(seed)
  cluster <- rep(1:n_cluster, each = obs_per_cluster)
  N <- n_cluster * obs_per_cluster
  x <- rnorm(N)
  cov <- cor * sd_int * sd_slope
  re <- mvtnorm::rmvnorm(n_cluster, sigma = matrix(c(sd_int^2, cov, cov, sd_slope^2), 2, 2))
  y <- (intercept + re[cluster, 1]) + (beta + re[cluster, 2]) * x + rnorm(N, sd = sigma)
  list(data = sample_frac(tibble(y, x, cluster), balanced),
       truth = data.frame(cluster = 1:n_cluster, true_intercept = intercept + re[, 1],
                          true_slope = beta + re[, 2]))
}

scenario <- list(obs_per_cluster = 10L, n_cluster = 8000L, intercept = 1, beta = 0.5,
                 sigma = 1.5, sd_int = 0.5, sd_slope = 0.25, cor = 0.4, balanced = 0.9,
                 seed = 17L)
sim <- do.call(create_data, scenario)
every <- function(df, step) {
  rows <- seq(1, nrow(df), by = step)
  c(list(row = rows), lapply(as.list(df[rows, ]), function(v) if (is.double(v)) sprintf("%.17g", v) else v))
}
out <- list(
  software = list(R = R.version.string),
  scenario = scenario,
  n_rows = nrow(sim$data),
  data = every(sim$data, 997),
  truth = every(sim$truth, 97),
  sums = lapply(as.list(sim$data), function(v) sprintf("%.17g", sum(as.numeric(v)))))
write_json(out, file.path(out_dir, "simulation.json"), auto_unbox = TRUE, digits = NA,
           pretty = TRUE)

"""Monte Carlo studies and design sweeps: replications, their seeds, the run, Dask."""

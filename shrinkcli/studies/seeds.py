"""The seeds of replications: replication k (1, 2, …, N) of a scenario uses seed + k − 1,
wrapped into R's integer seed range, so that replication 1 is the scenario's own data set and
any replication can be redrawn in R with ``set.seed(seed + k - 1)``."""

from __future__ import annotations

from ..rrng import SEED_MAX

#: How many seeds R accepts: -SEED_MAX .. SEED_MAX.
SEED_SPAN = 2 * SEED_MAX + 1


def replication_seed(seed: int, k: int) -> int:
    """Seed of replication k (1-based): seed + k − 1, wrapped into R's integer range."""
    low = -SEED_MAX
    return (seed + k - 1 - low) % SEED_SPAN + low

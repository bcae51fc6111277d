"""Monte Carlo studies and design sweeps: many data sets per scenario (or design), each fitted,
to measure what shrinkage buys.

Replication k (1, 2, …, N) of a scenario uses the scenario's own generator with seed
``seed + k − 1`` (wrapped into R's seed range), so replication 1 is exactly the scenario's own
data set, and any replication can be redrawn in R with ``set.seed(seed + k - 1)``. A data
scenario is studied by a parametric bootstrap from its fitted model, the fitted values standing
in for the truth. The output does not depend on the number of processes or where a chunk ran.
No printing; no I/O but reading a data scenario's table and, in `folder`, a study's folder.

The modules, in the order the data flows:

- `columns` — what the tables hold: their columns, the quantities, the nominal level.
- `seeds` — replication k's seed, in R's seed range.
- `bootstrap` — a data scenario's parametric bootstrap (`Bootstrap`).
- `coverage` — whether each cluster's intervals held its truth, and their tallies.
- `replication` — one replication simulated (or drawn), fitted alone, and its row.
- `batched` — many replications of a design drawn and fitted as one array program.
- `results` — `StudyResult`, the summary over replications and its text.
- `run` — the one run loop of studies and sweeps (`run_study`), over processes or Dask.
- `sweep` — designs over a grid of keys (`expand`, `run_sweep`) and a run's fingerprint.
- `findings` — the sentences a study says about its coverage.
- `folder` — a study's output folder, and a sweep's record there for resuming.
- `distributed` — a Dask scheduler's executor.
"""

from .bootstrap import Bootstrap, bootstrap_of
from .columns import (
    COEFFICIENT_COVERAGE_COLUMNS,
    COVERAGE_COLUMNS,
    LEVEL,
    PROFILED,
    QUANTITIES,
    REPLICATION_COLUMNS,
    SUMMARY_COLUMNS,
)
from .distributed import dask_executor, scheduler_address
from .findings import coverage_findings, poor
from .folder import MARKER, STUDY_FOLDER, NothingToResume, RunChanged, SweepRecord
from .replication import replicate
from .results import StudyResult, summary_text, truths_of
from .run import BATCH, check_reps, run_study
from .seeds import replication_seed
from .sweep import (
    RUN_FIELDS,
    SWEEP_SUMMARY_COLUMNS,
    Change,
    Design,
    SweepResult,
    changed_argument,
    expand,
    fingerprint,
    parse_value,
    parse_vary,
    run_sweep,
)

__all__ = [
    "BATCH",
    "COEFFICIENT_COVERAGE_COLUMNS",
    "COVERAGE_COLUMNS",
    "LEVEL",
    "MARKER",
    "PROFILED",
    "QUANTITIES",
    "REPLICATION_COLUMNS",
    "RUN_FIELDS",
    "STUDY_FOLDER",
    "SUMMARY_COLUMNS",
    "SWEEP_SUMMARY_COLUMNS",
    "Bootstrap",
    "Change",
    "Design",
    "NothingToResume",
    "RunChanged",
    "StudyResult",
    "SweepRecord",
    "SweepResult",
    "bootstrap_of",
    "changed_argument",
    "check_reps",
    "coverage_findings",
    "dask_executor",
    "expand",
    "fingerprint",
    "parse_value",
    "parse_vary",
    "poor",
    "replicate",
    "replication_seed",
    "run_study",
    "run_sweep",
    "scheduler_address",
    "summary_text",
    "truths_of",
]

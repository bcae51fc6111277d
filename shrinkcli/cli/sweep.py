"""`shrink study` over design sweeps: the grid run with a progress bar, finished designs kept in
the output folder as they complete (`studies.SweepRecord`), `--resume` picking up where a
stopped run left off; the library's resume errors worded with the command's flags."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..scenario import Scenario
from ..studies import (
    STUDY_FOLDER,
    Design,
    NothingToResume,
    RunChanged,
    SweepRecord,
    SweepResult,
    expand,
    fingerprint,
    run_sweep,
)

#: The flag of each run setting a resumed sweep compares (`studies.RUN_FIELDS`).
RUN_FLAGS = {"reps": "--reps", "seed": "--seed", "ci": "--ci"}


def start_record(record: SweepRecord, resume: bool, count: int) -> dict[int, list[dict[str, Any]]]:
    """`record.start`, its refusals worded for `shrink study`'s flags."""
    try:
        return record.start(resume, count)
    except NothingToResume as exc:
        raise UsageError(f"{exc.message}; run without --resume", field="resume") from None
    except RunChanged as exc:
        raise UsageError(
            f"{exc.outdir} was made by a different run ({exc.change.words(RUN_FLAGS)}); resume "
            "with the same arguments, or run without --resume to start again",
            field="resume",
        ) from None


def study_sweep(
    loaded: Sequence[Scenario],
    reps: int,
    *,
    vary: dict[str, list[Any]],
    jobs: int | None,
    seed: int | None,
    ci: str | None,
    output: str | None,
    resume: bool,
    executor: Executor | None,
    show: bool,
) -> SweepResult:
    """Expand, run (resuming and saving in `output`), and write the folder's final files."""
    from .progress import sweep_progress

    designs: list[Design] = [d for s in loaded for d in expand(s, vary)]
    keeper: SweepRecord | None = None
    done: dict[int, list[dict[str, Any]]] = {}
    if output is not None:
        outdir = Path(output)
        STUDY_FOLDER.check_destination(outdir)
        keeper = SweepRecord(outdir, fingerprint(designs, reps, seed, ci))
        done = start_record(keeper, resume, len(designs))
    elif resume:
        raise UsageError("needs -o/--output DIR, the folder of the run to resume", field="resume")
    with sweep_progress(show, len(designs), reps, len(done)) as bar:

        def finished(i: int, rows: list[dict[str, Any]]) -> None:
            if keeper is not None:
                keeper.save(i, rows)
            bar.design()

        result = run_sweep(
            designs,
            reps,
            jobs=jobs,
            seed=seed,
            progress=bar.replications,
            executor=executor,
            ci=ci,
            done=done,
            on_design=finished,
        )
    if keeper is not None:
        keeper.finish(result)
    return result


def sweep_summary_text(result: SweepResult, format: str) -> str | bytes:
    """The summary on stdout: CSV, TSV, JSON or Parquet with the key columns, or for a
    terminal the aligned table with a block per design."""
    from ..io import table_bytes
    from ..studies import summary_text

    summary = result.summary
    if format != "table":
        return table_bytes(summary, format)  # type: ignore[arg-type]
    labels = {d.scenario.name: d.label for d in result.designs}
    frame = result.study.summary.copy()
    frame["scenario"] = frame["scenario"].map(labels)
    return summary_text(frame)

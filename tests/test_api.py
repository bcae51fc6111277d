"""The library API beside the CLI: `from shrinkcli import load_scenario, simulate, fit`."""

from __future__ import annotations

import ast
import dataclasses
import os
import subprocess
import sys

import pytest
from conftest import SCENARIO_DIR


def test_library_api_round_trip() -> None:
    from shrinkcli import Fit, SimulatedData, fit, load_scenario, simulate

    sim = simulate(load_scenario(SCENARIO_DIR / "baseline.yaml"))
    assert isinstance(sim, SimulatedData)
    result = fit(sim.data, truth=sim.truth)
    assert isinstance(result, Fit)
    assert round(result.model.criterion, 1) == 3012.2
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.model.criterion = 0.0  # type: ignore[misc]
    assert result.to_dict()["n_groups"] == 100
    assert list(result.to_frame().columns)[-2:] == ["true_intercept", "true_slope"]


def test_names_are_the_functions_even_after_their_modules_load() -> None:
    code = (
        "import shrinkcli.lmm, shrinkcli.simulate\n"
        "from shrinkcli import ModelSpec, fit, simulate\n"
        "import shrinkcli\n"
        "assert callable(fit) and callable(simulate), (fit, simulate)\n"
        "assert shrinkcli.fit is fit and shrinkcli.simulate is simulate\n"
        "assert fit is shrinkcli.lmm.fit and ModelSpec().random == 'intercept-slope'\n"
        "from shrinkcli.lmm import Fit\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


HEAVY = ("numpy", "pandas", "matplotlib", "scipy", "pydantic", "pyarrow", "statsmodels", "jinja2")


def imported_by(argv: list[str], watch: tuple[str, ...] = HEAVY, stdin: bytes = b"") -> list[str]:
    """Which of `watch` a whole `shrink ARGV` process imported (it must succeed), `stdin` piped
    to it."""
    code = (
        "import sys\n"
        "from shrinkcli.cli import app\n"
        f"sys.argv = ['shrink', *{argv!r}]\n"
        "try:\n    app()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        f"print([m for m in {watch!r} if m in sys.modules], file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, input=stdin)
    assert out.returncode == 0, out.stderr.decode()
    return ast.literal_eval(out.stderr.decode().strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_cli_help_imports_nothing_heavy() -> None:
    """`shrink --help` answers at once: no numerical library is imported for it."""
    code = (
        "import sys\n"
        "from shrinkcli.cli import app\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr
    assert imported_by(["--help"]) == []
    assert imported_by(["--version"]) == []


def test_fit_imports_only_what_it_uses(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`shrink fit scenario.yaml` needs numpy, pydantic (the scenario) and nothing else heavy:
    no matplotlib (drawing), pandas, scipy, pyarrow (its tables are small and written by
    shrink's own formatter), statsmodels or jinja2; JSON output adds orjson only."""
    scenario = str(SCENARIO_DIR / "baseline.yaml")
    out, text = str(tmp_path / "e.csv"), str(tmp_path / "e.txt")
    assert imported_by(["fit", scenario, "-o", out]) == ["numpy", "pydantic"]
    assert imported_by(["fit", scenario, "-f", "summary", "-o", text]) == ["numpy", "pydantic"]
    json_run = imported_by(["fit", scenario, "-f", "json", "-o", text], (*HEAVY, "orjson"))
    assert json_run == ["numpy", "pydantic", "orjson"]
    # intervals (and the profiles behind them) only when asked for
    lazy = (*HEAVY, "shrinkcli.lmm.intervals", "shrinkcli.lmm.profile")
    assert imported_by(["fit", scenario, "-o", out], lazy) == ["numpy", "pydantic"]
    with_ci = imported_by(["fit", scenario, "--ci", "wald", "-f", "json", "-o", text], lazy)
    assert with_ci == ["numpy", "pydantic", "shrinkcli.lmm.intervals", "shrinkcli.lmm.profile"]


def test_tables_from_files_need_no_pandas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """CSV and Parquet tables are read and written through pyarrow's buffers, never through
    pandas (a JSON array of rows is read by orjson, then pandas)."""
    data = tmp_path / "d.csv"
    imported_by(["simulate", str(SCENARIO_DIR / "baseline.yaml"), "-o", str(data)])
    parquet = tmp_path / "e.parquet"
    used = imported_by(["fit", str(data), "-f", "parquet", "-o", str(parquet)])
    assert "pandas" not in used and "matplotlib" not in used and "scipy" not in used
    watch = (*HEAVY, "pyarrow.dataset")  # pq.read_table's: it imports pandas
    data_parquet = tmp_path / "d.parquet"
    imported_by(["simulate", str(SCENARIO_DIR / "baseline.yaml"), "-o", str(data_parquet)])
    out = str(tmp_path / "e.csv")
    for read, stdin in ((str(data_parquet), b""), ("-", data_parquet.read_bytes())):
        used = imported_by(["fit", read, "-o", out], watch, stdin=stdin)
        assert used == ["numpy", "pydantic", "pyarrow"], read  # Parquet: a file, or on stdin
    # ids as text, padded, spaced or missing take other ways through Arrow's compute functions
    lines = data.read_text().splitlines()
    for ids in (("007", " 7", "12"), ("a", " b ", "NA"), ("7", "", "12")):
        table = tmp_path / "ids.csv"
        table.write_text(
            "\n".join(
                [
                    lines[0],
                    *(
                        f"{head},{ids[i % 3] if i % 50 == 0 else tail}"
                        for i, (head, tail) in enumerate(line.rsplit(",", 1) for line in lines[1:])
                    ),
                ]
            )
            + "\n"
        )
        used = imported_by(["fit", str(table), "-o", str(tmp_path / "ids.out.csv")])
        assert "pandas" not in used, ids
    code = (  # large JSON: rows joined by Arrow
        "import sys, numpy as np\n"
        "from shrinkcli.io import table_bytes\n"
        "from shrinkcli.io.json_output import JSON_ARROW_CELLS\n"
        "from shrinkcli.table import Table\n"
        "n = JSON_ARROW_CELLS[1]\n"
        "t = Table({'v': np.arange(n) / 7, 'id': np.array(['a', 'b'] * (n // 2), dtype=object)})\n"
        "assert table_bytes(t, 'json').startswith(b'[')\n"
        "print(sorted(m for m in ('pandas', 'pyarrow.compute') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "['pyarrow.compute']", out.stderr


def test_a_command_run_by_name_builds_only_itself() -> None:
    """`shrink fit ...` builds the options of `fit` alone (typer would build every command's
    first), and says and does what the whole app does: the same help, the same errors; an
    unknown name or an option first builds them all, for the suggestions and the help."""
    watch = (
        "import sys, typer.main\n"
        "from shrinkcli.cli import app\n"
        "built = []\n"
        "real = typer.main.get_command\n"
        "def watch(t):\n"
        "    cmd = real(t)\n"
        "    built.append(sorted(getattr(cmd, 'commands', {})))\n"
        "    return cmd\n"
        "typer.main.get_command = watch\n"
        "status = 0\n"
        "try:\n    app()\nexcept SystemExit as e:\n    status = e.code\n"
        "print(built, file=sys.stderr)\n"
        "sys.exit(status)\n"
    )
    whole = (  # the whole app built, as typer builds it
        "import typer.main\n"
        "from shrinkcli.cli import app\n"
        "typer.main.get_command(app)(prog_name='shrink')\n"
    )
    env = {**os.environ, "COLUMNS": "100"}

    def run(code: str, *argv: str) -> tuple[str, int, list[str]]:
        out = subprocess.run(
            [sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env
        )
        lines = out.stderr.strip().splitlines()
        if code is watch:
            return out.stdout + "\n".join(lines[:-1]), out.returncode, lines[-1:]
        return out.stdout + "\n".join(lines), out.returncode, []

    import typer.main

    from shrinkcli.cli import app

    names = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert {"fit", "plot", "simulate", "study"} <= set(names)
    for argv in (
        ["fit", "--help"],
        ["fit", "--bogus"],
        ["plot", "--help"],
        ["study", "--help"],
        ["fit", "no-such-file.csv"],
    ):
        said, code, built = run(watch, *argv)
        assert ast.literal_eval(built[0]) == [[argv[0]]], argv
        assert (said, code) == run(whole, *argv)[:2], argv
    for argv in (["fti"], ["--version"], ["--help"]):
        said, code, built = run(watch, *argv)
        assert ast.literal_eval(built[0]) == [names], argv
        assert (said, code) == run(whole, *argv)[:2], argv
    assert "Did you mean 'fit'?" in run(watch, "fti")[0]


def test_importing_shrink_limits_blas_threads_not_arrows() -> None:
    """Importing shrinkcli caps BLAS at one thread (its matrices are 2×2) but leaves Arrow's
    thread pool, which reads and writes large tables, at its own size; a user's setting wins."""
    code = (
        "import sys, os\n"
        "if sys.argv[1] == 'shrink':\n    import shrinkcli\n"
        "import pyarrow as pa\n"
        "print(pa.cpu_count(), os.environ.get('OPENBLAS_NUM_THREADS'))\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    }

    def run(which: str, **extra: str) -> str:
        out = subprocess.run(
            [sys.executable, "-c", code, which],
            capture_output=True,
            text=True,
            env={**env, **extra},
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    arrow = run("plain").split()[0]
    assert run("shrink") == f"{arrow} 1"
    assert run("shrink", OPENBLAS_NUM_THREADS="3") == f"{arrow} 3"

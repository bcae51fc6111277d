"""The library API beside the CLI: `from shrinkcli import load_scenario, simulate, fit`."""

from __future__ import annotations

import dataclasses
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


def test_cli_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from shrinkcli.cli import app\n"
        "heavy = [m for m in ('numpy', 'pandas', 'matplotlib', 'scipy', 'pydantic') "
        "if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_fit_command_never_imports_matplotlib(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = (
        "import sys\n"
        "from shrinkcli.cli import app\n"
        f"sys.argv = ['shrink', 'fit', {str(SCENARIO_DIR / 'baseline.yaml')!r}, "
        f"'-o', {str(tmp_path / 'e.csv')!r}]\n"
        "try:\n    app()\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "print('matplotlib' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr

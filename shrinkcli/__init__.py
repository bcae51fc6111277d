"""shrink: teach and measure shrinkage (partial pooling) in linear mixed models.

The library API::

    from shrinkcli import load_scenario, simulate, fit
    sim = simulate(load_scenario("scenarios/baseline.yaml"))
    result = fit(sim.data, truth=sim.truth)

Names are imported on first use, so that ``shrink --help`` starts instantly. ``simulate`` is
the function, even though a module of the same name holds it.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Every matrix here is 2×2: BLAS threads only add overhead, and on a busy machine they make the
# optimizer's tiny BLAS calls 10x slower. Limit them before numpy loads OpenBLAS (an
# explicit setting by the user wins). Not OMP_NUM_THREADS: the BLAS libraries' own variables
# take precedence over it, and Arrow sizes its thread pool (reading and writing tables) by it.
if "numpy" not in sys.modules:
    for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

_LAZY: dict[str, tuple[str, str]] = {
    "fit": ("shrinkcli.lmm", "fit"),
    "Fit": ("shrinkcli.lmm", "Fit"),
    "ModelSpec": ("shrinkcli.model", "ModelSpec"),
    "simulate": ("shrinkcli.simulate", "simulate"),
    "SimulatedData": ("shrinkcli.simulate", "SimulatedData"),
    "Scenario": ("shrinkcli.scenario", "Scenario"),
    "load_scenario": ("shrinkcli.scenario", "load_scenario"),
    "ShrinkError": ("shrinkcli.errors", "ShrinkError"),
}
#: Names that are both a submodule and the function it holds; the function wins.
_SHADOWED = frozenset({"simulate"})

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:
    from .errors import ShrinkError as ShrinkError
    from .lmm import Fit as Fit
    from .lmm import fit as fit
    from .model import ModelSpec as ModelSpec
    from .scenario import Scenario as Scenario
    from .scenario import load_scenario as load_scenario
    from .simulate import SimulatedData as SimulatedData
    from .simulate import simulate as simulate


class _Package(types.ModuleType):
    """Resolves the library API lazily and keeps `fit`/`simulate` bound to the functions when
    their modules are imported (the import system would rebind them to the modules)."""

    def __getattr__(self, name: str) -> Any:
        if name in _LAZY:
            module, attr = _LAZY[name]
            value = getattr(importlib.import_module(module), attr)
            types.ModuleType.__setattr__(self, name, value)
            return value
        raise AttributeError(f"module 'shrinkcli' has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return
        types.ModuleType.__setattr__(self, name, value)


sys.modules[__name__].__class__ = _Package

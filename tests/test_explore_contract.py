"""The explorer's scripts keep their own copies of constants the Python side defines (the random
structures, lme4's singular tolerance, the seed range, the most rows, the data-generating keys
and their defaults): each copy is read from the script's source and compared with Python's
value, so a copy that drifts fails here, with no browser and no node.

The copies stay in the scripts rather than arriving in the page's data because the engine is a
library of its own (shrink-engine.js runs under node in tests/test_explore_engine_shifted.py,
with no page) and because explore.html's bytes stay those of every earlier report."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from shrinkcli.model import N_FIXED, RANDOM_STRUCTURES, SINGULAR_TOL, ModelSpec
from shrinkcli.report.explore import static_text
from shrinkcli.rrng import RRandom
from shrinkcli.scenario import DATA_KEYS, MAX_ROWS, Scenario

ENGINE = static_text("shrink-engine.js")
PAGE = static_text("explore.js")


def js_value(source: str, name: str) -> Any:
    """The literal assigned by `var NAME = ...;` in `source` (a number, a string, an array or
    an object of them, keys quoted or not), as Python reads it; fails unless there is exactly
    one such assignment."""
    found = [m.end() for m in re.finditer(rf"\bvar {re.escape(name)} = ", source)]
    assert len(found) == 1, f"{name}: {len(found)} assignments (want one)"
    start = end = found[0]
    depth = 0
    while True:  # to the `;` outside every bracket (the literals hold no `;` in strings)
        c = source[end]
        if c in "[{(":
            depth += 1
        elif c in "]})":
            depth -= 1
        elif c == ";" and depth == 0:
            break
        end += 1
    literal = re.sub(r"//[^\n]*", "", source[start:end])
    literal = re.sub(r"([{,]\s*)([A-Za-z_]\w*)\s*:", r'\1"\2":', literal)  # key: -> "key":
    return json.loads(literal)


def test_the_reader_reads_literals() -> None:
    """js_value itself: numbers, arrays, objects with bare or quoted keys, comments."""
    src = 'var A = 1e-4;\nvar B = {a: [0, 1], "b-c": {d: true}}; // x\nvar C = ["x",\n "y"];'
    assert js_value(src, "A") == 1e-4
    assert js_value(src, "B") == {"a": [0, 1], "b-c": {"d": True}}
    assert js_value(src, "C") == ["x", "y"]
    with pytest.raises(AssertionError):
        js_value(src, "D")


@pytest.mark.parametrize("source", [ENGINE, PAGE], ids=["shrink-engine.js", "explore.js"])
def test_the_singular_tolerance_is_lme4s(source: str) -> None:
    assert js_value(source, "SINGULAR_TOL") == SINGULAR_TOL


def test_the_random_structures_are_the_model_specs() -> None:
    """Each structure's free entries of Λ, random slope and correlation, as ModelSpec has them,
    and no structure more or less."""
    structures = js_value(ENGINE, "STRUCTURES")
    assert list(structures) == list(RANDOM_STRUCTURES)
    for random, s in structures.items():
        spec = ModelSpec(random=random)
        assert s == {
            "free": list(spec.free),
            "slope": spec.has_random_slope,
            "correlated": spec.correlated,
        }, random
    assert js_value(ENGINE, "N_FIXED") == N_FIXED


def test_the_seed_range_is_the_scenarios_and_rs() -> None:
    """The engine's largest seed is the scenario schema's bound either way, the largest R's
    generator takes, the one the page's "next seed" wraps at, and the one its message names."""
    seed_max = js_value(ENGINE, "SEED_MAX")
    meta = Scenario.model_fields["seed"].metadata
    ge = next(m.ge for m in meta if hasattr(m, "ge"))
    le = next(m.le for m in meta if hasattr(m, "le"))
    assert (ge, le) == (-seed_max, seed_max)
    RRandom(seed_max)
    RRandom(-seed_max)
    with pytest.raises(ValueError):
        RRandom(seed_max + 1)
    (wrap,) = re.findall(r"v < (\d+) \? v \+ 1 : 1", PAGE)
    assert int(wrap) == seed_max
    assert js_value(ENGINE, "ALLOWED")["seed"] == f"an integer between -{seed_max} and {seed_max}"


def test_the_row_limit_is_the_scenarios() -> None:
    assert js_value(ENGINE, "MAX_ROWS") == MAX_ROWS


def test_the_data_keys_and_defaults_are_the_scenarios() -> None:
    """create_data()'s arguments in the scenario's order, with the scenario's defaults."""
    assert js_value(ENGINE, "DATA_KEYS") == list(DATA_KEYS)
    defaults = Scenario().parameters()
    assert js_value(ENGINE, "DEFAULTS") == {k: defaults[k] for k in DATA_KEYS}

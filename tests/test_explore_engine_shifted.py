"""The explorer's JS engine (report/static/shrink-engine.js, run by node) on a covariate far
from 0: for (x | cluster) and (1 | cluster) the criterion of x + 2000 or x + 1e6 is the
Python engine's (which evaluates in centred coordinates, `pls.py`), to 1e-8 relative."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shrinkcli import fit
from shrinkcli.model import ModelSpec

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "shrinkcli" / "report" / "static" / "shrink-engine.js"
DATA = Path(__file__).parent / "data" / "reference"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def _js_fit(data: pd.DataFrame, random: str) -> dict:
    script = (
        ENGINE.read_text() + "\nconst d = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "\nconst f = shrinkEngine.fit(d.data, {random: d.random, method: 'reml'});"
        "\nprocess.stdout.write(JSON.stringify({criterion: f.criterion, beta: f.beta,"
        " theta: f.theta}));"
    )
    payload = json.dumps({"random": random, "data": {c: data[c].tolist() for c in data}})
    assert NODE is not None
    out = subprocess.run(
        [NODE, "-e", script], input=payload, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize("random", ["intercept-slope", "intercept"])
@pytest.mark.parametrize("shift", [2000.0, 1e6])
@pytest.mark.parametrize("name", ["baseline", "more-slope-variance"])
def test_the_js_engine_is_exact_for_a_shifted_covariate(
    name: str, shift: float, random: str
) -> None:
    data = pd.read_csv(DATA / name / "data.csv")
    data = data.assign(x=data["x"] + shift, cluster=data["cluster"].astype(str))
    js = _js_fit(data, random)
    py = fit(data, ModelSpec(random))
    assert abs(js["criterion"] - py.model.criterion) <= 1e-8 * abs(py.model.criterion)
    np.testing.assert_allclose(js["beta"], py.model.beta, rtol=1e-6, atol=1e-6)

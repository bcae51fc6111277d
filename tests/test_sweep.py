"""Design sweeps (`sweep.py`): the grid, the scenario's `sweep:`, the summaries' standard
errors, resuming, and the picture."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shrinkcli.errors import ScenarioError, UsageError
from shrinkcli.scenario import parse_scenario
from shrinkcli.studies import (
    SWEEP_SUMMARY_COLUMNS,
    changed_argument,
    expand,
    fingerprint,
    parse_vary,
    run_sweep,
)

SMALL = """\
name: small
n_cluster: 12
obs_per_cluster: 4
seed: 5
"""


def _scenario(extra: str = ""):
    return parse_scenario(SMALL + extra, source="small.yaml", default_name="small")


def test_vary_reads_values_as_a_scenario_file_does() -> None:
    got = parse_vary(["n_cluster=20,50", "sd_slope=0,0.25", "model.method=ml,reml"])
    assert got == {"n_cluster": [20, 50], "sd_slope": [0, 0.25], "model.method": ["ml", "reml"]}
    assert list(got) == ["n_cluster", "sd_slope", "model.method"]


@pytest.mark.parametrize("bad", ["n_cluster", "=1,2", "n_cluster=", "n_cluster=1,2 n_cluster=3"])
def test_malformed_vary_is_a_usage_error(bad: str) -> None:
    specs = bad.split(" ")
    with pytest.raises(UsageError) as err:
        parse_vary(specs)
    assert err.value.field == "sweep"


def test_grid_is_the_product_last_key_fastest() -> None:
    designs = expand(_scenario(), parse_vary(["obs_per_cluster=3,5", "n_cluster=10,20,30"]))
    assert [d.values for d in designs] == [
        (("obs_per_cluster", o), ("n_cluster", n)) for o in (3, 5) for n in (10, 20, 30)
    ]
    assert [(d.scenario.obs_per_cluster, d.scenario.n_cluster) for d in designs][:2] == [
        (3, 10),
        (3, 20),
    ]
    assert len({d.scenario.name for d in designs}) == 6
    assert designs[0].scenario.name == "small.obs_per_cluster-3.n_cluster-10"
    assert all(d.scenario.sweep is None and d.base == "small" for d in designs)
    assert designs[0].scenario.seed == 5  # everything else kept


def test_the_files_sweep_and_vary_on_top() -> None:
    s = _scenario("sweep:\n  sd_slope: [0, 0.5]\n  n_cluster: [10, 20]\n")
    assert [d.values for d in expand(s)][1] == (("sd_slope", 0), ("n_cluster", 20))
    designs = expand(s, {"n_cluster": [30], "model.method": ["ml"]})
    assert [d.values for d in designs] == [
        (("sd_slope", v), ("n_cluster", 30), ("model.method", "ml")) for v in (0, 0.5)
    ]
    assert designs[0].scenario.model.method == "ml"
    assert expand(_scenario())[0].values == ()  # no sweep: the scenario itself


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sweep:\n  n_clsuter: [10]\n", "cannot vary 'n_clsuter'; did you mean 'n_cluster'?"),
        ("sweep:\n  n_cluster: [10, 1]\n", "sweep.n_cluster: every value must be an integer ≥ 2"),
        ("sweep:\n  n_cluster: 10\n", "sweep.n_cluster: must be a non-empty list of values"),
        ("sweep:\n  n_cluster: []\n", "sweep.n_cluster: must be a non-empty list"),
        ("sweep:\n  cor: [0.5, 0.5]\n", "sweep.cor: lists a value twice"),
        ("sweep: [1, 2]\n", "sweep: must be a mapping of keys to lists of values"),
        ("sweep: {}\n", "sweep: must be a mapping"),
        ("sweep:\n  name: [a, b]\n", "cannot vary 'name'"),
        ("sweep:\n  model.random: [slope]\n", "sweep.model.random: every value must be"),
    ],
)
def test_a_bad_sweep_names_the_file_the_field_and_what_is_allowed(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        _scenario(text)
    assert str(err.value).startswith("small.yaml: ")
    assert message in str(err.value)
    assert err.value.exit_code == 2


def test_a_bad_vary_value_names_the_option_field() -> None:
    with pytest.raises(UsageError) as err:
        expand(_scenario(), {"sd_int": [0.5, -1]})
    assert err.value.field == "sweep" and "sd_int" in str(err.value) and "≥ 0" in str(err.value)
    with pytest.raises(UsageError):
        expand(_scenario(), {"sigma_e": [1]})


def test_a_data_scenario_varies_only_its_model(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("y,x,cluster\n1,0,a\n2,1,a\n3,2,b\n1,1,b\n")
    text = f"data: {tmp_path / 'd.csv'}\nsweep:\n  n_cluster: [10]\n"
    with pytest.raises(ScenarioError, match="cannot vary 'n_cluster'.*model.method"):
        parse_scenario(text, source="d.yaml", default_name="d")


@pytest.fixture(scope="module")
def result():
    designs = expand(_scenario(), parse_vary(["obs_per_cluster=3,8", "sd_slope=0.05,0.4"]))
    return run_sweep(designs, 30, jobs=1)


def test_rows_carry_the_keys_and_standard_errors(result) -> None:
    summary = result.summary
    assert tuple(summary.columns) == (
        "scenario",
        "obs_per_cluster",
        "sd_slope",
        *SWEEP_SUMMARY_COLUMNS,
    )
    reps = result.replications.rename(columns={"design_sd_slope": "key_sd_slope"})
    assert list(reps.columns[:3]) == ["scenario", "obs_per_cluster", "key_sd_slope"]
    assert len(reps) == 4 * 30 and set(reps["scenario"]) == {"small"}
    assert list(result.cluster_coverage.columns[:3]) == ["scenario", "obs_per_cluster", "sd_slope"]
    # every mean's Monte Carlo SE, from the replications themselves
    for _, row in summary.iterrows():
        mine = reps[
            (reps["obs_per_cluster"] == row["obs_per_cluster"])
            & (reps["key_sd_slope"] == row["sd_slope"])
            & (reps["error"] == "")
        ]
        q = row["quantity"]
        if q in ("singular_share", "failed_share"):
            v = (
                mine["singular"].astype(float).to_numpy()
                if q == "singular_share"
                else np.zeros(len(mine))
            )
            p = v.mean()
            assert row["n"] == 30
            assert math.isclose(row["mcse"], math.sqrt(p * (1 - p) / 30), abs_tol=1e-12)
            continue
        v = mine[q].to_numpy(float)
        v = v[np.isfinite(v)]
        assert row["n"] == v.size
        assert math.isclose(row["mcse"], v.std(ddof=1) / math.sqrt(v.size), rel_tol=1e-9)
        if q in ("intercept", "beta"):
            c = row["coverage"]
            assert math.isclose(row["coverage_se"], math.sqrt(c * (1 - c) / v.size), abs_tol=1e-12)


def test_more_observations_make_pooling_pay_less(result) -> None:
    s = result.summary
    gain = {}
    for obs in (3, 8):
        part = s[(s["obs_per_cluster"] == obs) & (s["sd_slope"] == 0.4)].set_index("quantity")
        gain[obs] = (
            1 - part.loc["cluster_rmse_mixed", "mean"] / part.loc["cluster_rmse_ols", "mean"]
        )
    assert gain[3] > gain[8] > 0


def test_resumed_designs_give_the_same_output(result) -> None:
    designs = list(result.designs)
    saved: dict[int, list] = {}
    first = run_sweep(designs, 30, jobs=1, on_design=lambda i, rows: saved.update({i: rows}))
    assert sorted(saved) == [0, 1, 2, 3]
    calls: list[int] = []
    again = run_sweep(
        designs,
        30,
        jobs=2,
        done={0: saved[0], 2: saved[2]},
        on_design=lambda i, rows: calls.append(i),
    )
    assert sorted(calls) == [1, 3]  # only the unfinished ones ran
    assert (
        again.files()["summary.csv"]
        == first.files()["summary.csv"]
        == result.files()["summary.csv"]
    )
    assert again.files()["replications.csv"] == result.files()["replications.csv"]


def test_fingerprint_names_what_changed(result) -> None:
    designs = list(result.designs)
    a = fingerprint(designs, 30, None, None)
    assert changed_argument(a, fingerprint(designs, 30, None, "wald")) is None
    assert str(changed_argument(a, fingerprint(designs, 40, None, None))) == "reps was 30, now 40"
    assert "seed" in str(changed_argument(a, fingerprint(designs, 30, 7, None)))
    other = expand(
        _scenario("sigma: 2\n"), parse_vary(["obs_per_cluster=3,8", "sd_slope=0.05,0.4"])
    )
    assert "sigma was 1.0, now 2.0" in str(changed_argument(a, fingerprint(other, 30, None, None)))


def test_pictures_for_one_and_two_keys(result, tmp_path: Path) -> None:
    files = result.files()
    two = files["sweep-small.png"]
    one_key = run_sweep(expand(_scenario(), {"obs_per_cluster": [3, 8]}), 10, jobs=1).files()
    one = one_key["sweep-small.png"]
    for png in (one, two):
        assert isinstance(png, bytes) and png[:8] == b"\x89PNG\r\n\x1a\n"
        path = tmp_path / "p.png"
        path.write_bytes(png)
        with Image.open(path) as im:
            assert im.width >= 900 and im.height >= 300
    assert one != two
    three = run_sweep(
        expand(_scenario(), {"obs_per_cluster": [3], "sd_slope": [0.1], "cor": [0.0]}), 3, jobs=1
    ).files()
    assert not any(name.endswith(".png") for name in three)  # no picture for three keys


def test_a_resumed_runs_change_is_said_in_field_names_or_given_flags(result) -> None:
    designs = list(result.designs)
    said = changed_argument(fingerprint(designs, 30, None, None), fingerprint(designs, 30, 5, None))
    assert said is not None and said.field == "seed"
    assert str(said) == "seed was not given, now 5"
    assert said.words({"seed": "--seed"}) == "--seed was not given, now 5"


def test_balanced_true_is_the_number_it_stands_for() -> None:
    designs = expand(_scenario(), parse_vary(["balanced=true,0.5"]))
    assert [d.values for d in designs] == [(("balanced", 1.0),), (("balanced", 0.5),)]
    assert all("True" not in d.label for d in designs)

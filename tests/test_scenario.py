"""Scenario validation: every invalid value is refused with one line naming file and field;
hypothesis properties over valid and invalid scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shrinkcli.errors import ScenarioError
from shrinkcli.model import ModelSpec
from shrinkcli.scenario import expected_rows, parse_scenario
from shrinkcli.simulate import simulate

BAD = [
    ("sd_slpoe: 1", "unknown key 'sd_slpoe'; did you mean 'sd_slope'?"),
    ("sigma: abc", "sigma: must be a finite number > 0"),
    ("n_cluster: 2.5", "n_cluster: must be an integer ≥ 2"),
    ("obs_per_cluster: '10'", "obs_per_cluster: must be an integer ≥ 1"),
    ("sigma: 0", "sigma: must be a finite number > 0"),
    ("sigma: -1", "sigma: must be a finite number > 0"),
    ("sd_int: -0.1", "sd_int: must be a finite number ≥ 0"),
    ("sd_int: .inf", "sd_int: must be a finite number ≥ 0 (got .inf)"),
    ("beta: .nan", "beta: must be a finite number (got .nan)"),
    ("sd_slope: -1", "sd_slope: must be a finite number ≥ 0"),
    ("cor: 1.01", "cor: must be a finite number between -1 and 1"),
    ("cor: -2", "cor: must be a finite number between -1 and 1"),
    ("n_cluster: 1", "n_cluster: must be an integer ≥ 2"),
    ("obs_per_cluster: 0", "obs_per_cluster: must be an integer ≥ 1"),
    ("balanced: 0", "balanced: must be a fraction"),
    ("balanced: 1.5", "balanced: must be a fraction"),
    ("balanced: false", "balanced: must be a fraction"),
    ("rng: mersenne", "rng: must be 'r'"),
    ("seed: 1.5", "seed: must be an integer"),
    ("a: [1, 2\nb: 3", "line 2: YAML syntax error"),
    ("", "the file is empty"),
    ("# only a comment\n", "the file is empty"),
    ("- 1\n- 2", "expected a mapping"),
    ("just text", "expected a mapping"),
    ("sigma: 1\nsigma: 2", "duplicate key 'sigma'"),
    ("n_cluster: 1000000\nobs_per_cluster: 100000", "at most 2,147,483,647"),
    ("model: {method: bayes}", "model.method: must be 'reml' or 'ml'"),
    ("animation: {fps: 0}", "animation.fps: must be a number > 0"),
    ("animation: {size: 10x10}", "animation.size:"),
    ("animation: {framez: 3}", "did you mean 'frames'?"),
]


#: Numbers as people write them; Python's float() (an independent reader of decimal notation,
#: which YAML 1.2's core schema follows) says what each is.
WRITTEN_NUMBERS = ["1e-3", "1E-3", ".5", "5.", "+1", "+.5", "2.5e+2", "-1.5E2", "1_000.5"]


@pytest.mark.parametrize("written", WRITTEN_NUMBERS)
def test_every_number_a_person_writes_is_read_as_one(written: str) -> None:
    from shrinkcli.studies import parse_vary

    s = parse_scenario(f"beta: {written}\nsigma: {written.lstrip('-')}", source="n.yaml")
    assert s.beta == float(written)
    assert s.sigma == float(written.lstrip("-"))
    assert parse_vary([f"beta={written}"]) == {"beta": [float(written)]}


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("name: 007", "name", "007"),
        ("title: 1e3", "title", "1e3"),
        ("title: 0.50", "title", "0.50"),
        ("description: 2020", "description", "2020"),
        ("title: true", "title", "true"),
    ],
)
def test_text_keys_are_read_as_written(text: str, field: str, expected: str) -> None:
    assert getattr(parse_scenario(text, source="t.yaml"), field) == expected


def test_text_that_is_no_number_stays_text() -> None:
    from shrinkcli.studies import parse_value

    for text in ["ml", "1e", "e3", "1.2.3", "0x", "1e3x", ".", "1_e3"]:
        assert parse_value(text) == text
    s = parse_scenario("data: {path: 1e3.csv, cluster: 1e3, y: '2'}", source="d.yaml")
    assert s.data is not None
    assert (s.data.path, s.data.cluster, s.data.y) == ("1e3.csv", "1e3", "2")


@pytest.mark.parametrize("key", ["intercept", "beta", "sigma", "sd_int", "sd_slope"])
def test_a_number_whose_square_overflows_is_refused_for_that_reason(key: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(f"{key}: 1e300", source="big.yaml")
    assert str(info.value) == (
        f"big.yaml: {key}: must be at most 1e150 in magnitude: larger values overflow the "
        "squares the simulation and the fit form (a double ends near 1.8e308) (got 1e+300)"
    )
    assert parse_scenario(f"{key}: 1e150", source="ok.yaml")  # the bound itself is allowed


@pytest.mark.parametrize(("text", "message"), BAD)
def test_invalid_scenarios_are_refused_in_one_line(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source="bad.yaml")
    text_ = str(info.value)
    assert text_.startswith("bad.yaml")
    assert message in text_
    assert "\n" not in text_


def test_too_large_for_memory_is_refused_before_simulating(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import shrinkcli.scenario as sc
    from shrinkcli.inputs import simulated_input

    monkeypatch.setattr(sc, "available_memory", lambda: 1_000_000_000)
    path = tmp_path / "big.yaml"
    path.write_text("n_cluster: 1000000\nobs_per_cluster: 1000\n")
    big = sc.load_scenario(path)  # a valid scenario, whatever the machine
    with pytest.raises(ScenarioError, match=r"^.*big\.yaml: .*needs about .* of memory"):
        sc.check_memory(big)
    with pytest.raises(ScenarioError, match="of memory"):
        simulated_input(big)


@pytest.mark.parametrize("memory", [None, 1, 10**15])
def test_validity_does_not_depend_on_the_machine(
    monkeypatch: pytest.MonkeyPatch, memory: int | None
) -> None:
    import shrinkcli.scenario as sc

    monkeypatch.setattr(sc, "available_memory", lambda: memory)
    s = parse_scenario("n_cluster: 1000000\nobs_per_cluster: 1000", source="big.yaml")
    assert s.n_cluster == 1_000_000
    if memory == 1:
        with pytest.raises(ScenarioError, match="of memory"):
            sc.check_memory(s)
    else:
        sc.check_memory(s)


def test_a_scenario_knows_its_file_and_overrides_keep_it(tmp_path: Path) -> None:
    from shrinkcli.scenario import load_scenario, with_overrides

    path = tmp_path / "x.yaml"
    path.write_text("seed: 3\n")
    s = load_scenario(str(path))
    assert s.source == str(path) and s.name == "x"
    assert with_overrides(s, seed=4).source == str(path)
    assert parse_scenario("seed: 3").source == ""


def test_defaults_are_the_posts() -> None:
    s = parse_scenario("title: t", source="x.yaml", default_name="x")
    assert s.parameters() == {
        "obs_per_cluster": 10,
        "n_cluster": 100,
        "intercept": 1.0,
        "beta": 0.5,
        "sigma": 1.0,
        "sd_int": 0.5,
        "sd_slope": 0.25,
        "cor": 0.0,
        "balanced": 1.0,
        "seed": 888,
    }
    assert s.name == "x" and s.rng == "r"
    assert parse_scenario("balanced: true").balanced == 1.0


valid = st.fixed_dictionaries(
    {
        "n_cluster": st.integers(2, 40),
        "obs_per_cluster": st.integers(1, 12),
        "balanced": st.one_of(st.just(True), st.floats(0.05, 1.0)),
        "sigma": st.floats(0.01, 5),
        "sd_int": st.floats(0, 3),
        "sd_slope": st.floats(0, 3),
        "cor": st.floats(-1, 1),
        "seed": st.integers(-(2**31 - 1), 2**31 - 1),
        "rng": st.sampled_from(["r", "numpy"]),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid)
def test_valid_scenarios_simulate_with_the_expected_rows(values: dict[str, object]) -> None:
    n, k, b = values["n_cluster"], values["obs_per_cluster"], values["balanced"]
    frac = 1.0 if b is True else float(b)  # type: ignore[arg-type]
    rows = round(n * k * frac)  # type: ignore[operator]  # Python rounds half to even, like R
    text = yaml.safe_dump(values)
    if rows < 1:
        with pytest.raises(ScenarioError):
            parse_scenario(text)
        return
    s = parse_scenario(text)
    assert expected_rows(s) == rows
    sim = simulate(s)
    assert len(sim.data) == rows
    assert sim.data["cluster"].between(1, n).all()  # type: ignore[arg-type]
    assert len(sim.truth) == n
    # ... and fits, or is refused with one clear line (e.g. too few rows per random effect)
    from shrinkcli.errors import ShrinkError
    from shrinkcli.lmm import fit

    for random in ("intercept-slope", "intercept"):
        try:
            result = fit(sim.data, ModelSpec(random), truth=sim.truth)
        except ShrinkError as exc:
            assert "\n" not in str(exc)
            continue
        assert result.model.n_obs == rows
        assert result.clusters["mixed_intercept"].notna().all()


invalid = st.one_of(
    st.fixed_dictionaries({"sigma": st.floats(max_value=0, allow_nan=False)}),
    st.fixed_dictionaries({"sd_int": st.floats(max_value=-1e-9, allow_nan=False)}),
    st.fixed_dictionaries({"sd_slope": st.floats(max_value=-1e-9, allow_nan=False)}),
    st.fixed_dictionaries({"cor": st.floats(min_value=1.0000001, allow_infinity=False)}),
    st.fixed_dictionaries({"n_cluster": st.integers(max_value=1)}),
    st.fixed_dictionaries({"obs_per_cluster": st.integers(max_value=0)}),
    st.fixed_dictionaries({"balanced": st.floats(min_value=1.0000001, allow_infinity=False)}),
    st.fixed_dictionaries({"balanced": st.floats(max_value=0, allow_nan=False)}),
    st.fixed_dictionaries({"n_cluster": st.floats(2.01, 1e6).filter(lambda v: v != int(v))}),
    st.fixed_dictionaries({"rng": st.text(min_size=1).filter(lambda v: v not in ("r", "numpy"))}),
    st.fixed_dictionaries({"intercept": st.text(min_size=1)}),
)


@settings(max_examples=80, deadline=None)
@given(invalid)
def test_invalid_values_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(yaml.safe_dump(values), source="h.yaml")
    assert "\n" not in str(info.value)


def test_reading_a_scenario_looks_for_no_pydantic_plugin(tmp_path: Path) -> None:
    """The scenario models are built with pydantic's plugins off (as typer builds its options'):
    an installed plugin is neither loaded for them nor asked about them, the switch does not
    outlive the build, and a model of one's own still meets its plugins."""
    import os
    import subprocess
    import sys

    dist = tmp_path / "probe_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: probe-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[pydantic]\nprobe = probe_plugin:plugin\n")
    (tmp_path / "probe_plugin.py").write_text(
        "import sys\nprint('plugin loaded', file=sys.stderr)\n"
        "class _P:\n    def new_schema_validator(self, schema, schema_type, path, *a, **k):\n"
        "        print('asked about', path.name, file=sys.stderr)\n"
        "        return None, None, None\nplugin = _P()\n"
    )
    code = (
        "import os, sys\n"
        "from pydantic import BaseModel\n"
        "from shrinkcli.scenario import parse_scenario\n"
        "s = parse_scenario('n_cluster: 12\\nsigma: 2\\nmodel: {method: ml}\\n')\n"
        "assert (s.n_cluster, s.sigma, s.model.method) == (12, 2.0, 'ml')\n"
        "print('PYDANTIC_DISABLE_PLUGINS' in os.environ)\n"
        "print('scenario read', file=sys.stderr)\n"
        "class Mine(BaseModel):\n    a: int = 0\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), *sys.path])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
    assert out.stderr.splitlines() == ["scenario read", "plugin loaded", "asked about Mine"]


@pytest.mark.parametrize(
    ("written", "value"),
    [("010", 10), ("007", 7), ("-010", -10), ("0", 0), ("1_000", 1000), ("+08", 8), ("09", 9)],
)
def test_an_integer_with_leading_zeros_is_decimal(written: str, value: int) -> None:
    from shrinkcli.studies import parse_vary

    assert parse_scenario(f"seed: {written}", source="s.yaml").seed == value
    assert parse_vary([f"seed={written}"]) == {"seed": [value]}


@pytest.mark.parametrize(
    ("text", "got"),
    [
        ("sigma: ~", "null"),
        ("sigma: true", "true"),
        ("balanced: no", "false"),
        ("sigma: [1,2]", "[1, 2]"),
        ("n_cluster: {a: 1}", "{a: 1}"),
        ("name: [a]", "[a]"),
        ("title: ~", "null"),
        ("intercept: .inf", ".inf"),
        ("cor: .nan", ".nan"),
        ("model: {method: true}", "true"),
    ],
)
def test_a_refused_value_is_shown_as_it_is_written_in_yaml(text: str, got: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, source="b.yaml")
    message = str(err.value)
    assert message.endswith(f"(got {got})")
    python = ("None", "True", "False", "got inf", "got nan", "{'")
    assert not any(word in message for word in python)

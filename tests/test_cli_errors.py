"""The core names fields, the CLI names flags: an error's field and hint are worded with the
flags of the command that ran, or keep their scenario wording where it has none; the model
options' choices come from the library."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from shrinkcli.cli import app
from shrinkcli.cli.errors import flags_of, in_flags
from shrinkcli.cli.options import RANDOM_CHOICES, model_spec
from shrinkcli.errors import FitError, UsageError
from shrinkcli.model import METHODS, RANDOM_STRUCTURES, ModelSpec
from shrinkcli.scenario import parse_scenario

#: The engine's error for too few observations, as it raises it: in scenario terms.
NOT_IDENTIFIABLE = (
    "number of observations (20) <= number of random effects (20) for (x | cluster): the "
    "model is not identifiable; use more observations per cluster"
)


def _command(name: str):  # type: ignore[no-untyped-def]
    return get_command(app).commands[name]  # type: ignore[attr-defined]


@pytest.fixture
def not_identifiable(tmp_path: Path) -> str:
    """A scenario with two observations per cluster, which the engine refuses for a random
    slope with a hint (a random intercept alone can be fitted)."""
    path = tmp_path / "tiny.yaml"
    path.write_text("n_cluster: 10\nobs_per_cluster: 2\nanimation:\n  frames: 3\n")
    return str(path)


def test_each_command_maps_the_fields_it_has_an_option_for() -> None:
    fit, study, report, animate = (_command(n) for n in ("fit", "study", "report", "animate"))
    assert flags_of(fit)["model.random"] == "--random"
    assert flags_of(fit)["model.method"] == "--method"
    assert flags_of(fit)["seed"] == "--seed"
    assert "jobs" not in flags_of(fit)
    assert flags_of(study)["jobs"] == "-j/--jobs" and flags_of(study)["reps"] == "-n/--reps"
    assert "model.random" not in flags_of(study) and "model.random" not in flags_of(report)
    assert "seed" not in flags_of(report)
    assert flags_of(animate)["animation.width"] == "--size"
    assert flags_of(animate)["animation.fps"] == "--fps"


def test_field_and_hint_are_worded_per_command() -> None:
    err = FitError(NOT_IDENTIFIABLE, hint=("model.random", "intercept"))
    assert in_flags(err, flags_of(_command("fit"))) == (
        NOT_IDENTIFIABLE + "; or use --random intercept"
    )
    assert in_flags(err, flags_of(_command("study"))) == (
        NOT_IDENTIFIABLE + "; or set model.random: intercept"
    )
    jobs = UsageError("must be an integer ≥ 1 (got 0)", field="jobs")
    assert in_flags(jobs, flags_of(_command("report"))) == (
        "-j/--jobs: must be an integer ≥ 1 (got 0)"
    )
    assert in_flags(jobs, flags_of(_command("fit"))) == "jobs: must be an integer ≥ 1 (got 0)"
    plain = UsageError("something")
    assert in_flags(plain, flags_of(_command("fit"))) == "something"


def test_fit_and_animate_name_their_random_flag(
    runner: CliRunner, not_identifiable: str, tmp_path: Path
) -> None:
    for args in (
        ["fit", not_identifiable],
        ["animate", not_identifiable, "-o", str(tmp_path / "t.gif")],
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == 1, res.stderr
        line = res.stderr.strip()
        assert line == (  # the file the data came from, the reason, the flag that helps
            f"shrink: error: {not_identifiable}: {NOT_IDENTIFIABLE}; or use --random intercept"
        )


def test_study_and_report_keep_the_scenario_wording(
    runner: CliRunner, not_identifiable: str, tmp_path: Path
) -> None:
    res = runner.invoke(app, ["study", not_identifiable, "--reps", "2", "-j", "1"])
    assert res.exit_code == 1
    assert "or set model.random: intercept" in res.stderr and "--random" not in res.stderr
    out = tmp_path / "rep"
    res = runner.invoke(app, ["report", not_identifiable, "-o", str(out), "-j", "1", "-q"])
    assert res.exit_code == 1
    assert "or set model.random: intercept" in res.stderr and "--random" not in res.stderr
    assert "or set model.random: intercept" in (out / "index.html").read_text()


def test_the_core_names_fields_not_flags(tmp_path: Path) -> None:
    from shrinkcli.inputs import load_input
    from shrinkcli.report import build_report
    from shrinkcli.scenario import with_overrides

    with pytest.raises(UsageError) as info:
        build_report([parse_scenario("seed: 1")], tmp_path / "r", jobs=0)
    assert info.value.field == "jobs" and "--" not in str(info.value)
    data = tmp_path / "d.csv"
    data.write_text("y,x,cluster\n1,2,1\n")
    with pytest.raises(UsageError) as info:
        load_input(str(data), rng="numpy")
    assert info.value.field == "rng" and "--" not in str(info.value)
    with pytest.raises(UsageError) as info:
        with_overrides(parse_scenario("seed: 1"), seed=2**40)
    assert info.value.field == "seed" and "--" not in str(info.value)


def test_a_field_error_names_the_flag_on_the_command_line(
    runner: CliRunner, tmp_path: Path
) -> None:
    data = tmp_path / "d.csv"
    data.write_text("y,x,cluster\n1,2,1\n")
    res = runner.invoke(app, ["fit", str(data), "--rng", "numpy"])
    assert res.exit_code == 2
    assert res.stderr.startswith("shrink: error: --rng: applies to scenario files")


def test_model_choices_come_from_the_library(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    help_text = runner.invoke(app, ["fit", "--help"]).stdout
    assert "<" + "|".join(RANDOM_STRUCTURES) + ">" in help_text
    assert "<" + "|".join(METHODS) + ">" in help_text
    assert "uncorrelated" in RANDOM_STRUCTURES and RANDOM_CHOICES("uncorrelated") == "uncorrelated"
    res = runner.invoke(app, ["fit", "x.yaml", "--random", "slope"])
    assert res.exit_code == 2
    assert all(f"'{r}'" in res.stderr for r in RANDOM_STRUCTURES)
    import shrinkcli.model

    monkeypatch.setattr(shrinkcli.model, "RANDOM_STRUCTURES", (*RANDOM_STRUCTURES, "new-one"))
    assert RANDOM_CHOICES("new-one") == "new-one"


def test_the_model_spec_is_the_options_over_the_scenario() -> None:
    assert model_spec(None) == ModelSpec()
    sc = parse_scenario("model: {random: intercept, method: ml}")
    assert model_spec(sc) == ModelSpec(random="intercept", method="ml")
    assert model_spec(sc, method="reml") == ModelSpec(random="intercept", method="reml")
    assert model_spec(sc, random="intercept-slope").random == "intercept-slope"


def test_no_hint_that_cannot_help(runner: CliRunner, tmp_path: Path) -> None:
    """One row per cluster: a random intercept alone cannot be fitted either, so nothing
    suggests it; a table given to study (which has no --random) is named, without YAML."""
    (tmp_path / "obs1.yaml").write_text("name: obs1\nobs_per_cluster: 1\nn_cluster: 20\n")
    rows = "".join(f"{i * 0.37 % 1},{i * 0.61 % 1},c{i}\n" for i in range(30))
    (tmp_path / "single.csv").write_text("y,x,cluster\n" + rows)
    res = runner.invoke(app, ["fit", str(tmp_path / "obs1.yaml")])
    assert res.exit_code == 1 and "not identifiable" in res.stderr
    assert "intercept;" not in res.stderr and "--random" not in res.stderr
    res = runner.invoke(
        app,
        [
            "study",
            str(tmp_path / "single.csv"),
            "--reps",
            "2",
            "-j",
            "1",
            "-o",
            str(tmp_path / "st"),
        ],
    )
    assert res.exit_code == 1
    line = res.stderr.strip()
    assert len(line.splitlines()) == 1
    assert line.startswith(f"shrink: error: {tmp_path / 'single.csv'}: number of observations")
    assert "model.random" not in line and "--random" not in line
    assert not (tmp_path / "st").exists()

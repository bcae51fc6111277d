"""Docs that cannot go stale: every command has help text and a README section; the README's
scenario keys are the schema's."""

from __future__ import annotations

import re

from conftest import ROOT
from typer.main import get_command
from typer.testing import CliRunner

from shrinkcli.cli import app
from shrinkcli.scenario import AnimationOptions, ModelOptions, Scenario

README = (ROOT / "README.md").read_text()


def _commands() -> list[str]:
    group = get_command(app)
    return sorted(group.commands)  # type: ignore[attr-defined]


def test_every_command_has_help_and_a_readme_section(runner: CliRunner) -> None:
    commands = _commands()
    assert {"simulate", "fit", "animate"} <= set(commands)
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0
    for name in commands:
        res = runner.invoke(app, [name, "--help"])
        assert res.exit_code == 0
        assert len(res.stdout.strip().splitlines()) > 3
        # a one-line description in the top-level help, not cut off
        line = next(ln for ln in top.stdout.splitlines() if ln.strip().startswith(name + " "))
        assert not line.rstrip().endswith("..."), line
        assert f"### `shrink {name}" in README, name


def test_every_option_is_in_the_readme() -> None:
    group = get_command(app)
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        section = README.split(f"### `shrink {name}", 1)[1].split("\n### ", 1)[0]
        for param in cmd.params:
            longs = [o for o in param.opts if o.startswith("--")]
            if not longs or longs[0] == "--help":
                continue
            if name in ("animate", "study") and longs[0] in (
                "--y", "--x", "--cluster", "--method", "--random", "--seed", "--rng"
            ):
                continue  # documented once under fit ("the model options of fit")
            assert any(o in section or o.split("/")[0] in section for o in longs), (name, longs)


def test_readme_lists_every_scenario_key() -> None:
    keys = set(re.findall(r"^\| `([a-z_.]+)` \|", README, flags=re.M))
    schema = set(Scenario.model_fields) - {"model", "animation"}
    schema |= {f"model.{k}" for k in ModelOptions.model_fields}
    schema |= {f"animation.{k}" for k in AnimationOptions.model_fields} - {
        "animation.width", "animation.height"
    }
    schema |= {"animation.size"}
    assert schema <= keys, schema - keys

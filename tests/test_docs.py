"""Docs that cannot go stale: every command has help text and a README section; the README's
scenario keys are the schema's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

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
                "--y",
                "--x",
                "--cluster",
                "--method",
                "--random",
                "--seed",
                "--rng",
            ):
                continue  # documented once under fit ("the model options of fit")
            assert any(o in section or o.split("/")[0] in section for o in longs), (name, longs)


def test_readme_lists_every_scenario_key() -> None:
    keys = set(re.findall(r"^\| `([a-z_.]+)` \|", README, flags=re.M))
    schema = set(Scenario.model_fields) - {"model", "animation"}
    schema |= {f"model.{k}" for k in ModelOptions.model_fields}
    schema |= {f"animation.{k}" for k in AnimationOptions.model_fields} - {
        "animation.width",
        "animation.height",
    }
    schema |= {"animation.size"}
    assert schema <= keys, schema - keys


def _readme_commands() -> list[str]:
    """Every `shrink ...` line of the README's sh blocks, without its comment."""
    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("shrink ")]


def test_every_readme_command_runs_as_written(tmp_path: Path) -> None:
    """From a folder holding the scenarios, with `shrink` on the PATH, as the README says."""
    commands = _readme_commands()
    assert len(commands) >= 6
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "shrink"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -m shrinkcli "$@"\n')
    wrapper.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    for command in commands:
        out = subprocess.run(
            ["bash", "-c", f"set -o pipefail; {command} > /dev/null"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert out.returncode == 0, (command, out.stderr)
        assert "Traceback" not in out.stderr, command

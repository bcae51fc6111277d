"""Docs that cannot go stale: every command has help text, a section in docs/guide.md that names
each of its options, and its `--help` in docs/commands.md as it prints it today; the scenario keys
of docs/scenarios.md are the schema's; the README's commands and library lines run as written;
every benchmark writes its own section of docs/performance.md."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from conftest import ROOT
from typer.main import get_command
from typer.testing import CliRunner

from shrinkcli.cli import app
from shrinkcli.scenario import AnimationOptions, ModelOptions, Scenario

DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text()
GUIDE = (DOCS / "guide.md").read_text()
SCENARIOS = (DOCS / "scenarios.md").read_text()
#: The pages written by hand, whose `sh` blocks are run as written.
HAND_WRITTEN = (README, GUIDE, SCENARIOS)


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _commands() -> list[str]:
    group = get_command(app)
    return sorted(group.commands)  # type: ignore[attr-defined]


def test_every_command_has_help_and_a_guide_section(runner: CliRunner) -> None:
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
        assert f"### `shrink {name}" in GUIDE, name


def test_every_option_is_in_the_guide() -> None:
    group = get_command(app)
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        section = GUIDE.split(f"### `shrink {name}", 1)[1].split("\n### ", 1)[0]
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


def test_commands_page_is_the_help_of_today() -> None:
    """docs/commands.md is generated (`make docs`); regenerated here, it must be the same."""
    generator = _load(ROOT / "tools" / "commands_doc.py")
    page = (DOCS / "commands.md").read_text()
    assert page == generator.render(), "docs/commands.md is stale: run `make docs`"
    for name in _commands():
        assert f"## `shrink {name}`" in page, name


def test_commands_page_does_not_depend_on_the_terminal() -> None:
    env = {**os.environ, "COLUMNS": "37", "TERM": "xterm-256color", "FORCE_COLOR": "1"}
    code = (
        "import sys; sys.path.insert(0, 'tools'); import commands_doc; "
        "sys.stdout.write(commands_doc.render())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout == (DOCS / "commands.md").read_text()


def test_the_scenario_page_lists_every_scenario_key() -> None:
    keys = set(re.findall(r"^\| `([a-z_.]+)` \|", SCENARIOS, flags=re.M))
    schema = set(Scenario.model_fields) - {"model", "animation"}
    schema |= {f"model.{k}" for k in ModelOptions.model_fields}
    schema |= {f"animation.{k}" for k in AnimationOptions.model_fields} - {
        "animation.width",
        "animation.height",
    }
    schema |= {"animation.size"}
    assert schema <= keys, schema - keys


def test_the_readme_fits_on_a_screen_and_its_links_resolve() -> None:
    assert len(README.splitlines()) <= 150
    for page in ("guide", "commands", "scenarios", "validation", "performance", "architecture"):
        assert f"(docs/{page}.md)" in README, page
    for target in re.findall(r"\]\(((?:docs/)?[\w./-]+)\)", README):
        assert (ROOT / target).exists(), target
    for doc in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([\w-]+\.md)(?:#[\w-]+)?\)", doc.read_text()):
            assert (DOCS / target).exists(), (doc.name, target)


def _doc_commands() -> list[str]:
    """Every `shrink ...` line of the hand-written pages' sh blocks, without its comment."""
    blocks = [b for text in HAND_WRITTEN for b in re.findall(r"```sh\n(.*?)```", text, re.S)]
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("shrink ")]


def test_every_documented_command_runs_as_written(tmp_path: Path) -> None:
    """From a folder holding the scenarios, with `shrink` on the PATH, as the README says."""
    commands = _doc_commands()
    readme_sh = "".join(re.findall(r"```sh\n(.*?)```", README, re.S))
    assert sum(line.startswith("shrink ") for line in readme_sh.splitlines()) >= 6
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


def test_the_readme_library_lines_run(tmp_path: Path) -> None:
    (block,) = re.findall(r"```python\n(.*?)```", README, re.S)
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    out = subprocess.run(
        [sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("3012.18"), out.stdout  # the post's REML criterion


def test_every_benchmark_writes_its_own_section_of_the_performance_page() -> None:
    page = (DOCS / "performance.md").read_text()
    for bench in sorted((ROOT / "bench").glob("bench_*.py")):
        assert "with recorded(__file__," in bench.read_text(), bench.name
        assert page.count(f"<!-- bench: {bench.name} -->") == 1, bench.name
        assert page.count(f"<!-- /bench: {bench.name} -->") == 1, bench.name


def test_a_benchmark_section_is_replaced_in_place() -> None:
    perfdoc = _load(ROOT / "bench" / "perfdoc.py")
    first = perfdoc.section("bench_a.py", "A", "1 s\n", "machine one")
    page = "# Performance\n\nprose\n\n" + first + "\nmore prose\n"
    second = perfdoc.section("bench_a.py", "A", "2 s\n", "machine two")
    new = perfdoc.replace_section(page, "bench_a.py", second)
    assert new == page.replace(first, second)
    assert "1 s" not in new and "machine two" in new and new.endswith("more prose\n")
    other = perfdoc.section("bench_b.py", "B", "3 s\n", "machine three")
    assert perfdoc.replace_section(new, "bench_b.py", other).endswith("more prose\n\n" + other)

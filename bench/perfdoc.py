"""Each benchmark writes its own section of docs/performance.md: no figure there is copied by hand.

``make bench`` runs every ``bench/bench_*.py``; each wraps its ``main()`` in :func:`recorded`,
which passes everything the benchmark prints through to the terminal as before and, when the run
finishes without an error, replaces the benchmark's section of the page (between its two
``<!-- bench: NAME -->`` markers) with what it printed and the machine it ran on. The prose around
the sections is written by hand and holds no figures; a benchmark's section is appended at the
end the first time it runs. A failed or interrupted run leaves the page as it was.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "performance.md"


def _first(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _commit() -> str:
    """The commit, "-dirty" when a tracked file other than this page differs from it (a run
    of `make bench` rewrites the page itself as it goes)."""
    try:
        head = subprocess.run(
            ["git", "describe", "--always"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":(exclude)docs/performance.md",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}-dirty" if changed else head


def machine(load_at_start: float) -> str:
    """One line naming the machine, the interpreter, the code and the load the figures came from."""
    cpu = _first("/proc/cpuinfo", "model name") or platform.processor() or "unknown CPU"
    kb = _first("/proc/meminfo", "MemTotal").split()
    memory = f"{int(kb[0]) / 2**20:.0f} GB" if kb else "unknown memory"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    end = os.getloadavg()[0]
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{when}; {platform.system()} {platform.machine()}, {cpu}, {usable} of "
        f"{os.cpu_count()} cores usable, {memory}; Python {platform.python_version()}; "
        f"shrink at {_commit()}; load average {load_at_start:.1f} at the start, "
        f"{end:.1f} at the end"
    )


def section(name: str, title: str, printed: str, where: str) -> str:
    """The Markdown of one benchmark's section, markers included."""
    return (
        f"<!-- bench: {name} -->\n"
        f"### {title}\n\n"
        f"Written by `python bench/{name}` (part of `make bench`) on {where}.\n\n"
        f"```text\n{printed.rstrip()}\n```\n"
        f"<!-- /bench: {name} -->\n"
    )


def replace_section(page: str, name: str, text: str) -> str:
    """The page with NAME's section replaced by TEXT (appended when the page has none yet)."""
    pattern = re.compile(
        rf"<!-- bench: {re.escape(name)} -->\n.*?<!-- /bench: {re.escape(name)} -->\n", re.S
    )
    if pattern.search(page):
        return pattern.sub(lambda _: text, page, count=1)
    return page.rstrip("\n") + "\n\n" + text


class _Tee(io.TextIOBase):
    """Writes to the terminal and keeps a copy."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.copy = io.StringIO()

    def write(self, s: str) -> int:
        self.copy.write(s)
        return self.out.write(s)

    def flush(self) -> None:
        self.out.flush()


@contextlib.contextmanager
def recorded(script: str, title: str) -> Iterator[None]:
    """Run the body with its output kept; on success, write it as SCRIPT's section of the page."""
    name = Path(script).name
    start = os.getloadavg()[0]
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        yield
    text = section(name, title, tee.copy.getvalue(), machine(start))
    page = PAGE.read_text() if PAGE.exists() else "# Performance\n"
    tmp = PAGE.with_suffix(".md.tmp")
    tmp.write_text(replace_section(page, name, text))
    tmp.replace(PAGE)
    print(f"(wrote its section of {PAGE.relative_to(ROOT)})", file=sys.stderr)

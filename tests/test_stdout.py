"""Data written to stdout: every byte or one line and exit 1 (a full disk, /dev/full), and one
rule for a reader that stops early (`| head -1`): exit 0 without a word, at every size."""

from __future__ import annotations

import errno
import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SCENARIO_DIR

from shrinkcli.errors import OutputError
from shrinkcli.io import write_stdout

BASELINE = str(SCENARIO_DIR / "baseline.yaml")
DATA = str(Path(__file__).parent / "data" / "reference" / "few-observations" / "data.csv")
SHRINK = [sys.executable, "-m", "shrinkcli"]
FULL = Path("/dev/full")
has_dev_full = pytest.mark.skipif(
    not (FULL.exists() and stat.S_ISCHR(FULL.stat().st_mode)), reason="no /dev/full here"
)


@has_dev_full
@pytest.mark.parametrize(
    "args",
    [
        ["simulate", BASELINE],
        ["simulate", BASELINE, "-f", "json"],
        ["simulate", BASELINE, "-f", "parquet"],
        ["fit", DATA],
        ["fit", DATA, "-f", "json"],
        ["fit", DATA, "-f", "summary"],
        ["fit", DATA, "-f", "parquet"],
        ["--version"],
    ],
)
def test_stdout_on_a_full_device_is_one_line_and_exit_1(args: list[str]) -> None:
    with FULL.open("wb") as full:
        res = subprocess.run(
            [*SHRINK, *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    assert res.returncode == 1, res.stderr
    assert res.stderr == "shrink: error: stdout: cannot write: no space left on the device\n"


class _FillingUp(io.RawIOBase):
    """A disk that takes `room` bytes, in short writes of at most `step`, then is full."""

    def __init__(self, room: int, step: int) -> None:
        self.data = bytearray()
        self.room, self.step = room, step

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        block = bytes(memoryview(b))  # type: ignore[arg-type]
        if len(self.data) >= self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        part = block[: min(self.step, self.room - len(self.data))]
        self.data += part
        return len(part)


def _fake_stdout(raw: _FillingUp) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BufferedWriter(raw, buffer_size=256), encoding="utf-8")


def test_a_write_that_fails_part_way_is_an_error_not_a_short_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blocks = [bytes([65 + i]) * 3000 for i in range(10)]
    raw = _FillingUp(room=7000, step=1000)
    monkeypatch.setattr(sys, "stdout", _fake_stdout(raw))
    with pytest.raises(OutputError, match="^stdout: cannot write: no space left on the device$"):
        write_stdout(iter(blocks))
    assert bytes(raw.data) == b"".join(blocks)[:7000]  # what got there is the start, in order


def test_short_writes_on_a_descriptor_are_written_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A write to a descriptor may take fewer bytes than it was given (a pipe, a disk near
    full): the rest is written, not dropped; and an ENOSPC after them is an error."""
    real_write = os.write
    taken: list[int] = []

    def short_write(fd: int, data: object) -> int:
        view = memoryview(data)  # type: ignore[arg-type]
        if sum(taken) >= 50_000:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = real_write(fd, view[:777])
        taken.append(n)
        return n

    out = tmp_path / "out.bin"
    payload = os.urandom(20_000)
    with out.open("w") as f:
        monkeypatch.setattr(sys, "stdout", f)
        monkeypatch.setattr(os, "write", short_write)
        write_stdout(payload)
        monkeypatch.setattr(os, "write", real_write)
    assert out.read_bytes() == payload
    taken.clear()
    with out.open("w") as f:
        monkeypatch.setattr(sys, "stdout", f)
        monkeypatch.setattr(os, "write", short_write)
        with pytest.raises(OutputError, match="no space left"):
            write_stdout(os.urandom(60_000))
        monkeypatch.setattr(os, "write", real_write)


def _through_head(args: list[str], tmp_path: Path) -> tuple[int, str, bytes]:
    """Run shrink into a real pipe read by `head -1`, which stops after one line."""
    err = tmp_path / "stderr.txt"
    with err.open("wb") as e:
        writer = subprocess.Popen(
            [*SHRINK, *args], stdout=subprocess.PIPE, stderr=e, stdin=subprocess.DEVNULL
        )
        assert writer.stdout is not None
        head = subprocess.run(["head", "-1"], stdin=writer.stdout, capture_output=True, check=False)
        writer.stdout.close()
        code = writer.wait(timeout=600)
    return code, err.read_text(), head.stdout


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A scenario of 50,000 rows, and its data as a CSV file (for fit: 5,000 clusters)."""
    folder = tmp_path_factory.mktemp("big")
    scenario = folder / "big.yaml"
    scenario.write_text("n_cluster: 5000\nobs_per_cluster: 10\n")
    data = folder / "big.csv"
    subprocess.run([*SHRINK, "simulate", str(scenario), "-o", str(data)], check=True)
    return str(scenario), str(data)


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
@pytest.mark.parametrize("size", ["small", "big"])
def test_a_reader_that_stops_early_is_normal_use(
    fmt: str, size: str, big: tuple[str, str], tmp_path: Path
) -> None:
    scenario = BASELINE if size == "small" else big[0]
    code, err, first = _through_head(["simulate", scenario, "-f", fmt], tmp_path)
    assert (code, err) == (0, "")
    assert first == {"csv": b"y,x,cluster\n", "json": b"[\n", "parquet": first}[fmt]
    data = DATA if size == "small" else big[1]
    code, err, first = _through_head(["fit", data, "-f", fmt], tmp_path)
    assert (code, err) == (0, "")
    assert first.startswith({"csv": b"cluster,n,", "json": b"{", "parquet": b"PAR1"}[fmt])

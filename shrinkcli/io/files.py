"""Bytes into and out of files: every file written atomically (a temporary file beside it,
then a rename), so an interrupted or failed run never leaves a half-written file; standard
output written whole or an error naming it (a full disk; a reader gone away is the
caller's); input files and stdin read, with a missing or unreadable one a usage error
naming it; a file's SHA-256 for a manifest."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from ..errors import OutputError, ShrinkError, UsageError
from .paths import REASONS, is_special

#: Bytes, or a view of them.
Bytes = bytes | bytearray | memoryview
#: What a file is written from: text, bytes, or bytes a block at a time.
Payload = bytes | bytearray | str | Iterator[Bytes]


def _blocks(data: Payload) -> Iterator[Bytes]:
    if isinstance(data, str):
        yield data.encode("utf-8")
    elif isinstance(data, bytes | bytearray):
        yield data
    else:
        yield from data


def write_atomic(path: str | Path, data: Payload) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename (into
    the file a symbolic link points to); a device or pipe is written in place."""
    p = Path(path)
    if is_special(p):
        try:
            with open(p, "wb") as f:
                for block in _blocks(data):
                    f.write(block)
        except OSError as exc:
            raise OutputError(f"{p}: cannot write: {exc.strerror}") from None
        return
    if p.is_symlink():
        p = Path(os.path.realpath(p))
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
    except OSError as exc:
        raise OutputError(f"{p}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            for block in _blocks(data):
                f.write(block)
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"{p}: cannot write: {exc.strerror}") from None
    except BaseException:  # a signal, or an error while the blocks were formatted
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_files(folder: str | Path, files: Mapping[str, bytes | str]) -> list[str]:
    """Write every file of `files` (a relative POSIX path → its content) under `folder`, each
    atomically, creating the folder and its subfolders as needed. Returns the paths written:
    what a result declares is exactly what lands on disk."""
    root = Path(folder)
    for name in files:
        rel = PurePosixPath(name)
        if not rel.parts or rel.is_absolute() or ".." in rel.parts:
            raise ValueError(f"{name!r}: a file of a folder must have a relative path inside it")
    written: list[str] = []
    for name, content in files.items():
        path = root.joinpath(*PurePosixPath(name).parts)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{path.parent}: cannot create the folder: {exc.strerror}") from None
        write_atomic(path, content)
        written.append(name)
    return written


def write_output(path: str, data: Payload) -> None:
    """Write to stdout for '-' (`write_stdout`), else atomically to the file."""
    if path == "-":
        write_stdout(data)
        return
    write_atomic(path, data)


def write_stdout(data: Payload) -> None:
    """Write `data` to standard output, every byte of it or an OutputError naming stdout (a
    full disk, an I/O error): the one place shrink writes data to stdout. Blocks go out as they
    come (the reader at the other end of a pipe starts on the first), each written whole by
    `os.write` on the descriptor when there is one, so that no short write or error is held in a
    buffer that the interpreter's last flush drops without a word. A reader that went away
    (`| head`) raises BrokenPipeError, for the caller's rule."""
    stream = sys.stdout
    try:
        stream.flush()  # text written before (e.g. by typer.echo) goes first
        fd = _descriptor(stream)
        for block in _blocks(data):
            if fd is not None:
                _write_all(fd, block)
            elif hasattr(stream, "buffer"):
                stream.buffer.write(block)
                stream.buffer.flush()
            else:  # a text-only stream (a test's)
                stream.write(bytes(block).decode("utf-8"))
                stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        reason = REASONS.get(exc.errno or 0, exc.strerror or str(exc))
        raise OutputError(f"stdout: cannot write: {reason}") from None


def _descriptor(stream: Any) -> int | None:
    """The file descriptor under a stream, if it has one (not a test's in-memory stream)."""
    try:
        return int(stream.fileno())
    except (AttributeError, OSError, ValueError):  # (io.UnsupportedOperation is an OSError)
        return None


def _write_all(fd: int, block: Bytes) -> None:
    """Write every byte of `block` to `fd`, on after short writes (a pipe, a disk near full)."""
    view = memoryview(block).cast("B")
    while view.nbytes:
        written = os.write(fd, view)
        view = view[written:]


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, in hex (for a report's manifest)."""
    import hashlib

    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise OutputError(f"{path}: cannot read: {exc.strerror}") from None
    return digest.hexdigest()


def read_text(path: str | Path, *, error: type[ShrinkError], kind: str, expected: str) -> str:
    """A text file's content ('-': standard input). An input that is missing or cannot be
    opened is a usage error (exit 2: the command line names it); content that is not text is
    `error`."""
    raw = read_stdin(kind) if str(path) == "-" else read_bytes(path, kind=kind)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        name = "<stdin>" if str(path) == "-" else str(path)
        raise error(f"{name}: not a text file (expected {expected})") from None


def read_stdin(kind: str) -> bytes:
    """Everything piped to standard input; a usage error when nothing is (a terminal)."""
    return stdin_stream(kind).read()


def stdin_stream(kind: str) -> BinaryIO:
    """Standard input as a binary stream; a usage error when nothing is piped to it."""
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError(f"'-' means a {kind} on stdin, but nothing is piped to it")
    if hasattr(sys.stdin, "buffer"):
        return sys.stdin.buffer
    return io.BytesIO(sys.stdin.read().encode())


def read_bytes(path: str | Path, *, kind: str, size: int = -1) -> bytes:
    """The file's bytes (the first `size` of them, all for −1). A file that is missing or
    cannot be opened is a usage error naming it (exit 2)."""
    with open_input(path, kind) as f:
        try:
            return f.read(size)
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror}") from None


def open_input(path: str | Path, kind: str) -> BinaryIO:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder, not a {kind}") from None
    except PermissionError:
        raise UsageError(f"{path}: permission denied") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None

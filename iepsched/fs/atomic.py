"""Atomic file writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

PRIVATE = 0o600  # owner only: reports, calendars and caches name students


def write_atomic(path: Path, data: bytes, *, mode: int = PRIVATE) -> None:
    """Write `data` to `path` in one step, the new file carrying permission bits `mode`.

    The temporary file lives in the same folder (os.replace is atomic only within a file system)
    and has `mode` before any byte is written, so a private file is never briefly readable by
    others. On any failure the temporary file is removed and the old file stays as it was.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _sync_folder(path)


def _sync_folder(path: Path) -> None:
    with contextlib.suppress(OSError):  # make the rename itself durable where the OS allows it
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def open_atomic(path: Path, *, encoding: str = "utf-8", mode: int = PRIVATE) -> Iterator[TextIO]:
    """A text file to write `path` through, piece by piece: renamed onto `path` on success.

    For outputs too large to hold as one string (a 100,000-student report): the same guarantees as
    `write_atomic` — a reader sees the old file or the whole new one, the temporary file has `mode`
    before any byte is written and is removed if the block raises.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _sync_folder(path)

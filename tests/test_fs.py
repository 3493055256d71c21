"""The fs floor: atomic writes that carry the permission bits they are given."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from iepsched.fs.atomic import PRIVATE, write_atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_atomic_defaults_to_private(tmp_path: Path) -> None:
    """Without a mode the new file is owner-only (0600): reports and caches name students."""
    target = tmp_path / "report.html"
    write_atomic(target, b"<html>")
    assert target.read_bytes() == b"<html>"
    assert _mode(target) == PRIVATE == 0o600


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644])
def test_write_atomic_applies_the_given_mode(tmp_path: Path, mode: int) -> None:
    """The given mode is the file's mode, whatever it replaced and whatever the umask allows."""
    target = tmp_path / "out.ics"
    target.write_bytes(b"old")
    target.chmod(0o666)
    write_atomic(target, b"new", mode=mode)
    assert target.read_bytes() == b"new"
    assert _mode(target) == mode


def test_write_atomic_failure_keeps_the_old_file(tmp_path: Path) -> None:
    """A failed write leaves the old file whole and no temporary file behind."""
    target = tmp_path / "out.csv"
    target.write_bytes(b"old")
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "missing" / "x.csv", b"new")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]

"""Rotating backups of the state file, taken with SQLite's online backup API.

A backup is taken before a sync writes anything, at most one a day, into `backups/` beside the
state file (folder 0700, files 0600); the newest `keep` are kept. SQLite's backup API copies a
consistent snapshot even while another connection has the database open, unlike a file copy.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

DEFAULT_KEEP = 14


def backup_folder(state_path: Path) -> Path:
    """Where the backups of a state file live."""
    return state_path.parent / "backups"


def backups(state_path: Path) -> list[Path]:
    """The backups of this state file, newest first."""
    folder = backup_folder(state_path)
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{state_path.stem}-*.sqlite"), reverse=True)


def take_backup(
    db: sqlite3.Connection, state_path: Path, *, day: dt.date, keep: int = DEFAULT_KEEP
) -> Path | None:
    """Back up `db` (the open state) as today's backup, unless today's exists; rotate.

    Returns the new backup's path, or None when today's backup was already taken.
    """
    folder = backup_folder(state_path)
    folder.mkdir(mode=0o700, exist_ok=True)
    target = folder / f"{state_path.stem}-{day.isoformat()}.sqlite"
    if target.exists():
        return None
    partial = target.with_suffix(".partial")
    fd = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    os.close(fd)
    out = sqlite3.connect(partial)
    try:
        db.backup(out)
    finally:
        out.close()
    os.chmod(partial, 0o600)
    os.replace(partial, target)
    for old in backups(state_path)[max(keep, 1) :]:
        old.unlink(missing_ok=True)
    return target

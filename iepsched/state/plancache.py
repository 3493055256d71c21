"""A cache of `iepsched plan STUDENT` answers, so asking again costs no planning and few imports.

An entry is the exact text a plan command printed, stored with everything it depended on: the
size and modification time of the config, roster, calendars, rules and state files, a
fingerprint of iepsched's own code, the district's time zone and the day it was computed for. An
entry is used only when every one of those still matches; otherwise the command plans from
scratch and stores a new entry. Entries live in the user's cache folder (mode 0700/0600: they
name students) and are plain JSON — never code.

Standard library only, and imported before anything heavy: this module is the fast path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

_VERSION = 1
_PACKAGE = Path(__file__).resolve().parent


def cache_dir(environ: dict[str, str]) -> Path:
    """$XDG_CACHE_HOME/iepsched, else ~/.cache/iepsched (the CLI passes the environment in)."""
    base = environ.get("XDG_CACHE_HOME") or str(
        Path(environ.get("HOME", "~")).expanduser() / ".cache"
    )
    return Path(base) / "iepsched" / "plan"


_HASH_LIMIT = 4 << 20  # files up to 4 MiB are also compared by content


def _stat(path: Path) -> list[int | str] | None:
    """Size and modification time, plus a content hash for small files (two edits of the same
    size within one timestamp tick must not look unchanged)."""
    try:
        st = path.stat()
        found: list[int | str] = [st.st_size, st.st_mtime_ns]
        if st.st_size <= _HASH_LIMIT and path.is_file():
            found.append(hashlib.sha256(path.read_bytes()).hexdigest()[:16])
    except OSError:
        return None
    return found


def code_fingerprint() -> str:
    """Changes whenever any module of iepsched changes (an upgrade or an edit)."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        st = path.stat()
        digest.update(f"{path.relative_to(_PACKAGE)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _entry_path(directory: Path, config: Path, student: str, fmt: str) -> Path:
    name = f"{config.resolve()}\0{student}\0{fmt}"
    return directory / (hashlib.sha256(name.encode()).hexdigest()[:32] + ".json")


def lookup(
    directory: Path, *, config: Path, student: str, fmt: str, today: str | None
) -> str | None:
    """The cached output, or None when there is none or anything it depended on changed.

    `today` is the --today value; without it the entry's own time zone decides today's date.
    """
    path = _entry_path(directory, config, student, fmt)
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("version") != _VERSION:
        return None
    if entry.get("code") != code_fingerprint():
        return None
    for name, stat in entry.get("files", {}).items():
        if _stat(Path(name)) != stat:
            return None
    day = today
    if day is None:
        from zoneinfo import ZoneInfo

        day = dt.datetime.now(ZoneInfo(str(entry.get("timezone")))).date().isoformat()
    if entry.get("today") != day:
        return None
    output = entry.get("output")
    return output if isinstance(output, str) else None


def store(
    directory: Path,
    *,
    config: Path,
    student: str,
    fmt: str,
    today: dt.date,
    timezone: str,
    files: Iterable[Path],
    output: str,
) -> None:
    """Remember an answer with what it depended on; a cache that cannot be written is skipped."""
    files = [config, *files]
    entry = {
        "version": _VERSION,
        "code": code_fingerprint(),
        "today": today.isoformat(),
        "timezone": timezone,
        # A missing file (no state yet) is recorded as missing: creating it invalidates.
        "files": {str(p.resolve()): _stat(p) for p in files},
        "output": output,
    }
    from ..fs.atomic import PRIVATE, write_atomic  # only on a miss: the hit path stays light

    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = _entry_path(directory, config, student, fmt)
        write_atomic(path, json.dumps(entry).encode("utf-8"), mode=PRIVATE)
    except OSError:
        return

"""A cache of `iepsched plan STUDENT` answers, so asking again costs no planning and few imports.

An entry is the exact text a plan command printed, stored with everything it depended on: the
size, modification time and content hash of every file the validated config names (config,
roster, calendars, rules, state — found by walking the Config, so a new input cannot be left
out), a fingerprint of iepsched's own code, the district's time zone and the day it was computed
for. An entry is used only when every one of those still matches; otherwise the command plans
from scratch and stores a new entry. Entries live in the user's cache folder (mode 0700/0600:
they name students) and are plain JSON — never code.

Standard library only, and imported before anything heavy: this module is the fast path.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.settings import Config

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


# Sections of the config that name files a plan never reads: Graph credentials. Hashing a private
# key or a token cache into a cache file serves nothing, and every token refresh would needlessly
# invalidate the answers.
_NOT_PLAN_INPUTS = frozenset({"graph"})


def input_files(config: Config) -> list[Path]:
    """Every file a plan of `config` may depend on, each once, in a stable order.

    Each `Path` the validated config holds, at any depth (config file, roster, default and
    per-building calendars, ICS feed, rules, state, and whatever input is added later), plus the
    files derived from them: the state file at its default place and SQLite's write-ahead log.
    """
    state = config.state_path
    found = [*_paths(config), state, Path(f"{state}-wal")]
    return list(dict.fromkeys(found))


def _paths(value: object) -> Iterator[Path]:
    if isinstance(value, Path):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            if f.name not in _NOT_PLAN_INPUTS:
                yield from _paths(getattr(value, f.name))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _paths(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _paths(item)


def store(
    directory: Path,
    *,
    config: Config,
    student: str,
    fmt: str,
    today: dt.date,
    output: str,
) -> None:
    """Remember an answer with what it depended on; a cache that cannot be written is skipped."""
    entry = {
        "version": _VERSION,
        "code": code_fingerprint(),
        "today": today.isoformat(),
        "timezone": config.district.timezone,
        # A missing file (no state yet) is recorded as missing: creating it invalidates.
        "files": {str(p.resolve()): _stat(p) for p in input_files(config)},
        "output": output,
    }
    from ..fs.atomic import PRIVATE, write_atomic  # only on a miss: the hit path stays light

    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = _entry_path(directory, config.source, student, fmt)
        write_atomic(path, json.dumps(entry).encode("utf-8"), mode=PRIVATE)
    except OSError:
        return

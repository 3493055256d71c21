"""Opening the state file from commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import Problem, UserError

if TYPE_CHECKING:
    import sqlite3

    from ..core.model import Contact
    from ..core.settings import Config
    from ..state.store import StateStore


@contextmanager
def open_state_readonly(config: Config) -> Iterator[StateStore | None]:
    """The state when a sync has created it, else None (a preview: nothing is created)."""
    path = config.state_path
    if not path.exists():
        yield None
        return
    with open_state(config) as store:
        yield store


@contextmanager
def open_state(config: Config) -> Iterator[StateStore]:
    """The state, created (mode 0600) if missing; a damaged file is a message, not a traceback."""
    import sqlite3  # only once there is a state file: `plan` without one never loads it

    from ..state.store import StateStore

    try:
        with StateStore(config.state_path) as store:
            yield store
    except sqlite3.DatabaseError as exc:
        raise damaged(config.state_path, exc) from exc


def damaged(path: Path, exc: sqlite3.DatabaseError) -> UserError:
    """The message for a state file SQLite cannot read (zeroed pages, truncated, not SQLite)."""
    return UserError(
        Problem(
            str(path),
            f"the state file is damaged ({exc}). Nothing was written. Keep the damaged file "
            "for your IT staff and put the newest backup of the state file in its place.",
        )
    )


def journal_contacts(state_path: Path) -> list[Contact]:
    """The contacts the legal-log journal holds, for when there is no state file to read (lost
    or moved): the log is still listed; damaged lines are skipped with a warning on stderr."""
    import click

    from ..state.journal import Journal, contact_of, journal_path, missing_from

    journal = Journal(journal_path(state_path))
    entries, problems = journal.read()
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    found = []
    for entry in missing_from((e for e in entries if e.log == "contact"), set()):
        try:
            found.append(contact_of(entry))
        except (KeyError, ValueError):
            where = f"{journal.path} line {entry.line}"
            click.echo(f"warning: {where}: not a readable contact; skipped", err=True)
    return sorted(found, key=lambda c: c.at)

"""The contact log in the state, kept whole by the journal beside it.

Writing: the entry goes to the journal (fsynced) first, then into SQLite in its own transaction;
a crash between the two leaves the entry in the journal only, and the next open takes it back.
Opening: entries the journal holds and the state lacks (by entry id) are inserted — the state
file was lost, truncated or restored from an older backup — and rows the state holds and the
journal lacks (logged before the journal existed, or the journal was removed) are appended to
the journal, so each holds everything. Problems reading the journal are warnings, never fatal:
the state's rows are still there and the journal is left as it is for IT staff to look at.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import Problem, UserError
from ..core.model import Contact
from .journal import Entry, Journal, contact_entry, contact_of, missing_from


@dataclass
class JournalCheck:
    """What opening the state found in the journal."""

    restored: int = 0  # entries taken back into the state
    copied: int = 0  # state rows written to the journal
    problems: list[Problem] = field(default_factory=list)


def contact_of_row(row: Mapping[str, Any]) -> Contact:
    """The Contact a contacts row holds."""
    return Contact(
        student_id=row["student_id"],
        at=dt.datetime.fromisoformat(row["at"]),
        method=row["method"],
        with_whom=row["with_whom"],
        outcome=row["outcome"],
        note=row["note"],
        source=row["source"],
    )


def entry_of_row(row: Mapping[str, Any]) -> Entry:
    """The journal entry of a contacts row (the same entry `log_contact` journaled for it)."""
    return contact_entry(
        contact_of_row(row), source_ref=row["source_ref"], logged_at=row["logged_at"]
    )


_INSERT = """
    INSERT INTO contacts (student_id, at, method, with_whom, outcome, note, source, source_ref,
        logged_at, entry_id)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


def insert_contact(db: sqlite3.Connection, entry: Entry, contact: Contact) -> bool:
    """Insert one journaled contact; False when its entry or its source_ref is already there."""
    fields = entry.fields
    try:
        db.execute(
            _INSERT,
            (
                contact.student_id,
                contact.at.isoformat(),
                contact.method,
                contact.with_whom,
                contact.outcome,
                contact.note,
                contact.source,
                fields.get("source_ref"),
                fields.get("logged_at") or contact.at.isoformat(),
                entry.entry_id,
            ),
        )
    except sqlite3.IntegrityError:
        return False
    return True


def append_durably(journal: Journal, entry: Entry, *, now: dt.datetime) -> None:
    """Journal an entry before the state records it; a journal that cannot be written stops
    the logging (the entry would otherwise live in one copy only)."""
    try:
        journal.append(entry, logged_at=now)
    except OSError as exc:
        raise UserError(
            Problem(
                str(journal.path),
                f"the legal-log journal cannot be written ({exc.strerror or exc}); nothing was "
                "logged. Check the folder's free space and permissions, then log it again.",
            )
        ) from None


def reconcile_journal(
    db: sqlite3.Connection, journal: Journal, *, now: dt.datetime
) -> JournalCheck:
    """Make the state and the journal hold the same contacts (see the module docstring)."""
    check = JournalCheck()
    try:
        entries, check.problems = journal.read()
    except OSError as exc:
        check.problems.append(
            Problem(
                str(journal.path), f"the journal cannot be read ({exc}); not checked", "warning"
            )
        )
        return check
    contacts = [e for e in entries if e.log == "contact"]
    known = {row[0] for row in db.execute("SELECT entry_id FROM contacts") if row[0]}
    wanted = missing_from(contacts, known)
    if wanted:
        db.execute("BEGIN IMMEDIATE")
        try:
            for entry in wanted:
                try:
                    contact = contact_of(entry)
                except (KeyError, ValueError) as exc:
                    where = f"{journal.path} line {entry.line}"
                    check.problems.append(
                        Problem(where, f"not a readable contact ({exc}); skipped", "warning")
                    )
                    continue
                check.restored += insert_contact(db, entry, contact)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    journaled = {e.entry_id for e in contacts}
    cursor = db.execute("SELECT * FROM contacts ORDER BY id")
    names = [c[0] for c in cursor.description]
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        if row["entry_id"] in journaled:
            continue
        try:
            journal.append(entry_of_row(row), logged_at=now)
        except OSError as exc:
            check.problems.append(
                Problem(str(journal.path), f"cannot be written ({exc}); not copied", "warning")
            )
            break
        check.copied += 1
    return check

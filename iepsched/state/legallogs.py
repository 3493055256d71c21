"""The legal logs in the state — parent contacts, delays, meeting requests — kept whole by the
journal beside it.

Writing: the entry goes to the journal (fsynced) first, then into SQLite in its own transaction;
a crash between the two leaves the entry in the journal only, and the next open takes it back.
Opening: entries the journal holds and the state lacks (by entry id) are inserted — the state
file was lost, truncated or restored from an older backup — and rows the state holds and the
journal lacks (logged before the journal existed, or the journal was removed) are appended to
the journal, so each holds everything. Problems reading the journal are warnings, never fatal:
the state's rows are still there and the journal is left as it is for IT staff to look at.

Each log is a `LogTable`: its table, and how a row and a journal entry turn into each other.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..core.errors import Problem, UserError
from ..core.model import Contact, Delay, MeetingRequest
from .journal import (
    Entry,
    Journal,
    LogName,
    contact_entry,
    contact_of,
    delay_entry,
    delay_of,
    missing_from,
    request_entry,
    request_of,
)

V = TypeVar("V")
Row = Mapping[str, Any]


@dataclass
class JournalCheck:
    """What opening the state found in the journal."""

    restored: int = 0  # entries taken back into the state (every log)
    copied: int = 0  # state rows written to the journal (every log)
    problems: list[Problem] = field(default_factory=list)
    restored_by_log: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LogTable:
    """One legal log's table: the columns an entry fills (entry_id last) and the conversions."""

    log: LogName
    table: str
    noun: str  # for messages: "not a readable <noun>"
    columns: tuple[str, ...]
    values_of: Callable[[Entry], tuple[Any, ...]]  # raises KeyError/ValueError if malformed
    entry_of: Callable[[Row], Entry]

    def insert(self, db: sqlite3.Connection, entry: Entry) -> bool:
        """Insert one journaled entry; False when it (or a unique key of it) is already there."""
        marks = ", ".join("?" * len(self.columns))
        sql = f"INSERT INTO {self.table} ({', '.join(self.columns)}) VALUES ({marks})"
        try:
            db.execute(sql, self.values_of(entry))
        except sqlite3.IntegrityError:
            return False
        return True


# -- contacts ---------------------------------------------------------------------------------


def contact_of_row(row: Row) -> Contact:
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


def entry_of_row(row: Row) -> Entry:
    """The journal entry of a contacts row (the same entry `log_contact` journaled for it)."""
    return contact_entry(
        contact_of_row(row), source_ref=row["source_ref"], logged_at=row["logged_at"]
    )


def _contact_values(entry: Entry) -> tuple[Any, ...]:
    contact = contact_of(entry)
    fields = entry.fields
    return (
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
    )


CONTACTS = LogTable(
    "contact",
    "contacts",
    "contact",
    (
        "student_id",
        "at",
        "method",
        "with_whom",
        "outcome",
        "note",
        "source",
        "source_ref",
        "logged_at",
        "entry_id",
    ),
    _contact_values,
    entry_of_row,
)


def insert_contact(db: sqlite3.Connection, entry: Entry, contact: Contact) -> bool:
    """Insert one journaled contact; False when its entry or its source_ref is already there."""
    return CONTACTS.insert(db, entry)


# -- delays -----------------------------------------------------------------------------------


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def delay_of_row(row: Row) -> Delay:
    """The Delay a delays row holds."""
    return Delay(
        student_id=row["student_id"],
        logged_on=dt.date.fromisoformat(row["logged_on"]),
        reason=row["reason"],
        meeting_date=_date(row["meeting_date"]),
        entry_id=row["entry_id"],
    )


def _delay_values(entry: Entry) -> tuple[Any, ...]:
    d = delay_of(entry)
    return (
        d.student_id,
        d.logged_on.isoformat(),
        d.reason,
        d.meeting_date.isoformat() if d.meeting_date else None,
        entry.fields["logged_at"],
        entry.entry_id,
    )


DELAYS = LogTable(
    "delay",
    "delays",
    "delay",
    ("student_id", "logged_on", "reason", "meeting_date", "logged_at", "entry_id"),
    _delay_values,
    lambda row: delay_entry(delay_of_row(row), logged_at=row["logged_at"]),
)


# -- meeting requests -------------------------------------------------------------------------


def request_of_row(row: Row) -> MeetingRequest:
    """The MeetingRequest a meeting_requests row holds."""
    return MeetingRequest(
        student_id=row["student_id"],
        type=row["type"],
        requested_on=dt.date.fromisoformat(row["requested_on"]),
        reason=row["reason"],
        by=_date(row["by_date"]),
        notice_waived=bool(row["notice_waived"]),
        without_meeting=bool(row["without_meeting"]),
        requested_by=row["requested_by"],
        entry_id=row["entry_id"],
    )


def _request_values(entry: Entry) -> tuple[Any, ...]:
    r = request_of(entry)
    return (
        r.student_id,
        r.type,
        r.requested_on.isoformat(),
        r.reason,
        r.by.isoformat() if r.by else None,
        int(r.notice_waived),
        int(r.without_meeting),
        r.requested_by,
        entry.fields["logged_at"],
        entry.entry_id,
    )


REQUESTS = LogTable(
    "meeting_request",
    "meeting_requests",
    "meeting request",
    (
        "student_id",
        "type",
        "requested_on",
        "reason",
        "by_date",
        "notice_waived",
        "without_meeting",
        "requested_by",
        "logged_at",
        "entry_id",
    ),
    _request_values,
    lambda row: request_entry(request_of_row(row), logged_at=row["logged_at"]),
)

LOG_TABLES: tuple[LogTable, ...] = (CONTACTS, DELAYS, REQUESTS)


# -- writing and reconciling ------------------------------------------------------------------


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


def unique_entry(
    db: sqlite3.Connection, spec: LogTable, make: Callable[[str], Entry], stamp: dt.datetime
) -> Entry:
    """`make(logged_at)` at `stamp`, moved on a microsecond while the state already holds an
    entry with its id: the same entry logged twice within one clock tick stays two entries."""
    entry = make(stamp.isoformat())
    query = f"SELECT 1 FROM {spec.table} WHERE entry_id = ?"
    while db.execute(query, (entry.entry_id,)).fetchone():
        stamp += dt.timedelta(microseconds=1)
        entry = make(stamp.isoformat())
    return entry


def reconcile_journal(
    db: sqlite3.Connection, journal: Journal, *, now: dt.datetime
) -> JournalCheck:
    """Make the state and the journal hold the same entries, log by log (module docstring)."""
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
    for spec in LOG_TABLES:
        ours = [e for e in entries if e.log == spec.log]
        restored = _take_back(db, journal, spec, ours, check.problems)
        check.restored += restored
        if restored:
            check.restored_by_log[spec.log] = restored
    journaled_ids = {e.entry_id for e in entries}
    for spec in LOG_TABLES:
        if not _copy_out(db, journal, spec, journaled_ids, check, now=now):
            break  # the journal cannot be written: one warning is enough
    return check


def _take_back(
    db: sqlite3.Connection,
    journal: Journal,
    spec: LogTable,
    entries: Sequence[Entry],
    problems: list[Problem],
) -> int:
    """Insert the journal's entries the state lacks, in one transaction; how many."""
    known = {row[0] for row in db.execute(f"SELECT entry_id FROM {spec.table}") if row[0]}
    wanted = missing_from(entries, known)
    if not wanted:
        return 0
    restored = 0
    db.execute("BEGIN IMMEDIATE")
    try:
        for entry in wanted:
            try:
                spec.values_of(entry)
            except (KeyError, ValueError) as exc:
                where = f"{journal.path} line {entry.line}"
                problems.append(
                    Problem(where, f"not a readable {spec.noun} ({exc}); skipped", "warning")
                )
                continue
            restored += spec.insert(db, entry)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return restored


def _copy_out(
    db: sqlite3.Connection,
    journal: Journal,
    spec: LogTable,
    journaled: set[str],
    check: JournalCheck,
    *,
    now: dt.datetime,
) -> bool:
    """Append the state's rows the journal lacks; False when the journal cannot be written."""
    cursor = db.execute(f"SELECT * FROM {spec.table} ORDER BY id")
    names = [c[0] for c in cursor.description]
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        if row["entry_id"] in journaled:
            continue
        try:
            journal.append(spec.entry_of(row), logged_at=now)
        except OSError as exc:
            check.problems.append(
                Problem(str(journal.path), f"cannot be written ({exc}); not copied", "warning")
            )
            return False
        check.copied += 1
    return True


def journaled(
    journal: Journal, log: LogName, parse: Callable[[Entry], V]
) -> tuple[list[V], list[Problem]]:
    """One log's entries as the journal holds them, each once, for reading a log when the state
    file is gone; unreadable lines and entries are problems (warnings), never fatal."""
    entries, problems = journal.read()
    found: list[V] = []
    for entry in missing_from((e for e in entries if e.log == log), set()):
        try:
            found.append(parse(entry))
        except (KeyError, ValueError) as exc:
            where = f"{journal.path} line {entry.line}"
            problems.append(Problem(where, f"not a readable entry ({exc}); skipped", "warning"))
    return found, problems

"""Sync state in SQLite (stdlib): items, cycles, the legal logs (parent contacts, delays,
meeting requests), runs and ICS sequences.

The legal logs are also journaled beside the state (`legallogs`, `journal`), and opening the
state takes back any entry it lost.

The state keeps keys, remote ids, change keys and payload hashes — never item content — plus the
booked meeting times it needs to notice a person moving a meeting. The file is created with mode
0600 and opened in WAL mode; migrations are recorded in the same transaction that applies them.
A second process that wants to sync while one holds the lock gets `LockedError` at once.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from ..core.errors import LockedError, Problem, UserError
from ..core.model import (
    TRACKS,
    Contact,
    Cycle,
    Delay,
    ItemState,
    MeetingRequest,
    Op,
)
from . import schema
from .backup import backups, take_backup
from .itemrows import (
    NOTE_INTENT,
    REPLACE_ITEM,
    as_date,
    as_datetime,
    iso,
    item_of_row,
    item_values,
    one_of,
)
from .journal import Journal, contact_entry, delay_entry, journal_path, request_entry
from .legallogs import (
    CONTACTS,
    DELAYS,
    REQUESTS,
    JournalCheck,
    append_durably,
    contact_of_row,
    delay_of_row,
    insert_contact,
    reconcile_journal,
    request_of_row,
    unique_entry,
)

T = TypeVar("T", bound=str)
SCHEMA_VERSION = schema.SCHEMA_VERSION


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One `iepsched sync` run, for `iepsched runs`."""

    id: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    today: dt.date
    dry_run: bool
    exit_code: int | None
    counts: Mapping[str, int]
    failures: int
    duration_s: float | None


class StateStore:
    """The SQLite state file. Use as a context manager; `lock()` guards a sync run."""

    def __init__(self, path: Path, *, now: dt.datetime | None = None) -> None:
        self.path = path
        self._now = now
        self._lock_fd: int | None = None
        self.journal = Journal(journal_path(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Create it 0600 before SQLite opens it: the state names students.
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        else:
            os.chmod(path, 0o600)
        try:
            self.db = sqlite3.connect(path, timeout=10.0, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError as exc:
            raise UserError(
                Problem(str(path), f"is not an iepsched state file ({exc}); move it aside")
            ) from None
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.row_factory = sqlite3.Row
        self._migrate()
        self.journal_check: JournalCheck = reconcile_journal(self.db, self.journal, now=self.now())
        for suffix in ("-wal", "-shm"):
            side = Path(f"{path}{suffix}")
            if side.exists():
                os.chmod(side, 0o600)

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.unlock()
        self.db.close()

    def now(self) -> dt.datetime:
        """The time recorded in rows (injectable so tests are reproducible)."""
        return self._now or dt.datetime.now(dt.UTC)

    def _migrate(self) -> None:
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if version > schema.SCHEMA_VERSION:
            raise UserError(
                Problem(
                    str(self.path),
                    f"was written by a newer iepsched (schema {version} > "
                    f"{schema.SCHEMA_VERSION}); "
                    "upgrade iepsched",
                )
            )
        for index in range(version, schema.SCHEMA_VERSION):
            with self.transaction() as db:
                schema.apply(db, index)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work; rolled back on any exception."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def lock(self) -> None:
        """Take the run lock (an flock on a sibling file), or raise LockedError at once."""
        import fcntl

        lock_path = Path(f"{self.path}.lock")
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise LockedError(
                Problem(
                    str(self.path),
                    "another iepsched sync is running with this state file; "
                    "wait for it to finish (or check for a stuck process) and run again",
                )
            ) from None
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    # -- items ------------------------------------------------------------------------------

    def items(self) -> dict[str, ItemState]:
        """Every row, by `row_id`: an item's own row under its key, plus the copies of moved
        items still being removed from former mailboxes."""
        found = (
            item_of_row(row, f"{self.path} items row {row['key']!r}")
            for row in self.db.execute("SELECT * FROM items")
        )
        return {st.row_id: st for st in found}

    def item(self, key: str) -> ItemState | None:
        """The item's own row (not a copy left in a former mailbox)."""
        row = self.db.execute(
            "SELECT * FROM items WHERE key = ? AND moving_from = ''", (key,)
        ).fetchone()
        return item_of_row(row, f"{self.path} items row {row['key']!r}") if row else None

    def record_intents(self, intents: Iterable[tuple[ItemState, Op]]) -> None:
        """Before writing: note what is about to happen to each item (one transaction).

        A create records the whole pending row (its mailbox, hashes and times), also over an
        older row for the same key (an item created again after a move, a rebook or a removal):
        if the answer is lost, the next read must look for it where it was sent. Other writes
        only note their intent on the row they change.
        """
        stamp = self.now().isoformat()
        with self.transaction() as db:
            for item, intent in intents:
                sql = REPLACE_ITEM if intent == "create" else NOTE_INTENT
                db.execute(sql, item_values(item, intent, stamp))

    def save(self, items: Iterable[ItemState]) -> None:
        """After writing (or adopting a remote change): the confirmed state, intent cleared."""
        stamp = self.now().isoformat()
        with self.transaction() as db:
            db.executemany(REPLACE_ITEM, [item_values(i, i.intent, stamp) for i in items])

    # -- cycles -----------------------------------------------------------------------------

    def cycles(self) -> dict[tuple[str, str], list[Cycle]]:
        """Cycles per (student, track), oldest first."""
        found: dict[tuple[str, str], list[Cycle]] = {}
        for row in self.db.execute("SELECT * FROM cycles ORDER BY opened_at, cycle_id"):
            cycle = Cycle(
                row["student_id"],
                one_of(row["track"], TRACKS, "track", f"{self.path} cycles row"),
                row["cycle_id"],
                dt.date.fromisoformat(row["due_date"]),
                as_date(row["held_on"]),
            )
            found.setdefault((cycle.student_id, cycle.track), []).append(cycle)
        return found

    def save_cycles(self, cycles: Iterable[Cycle]) -> None:
        stamp = self.now().isoformat()
        with self.transaction() as db:
            for c in cycles:
                db.execute(
                    """
                    INSERT INTO cycles (student_id, track, cycle_id, due_date, held_on, opened_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(student_id, track, cycle_id) DO UPDATE SET
                        due_date = excluded.due_date, held_on = excluded.held_on
                    """,
                    (
                        c.student_id,
                        c.track,
                        c.cycle_id,
                        c.due_date.isoformat(),
                        iso(c.held_on),
                        stamp,
                    ),
                )

    # -- contacts (append-only) -------------------------------------------------------------

    def log_contact(self, contact: Contact, *, source_ref: str | None = None) -> bool:
        """Append a contact; False when `source_ref` was already logged (idempotent read-back).

        The journal gets the entry (fsynced) before the state's transaction: the state never
        holds a contact the journal lacks.
        """
        if (
            source_ref is not None
            and self.db.execute(
                "SELECT 1 FROM contacts WHERE source_ref = ?", (source_ref,)
            ).fetchone()
        ):
            return False
        now = self.now()
        entry = unique_entry(
            self.db,
            CONTACTS,
            lambda at: contact_entry(contact, source_ref=source_ref, logged_at=at),
            now,
        )
        append_durably(self.journal, entry, now=now)
        with self.transaction() as db:
            return insert_contact(db, entry, contact)

    def contacts(self, student_id: str | None = None) -> list[Contact]:
        """The log, oldest first; one student's when given."""
        query = "SELECT * FROM contacts"
        args: tuple[Any, ...] = ()
        if student_id is not None:
            query += " WHERE student_id = ?"
            args = (student_id,)
        return [contact_of_row(row) for row in self.db.execute(query + " ORDER BY at, id", args)]

    # -- delays and meeting requests (append-only, journaled like contacts) --------------------

    def log_delay(self, delay: Delay) -> Delay:
        """Append a delay (journal first, then the state); the stored Delay, with its entry id."""
        now = self.now()
        entry = unique_entry(self.db, DELAYS, lambda at: delay_entry(delay, logged_at=at), now)
        append_durably(self.journal, entry, now=now)
        with self.transaction() as db:
            DELAYS.insert(db, entry)
        return replace(delay, entry_id=entry.entry_id)

    def delays(self, student_id: str | None = None) -> list[Delay]:
        """The delay log, oldest first; one student's when given."""
        return [delay_of_row(row) for row in self._log_rows("delays", "logged_on", student_id)]

    def log_meeting_request(self, request: MeetingRequest) -> MeetingRequest:
        """Append a meeting request (journal first, then the state); the stored request, with
        its entry id. Whether it may be logged (a second open request) is the caller's rule."""
        now = self.now()
        entry = unique_entry(
            self.db, REQUESTS, lambda at: request_entry(request, logged_at=at), now
        )
        append_durably(self.journal, entry, now=now)
        with self.transaction() as db:
            REQUESTS.insert(db, entry)
        return replace(request, entry_id=entry.entry_id)

    def meeting_requests(self, student_id: str | None = None) -> list[MeetingRequest]:
        """The meeting-request log, oldest first; one student's when given."""
        rows = self._log_rows("meeting_requests", "requested_on", student_id)
        return [request_of_row(row) for row in rows]

    def _log_rows(self, table: str, day: str, student_id: str | None) -> list[dict[str, Any]]:
        query = f"SELECT * FROM {table}"
        args: tuple[Any, ...] = ()
        if student_id is not None:
            query += " WHERE student_id = ?"
            args = (student_id,)
        rows = self.db.execute(f"{query} ORDER BY {day}, logged_at, id", args)
        return [dict(row) for row in rows]

    # -- backups ----------------------------------------------------------------------------

    def backup(self, day: dt.date) -> Path | None:
        """Today's backup of the state (at most one a day, rotating); None if already taken.

        A backup that cannot be taken stops the run before it writes: the backup is what a
        lost state is recovered from.
        """
        try:
            return take_backup(self.db, self.path, day=day)
        except (OSError, sqlite3.Error) as exc:
            raise UserError(
                Problem(
                    str(self.path),
                    f"the state could not be backed up ({exc}); nothing was written. Check the "
                    "free space and permissions of the backups folder beside it.",
                )
            ) from None

    def newest_backup(self) -> Path | None:
        found = backups(self.path)
        return found[0] if found else None

    def restore(self, backup: Path) -> None:
        """Replace the state's content with a backup's, then bring it to this schema and take
        back from the journal every legal-log entry logged since the backup was taken."""
        source = sqlite3.connect(backup)
        try:
            source.backup(self.db)
        finally:
            source.close()
        self._migrate()
        self.journal_check = reconcile_journal(self.db, self.journal, now=self.now())

    # -- runs -------------------------------------------------------------------------------

    def start_run(self, *, today: dt.date, dry_run: bool) -> int:
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO runs (started_at, today, dry_run) VALUES (?, ?, ?)",
                (self.now().isoformat(), today.isoformat(), int(dry_run)),
            )
        return int(cursor.lastrowid or 0)

    def finish_run(
        self,
        run_id: int,
        *,
        exit_code: int,
        counts: Mapping[str, int],
        failures: int,
        duration_s: float,
    ) -> None:
        with self.transaction() as db:
            db.execute(
                """UPDATE runs SET finished_at = ?, exit_code = ?, counts = ?, failures = ?,
                   duration_s = ? WHERE id = ?""",
                (
                    self.now().isoformat(),
                    exit_code,
                    json.dumps(dict(counts), sort_keys=True),
                    failures,
                    duration_s,
                    run_id,
                ),
            )

    def runs(self, limit: int = 50) -> list[RunRecord]:
        """Newest first."""
        return [
            RunRecord(
                id=row["id"],
                started_at=dt.datetime.fromisoformat(row["started_at"]),
                finished_at=as_datetime(row["finished_at"]),
                today=dt.date.fromisoformat(row["today"]),
                dry_run=bool(row["dry_run"]),
                exit_code=row["exit_code"],
                counts=json.loads(row["counts"]),
                failures=row["failures"],
                duration_s=row["duration_s"],
            )
            for row in self.db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        ]

    # -- ICS sequences ----------------------------------------------------------------------

    def ics_sequence(self, uid: str, content_hash: str) -> int:
        """SEQUENCE for an exported item: unchanged content keeps it, a change increments it."""
        row = self.db.execute(
            "SELECT hash, sequence FROM ics_sequences WHERE uid = ?", (uid,)
        ).fetchone()
        if row is None:
            sequence = 0
        elif row["hash"] == content_hash:
            return int(row["sequence"])
        else:
            sequence = int(row["sequence"]) + 1
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO ics_sequences (uid, hash, sequence) VALUES (?, ?, ?)",
                (uid, content_hash, sequence),
            )
        return sequence

    @contextmanager
    def ics_sequencer(self) -> Iterator[Callable[[str, str], int]]:
        """`ics_sequence` for a whole export: reads once, writes once (one transaction), since a
        commit per event made a first export of a large district take minutes."""
        known = {
            row["uid"]: (row["hash"], int(row["sequence"]))
            for row in self.db.execute("SELECT uid, hash, sequence FROM ics_sequences")
        }
        changed: dict[str, tuple[str, int]] = {}

        def sequence_for(uid: str, content_hash: str) -> int:
            old = changed.get(uid) or known.get(uid)
            if old is None:
                sequence = 0
            elif old[0] == content_hash:
                return old[1]
            else:
                sequence = old[1] + 1
            changed[uid] = (content_hash, sequence)
            return sequence

        yield sequence_for
        if changed:
            with self.transaction() as db:
                db.executemany(
                    "INSERT OR REPLACE INTO ics_sequences (uid, hash, sequence) VALUES (?, ?, ?)",
                    [(uid, h, seq) for uid, (h, seq) in changed.items()],
                )

    # -- meta -------------------------------------------------------------------------------

    def get_meta(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return str(row["value"]) if row else None

    def set_meta(self, name: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))

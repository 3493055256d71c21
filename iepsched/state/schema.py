"""The state file's schema: migrations, each recorded in `user_version` in the transaction that
applies it (a failed one leaves neither its tables nor its number behind).

A migration is SQL (statements separated by ";\n") or a function of the open connection, for a
step SQL alone cannot do (computing journal entry ids for the contacts already logged).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable

from .legallogs import entry_of_row

Migration = str | Callable[[sqlite3.Connection], None]

_APPEND_ONLY_UPDATE = """
    CREATE TRIGGER contacts_append_only_update BEFORE UPDATE ON contacts
        BEGIN SELECT RAISE(ABORT, 'the contact log is append-only'); END
"""


def _contact_entry_ids(db: sqlite3.Connection) -> None:
    """3: each contact row carries its journal entry id, so the journal and the state can be
    compared entry by entry. The rows already logged get theirs computed here; the update
    trigger is lifted for this one statement and put back in the same transaction."""
    db.execute("ALTER TABLE contacts ADD COLUMN entry_id TEXT")
    db.execute("DROP TRIGGER contacts_append_only_update")
    cursor = db.execute("SELECT * FROM contacts")
    names = [c[0] for c in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    taken: set[str] = set()
    for row in rows:
        entry = entry_of_row(row)
        while entry.entry_id in taken:
            # Two rows alike to the microsecond (a fixed clock): keep both, one tick apart.
            row["logged_at"] = (
                dt.datetime.fromisoformat(row["logged_at"]) + dt.timedelta(microseconds=1)
            ).isoformat()
            entry = entry_of_row(row)
        taken.add(entry.entry_id)
        db.execute(
            "UPDATE contacts SET entry_id = ?, logged_at = ? WHERE id = ?",
            (entry.entry_id, row["logged_at"], row["id"]),
        )
    db.execute(_APPEND_ONLY_UPDATE)
    db.execute("CREATE UNIQUE INDEX contacts_entry ON contacts(entry_id)")


# Each entry migrates from version i to i + 1; applied in order, each in one transaction.
MIGRATIONS: tuple[Migration, ...] = (
    """
    CREATE TABLE items (
        key          TEXT PRIMARY KEY,   -- student/cycle/milestone
        student_id   TEXT NOT NULL,
        cycle_id     TEXT NOT NULL,
        kind         TEXT NOT NULL,      -- event | task | recurring_task | calendar_item
        mailbox      TEXT NOT NULL,
        remote_id    TEXT,
        list_id      TEXT,
        change_key   TEXT,
        hash         TEXT,               -- hash of the payload last confirmed by Graph
        field_hashes TEXT,               -- JSON {field: hash} to PATCH only what changed
        state        TEXT NOT NULL,      -- pending | live | completed | removed_by_person
                                         -- | cancelled | deleted
        intent       TEXT,               -- create | update | cancel | delete while in flight
        start        TEXT,               -- events: the start/end last seen (moves are adopted)
        end          TEXT,
        completed_on TEXT,
        moved        INTEGER NOT NULL DEFAULT 0,  -- a person moved this meeting in Outlook
        updated_at   TEXT NOT NULL
    );
    CREATE INDEX items_student ON items(student_id);
    CREATE TABLE cycles (
        student_id TEXT NOT NULL,
        track      TEXT NOT NULL,        -- annual | reeval
        cycle_id   TEXT NOT NULL,
        due_date   TEXT NOT NULL,
        held_on    TEXT,
        opened_at  TEXT NOT NULL,
        PRIMARY KEY (student_id, track, cycle_id)
    );
    CREATE TABLE contacts (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        student_id TEXT NOT NULL,
        at         TEXT NOT NULL,
        method     TEXT NOT NULL,
        with_whom  TEXT NOT NULL,
        outcome    TEXT NOT NULL,
        note       TEXT NOT NULL DEFAULT '',
        source     TEXT NOT NULL,
        source_ref TEXT UNIQUE,          -- e.g. the To Do task key: one log entry per completion
        logged_at  TEXT NOT NULL
    );
    CREATE INDEX contacts_student ON contacts(student_id);
    CREATE TRIGGER contacts_append_only_update BEFORE UPDATE ON contacts
        BEGIN SELECT RAISE(ABORT, 'the contact log is append-only'); END;
    CREATE TRIGGER contacts_append_only_delete BEFORE DELETE ON contacts
        BEGIN SELECT RAISE(ABORT, 'the contact log is append-only'); END;
    CREATE TABLE runs (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at  TEXT NOT NULL,
        finished_at TEXT,
        today       TEXT NOT NULL,
        dry_run     INTEGER NOT NULL,
        exit_code   INTEGER,
        counts      TEXT NOT NULL DEFAULT '{}',
        failures    INTEGER NOT NULL DEFAULT 0,
        duration_s  REAL
    );
    CREATE TABLE ics_sequences (
        uid      TEXT PRIMARY KEY,
        hash     TEXT NOT NULL,
        sequence INTEGER NOT NULL
    );
    CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: the copy of an item left in a former case manager's mailbox is a row of its own with a
    # `moving_from` column (it was a key suffix, '#moved-from:<mailbox>'), and every row names
    # its milestone (it was only the key's last part) so no code takes keys apart.
    """
    CREATE TABLE items_2 (
        key          TEXT NOT NULL,      -- student/cycle/milestone
        moving_from  TEXT NOT NULL DEFAULT '',  -- '' for the item's own row; for the copy left
                                                -- in a former mailbox (being removed), that one
        student_id   TEXT NOT NULL,
        cycle_id     TEXT NOT NULL,
        milestone    TEXT NOT NULL,
        kind         TEXT NOT NULL,      -- event | task | recurring_task | calendar_item
        mailbox      TEXT NOT NULL,
        remote_id    TEXT,
        list_id      TEXT,
        change_key   TEXT,
        hash         TEXT,
        field_hashes TEXT,
        state        TEXT NOT NULL,      -- pending | live | completed | removed_by_person
                                         -- | cancelled | deleted
        intent       TEXT,               -- create | update | cancel | delete while in flight
        start        TEXT,
        end          TEXT,
        completed_on TEXT,
        moved        INTEGER NOT NULL DEFAULT 0,
        updated_at   TEXT NOT NULL,
        PRIMARY KEY (key, moving_from)
    );
    INSERT INTO items_2 (key, moving_from, student_id, cycle_id, milestone, kind, mailbox,
        remote_id, list_id, change_key, hash, field_hashes, state, intent, start, end,
        completed_on, moved, updated_at)
    SELECT
        CASE WHEN instr(key, '#moved-from:') > 0
            THEN substr(key, 1, instr(key, '#moved-from:') - 1) ELSE key END,
        CASE WHEN instr(key, '#moved-from:') > 0
            THEN substr(key, instr(key, '#moved-from:') + length('#moved-from:')) ELSE '' END,
        student_id, cycle_id, '', kind, mailbox, remote_id, list_id, change_key, hash,
        field_hashes, state, intent, start, end, completed_on, moved, updated_at
    FROM items;
    UPDATE items_2 SET milestone = substr(key, length(student_id) + length(cycle_id) + 3);
    DROP TABLE items;
    ALTER TABLE items_2 RENAME TO items;
    CREATE INDEX items_student ON items(student_id);
    """,
    _contact_entry_ids,
    # 4: the delay log (SPEC §3.3) and the meeting-request log (SPEC §3.6), append-only and
    # journaled like the contact log; each row carries its journal entry id from the start.
    """
    CREATE TABLE delays (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        student_id   TEXT NOT NULL,
        logged_on    TEXT NOT NULL,      -- the day it was logged (--today)
        reason       TEXT NOT NULL,
        meeting_date TEXT,               -- the late meeting's date, when known
        logged_at    TEXT NOT NULL,
        entry_id     TEXT NOT NULL UNIQUE
    );
    CREATE INDEX delays_student ON delays(student_id);
    CREATE TRIGGER delays_append_only_update BEFORE UPDATE ON delays
        BEGIN SELECT RAISE(ABORT, 'the delay log is append-only'); END;
    CREATE TRIGGER delays_append_only_delete BEFORE DELETE ON delays
        BEGIN SELECT RAISE(ABORT, 'the delay log is append-only'); END;
    CREATE TABLE meeting_requests (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        student_id      TEXT NOT NULL,
        type            TEXT NOT NULL,   -- amendment
        requested_on    TEXT NOT NULL,   -- the day it was logged (--today)
        reason          TEXT NOT NULL,
        by_date         TEXT,            -- --by
        notice_waived   INTEGER NOT NULL DEFAULT 0,
        without_meeting INTEGER NOT NULL DEFAULT 0,
        requested_by    TEXT,            -- parent | teacher | case_manager | lea | student | other
        logged_at       TEXT NOT NULL,
        entry_id        TEXT NOT NULL UNIQUE
    );
    CREATE INDEX meeting_requests_student ON meeting_requests(student_id);
    CREATE TRIGGER meeting_requests_append_only_update BEFORE UPDATE ON meeting_requests
        BEGIN SELECT RAISE(ABORT, 'the meeting-request log is append-only'); END;
    CREATE TRIGGER meeting_requests_append_only_delete BEFORE DELETE ON meeting_requests
        BEGIN SELECT RAISE(ABORT, 'the meeting-request log is append-only'); END;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def apply(db: sqlite3.Connection, index: int) -> None:
    """Apply migration `index` (from version index to index + 1) inside the caller's
    transaction, and record the new version."""
    step = MIGRATIONS[index]
    if isinstance(step, str):
        for statement in step.split(";\n"):
            if statement.strip():
                db.execute(statement)
    else:
        step(db)
    db.execute(f"PRAGMA user_version = {index + 1}")

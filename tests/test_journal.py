"""The legal logs' journal and the state backups (issue 8 item 4): records outlive the state."""

from __future__ import annotations

import datetime as dt
import sqlite3
import stat
from pathlib import Path

from iepsched.core.model import Contact
from iepsched.state.backup import backups, take_backup
from iepsched.state.journal import (
    Entry,
    Journal,
    contact_entry,
    contact_of,
    journal_path,
    missing_from,
)

TZ = dt.timezone(dt.timedelta(hours=-6))
NOW = dt.datetime(2026, 11, 30, 16, 0, tzinfo=TZ)


def contact(n: int, method: str = "phone") -> Contact:
    return Contact(
        student_id=f"S{1000 + n}",
        at=dt.datetime(2026, 11, n, 15, 45, tzinfo=TZ),
        method=method,
        with_whom="Renata Thornbury",
        outcome="reached",
        note=f"note {n}, with a comma\nand a line",
        source="cli",
    )


def test_journal_sits_beside_the_state_file(tmp_path: Path) -> None:
    """The journal's name derives from the state file's, in the same folder."""
    assert journal_path(tmp_path / "iepsched.sqlite") == tmp_path / "iepsched.legal-log.jsonl"


def test_appended_contacts_read_back_exactly_and_in_order(tmp_path: Path) -> None:
    """Every field of every contact, the note included, comes back in the order logged."""
    journal = Journal(tmp_path / "j.jsonl")
    written = [contact(1), contact(2, "email"), contact(3, "letter")]
    for c in written:
        journal.append(contact_entry(c), logged_at=NOW)
    entries, problems = journal.read()
    assert problems == []
    assert [contact_of(e) for e in entries] == written
    assert [e.line for e in entries] == [1, 2, 3]


def test_journal_file_is_private(tmp_path: Path) -> None:
    """The journal holds parents' names: mode 0600 from its first byte."""
    path = tmp_path / "j.jsonl"
    Journal(path).append(contact_entry(contact(1)), logged_at=NOW)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_edited_line_is_found_and_named(tmp_path: Path) -> None:
    """Changing an earlier entry breaks the checksum chain at the next line, which is named."""
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    for n in (1, 2, 3):
        journal.append(contact_entry(contact(n)), logged_at=NOW)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace("phone", "email")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    entries, problems = journal.read()
    assert len(entries) == 3
    assert [p.where for p in problems] == [f"{path} line 2"]
    assert "changed or removed" in problems[0].message


def test_a_removed_line_is_found(tmp_path: Path) -> None:
    """Deleting an entry from the middle is detected at the line that followed it."""
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    for n in (1, 2, 3):
        journal.append(contact_entry(contact(n)), logged_at=NOW)
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text(lines[0] + "\n" + lines[2] + "\n", encoding="utf-8")
    _, problems = journal.read()
    assert [p.where for p in problems] == [f"{path} line 2"]


def test_a_line_cut_by_a_crash_is_skipped_and_the_next_append_starts_clean(
    tmp_path: Path,
) -> None:
    """A torn last line is reported, and appending after it still gives readable entries."""
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    journal.append(contact_entry(contact(1)), logged_at=NOW)
    with path.open("ab") as fh:
        fh.write(b'{"v": 1, "log": "contact", "fie')
    journal.append(contact_entry(contact(2)), logged_at=NOW)
    entries, problems = journal.read()
    assert [contact_of(e).student_id for e in entries] == ["S1001", "S1002"]
    assert [p.where for p in problems] == [f"{path} line 2"]
    assert "unreadable" in problems[0].message


def test_entry_id_is_content_based() -> None:
    """The same contact gives the same id (a retried read-back is one entry); another differs."""
    assert contact_entry(contact(1)).entry_id == contact_entry(contact(1)).entry_id
    assert contact_entry(contact(1)).entry_id != contact_entry(contact(2)).entry_id
    with_ref = contact_entry(contact(1), source_ref="task-1")
    assert with_ref.entry_id != contact_entry(contact(1)).entry_id


def test_missing_from_lists_what_the_state_lost_once_each() -> None:
    """Entries the state lacks come back in journal order; duplicates in the journal once."""
    a, b, c = (contact_entry(contact(n)) for n in (1, 2, 3))
    assert missing_from([a, b, b, c], {a.entry_id}) == [b, c]
    assert missing_from([a], {a.entry_id}) == []


def test_other_logs_are_kept_too(tmp_path: Path) -> None:
    """Delay and meeting-request entries are journaled like contacts."""
    journal = Journal(tmp_path / "j.jsonl")
    journal.append(Entry("delay", {"student_id": "S1001", "reason": "parent ill"}), logged_at=NOW)
    entries, problems = journal.read()
    assert problems == []
    assert entries[0].log == "delay"
    assert entries[0].fields["reason"] == "parent ill"


def _db(path: Path, rows: int) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    db.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(rows)])
    db.commit()
    return db


def test_backup_is_a_consistent_private_copy(tmp_path: Path) -> None:
    """The day's backup holds the data, is 0600 in a 0700 folder, and is taken once a day."""
    state = tmp_path / "iepsched.sqlite"
    db = _db(state, 5)
    first = take_backup(db, state, day=dt.date(2026, 11, 30))
    assert first is not None
    assert take_backup(db, state, day=dt.date(2026, 11, 30)) is None
    copy = sqlite3.connect(first)
    assert copy.execute("SELECT count(*) FROM t").fetchone()[0] == 5
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert stat.S_IMODE(first.parent.stat().st_mode) == 0o700


def test_backups_rotate_keeping_the_newest(tmp_path: Path) -> None:
    """Only the newest `keep` backups remain, newest first."""
    state = tmp_path / "iepsched.sqlite"
    db = _db(state, 1)
    for day in range(1, 6):
        take_backup(db, state, day=dt.date(2026, 12, day), keep=3)
    assert [p.name for p in backups(state)] == [
        "iepsched-2026-12-05.sqlite",
        "iepsched-2026-12-04.sqlite",
        "iepsched-2026-12-03.sqlite",
    ]

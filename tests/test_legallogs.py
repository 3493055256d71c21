"""The contact log outlives the state file: every entry is journaled before SQLite records it,
and opening the state takes back what it lost (issue 8 item 4)."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from iepsched.core.errors import UserError
from iepsched.core.model import Contact
from iepsched.state import schema as schema_module
from iepsched.state.journal import Journal, journal_path
from iepsched.state.store import StateStore

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 30)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "iepsched.sqlite"


def contact(n: int, *, source: str = "cli") -> Contact:
    return Contact(
        student_id=f"S{n}",
        at=dt.datetime(2026, 11, 20, 12, n, tzinfo=dt.UTC),
        method="phone",
        with_whom="Renata Thornbury",
        outcome="reached",
        note=f"note {n}",
        source=source,
    )


def lose(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def test_contacts_come_back_after_the_state_file_is_deleted(path: Path) -> None:
    """Logged and read-back contacts are all there again when a new state file is opened."""
    with StateStore(path, now=NOW) as s:
        s.log_contact(contact(1))
        s.log_contact(contact(2, source="todo"), source_ref="S2/c/parent_contact_1#phone")
        before = s.contacts()
    lose(path)
    with StateStore(path, now=NOW) as s:
        assert s.contacts() == before
        assert s.journal_check.restored == 2
        # A read-back seen again after the loss is still logged once.
        assert not s.log_contact(
            contact(2, source="todo"), source_ref="S2/c/parent_contact_1#phone"
        )
    with StateStore(path, now=NOW) as s:
        assert s.contacts() == before
        assert s.journal_check.restored == 0


def test_contacts_come_back_after_the_state_file_is_emptied(path: Path) -> None:
    """A state file cut to zero bytes opens empty and takes the log back from the journal."""
    with StateStore(path, now=NOW) as s:
        s.log_contact(contact(1))
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"")
    with StateStore(path, now=NOW) as s:
        assert s.contacts() == [contact(1)]


def test_contacts_logged_after_a_backup_come_back_when_it_is_restored(path: Path) -> None:
    """A state restored from an older backup gets the contacts logged since from the journal."""
    with StateStore(path, now=NOW) as s:
        s.log_contact(contact(1))
        backup = s.backup(DAY)
        s.log_contact(contact(2))
        s.log_contact(contact(3))
        before = s.contacts()
    assert backup is not None
    lose(path)
    shutil.copy(backup, path)
    with StateStore(path, now=NOW) as s:
        assert s.contacts() == before
        assert s.journal_check.restored == 2


def test_restore_puts_a_backup_back_and_keeps_every_contact(path: Path) -> None:
    """`restore` replaces the items with the backup's and keeps the contacts logged since."""
    with StateStore(path, now=NOW) as s:
        s.set_meta("probe", "old")
        s.log_contact(contact(1))
        backup = s.backup(DAY)
        s.set_meta("probe", "new")
        s.log_contact(contact(2))
        assert backup is not None
        s.restore(backup)
        assert s.get_meta("probe") == "old"
        assert s.contacts() == [contact(1), contact(2)]


def test_the_journal_is_written_before_the_state(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between the journal and the SQLite transaction loses nothing: the next open
    takes the entry back."""
    with StateStore(path, now=NOW) as s:

        def crash(*args: object) -> bool:
            raise RuntimeError("killed")

        monkeypatch.setattr("iepsched.state.store.insert_contact", crash)
        with pytest.raises(RuntimeError):
            s.log_contact(contact(1))
        monkeypatch.undo()
        assert s.contacts() == []
    with StateStore(path, now=NOW) as s:
        assert s.contacts() == [contact(1)]


def test_an_unwritable_journal_stops_the_logging(path: Path, tmp_path: Path) -> None:
    """If the journal cannot be written, the contact is not logged at all (one copy is not
    enough) and the message says what to check."""
    with StateStore(path, now=NOW) as s:
        s.journal = Journal(tmp_path / "missing-folder" / "j.jsonl")
        with pytest.raises(UserError, match="cannot be written"):
            s.log_contact(contact(1))
        assert s.contacts() == []


def test_same_contact_twice_in_one_tick_stays_two_entries(path: Path) -> None:
    """Two identical manual contacts under a frozen clock are two entries, also after a loss."""
    with StateStore(path, now=NOW) as s:
        assert s.log_contact(contact(1))
        assert s.log_contact(contact(1))
    lose(path)
    with StateStore(path, now=NOW) as s:
        assert s.contacts() == [contact(1), contact(1)]


def test_a_damaged_journal_is_a_warning_not_a_failure(path: Path) -> None:
    """A broken line is reported with its line number; the state still opens with its log."""
    with StateStore(path, now=NOW) as s:
        s.log_contact(contact(1))
        s.log_contact(contact(2))
    journal = journal_path(path)
    lines = journal.read_text(encoding="utf-8").splitlines()
    journal.write_text(lines[0] + "\n{not json\n" + lines[1] + "\n", encoding="utf-8")
    with StateStore(path, now=NOW) as s:
        assert len(s.contacts()) == 2
        wheres = [p.where for p in s.journal_check.problems]
        assert f"{journal} line 2" in wheres
        assert all(p.severity == "warning" for p in s.journal_check.problems)


def test_a_removed_journal_is_written_again_from_the_state(path: Path) -> None:
    """Contacts the journal lacks (it was removed) are copied back into it on open."""
    with StateStore(path, now=NOW) as s:
        s.log_contact(contact(1))
    journal_path(path).unlink()
    with StateStore(path, now=NOW) as s:
        assert s.journal_check.copied == 1
    lose(path)
    with StateStore(path, now=NOW) as s:
        assert s.contacts() == [contact(1)]


def _version_2_file(path: Path) -> None:
    """A state file as schema 2 wrote it, with two contacts and no journal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    for step in schema_module.MIGRATIONS[:2]:
        assert isinstance(step, str)
        db.executescript(step)
    db.executemany(
        "INSERT INTO contacts (student_id, at, method, with_whom, outcome, note, source, "
        "source_ref, logged_at) VALUES (?, ?, 'phone', 'P', 'reached', '', ?, ?, ?)",
        [
            ("S1", "2026-11-20T12:00:00+00:00", "cli", None, "2026-11-20T12:00:01+00:00"),
            ("S1", "2026-11-20T12:00:00+00:00", "cli", None, "2026-11-20T12:00:01+00:00"),
            ("S2", "2026-11-21T12:00:00+00:00", "todo", "S2/c/pc#phone", "2026-11-21T00:00:00"),
        ],
    )
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()


def test_schema_3_gives_old_contacts_ids_and_journals_them(path: Path) -> None:
    """Contacts logged before the journal get entry ids (identical rows kept apart), are
    journaled on open, survive a loss, and the log stays append-only."""
    _version_2_file(path)
    with StateStore(path, now=NOW) as s:
        assert s.db.execute("PRAGMA user_version").fetchone()[0] == schema_module.SCHEMA_VERSION
        ids = [r[0] for r in s.db.execute("SELECT entry_id FROM contacts")]
        assert len(set(ids)) == 3 and all(ids)
        assert s.journal_check.copied == 3
        before = s.contacts()
        for statement in ("UPDATE contacts SET note = 'x'", "DELETE FROM contacts"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                s.db.execute(statement)
    lose(path)
    with StateStore(path, now=NOW) as s:
        assert s.contacts() == before


def test_contact_list_reads_the_journal_when_the_state_is_gone(tmp_path: Path) -> None:
    """`contact list` with the state file lost still lists every journaled contact."""
    from iepsched.cli import main
    from iepsched.inputs.config import load_config

    sample = Path(__file__).resolve().parent.parent / "config"
    shutil.copytree(
        sample, tmp_path / "config", ignore=shutil.ignore_patterns("state", "*.sqlite*")
    )
    toml = tmp_path / "config" / "iepsched.toml"
    state = load_config(toml).state_path
    with StateStore(state, now=NOW) as s:
        s.log_contact(contact(1))
    lose(state)
    journal = journal_path(state)
    journal.write_text(journal.read_text(encoding="utf-8") + "{torn", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(toml), "contact", "list", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "note 1" in result.stdout
    assert "warning:" in result.stderr and "line 2" in result.stderr


def test_a_backup_that_cannot_be_taken_is_a_clear_stop(path: Path) -> None:
    """When the backups folder cannot be written, the message says so (no traceback)."""
    with StateStore(path, now=NOW) as s:
        (path.parent / "backups").write_text("not a folder", encoding="utf-8")
        with pytest.raises(UserError, match="could not be backed up"):
            s.backup(DAY)

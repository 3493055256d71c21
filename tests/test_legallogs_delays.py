"""The delay and meeting-request logs are kept like the contact log (SPEC §5): append-only,
journaled before SQLite, and taken back from the journal when the state file is lost, emptied
or restored; schema 4 adds them to an existing state file."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pytest

from iepsched.core.errors import UserError
from iepsched.core.model import Contact, Delay, MeetingRequest
from iepsched.state import schema as schema_module
from iepsched.state.journal import Entry, Journal, delay_of, journal_path, request_of
from iepsched.state.store import StateStore

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 30)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "iepsched.sqlite"


def delay(n: int, *, meeting: dt.date | None = None) -> Delay:
    return Delay(f"S{n}", DAY, f"reason {n}, with a comma", meeting)


def request(n: int, **kw: object) -> MeetingRequest:
    fields: dict[str, object] = {
        "student_id": f"S{n}",
        "type": "amendment",
        "requested_on": DAY,
        "reason": f"reason {n}",
    }
    fields.update(kw)
    return MeetingRequest(**fields)  # type: ignore[arg-type]


def lose(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def fill(s: StateStore) -> tuple[list[Delay], list[MeetingRequest]]:
    """Log two delays and two requests (every field used once) and return the logs."""
    s.log_delay(delay(1))
    s.log_delay(delay(2, meeting=dt.date(2026, 12, 14)))
    s.log_meeting_request(request(1))
    s.log_meeting_request(
        request(
            2,
            by=dt.date(2026, 12, 18),
            notice_waived=True,
            requested_by="parent",
        )
    )
    s.log_meeting_request(request(3, without_meeting=True, requested_by="lea"))
    return s.delays(), s.meeting_requests()


def test_logged_entries_read_back_with_their_entry_ids(path: Path) -> None:
    """`log_delay` and `log_meeting_request` return what `delays()` and `meeting_requests()`
    then list, each with its journal entry id; a student filter keeps that student's."""
    with StateStore(path, now=NOW) as s:
        logged = s.log_delay(delay(1))
        asked = s.log_meeting_request(request(1, by=dt.date(2026, 12, 18)))
        s.log_delay(delay(2))
        assert len(logged.entry_id) == 32 and len(asked.entry_id) == 32
        assert s.delays("S1") == [logged]
        assert s.meeting_requests("S1") == [asked]
        assert [d.student_id for d in s.delays()] == ["S1", "S2"]
        assert s.meeting_requests("S2") == []


def test_delays_and_requests_come_back_after_the_state_file_is_deleted(path: Path) -> None:
    """Every field of every entry is there again when a new state file is opened."""
    with StateStore(path, now=NOW) as s:
        delays, requests = fill(s)
    lose(path)
    with StateStore(path, now=NOW) as s:
        assert s.delays() == delays
        assert s.meeting_requests() == requests
        assert s.journal_check.restored == 5
        assert s.journal_check.restored_by_log == {"delay": 2, "meeting_request": 3}
    with StateStore(path, now=NOW) as s:
        assert s.journal_check.restored == 0
        assert s.delays() == delays


def test_they_come_back_after_the_state_file_is_emptied(path: Path) -> None:
    """A state file cut to zero bytes takes both logs back from the journal."""
    with StateStore(path, now=NOW) as s:
        delays, requests = fill(s)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"")
    with StateStore(path, now=NOW) as s:
        assert (s.delays(), s.meeting_requests()) == (delays, requests)


def test_entries_logged_after_a_backup_come_back_on_restore(path: Path) -> None:
    """`restore` of an older backup keeps the delays and requests logged since."""
    with StateStore(path, now=NOW) as s:
        s.log_delay(delay(1))
        backup = s.backup(DAY)
        s.log_delay(delay(2))
        s.log_meeting_request(request(1))
        before = (s.delays(), s.meeting_requests())
        assert backup is not None
        s.restore(backup)
        assert (s.delays(), s.meeting_requests()) == before


@pytest.mark.parametrize("table", ["delays", "meeting_requests"])
def test_the_logs_are_append_only(path: Path, table: str) -> None:
    """SQLite refuses to change or remove a delay or a request."""
    with StateStore(path, now=NOW) as s:
        fill(s)
        for statement in (f"UPDATE {table} SET reason = 'x'", f"DELETE FROM {table}"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                s.db.execute(statement)


def test_the_journal_is_written_before_the_state(path: Path) -> None:
    """A crash after the journal write and before SQLite loses nothing: the next open takes
    the entry back (simulated by a journal entry the state never got)."""
    from iepsched.state.journal import delay_entry, request_entry

    with StateStore(path, now=NOW) as s:
        s.journal.append(delay_entry(delay(1), logged_at=NOW.isoformat()), logged_at=NOW)
        s.journal.append(request_entry(request(1), logged_at=NOW.isoformat()), logged_at=NOW)
    with StateStore(path, now=NOW) as s:
        assert [d.reason for d in s.delays()] == ["reason 1, with a comma"]
        assert [r.reason for r in s.meeting_requests()] == ["reason 1"]


def test_an_unwritable_journal_stops_the_logging(path: Path, tmp_path: Path) -> None:
    """If the journal cannot be written, neither a delay nor a request is logged."""
    with StateStore(path, now=NOW) as s:
        s.journal = Journal(tmp_path / "missing-folder" / "j.jsonl")
        with pytest.raises(UserError, match="cannot be written"):
            s.log_delay(delay(1))
        with pytest.raises(UserError, match="cannot be written"):
            s.log_meeting_request(request(1))
        assert s.delays() == [] and s.meeting_requests() == []


def test_same_entry_twice_in_one_tick_stays_two_entries(path: Path) -> None:
    """Two identical delays under a frozen clock are two entries, also after a loss."""
    with StateStore(path, now=NOW) as s:
        first, second = s.log_delay(delay(1)), s.log_delay(delay(1))
        assert first.entry_id != second.entry_id
    lose(path)
    with StateStore(path, now=NOW) as s:
        assert len(s.delays()) == 2


def test_an_unreadable_journal_entry_is_a_warning(path: Path) -> None:
    """A delay entry missing its reason is skipped with a warning naming its line."""
    with StateStore(path, now=NOW) as s:
        s.journal.append(Entry("delay", {"student_id": "S1", "logged_on": "x"}), logged_at=NOW)
        s.log_delay(delay(2))
    lose(path)
    with StateStore(path, now=NOW) as s:
        assert [d.student_id for d in s.delays()] == ["S2"]
        problems = [str(p) for p in s.journal_check.problems]
        assert any("line 1" in p and "not a readable delay" in p for p in problems)


def test_rows_missing_from_the_journal_are_written_back(path: Path) -> None:
    """A removed journal gets the state's delays and requests again on open."""
    with StateStore(path, now=NOW) as s:
        delays, requests = fill(s)
    journal_path(path).unlink()
    with StateStore(path, now=NOW) as s:
        assert s.journal_check.copied == 5
    lose(path)
    with StateStore(path, now=NOW) as s:
        assert (s.delays(), s.meeting_requests()) == (delays, requests)


def test_journal_entries_read_back_whole() -> None:
    """delay_of / request_of give back the value logged, entry id included."""
    from iepsched.state.journal import delay_entry, request_entry

    d = delay(1, meeting=dt.date(2026, 12, 14))
    e = delay_entry(d, logged_at="t")
    assert delay_of(e) == Delay(d.student_id, d.logged_on, d.reason, d.meeting_date, e.entry_id)
    r = request(1, by=dt.date(2026, 12, 18), notice_waived=True, requested_by="parent")
    e = request_entry(r, logged_at="t")
    assert request_of(e).entry_id == e.entry_id
    assert request_of(e).by == r.by and request_of(e).notice_waived
    with pytest.raises(ValueError, match="neither true nor false"):
        request_of(Entry("meeting_request", {**e.fields, "notice_waived": "maybe"}))


def _as_version_3(path: Path) -> None:
    """Turn a state file into what schema 3 wrote: no delay or request tables."""
    db = sqlite3.connect(path)
    db.executescript("DROP TABLE delays; DROP TABLE meeting_requests; PRAGMA user_version = 3;")
    db.close()


def test_schema_4_adds_the_logs_to_an_existing_state_file(path: Path) -> None:
    """A schema-3 state file keeps its contacts, gains both append-only logs, and records
    version 4 in user_version."""
    contact = Contact("S1", NOW, "phone", "P", "reached")
    with StateStore(path, now=NOW) as s:
        s.log_contact(contact)
    _as_version_3(path)
    with StateStore(path, now=NOW) as s:
        assert s.db.execute("PRAGMA user_version").fetchone()[0] == schema_module.SCHEMA_VERSION
        assert s.contacts() == [contact]
        assert s.delays() == [] and s.meeting_requests() == []
        s.log_delay(delay(1))
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            s.db.execute("DELETE FROM delays")


def test_a_schema_3_backup_restored_takes_the_logs_back(path: Path, tmp_path: Path) -> None:
    """Restoring a backup older than the delay log migrates it and refills both logs."""
    with StateStore(path, now=NOW) as s:
        old = s.backup(DAY)
        assert old is not None
        delays, requests = fill(s)
        v3 = tmp_path / "v3.sqlite"
        shutil.copy(old, v3)
        _as_version_3(v3)
        s.restore(v3)
        assert (s.delays(), s.meeting_requests()) == (delays, requests)

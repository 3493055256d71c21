"""The SQLite state store: migrations, file modes, the run lock, items, cycles, contacts, runs."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from iepsched.core.errors import ExitCode, LockedError, UserError
from iepsched.core.model import Contact, Cycle, ItemState
from iepsched.state import schema as schema_module
from iepsched.state.store import SCHEMA_VERSION, StateStore

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "iepsched.sqlite"


@pytest.fixture
def store(path: Path) -> Iterator[StateStore]:
    with StateStore(path, now=NOW) as s:
        yield s


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def contact(method: str = "phone", *, student: str = "S1", source: str = "todo") -> Contact:
    return Contact(
        student_id=student,
        at=dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC),
        method=method,
        with_whom="parent/guardian",
        outcome="reached",
        source=source,
    )


def item(key: str = "S1/2027-01-20/meeting", **kw: object) -> ItemState:
    sid, cycle, milestone = key.split("/")
    base: dict[str, object] = {
        "key": key,
        "student_id": sid,
        "cycle_id": cycle,
        "milestone": milestone,
        "kind": "event",
        "mailbox": "cm@example.org",
        "state": "pending",
    }
    base.update(kw)
    return ItemState(**base)  # type: ignore[arg-type]


# -- migrations -----------------------------------------------------------------------------


def test_new_file_is_migrated_and_version_recorded(store: StateStore, path: Path) -> None:
    """A new state file ends at the current schema version, recorded in user_version."""
    assert len(schema_module.MIGRATIONS) == SCHEMA_VERSION
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"items", "cycles", "contacts", "runs", "ics_sequences", "meta"} <= tables


def test_reopening_does_not_migrate_again(path: Path) -> None:
    """Opening an up-to-date file applies no migration (would fail: tables exist) and keeps data."""
    with StateStore(path) as s:
        s.set_meta("probe", "kept")
    with StateStore(path) as s:
        assert s.get_meta("probe") == "kept"
        assert s.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_failed_migration_rolls_back_with_its_version(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A migration that fails leaves neither its tables nor its version number behind."""
    StateStore(path).close()
    broken = "CREATE TABLE half_done (x TEXT);\nTHIS IS NOT SQL"
    monkeypatch.setattr(schema_module, "MIGRATIONS", (*schema_module.MIGRATIONS, broken))
    monkeypatch.setattr(schema_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(sqlite3.OperationalError):
        StateStore(path)
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        assert "half_done" not in names
    finally:
        db.close()


def test_newer_schema_is_refused(path: Path) -> None:
    """A file written by a newer iepsched is refused with a message saying to upgrade."""
    StateStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(UserError, match="newer iepsched") as info:
        StateStore(path)
    assert "upgrade iepsched" in str(info.value)
    assert str(path) in str(info.value)


def test_not_a_database_is_a_user_error(path: Path) -> None:
    """A file that is not SQLite gives a UserError naming it, not a traceback."""
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(UserError, match="not an iepsched state file"):
        StateStore(path)


# -- file modes -----------------------------------------------------------------------------


def test_new_state_file_and_sidecars_are_0600(path: Path) -> None:
    """The state, its -wal/-shm and lock files are 0600 even under a permissive umask."""
    old = os.umask(0)
    try:
        with StateStore(path) as s:
            s.lock()
            s.set_meta("x", "y")  # make sure the WAL has been written
            sidecars = [Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", ".lock")]
            for p in [path, *sidecars]:
                assert p.exists(), p
                assert mode(p) == 0o600, (p, oct(mode(p)))
    finally:
        os.umask(old)


def test_existing_state_file_is_tightened_to_0600(path: Path) -> None:
    """A state file left world-readable (copied, restored) is made 0600 on open."""
    StateStore(path).close()
    for suffix in ("", "-wal", "-shm"):
        p = Path(f"{path}{suffix}")
        if p.exists():
            os.chmod(p, 0o644)
    with StateStore(path):
        for suffix in ("", "-wal", "-shm"):
            p = Path(f"{path}{suffix}")
            if p.exists():
                assert mode(p) == 0o600, p


# -- the run lock ---------------------------------------------------------------------------


def test_second_store_on_same_file_is_locked_out(path: Path) -> None:
    """While one store holds the lock, a second one on the same file gets LockedError at once."""
    with StateStore(path) as first, StateStore(path) as second:
        first.lock()
        with pytest.raises(LockedError) as info:
            second.lock()
        message = str(info.value)
        assert "another iepsched sync is running" in message
        assert str(path) in message
        first.unlock()
        second.lock()  # released: the next run proceeds
        second.unlock()


def test_lock_is_released_on_close(path: Path) -> None:
    """Closing a store (end of a run, or an exception) releases the lock for the next one."""
    first = StateStore(path)
    first.lock()
    with StateStore(path) as second:
        with pytest.raises(LockedError):
            second.lock()
        first.close()
        second.lock()
        with StateStore(path) as third, pytest.raises(LockedError):
            third.lock()  # the lock moved to `second`: it is held again, not just gone


def test_locked_out_command_exits_2_with_the_message(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A command locked out prints the reason without a traceback and exits 2 (a UserError)."""
    from iepsched.cli.base import handle_errors

    @handle_errors
    def second_sync() -> None:
        with StateStore(path) as s:
            s.lock()

    with StateStore(path) as first:
        first.lock()
        with pytest.raises(SystemExit) as info:
            second_sync()
    assert info.value.code == ExitCode.USAGE == 2
    err = capsys.readouterr().err
    assert "another iepsched sync is running" in err and "Traceback" not in err


_HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from iepsched.state.store import StateStore
    s = StateStore(Path(sys.argv[1]))
    s.lock()
    print("locked", flush=True)
    sys.stdin.readline()
    s.close()
    print("released", flush=True)
    """
)

_TAKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from iepsched.core.errors import LockedError
    from iepsched.state.store import StateStore
    with StateStore(Path(sys.argv[1])) as s:
        try:
            s.lock()
        except LockedError as exc:
            print(exc)
            sys.exit(7)
    """
)


def test_lock_holds_across_processes(path: Path) -> None:
    """A sync in another process holding the lock keeps this one out, and vice versa."""
    StateStore(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "locked"
        with StateStore(path) as s, pytest.raises(LockedError, match="another iepsched sync"):
            s.lock()
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
    finally:
        holder.wait(timeout=20)
    with StateStore(path) as s:
        s.lock()
        taker = subprocess.run(
            [sys.executable, "-c", _TAKER, str(path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert taker.returncode == 7, taker.stderr
        assert "another iepsched sync is running" in taker.stdout


# -- items and cycles -----------------------------------------------------------------------


def test_intent_then_save_round_trips_every_field(store: StateStore) -> None:
    """An item recorded as intent, then confirmed, reads back with every field intact."""
    start = dt.datetime(2027, 1, 6, 21, 30, tzinfo=dt.UTC)
    pending = item(start=start, end=start + dt.timedelta(hours=1))
    store.record_intents([(pending, "create")])
    got = store.item(pending.key)
    assert got is not None
    assert got.state == "pending" and got.intent == "create"
    live = ItemState(
        key=pending.key,
        student_id="S1",
        cycle_id="2027-01-20",
        milestone="meeting",
        kind="event",
        mailbox="cm@example.org",
        state="live",
        remote_id="AAMk1",
        change_key="ck1",
        hash="h",
        field_hashes={"subject": "a", "body": "b"},
        start=start,
        end=start + dt.timedelta(hours=1),
        completed_on=dt.date(2027, 1, 7),
        moved=True,
    )
    store.save([live])
    assert store.items() == {live.key: live}


def test_intent_on_known_item_keeps_its_remote_ids(store: StateStore) -> None:
    """Recording an update intent does not wipe the remote id or hashes already known."""
    live = item(state="live", remote_id="AAMk1", hash="h1", field_hashes={"subject": "x"})
    store.save([live])
    store.record_intents([(item(state="pending"), "update")])
    got = store.item(live.key)
    assert got is not None
    assert (got.state, got.remote_id, got.hash, got.intent) == ("live", "AAMk1", "h1", "update")
    assert dict(got.field_hashes) == {"subject": "x"}


def test_failed_transaction_rolls_back(store: StateStore) -> None:
    """An exception inside a transaction leaves nothing of it behind."""
    with pytest.raises(RuntimeError), store.transaction() as db:
        db.execute("INSERT INTO meta (name, value) VALUES ('half', 'done')")
        raise RuntimeError("boom")
    assert store.get_meta("half") is None


def test_cycles_are_upserted_and_listed_oldest_first(path: Path) -> None:
    """A cycle's due date and held date update in place; a new cycle is listed after the old."""
    with StateStore(path, now=NOW) as s:
        s.save_cycles([Cycle("S1", "annual", "2027-01-20", dt.date(2027, 1, 20))])
    with StateStore(path, now=NOW + dt.timedelta(days=1)) as s:
        s.save_cycles([Cycle("S1", "annual", "2027-01-20", dt.date(2027, 1, 25))])
        s.save_cycles(
            [Cycle("S1", "annual", "2027-01-20", dt.date(2027, 1, 25), dt.date(2027, 1, 10))]
        )
    with StateStore(path, now=NOW + dt.timedelta(days=60)) as s:
        s.save_cycles([Cycle("S1", "annual", "2028-01-09", dt.date(2028, 1, 9))])
        cycles = s.cycles()
    assert cycles == {
        ("S1", "annual"): [
            Cycle("S1", "annual", "2027-01-20", dt.date(2027, 1, 25), dt.date(2027, 1, 10)),
            Cycle("S1", "annual", "2028-01-09", dt.date(2028, 1, 9)),
        ]
    }


# -- contacts (append-only) -----------------------------------------------------------------


def test_contact_log_is_append_only(store: StateStore) -> None:
    """UPDATE and DELETE on the contact log are refused by triggers, even through raw SQL."""
    store.log_contact(contact())
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("UPDATE contacts SET method = 'email'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.db.execute("DELETE FROM contacts")
    assert [c.method for c in store.contacts()] == ["phone"]


def test_log_contact_is_idempotent_by_source_ref(store: StateStore) -> None:
    """The same completed To Do task read back twice is logged once."""
    ref = "S1/2027-01-20/parent_contact_1#phone"
    assert store.log_contact(contact(), source_ref=ref) is True
    assert store.log_contact(contact(), source_ref=ref) is False
    assert store.log_contact(contact("email"), source_ref=ref.replace("phone", "email")) is True
    assert [c.method for c in store.contacts("S1")] == ["phone", "email"]


def test_contacts_without_source_ref_all_append(store: StateStore) -> None:
    """Manually logged contacts (no source_ref) are never merged: two calls, two entries."""
    assert store.log_contact(contact(source="cli"))
    assert store.log_contact(contact(source="cli"))
    assert len(store.contacts()) == 2


def test_contacts_round_trip_and_filter(store: StateStore) -> None:
    """Contacts read back equal to what was logged, per student, oldest first."""
    late = Contact(
        "S1",
        dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC),
        "email",
        "mother",
        "no_answer",
        "n",
        "cli",
    )
    early = contact()
    other = contact(student="S2")
    for c in (late, early, other):
        store.log_contact(c)
    assert store.contacts("S1") == [early, late]
    assert store.contacts() == [early, other, late]


# -- runs and ICS sequences -----------------------------------------------------------------


def test_runs_are_recorded_newest_first(store: StateStore) -> None:
    """A run is recorded at its start and completed with exit code, counts and duration."""
    first = store.start_run(today=dt.date(2026, 11, 30), dry_run=True)
    second = store.start_run(today=dt.date(2026, 12, 1), dry_run=False)
    store.finish_run(second, exit_code=1, counts={"created": 3}, failures=1, duration_s=0.5)
    runs = store.runs()
    assert [r.id for r in runs] == [second, first]
    newest, oldest = runs
    assert newest.exit_code == 1 and newest.counts == {"created": 3} and newest.failures == 1
    assert newest.finished_at == NOW and newest.duration_s == 0.5 and not newest.dry_run
    assert oldest.dry_run and oldest.finished_at is None and oldest.exit_code is None
    assert oldest.today == dt.date(2026, 11, 30)
    assert len(store.runs(limit=1)) == 1


def test_ics_sequence_is_stable_and_increments_on_change(path: Path) -> None:
    """SEQUENCE stays for unchanged content and increases by one per change, across runs."""
    with StateStore(path) as s:
        assert s.ics_sequence("uid-1", "h1") == 0
        assert s.ics_sequence("uid-1", "h1") == 0
        assert s.ics_sequence("uid-1", "h2") == 1
        assert s.ics_sequence("uid-2", "h1") == 0
    with StateStore(path) as s:
        assert s.ics_sequence("uid-1", "h2") == 1
        assert s.ics_sequence("uid-1", "h1") == 2  # going back is still a change


# -- schema 2: old copies of moved items and milestones are columns, values are validated ----


def _version_1_file(path: Path, rows: list[tuple[str, str, str, str, str]]) -> None:
    """A state file as schema 1 wrote it, with items (key, student, cycle, mailbox, state)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    first = schema_module.MIGRATIONS[0]
    assert isinstance(first, str)
    db.executescript(first)
    db.executemany(
        "INSERT INTO items (key, student_id, cycle_id, kind, mailbox, remote_id, state, "
        "updated_at) VALUES (?, ?, ?, 'event', ?, 'AAMk', ?, '2026-11-01T00:00:00+00:00')",
        rows,
    )
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()


def test_schema_1_moved_from_key_becomes_a_moving_from_row(path: Path) -> None:
    """A schema-1 row keyed 'key#moved-from:mailbox' becomes the key's old copy in that mailbox."""
    key = "S1/2027-01-20/meeting"
    _version_1_file(
        path,
        [
            (key, "S1", "2027-01-20", "new@example.org", "deleted"),
            (f"{key}#moved-from:old@example.org", "S1", "2027-01-20", "old@example.org", "live"),
            ("S/2/2027-02-01/parent_contact_1", "S/2", "2027-02-01", "cm@example.org", "live"),
        ],
    )
    with StateStore(path) as s:
        assert s.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        rows = s.items()
        own = s.item(key)
    assert own is not None and (own.state, own.moving_from, own.milestone) == (
        "deleted",
        None,
        "meeting",
    )
    (old,) = [st for st in rows.values() if st.moving_from is not None]
    assert (old.key, old.moving_from, old.mailbox, old.state, old.milestone) == (
        key,
        "old@example.org",
        "old@example.org",
        "live",
        "meeting",
    )
    assert rows[old.row_id] == old and rows[key] == own
    other = rows["S/2/2027-02-01/parent_contact_1"]
    assert (other.student_id, other.milestone) == ("S/2", "parent_contact_1")


def test_old_copy_and_own_row_of_one_key_are_kept_apart(store: StateStore) -> None:
    """The item's own row and its copy in a former mailbox are two rows; intents stay on each."""
    own = item(state="live", mailbox="new@example.org", remote_id="new")
    old = item(
        state="live", mailbox="old@example.org", remote_id="old", moving_from="old@example.org"
    )
    store.save([own, old])
    store.record_intents([(old, "cancel")])
    got = store.items()
    assert got[own.row_id] == own and own.row_id != old.row_id
    assert (got[old.row_id].intent, got[old.row_id].remote_id) == ("cancel", "old")
    assert store.item(own.key) == own


@pytest.mark.parametrize(
    ("column", "value"), [("kind", "meeting"), ("state", "gone"), ("intent", "destroy")]
)
def test_unknown_value_in_the_state_file_is_a_clear_error(
    store: StateStore, column: str, value: str
) -> None:
    """An item kind, state or intent iepsched does not know is refused, naming row and value."""
    store.save([item(state="live")])
    store.db.execute(f"UPDATE items SET {column} = ?", (value,))
    with pytest.raises(UserError, match=f"{column} '{value}'") as info:
        store.items()
    assert "S1/2027-01-20/meeting" in str(info.value)


def test_unknown_cycle_track_is_a_clear_error(store: StateStore) -> None:
    """A cycle track other than annual/reeval in the state file is refused when read."""
    store.save_cycles([Cycle("S1", "annual", "2027-01-20", dt.date(2027, 1, 20))])
    store.db.execute("UPDATE cycles SET track = 'biennial'")
    with pytest.raises(UserError, match="track 'biennial'"):
        store.cycles()

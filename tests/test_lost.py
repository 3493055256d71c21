"""Mass loss and a lost state (SPEC §5 "Safety"): a wiped mailbox stops the run instead of being
recorded as people's deletions, and a lost state file is noticed and recovered without a
duplicate, a needless write or a lost contact. Against MemoryRemote and the Graph sandbox."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from test_sync import SUBJECT, TODAY, TZ, TZ_NAME, World, night
from test_sync import world as world  # the memory + sandbox fixture

from iepsched.core.errors import ExitCode
from iepsched.core.model import Contact
from iepsched.m365.memory import MemoryRemote
from iepsched.state.journal import journal_path
from iepsched.state.store import StateStore


def _busiest_mailbox(world: World) -> str:
    counts: dict[str, int] = {}
    for st in world.state().values():
        if st.state == "live":
            counts[st.mailbox] = counts.get(st.mailbox, 0) + 1
    return max(sorted(counts), key=lambda mb: counts[mb])


def _wipe(world: World, mailbox: str) -> int:
    """Delete every live iepsched item from one mailbox, as a wipe through Graph would."""
    gone = [st.key for st in world.state().values() if st.state == "live" and st.mailbox == mailbox]
    for key in gone:
        world.delete(key)
    return len(gone)


def test_a_wiped_mailbox_stops_the_run_and_records_nothing(world: World) -> None:
    """All of a mailbox's items vanishing is exit 3 naming the mailbox and the counts; no item
    is marked removed_by_person and nothing is written."""
    world.sync()
    mailbox = _busiest_mailbox(world)
    gone = _wipe(world, mailbox)
    before = world.state()
    report = world.sync()
    assert report.exit_code == ExitCode.SAFETY
    assert report.safety_stop
    (message,) = report.failures
    assert mailbox in message
    assert f"knows {gone} live iepsched items there, Microsoft 365 shows 0" in message
    assert "--accept-loss" in message
    assert world.last_attempts == 0
    assert world.state() == before
    assert "removed_by_person" not in {st.state for st in world.state().values()}


def test_accept_loss_creates_the_vanished_items_again(world: World) -> None:
    """--accept-loss recreates a wiped mailbox's items; the next run writes nothing."""
    first = world.sync()
    wanted = set(world.live())
    _wipe(world, _busiest_mailbox(world))
    report = world.sync(accept_loss=True)
    assert report.exit_code == ExitCode.OK, report.failures
    assert set(world.live()) == wanted
    assert report.counts["created"] > 0
    assert "removed_by_person" not in report.counts
    world.sync()
    assert world.last_attempts == 0
    assert first.exit_code == ExitCode.OK


def test_a_person_deleting_a_few_items_is_not_a_mass_loss(world: World) -> None:
    """Deleting some (not all, not more than the limit) of a mailbox's items is a person's edit."""
    world.sync()
    mailbox = _busiest_mailbox(world)
    keys = sorted(
        st.key for st in world.state().values() if st.state == "live" and st.mailbox == mailbox
    )
    for key in keys[:2]:
        world.delete(key)
    report = world.sync()
    assert report.exit_code == ExitCode.OK, report.failures
    assert report.counts["removed_by_person"] == 2


def test_a_new_empty_tenant_stops_the_run(tmp_path: Path) -> None:
    """Pointing the same state at an empty tenant (a restarted sandbox) stops with exit 3."""
    world = World(tmp_path, "memory")
    world.sync()
    world.remote = MemoryRemote(
        timezone=TZ_NAME, todo_list_name=world.todo_list_name, now=night(TODAY)
    )
    report = world.sync()
    assert report.exit_code == ExitCode.SAFETY
    assert all(mb in report.failures[0] for mb in world.mailboxes if mb in report.failures[0])
    assert "removed_by_person" not in {st.state for st in world.state().values()}


# -- a lost state file ------------------------------------------------------------------------


def _contact(n: int) -> Contact:
    return Contact(
        student_id="S1009",
        at=dt.datetime(2026, 11, 20 + n, 15, 45, tzinfo=TZ),
        method="phone" if n % 2 else "email",
        with_whom="Renata Thornbury",
        outcome="reached",
        note=f"call {n}",
        source="cli",
    )


def _lose_state(world: World, *, backups: bool) -> None:
    path = world.config().state_path
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    if not backups:
        shutil.rmtree(path.parent / "backups", ignore_errors=True)


@pytest.mark.parametrize("backups", [True, False], ids=["from-backup", "from-mailboxes"])
def test_a_lost_state_is_noticed_and_recovered_whole(world: World, backups: bool) -> None:
    """Deleting the state stops the next run (exit 3, nothing written); --recover brings back
    every contact (logged and read back from To Do), makes no duplicate and no write, and the
    run after it writes nothing either."""
    world.sync()
    with StateStore(world.config().state_path) as store:
        store.log_contact(_contact(1))
        store.log_contact(_contact(2))
    contact_task = next(
        st.key
        for st in world.state().values()
        if st.milestone.startswith("parent_contact") and st.state == "live"
    )
    world.complete(contact_task, ["Phone", "Email"])
    world.today = TODAY + dt.timedelta(days=1)
    world.sync()
    contacts = world.contacts()
    assert len([c for c in contacts if c.source == "todo"]) == 2
    live = world.live()
    state = {k: (st.state, st.remote_id) for k, st in world.state().items()}

    _lose_state(world, backups=backups)
    report = world.sync()
    assert report.exit_code == ExitCode.SAFETY
    (message,) = report.failures
    assert "the state file holds no items but the mailboxes hold" in message
    assert "the state was lost or replaced" in message
    assert ("backups" in message) is backups
    assert world.last_attempts == 0
    assert world.contacts() == contacts  # already back from the journal

    report = world.sync(recover=True)
    assert report.exit_code == ExitCode.OK, report.failures
    assert world.last_attempts == 0, report.actions
    assert "contacts_logged" not in report.counts
    assert world.live() == live  # unique keys, same objects
    assert world.contacts() == contacts
    recovered = {k: (st.state, st.remote_id) for k, st in world.state().items()}
    assert recovered == state
    world.sync()
    assert world.last_attempts == 0
    assert world.contacts() == contacts


def test_an_emptied_state_file_is_a_lost_state(tmp_path: Path) -> None:
    """A state file truncated to nothing is noticed like a deleted one."""
    world = World(tmp_path, "memory")
    world.sync()
    path = world.config().state_path
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"")
    report = world.sync()
    assert report.exit_code == ExitCode.SAFETY
    assert "holds no items" in report.failures[0]


def test_a_dry_run_of_a_recovery_writes_nothing(tmp_path: Path) -> None:
    """--recover --dry-run previews the adoption: no write to Graph, no item in the state."""
    world = World(tmp_path, "memory")
    world.sync()
    _lose_state(world, backups=False)
    report = world.sync(recover=True, dry_run=True)
    assert report.exit_code == ExitCode.OK, report.failures
    assert report.actions == []
    assert world.last_attempts == 0
    assert world.state() == {}


def test_sync_takes_one_private_backup_a_day(tmp_path: Path) -> None:
    """A run with a state to lose backs it up first (0600), once a day; a dry run does not."""
    world = World(tmp_path, "memory")
    world.sync()
    folder = world.config().state_path.parent / "backups"
    assert not folder.exists()  # nothing to back up before the first run
    world.sync(dry_run=True)
    assert not folder.exists()
    world.sync()
    world.sync()
    (only,) = folder.iterdir()
    assert only.stat().st_mode & 0o777 == 0o600
    assert journal_path(world.config().state_path).parent == world.config().state_path.parent


def test_a_recovery_adopts_items_created_again_after_the_backup(world: World) -> None:
    """Items the restored backup holds as deleted by iepsched but created again since (wanted
    again) are adopted by --recover, not created a second time."""
    world.sync()
    world.edit_config("max_cancellations = 10", "max_cancellations = 50")
    world.set_field(SUBJECT, status="exited")
    world.today = TODAY + dt.timedelta(days=1)
    assert world.sync().exit_code == ExitCode.OK
    world.set_field(SUBJECT, status="active")
    world.today = TODAY + dt.timedelta(days=2)
    again = world.sync()  # backs up the state with the student's items deleted, then recreates
    assert again.exit_code == ExitCode.OK, again.failures
    assert any(a.op == "create" and a.key.startswith(f"{SUBJECT}/") for a in again.actions)
    live = world.live()

    _lose_state(world, backups=True)
    report = world.sync(recover=True)
    assert report.exit_code == ExitCode.OK, report.failures
    assert not [a for a in report.actions if a.op == "create"]
    assert world.live() == live  # unique keys, same objects
    assert world.sync().actions == [] and world.last_writes == 0

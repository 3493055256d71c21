"""The pure safety decisions over what the mailboxes show (core.recovery): mass loss per
mailbox, and rebuilding a lost state from the items found."""

from __future__ import annotations

import dataclasses
import datetime as dt

from test_reconcile import CM, desired, scope, state_of, student

from iepsched.core.model import Cycle, ItemState
from iepsched.core.reconcile import LIVE, reconcile
from iepsched.core.recovery import (
    ALL_GONE_FLOOR,
    as_written,
    found_cycles,
    found_items,
    mass_losses,
    to_recreate,
)
from iepsched.core.remote import RemoteEvent, RemoteTask, Snapshot

OTHER = "other@example.org"
START = dt.datetime(2027, 1, 12, 15, 0, tzinfo=dt.UTC)


def tasks(n: int, mailbox: str = CM) -> dict[str, ItemState]:
    rows = [state_of(desired(f"S1/c1/step_{i}"), mailbox=mailbox) for i in range(n)]
    return {st.row_id: st for st in rows}


def snapshot(keep: list[ItemState], mailboxes: tuple[str, ...] = (CM,)) -> Snapshot:
    found = {st.key: RemoteTask(st.key, st.remote_id or "id", st.mailbox, "L") for st in keep}
    return Snapshot(tasks=found, mailboxes=frozenset(mailboxes))


def test_all_items_of_a_mailbox_gone_is_a_mass_loss() -> None:
    """Every live item of a mailbox vanishing is one loss, with the counts to report."""
    state = tasks(ALL_GONE_FLOOR)
    (loss,) = mass_losses(state, snapshot([]), limit=10)
    assert (loss.mailbox, loss.known, loss.found) == (CM, ALL_GONE_FLOOR, 0)
    assert set(loss.rows) == set(state)
    assert f"knows {ALL_GONE_FLOOR} live iepsched items there, Microsoft 365 shows 0" in (
        loss.describe()
    )


def test_more_than_the_limit_gone_is_a_mass_loss_even_if_some_remain() -> None:
    """Losing more items than the safety limit at once stops, though not all are gone."""
    state = tasks(8)
    keep = list(state.values())[:2]
    (loss,) = mass_losses(state, snapshot(keep), limit=5)
    assert (loss.known, loss.found) == (8, 2)
    assert mass_losses(state, snapshot(keep), limit=6) == []


def test_a_few_deletions_and_tiny_mailboxes_are_people() -> None:
    """Some items gone, or all of fewer than the floor, are people's edits, not a loss."""
    state = tasks(5)
    assert mass_losses(state, snapshot(list(state.values())[:3]), limit=10) == []
    small = tasks(ALL_GONE_FLOOR - 1)
    assert mass_losses(small, snapshot([]), limit=10) == []


def test_mailboxes_not_read_are_not_judged() -> None:
    """A mailbox the snapshot did not read (skipped, refused) is never a loss."""
    state = tasks(5, mailbox=OTHER)
    assert mass_losses(state, snapshot([], mailboxes=(CM,)), limit=1) == []


def test_accepted_loss_makes_the_items_be_created_again() -> None:
    """The vanished items become pending rows, which reconcile creates again."""
    state = tasks(3)
    (loss,) = mass_losses(state, snapshot([]), limit=10)
    again = {st.row_id: st for st in to_recreate(state, [loss])}
    assert {st.remote_id for st in again.values()} == {None}
    wanted = [desired(st.key) for st in state.values()]
    actions = reconcile(wanted, again, scope(), now=START)
    assert {a.op for a in actions} == {"create"}


def test_found_items_are_read_back_by_roster_ids_and_cycles_follow() -> None:
    """Keys split on the roster's ids (an id with a slash included); the cycles come from the
    cycle ids; keys of students not in the roster are left alone."""
    snap = Snapshot(
        events={
            "S/2/2027-01-20/meeting": RemoteEvent("S/2/2027-01-20/meeting", "E1", CM, start=START),
            "GONE/2027-01-20/meeting": RemoteEvent("GONE/2027-01-20/meeting", "E2", CM),
        },
        tasks={
            "S/2/R2027-03-01/reeval_due": RemoteTask("S/2/R2027-03-01/reeval_due", "T", CM, "L")
        },
        mailboxes=frozenset({CM}),
    )
    roster = [student("S/2", reeval_due_date=dt.date(2027, 3, 1)), student("S")]
    found = found_items(snap, [s.student_id for s in roster])
    assert [(st.student_id, st.cycle_id, st.milestone, st.kind, st.state) for st in found] == [
        ("S/2", "2027-01-20", "meeting", "event", LIVE),
        ("S/2", "R2027-03-01", "reeval_due", "task", LIVE),
    ]
    assert found[0].start == START
    assert found_cycles(found, roster) == [
        Cycle("S/2", "annual", "2027-01-20", dt.date(2027, 1, 20)),
        Cycle("S/2", "reeval", "R2027-03-01", dt.date(2027, 3, 1)),
    ]


def test_as_written_takes_the_plan_hashes_and_still_compares_what_is_visible() -> None:
    """An adopted item is not rewritten, but an all-day item on another day is moved."""
    item = desired("S1/c1/step_1", kind="calendar_item")
    assert item.due is not None
    on_day = dt.datetime.combine(item.due, dt.time(0), tzinfo=dt.UTC)
    found = ItemState(item.key, "S1", "c1", "step_1", "calendar_item", CM, LIVE, remote_id="X")
    same = as_written(dataclasses.replace(found, start=on_day), item)
    assert same.field_hashes == item.field_hashes and same.start is None
    moved = as_written(dataclasses.replace(found, start=on_day + dt.timedelta(days=1)), item)
    assert "start" not in moved.field_hashes and "end" not in moved.field_hashes

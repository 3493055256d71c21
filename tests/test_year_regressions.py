"""Defects the simulated school year found (issue 8, `benchmarks/school_year.py`), each pinned
on the smallest piece that shows it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import replace

import pytest
from test_items import options, plans
from test_reconcile import CM, NOW, desired, ops, scope, state_of

from iepsched.core.items import deliverable, desired_items
from iepsched.core.model import PlanWarning
from iepsched.core.reconcile import reconcile
from iepsched.core.recovery import mass_losses
from iepsched.core.remote import RemoteTask, Snapshot

OLD = "old@example.org"


def test_held_cycle_occurrence_left_in_the_old_mailbox_is_removed_after_a_hand_over() -> None:
    """A held cycle's progress-monitoring occurrence moved to the new case manager: its old copy
    is deleted even though the held cycle is not a current cycle and the student's next meeting
    is not deliverable yet (seed 8, Z000127: 5 tasks in two To Do lists for the rest of the year).
    """
    pm = desired("S1/c0/progress_monitoring")
    item = replace(pm, key=f"{pm.key}/1", milestone="progress_monitoring/1")
    own = state_of(item)
    old = state_of(item, mailbox=OLD, moving_from=OLD)
    state = {own.row_id: own, old.row_id: old}
    for active in ((), ("S1",)):  # next meeting outside the horizon, or inside it
        actions = reconcile([item], state, scope(active=active, cycles=("S1/c1",)), now=NOW)
        assert [(a.op, a.mailbox, a.moving_from) for a in actions] == [("delete", OLD, OLD)]
    assert ops(reconcile([item], {own.row_id: own}, scope(active=()), now=NOW)) == []


def test_a_wiped_mailbox_is_a_mass_loss_though_another_mailbox_shows_one_of_its_keys() -> None:
    """A mailbox whose own items all vanished is a loss even when the snapshot shows one of its
    keys in another mailbox (the other copy of a hand-over): that copy is not this mailbox's
    (seed 8, 2027-02-12: 447 of 448 items gone, recorded as deleted by people, exit 0)."""
    rows = [state_of(desired(f"S1/c1/step_{i}")) for i in range(5)]
    state = {st.row_id: st for st in rows}
    other_copy = RemoteTask(rows[0].key, "id-elsewhere", OLD, "L")
    snap = Snapshot(tasks={rows[0].key: other_copy}, mailboxes=frozenset({CM, OLD}))
    (loss,) = mass_losses(state, snap, limit=100_000)
    assert loss.mailbox == CM and set(loss.rows) >= {st.row_id for st in rows[1:]}


@pytest.mark.parametrize("why", ["booked_day_closed", "booked_after_due"])
def test_a_booked_meeting_that_must_move_is_moved_even_beyond_the_horizon(why: str) -> None:
    """A booked meeting on a day now closed (a snow day) or after a corrected DUE is moved at
    once, even when its new slot is more than the horizon away (after the summer): left alone,
    it stayed on the snow day and counted as held the next morning (seed 8, 2027-04-29)."""
    p = next(p for p in plans() if p.student_id == "S1002")
    assert p.meeting is not None and p.meeting.state == "proposed"
    early = dataclasses.replace(p, today=p.meeting.date - dt.timedelta(days=61))
    assert not deliverable(early, 60)
    moving = dataclasses.replace(early, warnings=(*early.warnings, PlanWarning(why, "moved")))
    assert deliverable(moving, 60)
    meetings = [d for d in desired_items([moving], options()) if d.milestone == "meeting"]
    assert [d.start for d in meetings] == [p.meeting.start]

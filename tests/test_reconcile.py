"""The pure decision steps of sync: cycles, observing people's edits, and the list of actions."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from iepsched.core.model import Contact, Cycle, ItemState, Student
from iepsched.core.reconcile import (
    CANCELLED,
    COMPLETED,
    DELETED,
    LIVE,
    PENDING,
    REMOVED_BY_PERSON,
    Scope,
    assign_cycles,
    is_move,
    observe,
    reconcile,
)
from iepsched.core.remote import Action, DesiredItem, RemoteEvent, RemoteTask, Snapshot

TZ = dt.timezone(dt.timedelta(hours=-6))
NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
CM = "cm@example.org"
MEETING_START = dt.datetime(2027, 1, 6, 15, 30, tzinfo=TZ)
MEETING_END = MEETING_START + dt.timedelta(hours=1)


# -- builders -------------------------------------------------------------------------------


def student(sid: str = "S1", due: dt.date = dt.date(2027, 1, 20), **kw: Any) -> Student:
    base: dict[str, Any] = {
        "student_id": sid,
        "first_name": "Ada",
        "last_name": "Byron",
        "birth_date": dt.date(2012, 5, 1),
        "building": "PVH",
        "case_manager_email": CM,
        "lea_email": "lea@example.org",
        "due_date": due,
    }
    base.update(kw)
    return Student(**base)


def _h(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def desired(
    key: str = "S1/c1/meeting",
    *,
    fields: Mapping[str, Any] | None = None,
    kind: str | None = None,
    held: bool = False,
    start: dt.datetime | None = None,
) -> DesiredItem:
    sid, cycle, milestone = key.split("/")
    kind = kind or ("event" if milestone == "meeting" else "task")
    fields = dict(fields or {"subject": "IEP meeting — S1 A.B.", "body": "b"})
    field_hashes = {n: _h(v) for n, v in fields.items()}
    timed = kind == "event"
    begin = start or MEETING_START
    return DesiredItem(
        key=key,
        student_id=sid,
        cycle_id=cycle,
        milestone=milestone,
        kind=kind,  # type: ignore[arg-type]
        mailbox=CM,
        fields=fields,
        create_extra={},
        field_hashes=field_hashes,
        hash=_h(field_hashes),
        start=begin if timed else None,
        end=begin + dt.timedelta(hours=1) if timed else None,
        due=None if timed else dt.date(2026, 12, 16),
        held=held,
    )


def state_of(item: DesiredItem, **kw: Any) -> ItemState:
    """The state a confirmed write of `item` leaves behind (then `kw` changes)."""
    base: dict[str, Any] = {
        "key": item.key,
        "student_id": item.student_id,
        "cycle_id": item.cycle_id,
        "milestone": item.milestone,
        "kind": item.kind,
        "mailbox": item.mailbox,
        "state": LIVE,
        "remote_id": f"id-{item.key}",
        "list_id": None if item.kind == "event" else "list-1",
        "hash": item.hash,
        "field_hashes": dict(item.field_hashes),
        "start": item.start,
        "end": item.end,
    }
    base.update(kw)
    return ItemState(**base)


def scope(
    *,
    active: Iterable[str] = ("S1",),
    exited: Iterable[str] = (),
    protected: Iterable[str] = (),
    cycles: Iterable[str] = ("S1/c1",),
    rebook: Iterable[str] = (),
) -> Scope:
    return Scope(
        active=frozenset(active),
        exited=frozenset(exited),
        protected=frozenset(protected),
        current_cycles=frozenset(cycles),
        rebook=frozenset(rebook),
    )


def ops(actions: Iterable[Action]) -> list[tuple[str, str]]:
    return [(a.op, a.key) for a in actions]


def remote_event(st: ItemState, **kw: Any) -> RemoteEvent:
    base: dict[str, Any] = {
        "key": st.key,
        "remote_id": st.remote_id or "new-id",
        "mailbox": st.mailbox,
        "change_key": "ck2",
        "start": st.start,
        "end": st.end,
    }
    base.update(kw)
    return RemoteEvent(**base)


def remote_task(st: ItemState, **kw: Any) -> RemoteTask:
    base: dict[str, Any] = {
        "key": st.key,
        "remote_id": st.remote_id or "new-task",
        "mailbox": st.mailbox,
        "list_id": st.list_id or "list-1",
    }
    base.update(kw)
    return RemoteTask(**base)


def snap(*found: RemoteEvent | RemoteTask, mailboxes: Iterable[str] = (CM,)) -> Snapshot:
    return Snapshot(
        events={e.key: e for e in found if isinstance(e, RemoteEvent)},
        tasks={t.key: t for t in found if isinstance(t, RemoteTask)},
        mailboxes=frozenset(mailboxes),
    )


# -- assign_cycles --------------------------------------------------------------------------


def test_first_sight_opens_cycles_named_by_due_date() -> None:
    """A new student's cycle ids are its due dates (so a preview without state uses the same)."""
    s = student(reeval_due_date=dt.date(2027, 9, 14))
    annual, reeval, rows = assign_cycles([s], {}, held={})
    assert annual == {"S1": "2027-01-20"}
    assert reeval == {"S1": "R2027-09-14"}
    assert rows == [
        Cycle("S1", "annual", "2027-01-20", dt.date(2027, 1, 20)),
        Cycle("S1", "reeval", "R2027-09-14", dt.date(2027, 9, 14)),
    ]


def test_unchanged_cycles_write_nothing() -> None:
    """A student seen before with the same due dates keeps its cycles and saves no row."""
    cycles = {("S1", "annual"): [Cycle("S1", "annual", "2027-01-20", dt.date(2027, 1, 20))]}
    annual, _, rows = assign_cycles([student()], cycles, held={})
    assert annual == {"S1": "2027-01-20"} and rows == []


def test_due_date_correction_keeps_the_cycle_id() -> None:
    """A corrected due date (annual or reevaluation) updates the cycle; its id stays."""
    cycles = {
        ("S1", "annual"): [Cycle("S1", "annual", "2027-01-20", dt.date(2027, 1, 20))],
        ("S1", "reeval"): [Cycle("S1", "reeval", "R2027-09-14", dt.date(2027, 9, 14))],
    }
    s = student(due=dt.date(2027, 1, 27), reeval_due_date=dt.date(2027, 9, 1))
    annual, reeval, rows = assign_cycles([s], cycles, held={})
    assert annual == {"S1": "2027-01-20"} and reeval == {"S1": "R2027-09-14"}
    assert rows == [
        Cycle("S1", "annual", "2027-01-20", dt.date(2027, 1, 27)),
        Cycle("S1", "reeval", "R2027-09-14", dt.date(2027, 9, 1)),
    ]


def test_held_meeting_is_recorded_and_the_cycle_kept_until_the_roster_moves_on() -> None:
    """A held meeting marks the cycle held; the same due date keeps that cycle current."""
    cycles = {("S1", "annual"): [Cycle("S1", "annual", "2027-01-20", dt.date(2027, 1, 20))]}
    held = {"S1": dt.date(2027, 1, 6)}
    annual, _, rows = assign_cycles([student()], cycles, held=held)
    assert annual == {"S1": "2027-01-20"}
    assert rows == [Cycle("S1", "annual", "2027-01-20", dt.date(2027, 1, 20), dt.date(2027, 1, 6))]


def test_held_cycle_and_new_due_date_open_a_new_cycle() -> None:
    """After the meeting is held, the roster's next due date opens a new cycle."""
    old = Cycle("S1", "annual", "2027-01-20", dt.date(2027, 1, 20), dt.date(2027, 1, 6))
    annual, _, rows = assign_cycles(
        [student(due=dt.date(2028, 1, 5))], {("S1", "annual"): [old]}, held={}
    )
    assert annual == {"S1": "2028-01-05"}
    assert rows == [Cycle("S1", "annual", "2028-01-05", dt.date(2028, 1, 5))]


def test_new_cycle_id_never_reuses_an_old_one() -> None:
    """A new cycle whose due date equals an earlier cycle's id gets a distinct id."""
    old = Cycle("S1", "annual", "2027-01-20", dt.date(2027, 1, 25), dt.date(2027, 1, 6))
    annual, _, rows = assign_cycles([student()], {("S1", "annual"): [old]}, held={})
    assert annual == {"S1": "2027-01-20.2"}
    assert rows[-1].cycle_id == "2027-01-20.2"


def test_reeval_cycle_reopens_only_after_it_was_held() -> None:
    """A reevaluation cycle that was held and gets a new due date opens a new cycle."""
    done = Cycle("S1", "reeval", "R2027-09-14", dt.date(2027, 9, 14), dt.date(2027, 9, 1))
    s = student(reeval_due_date=dt.date(2030, 9, 1))
    _, reeval, rows = assign_cycles([s], {("S1", "reeval"): [done]}, held={})
    assert reeval == {"S1": "R2030-09-01"}
    assert Cycle("S1", "reeval", "R2030-09-01", dt.date(2030, 9, 1)) in rows


# -- observe --------------------------------------------------------------------------------


def test_moved_meeting_is_adopted_and_flagged() -> None:
    """A meeting a person moved in Outlook is adopted: new times, moved flag, booked there."""
    st = state_of(desired())
    later = MEETING_START + dt.timedelta(days=1, hours=-8)
    obs = observe(
        {st.key: st},
        snap(remote_event(st, start=later, end=later + dt.timedelta(hours=1))),
        now=NOW,
    )
    (update,) = obs.updates
    assert update.moved and update.start == later and update.change_key == "ck2"
    assert update.state == LIVE
    assert (update.end, update.cycle_id) == (later + dt.timedelta(hours=1), "c1")
    assert obs.counts == {"adopted": 1}
    assert "moved in Outlook" in obs.reports[0] and "adopted" in obs.reports[0]


def test_unmoved_meeting_is_booked_without_updates() -> None:
    """An event where iepsched put it changes nothing: the state keeps it booked at its time."""
    st = state_of(desired())
    obs = observe({st.key: st}, snap(remote_event(st)), now=NOW)
    assert obs.updates == [] and obs.reports == [] and obs.counts == {}


def test_same_instant_in_another_zone_is_not_a_move() -> None:
    """Graph echoing the time in UTC instead of local time is not a move."""
    st = state_of(desired())
    utc = remote_event(
        st, start=MEETING_START.astimezone(dt.UTC), end=MEETING_END.astimezone(dt.UTC)
    )
    assert observe({st.key: st}, snap(utc), now=NOW).updates == []


@pytest.mark.parametrize("how", ["deleted", "cancelled"])
def test_event_removed_by_a_person_is_remembered_with_rebook_hint(how: str) -> None:
    """A meeting deleted or cancelled in Outlook becomes removed_by_person, with a --rebook hint."""
    st = state_of(desired())
    found = (remote_event(st, is_cancelled=True),) if how == "cancelled" else ()
    obs = observe({st.key: st}, snap(*found), now=NOW)
    assert [(u.key, u.state) for u in obs.updates] == [(st.key, REMOVED_BY_PERSON)]
    assert "sync --rebook S1" in obs.reports[0]
    assert obs.counts == {"removed_by_person": 1}


def test_task_deleted_by_a_person_is_remembered() -> None:
    """A task deleted in To Do becomes removed_by_person (never recreated silently)."""
    st = state_of(desired("S1/c1/draft_iep"))
    obs = observe({st.key: st}, snap(), now=NOW)
    assert [u.state for u in obs.updates] == [REMOVED_BY_PERSON]
    assert "--rebook S1" in obs.reports[0]


def test_unread_mailbox_is_not_taken_as_deleted() -> None:
    """Items in a mailbox the snapshot could not read are left alone (not 'deleted')."""
    ev, task = state_of(desired()), state_of(desired("S1/c1/draft_iep"))
    obs = observe({ev.key: ev, task.key: task}, snap(mailboxes=()), now=NOW)
    assert obs.updates == [] and obs.reports == [] and obs.counts == {}


def test_completed_contact_task_logs_ticked_methods() -> None:
    """A completed parent-contact task logs one contact per ticked method (source todo)."""
    st = state_of(desired("S1/c1/parent_contact_1"))
    done = remote_task(
        st,
        status="completed",
        completed_on=dt.date(2026, 11, 24),
        checked=("Phone", "Email", "Called grandma"),
    )
    obs = observe({st.key: st}, snap(done), now=NOW)
    (update,) = obs.updates
    assert update.state == COMPLETED and update.completed_on == dt.date(2026, 11, 24)
    at = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
    assert obs.contacts == [
        (Contact("S1", at, "phone", "parent/guardian", "reached", "", "todo"), f"{st.key}#phone"),
        (Contact("S1", at, "email", "parent/guardian", "reached", "", "todo"), f"{st.key}#email"),
    ]
    assert obs.counts == {"completed": 1, "contacts_logged": 2}


def test_contact_task_completed_without_a_method_asks_for_a_manual_log() -> None:
    """Completing a contact task without ticking a method logs nothing and says what to do."""
    st = state_of(desired("S1/c1/parent_contact_2"))
    obs = observe({st.key: st}, snap(remote_task(st, status="completed")), now=NOW)
    assert obs.contacts == []
    assert "iepsched contact log" in obs.reports[0]
    assert obs.updates[0].completed_on == NOW.date()


def test_completed_plain_task_is_done_without_contacts() -> None:
    """A completed ordinary task is read back as done; nothing is logged."""
    st = state_of(desired("S1/c1/draft_iep"))
    obs = observe({st.key: st}, snap(remote_task(st, status="completed")), now=NOW)
    (completed,) = obs.updates
    assert completed.state == COMPLETED and obs.contacts == []
    again = observe({st.key: completed}, snap(), now=NOW)  # even when later deleted in To Do
    assert again.updates == [] and again.reports == []  # it stays completed


def test_pending_items_found_remotely_are_recovered() -> None:
    """Items whose create was sent but not confirmed are adopted when the snapshot has them."""
    ev = state_of(desired(), state=PENDING, remote_id=None, intent="create")
    task = state_of(desired("S1/c1/draft_iep"), state=PENDING, remote_id=None, list_id=None)
    obs = observe(
        {ev.key: ev, task.key: task},
        snap(
            remote_event(ev, remote_id="ev-9"),
            remote_task(task, remote_id="t-9", list_id="list-7"),
        ),
        now=NOW,
    )
    by_key = {u.key: u for u in obs.updates}
    assert (by_key[ev.key].state, by_key[ev.key].remote_id, by_key[ev.key].intent) == (
        LIVE,
        "ev-9",
        None,
    )
    assert (by_key[task.key].remote_id, by_key[task.key].list_id) == ("t-9", "list-7")
    assert obs.counts == {"recovered": 2}
    assert (by_key[ev.key].start, by_key[ev.key].end) == (MEETING_START, MEETING_END)


def test_pending_items_not_found_stay_pending() -> None:
    """A pending item the snapshot lacks is neither recovered nor reported as deleted."""
    ev = state_of(desired(), state=PENDING, remote_id=None)
    task = state_of(desired("S1/c1/draft_iep"), state=PENDING, remote_id=None)
    obs = observe({ev.key: ev, task.key: task}, snap(), now=NOW)
    assert obs.updates == [] and obs.reports == []


def test_declines_are_reported() -> None:
    """Each attendee who declined the meeting is reported by email."""
    st = state_of(desired())
    obs = observe({st.key: st}, snap(remote_event(st, declined_by=("lea@example.org",))), now=NOW)
    assert obs.reports == ["S1: lea@example.org declined the IEP meeting."]
    assert obs.counts == {"declined": 1}


# -- reconcile ------------------------------------------------------------------------------


def test_new_and_unconfirmed_items_are_created() -> None:
    """Items the state does not know, or only knows as pending, are created."""
    new, pending = desired(), desired("S1/c1/draft_iep")
    actions = reconcile(
        [new, pending], {pending.key: state_of(pending, state=PENDING)}, scope(), now=NOW
    )
    assert sorted(ops(actions)) == [("create", pending.key), ("create", new.key)]
    assert {a.key: a.item for a in actions}[new.key] is new


def test_unchanged_items_make_no_action() -> None:
    """When every field hash matches, nothing is written."""
    items = [desired(), desired("S1/c1/draft_iep")]
    assert reconcile(items, {i.key: state_of(i) for i in items}, scope(), now=NOW) == []


def test_update_patches_only_changed_fields() -> None:
    """An update lists exactly the managed fields whose hash changed."""
    old = desired("S1/c1/draft_iep", fields={"title": "t", "body": "old", "dueDateTime": "d"})
    new = desired("S1/c1/draft_iep", fields={"title": "t", "body": "new", "dueDateTime": "d"})
    (action,) = reconcile([new], {old.key: state_of(old)}, scope(), now=NOW)
    assert (action.op, action.changed) == ("update", ("body",))
    assert action.remote_id == f"id-{old.key}" and action.list_id == "list-1"


def test_meeting_time_change_is_an_update_of_start_and_end() -> None:
    """A meeting re-placed by the plan (e.g. due date corrected) PATCHes start and end."""
    old = desired()
    new = desired(start=MEETING_START - dt.timedelta(days=2))
    (action,) = reconcile([new], {old.key: state_of(old)}, scope(), now=NOW)
    assert action.op == "update" and set(action.changed) == {"start", "end"}


def test_adopted_move_is_not_pushed_back() -> None:
    """A meeting whose adopted time equals the plan's is not PATCHed (old start hashes ignored)."""
    old = desired()
    moved_to = MEETING_START + dt.timedelta(days=1)
    plan_now = desired(start=moved_to)
    st = state_of(old, start=moved_to, end=moved_to + dt.timedelta(hours=1), moved=True)
    moved_fields = dict(old.fields, start="new", end="new")
    plan_now = dataclasses.replace(
        plan_now, field_hashes={n: _h(v) for n, v in moved_fields.items()}
    )
    assert reconcile([plan_now], {st.key: st}, scope(), now=NOW) == []


def test_held_meeting_is_never_updated() -> None:
    """A held meeting is history: no PATCH even when the plan's fields differ."""
    old = desired()
    new = desired(fields={"subject": "other", "body": "b"}, held=True)
    assert reconcile([new], {old.key: state_of(old)}, scope(), now=NOW) == []


def test_completed_tasks_are_never_rewritten() -> None:
    """A task a person completed is not PATCHed back, whatever the plan says now."""
    old = desired("S1/c1/draft_iep")
    new = desired("S1/c1/draft_iep", fields={"title": "changed"})
    assert reconcile([new], {old.key: state_of(old, state=COMPLETED)}, scope(), now=NOW) == []


@pytest.mark.parametrize("why", ["bad roster row", "missing from roster", "unplaceable"])
def test_nothing_is_removed_for_a_protected_student(why: str) -> None:
    """A protected student keeps every item, even if marked exited (the row can't be trusted)."""
    meeting, task = desired(), desired("S1/c1/draft_iep")
    state = {meeting.key: state_of(meeting), task.key: state_of(task)}
    for exited in ((), ("S1",)):
        got = reconcile([], state, scope(active=(), exited=exited, protected=("S1",)), now=NOW)
        assert got == [], why


def test_exited_student_future_meeting_cancelled_open_tasks_deleted() -> None:
    """An exited student's future meeting is cancelled and open tasks deleted; done ones stay."""
    meeting, open_task = desired(), desired("S1/c1/draft_iep")
    done_task, gone = desired("S1/c1/begin_development"), desired("S1/c1/send_draft")
    pending = desired("S1/c1/prepare_meeting")
    state = {
        meeting.key: state_of(meeting),
        open_task.key: state_of(open_task),
        done_task.key: state_of(done_task, state=COMPLETED),
        gone.key: state_of(gone, state=REMOVED_BY_PERSON),
        pending.key: state_of(pending, state=PENDING),
    }
    actions = reconcile([], state, scope(active=(), exited=("S1",)), now=NOW)
    assert ops(actions) == [
        ("cancel", meeting.key),
        ("delete", open_task.key),
        ("delete", pending.key),
    ]
    assert {a.reason for a in actions} == {"student exited"}
    assert actions[0].remote_id == f"id-{meeting.key}"
    assert actions[1].list_id == "list-1"


def test_exited_student_past_meeting_is_not_cancelled() -> None:
    """A meeting that already took place is never cancelled, even for an exited student."""
    past = desired(start=NOW - dt.timedelta(days=3))
    actions = reconcile([], {past.key: state_of(past)}, scope(active=(), exited=("S1",)), now=NOW)
    assert actions == []


def test_older_cycle_items_are_kept() -> None:
    """The held cycle's remaining tasks stay when a new cycle opens."""
    old_task = desired("S1/c0/distribute_iep")
    old_meeting = desired("S1/c0/meeting", start=NOW + dt.timedelta(days=3))
    state = {old_task.key: state_of(old_task), old_meeting.key: state_of(old_meeting)}
    new = desired("S1/c1/meeting")
    assert ops(reconcile([new], state, scope(), now=NOW)) == [("create", new.key)]


def test_item_no_longer_in_the_plan_is_removed() -> None:
    """A current-cycle item the plan no longer wants (e.g. a milestone dropped) is removed."""
    meeting, dropped = desired(), desired("S1/c1/invite_student")
    state = {meeting.key: state_of(meeting), dropped.key: state_of(dropped)}
    actions = reconcile([meeting], state, scope(), now=NOW)
    assert ops(actions) == [("delete", dropped.key)]
    assert actions[0].reason == "no longer in the plan"


def test_student_not_deliverable_now_keeps_items() -> None:
    """A student who is neither deliverable nor exited (due date moved out) keeps its items."""
    meeting = desired()
    assert reconcile([], {meeting.key: state_of(meeting)}, scope(active=()), now=NOW) == []


def test_removed_by_person_is_recreated_only_on_rebook() -> None:
    """An item a person deleted is not recreated, unless --rebook names the student."""
    meeting = desired()
    state = {meeting.key: state_of(meeting, state=REMOVED_BY_PERSON)}
    assert reconcile([meeting], state, scope(), now=NOW) == []
    actions = reconcile([meeting], state, scope(rebook=("S1",)), now=NOW)
    assert ops(actions) == [("create", meeting.key)] and actions[0].reason == "rebook requested"


@pytest.mark.parametrize("gone", [CANCELLED, DELETED])
def test_items_iepsched_removed_are_created_when_wanted_again(gone: str) -> None:
    """An item iepsched cancelled or deleted itself is created again if the plan wants it."""
    meeting = desired()
    actions = reconcile([meeting], {meeting.key: state_of(meeting, state=gone)}, scope(), now=NOW)
    assert ops(actions) == [("create", meeting.key)]


def test_actions_are_ordered_by_mailbox_then_op_then_key() -> None:
    """The action list is stable: creates, updates, cancels, deletes, per mailbox."""
    b, a = desired("S1/c1/b_task"), desired("S1/c1/a_task")
    c = desired("S1/c1/c_task", fields={"title": "x"})
    d = desired("S1/c1/dropped")
    state = {
        c.key: state_of(desired("S1/c1/c_task", fields={"title": "y"})),
        d.key: state_of(d),
    }
    actions = reconcile([c, a, b], state, scope(), now=NOW)
    assert ops(actions) == [
        ("create", a.key),
        ("create", b.key),
        ("update", c.key),
        ("delete", d.key),
    ]
    assert reconcile([c, a, b], state, scope(), now=NOW) == actions


def test_old_copy_of_a_moved_item_is_never_taken_for_deleted() -> None:
    """The row of an item left in a former case manager's mailbox is only ever being removed."""
    old = state_of(desired(), mailbox="old@example.org", moving_from="old@example.org")
    obs = observe({old.row_id: old}, snap(mailboxes=("old@example.org", CM)), now=NOW)
    assert obs.updates == [] and obs.reports == []
    (action,) = reconcile([], {old.row_id: old}, scope(), now=NOW)
    assert (action.op, action.key, action.remote_id) == ("cancel", old.key, old.remote_id)
    assert (action.moving_from, action.row_id) == ("old@example.org", old.row_id)
    assert is_move(action)


def test_old_copy_is_removed_while_the_item_itself_is_wanted() -> None:
    """The item's own row (same key, new mailbox) stays; only the old mailbox's copy goes."""
    item = desired()
    own = state_of(item)
    old = state_of(item, mailbox="old@example.org", moving_from="old@example.org")
    state = {own.row_id: own, old.row_id: old}
    (action,) = reconcile([item], state, scope(), now=NOW)
    assert (action.op, action.mailbox, action.moving_from) == ("cancel", old.mailbox, old.mailbox)
    unwanted = reconcile([], {own.row_id: own}, scope(), now=NOW)
    assert [(a.op, is_move(a)) for a in unwanted] == [("cancel", False)]

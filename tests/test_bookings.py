"""core.bookings: what the state's rows contribute to a plan, read from typed fields."""

from __future__ import annotations

import datetime as dt
from typing import Any

from iepsched.core.bookings import state_inputs
from iepsched.core.model import Contact, Cycle, ItemState, Student
from iepsched.core.rules import meeting_held

TZ = dt.timezone(dt.timedelta(hours=-6))
TODAY = dt.date(2027, 1, 10)
DUE = dt.date(2027, 1, 20)


def student(**kw: Any) -> Student:
    base: dict[str, Any] = {
        "student_id": "S1",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "birth_date": dt.date(2015, 3, 1),
        "building": "North",
        "case_manager_email": "cm@example.org",
        "lea_email": "lea@example.org",
        "due_date": DUE,
    }
    base.update(kw)
    return Student(**base)


def row(milestone: str, cycle: str = "2027-01-20", **kw: Any) -> ItemState:
    base: dict[str, Any] = {
        "key": f"S1/{cycle}/{milestone}",
        "student_id": "S1",
        "cycle_id": cycle,
        "milestone": milestone,
        "kind": "event" if milestone == "meeting" else "task",
        "mailbox": "cm@example.org",
        "state": "live",
    }
    base.update(kw)
    return ItemState(**base)


def meeting(day: dt.date, **kw: Any) -> ItemState:
    start = dt.datetime.combine(day, dt.time(23, 30), tzinfo=TZ)  # 05:30 UTC the next day
    return row("meeting", start=start, end=start + dt.timedelta(hours=1), **kw)


CYCLES = {("S1", "annual"): [Cycle("S1", "annual", "2027-01-20", DUE)]}


def inputs(*rows: ItemState, cycles: Any = None, **kw: Any) -> Any:
    return state_inputs(
        [kw.pop("who", student())],
        {st.row_id: st for st in rows},
        CYCLES if cycles is None else cycles,
        kw.pop("contacts", []),
        today=TODAY,
        tz=TZ,
    )


def test_meeting_held_is_a_local_day_before_today() -> None:
    """Held means the meeting's local day is before today (today's meeting is not held yet)."""
    assert meeting_held(TODAY - dt.timedelta(days=1), TODAY)
    assert not meeting_held(TODAY, TODAY)


def test_live_meeting_of_the_current_cycle_is_booked_against_its_due_date() -> None:
    """A live meeting row of the current cycle books the meeting, with the cycle's due date."""
    st = meeting(dt.date(2027, 1, 14), moved=True)
    got = inputs(st)
    booked = got.booked["S1"]
    assert (booked.start, booked.cycle_id, booked.adopted, booked.due_date) == (
        st.start,
        "2027-01-20",
        True,
        DUE,
    )
    assert got.cycle_rows == [] and got.cycle_ids == {"S1": "2027-01-20"}


def test_a_past_meeting_closes_its_cycle_on_its_local_day() -> None:
    """A meeting held (local day before today) records that day on the cycle, not the UTC day."""
    got = inputs(meeting(dt.date(2027, 1, 8)))
    assert got.cycle_rows == [Cycle("S1", "annual", "2027-01-20", DUE, dt.date(2027, 1, 8))]


def test_old_copy_in_a_former_mailbox_books_nothing() -> None:
    """The copy left in a former case manager's mailbox is no booking and holds no cycle."""
    old = meeting(dt.date(2027, 1, 8), mailbox="old@example.org", moving_from="old@example.org")
    got = inputs(old)
    assert got.booked == {} and got.cycle_rows == []


def test_removed_or_other_cycle_meetings_are_not_booked() -> None:
    """A meeting a person removed, or one of an older cycle, is not a booking."""
    assert inputs(meeting(dt.date(2027, 1, 14), state="removed_by_person")).booked == {}
    older = meeting(dt.date(2027, 1, 14), cycle_id="2026-01-20")
    assert inputs(older).booked == {}


def test_completed_milestones_of_current_cycles_are_done() -> None:
    """Completed rows of the current annual and reevaluation cycles are done, by milestone."""
    cycles = {
        **CYCLES,
        ("S1", "reeval"): [Cycle("S1", "reeval", "R2027-03-01", dt.date(2027, 3, 1))],
    }
    who = student(reeval_due_date=dt.date(2027, 3, 1))
    got = inputs(
        row("draft_iep", state="completed"),
        row("consent", cycle="R2027-03-01", state="completed"),
        row("notice", cycle="2026-01-20", state="completed"),  # an older cycle's
        row("invite", state="live"),
        cycles=cycles,
        who=who,
    )
    assert got.done == {"S1": frozenset({"draft_iep", "consent"})}


def test_completed_reevaluation_closes_the_reevaluation_cycle() -> None:
    """The current reevaluation's completed reeval_due task records its day on that cycle."""
    reeval = Cycle("S1", "reeval", "R2027-03-01", dt.date(2027, 3, 1))
    got = inputs(
        row("reeval_due", cycle="R2027-03-01", state="completed", completed_on=dt.date(2027, 1, 5)),
        cycles={**CYCLES, ("S1", "reeval"): [reeval]},
        who=student(reeval_due_date=dt.date(2027, 3, 1)),
    )
    assert got.cycle_rows == [
        Cycle("S1", "reeval", "R2027-03-01", reeval.due_date, dt.date(2027, 1, 5))
    ]


def test_contacts_are_grouped_by_student() -> None:
    """Logged contacts reach the plan per student, in log order."""
    at = dt.datetime(2027, 1, 2, 12, 0, tzinfo=dt.UTC)
    logged = [
        Contact("S1", at, "phone", "mother", "reached", "", "cli"),
        Contact("S2", at, "email", "father", "reached", "", "cli"),
        Contact("S1", at, "letter", "mother", "no_answer", "", "cli"),
    ]
    got = inputs(contacts=logged)
    assert [c.method for c in got.contacts["S1"]] == ["phone", "letter"]
    assert [c.method for c in got.contacts["S2"]] == ["email"]

"""Boundaries of the scheduling core that hand-made mutants once crossed unnoticed (issue 7).

Each test names the mutant it kills: the one-token change to the core that used to survive the
whole suite. Applying that change by hand makes exactly this test fail.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from calendars import CHICAGO, KS_2026_27, D, at, context, kansas, student

from iepsched.core.model import (
    BookedMeeting,
    ClosedDays,
    Contact,
    Interval,
    SchoolYear,
    StudentPlan,
)
from iepsched.core.rules import meeting_held
from iepsched.core.schedule import plan_district
from iepsched.core.schoolcal import SchoolCalendar

DUE = D(2027, 1, 20)  # a Wednesday; cal(DUE, -14) = 2027-01-06, also a Wednesday
LATEST = D(2027, 1, 6)
TODAY = D(2026, 9, 1)


def plan(today: dt.date = TODAY, *, ctx: Any = None, **kw: Any) -> StudentPlan:
    """The plan of one student (default: DUE 2027-01-20) on the Kansas-like calendar."""
    s = kw.pop("s", None) or student(due_date=DUE)
    return plan_district([s], ctx or context(), today=today, **kw).plans[0]


def booked(day: dt.date, hhmm: str = "15:30", minutes: int = 60, **kw: Any) -> Any:
    start = at(day, hhmm)
    return {"S1001": BookedMeeting("S1001", start, start + dt.timedelta(minutes=minutes), **kw)}


def local(moment: dt.datetime) -> str:
    return moment.astimezone(CHICAGO).strftime("%H:%M")


def test_meeting_on_latest_day_is_on_track() -> None:
    """Mutant ladder.rung_of `day <= latest` -> `day < latest`: a meeting exactly on
    cal(DUE, -14) still leaves two full weeks, so it is on track, not at risk."""
    p = plan(booked=booked(LATEST))
    assert p.meeting is not None and p.meeting.date == LATEST
    assert p.meeting.rung == "on_track" and p.status == "on_track"


def test_not_overdue_on_the_due_date_itself() -> None:
    """Mutant statuses.status_of_student `today > DUE` -> `today >= DUE`: on the due date
    itself the IEP is not yet overdue (here it is infeasible: no slot with notice before DUE)."""
    p = plan(today=DUE)
    assert p.status == "infeasible"
    assert plan(today=DUE + dt.timedelta(days=1)).status == "overdue"


def test_meeting_today_is_not_yet_held() -> None:
    """Mutant rules.meeting_held `day < today` -> `day <= today`: a meeting today can still be
    cancelled or moved, so it is booked, not held; yesterday's is held."""
    assert not meeting_held(LATEST, LATEST)
    assert meeting_held(LATEST, LATEST + dt.timedelta(days=1))
    p = plan(today=LATEST, booked=booked(LATEST))
    assert p.meeting is not None and p.meeting.state == "booked"
    later = plan(today=LATEST + dt.timedelta(days=1), booked=booked(LATEST))
    assert later.meeting is not None and later.meeting.state == "held"


def test_booked_meeting_exactly_on_corrected_due_is_kept() -> None:
    """Mutant ladder.keep_booked `day > due` -> `day >= due`: when DUE is corrected to the
    meeting's own day the meeting is still on time and stays where it is."""
    s = student(due_date=D(2027, 1, 12))
    p = plan(s=s, booked=booked(D(2027, 1, 12), due_date=DUE))
    assert p.meeting is not None and p.meeting.date == D(2027, 1, 12)
    assert p.meeting.state == "booked"
    assert not p.has_warning("booked_after_due")


def test_meeting_booked_on_old_due_moves_when_due_is_corrected_earlier() -> None:
    """Mutant ladder.keep_booked `day <= booked.due_date` -> `day < booked.due_date`: a meeting
    booked on time for the old DUE (on it exactly) and late for the corrected DUE is moved."""
    s = student(due_date=D(2027, 1, 12))
    p = plan(s=s, booked=booked(DUE, due_date=DUE))
    assert p.meeting is not None and p.meeting.date != DUE and p.meeting.state == "proposed"
    assert p.has_warning("booked_after_due")


def test_booked_meeting_in_unloaded_year_is_not_treated_as_closed() -> None:
    """Mutant ladder.keep_booked `except UnknownDate: school = True` -> `False`: a booked day
    the calendar knows nothing about is not a closed day; the meeting stays, with no warning
    that the school is closed."""
    s = student(due_date=D(2027, 9, 30))
    day = D(2027, 9, 14)  # 2027-28: not loaded
    p = plan(today=D(2027, 6, 1), ctx=context(kansas("2026-27")), s=s, booked=booked(day))
    assert p.meeting is not None and p.meeting.date == day and p.meeting.state == "booked"
    assert not p.has_warning("booked_day_closed") and not p.has_warning("moved_by_person")
    adopted = plan(
        today=D(2027, 6, 1),
        ctx=context(kansas("2026-27")),
        s=s,
        booked=booked(day, adopted=True),
    )
    assert not adopted.has_warning("moved_by_person")


def test_busy_until_seconds_past_a_slot_start_takes_that_slot() -> None:
    """Mutant ladder._local_spans dropping the round-up of a sub-minute end: a busy block that
    ends at 07:45:30 still overlaps the 07:45 slot, so the meeting takes 15:30."""
    busy = {
        "cm1@usd500.org": [
            Interval(at(LATEST, "07:00"), at(LATEST, "07:45") + dt.timedelta(seconds=30))
        ]
    }
    p = plan(busy=busy)
    assert p.meeting is not None and p.meeting.date == LATEST
    assert local(p.meeting.start) == "15:30"
    exact = plan(busy={"cm1@usd500.org": [Interval(at(LATEST, "07:00"), at(LATEST, "07:45"))]})
    assert exact.meeting is not None and local(exact.meeting.start) == "07:45"


def test_odd_duration_meeting_ends_on_the_minute_and_abuts_the_next_slot() -> None:
    """Mutant of the slot end (rounding a whole-minute end up, or the span one minute long): a
    47-minute meeting ends at 08:32 sharp, and a booked one leaves the 08:32 slot free."""
    ctx = context(slots=("07:45", "08:32"), duration_minutes=47)
    p = plan(ctx=ctx)
    assert p.meeting is not None and p.meeting.end - p.meeting.start == dt.timedelta(minutes=47)
    assert local(p.meeting.end) == "08:32"
    other = student("S2002", due_date=DUE)
    both = plan_district(
        [student(due_date=D(2027, 2, 1)), other],
        ctx,
        today=D(2026, 9, 1),
        booked={"S1001": BookedMeeting("S1001", at(LATEST, "07:45"), at(LATEST, "08:32"))},
    ).by_id
    placed = both["S2002"].meeting
    assert placed is not None and placed.date == LATEST and local(placed.start) == "08:32"


def test_overlapping_closures_first_listed_names_the_day() -> None:
    """Mutant schoolcal `closed_label.setdefault` -> assignment: when closures overlap, the day
    takes the label of the first closure listed, not of whichever came last."""
    year = SchoolYear(
        "2026-27",
        KS_2026_27.first_day,
        KS_2026_27.last_day,
        (
            ClosedDays(D(2026, 12, 21), D(2027, 1, 1), "Winter break"),
            ClosedDays(D(2026, 12, 24), D(2026, 12, 24), "Christmas Eve"),
        ),
    )
    cal = SchoolCalendar("Overlap", [year])
    assert cal.day_info(D(2026, 12, 24)).reason == "Winter break"


def test_contact_from_the_previous_cycle_does_not_count() -> None:
    """Mutant statuses.contact_requirement window `add_months(due, -12)` -> `-13`: a contact
    from before DUE - 1 year belongs to the last cycle and does not meet this one."""

    def contact(day: dt.date, method: str) -> Contact:
        return Contact("S1001", at(day, "10:00"), method, "mother", "reached")

    old = contact(D(2026, 1, 5), "phone")  # DUE - 1 year - 15 days
    now = contact(D(2026, 12, 1), "email")
    p = plan(contacts={"S1001": [old, now]})
    assert p.contacts is not None and not p.contacts.met
    fresh = plan(contacts={"S1001": [contact(D(2026, 1, 21), "phone"), now]})
    assert fresh.contacts is not None and fresh.contacts.met


def test_recurring_status_uses_the_next_occurrence_not_the_last() -> None:
    """Mutant milestones._recurring_status ceiling `-(-elapsed // every)` -> floor
    `elapsed // every`: 15 days after the first check the next one is 13 days away (upcoming),
    not the one 1 day ago (which would read due soon)."""
    first = plan(booked=booked(LATEST)).milestone("progress_monitoring")
    assert first is not None and first.date == D(2027, 1, 20) and first.every_days == 14
    later = plan(today=D(2027, 2, 4), booked=booked(LATEST)).milestone("progress_monitoring")
    assert later is not None and later.status == "upcoming"
    soon = plan(today=D(2027, 2, 12), booked=booked(LATEST)).milestone("progress_monitoring")
    assert soon is not None and soon.status == "due_soon"

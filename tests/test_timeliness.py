"""Meetings held, timely and late, per school year (SPEC §3.3): the pure accounting."""

from __future__ import annotations

import datetime as dt

import pytest
from calendars import D, at, student

from iepsched.core.model import Cycle, Delay, Meeting, MeetingState, StudentPlan
from iepsched.core.timeliness import (
    NO_REASON,
    HeldMeeting,
    held_meetings,
    school_year_of,
    timeliness,
)


def _held(sid: str, due: dt.date, held: dt.date) -> HeldMeeting:
    return HeldMeeting(sid, due.isoformat(), due, held)


def _plan(
    sid: str, due: dt.date, meeting: dt.date, state: MeetingState, cycle_id: str
) -> StudentPlan:
    start = at(meeting, "15:30")
    return StudentPlan(
        student=student(sid, due_date=due),
        today=meeting + dt.timedelta(days=1),
        due_date=due,
        next_due_date=None,
        status="on_track",
        meeting=Meeting(meeting, start, start + dt.timedelta(hours=1), state, "on_track"),
        milestones=(),
        cycle_id=cycle_id,
    )


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (D(2026, 6, 30), "2025-26"),
        (D(2026, 7, 1), "2026-27"),
        (D(2027, 1, 5), "2026-27"),
        (D(2099, 12, 31), "2099-00"),
    ],
)
def test_school_year_runs_july_to_june(day: dt.date, year: str) -> None:
    """A held date counts in the July–June school year it falls in."""
    assert school_year_of(day) == year


def test_timely_late_with_reason_late_without_reason_in_two_school_years() -> None:
    """On time, late with a logged reason, late with none: counted per school year by held date."""
    held = [
        _held("S1", D(2026, 5, 20), D(2026, 5, 14)),  # 2025-26, timely
        _held("S2", D(2026, 6, 1), D(2026, 6, 10)),  # 2025-26, 9 days late, no reason
        _held("S3", D(2026, 12, 15), D(2027, 1, 6)),  # 2026-27, 22 days late, reason
        _held("S4", D(2027, 1, 20), D(2027, 1, 20)),  # 2026-27, on DUE itself: timely
    ]
    delays = [Delay("S3", D(2026, 12, 10), "parent asked to reschedule", D(2027, 1, 6))]
    y1, y2 = timeliness(held, delays)
    assert (y1.school_year, y1.held, y1.timely) == ("2025-26", 2, 1)
    assert [(m.student_id, m.days_late, m.reason) for m in y1.late] == [("S2", 9, NO_REASON)]
    assert (y2.school_year, y2.held, y2.timely) == ("2026-27", 2, 1)
    (late,) = y2.late
    assert (late.student_id, late.due_date, late.held_on) == ("S3", D(2026, 12, 15), D(2027, 1, 6))
    assert (late.days_late, late.status, late.reason) == (22, "late", "parent asked to reschedule")
    timely = next(m for m in y2.meetings if m.student_id == "S4")
    assert (timely.days_late, timely.status, timely.reason) == (0, "timely", "")


def test_no_held_meeting_means_no_school_year() -> None:
    """Nothing held: nothing to count (the report then says so)."""
    assert timeliness([], [Delay("S1", D(2026, 12, 1), "x")]) == ()


def test_latest_entry_naming_the_held_date_wins() -> None:
    """Of several entries, the latest that names the held date gives the reason."""
    held = [_held("S1", D(2026, 12, 15), D(2027, 1, 6))]
    delays = [
        Delay("S1", D(2026, 12, 1), "first reason", D(2027, 1, 6)),
        Delay("S1", D(2026, 12, 20), "corrected reason", D(2027, 1, 6)),
        Delay("S1", D(2027, 1, 2), "logged during the cycle, no date"),
        Delay("S2", D(2027, 1, 3), "another student's", D(2027, 1, 6)),
    ]
    ((late,),) = (y.late for y in timeliness(held, delays))
    assert late.reason == "corrected reason"


def test_entry_logged_during_the_cycle_without_a_date_explains_it() -> None:
    """Without a matching meeting date, the latest entry logged while the cycle was open counts,
    including one logged on the meeting day; one naming an older planned date counts too."""
    held = [_held("S1", D(2026, 12, 15), D(2027, 1, 6))]
    delays = [
        Delay("S1", D(2026, 12, 16), "LEA out sick", D(2026, 12, 17)),
        Delay("S1", D(2027, 1, 6), "roads closed"),
    ]
    assert timeliness(held, delays)[0].late[0].reason == "roads closed"
    assert timeliness(held, delays[:1])[0].late[0].reason == "LEA out sick"


def test_entries_belong_to_their_own_cycle() -> None:
    """An entry logged after a meeting (no date given) explains the next cycle, not that one;
    one logged before the previous meeting does not explain the later one."""
    held = [
        _held("S1", D(2025, 12, 15), D(2026, 1, 5)),  # late, reason logged before it
        _held("S1", D(2026, 12, 15), D(2027, 1, 8)),  # late, reason logged after the first
    ]
    delays = [
        Delay("S1", D(2025, 12, 18), "first year's reason"),
        Delay("S1", D(2026, 1, 20), "second year's reason"),
    ]
    first, second = timeliness(held, delays)
    assert [m.reason for m in first.late] == ["first year's reason"]
    assert [m.reason for m in second.late] == ["second year's reason"]
    assert timeliness(held, delays[:1])[1].late[0].reason == NO_REASON


def test_held_meetings_from_cycles_and_plans_once_each() -> None:
    """Held annual cycles count; a plan's held meeting not yet recorded counts; a recorded one
    is not counted twice; the reevaluation track and booked meetings do not count."""
    cycles = {
        ("S1", "annual"): [
            Cycle("S1", "annual", "2025-12-15", D(2025, 12, 15), D(2026, 1, 5)),
            Cycle("S1", "annual", "2026-12-15", D(2026, 12, 15)),
        ],
        ("S1", "reeval"): [Cycle("S1", "reeval", "R2026-03-02", D(2026, 3, 2), D(2026, 3, 9))],
        ("S2", "annual"): [Cycle("S2", "annual", "2027-01-20", D(2027, 1, 20), D(2027, 1, 6))],
    }
    plans = [
        _plan("S2", D(2027, 1, 20), D(2027, 1, 6), "held", "2027-01-20"),  # recorded already
        _plan("S3", D(2027, 1, 4), D(2027, 1, 6), "held", "2027-01-04"),  # not yet recorded
        _plan("S4", D(2027, 1, 4), D(2027, 1, 12), "booked", "2027-01-04"),
    ]
    assert held_meetings(cycles, plans) == (
        HeldMeeting("S1", "2025-12-15", D(2025, 12, 15), D(2026, 1, 5)),
        HeldMeeting("S2", "2027-01-20", D(2027, 1, 20), D(2027, 1, 6)),
        HeldMeeting("S3", "2027-01-04", D(2027, 1, 4), D(2027, 1, 6)),
    )

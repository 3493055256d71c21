"""Bugs found while running the product end to end, each pinned by a test."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from calendars import context, student

from iepsched.model import BookedMeeting
from iepsched.schedule import plan_district

TZ = ZoneInfo("America/Chicago")
D = dt.date


def test_a_meeting_booked_late_from_the_start_is_kept_night_after_night() -> None:
    """An infeasible meeting booked after DUE against that same DUE stays (no nightly PATCH)."""
    due = D(2026, 12, 8)
    start = dt.datetime(2026, 12, 10, 7, 45, tzinfo=TZ)
    booked = BookedMeeting("S1", start, start + dt.timedelta(hours=1), due_date=due)
    plan = plan_district(
        [student("S1", due_date=due)], context(), today=D(2026, 11, 30), booked={"S1": booked}
    ).plans[0]
    assert plan.meeting is not None
    assert (plan.meeting.start, plan.meeting.state) == (start, "booked")
    assert plan.status == "infeasible"


def test_a_correction_that_makes_a_booked_meeting_late_moves_it() -> None:
    """Booked on time against the old DUE; the roster's earlier DUE moves it, with a warning."""
    start = dt.datetime(2027, 1, 6, 7, 45, tzinfo=TZ)
    booked = BookedMeeting("S1", start, start + dt.timedelta(hours=1), due_date=D(2027, 1, 20))
    plan = plan_district(
        [student("S1", due_date=D(2027, 1, 5))],
        context(),
        today=D(2026, 11, 30),
        booked={"S1": booked},
    ).plans[0]
    assert plan.meeting is not None
    assert plan.meeting.state == "proposed"
    assert plan.meeting.date <= D(2027, 1, 5)
    assert any("corrected due date" in w for w in plan.warnings)

"""When the meeting's milestones are `done` (SPEC §3.3): a proposed or booked meeting is never
done; staff_invite is done once the event exists (booked); the meeting once it is held."""

from __future__ import annotations

import datetime as dt

import pytest
from calendars import D, at, context, student

from iepsched.core.model import BookedMeeting, StudentPlan
from iepsched.core.schedule import plan_district

TODAY = D(2026, 12, 1)
MEETING = D(2027, 1, 5)


def _plan(today: dt.date, *, booked: bool) -> StudentPlan:
    """The SPEC §4 example student (DUE 2027-01-20), its meeting booked on MEETING or not."""
    start = at(MEETING, "15:30")
    meetings = (
        {"S1001": BookedMeeting("S1001", start, start + dt.timedelta(hours=1))} if booked else {}
    )
    (plan,) = plan_district([student()], context(), today=today, booked=meetings).plans
    return plan


def _status(plan: StudentPlan, key: str) -> str:
    found = plan.milestone(key)
    assert found is not None
    return found.status


def test_booked_meeting_is_not_done_before_it_happens() -> None:
    """A booked meeting in the future is upcoming, not done (the `plan S1028` bug)."""
    plan = _plan(TODAY, booked=True)
    assert plan.meeting is not None and plan.meeting.state == "booked"
    assert _status(plan, "meeting") == "upcoming"


def test_booked_meeting_on_its_own_day_is_not_done() -> None:
    """On the meeting's day it is not held yet (it may still be moved): due soon, not done."""
    plan = _plan(MEETING, booked=True)
    assert plan.meeting is not None and plan.meeting.state == "booked"
    assert _status(plan, "meeting") == "due_soon"


def test_staff_invite_is_done_once_the_event_exists() -> None:
    """The staff invitation is the booked event itself: done as soon as it is booked."""
    assert _status(_plan(TODAY, booked=True), "staff_invite") == "done"


@pytest.mark.parametrize("key", ["meeting", "staff_invite"])
def test_proposed_meeting_is_never_done(key: str) -> None:
    """A meeting only proposed by the ladder has neither milestone done."""
    plan = _plan(TODAY, booked=False)
    assert plan.meeting is not None and plan.meeting.state == "proposed"
    assert _status(plan, key) != "done"


@pytest.mark.parametrize("key", ["meeting", "staff_invite"])
def test_held_meeting_is_done(key: str) -> None:
    """Once the booked day has passed the meeting is held: both milestones are done."""
    plan = _plan(MEETING + dt.timedelta(days=1), booked=True)
    assert plan.meeting is not None and plan.meeting.state == "held"
    assert _status(plan, key) == "done"


def test_booked_and_held_students_do_not_share_statuses() -> None:
    """Two students with the same meeting day, one booked and one only proposed, are judged apart
    (milestones are shared between students with the same inputs)."""
    start = at(MEETING, "15:30")
    booked = {"S1": BookedMeeting("S1", start, start + dt.timedelta(hours=1))}
    plans = plan_district(
        [student("S1"), student("S2")], context(), today=TODAY, booked=booked
    ).plans
    by_id = {p.student_id: p for p in plans}
    assert _status(by_id["S1"], "staff_invite") == "done"
    assert _status(by_id["S2"], "staff_invite") != "done"


def test_students_sharing_a_milestone_set_keep_their_own_contact_requirement() -> None:
    """Two students with the same meeting day share one milestone set; the one with two contacts
    by two methods has the requirement met and the contact steps done, the other does not."""
    from iepsched.core.model import Contact

    def contact(day: dt.date, method: str) -> Contact:
        return Contact("S1", at(day, "10:00"), method, "parent", "reached")

    logged = {"S1": [contact(D(2026, 11, 20), "phone"), contact(D(2026, 11, 23), "email")]}
    kids = [student("S1"), student("S2"), student("S3")]
    plans = plan_district(kids, context(), today=TODAY, contacts=logged).by_id
    met, unmet, other = plans["S1"].contacts, plans["S2"].contacts, plans["S3"].contacts
    assert met is not None and met.met and len(met.qualifying) == 2
    assert unmet is not None and not unmet.met and unmet.qualifying == ()
    assert other == unmet
    assert _status(plans["S1"], "parent_contact_1") == "done"
    assert _status(plans["S2"], "parent_contact_1") != "done"
    assert plans["S1"].meeting is not None and plans["S2"].meeting is not None

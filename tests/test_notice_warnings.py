"""Issue 10.2: the warnings a case manager sees name the written notice's own school-day date, say
when it is due now, and tell a meeting a person moved past the due date apart from a full ladder."""

from __future__ import annotations

import datetime as dt

from calendars import D, at, context, student
from test_summer import CONFIG, sample_plan

from iepsched.core.model import BookedMeeting
from iepsched.core.schedule import plan_district
from iepsched.inputs.calendars import load_calendars
from iepsched.inputs.config import load_config


def test_at_risk_asks_for_the_written_notice_milestones_own_date() -> None:
    """A meeting on Wed 2027-05-12 (DUE 05-18) at 2027-04-26: "send written notice by" the
    task's date (a Wednesday), not M - 10 (Sunday 2027-05-02)."""
    s = student(due_date=D(2027, 5, 18))
    booked = {
        s.student_id: BookedMeeting(
            s.student_id, at(D(2027, 5, 12), "07:45"), at(D(2027, 5, 12), "08:45")
        )
    }
    p = plan_district([s], context(), today=D(2027, 4, 26), booked=booked).get(s.student_id)
    assert p is not None and p.status == "at_risk"
    notice = p.milestone("written_notice")
    assert notice is not None and notice.date == D(2027, 4, 28)
    assert "send written notice by 2027-04-28." in p.warning_texts[0]
    assert "2027-05-02" not in " ".join(p.warning_texts)


def test_every_asked_notice_date_is_a_school_day() -> None:
    """No sample warning at either demo date asks for written notice on a weekend or in summer."""
    import re

    calendars = load_calendars(load_config(CONFIG))
    for today in (D(2026, 11, 30), D(2027, 3, 1), D(2027, 4, 26)):
        for p in sample_plan(today).plans:
            cal = calendars.calendar_for(p.student)
            for text in p.warning_texts:
                for day in re.findall(r"written notice by (\d{4}-\d\d-\d\d)", text):
                    assert cal.is_school_day(dt.date.fromisoformat(day)), (p.student_id, text)


def test_overdue_warning_says_written_notice_is_due_now() -> None:
    """S1036 (overdue, written notice already late): the overdue sentence says to send it."""
    p = sample_plan(D(2026, 11, 30)).get("S1036")
    assert p is not None and p.status == "overdue"
    assert "Send written notice today (it was due 2026-11-24)." in p.warning_texts[0]


def test_a_meeting_moved_by_a_person_past_due_has_its_own_sentence() -> None:
    """Moved in Outlook one day past DUE: "moved by a person", "1 day late", no "Free a slot"."""
    s = student(due_date=D(2027, 1, 20))
    moved = BookedMeeting(
        s.student_id, at(D(2027, 1, 21), "15:30"), at(D(2027, 1, 21), "16:30"), adopted=True
    )
    p = plan_district([s], context(), today=D(2026, 12, 1), booked={s.student_id: moved}).plans[0]
    assert p.status == "infeasible"
    assert p.warning_texts == (
        "The meeting was moved by a person to 2027-01-21, after the due date 2027-01-20: the IEP "
        "will be 1 day late unless the team meets on or before 2027-01-20; if it cannot, "
        "document the reason for the delay.",
    )
    assert p.warnings[0].code == "moved_by_person"


def test_infeasible_days_late_is_singular_for_one_day() -> None:
    """A proposal one day after DUE says "1 day late", not "1 days"."""
    s = student(due_date=D(2027, 1, 20))
    p = plan_district([s], context(), today=D(2027, 1, 11)).plans[0]
    assert p.meeting is not None and p.meeting.date == D(2027, 1, 21)
    assert "(1 day late)" in p.warning_texts[0]

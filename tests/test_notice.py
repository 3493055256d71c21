"""outputs.notice: the facts of a notice, dates in the family's language, safe file names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from iepsched.core.errors import UserError
from iepsched.core.model import (
    Contact,
    ContactRequirement,
    DecisionMaker,
    Meeting,
    Milestone,
    SchoolYear,
    Student,
    StudentPlan,
)
from iepsched.core.schoolcal import SchoolCalendar
from iepsched.outputs.notice import (
    Notice,
    build_notice,
    clock,
    cycle_contacts,
    long_date,
    notice_file_name,
    render_notice,
    short_date,
    zone_label,
)

CHICAGO = ZoneInfo("America/Chicago")
TODAY = dt.date(2026, 11, 30)
MEETING_DAY = dt.date(2026, 12, 14)


def _student(**changes: object) -> Student:
    base: dict[str, object] = {
        "student_id": "S1",
        "first_name": "Ana",
        "last_name": "Ruiz",
        "birth_date": dt.date(2012, 6, 1),
        "building": "North High",
        "case_manager_email": "cm@example.org",
        "lea_email": "lea@example.org",
        "due_date": dt.date(2026, 12, 20),
        "decision_makers": (
            DecisionMaker("Rosa Ruiz", address="1 Elm St"),
            DecisionMaker("Luis Ruiz"),
        ),
    }
    base.update(changes)
    return Student(**base)


def _plan(student: Student, *, meeting: bool = True, invite: bool = False) -> StudentPlan:
    start = dt.datetime(2026, 12, 14, 15, 30, tzinfo=CHICAGO)
    milestones = (
        (Milestone("invite_student", dt.date(2026, 11, 30), "task", "upcoming", "Invite"),)
        if invite
        else ()
    )
    return StudentPlan(
        student=student,
        today=TODAY,
        due_date=student.due_date,
        next_due_date=None,
        status="on_track",
        meeting=Meeting(MEETING_DAY, start, start + dt.timedelta(hours=1), "booked", "on_track")
        if meeting
        else None,
        milestones=milestones,
        contacts=ContactRequirement(met=False, deadline=dt.date(2026, 11, 30)),
    )


def _build(plan: StudentPlan, **changes: object) -> Notice:
    args: dict[str, object] = {
        "lang": None,
        "issued_on": TODAY,
        "district_name": "Test District",
        "timezone": "America/Chicago",
        "tz": CHICAGO,
        "room": "",
        "rights_transfer_age": 18,
        "contacts": (),
        "calendar": None,
    }
    args.update(changes)
    return build_notice(plan, **args)


def _contact(day: dt.date, student: str = "S1", method: str = "phone") -> Contact:
    when = dt.datetime.combine(day, dt.time(12), CHICAGO)
    return Contact(student, when, method, "Rosa", "reached")


def test_dates_in_english_and_spanish_without_a_locale() -> None:
    """Month and weekday names come from the notice's language, not the server's locale."""
    day = dt.date(2027, 9, 1)
    assert long_date(day, "en") == "Wednesday, September 1, 2027"
    assert long_date(day, "es") == "miércoles, 1 de septiembre de 2027"
    assert short_date(day, "en") == "September 1, 2027"
    assert short_date(day, "es") == "1 de septiembre de 2027"


@pytest.mark.parametrize(
    ("time", "en", "es"),
    [
        (dt.time(7, 45), "7:45 a.m.", "7:45 a. m."),
        (dt.time(12, 0), "12:00 p.m.", "12:00 p. m."),
        (dt.time(0, 5), "12:05 a.m.", "12:05 a. m."),
        (dt.time(15, 30), "3:30 p.m.", "3:30 p. m."),
    ],
)
def test_clock_is_twelve_hour_in_both_languages(time: dt.time, en: str, es: str) -> None:
    """Families read a 12-hour clock; noon is p.m. and midnight a.m."""
    assert clock(time, "en") == en
    assert clock(time, "es") == es


def test_zone_label_names_the_zone_and_its_current_abbreviation() -> None:
    """Central Time says CST in winter and CDT in summer; an unlisted zone shows its IANA name."""
    winter = dt.datetime(2026, 12, 14, 7, 45, tzinfo=CHICAGO)
    summer = dt.datetime(2027, 6, 1, 7, 45, tzinfo=CHICAGO)
    assert zone_label(winter, "America/Chicago", "en") == "Central Time (CST)"
    assert zone_label(summer, "America/Chicago", "es") == "hora del centro (CDT)"
    lima = dt.datetime(2026, 12, 14, 7, 45, tzinfo=ZoneInfo("America/Lima"))
    assert zone_label(lima, "America/Lima", "en") == "America/Lima"


def test_file_names_are_ids_made_safe_and_distinct() -> None:
    """An id is the file name; an id a path would misread is made safe, never colliding."""
    assert notice_file_name("S1001") == "S1001-notice.html"
    odd = notice_file_name("../etc/x")
    assert "/" not in odd and not odd.startswith(".")
    assert odd != notice_file_name("etc_x") and odd != notice_file_name("../etc x")


def test_no_meeting_is_a_user_error() -> None:
    """Without a placed meeting there is nothing to give notice of: UserError, exit 2."""
    with pytest.raises(UserError, match="the meeting is not placed yet"):
        _build(_plan(_student(), meeting=False))


def test_home_language_is_the_default_and_lang_overrides_it() -> None:
    """lang None takes the roster's home_language; a given lang wins."""
    spanish = _student(home_language="es")
    assert _build(_plan(spanish)).lang == "es"
    assert _build(_plan(spanish), lang="en").lang == "en"


def test_adult_student_is_a_recipient() -> None:
    """18 at the meeting (a birthday the day before counts): the student is addressed too."""
    adult = _student(birth_date=dt.date(2008, 12, 13))
    notice = _build(_plan(adult))
    assert notice.adult
    names = [(r.name, r.is_student) for r in notice.recipients]
    assert names == [("Rosa Ruiz", False), ("Luis Ruiz", False), ("Ana Ruiz", True)]
    minor = _student(birth_date=dt.date(2008, 12, 15))  # 18 the day after the meeting
    assert not _build(_plan(minor)).adult


def test_transition_follows_the_plans_invite_student_step() -> None:
    """Transition is a purpose exactly when the rules put invite_student in the plan."""
    assert _build(_plan(_student(), invite=True)).transition
    assert not _build(_plan(_student(), invite=False)).transition


def test_cycle_contacts_are_this_meetings() -> None:
    """Listed: this student's contacts after DUE − 1 year and up to the meeting day, in order."""
    plan = _plan(_student())
    contacts = [
        _contact(dt.date(2026, 11, 24), method="email"),
        _contact(dt.date(2026, 11, 20)),
        _contact(dt.date(2025, 12, 20)),  # the previous IEP's anniversary: last cycle's
        _contact(dt.date(2026, 12, 15)),  # after the meeting
        _contact(dt.date(2026, 11, 21), student="S2"),
    ]
    listed = cycle_contacts(plan, contacts, MEETING_DAY)
    assert [c.at.date() for c in listed] == [dt.date(2026, 11, 20), dt.date(2026, 11, 24)]


def _calendar() -> SchoolCalendar:
    year = SchoolYear("2026-27", dt.date(2026, 8, 13), dt.date(2027, 5, 21))
    return SchoolCalendar("test", [year])


def test_reevaluation_purpose_needs_the_meeting_within_40_school_days_before_r() -> None:
    """[school(R, −40), R] makes it the reevaluation meeting too; earlier, or no calendar: not."""
    cal = _calendar()
    near = _student(reeval_due_date=cal.add_school_days(MEETING_DAY, 40))
    far = _student(reeval_due_date=cal.add_school_days(MEETING_DAY, 41))
    past = _student(reeval_due_date=dt.date(2026, 12, 11))
    assert _build(_plan(near), calendar=cal).reevaluation
    assert not _build(_plan(far), calendar=cal).reevaluation
    assert not _build(_plan(past), calendar=cal).reevaluation
    assert not _build(_plan(near), calendar=None).reevaluation


def test_undefined_value_in_a_district_template_is_an_error(tmp_path: Path) -> None:
    """A misspelt value is refused (StrictUndefined), never left as a blank in a legal notice."""
    (tmp_path / "notice.en.html.j2").write_text("<p>{{ n.meting_date }}</p>", encoding="utf-8")
    with pytest.raises(UserError, match="template error"):
        render_notice(_build(_plan(_student())), templates=tmp_path)


def test_district_template_cannot_reach_python_internals(tmp_path: Path) -> None:
    """The sandbox refuses attribute tricks a template could use to run code."""
    (tmp_path / "notice.en.html.j2").write_text(
        "{{ n.__class__.__init__.__globals__ }}", encoding="utf-8"
    )
    with pytest.raises(UserError, match="template error"):
        render_notice(_build(_plan(_student())), templates=tmp_path)


def test_short_notice_is_said_in_the_letter() -> None:
    """Under 10 days ahead, the letter asks the family whether they agree to meet that soon."""
    notice = _build(_plan(_student()), issued_on=dt.date(2026, 12, 7))
    assert notice.short_notice
    html = render_notice(notice)
    assert "This notice comes less than 10 days before the meeting." in html
    assert "less than" not in render_notice(_build(_plan(_student())))

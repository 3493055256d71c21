"""Backward scheduling over a real calendar: the meeting ladder, milestones, statuses (SPEC §3)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pytest
from calendars import CHICAGO, D, at, context, kansas, student
from dateutil.relativedelta import relativedelta

from iepsched.core.model import (
    BookedMeeting,
    Contact,
    Interval,
    SchoolYear,
    Student,
    StudentPlan,
)
from iepsched.core.rules import DEFAULT_RULES, parse_rule
from iepsched.core.schedule import (
    PlanContext,
    add_months,
    age_on,
    contact_requirement,
    due_date_from,
    evaluate,
    next_due_from,
    plan_district,
)
from iepsched.core.schoolcal import SchoolCalendar, UnknownDate

TODAY = D(2026, 9, 1)
CAL = kansas()
CAL_2026 = kansas("2026-27")
UTC = dt.UTC

ANNUAL_KEYS = [
    "begin_development",
    "parent_contact_1",
    "parent_contact_2",
    "create_draft_in_webkidss",
    "written_notice",
    "staff_invite",
    "collect_present_levels",
    "draft_iep",
    "send_draft",
    "prepare_meeting",
    "meeting",
    "submit_paperwork",
    "distribute_iep",
    "progress_monitoring",
]


def plan_all(
    students: Sequence[Student],
    *,
    today: dt.date = TODAY,
    ctx: PlanContext | None = None,
    **kw: Any,
) -> list[StudentPlan]:
    """Plan several students; return their plans in placement order."""
    return list(plan_district(students, ctx or context(), today=today, **kw).plans)


def plan_one(s: Student | None = None, **kw: Any) -> StudentPlan:
    """Plan one student (default: the SPEC §4 example student)."""
    (found,) = plan_all([s or student()], **kw)
    return found


def timeline(p: StudentPlan) -> list[tuple[str, dt.date | None]]:
    return [(m.key, m.date) for m in p.milestones]


def statuses(p: StudentPlan) -> dict[str, str]:
    return {m.key: m.status for m in p.milestones}


def meeting_at(p: StudentPlan) -> tuple[dt.date, str] | None:
    """The meeting's local date and start time, e.g. (2027-01-06, "07:45")."""
    if p.meeting is None:
        return None
    return p.meeting.date, p.meeting.start.astimezone(CHICAGO).strftime("%H:%M")


def all_day(*days: dt.date) -> list[Interval]:
    """Busy all day (local) on each of `days`."""
    return [Interval(at(d, "00:00"), at(d, "00:00") + dt.timedelta(days=1)) for d in days]


def busy_between(first: dt.date, last: dt.date) -> list[Interval]:
    """Busy from the start of `first` to the end of `last` (local)."""
    return [Interval(at(first, "00:00"), at(last, "00:00") + dt.timedelta(days=1))]


def booked(sid: str, day: dt.date, hhmm: str = "15:30", **kw: Any) -> dict[str, BookedMeeting]:
    start = at(day, hhmm)
    return {sid: BookedMeeting(sid, start, start + dt.timedelta(minutes=60), **kw)}


def contact(day: dt.date, method: str, sid: str = "S1001") -> Contact:
    return Contact(sid, at(day, "10:00"), method, "mother", "reached")


# -- pure date helpers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        pytest.param(D(2027, 3, 31), -1, D(2027, 2, 28), id="mar-31-minus-1-clamps"),
        pytest.param(D(2028, 3, 31), -1, D(2028, 2, 29), id="leap-year-feb-29"),
        pytest.param(D(2027, 1, 31), 1, D(2027, 2, 28), id="jan-31-plus-1"),
        pytest.param(D(2026, 12, 15), 1, D(2027, 1, 15), id="over-new-year"),
        pytest.param(D(2027, 1, 15), -1, D(2026, 12, 15), id="back-over-new-year"),
        pytest.param(D(2024, 2, 29), 12, D(2025, 2, 28), id="feb-29-plus-a-year"),
        pytest.param(D(2027, 5, 31), -3, D(2027, 2, 28), id="may-31-minus-3"),
        pytest.param(D(2027, 1, 6), 0, D(2027, 1, 6), id="zero"),
    ],
)
def test_add_months_clamps_like_relativedelta(day: dt.date, months: int, expected: dt.date) -> None:
    """add_months(d, n) == d + relativedelta(months=n): the day clamps to the month's end."""
    assert add_months(day, months) == expected
    assert day + relativedelta(months=months) == expected


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        pytest.param(D(2013, 1, 6), D(2027, 1, 6), 14, id="14th-birthday"),
        pytest.param(D(2013, 1, 7), D(2027, 1, 6), 13, id="day-before-14th-birthday"),
        pytest.param(D(2012, 2, 29), D(2026, 2, 28), 14, id="leap-birthday-counts-feb-28"),
        pytest.param(D(2012, 2, 29), D(2026, 2, 27), 13, id="leap-birthday-day-before"),
        pytest.param(D(2012, 2, 29), D(2028, 2, 28), 15, id="leap-year-waits-for-feb-29"),
        pytest.param(D(2012, 2, 29), D(2028, 2, 29), 16, id="leap-year-feb-29"),
        pytest.param(D(2027, 12, 6), D(2027, 1, 6), 0, id="before-birth-truncates-to-zero"),
        pytest.param(D(2030, 1, 5), D(2027, 1, 6), -2, id="years-before-birth"),
        pytest.param(D(2030, 1, 7), D(2027, 1, 6), -3, id="years-before-birth-past-a-day"),
    ],
)
def test_age_on_is_relativedelta_years(birth: dt.date, day: dt.date, age: int) -> None:
    """age_on(birth, day) == relativedelta(day, birth).years, Feb 29 birthdays included."""
    assert age_on(birth, day) == age
    assert relativedelta(day, birth).years == age


@pytest.mark.parametrize(
    ("last_iep", "iep_due", "due"),
    [
        pytest.param(D(2026, 1, 21), None, D(2027, 1, 20), id="last-iep-plus-year-minus-day"),
        pytest.param(D(2026, 1, 21), D(2027, 1, 8), D(2027, 1, 8), id="iep-due-wins"),
        pytest.param(None, D(2027, 1, 8), D(2027, 1, 8), id="iep-due-only"),
        pytest.param(D(2024, 2, 29), None, D(2025, 2, 27), id="leap-day-last-iep"),
        pytest.param(D(2026, 3, 1), None, D(2027, 2, 28), id="march-1"),
        pytest.param(None, None, None, id="neither"),
    ],
)
def test_due_date_from(last_iep: dt.date | None, iep_due: dt.date | None, due: dt.date) -> None:
    """DUE = iep_due_date, else last_iep_date + 1 year - 1 day (SPEC §3.1)."""
    assert due_date_from(last_iep, iep_due) == due


@pytest.mark.parametrize(
    ("meeting", "next_due"),
    [
        pytest.param(D(2027, 1, 6), D(2028, 1, 5), id="spec-example"),
        pytest.param(D(2028, 2, 29), D(2029, 2, 27), id="leap-day-meeting"),
        pytest.param(D(2027, 3, 1), D(2028, 2, 29), id="into-a-leap-february"),
    ],
)
def test_next_due_from(meeting: dt.date, next_due: dt.date) -> None:
    """NEXT_DUE = M + 1 year - 1 day."""
    assert next_due_from(meeting) == next_due


@pytest.mark.parametrize(
    ("rule", "anchor", "expected"),
    [
        pytest.param("cal(M, -14)", D(2027, 1, 6), D(2026, 12, 18), id="cal-into-winter-break"),
        pytest.param("cal(M, -21)", D(2027, 1, 6), D(2026, 12, 16), id="cal-before-break"),
        pytest.param("cal(M, -14)", D(2026, 12, 11), D(2026, 11, 24), id="cal-into-thanksgiving"),
        pytest.param("school(M, -1)", D(2027, 1, 19), D(2027, 1, 15), id="tue-after-mlk-monday"),
        pytest.param("school(M, -1)", D(2026, 9, 8), D(2026, 9, 4), id="tue-after-labor-day"),
        pytest.param("school(M, -1)", D(2027, 2, 16), D(2027, 2, 12), id="tue-after-presidents"),
        pytest.param("cal(M, -2)", D(2027, 3, 22), D(2027, 3, 12), id="cal-into-spring-break"),
        pytest.param("school(M, -5)", D(2027, 3, 23), D(2027, 3, 9), id="school-over-spring"),
        pytest.param("school(M, 10)", D(2027, 3, 10), D(2027, 3, 31), id="after-over-spring"),
        pytest.param("school(M, 10)", D(2027, 1, 6), D(2027, 1, 21), id="after-over-mlk"),
        pytest.param("months(M, -1)", D(2027, 3, 31), D(2027, 2, 26), id="mar-31-to-feb-28-sun"),
        pytest.param("months(M, -1)", D(2028, 3, 31), D(2028, 2, 29), id="mar-31-to-leap-day"),
        pytest.param("months(M, -1)", D(2027, 1, 6), D(2026, 12, 4), id="months-to-sunday"),
        pytest.param("days(M, 14)", D(2026, 12, 10), D(2027, 1, 4), id="days-into-break-moves-on"),
        pytest.param("days(M, 14)", D(2027, 1, 6), D(2027, 1, 20), id="days-plain"),
        pytest.param("prev(R)", D(2027, 3, 17), D(2027, 3, 12), id="prev-in-spring-break"),
        pytest.param("prev(R)", D(2027, 7, 4), D(2027, 5, 21), id="prev-in-summer"),
        pytest.param("school(R, -65)", D(2027, 5, 1), D(2027, 1, 22), id="reeval-consent"),
    ],
)
def test_evaluate_rules_on_the_real_calendar(rule: str, anchor: dt.date, expected: dt.date) -> None:
    """Each rule form lands where SPEC §3 says over holidays, breaks and month ends."""
    assert evaluate(parse_rule(rule), anchor, CAL) == expected


def test_evaluate_raises_for_an_unloaded_year() -> None:
    """A rule that needs an unloaded year raises UnknownDate naming that year."""
    with pytest.raises(UnknownDate) as info:
        evaluate(parse_rule("school(M, 10)"), D(2027, 5, 21), CAL_2026)
    assert info.value.school_year == "2027-28"


# -- the SPEC §4 example ----------------------------------------------------------------------

SPEC_EXAMPLE_TIMELINE = [
    ("begin_development", D(2026, 12, 4)),
    ("parent_contact_1", D(2026, 12, 16)),
    ("collect_present_levels", D(2026, 12, 16)),
    ("parent_contact_2", D(2026, 12, 18)),
    ("create_draft_in_webkidss", D(2026, 12, 18)),
    ("written_notice", D(2026, 12, 18)),
    ("staff_invite", D(2026, 12, 18)),
    ("draft_iep", D(2026, 12, 18)),
    ("send_draft", D(2027, 1, 4)),
    ("prepare_meeting", D(2027, 1, 5)),
    ("meeting", D(2027, 1, 6)),
    ("progress_report:2026-27:Q2", D(2027, 1, 8)),
    ("progress_monitoring", D(2027, 1, 20)),
    ("submit_paperwork", D(2027, 1, 21)),
    ("distribute_iep", D(2027, 1, 21)),
    ("progress_report:2026-27:Q3", D(2027, 3, 26)),
    ("progress_report:2026-27:Q4", D(2027, 5, 21)),
    ("progress_report:2027-28:Q1", D(2027, 10, 22)),
]


def test_spec_section_4_example() -> None:
    """DUE 2027-01-20, today 2026-09-01: meeting 2027-01-06, NEXT_DUE 2028-01-05, begin 12-04."""
    p = plan_one()
    assert p.meeting is not None
    assert p.due_date == D(2027, 1, 20)
    assert p.next_due_date == D(2028, 1, 5)
    assert p.status == "on_track"
    assert (p.meeting.date, p.meeting.state, p.meeting.rung) == (
        D(2027, 1, 6),
        "proposed",
        "on_track",
    )
    assert p.meeting.start.isoformat() == "2027-01-06T07:45:00-06:00"
    assert p.meeting.end.isoformat() == "2027-01-06T08:45:00-06:00"
    assert p.warning_texts == ()


def test_spec_example_timeline_in_date_order_with_ties_in_spec_order() -> None:
    """Every milestone of the example, sorted by date; same-day ones in SPEC §3.2 order."""
    p = plan_one()
    assert timeline(p) == SPEC_EXAMPLE_TIMELINE
    assert set(statuses(p).values()) == {"upcoming"}
    deliveries = {m.key: m.delivery for m in p.milestones}
    assert deliveries["staff_invite"] == deliveries["meeting"] == "event"
    assert deliveries["progress_monitoring"] == "recurring_task"
    assert deliveries["progress_report:2026-27:Q2"] == "task"
    titles = {m.key: m.title for m in p.milestones}
    assert titles["progress_report:2027-28:Q1"] == "Send the progress report home (2027-28 Q1)"


# -- summer, month ends, ages -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "today", "meeting"),
    [
        pytest.param(D(2027, 7, 15), D(2027, 3, 1), D(2027, 5, 21), id="due-in-july"),
        pytest.param(D(2027, 6, 10), D(2027, 3, 1), D(2027, 5, 21), id="due-in-june"),
        pytest.param(D(2027, 6, 7), D(2027, 3, 1), D(2027, 5, 21), id="latest-on-memorial-day"),
        pytest.param(D(2027, 6, 4), D(2027, 3, 1), D(2027, 5, 21), id="latest-on-last-day"),
        pytest.param(D(2027, 6, 3), D(2027, 3, 1), D(2027, 5, 20), id="latest-before-last-day"),
    ],
)
def test_summer_due_dates_pull_the_meeting_back_into_may(
    due: dt.date, today: dt.date, meeting: dt.date
) -> None:
    """A DUE in summer puts the meeting on the last school days before summer, on track."""
    p = plan_one(student(due_date=due), today=today)
    assert p.meeting is not None
    assert (p.meeting.date, p.meeting.rung, p.status) == (meeting, "on_track", "on_track")


def test_summer_meeting_with_next_year_unloaded_leaves_undated_milestones_last() -> None:
    """After-meeting milestones in an unloaded year are null, unscheduled, last, with a warning."""
    # DUE - 14 = June 30, the last covered day; the meeting itself is still May 21.
    p = plan_one(student(due_date=D(2027, 7, 14)), today=D(2027, 3, 1), ctx=context(CAL_2026))
    assert timeline(p) == [
        ("begin_development", D(2027, 4, 21)),
        ("parent_contact_1", D(2027, 4, 30)),
        ("parent_contact_2", D(2027, 5, 7)),
        ("create_draft_in_webkidss", D(2027, 5, 7)),
        ("written_notice", D(2027, 5, 7)),
        ("staff_invite", D(2027, 5, 7)),
        ("collect_present_levels", D(2027, 5, 14)),
        ("draft_iep", D(2027, 5, 18)),
        ("send_draft", D(2027, 5, 19)),
        ("prepare_meeting", D(2027, 5, 20)),
        ("meeting", D(2027, 5, 21)),
        ("progress_report:2026-27:Q4", D(2027, 5, 21)),
        ("submit_paperwork", None),
        ("distribute_iep", None),
        ("progress_monitoring", None),
    ]
    undated = [m.status for m in p.milestones if m.date is None]
    assert undated == ["unscheduled"] * 3
    assert p.warning_texts == (
        "Progress reports after 2027-05-21 in school year 2027-28 are not planned: load that "
        "calendar (USD 500) to add them.",
        "Load the 2027-28 school calendar (USD 500): submit_paperwork, distribute_iep, "
        "progress_monitoring cannot be dated until it is.",
    )


def test_summer_meeting_with_next_year_loaded_dates_everything() -> None:
    """With 2027-28 loaded, paperwork and monitoring land in the new year's first days."""
    p = plan_one(student(due_date=D(2027, 7, 15)), today=D(2027, 3, 1))
    found = dict(timeline(p))
    assert found["submit_paperwork"] == D(2027, 8, 25)
    assert found["progress_monitoring"] == D(2027, 8, 12)  # June 4 is summer: next school day
    reports = [k for k, _ in timeline(p) if k.startswith("progress_report")]
    assert reports == [
        "progress_report:2026-27:Q4",
        "progress_report:2027-28:Q1",
        "progress_report:2027-28:Q2",
        "progress_report:2027-28:Q3",
    ]
    assert p.warning_texts == ()


def test_month_end_begin_development() -> None:
    """months(M, -1) for M = Mar 31 gives Feb 28 (a Sunday), moved back to Friday Feb 26."""
    # DUE 2027-04-14 -> latest = cal(DUE, -14) = 2027-03-31.
    p = plan_one(student(due_date=D(2027, 4, 14)), today=D(2027, 1, 4))
    assert meeting_at(p) == (D(2027, 3, 31), "07:45")
    assert dict(timeline(p))["begin_development"] == D(2027, 2, 26)


@pytest.mark.parametrize(
    ("birth", "invited"),
    [
        pytest.param(D(2013, 1, 6), True, id="14-on-the-meeting-day"),
        pytest.param(D(2013, 1, 7), False, id="14-the-day-after"),
        pytest.param(D(2012, 1, 7), True, id="15"),
    ],
)
def test_invite_student_at_14_on_the_meeting_date(birth: dt.date, invited: bool) -> None:
    """invite_student applies exactly when the student is 14 or older at M (2027-01-06)."""
    p = plan_one(student(birth_date=birth))
    assert meeting_at(p) == (D(2027, 1, 6), "07:45")
    invite = p.milestone("invite_student")
    if invited:
        assert invite is not None
        assert (invite.date, invite.title) == (D(2026, 12, 18), "Invite the student to the meeting")
        keys = [k for k, d in timeline(p) if d == D(2026, 12, 18)]
        assert keys == [
            "parent_contact_2",
            "create_draft_in_webkidss",
            "written_notice",
            "invite_student",
            "staff_invite",
            "draft_iep",
        ]
    else:
        assert invite is None


@pytest.mark.parametrize(
    ("birth", "title"),
    [
        pytest.param(
            D(2009, 1, 6),
            "Send written notice of the meeting to both parents and to the student "
            "(rights transferred at 18)",
            id="18-on-the-meeting-day",
        ),
        pytest.param(
            D(2009, 1, 7),
            "Send written notice of the meeting to both parents",
            id="18-the-day-after",
        ),
    ],
)
def test_written_notice_includes_the_student_from_18(birth: dt.date, title: str) -> None:
    """At 18 on M the written notice also goes to the student (rights transfer)."""
    notice = plan_one(student(birth_date=birth)).milestone("written_notice")
    assert notice is not None and notice.title == title


def test_students_sharing_a_meeting_day_keep_their_own_age_rules() -> None:
    """Two students with the same M but different ages get different milestone sets."""
    older = student("S1", birth_date=D(2009, 1, 6))
    younger = student("S2", birth_date=D(2016, 1, 6))
    p_old, p_young = plan_all([older, younger])
    assert p_old.meeting is not None and p_young.meeting is not None
    assert p_old.meeting.date == p_young.meeting.date == D(2027, 1, 6)
    assert p_old.milestone("invite_student") is not None
    assert p_young.milestone("invite_student") is None
    old_notice, young_notice = (
        p_old.milestone("written_notice"),
        p_young.milestone("written_notice"),
    )
    assert old_notice is not None and young_notice is not None
    assert old_notice.title != young_notice.title


LEAP_CAL = SchoolCalendar("USD 501", [SchoolYear("2029-30", D(2029, 8, 15), D(2030, 5, 22))])


@pytest.mark.parametrize(
    ("due", "meeting", "invited"),
    [
        # cal(2030-03-14, -14) = Thursday 2030-02-28: a Feb 29 child is 14 that day.
        pytest.param(D(2030, 3, 14), D(2030, 2, 28), True, id="feb-28-counts-as-birthday"),
        pytest.param(D(2030, 3, 13), D(2030, 2, 27), False, id="feb-27-is-still-13"),
    ],
)
def test_leap_day_birthday_turns_14_on_feb_28(
    due: dt.date, meeting: dt.date, invited: bool
) -> None:
    """A Feb 29 birthday is reached on Feb 28 in a common year (relativedelta semantics)."""
    s = student(birth_date=D(2016, 2, 29), due_date=due)
    p = plan_one(s, today=D(2029, 9, 4), ctx=context(LEAP_CAL))
    assert p.meeting is not None and p.meeting.date == meeting
    assert (p.milestone("invite_student") is not None) is invited


# -- slots, caps and sharing people -----------------------------------------------------------


def test_slot_cap_moves_the_third_meeting_of_a_case_manager_to_another_day() -> None:
    """max_per_day per case manager: the third student on the same best day goes a day earlier."""
    ctx = context(slots=("07:45", "12:00", "15:30"), max_per_day=2)
    kids = [
        student(f"S{i}", lea_email=f"lea{i}@usd500.org", gen_ed_emails=(f"gen{i}@usd500.org",))
        for i in (1, 2, 3)
    ]
    assert [meeting_at(p) for p in plan_all(kids, ctx=ctx)] == [
        (D(2027, 1, 6), "07:45"),
        (D(2027, 1, 6), "12:00"),  # the case manager is in the 07:45 meeting
        (D(2027, 1, 5), "07:45"),  # two on Jan 6 already: the cap, not the slots, moves it
    ]


def test_two_case_managers_sharing_an_lea_never_overlap() -> None:
    """The LEA is required at both meetings, so the second takes the next slot, then next day."""
    kids = [
        student(f"S{i}", case_manager_email=f"cm{i}@usd500.org", gen_ed_emails=())
        for i in (1, 2, 3)
    ]
    assert [meeting_at(p) for p in plan_all(kids)] == [
        (D(2027, 1, 6), "07:45"),
        (D(2027, 1, 6), "15:30"),
        (D(2027, 1, 5), "07:45"),
    ]


def test_shared_gen_ed_teacher_is_a_required_person() -> None:
    """Gen-ed teachers are required: two meetings sharing one never overlap."""
    a = student("S1", case_manager_email="cm1@usd500.org", lea_email="lea1@usd500.org")
    b = student("S2", case_manager_email="cm2@usd500.org", lea_email="lea2@usd500.org")
    assert [meeting_at(p) for p in plan_all([a, b])] == [
        (D(2027, 1, 6), "07:45"),
        (D(2027, 1, 6), "15:30"),
    ]


def test_providers_are_optional_and_may_overlap() -> None:
    """A provider shared by two meetings does not block the slot."""
    kids = [
        student(
            f"S{i}",
            case_manager_email=f"cm{i}@usd500.org",
            lea_email=f"lea{i}@usd500.org",
            gen_ed_emails=(),
            provider_emails=("slp@usd500.org",),
        )
        for i in (1, 2)
    ]
    assert [meeting_at(p) for p in plan_all(kids)] == [
        (D(2027, 1, 6), "07:45"),
        (D(2027, 1, 6), "07:45"),
    ]


@pytest.mark.parametrize(
    ("slots", "second"),
    [
        pytest.param(("07:45", "08:30", "15:30"), "15:30", id="overlapping-slot-skipped"),
        pytest.param(("07:45", "08:45", "15:30"), "08:45", id="back-to-back-is-fine"),
    ],
)
def test_overlap_uses_the_meeting_length(slots: tuple[str, ...], second: str) -> None:
    """Slots are [start, start + duration): touching slots do not overlap, crossing ones do."""
    kids = [student(f"S{i}", case_manager_email=f"cm{i}@usd500.org") for i in (1, 2)]
    assert [meeting_at(p) for p in plan_all(kids, ctx=context(slots=slots))] == [
        (D(2027, 1, 6), "07:45"),
        (D(2027, 1, 6), second),
    ]


def test_placement_order_is_due_date_then_student_id() -> None:
    """Students are placed by (DUE, student_id), whatever order the roster lists them in."""
    ctx = context(max_per_day=1)
    # Both DUEs give the same latest on-track day, 2026-12-18 (Dec 19 and Dec 20 are a weekend).
    kids = [
        student("S1", due_date=D(2027, 1, 3)),
        student("S3", due_date=D(2027, 1, 2)),
        student("S2", due_date=D(2027, 1, 2)),
    ]
    plans = plan_all(kids, ctx=ctx)
    assert [(p.student_id, meeting_at(p)) for p in plans] == [
        ("S2", (D(2026, 12, 18), "07:45")),
        ("S3", (D(2026, 12, 17), "07:45")),
        ("S1", (D(2026, 12, 16), "07:45")),
    ]
    assert plans == plan_all(list(reversed(kids)), ctx=ctx)


# -- every rung -------------------------------------------------------------------------------


def test_rung_1_takes_the_latest_usable_day() -> None:
    """on_track walks back from cal(DUE, -14): a busy latest day gives the one before."""
    p = plan_one(busy={"cm1@usd500.org": all_day(D(2027, 1, 6))})
    assert meeting_at(p) == (D(2027, 1, 5), "07:45")
    assert p.meeting is not None and p.meeting.rung == "on_track"
    assert p.status == "on_track"


def test_rung_1_stops_40_school_days_before_latest_then_rung_2_goes_earliest_first() -> None:
    """Nothing before school(latest, -40) is on track; the next rung starts right after `latest`."""
    # latest = 2027-01-06, school(latest, -40) = 2026-10-23: the case manager is busy on all.
    p = plan_one(busy={"cm1@usd500.org": busy_between(D(2026, 10, 23), D(2027, 1, 6))})
    assert meeting_at(p) == (D(2027, 1, 7), "07:45")
    assert p.meeting is not None and p.meeting.rung == "at_risk"
    assert p.status == "at_risk"
    assert p.warning_texts == (
        "The meeting on 2027-01-07 leaves less than 2 weeks before the due date 2027-01-20: "
        "move it earlier if the team can, and send written notice by 2026-12-18.",
    )


def test_rung_2_when_today_is_too_late_for_two_weeks_buffer() -> None:
    """With TODAY + 14 after `latest`, rung 2 takes the earliest day from TODAY + 14."""
    p = plan_one(today=D(2026, 12, 28))
    assert meeting_at(p) == (D(2027, 1, 11), "07:45")
    assert p.meeting is not None and p.meeting.rung == "at_risk"
    assert p.status == "at_risk"
    assert p.warning_texts[0] == (
        "The meeting on 2027-01-11 leaves less than 2 weeks before the due date 2027-01-20: "
        "move it earlier if the team can, and send written notice today (it was due 2026-12-18)."
    )


def test_rung_3_uses_the_legal_ten_day_notice() -> None:
    """When TODAY + 14 is past DUE, rung 3 takes the first school day from TODAY + 10."""
    # TODAY + 10 = 2027-01-18, MLK Day: the first school day is Tuesday 2027-01-19.
    p = plan_one(today=D(2027, 1, 8))
    assert meeting_at(p) == (D(2027, 1, 19), "07:45")
    assert p.meeting is not None and p.meeting.rung == "at_risk"
    assert p.status == "at_risk"
    assert p.warning_texts[0] == (
        "Only 11 days' notice is possible: send written notice today (it was due 2027-01-05) "
        "and reach the parents now; the IEP is due 2027-01-20."
    )


def test_rung_3_when_rung_2_days_are_all_taken() -> None:
    """Rung 2 full (DUE week busy): rung 3 goes back to TODAY + 10, earliest first."""
    p = plan_one(
        today=D(2027, 1, 4), busy={"lea1@usd500.org": busy_between(D(2027, 1, 18), D(2027, 1, 20))}
    )
    assert meeting_at(p) == (D(2027, 1, 14), "07:45")
    assert p.meeting is not None and p.meeting.rung == "at_risk"
    assert p.warning_texts[0].startswith(
        "Only 10 days' notice is possible: send written notice today (it was due 2026-12-18)"
    )


def test_rung_4_infeasible_after_due_with_a_warning() -> None:
    """TODAY + 10 after DUE: the first usable school day after DUE, status infeasible."""
    p = plan_one(today=D(2027, 1, 15))
    assert meeting_at(p) == (D(2027, 1, 25), "07:45")
    assert p.meeting is not None and p.meeting.rung == "infeasible"
    assert p.status == "infeasible"
    assert p.warning_texts[0] == (
        "No usable slot on or before the due date 2027-01-20: the earliest is 2027-01-25 "
        "(5 days late). Free a slot for the case manager, LEA and teachers, or ask the parents "
        "to agree to meet sooner. Send written notice today (it was due 2027-01-11)."
    )


def test_rung_4_when_every_day_before_due_is_taken() -> None:
    """All days up to DUE busy: the meeting is the first school day after DUE."""
    p = plan_one(busy={"cm1@usd500.org": busy_between(D(2026, 9, 1), D(2027, 1, 20))})
    assert meeting_at(p) == (D(2027, 1, 21), "07:45")
    assert p.status == "infeasible"


def test_overdue_when_today_is_past_due_and_no_meeting_was_held() -> None:
    """TODAY > DUE without a held meeting is overdue, the highest status, with the next slot."""
    p = plan_one(today=D(2027, 1, 21))
    assert meeting_at(p) == (D(2027, 2, 1), "07:45")  # TODAY + 10 is a Sunday
    assert p.status == "overdue"
    assert p.warning_texts[0] == (
        "The IEP was due 2027-01-20 and no meeting has been held: hold it as soon as possible, "
        "document the reason for the delay and tell the coordinator. "
        "The earliest slot is 2027-02-01. Send written notice now (it was due 2027-01-15; the "
        "10-day legal minimum needs it by 2027-01-22)."
    )


def test_unplanned_when_cal_due_minus_14_is_in_an_unloaded_year() -> None:
    """DUE 2027-07-15: cal(DUE, -14) must look at July 1, in unloaded 2027-28, so no meeting."""
    p = plan_one(student(due_date=D(2027, 7, 15)), today=D(2027, 3, 1), ctx=context(CAL_2026))
    assert p.meeting is None
    assert p.status == "unplanned"
    assert p.warning_texts == (
        "Cannot place the meeting: school year 2027-28 is not loaded (USD 500). Add that "
        "year's calendar so the meeting can be planned.",
    )


def test_unplanned_when_the_due_date_is_in_an_unloaded_year() -> None:
    """DUE needs 2027-28, not loaded: no meeting, status unplanned, milestones unscheduled."""
    p = plan_one(student(due_date=D(2027, 10, 1)), ctx=context(CAL_2026))
    assert p.meeting is None
    assert p.next_due_date is None
    assert p.status == "unplanned"
    assert p.warning_texts == (
        "Cannot place the meeting: school year 2027-28 is not loaded (USD 500). Add that "
        "year's calendar so the meeting can be planned.",
    )
    assert timeline(p) == [(k, None) for k in ANNUAL_KEYS]
    assert set(statuses(p).values()) == {"unscheduled"}


def test_unplanned_when_a_rung_reaches_an_unloaded_year() -> None:
    """Rung 1 full and rung 2 running into July of an unloaded year: unplanned, no guess."""
    p = plan_one(
        student(due_date=D(2027, 7, 14)),
        today=D(2027, 3, 1),
        ctx=context(CAL_2026),
        busy={"cm1@usd500.org": busy_between(D(2027, 3, 26), D(2027, 5, 21))},
    )
    assert p.meeting is None
    assert p.status == "unplanned"
    assert p.warning_texts == (
        "Cannot place the meeting: school year 2027-28 is not loaded (USD 500). Add that "
        "year's calendar so the meeting can be planned.",
    )


def test_rung_1_range_ending_at_the_first_loaded_day_does_not_fail_on_the_year_before() -> None:
    """Rung 1 never looks below its floor, so an unloaded year before it does not stop it."""
    # latest = cal(DUE, -14) = 2026-10-09, whose school(latest, -40) is the first school day
    # 2026-08-13; every school day up to latest is busy.
    p = plan_one(
        student(due_date=D(2026, 10, 23)),
        today=D(2026, 6, 1),
        ctx=context(CAL_2026),
        busy={"cm1@usd500.org": busy_between(D(2026, 8, 13), D(2026, 10, 9))},
    )
    assert meeting_at(p) == (D(2026, 10, 12), "07:45")  # rung 2, the next school day
    assert p.status == "at_risk"


def test_rung_2_range_ending_in_summer_does_not_fail_on_the_next_year() -> None:
    """Rung 2 ends at DUE (in June): the unloaded July after it cannot stop rung 3."""
    p = plan_one(
        student(due_date=D(2027, 6, 15)),
        today=D(2027, 3, 1),
        ctx=context(CAL_2026),
        busy={"cm1@usd500.org": busy_between(D(2027, 3, 26), D(2027, 5, 21))},
    )
    assert meeting_at(p) == (D(2027, 3, 11), "07:45")  # rung 3: TODAY + 10, earliest first
    assert p.meeting is not None and p.meeting.rung == "at_risk"
    assert p.status == "at_risk"


# -- progress reports, monitoring, reevaluation ----------------------------------------------


def test_progress_reports_are_in_meeting_to_next_due_half_open() -> None:
    """A report on M counts; one on NEXT_DUE does not."""
    # Booked M = 2027-01-08 (Q2 report day); NEXT_DUE = 2028-01-07 (2027-28 Q2 report day).
    p = plan_one(booked=booked("S1001", D(2027, 1, 8)))
    reports = [(k, d) for k, d in timeline(p) if k.startswith("progress_report")]
    assert reports == [
        ("progress_report:2026-27:Q2", D(2027, 1, 8)),
        ("progress_report:2026-27:Q3", D(2027, 3, 26)),
        ("progress_report:2026-27:Q4", D(2027, 5, 21)),
        ("progress_report:2027-28:Q1", D(2027, 10, 22)),
    ]
    assert p.next_due_date == D(2028, 1, 7)
    keys = [k for k, d in timeline(p) if d == D(2027, 1, 8)]
    assert keys == ["meeting", "progress_report:2026-27:Q2"]


def test_progress_reports_in_an_unloaded_year_give_a_warning_not_a_milestone() -> None:
    """With only 2026-27 loaded, the 2027-28 reports are a warning naming that year."""
    p = plan_one(ctx=context(CAL_2026))
    reports = [k for k, _ in timeline(p) if k.startswith("progress_report")]
    assert reports == [
        "progress_report:2026-27:Q2",
        "progress_report:2026-27:Q3",
        "progress_report:2026-27:Q4",
    ]
    assert p.warning_texts == (
        "Load the 2027-28 school calendar (USD 500): the progress_monitoring occurrences in that "
        "year are not planned until it is.",
        "Progress reports after 2027-01-06 in school year 2027-28 are not planned: load that "
        "calendar (USD 500) to add them.",
    )
    assert p.status == "on_track"


def test_progress_monitoring_starts_14_days_after_m_moved_to_a_school_day() -> None:
    """M + 14 in winter break moves to the first school day after it."""
    p = plan_one(booked=booked("S1001", D(2026, 12, 10)))
    monitoring = p.milestone("progress_monitoring")
    assert monitoring is not None
    assert (monitoring.date, monitoring.delivery, monitoring.kind) == (
        D(2027, 1, 4),
        "recurring_task",
        "recurring",
    )


def reevaluation(p: StudentPlan) -> StudentPlan:
    """The student's reevaluation cycle (SPEC §3.6)."""
    return next(c for c in p.others if c.cycle_type == "reevaluation")


def test_reevaluation_track_is_dated_in_its_own_cycle() -> None:
    """reeval_consent = school(R, -65), reeval_due = prev(R); the annual meeting (2027-01-06)
    is before school(R, -40), so they belong to the reevaluation's own meeting (SPEC §3.6)."""
    p = plan_one(student(reeval_due_date=D(2027, 4, 30)))
    assert {m.track for m in p.milestones} == {"annual"}
    r = reevaluation(p)
    found = timeline(r)
    assert ("reeval_consent", D(2027, 1, 21)) in found
    assert ("reeval_due", D(2027, 4, 30)) in found
    assert r.combined_with is None and r.meeting is not None
    tracks = {m.key: m.track for m in r.milestones}
    assert tracks["reeval_consent"] == tracks["reeval_due"] == "reeval"
    assert tracks["meeting"] == "annual"


def test_reevaluation_due_on_a_weekend_moves_back() -> None:
    """R on a Saturday: reeval_due is Friday, consent 65 school days before R."""
    r = reevaluation(plan_one(student(reeval_due_date=D(2027, 5, 1))))
    assert dict(timeline(r))["reeval_due"] == D(2027, 4, 30)
    assert dict(timeline(r))["reeval_consent"] == D(2027, 1, 22)


def test_no_reevaluation_track_without_a_reeval_date() -> None:
    """Without reeval_due_date there are no reeval milestones."""
    assert {m.track for m in plan_one().milestones} == {"annual"}


def test_reevaluation_in_an_unloaded_year_is_null_with_a_warning() -> None:
    """R in 2027-28 with only 2026-27 loaded: both reeval milestones null, year named."""
    r = reevaluation(plan_one(student(reeval_due_date=D(2027, 10, 1)), ctx=context(CAL_2026)))
    found = dict(timeline(r))
    assert found["reeval_consent"] is None and found["reeval_due"] is None
    assert statuses(r)["reeval_consent"] == statuses(r)["reeval_due"] == "unscheduled"
    assert (
        "Reevaluation meeting: Load the 2027-28 school calendar (USD 500): reeval_consent, "
        "reeval_due cannot be dated until it is."
    ) in r.warning_texts


# -- statuses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        pytest.param(
            D(2026, 12, 10),
            {"begin_development": "overdue", "parent_contact_2": "upcoming"},
            id="eight-days-ahead-is-upcoming",
        ),
        pytest.param(
            D(2026, 12, 11),
            {"parent_contact_2": "due_soon", "send_draft": "upcoming"},
            id="seven-days-ahead-is-due-soon",
        ),
        pytest.param(
            D(2026, 12, 18),
            {"parent_contact_1": "overdue", "parent_contact_2": "due_soon"},
            id="today-is-due-soon",
        ),
        pytest.param(
            D(2026, 12, 19),
            {"parent_contact_2": "overdue", "send_draft": "upcoming", "meeting": "upcoming"},
            id="yesterday-is-overdue",
        ),
    ],
)
def test_milestone_statuses_around_today(today: dt.date, expected: dict[str, str]) -> None:
    """overdue before TODAY, due_soon within TODAY..TODAY+7, upcoming after."""
    p = plan_one(today=today)
    assert meeting_at(p) == (D(2027, 1, 6), "07:45")
    found = statuses(p)
    assert {k: found[k] for k in expected} == expected


def test_overdue_milestone_before_m_makes_the_student_at_risk() -> None:
    """An overdue milestone dated before M makes the student at_risk with a to-do sentence."""
    p = plan_one(today=D(2026, 12, 14), done={"S1001": frozenset({"begin_development"})})
    assert meeting_at(p) == (D(2027, 1, 6), "07:45")
    assert statuses(p)["begin_development"] == "done"
    assert p.status == "on_track"
    p = plan_one(today=D(2026, 12, 14))
    assert p.status == "at_risk"
    assert p.warning_texts == (
        "Begin developing the IEP was due 2026-12-04 and is not done: do it now and mark the "
        "task complete.",
    )


def test_done_items_are_done_for_that_student_only() -> None:
    """Completed keys mark that student's milestones done; a same-day peer is unaffected."""
    a, b, c = (
        student(
            f"S{i}",
            case_manager_email=f"cm{i}@usd500.org",
            lea_email=f"lea{i}@usd500.org",
            gen_ed_emails=(),
        )
        for i in (1, 2, 3)
    )
    plans = plan_all(
        [a, b, c],
        ctx=context(slots=("07:45",)),
        done={"S2": frozenset({"create_draft_in_webkidss", "progress_report:2026-27:Q2"})},
    )
    assert [meeting_at(p) for p in plans] == [(D(2027, 1, 6), "07:45")] * 3
    p1, p2, p3 = (statuses(p) for p in plans)
    assert p2["create_draft_in_webkidss"] == p2["progress_report:2026-27:Q2"] == "done"
    assert p1["create_draft_in_webkidss"] == p3["create_draft_in_webkidss"] == "upcoming"
    assert p1["progress_report:2026-27:Q2"] == "upcoming"


# -- booked, held, moved ----------------------------------------------------------------------


def test_booked_meeting_is_kept_and_its_event_counts_as_done() -> None:
    """A booked meeting stays (state booked); staff_invite is done, the meeting not yet."""
    p = plan_one(booked=booked("S1001", D(2027, 1, 5)))
    assert p.meeting is not None
    assert (p.meeting.date, p.meeting.state, p.meeting.rung) == (
        D(2027, 1, 5),
        "booked",
        "on_track",
    )
    assert p.meeting.start == at(D(2027, 1, 5), "15:30")
    assert (statuses(p)["meeting"], statuses(p)["staff_invite"]) == ("upcoming", "done")
    assert statuses(p)["written_notice"] == "upcoming"
    assert dict(timeline(p))["prepare_meeting"] == D(2027, 1, 4)


def test_booked_meeting_in_the_last_two_weeks_is_at_risk() -> None:
    """A kept meeting after cal(DUE, -14) but by DUE is classified at_risk."""
    p = plan_one(booked=booked("S1001", D(2027, 1, 12)))
    assert p.meeting is not None and (p.meeting.state, p.meeting.rung) == ("booked", "at_risk")
    assert p.status == "at_risk"
    assert p.warning_texts[0].startswith("The meeting on 2027-01-12 leaves less than 2 weeks")


def test_held_meeting_is_not_overdue_after_due() -> None:
    """A meeting dated before TODAY is held; TODAY > DUE is then not overdue."""
    p = plan_one(booked=booked("S1001", D(2027, 1, 6), "07:45"), today=D(2027, 1, 25))
    assert p.meeting is not None
    assert (p.meeting.date, p.meeting.state) == (D(2027, 1, 6), "held")
    assert p.status == "on_track"
    assert statuses(p)["meeting"] == "done"
    assert p.next_due_date == D(2028, 1, 5)


def test_booked_meeting_after_a_corrected_due_is_moved_with_a_warning() -> None:
    """DUE corrected to before the booked day: a new proposal on or before DUE, and a warning."""
    p = plan_one(student(due_date=D(2027, 1, 5)), booked=booked("S1001", D(2027, 1, 6)))
    assert p.meeting is not None
    assert (p.meeting.date, p.meeting.state) == (D(2026, 12, 18), "proposed")
    assert p.warning_texts == (
        "The booked meeting on 2027-01-06 is after the corrected due date 2027-01-05: it is "
        "being moved; tell the team and the parents.",
    )
    assert statuses(p)["staff_invite"] == "upcoming"


def test_booked_meeting_on_a_now_closed_day_is_moved_with_a_warning() -> None:
    """A booked day the calendar now closes (PD day) is re-placed by the ladder."""
    p = plan_one(student(due_date=D(2026, 11, 15)), booked=booked("S1001", D(2026, 10, 19)))
    assert p.meeting is not None
    assert (p.meeting.date, p.meeting.state) == (D(2026, 10, 30), "proposed")
    assert p.warning_texts == (
        "The booked meeting on 2026-10-19 falls on a day the school calendar now shows as "
        "closed: it is being moved to the next usable slot; tell the team.",
    )


def test_meeting_moved_in_outlook_is_adopted_even_on_a_closed_day() -> None:
    """People win: an adopted move stays where a person put it, with a warning."""
    p = plan_one(
        student(due_date=D(2026, 11, 15)),
        booked=booked("S1001", D(2026, 10, 19), adopted=True),
    )
    assert p.meeting is not None
    assert (p.meeting.date, p.meeting.state) == (D(2026, 10, 19), "booked")
    assert p.warning_texts == (
        "The meeting was moved in Outlook to 2026-10-19, which the school calendar shows as "
        "closed: confirm the day with the team.",
    )


def test_booked_meetings_hold_their_slots_before_new_placements() -> None:
    """A booked meeting of a later-DUE student still blocks its slot for earlier ones."""
    early = student("S1", due_date=D(2027, 1, 20))
    late = student("S2", due_date=D(2027, 2, 1))
    plans = plan_all([early, late], ctx=context(max_per_day=1), booked=booked("S2", D(2027, 1, 6)))
    assert [(p.student_id, meeting_at(p)) for p in plans] == [
        ("S1", (D(2027, 1, 5), "07:45")),
        ("S2", (D(2027, 1, 6), "15:30")),
    ]


def test_a_booked_meeting_being_moved_frees_its_old_slot() -> None:
    """The old slot of a meeting the plan moves is free for others (cap 1 per day)."""
    moved = student("A", due_date=D(2027, 1, 5))
    other = student("B", due_date=D(2027, 1, 20))
    plans = plan_all([moved, other], ctx=context(max_per_day=1), booked=booked("A", D(2027, 1, 6)))
    assert [(p.student_id, meeting_at(p)) for p in plans] == [
        ("A", (D(2026, 12, 18), "07:45")),
        ("B", (D(2027, 1, 6), "07:45")),
    ]


# -- free/busy and rooms ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("busy", "expected"),
    [
        pytest.param(
            {"lea1@usd500.org": [Interval(at(D(2027, 1, 6), "07:30"), at(D(2027, 1, 6), "08:00"))]},
            (D(2027, 1, 6), "15:30"),
            id="lea-busy-first-slot",
        ),
        pytest.param(
            {
                "LEA1@USD500.org": [
                    Interval(
                        dt.datetime(2027, 1, 6, 13, 45, tzinfo=UTC),
                        dt.datetime(2027, 1, 6, 14, 45, tzinfo=UTC),
                    )
                ]
            },
            (D(2027, 1, 6), "15:30"),
            id="utc-interval-and-upper-case-email",
        ),
        pytest.param(
            {"gen1@usd500.org": [Interval(at(D(2027, 1, 6), "07:00"), at(D(2027, 1, 6), "07:45"))]},
            (D(2027, 1, 6), "07:45"),
            id="busy-ending-at-the-slot-start",
        ),
        pytest.param(
            {
                "cm1@usd500.org": [
                    Interval(at(D(2027, 1, 6), "07:00"), at(D(2027, 1, 6), "09:00")),
                    Interval(at(D(2027, 1, 6), "15:00"), at(D(2027, 1, 6), "16:00")),
                ]
            },
            (D(2027, 1, 5), "07:45"),
            id="both-slots-busy-moves-a-day",
        ),
        pytest.param(
            {"slp@usd500.org": all_day(D(2027, 1, 6))},
            (D(2027, 1, 6), "07:45"),
            id="optional-provider-ignored",
        ),
        pytest.param(
            {"cm1@usd500.org": [Interval(at(D(2027, 1, 5), "22:00"), at(D(2027, 1, 6), "08:00"))]},
            (D(2027, 1, 6), "15:30"),
            id="overnight-busy-spans-two-days",
        ),
    ],
)
def test_graph_free_busy_steers_placement(
    busy: Mapping[str, Iterable[Interval]], expected: tuple[dt.date, str]
) -> None:
    """Known free/busy of required people (compared case-insensitively) blocks slots."""
    s = student(provider_emails=("slp@usd500.org",))
    assert meeting_at(plan_one(s, busy={k: list(v) for k, v in busy.items()})) == expected


def test_room_cannot_be_double_booked() -> None:
    """Two meetings in one building share its room, so they cannot overlap."""
    ctx = context(rooms={"Central Elementary": "Room-101@USD500.org"})
    kids = [
        student(
            f"S{i}",
            case_manager_email=f"cm{i}@usd500.org",
            lea_email=f"lea{i}@usd500.org",
            gen_ed_emails=(),
        )
        for i in (1, 2)
    ]
    assert [meeting_at(p) for p in plan_all(kids, ctx=ctx)] == [
        (D(2027, 1, 6), "07:45"),
        (D(2027, 1, 6), "15:30"),
    ]
    assert [meeting_at(p) for p in plan_all(kids)] == [(D(2027, 1, 6), "07:45")] * 2


def test_room_free_busy_blocks_the_room() -> None:
    """A room that Graph shows busy all day moves the meeting to another day."""
    ctx = context(rooms={"Central Elementary": "room-101@usd500.org"})
    p = plan_one(ctx=ctx, busy={"ROOM-101@usd500.org": all_day(D(2027, 1, 6))})
    assert meeting_at(p) == (D(2027, 1, 5), "07:45")


# -- roster status, contacts, determinism ----------------------------------------------------


def test_exited_students_are_not_planned_and_hold_no_slot() -> None:
    """An exited student has no plan and their booked meeting frees its slot."""
    gone = student("S0", status="exited", due_date=D(2027, 1, 20))
    here = student("S1", due_date=D(2027, 1, 20))
    dp = plan_district(
        [gone, here], context(max_per_day=1), today=TODAY, booked=booked("S0", D(2027, 1, 6))
    )
    assert dp.get("S0") is None
    assert [p.student_id for p in dp.plans] == ["S1"]
    only = dp.get("S1")
    assert only is not None and meeting_at(only) == (D(2027, 1, 6), "07:45")


@pytest.mark.parametrize(
    ("logged", "met"),
    [
        pytest.param(
            [(D(2026, 12, 10), "phone"), (D(2026, 12, 18), "email")], True, id="two-methods"
        ),
        pytest.param(
            [(D(2026, 12, 10), "phone"), (D(2026, 12, 14), "phone")], False, id="same-method-twice"
        ),
        pytest.param(
            [(D(2026, 12, 10), "phone"), (D(2026, 12, 21), "email")], False, id="second-too-late"
        ),
        pytest.param(
            [(D(2026, 12, 1), "letter"), (D(2026, 12, 2), "letter"), (D(2026, 12, 3), "text")],
            True,
            id="a-third-contact-completes-it",
        ),
        pytest.param([(D(2026, 12, 10), "phone")], False, id="only-one"),
    ],
)
def test_contact_requirement_two_methods_by_parent_contact_2(
    logged: list[tuple[dt.date, str]], met: bool
) -> None:
    """Two contacts by different methods on/before parent_contact_2 mark both contact tasks done."""
    contacts = {"S1001": [contact(d, m) for d, m in logged]}
    p = plan_one(today=D(2026, 12, 22), contacts=contacts)
    assert dict(timeline(p))["parent_contact_2"] == D(2026, 12, 18)
    assert p.contacts is not None
    assert (p.contacts.met, p.contacts.deadline) == (met, D(2026, 12, 18))
    expected = "done" if met else "overdue"
    assert statuses(p)["parent_contact_1"] == statuses(p)["parent_contact_2"] == expected
    assert statuses(p)["written_notice"] == "overdue"


def test_contact_requirement_names_the_qualifying_pair() -> None:
    """The first pair of contacts with different methods is reported as qualifying."""
    contacts = [
        contact(D(2026, 12, 1), "letter"),
        contact(D(2026, 12, 2), "letter"),
        contact(D(2026, 12, 3), "video"),
    ]
    req = contact_requirement(contacts, D(2026, 12, 18), D(2027, 1, 20))
    assert req.met
    assert [(c.at.date(), c.method) for c in req.qualifying] == [
        (D(2026, 12, 1), "letter"),
        (D(2026, 12, 3), "video"),
    ]
    assert not contact_requirement(contacts, None, D(2027, 1, 20)).met


def test_plan_is_deterministic_and_independent_of_roster_order() -> None:
    """The same inputs twice, or in another order, give equal plans."""
    kids = [
        student(f"S{i:02d}", due_date=D(2027, 1, 20) + dt.timedelta(days=i % 4)) for i in range(12)
    ]
    first = plan_district(kids, context(), today=TODAY)
    assert first == plan_district(kids, context(), today=TODAY)
    assert first == plan_district(kids[::-1], context(), today=TODAY)
    assert len({(p.meeting.date, p.meeting.start) for p in first.plans if p.meeting}) == 12


def test_plans_keep_roster_ids_and_cycle_ids() -> None:
    """Cycle ids given by the caller come back on each plan."""
    p = plan_one(cycle_ids={"S1001": "c-2027"}, reeval_cycle_ids={"S1001": "r-2027"})
    assert (p.cycle_id, p.reeval_cycle_id) == ("c-2027", "r-2027")


def test_default_rules_are_used_by_the_helper_context() -> None:
    """The helper context plans with the built-in rules (guards the other tests' premise)."""
    assert context().rules is DEFAULT_RULES

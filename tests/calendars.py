"""Realistic in-code school calendars, students and planning contexts for the scheduling tests.

The Kansas-like calendar mirrors a typical USD calendar: Labor Day, Thanksgiving Wednesday–Friday,
winter break, MLK Day, Presidents Day, a spring-break week, Memorial Day and quarterly grading
periods. Weekdays of every date below are checked by `tests/test_schoolcal.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from iepsched.core.model import ClosedDays, GradingPeriod, MeetingSettings, SchoolYear, Student
from iepsched.core.rules import DEFAULT_RULES, Rules
from iepsched.core.schedule import PlanContext
from iepsched.core.schoolcal import SchoolCalendar

CHICAGO = ZoneInfo("America/Chicago")
D = dt.date


def _one(day: dt.date, label: str) -> ClosedDays:
    return ClosedDays(day, day, label)


def _span(start: dt.date, end: dt.date, label: str) -> ClosedDays:
    return ClosedDays(start, end, label)


KS_2026_27 = SchoolYear(
    name="2026-27",
    first_day=D(2026, 8, 13),  # Thursday
    last_day=D(2027, 5, 21),  # Friday
    closed=(
        _one(D(2026, 9, 7), "Labor Day"),
        _one(D(2026, 10, 19), "Professional development"),
        _span(D(2026, 11, 25), D(2026, 11, 27), "Thanksgiving break"),
        _span(D(2026, 12, 21), D(2027, 1, 1), "Winter break"),
        _one(D(2027, 1, 18), "Martin Luther King Jr. Day"),
        _one(D(2027, 2, 15), "Presidents Day"),
        _span(D(2027, 3, 15), D(2027, 3, 19), "Spring break"),
        _one(D(2027, 5, 31), "Memorial Day"),
    ),
    grading_periods=(
        GradingPeriod("Q1", D(2026, 10, 16), D(2026, 10, 23)),
        GradingPeriod("Q2", D(2026, 12, 18), D(2027, 1, 8)),
        GradingPeriod("Q3", D(2027, 3, 12), D(2027, 3, 26)),
        GradingPeriod("Q4", D(2027, 5, 21), D(2027, 5, 21)),
    ),
)

KS_2027_28 = SchoolYear(
    name="2027-28",
    first_day=D(2027, 8, 12),  # Thursday
    last_day=D(2028, 5, 31),  # Wednesday: this year runs past Memorial Day
    closed=(
        _one(D(2027, 9, 6), "Labor Day"),
        _span(D(2027, 11, 24), D(2027, 11, 26), "Thanksgiving break"),
        _span(D(2027, 12, 20), D(2027, 12, 31), "Winter break"),
        _one(D(2028, 1, 17), "Martin Luther King Jr. Day"),
        _one(D(2028, 2, 21), "Presidents Day"),
        _span(D(2028, 3, 13), D(2028, 3, 17), "Spring break"),
        _one(D(2028, 5, 29), "Memorial Day"),
    ),
    grading_periods=(
        GradingPeriod("Q1", D(2027, 10, 15), D(2027, 10, 22)),
        GradingPeriod("Q2", D(2027, 12, 17), D(2028, 1, 7)),
        GradingPeriod("Q3", D(2028, 3, 10), D(2028, 3, 24)),
        GradingPeriod("Q4", D(2028, 5, 31), D(2028, 5, 31)),
    ),
)

KS_YEARS = {"2026-27": KS_2026_27, "2027-28": KS_2027_28}


def kansas(*years: str, name: str = "USD 500") -> SchoolCalendar:
    """The Kansas-like calendar with the given school years (default: both)."""
    chosen = years or tuple(KS_YEARS)
    return SchoolCalendar(name, [KS_YEARS[y] for y in chosen])


def student(sid: str = "S1001", **kw: Any) -> Student:
    """A valid active student; keyword arguments override any field."""
    fields: dict[str, Any] = {
        "student_id": sid,
        "first_name": "Jordan",
        "last_name": "Doe",
        "birth_date": D(2016, 3, 9),
        "building": "Central Elementary",
        "case_manager_email": "cm1@usd500.org",
        "lea_email": "lea1@usd500.org",
        "due_date": D(2027, 1, 20),
        "gen_ed_emails": ("gen1@usd500.org",),
    }
    fields.update(kw)
    return Student(**fields)


def context(
    cal: SchoolCalendar | Callable[[Student], SchoolCalendar] | None = None,
    *,
    rules: Rules = DEFAULT_RULES,
    slots: Iterable[str] = ("07:45", "15:30"),
    duration_minutes: int = 60,
    max_per_day: int = 2,
    rooms: Mapping[str, str] | None = None,
) -> PlanContext:
    """A PlanContext over one calendar (or a per-student chooser) in America/Chicago."""
    chosen = kansas() if cal is None else cal
    calendar_for = chosen if callable(chosen) else (lambda _s, c=chosen: c)
    return PlanContext(
        calendar_for=calendar_for,
        rules=rules,
        meetings=MeetingSettings(
            slots=tuple(dt.time.fromisoformat(s) for s in slots),
            duration_minutes=duration_minutes,
            max_per_day=max_per_day,
        ),
        tz=CHICAGO,
        rooms=dict(rooms or {}),
    )


def at(day: dt.date, hhmm: str) -> dt.datetime:
    """An aware local datetime in the district's zone."""
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=CHICAGO)

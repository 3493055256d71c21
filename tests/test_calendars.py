"""School calendar files (SPEC §2.3): TOML and ICS loading, per-building choice, checks, drafts."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

from iepsched.core.errors import UserError
from iepsched.core.model import ClosedDays, SchoolYear, Student
from iepsched.core.schoolcal import SchoolCalendar, UnknownDate
from iepsched.core.settings import IcsFeedSettings
from iepsched.inputs.calendarcheck import check_calendar, draft_calendar_toml
from iepsched.inputs.calendars import (
    CalendarSet,
    calendar_from_toml,
    load_calendar,
    load_calendars,
    month_view,
)
from iepsched.inputs.config import load_config
from iepsched.inputs.icsfeed import calendar_from_ics

CORPUS = Path(__file__).parent / "corpus"
D = dt.date


@pytest.fixture(autouse=True)
def _in_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS)


def problems_of(name: str) -> list[str]:
    with pytest.raises(UserError) as caught:
        load_calendar(Path("calendars") / name)
    return [str(p) for p in caught.value.problems]


def student(building: str, sid: str = "S1") -> Student:
    return Student(
        student_id=sid,
        first_name="A",
        last_name="B",
        birth_date=D(2012, 1, 1),
        building=building,
        case_manager_email="cm@x.example.org",
        lea_email="lea@x.example.org",
        due_date=D(2027, 1, 1),
    )


def test_valid_calendar() -> None:
    """A SPEC §2.3 file gives a calendar whose school days follow its closures."""
    cal = load_calendar(Path("calendars/valid.toml"))
    assert cal.name == "Corpus USD"
    (year,) = cal.years
    assert (year.name, year.first_day, year.last_day) == ("2026-27", D(2026, 8, 13), D(2027, 5, 21))
    assert year.closed[2] == ClosedDays(D(2026, 11, 25), D(2026, 11, 27), "Thanksgiving break")
    assert year.grading_periods[0].report_date == D(2026, 10, 23)
    assert not cal.is_school_day(D(2026, 11, 27))
    assert cal.is_school_day(D(2026, 11, 30))
    assert not cal.is_school_day(D(2027, 6, 30))  # summer inside the covered year is known
    with pytest.raises(UnknownDate):
        cal.is_school_day(D(2027, 7, 1))  # the next school year is not loaded


def test_unknown_keys_are_errors() -> None:
    """A misspelt key in a calendar is an error: a silently ignored break moves deadlines."""
    assert problems_of("unknown_keys.toml") == [
        "calendars/unknown_keys.toml version: unknown key (known: name, [[years]])",
        "calendars/unknown_keys.toml year 2026-27 closd: unknown key (known: name, first_day, "
        "last_day, closed, grading_periods)",
        "calendars/unknown_keys.toml year 2026-27, closed #1 lable: unknown key (known: date, "
        "start, end, label)",
        "calendars/unknown_keys.toml year 2026-27, grading period #1 (Q1) report: unknown key "
        "(known: name, end, report_date)",
    ]


def test_bad_values_all_reported() -> None:
    """Every bad entry is reported at once, by year and entry number (and label when given)."""
    where = "calendars/bad_values.toml year"
    assert problems_of("bad_values.toml") == [
        f"{where} 2026-27 first_day: '2026-08-13' is not a date; write a TOML date without "
        "quotes, e.g. 2026-08-13",
        f"{where} 2026-27, closed #2 (Winter break) end: 2026-12-01 is before start 2026-12-21",
        f"{where} 2026-27, closed #3 (Thanksgiving): give either date = ... or start = ... and "
        "end = ..., not both",
        f"{where} 2026-27, closed #4 (Snow day): needs date = 2026-09-07, or start = ... and "
        "end = ... for a range",
        f"{where} 2026-27, closed #5: must be a table like {{ date = ... }}, not '2027-01-18'",
        f"{where} 2026-27, grading period #1 (Q1) report_date: missing; a date like 2026-08-13",
        f"{where} #2 name: missing",
        f"{where} #2 last_day: 2028-07-15 is after June 30, the end of school year 2027-28 that "
        "first_day 2027-08-12 starts",
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "no_years.toml",
            ["calendars/no_years.toml: has no [[years]]; add one [[years]] table per school year"],
        ),
        (
            "same_year_twice.toml",
            [
                "calendars/same_year_twice.toml year 2026-27: covers the same school year "
                "(2026-27) as year 2026-27; keep one [[years]] per school year"
            ],
        ),
        (
            "wrong_year.toml",
            [
                "calendars/wrong_year.toml year 2027-28 name: '2027-28' should be '2026-27', the "
                "school year of first_day",
                "calendars/wrong_year.toml year 2027-28, closed #1 (Summer closure): 2027-07-26 "
                "to 2027-07-30 is outside school year 2026-27 (2026-07-01 to 2027-06-30); put it "
                "under the [[years]] it belongs to",
            ],
        ),
        (
            "invalid_syntax.toml",
            [
                "calendars/invalid_syntax.toml: is not valid TOML: Expected newline or end of "
                "document after a statement (at line 3, column 23)"
            ],
        ),
        ("missing.toml", ["calendars/missing.toml: calendar file not found"]),
    ],
)
def test_broken_calendars(name: str, expected: list[str]) -> None:
    """Calendars that cannot be used say exactly why."""
    assert problems_of(name) == expected


def test_check_warnings() -> None:
    """check_calendar warns about what a coordinator should confirm, and never edits."""
    cal = load_calendar(Path("calendars/check_warnings.toml"))
    before = cal.years
    where = "Needs a look USD year 2026-27"
    assert [f"{p.severity}: {p}" for p in check_calendar(cal)] == [
        f"warning: {where}: closures overlap: 2026-11-25 to 2026-11-27 (Thanksgiving break) and "
        "2026-11-27 (Day after Thanksgiving)",
        f"warning: {where}: closure 2026-08-10 (Teacher work day) is outside the school year "
        "(2026-08-13 to 2027-05-21); it has no effect",
        f"warning: {where}: grading period Q1 reports on 2026-10-09, before it ends on 2026-10-16",
        f"warning: {where}: grading period Q4 reports on 2027-05-28, outside the school year "
        "(2026-08-13 to 2027-05-21)",
        f"warning: {where}: 2026-09-07 Labor Day is a school day: confirm, or close it in the "
        "calendar",
        f"warning: {where}: 2026-11-11 Veterans Day is a school day: confirm, or close it in the "
        "calendar",
        f"warning: {where}: 2027-01-18 Martin Luther King Jr. Day is a school day: confirm, or "
        "close it in the calendar",
    ]
    assert cal.years == before


def test_check_overlapping_years_is_an_error() -> None:
    """Two years over the same July–June (possible in code or from a feed) is an error."""
    a = SchoolYear("2026-27", D(2026, 8, 13), D(2027, 5, 21))
    b = SchoolYear("2026-27b", D(2026, 8, 20), D(2027, 5, 28))
    errors = [p for p in check_calendar(SchoolCalendar("Twice", [a, b])) if p.severity == "error"]
    assert [str(p) for p in errors] == [
        "Twice year 2026-27b: overlaps year 2026-27: each school year (July 1 to June 30) can be "
        "configured once"
    ]


def test_clean_calendar_has_only_the_holidays_it_keeps() -> None:
    """A calendar closing every public holiday on a school day checks clean."""
    cal = load_calendar(Path("calendars/valid.toml"))
    assert [str(p) for p in check_calendar(cal)] == []


def test_ics_feed() -> None:
    """All-day events matching a pattern close days (DTEND exclusive); timed events never do."""
    settings = IcsFeedSettings(
        path=Path("ics/district.ics"),
        closure_patterns=("No School", "Break", "Teacher Work Day"),
    )
    cal = calendar_from_ics(settings, "Corpus ICS")
    (year,) = cal.years
    # The earliest "first day" and latest "last day" of the school year, not the semester ones.
    assert (year.name, year.first_day, year.last_day) == ("2026-27", D(2026, 8, 13), D(2027, 5, 21))
    assert [(c.start, c.end, c.label) for c in year.closed] == [
        (D(2026, 9, 7), D(2026, 9, 7), "Labor Day - No School"),
        (D(2026, 11, 25), D(2026, 11, 27), "Thanksgiving Break"),
        (D(2026, 12, 21), D(2027, 1, 1), "WINTER BREAK"),
        (D(2027, 1, 18), D(2027, 1, 18), "MLK Day (no school)"),
        (D(2027, 2, 12), D(2027, 2, 12), "Teacher Work Day"),
    ]
    assert cal.is_school_day(D(2026, 10, 14))  # early release is a (timed) school day
    assert cal.is_school_day(D(2026, 12, 4))  # "Breakfast" does not match the word "break"
    assert cal.is_school_day(D(2027, 1, 4))  # DTEND 2027-01-02 is exclusive


def test_ics_settings_fix_the_year() -> None:
    """first_day/last_day in [calendar.ics] win over the feed's events."""
    settings = IcsFeedSettings(
        path=Path("ics/district.ics"), first_day=D(2026, 8, 17), last_day=D(2027, 5, 14)
    )
    (year,) = calendar_from_ics(settings, "Fixed").years
    assert (year.first_day, year.last_day) == (D(2026, 8, 17), D(2027, 5, 14))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "no_first_day.ics",
            'ics/no_first_day.ics: has no "First day" and "Last day" events for the same school '
            "year; set first_day and last_day in [calendar.ics]",
        ),
        (
            "not_ics.ics",
            "ics/not_ics.ics: is not a valid iCalendar file: Content line could not be parsed "
            "into parts: 'this is not a calendar': Invalid content line",
        ),
        ("missing.ics", "ics/missing.ics: ICS file not found ([calendar.ics] path)"),
    ],
)
def test_broken_ics(name: str, message: str) -> None:
    """A feed that cannot give a school year says so and how to fix it."""
    with pytest.raises(UserError) as caught:
        calendar_from_ics(IcsFeedSettings(path=Path("ics") / name), "x")
    assert [str(p) for p in caught.value.problems] == [message]


def test_calendar_set_by_building(monkeypatch: pytest.MonkeyPatch) -> None:
    """A building's calendar is found case-insensitively; others get the default."""
    monkeypatch.chdir(CORPUS / "config")
    calendars = load_calendars(load_config(Path("ics.toml")))
    default, by_building = calendars.default, calendars.buildings["south elementary"]
    assert default is not None and default.name == "Example Cooperative (ICS feed)"
    assert calendars.calendar_for(student("South  ELEMENTARY")) is by_building
    assert calendars.calendar_for(student("North High")) is default
    assert calendars.calendars() == (default, by_building)


def test_each_file_loaded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Buildings sharing a file share one calendar object (it is loaded once)."""
    monkeypatch.chdir(CORPUS.parent.parent)
    calendars = load_calendars(load_config(Path("config/iepsched.toml")))
    assert len(calendars.calendars()) == 2
    high, middle = (calendars.for_building(b) for b in ("Prairie Valley High", "bluestem high"))
    assert calendars.default is high
    assert middle.name == "USD 902 Bluestem"


def test_all_calendar_file_problems_at_once() -> None:
    """Problems of every calendar file come back together, each file reported once."""
    with pytest.raises(UserError) as caught:
        load_calendars(load_config(Path("config/bad_calendar_file.toml")))
    assert [p.where for p in caught.value.problems] == [
        "calendars/unknown_keys.toml version",
        "calendars/unknown_keys.toml year 2026-27 closd",
        "calendars/unknown_keys.toml year 2026-27, closed #1 lable",
        "calendars/unknown_keys.toml year 2026-27, grading period #1 (Q1) report",
        "calendars/no_years.toml",
    ]


def test_building_without_calendar(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a default, a building with no entry is a clear problem, before and at planning."""
    monkeypatch.chdir(CORPUS / "config")
    calendars = load_calendars(load_config(Path("no_default_calendar.toml")))
    students = [student("North High"), student("South Elementary", "S2")]
    assert [f"{p.severity}: {p}" for p in calendars.check_buildings(students)] == [
        "error: no_default_calendar.toml [calendar.buildings]: no school calendar for building "
        "'South Elementary': add it under [calendar.buildings], or set [calendar] path as the "
        "default calendar (students S2)",
        'warning: no_default_calendar.toml [calendar.buildings] "West Middle": no student in the '
        "roster is in this building; check the spelling (roster buildings: North High, South "
        "Elementary)",
    ]
    with pytest.raises(UserError, match="no school calendar for building 'South Elementary'"):
        calendars.calendar_for(students[1])


def test_empty_calendar_set() -> None:
    """A set with nothing configured refuses every building rather than guessing."""
    with pytest.raises(UserError):
        CalendarSet(default=None).for_building("Anywhere")


def test_draft_round_trips() -> None:
    """A draft is valid TOML that loads as a calendar, with weekday public holidays closed."""
    text = draft_calendar_toml(
        name="USD 901 draft", year="2027-28", first_day=D(2027, 8, 12), last_day=D(2028, 5, 19)
    )
    assert text.startswith("# DRAFT school calendar for 2027-28")
    assert "add the breaks" in text and "grading periods" in text
    cal = calendar_from_toml(tomllib.loads(text), shown="draft", default_name="draft")
    (year,) = cal.years
    assert [(c.start, c.label) for c in year.closed] == [
        (D(2027, 9, 6), "Labor Day"),
        (D(2027, 11, 11), "Veterans Day"),
        (D(2027, 11, 25), "Thanksgiving Day"),
        (D(2027, 12, 23), "Christmas Eve (observed)"),
        (D(2027, 12, 24), "Christmas Day (observed); Christmas Eve"),
        (D(2027, 12, 31), "New Year's Day (observed)"),
        (D(2028, 1, 17), "Martin Luther King Jr. Day"),
        (D(2028, 2, 21), "Washington's Birthday"),
    ]
    assert year.grading_periods == ()
    assert [p.severity for p in check_calendar(cal)] == []


def test_draft_refuses_mismatched_year() -> None:
    """A draft whose year, first and last day disagree is refused with every reason."""
    with pytest.raises(UserError) as caught:
        draft_calendar_toml(
            name="x", year="2027-28", first_day=D(2026, 8, 13), last_day=D(2026, 8, 1)
        )
    assert [str(p) for p in caught.value.problems] == [
        "--year: '2027-28' does not match --first-day 2026-08-13, which starts school year 2026-27",
        "--last-day: 2026-08-01 is not after 2026-08-13",
    ]


def test_month_view() -> None:
    """A month lists each day's state, the closures touching it and its school-day count."""
    cal = load_calendar(Path("calendars/valid.toml"))
    view = month_view(cal, year=2026, month=11)
    assert view.first_weekday == 6  # 2026-11-01 is a Sunday
    assert view.school_days == 17
    assert [c.label for c in view.closures] == ["Veterans Day", "Thanksgiving break"]
    assert view.days[26] is not None and view.days[26].reason == "Thanksgiving break"
    summer = month_view(cal, year=2027, month=7)
    assert summer.days == (None,) * 31 and summer.unknown_years == ("2027-28",)

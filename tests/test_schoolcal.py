"""SchoolCalendar over a real Kansas-like calendar: school days, offsets, coverage (SPEC §2.3)."""

from __future__ import annotations

import datetime as dt

import pytest
from calendars import KS_2026_27, KS_2027_28, D, kansas

from iepsched.core.model import ClosedDays, SchoolYear
from iepsched.core.schoolcal import (
    SchoolCalendar,
    UnknownDate,
    school_year_label,
)

CAL = kansas()
CAL_2026 = kansas("2026-27")
# 2026-27 and 2028-29 loaded, 2027-28 missing: a hole in the middle of the coverage.
GAPPED = SchoolCalendar(
    "Gapped",
    [
        KS_2026_27,
        SchoolYear("2028-29", D(2028, 8, 16), D(2029, 5, 23)),
    ],
)


def test_helper_calendar_closures_fall_on_the_weekdays_they_claim() -> None:
    """The test calendar's holidays are on real weekdays (Labor Day a Monday, etc.)."""
    expected = {
        "Labor Day": 0,
        "Martin Luther King Jr. Day": 0,
        "Presidents Day": 0,
        "Memorial Day": 0,
        "Professional development": 0,
        "Thanksgiving break": 2,  # Wednesday..Friday
        "Winter break": 0,
        "Spring break": 0,
    }
    for year in (KS_2026_27, KS_2027_28):
        assert year.first_day.weekday() == 3  # Thursday
        for closure in year.closed:
            assert closure.start.weekday() == expected[closure.label], closure
            assert closure.end.weekday() == 4 or closure.start == closure.end, closure


@pytest.mark.parametrize(
    ("day", "school"),
    [
        pytest.param(D(2026, 8, 12), False, id="day-before-first-day"),
        pytest.param(D(2026, 8, 13), True, id="first-day"),
        pytest.param(D(2026, 8, 15), False, id="saturday"),
        pytest.param(D(2026, 9, 7), False, id="labor-day"),
        pytest.param(D(2026, 9, 8), True, id="tuesday-after-labor-day"),
        pytest.param(D(2026, 11, 24), True, id="tuesday-before-thanksgiving"),
        pytest.param(D(2026, 11, 25), False, id="thanksgiving-wednesday"),
        pytest.param(D(2026, 11, 27), False, id="thanksgiving-friday"),
        pytest.param(D(2026, 12, 18), True, id="last-day-before-winter-break"),
        pytest.param(D(2026, 12, 21), False, id="winter-break-first-day"),
        pytest.param(D(2027, 1, 1), False, id="winter-break-end-inclusive"),
        pytest.param(D(2027, 1, 4), True, id="back-from-winter-break"),
        pytest.param(D(2027, 1, 18), False, id="mlk-day"),
        pytest.param(D(2027, 2, 15), False, id="presidents-day"),
        pytest.param(D(2027, 3, 15), False, id="spring-break-monday"),
        pytest.param(D(2027, 3, 19), False, id="spring-break-friday"),
        pytest.param(D(2027, 3, 22), True, id="back-from-spring-break"),
        pytest.param(D(2027, 5, 21), True, id="last-day"),
        pytest.param(D(2027, 5, 24), False, id="summer-weekday"),
        pytest.param(D(2027, 6, 30), False, id="june-30-still-2026-27"),
        pytest.param(D(2027, 7, 1), False, id="july-1-is-2027-28-summer"),
        pytest.param(D(2028, 5, 29), False, id="memorial-day-2028-inside-the-year"),
        pytest.param(D(2028, 5, 30), True, id="day-after-memorial-day-2028"),
        pytest.param(D(2028, 5, 31), True, id="last-day-2027-28"),
    ],
)
def test_is_school_day_on_the_kansas_calendar(day: dt.date, school: bool) -> None:
    """Weekends, summer, single closures and inclusive break ranges are not school days."""
    assert CAL.is_school_day(day) is school


@pytest.mark.parametrize(
    ("day", "prev", "nxt"),
    [
        pytest.param(D(2026, 10, 7), D(2026, 10, 7), D(2026, 10, 7), id="school-day-is-itself"),
        pytest.param(D(2026, 9, 7), D(2026, 9, 4), D(2026, 9, 8), id="labor-day-weekend"),
        pytest.param(D(2026, 12, 25), D(2026, 12, 18), D(2027, 1, 4), id="winter-break"),
        pytest.param(D(2027, 3, 17), D(2027, 3, 12), D(2027, 3, 22), id="spring-break"),
        pytest.param(D(2027, 7, 4), D(2027, 5, 21), D(2027, 8, 12), id="summer"),
        pytest.param(D(2026, 11, 26), D(2026, 11, 24), D(2026, 11, 30), id="thanksgiving"),
    ],
)
def test_prev_and_next_school_day(day: dt.date, prev: dt.date, nxt: dt.date) -> None:
    """prev(A)/next move to the nearest school day in their direction, A itself if it is one."""
    assert CAL.prev_school_day(day) == prev
    assert CAL.next_school_day(day) == nxt


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        pytest.param(D(2027, 1, 6), 0, D(2027, 1, 6), id="zero-is-the-day"),
        pytest.param(D(2026, 12, 25), 0, D(2026, 12, 25), id="zero-on-a-closed-day"),
        pytest.param(D(2027, 1, 6), -1, D(2027, 1, 5), id="one-back"),
        pytest.param(D(2027, 1, 19), -1, D(2027, 1, 15), id="back-over-mlk-monday"),
        pytest.param(D(2026, 9, 8), -1, D(2026, 9, 4), id="back-over-labor-day"),
        pytest.param(D(2027, 1, 6), -5, D(2026, 12, 16), id="back-over-winter-break"),
        pytest.param(D(2027, 3, 23), -5, D(2027, 3, 9), id="back-over-spring-break"),
        pytest.param(D(2027, 1, 6), 10, D(2027, 1, 21), id="forward-over-mlk"),
        pytest.param(D(2027, 3, 10), 10, D(2027, 3, 31), id="forward-over-spring-break"),
        pytest.param(D(2026, 12, 25), 1, D(2027, 1, 4), id="closed-day-does-not-count-forward"),
        pytest.param(D(2026, 12, 25), -1, D(2026, 12, 18), id="closed-day-does-not-count-back"),
        pytest.param(D(2027, 5, 21), 1, D(2027, 8, 12), id="over-the-summer"),
        pytest.param(D(2027, 5, 1), -65, D(2027, 1, 22), id="reeval-consent-offset"),
        pytest.param(D(2026, 8, 13), 179, D(2027, 5, 21), id="the-whole-first-year"),
    ],
)
def test_add_school_days(day: dt.date, n: int, expected: dt.date) -> None:
    """school(A, N): the N-th school day before/after A; A itself never counts."""
    assert CAL.add_school_days(day, n) == expected


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        pytest.param(D(2027, 1, 20), 14, D(2027, 1, 6), id="plain"),
        pytest.param(D(2027, 1, 6), 14, D(2026, 12, 18), id="lands-in-winter-break"),
        pytest.param(D(2027, 1, 4), 14, D(2026, 12, 18), id="lands-on-first-break-day"),
        pytest.param(D(2026, 12, 11), 14, D(2026, 11, 24), id="lands-on-thanksgiving-friday"),
        pytest.param(D(2027, 3, 22), 2, D(2027, 3, 12), id="lands-in-spring-break"),
        pytest.param(D(2027, 7, 15), 14, D(2027, 5, 21), id="lands-in-summer"),
    ],
)
def test_calendar_days_back(day: dt.date, n: int, expected: dt.date) -> None:
    """cal(A, -N): A - N calendar days, then the previous school day when that one is not."""
    assert CAL.calendar_days_back(day, n) == expected


def test_walk_yields_school_days_and_stops_where_knowledge_ends() -> None:
    """walk goes day by day in either direction and raises UnknownDate at the coverage edge."""
    forward = CAL_2026.walk(D(2027, 5, 19), 1)
    assert [next(forward), next(forward), next(forward)] == [
        D(2027, 5, 19),
        D(2027, 5, 20),
        D(2027, 5, 21),
    ]
    with pytest.raises(UnknownDate) as info:
        next(forward)
    assert info.value.day == D(2027, 7, 1)
    assert info.value.school_year == "2027-28"
    backward = CAL.walk(D(2027, 1, 4), -1)
    assert [next(backward), next(backward)] == [D(2027, 1, 4), D(2026, 12, 18)]


@pytest.mark.parametrize(
    ("cal", "call", "day", "label"),
    [
        pytest.param(
            CAL_2026,
            lambda c: c.is_school_day(D(2026, 6, 30)),
            D(2026, 6, 30),
            "2025-26",
            id="day-before-coverage",
        ),
        pytest.param(
            CAL_2026,
            lambda c: c.is_school_day(D(2027, 7, 1)),
            D(2027, 7, 1),
            "2027-28",
            id="day-after-coverage",
        ),
        pytest.param(
            CAL_2026,
            lambda c: c.prev_school_day(D(2028, 1, 3)),
            D(2028, 1, 3),
            "2027-28",
            id="prev-far-after-coverage",  # was an IndexError
        ),
        pytest.param(
            CAL_2026,
            lambda c: c.next_school_day(D(2027, 7, 2)),
            D(2027, 7, 2),
            "2027-28",
            id="next-two-days-after-coverage",  # was an IndexError
        ),
        pytest.param(
            CAL_2026,
            lambda c: c.add_school_days(D(2029, 1, 1), -3),
            D(2029, 1, 1),
            "2028-29",
            id="offset-from-far-after-coverage",  # was an IndexError
        ),
        pytest.param(
            CAL_2026,
            lambda c: c.add_school_days(D(2027, 5, 21), 1),
            D(2027, 7, 1),
            "2027-28",
            id="offset-runs-off-the-end",
        ),
        pytest.param(
            CAL_2026,
            lambda c: c.add_school_days(D(2026, 8, 13), -1),
            D(2026, 6, 30),
            "2025-26",
            id="offset-runs-off-the-start",
        ),
        pytest.param(
            CAL_2026,
            lambda c: c.calendar_days_back(D(2026, 7, 10), 14),
            D(2026, 6, 26),
            "2025-26",
            id="cal-back-lands-before-coverage",
        ),
        pytest.param(
            GAPPED,
            lambda c: c.add_school_days(D(2027, 5, 20), 5),
            D(2027, 7, 1),
            "2027-28",
            id="offset-into-a-hole",
        ),
        pytest.param(
            GAPPED,
            lambda c: c.add_school_days(D(2028, 8, 17), -3),
            None,  # some date of the hole: only the school year is promised
            "2027-28",
            id="offset-back-into-a-hole",
        ),
        pytest.param(
            SchoolCalendar("Empty", []),
            lambda c: c.is_school_day(D(2027, 1, 6)),
            D(2027, 1, 6),
            "2026-27",
            id="empty-calendar",
        ),
    ],
)
def test_unknown_dates_name_the_school_year_to_load(
    cal: SchoolCalendar, call: object, day: dt.date | None, label: str
) -> None:
    """Any query touching an unloaded school year raises UnknownDate naming that year."""
    assert callable(call)
    with pytest.raises(UnknownDate) as info:
        call(cal)
    if day is not None:
        assert info.value.day == day
    assert info.value.school_year == label
    assert school_year_label(info.value.day) == label
    assert str(info.value) == (
        f"{info.value.day.isoformat()} is in school year {label}, which is not loaded: "
        f"add the {label} calendar to {cal.name}"
    )


@pytest.mark.parametrize(
    ("day", "label"),
    [
        pytest.param(D(2026, 7, 1), "2026-27", id="july-1-starts-a-year"),
        pytest.param(D(2027, 6, 30), "2026-27", id="june-30-ends-it"),
        pytest.param(D(2027, 3, 1), "2026-27", id="spring"),
        pytest.param(D(2099, 12, 31), "2099-00", id="century-wraps-to-two-digits"),
    ],
)
def test_school_year_label(day: dt.date, label: str) -> None:
    """A date's July–June school year label, e.g. 2027-03-01 -> 2026-27."""
    assert school_year_label(day) == label


def test_coverage_is_july_to_june_around_each_year() -> None:
    """Each configured year covers July 1 .. June 30; a hole between years is not covered."""
    assert [y.covers for y in GAPPED.years] == [
        (D(2026, 7, 1), D(2027, 6, 30)),
        (D(2028, 7, 1), D(2029, 6, 30)),
    ]
    assert GAPPED.is_covered(D(2026, 7, 1)) and GAPPED.is_covered(D(2029, 6, 30))
    assert not GAPPED.is_covered(D(2027, 7, 1)) and not GAPPED.is_covered(D(2028, 6, 30))
    assert GAPPED.year_of(D(2028, 7, 1)) is GAPPED.years[1]
    assert GAPPED.year_of(D(2027, 12, 1)) is None


def test_first_day_in_spring_still_covers_the_july_to_june_year() -> None:
    """A year that (oddly) starts in January covers the previous July .. June, not the next."""
    year = SchoolYear("2026-27", D(2027, 1, 4), D(2027, 5, 21))
    assert year.covers == (D(2026, 7, 1), D(2027, 6, 30))


@pytest.mark.parametrize(
    ("day", "school", "reason"),
    [
        pytest.param(D(2026, 9, 8), True, "", id="school-day"),
        pytest.param(D(2026, 9, 7), False, "Labor Day", id="holiday"),
        pytest.param(D(2026, 12, 23), False, "Winter break", id="break"),
        pytest.param(D(2026, 12, 26), False, "weekend", id="weekend-inside-a-break"),
        pytest.param(D(2027, 6, 9), False, "summer", id="summer"),
    ],
)
def test_day_info_says_why_a_day_is_closed(day: dt.date, school: bool, reason: str) -> None:
    """day_info names the closure, or weekend/summer, for `calendar show`."""
    info = CAL.day_info(day)
    assert (info.day, info.school_day, info.reason) == (day, school, reason)


def test_grading_periods_come_in_report_date_order_across_years() -> None:
    """grading_periods lists every year's periods by report date."""
    names = [(y.name, g.name) for y, g in CAL.grading_periods()]
    assert names == [
        ("2026-27", "Q1"),
        ("2026-27", "Q2"),
        ("2026-27", "Q3"),
        ("2026-27", "Q4"),
        ("2027-28", "Q1"),
        ("2027-28", "Q2"),
        ("2027-28", "Q3"),
        ("2027-28", "Q4"),
    ]


def test_years_are_sorted_whatever_order_they_are_given_in() -> None:
    """A calendar built from years out of order answers the same as one built in order."""
    reversed_cal = SchoolCalendar("USD 500", [KS_2027_28, KS_2026_27])
    assert reversed_cal.years == (KS_2026_27, KS_2027_28)
    assert reversed_cal.add_school_days(D(2027, 5, 21), 1) == D(2027, 8, 12)


def test_closure_outside_first_and_last_day_changes_nothing() -> None:
    """A closure in summer (Memorial Day 2027 after the last day) leaves the day non-school."""
    assert CAL.is_school_day(D(2027, 5, 31)) is False
    assert CAL.day_info(D(2027, 5, 31)).reason == "Memorial Day"
    single = SchoolCalendar(
        "One",
        [
            SchoolYear(
                "2026-27",
                D(2026, 8, 13),
                D(2027, 5, 21),
                (ClosedDays(D(2026, 7, 6), D(2026, 7, 6)),),
            )
        ],
    )
    assert single.next_school_day(D(2026, 7, 1)) == D(2026, 8, 13)
    assert single.add_school_days(D(2026, 8, 13), 1) == D(2026, 8, 14)


def _offset_by_walking(cal: SchoolCalendar, day: dt.date, n: int) -> dt.date:
    """school(day, n) the slow way: one day at a time, failing on the first unloaded day."""
    cal.is_school_day(day)  # raises for an unloaded `day`
    step = 1 if n > 0 else -1
    left = abs(n)
    while True:
        day += dt.timedelta(days=step)
        if cal.is_school_day(day):
            left -= 1
            if left == 0:
                return day


@pytest.mark.parametrize("cal", [CAL, CAL_2026, GAPPED], ids=["two-years", "one-year", "gapped"])
def test_offsets_agree_with_walking_day_by_day(cal: SchoolCalendar) -> None:
    """add_school_days and prev_school_day (with their fast paths for the usual case) give the
    day-by-day answer everywhere, including at and across the edges of what is loaded."""
    start, end = D(2026, 6, 20), D(2029, 7, 10)
    for o in range(start.toordinal(), end.toordinal() + 1, 3):
        day = dt.date.fromordinal(o)
        for n in (-41, -20, -3, -1, 1, 2, 15, 40):
            try:
                expected: dt.date | str = _offset_by_walking(cal, day, n)
            except UnknownDate as exc:
                expected = exc.school_year
            try:
                got: dt.date | str = cal.add_school_days(day, n)
            except UnknownDate as exc:
                got = exc.school_year
            assert got == expected, (day, n)
        try:
            expected = day if cal.is_school_day(day) else _offset_by_walking(cal, day, -1)
        except UnknownDate as exc:
            expected = exc.school_year
        try:
            got = cal.prev_school_day(day)
        except UnknownDate as exc:
            got = exc.school_year
        assert got == expected, day

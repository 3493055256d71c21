"""What a coordinator confirms before publishing a calendar: `calendar check` and `calendar draft`.

Both compare the calendar with the US/Kansas public holidays; `holidays` is imported inside the
function that needs it (slow to import). Nothing here ever edits a published calendar.
"""

from __future__ import annotations

import datetime as dt
import itertools

from ..core.errors import Problem, UserError
from ..core.model import ClosedDays, SchoolYear
from ..core.schoolcal import SchoolCalendar, school_year_label
from .calendars import closure_span

# -- checks ---------------------------------------------------------------------------------------


def check_calendar(cal: SchoolCalendar) -> list[Problem]:
    """What a coordinator should look at before publishing a calendar. Never edits anything.

    Errors: school years that overlap. Warnings: overlapping closures, closures outside
    [first_day, last_day], grading periods outside the year or reported before they end, and US/KS
    public holidays left as weekday school days.
    """
    problems: list[Problem] = []
    years = cal.years
    for a, b in itertools.pairwise(years):
        if b.covers[0] <= a.covers[1]:
            problems.append(
                Problem(
                    f"{cal.name} year {b.name}",
                    f"overlaps year {a.name}: each school year (July 1 to June 30) can be "
                    "configured once",
                )
            )
    for year in years:
        where = f"{cal.name} year {year.name}"
        ordered = sorted(year.closed, key=lambda c: (c.start, c.end))
        for prev, cur in itertools.pairwise(ordered):
            if cur.start <= prev.end:
                problems.append(
                    Problem(
                        where,
                        f"closures overlap: {_closure_text(prev)} and {_closure_text(cur)}",
                        "warning",
                    )
                )
        for closure in ordered:
            if closure.end < year.first_day or closure.start > year.last_day:
                problems.append(
                    Problem(
                        where,
                        f"closure {_closure_text(closure)} is outside the school year "
                        f"({year.first_day.isoformat()} to {year.last_day.isoformat()}); "
                        "it has no effect",
                        "warning",
                    )
                )
        for period in year.grading_periods:
            for what, day in (("ends", period.end), ("reports", period.report_date)):
                if not year.first_day <= day <= year.last_day:
                    problems.append(
                        Problem(
                            where,
                            f"grading period {period.name} {what} on {day.isoformat()}, outside "
                            f"the school year ({year.first_day.isoformat()} to "
                            f"{year.last_day.isoformat()})",
                            "warning",
                        )
                    )
            if period.report_date < period.end:
                problems.append(
                    Problem(
                        where,
                        f"grading period {period.name} reports on "
                        f"{period.report_date.isoformat()}, before it ends on "
                        f"{period.end.isoformat()}",
                        "warning",
                    )
                )
        public = _public_holidays(years=range(year.first_day.year, year.last_day.year + 1))
        for day in sorted(public):
            if year.first_day <= day <= year.last_day and cal.is_school_day(day):
                problems.append(
                    Problem(
                        where,
                        f"{day.isoformat()} {public[day]} is a school day: confirm, or close "
                        "it in the calendar",
                        "warning",
                    )
                )
    return problems


def _public_holidays(*, years: range) -> dict[dt.date, str]:
    """US federal and Kansas public holidays (observed dates included), by date."""
    import holidays  # slow to import; only `calendar check` and `calendar draft` need it

    return dict(holidays.country_holidays("US", subdiv="KS", years=years))


def _closure_text(closure: ClosedDays) -> str:
    return f"{closure_span(closure)} ({closure.label})" if closure.label else closure_span(closure)


# -- drafting a new year --------------------------------------------------------------------------


def draft_calendar_toml(*, name: str, year: str, first_day: dt.date, last_day: dt.date) -> str:
    """A calendar TOML draft with the US/KS public holidays on weekdays closed, to be finished.

    Raises `UserError` when the year name, first day and last day do not describe one school year.
    """
    problems: list[Problem] = []
    expected = school_year_label(first_day)
    if year != expected:
        problems.append(
            Problem(
                "--year",
                f"{year!r} does not match --first-day {first_day.isoformat()}, which starts "
                f"school year {expected}",
            )
        )
    if last_day <= first_day:
        problems.append(
            Problem("--last-day", f"{last_day.isoformat()} is not after {first_day.isoformat()}")
        )
    elif last_day > SchoolYear(year, first_day, last_day).covers[1]:
        problems.append(
            Problem(
                "--last-day",
                f"{last_day.isoformat()} is after June 30, the end of school year {expected}",
            )
        )
    if problems:
        raise UserError(problems)
    public = _public_holidays(years=range(first_day.year, last_day.year + 1))
    closed = [
        (day, public[day])
        for day in sorted(public)
        if first_day <= day <= last_day and day.weekday() < 5
    ]
    lines = [
        f"# DRAFT school calendar for {year}, made by `iepsched calendar draft`: not ready to use.",
        "# Only the US/Kansas public holidays that fall on weekdays are closed below. Before",
        "# publishing it, a coordinator must:",
        "#   - add the breaks (fall, Thanksgiving, winter, spring), professional-development and",
        "#     teacher work days, and any make-up days;",
        "#   - remove the holidays on which school is in session (often Veterans Day);",
        "#   - add the grading periods with their progress-report dates;",
        "#   - then run `iepsched calendar check`.",
        f"name = {_toml_string(name)}",
        "",
        "[[years]]",
        f"name = {_toml_string(year)}",
        f"first_day = {first_day.isoformat()}",
        f"last_day = {last_day.isoformat()}",
        "closed = [",
        *(f"  {{ date = {d.isoformat()}, label = {_toml_string(label)} }}," for d, label in closed),
        '  # { start = YYYY-MM-DD, end = YYYY-MM-DD, label = "Winter break" },',
        "]",
        "grading_periods = [",
        '  # { name = "Q1", end = YYYY-MM-DD, report_date = YYYY-MM-DD },',
        "]",
        "",
    ]
    return "\n".join(lines)


def _toml_string(text: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes), so json does the quoting.
    import json

    return json.dumps(text, ensure_ascii=False)

"""School calendars from files (SPEC §2.3): TOML, the district's ICS feed, checks and drafts.

A calendar decides which days a meeting or a task may land on, so a wrong one silently moves every
deadline. Loading is therefore strict (unknown keys and malformed entries are errors, all reported
at once), and the softer judgements — a closure outside the school year, a public holiday left as a
school day — are `check_calendar` warnings for a coordinator to confirm. Nothing here ever edits a
published calendar.

`holidays` and `icalendar` are imported inside the functions that need them: they are slow to
import and most commands never touch them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import Problem, UserError
from ..core.model import ClosedDays, GradingPeriod, SchoolYear, Student
from ..core.schoolcal import DayInfo, SchoolCalendar, school_year_label
from ..core.settings import Config, IcsFeedSettings
from .config import building_key, display_path, read_toml, unmatched_buildings

_YEAR_KEYS = ("name", "first_day", "last_day", "closed", "grading_periods")
_CLOSED_KEYS = ("date", "start", "end", "label")
_PERIOD_KEYS = ("name", "end", "report_date")
_ONE_DAY = dt.timedelta(days=1)


# -- TOML -----------------------------------------------------------------------------------------


def load_calendar(path: Path) -> SchoolCalendar:
    """Read a calendar TOML; raise `UserError` listing every problem (file, year, entry)."""
    data = read_toml(path, not_found="calendar file not found")
    return calendar_from_toml(data, shown=display_path(path), default_name=path.stem)


def calendar_from_toml(data: Mapping[str, Any], *, shown: str, default_name: str) -> SchoolCalendar:
    """Build a calendar from parsed TOML; `shown` names the source in messages."""
    problems: list[Problem] = []
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem(f"{shown} name", f"must be text in quotes, not {name!r}"))
        name = default_name
    for key in data:
        if key not in ("name", "years"):
            problems.append(Problem(f"{shown} {key}", "unknown key (known: name, [[years]])"))
    raw_years = data.get("years")
    if not isinstance(raw_years, list) or not raw_years:
        problems.append(Problem(shown, "has no [[years]]; add one [[years]] table per school year"))
        raw_years = []
    years: list[SchoolYear] = []
    for number, raw in enumerate(raw_years, start=1):
        year = _year(raw, number, shown, problems)
        if year is not None:
            years.append(year)
    seen: dict[tuple[dt.date, dt.date], SchoolYear] = {}
    for year in years:
        other = seen.setdefault(year.covers, year)
        if other is not year:
            problems.append(
                Problem(
                    f"{shown} year {year.name}",
                    f"covers the same school year ({school_year_label(year.first_day)}) as year "
                    f"{other.name}; keep one [[years]] per school year",
                )
            )
    if problems:
        raise UserError(problems)
    return SchoolCalendar(name.strip(), years)


class _Entry:
    """Reads one TOML table entry, recording problems under a fixed location."""

    def __init__(self, raw: Any, where: str, known: Sequence[str], problems: list[Problem]):
        self.where = where
        self.problems = problems
        self.ok = isinstance(raw, dict)
        self.table: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if not self.ok:
            self.error("", f"must be a table like {{ {known[0]} = ... }}, not {raw!r}")
        for key in self.table:
            if key not in known:
                self.error(key, f"unknown key (known: {', '.join(known)})")

    def error(self, key: str, message: str) -> None:
        self.ok = False
        sep = "" if key.startswith(",") else " "
        self.problems.append(Problem(f"{self.where}{sep}{key}".rstrip(), message))

    def date(self, key: str, *, required: bool = True) -> dt.date | None:
        value = self.table.get(key)
        if value is None:
            if required:
                self.error(key, "missing; a date like 2026-08-13")
            return None
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            self.error(
                key, f"{value!r} is not a date; write a TOML date without quotes, e.g. 2026-08-13"
            )
            return None
        return value

    def text(self, key: str, *, required: bool = True) -> str:
        value = self.table.get(key)
        if value is None:
            if required:
                self.error(key, "missing")
            return ""
        if not isinstance(value, str) or not value.strip():
            self.error(key, f"must be text in quotes, not {value!r}")
            return ""
        return value.strip()

    def list(self, key: str) -> list[Any]:
        value = self.table.get(key, [])
        if not isinstance(value, list):
            self.error(key, f"must be a list [ ... ], not {value!r}")
            return []
        return value


def _year(raw: Any, number: int, shown: str, problems: list[Problem]) -> SchoolYear | None:
    name_guess = raw.get("name") if isinstance(raw, dict) else None
    label = name_guess if isinstance(name_guess, str) and name_guess.strip() else f"#{number}"
    where = f"{shown} year {label}"
    entry = _Entry(raw, where, _YEAR_KEYS, problems)
    name = entry.text("name")
    first = entry.date("first_day")
    last = entry.date("last_day")
    # The statutory year July 1 .. June 30 that first_day starts: what this entry may describe.
    lo, hi = SchoolYear(name, first, first).covers if first else (dt.date.min, dt.date.max)
    if first and name and name != school_year_label(first):
        entry.error(
            "name", f"{name!r} should be {school_year_label(first)!r}, the school year of first_day"
        )
    if first and last:
        if last <= first:
            entry.error(
                "last_day", f"{last.isoformat()} is not after first_day {first.isoformat()}"
            )
        elif last > hi:
            entry.error(
                "last_day",
                f"{last.isoformat()} is after June 30, the end of school year "
                f"{school_year_label(first)} that first_day {first.isoformat()} starts",
            )
    closed: list[ClosedDays] = []
    for n, item in enumerate(entry.list("closed"), start=1):
        closure = _closure(item, f"{where}, closed #{n}", problems)
        if closure is None:
            continue
        if closure.start < lo or closure.end > hi:
            entry.error(
                f", closed #{n} ({closure.label or closure.start.isoformat()})",
                f"{_span(closure)} is outside school year {school_year_label(lo)} "
                f"({lo.isoformat()} to {hi.isoformat()}); put it under the [[years]] it belongs to",
            )
        closed.append(closure)
    periods = [
        g
        for n, item in enumerate(entry.list("grading_periods"), start=1)
        if (g := _period(item, f"{where}, grading period #{n}", problems)) is not None
    ]
    if not entry.ok or first is None or last is None:
        return None
    return SchoolYear(name, first, last, tuple(closed), tuple(periods))


def _closure(raw: Any, where: str, problems: list[Problem]) -> ClosedDays | None:
    label = raw.get("label") if isinstance(raw, dict) else None
    if isinstance(label, str) and label.strip():
        where = f"{where} ({label.strip()})"
    entry = _Entry(raw, where, _CLOSED_KEYS, problems)
    if not entry.ok:
        return None
    label_text = entry.text("label", required=False)
    if "date" in entry.table:
        if "start" in entry.table or "end" in entry.table:
            entry.error("", "give either date = ... or start = ... and end = ..., not both")
            return None
        day = entry.date("date")
        return ClosedDays(day, day, label_text) if day and entry.ok else None
    if "start" not in entry.table and "end" not in entry.table:
        entry.error("", "needs date = 2026-09-07, or start = ... and end = ... for a range")
        return None
    start, end = entry.date("start"), entry.date("end")
    if start and end and end < start:
        entry.error("end", f"{end.isoformat()} is before start {start.isoformat()}")
    if start is None or end is None or not entry.ok:
        return None
    return ClosedDays(start, end, label_text)


def _period(raw: Any, where: str, problems: list[Problem]) -> GradingPeriod | None:
    name = raw.get("name") if isinstance(raw, dict) else None
    if isinstance(name, str) and name.strip():
        where = f"{where} ({name.strip()})"
    entry = _Entry(raw, where, _PERIOD_KEYS, problems)
    if not entry.ok:
        return None
    name_text = entry.text("name")
    end, report = entry.date("end"), entry.date("report_date")
    if end is None or report is None or not entry.ok:
        return None
    return GradingPeriod(name_text, end, report)


def _span(closure: ClosedDays) -> str:
    if closure.start == closure.end:
        return closure.start.isoformat()
    return f"{closure.start.isoformat()} to {closure.end.isoformat()}"


# -- the set of calendars of one config -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CalendarSet:
    """The default calendar and the per-building ones (`[calendar.buildings]`)."""

    default: SchoolCalendar | None
    buildings: Mapping[str, SchoolCalendar] = field(default_factory=dict)  # name as configured
    where: str = "[calendar.buildings]"  # where to point a coordinator at a missing building
    _index: Mapping[str, SchoolCalendar] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The planner asks once per student: index the normalised names once.
        index = {building_key(name): cal for name, cal in self.buildings.items()}
        object.__setattr__(self, "_index", index)

    def for_building(self, building: str) -> SchoolCalendar:
        """The building's calendar (case-insensitive), else the default; `UserError` if none."""
        found = self._index.get(building_key(building))
        if found is not None:
            return found
        if self.default is not None:
            return self.default
        raise UserError(Problem(self.where, _no_calendar_message(building)))

    def calendar_for(self, student: Student) -> SchoolCalendar:
        """The calendar a student is planned on (by building). For `PlanContext.calendar_for`."""
        return self.for_building(student.building)

    def calendars(self) -> tuple[SchoolCalendar, ...]:
        """Each distinct calendar once, the default first."""
        found: dict[int, SchoolCalendar] = {}
        for cal in (self.default, *self.buildings.values()):
            if cal is not None:
                found.setdefault(id(cal), cal)
        return tuple(found.values())

    def check_buildings(self, students: Sequence[Student]) -> list[Problem]:
        """Roster buildings with no calendar (errors) and configured buildings no student is in.

        Call it before planning: `calendar_for` raises for a building without a calendar.
        """
        problems: list[Problem] = []
        ids: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        for s in students:
            key = building_key(s.building)
            ids.setdefault(key, []).append(s.student_id)
            names.setdefault(key, s.building)
        configured = {building_key(name) for name in self.buildings}
        if self.default is None:
            for key, some in ids.items():
                if key not in configured:
                    shown_ids = ", ".join(some[:5]) + (", ..." if len(some) > 5 else "")
                    problems.append(
                        Problem(
                            self.where,
                            f"{_no_calendar_message(names[key])} (students {shown_ids})",
                        )
                    )
        problems.extend(unmatched_buildings(self.buildings, students, where=self.where))
        return problems


def _no_calendar_message(building: str) -> str:
    return (
        f"no school calendar for building {building!r}: add it under [calendar.buildings], "
        "or set [calendar] path as the default calendar"
    )


def load_calendars(config: Config) -> CalendarSet:
    """The default and per-building calendars, each file loaded once; `UserError` lists all."""
    settings = config.calendar
    problems: list[Problem] = []
    loaded: dict[Path, SchoolCalendar | None] = {}  # None: failed, already reported

    def load(path: Path) -> SchoolCalendar | None:
        if path not in loaded:
            try:
                loaded[path] = load_calendar(path)
            except UserError as exc:
                problems.extend(exc.problems)
                loaded[path] = None
        return loaded[path]

    default: SchoolCalendar | None = None
    if settings.path is not None:
        default = load(settings.path)
    elif settings.ics is not None:
        try:
            default = calendar_from_ics(settings.ics, name=f"{config.district.name} (ICS feed)")
        except UserError as exc:
            problems.extend(exc.problems)
    buildings: dict[str, SchoolCalendar] = {}
    for name, path in settings.buildings.items():
        cal = load(path)
        if cal is not None:
            buildings[name] = cal
    if problems:
        raise UserError(problems)
    return CalendarSet(
        default=default,
        buildings=buildings,
        where=f"{display_path(config.source)} [calendar.buildings]",
    )


# -- ICS feed -------------------------------------------------------------------------------------


def calendar_from_ics(settings: IcsFeedSettings, name: str) -> SchoolCalendar:
    """Build a calendar from the district's ICS feed (a local file exported from the feed).

    All-day events whose summary contains a closure pattern (whole words, any case) close their
    days; DTEND of an all-day event is exclusive (RFC 5545). A school year runs from the earliest
    "first day" to the latest "last day" event of that school year, unless the settings fix them.
    Timed events never close a day: a 2-hour early release is still a school day.
    """
    import icalendar  # slow import; only this command path needs it

    shown = display_path(settings.path)
    try:
        raw = settings.path.read_bytes()
    except FileNotFoundError:
        raise UserError(Problem(shown, "ICS file not found ([calendar.ics] path)")) from None
    try:
        feed = icalendar.Calendar.from_ical(raw)
    except ValueError as exc:
        raise UserError(Problem(shown, f"is not a valid iCalendar file: {exc}")) from None
    patterns = [
        re.compile(rf"\b{re.escape(p)}\b", re.IGNORECASE) for p in settings.closure_patterns
    ]
    first_re = re.compile(r"\bfirst day\b", re.IGNORECASE)
    last_re = re.compile(r"\blast day\b", re.IGNORECASE)
    closures: list[ClosedDays] = []
    firsts: dict[str, dt.date] = {}
    lasts: dict[str, dt.date] = {}
    for event in feed.walk("VEVENT"):
        summary = str(event.get("SUMMARY", "")).strip()
        start = event.decoded("DTSTART", None)
        if isinstance(start, dt.datetime) or not isinstance(start, dt.date):
            continue  # timed events never close a whole day
        end = event.decoded("DTEND", None)
        if isinstance(end, dt.date) and not isinstance(end, dt.datetime) and end > start:
            last = end - _ONE_DAY
        else:
            duration = event.decoded("DURATION", None)
            days = duration.days if isinstance(duration, dt.timedelta) else 1
            last = start + dt.timedelta(days=max(days, 1) - 1)
        label = school_year_label(start)
        if first_re.search(summary):
            firsts[label] = min(start, firsts.get(label, start))
        if last_re.search(summary):
            lasts[label] = max(last, lasts.get(label, last))
        if any(p.search(summary) for p in patterns):
            closures.append(ClosedDays(start, last, summary))

    spans: list[tuple[dt.date, dt.date]] = []
    if settings.first_day or settings.last_day:
        if settings.first_day is None or settings.last_day is None:
            raise UserError(
                Problem(shown, "[calendar.ics] needs both first_day and last_day, or neither")
            )
        spans.append((settings.first_day, settings.last_day))
    else:
        for label in sorted(set(firsts) | set(lasts)):
            if label in firsts and label in lasts:
                spans.append((firsts[label], lasts[label]))
    if not spans:
        raise UserError(
            Problem(
                shown,
                'has no "First day" and "Last day" events for the same school year; set '
                "first_day and last_day in [calendar.ics]",
            )
        )
    years = []
    for first, last in spans:
        inside = tuple(
            sorted(
                (c for c in closures if c.end >= first and c.start <= last),
                key=lambda c: (c.start, c.end),
            )
        )
        years.append(SchoolYear(school_year_label(first), first, last, inside))
    return SchoolCalendar(name, years)


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
    return f"{_span(closure)} ({closure.label})" if closure.label else _span(closure)


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


# -- month view for `calendar show` ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonthView:
    """One month of a calendar: each day (None where the school year is not loaded)."""

    calendar: str
    year: int
    month: int
    days: tuple[DayInfo | None, ...]  # index 0 is the 1st
    closures: tuple[ClosedDays, ...]  # configured closures touching the month, by start
    school_days: int
    unknown_years: tuple[str, ...]  # school years of days the calendar does not cover

    @property
    def first_weekday(self) -> int:
        """Weekday of the 1st (Monday = 0), for laying out a grid."""
        return dt.date(self.year, self.month, 1).weekday()


def month_view(cal: SchoolCalendar, *, year: int, month: int) -> MonthView:
    """What `calendar show` draws for one month of one calendar."""
    import calendar as stdcal  # loads locale: only `calendar show` needs it

    count = stdcal.monthrange(year, month)[1]
    first = dt.date(year, month, 1)
    last = dt.date(year, month, count)
    days: list[DayInfo | None] = []
    unknown: set[str] = set()
    for i in range(count):
        day = first + dt.timedelta(days=i)
        if cal.is_covered(day):
            days.append(cal.day_info(day))
        else:
            days.append(None)
            unknown.add(school_year_label(day))
    closures = sorted(
        (c for _, c in cal.closures() if c.end >= first and c.start <= last),
        key=lambda c: (c.start, c.end),
    )
    return MonthView(
        calendar=cal.name,
        year=year,
        month=month,
        days=tuple(days),
        closures=tuple(closures),
        school_days=sum(1 for d in days if d is not None and d.school_day),
        unknown_years=tuple(sorted(unknown)),
    )

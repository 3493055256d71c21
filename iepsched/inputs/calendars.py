"""School calendars from files (SPEC §2.3): TOML, the set of one config's calendars, month views.

A calendar decides which days a meeting or a task may land on, so a wrong one silently moves every
deadline. Loading is therefore strict (unknown keys and malformed entries are errors, all reported
at once), and the softer judgements — a closure outside the school year, a public holiday left as a
school day — are `calendarcheck.check_calendar` warnings for a coordinator to confirm. The ICS
feed loader lives in `icsfeed`. Nothing here ever edits a published calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import Problem, UserError
from ..core.model import ClosedDays, GradingPeriod, SchoolYear, Student
from ..core.schoolcal import DayInfo, SchoolCalendar, school_year_label
from ..core.settings import Config
from .config import building_key, display_path, read_toml, unmatched_buildings
from .config_values import close_matches
from .icsfeed import EARLIEST, LATEST, calendar_from_ics

_YEAR_KEYS = ("name", "first_day", "last_day", "closed", "grading_periods")
_CLOSED_KEYS = ("date", "start", "end", "label")
_PERIOD_KEYS = ("name", "end", "report_date")
# The dates a calendar may name: one definition for the TOML and the ICS readers.
_EARLIEST, _LATEST = EARLIEST, LATEST


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
        if not _EARLIEST <= value <= _LATEST:
            self.error(
                key,
                f"{value.isoformat()} is not a school date; check the year "
                f"({_EARLIEST.year} to {_LATEST.year})",
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
                f"{closure_span(closure)} is outside school year {school_year_label(lo)} "
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


def closure_span(closure: ClosedDays) -> str:
    """A closure's days as text: one date, or 'FIRST to LAST'."""
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
    # A building not in `buildings` (when any is listed): "default" plans it on the default
    # calendar, "error" refuses it (`[calendar] unlisted_buildings`).
    unlisted: str = "default"
    _index: Mapping[str, SchoolCalendar] = field(init=False, repr=False, compare=False)
    _seen: dict[str, SchoolCalendar] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The planner asks once per student: index the normalised names once, and remember
        # each roster spelling's answer (a district has a few buildings, not thousands).
        index = {building_key(name): cal for name, cal in self.buildings.items()}
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_seen", {})

    def for_building(self, building: str) -> SchoolCalendar:
        """The building's calendar (case-insensitive), else the default; `UserError` if none."""
        found = self._index.get(building_key(building))
        if found is not None:
            return found
        if self.default is not None and (self.unlisted == "default" or not self.buildings):
            return self.default
        raise UserError(Problem(self.where, self._unknown_message(building)))

    def is_listed(self, building: str) -> bool:
        """Whether the building has its own entry in [calendar.buildings]."""
        return building_key(building) in self._index

    def closest(self, building: str) -> str | None:
        """The listed building name closest to `building` (difflib), if any is close."""
        return next(iter(close_matches(building, list(self.buildings))), None)

    def _unknown_message(self, building: str) -> str:
        if self.default is None:
            return _no_calendar_message(building)
        return (
            f"building {building!r} is not listed in [calendar.buildings]"
            f"{_did_you_mean(self.closest(building))}: fix the roster, add the building there, "
            'or set [calendar] unlisted_buildings = "default" to plan it on the default '
            "calendar"
        )

    def unlisted_note(self, building: str) -> str:
        """The warning a student's plan carries when their building falls back to the default
        calendar but looks like a misspelling of a listed one; "" otherwise."""
        if not self.buildings or self.is_listed(building) or self.default is None:
            return ""
        near = self.closest(building)
        if near is None:
            return ""
        return (
            f"The building {building!r} is not listed in [calendar.buildings]"
            f"{_did_you_mean(near)}: this plan uses the default calendar "
            f"({self.default.name}). Fix the roster if the building is misspelt."
        )

    def calendar_for(self, student: Student) -> SchoolCalendar:
        """The calendar a student is planned on (by building). For `PlanContext.calendar_for`."""
        found = self._seen.get(student.building)
        if found is None:
            found = self._seen[student.building] = self.for_building(student.building)
        return found

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
        keys: dict[str, str] = {}
        for s in students:
            key = keys.get(s.building)
            if key is None:
                key = keys[s.building] = building_key(s.building)
            ids.setdefault(key, []).append(
                f"{s.student_id} (line {s.line})" if s.line else s.student_id
            )
            names.setdefault(key, s.building)
        configured = {building_key(name) for name in self.buildings}
        refused = self.default is None or (self.unlisted == "error" and bool(self.buildings))
        for key, some in ids.items():
            if key in configured:
                continue
            shown_ids = ", ".join(some[:5]) + (
                f", and {len(some) - 5} more" if len(some) > 5 else ""
            )
            if refused:
                message = f"{self._unknown_message(names[key])} (students {shown_ids})"
                problems.append(Problem(self.where, message))
            elif self.buildings and (near := self.closest(names[key])) is not None:
                # Falling back is allowed, but this looks like a misspelling of a listed one.
                problems.append(
                    Problem(
                        self.where,
                        f"building {names[key]!r} is not listed{_did_you_mean(near)}; its "
                        f"students ({shown_ids}) are planned on the default calendar "
                        f"({self.default.name if self.default else ''}): fix the roster if it "
                        "is misspelt",
                        "warning",
                    )
                )
        problems.extend(unmatched_buildings(self.buildings, students, where=self.where))
        return problems


def _did_you_mean(name: str | None) -> str:
    return f" (did you mean {name!r}?)" if name else ""


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
        unlisted=settings.unlisted_buildings,
    )


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

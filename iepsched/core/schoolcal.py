"""A district's school calendar and school-day arithmetic (SPEC §2.3). Pure, no I/O.

A *school day* is a weekday inside [first_day, last_day] of a configured year and not closed. Each
configured year *covers* July 1 .. June 30 around it; every date in a covered period is known to be
a school day or not. A date outside every covered period is *unknown*: asking about it raises
`UnknownDate` naming the school year to load — the calendar never guesses.

Everything is precomputed into flat arrays indexed by ordinal so the scheduler's many lookups are
O(1); offsets use a prefix count of school days instead of walking day by day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .model import ClosedDays, GradingPeriod, SchoolYear


def school_year_label(day: dt.date) -> str:
    """The July–June school year a date belongs to, e.g. 2027-03-01 -> "2026-27"."""
    start = day.year if day.month >= 7 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


class UnknownDate(Exception):
    """A rule needed a date in a school year whose calendar is not loaded."""

    def __init__(self, day: dt.date, calendar: str = "") -> None:
        self.day = day
        self.school_year = school_year_label(day)
        self.calendar = calendar
        where = f" to {calendar}" if calendar else ""
        super().__init__(
            f"{day.isoformat()} is in school year {self.school_year}, which is not loaded: "
            f"add the {self.school_year} calendar{where}"
        )


@dataclass(frozen=True, slots=True)
class DayInfo:
    """What the calendar knows about one date, for `calendar show`."""

    day: dt.date
    school_day: bool
    reason: str  # "" for a school day; "weekend", "summer", or the closure's label


class SchoolCalendar:
    """Immutable school calendar over one or more configured years."""

    __slots__ = (
        "_closed_label",
        "_covered",
        "_cum_school",
        "_cum_uncovered",
        "_hi",
        "_is_school",
        "_lo",
        "_periods",
        "_school_ords",
        "name",
        "years",
    )

    def __init__(self, name: str, years: Sequence[SchoolYear]) -> None:
        self.name = name
        self.years: tuple[SchoolYear, ...] = tuple(sorted(years, key=lambda y: y.first_day))
        self._periods = tuple(
            sorted(
                ((y, g) for y in self.years for g in y.grading_periods),
                key=lambda yg: yg[1].report_date,
            )
        )
        if not self.years:
            self._lo = self._hi = 0
            self._covered = bytearray()
            self._is_school = bytearray()
            self._cum_school: list[int] = [0]
            self._cum_uncovered: list[int] = [0]
            self._school_ords: list[int] = []
            self._closed_label: dict[int, str] = {}
            return
        spans = [y.covers for y in self.years]
        lo = min(s[0] for s in spans).toordinal()
        hi = max(s[1] for s in spans).toordinal()
        size = hi - lo + 1
        covered = bytearray(size)
        is_school = bytearray(size)
        closed_label: dict[int, str] = {}
        for year, (c_start, c_end) in zip(self.years, spans, strict=True):
            for o in range(c_start.toordinal(), c_end.toordinal() + 1):
                covered[o - lo] = 1
            first, last = year.first_day.toordinal(), year.last_day.toordinal()
            for o in range(first, last + 1):
                if dt.date.fromordinal(o).weekday() < 5:
                    is_school[o - lo] = 1
            for closure in year.closed:
                for o in range(closure.start.toordinal(), closure.end.toordinal() + 1):
                    if lo <= o <= hi:
                        is_school[o - lo] = 0
                        # Overlapping closures (a warning in `calendar check`): the first
                        # listed names the day, whatever order the others come in.
                        closed_label.setdefault(o, closure.label or "closed")
        cum_school = [0] * (size + 1)
        cum_uncovered = [0] * (size + 1)
        school_ords: list[int] = []
        for i in range(size):
            cum_school[i + 1] = cum_school[i] + is_school[i]
            cum_uncovered[i + 1] = cum_uncovered[i] + (0 if covered[i] else 1)
            if is_school[i]:
                school_ords.append(lo + i)
        self._lo, self._hi = lo, hi
        self._covered, self._is_school = covered, is_school
        self._cum_school, self._cum_uncovered = cum_school, cum_uncovered
        self._school_ords = school_ords
        self._closed_label = closed_label

    # -- coverage ---------------------------------------------------------------------------

    def is_covered(self, day: dt.date) -> bool:
        """True when the calendar knows whether `day` is a school day."""
        o = day.toordinal()
        return self._lo <= o <= self._hi and bool(self._covered[o - self._lo])

    def _check_span(self, a: int, b: int) -> None:
        """Raise UnknownDate for the first uncovered ordinal in [a, b] (a <= b)."""
        lo, hi = self._lo, self._hi
        if not self.years or a < lo or a > hi:
            raise UnknownDate(dt.date.fromordinal(a), self.name)
        if b > hi:
            if self._cum_uncovered[hi - lo + 1] - self._cum_uncovered[a - lo]:
                self._raise_first_uncovered(a, hi)
            raise UnknownDate(dt.date.fromordinal(hi + 1), self.name)
        if self._cum_uncovered[b - lo + 1] - self._cum_uncovered[a - lo]:
            self._raise_first_uncovered(a, b)

    def _raise_first_uncovered(self, a: int, b: int) -> None:
        for o in range(a, b + 1):
            if not self._covered[o - self._lo]:
                raise UnknownDate(dt.date.fromordinal(o), self.name)

    # -- queries ----------------------------------------------------------------------------

    def is_school_day(self, day: dt.date) -> bool:
        """Whether `day` is a school day; raises UnknownDate outside the covered periods."""
        o = day.toordinal()
        if not (self._lo <= o <= self._hi) or not self._covered[o - self._lo]:
            raise UnknownDate(day, self.name)
        return bool(self._is_school[o - self._lo])

    def prev_school_day(self, day: dt.date) -> dt.date:
        """`prev(A)`: `day` itself when it is a school day, else the previous school day."""
        o = day.toordinal()
        i = o - self._lo
        if 0 <= i < len(self._is_school) and self._is_school[i] and self._covered[i]:
            return day  # the usual case, answered without the coverage checks
        self._check_span(o, o)
        if self._is_school[o - self._lo]:
            return day
        return self.add_school_days(day, -1)

    def next_school_day(self, day: dt.date) -> dt.date:
        """`day` itself when it is a school day, else the next school day."""
        o = day.toordinal()
        self._check_span(o, o)
        if self._is_school[o - self._lo]:
            return day
        return self.add_school_days(day, 1)

    def add_school_days(self, day: dt.date, n: int) -> dt.date:
        """`school(A, n)`: the n-th school day after (n > 0) or before (n < 0) `day`.

        `day` itself never counts and need not be a school day; n == 0 returns `day`.
        """
        if n == 0:
            return day
        o = day.toordinal()
        i = o - self._lo
        # The usual case first (the planner asks this for every student and rule): `day` and
        # the target inside the loaded years with no unloaded day between them. Anything else
        # takes the checked path below, which says where knowledge ends.
        if 0 <= i < len(self._is_school):
            uncovered, ords = self._cum_uncovered, self._school_ords
            k = self._cum_school[i + 1] + n - 1 if n > 0 else self._cum_school[i] + n
            if 0 <= k < len(ords):
                target = ords[k]
                a, b = (i, target - self._lo) if n > 0 else (target - self._lo, i)
                if uncovered[b + 1] == uncovered[a]:
                    return dt.date.fromordinal(target)
        self._check_span(o, o)
        if n > 0:
            k = self._cum_school[i + 1] + n - 1
            if k >= len(self._school_ords):
                # Ran off the end of the loaded years: find where coverage stops.
                self._check_span(o, self._hi + 1)
            target = self._school_ords[k]
            self._check_span(o, target)
        else:
            k = self._cum_school[i] + n
            if k < 0:
                self._check_span(self._lo - 1, o)
            target = self._school_ords[k]
            self._check_span(target, o)
        return dt.date.fromordinal(target)

    def calendar_days_back(self, day: dt.date, n: int) -> dt.date:
        """`cal(A, -n)`: A - n calendar days, moved to the previous school day if needed."""
        return self.prev_school_day(day - dt.timedelta(days=n))

    def walk(self, start: dt.date, step: int) -> Iterator[dt.date]:
        """School days from `start` (inclusive) onward (step=1) or backward (step=-1).

        Raises UnknownDate when the walk reaches a date the calendar does not know, so a caller
        searching for a usable day stops exactly where knowledge ends.
        """
        o = start.toordinal()
        lo, hi = self._lo, self._hi
        covered, is_school = self._covered, self._is_school
        while True:
            if not (lo <= o <= hi) or not covered[o - lo]:
                raise UnknownDate(dt.date.fromordinal(o), self.name)
            if is_school[o - lo]:
                yield dt.date.fromordinal(o)
            o += step

    def day_info(self, day: dt.date) -> DayInfo:
        """Whether `day` is a school day and, if not, why (weekend, summer, or closure label)."""
        is_school = self.is_school_day(day)
        if is_school:
            return DayInfo(day, True, "")
        label = self._closed_label.get(day.toordinal())
        if label and day.weekday() < 5:
            return DayInfo(day, False, label)
        if day.weekday() >= 5:
            return DayInfo(day, False, "weekend")
        year = self.year_of(day)
        if year is not None and year.first_day <= day <= year.last_day:
            return DayInfo(day, False, label or "closed")
        return DayInfo(day, False, "summer")

    def year_of(self, day: dt.date) -> SchoolYear | None:
        """The configured year whose covered period contains `day`."""
        for year in self.years:
            c_start, c_end = year.covers
            if c_start <= day <= c_end:
                return year
        return None

    def grading_periods(self) -> tuple[tuple[SchoolYear, GradingPeriod], ...]:
        """Every grading period of every year, by report date."""
        return self._periods

    def closures(self) -> list[tuple[SchoolYear, ClosedDays]]:
        """Every configured closure with its year."""
        return [(y, c) for y in self.years for c in y.closed]

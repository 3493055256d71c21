"""A school calendar built from the district's ICS feed (`[calendar.ics]`, SPEC §2.3).

`icalendar` is imported inside the function: it is slow to import and most commands never need it.
"""

from __future__ import annotations

import datetime as dt
import re

from ..core.errors import Problem, UserError
from ..core.model import ClosedDays, SchoolYear
from ..core.schoolcal import SchoolCalendar, school_year_label
from ..core.settings import IcsFeedSettings
from .config import display_path

_ONE_DAY = dt.timedelta(days=1)
# The dates a school calendar may name. Outside them a date is a typo, and the school year around
# it (July 1 .. June 30) would fall off the end of Python's dates (issue 8: year 1, year 9999).
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


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
        if not EARLIEST <= start <= LATEST:
            continue  # a typo'd year: no school day is anywhere near it
        end = event.decoded("DTEND", None)
        if isinstance(end, dt.date) and not isinstance(end, dt.datetime) and end > start:
            last = end - _ONE_DAY
        else:
            duration = event.decoded("DURATION", None)
            days = duration.days if isinstance(duration, dt.timedelta) else 1
            last = start + dt.timedelta(days=min(max(days, 1) - 1, (LATEST - start).days))
        last = min(last, LATEST)
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
    fixed = "[calendar.ics] first_day and last_day" if settings.first_day else ""
    for first, last in spans:
        trouble = _span_trouble(first, last)
        if trouble:
            what = fixed or f'the "First day" and "Last day" events of {school_year_label(first)}'
            raise UserError(Problem(shown, f"{what}: {trouble}"))
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


def _span_trouble(first: dt.date, last: dt.date) -> str:
    """Why FIRST..LAST cannot be one school year ("" if it can)."""
    if not (first >= EARLIEST and last <= LATEST):
        return f"{first.isoformat()} to {last.isoformat()} is not a school year; check the years"
    if last <= first:
        return f"the last day {last.isoformat()} is not after the first day {first.isoformat()}"
    end = SchoolYear("", first, first).covers[1]
    if last > end:
        return (
            f"the last day {last.isoformat()} is after June 30 ({end.isoformat()}), the end of "
            f"school year {school_year_label(first)}"
        )
    return ""

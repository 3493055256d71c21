"""Outlook recurrence: validating a pattern/range and expanding a series into occurrences.

Shared by calendar events (series, calendarView, free/busy) and To Do tasks (the next due date).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from . import timezones
from .store import Event, GraphError

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_MAX_DAYS = 366 * 20


def normalize(value: Any, start_local: datetime, zone: str) -> dict[str, Any] | None:
    """The recurrence as Graph stores it (defaults filled in); 400 when incomplete."""
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("pattern"), dict):
        raise GraphError(400, "ErrorInvalidRequest", "recurrence.pattern is required.")
    pattern = dict(value["pattern"])
    if pattern.get("type") is None:
        raise GraphError(400, "ErrorInvalidRequest", "recurrence.pattern.type is required.")
    interval = pattern.get("interval", 1)
    if not isinstance(interval, int) or interval < 1:
        raise GraphError(400, "ErrorInvalidRequest", "recurrence.pattern.interval must be >= 1.")
    rng = dict(value.get("range") or {})
    rtype = rng.get("type") or "noEnd"
    start_date = rng.get("startDate") or start_local.date().isoformat()
    if rtype == "endDate" and not rng.get("endDate"):
        raise GraphError(400, "ErrorInvalidRequest", "recurrence.range.endDate is required.")
    if rtype == "numbered" and not (rng.get("numberOfOccurrences") or 0) > 0:
        raise GraphError(
            400, "ErrorInvalidRequest", "recurrence.range.numberOfOccurrences must be positive."
        )
    if pattern["type"] in ("weekly", "relativeMonthly", "relativeYearly") and not pattern.get(
        "daysOfWeek"
    ):
        raise GraphError(
            400, "ErrorInvalidRequest", f"daysOfWeek is required for {pattern['type']} recurrence."
        )
    return {
        "pattern": {
            "type": pattern["type"],
            "interval": interval,
            "month": pattern.get("month") or 0,
            "dayOfMonth": pattern.get("dayOfMonth") or 0,
            "daysOfWeek": list(pattern.get("daysOfWeek") or []),
            "firstDayOfWeek": pattern.get("firstDayOfWeek") or "sunday",
            "index": pattern.get("index") or "first",
        },
        "range": {
            "type": rtype,
            "startDate": start_date,
            "endDate": rng.get("endDate") or "0001-01-01",
            "recurrenceTimeZone": rng.get("recurrenceTimeZone") or zone,
            "numberOfOccurrences": rng.get("numberOfOccurrences") or 0,
        },
    }


def occurrence_id(ev: Event, start: datetime) -> str:
    """A stable id for one occurrence of a series (opaque to clients, like Graph's)."""
    return ev.id.rstrip("=") + "AAEO" + start.strftime("%Y%m%d%H%M") + "="


def occurrences(ev: Event, lo: datetime, hi: datetime) -> Iterator[tuple[datetime, datetime]]:
    """(start, end) UTC instants of every instance overlapping [lo, hi)."""
    duration = ev.end - ev.start
    rec = ev.props.get("recurrence")
    if not rec:
        if (ev.start < hi and ev.end > lo) or (ev.start == ev.end and lo <= ev.start < hi):
            yield ev.start, ev.end
        return
    zone = timezones.resolve(ev.start_zone)
    local_start = ev.start.astimezone(zone)
    pattern, rng = rec["pattern"], rec["range"]
    first = date.fromisoformat(rng["startDate"])
    last = date.fromisoformat(rng["endDate"]) if rng["type"] == "endDate" else None
    remaining = rng["numberOfOccurrences"] if rng["type"] == "numbered" else math.inf
    stop = (hi.astimezone(zone) + timedelta(days=1)).date()
    day = first
    for _ in range(_MAX_DAYS):
        if (last and day > last) or day > stop or remaining <= 0:
            return
        if matches(pattern, first, day):
            remaining -= 1
            start = datetime.combine(day, local_start.time(), tzinfo=zone).astimezone(UTC)
            if start < hi and start + duration > lo:
                yield start, start + duration
        day += timedelta(days=1)


def matches(pattern: dict[str, Any], first: date, day: date) -> bool:
    """Whether `pattern` has an occurrence on `day` in a series whose range starts on `first`."""
    kind, interval = str(pattern["type"]), int(pattern["interval"])
    days = {d.lower() for d in pattern.get("daysOfWeek") or []}
    weekday = _WEEKDAYS[day.weekday()]
    months = (day.year - first.year) * 12 + day.month - first.month
    if kind == "daily":
        return (day - first).days % interval == 0
    if kind == "weekly":
        fdow = _WEEKDAYS.index(pattern.get("firstDayOfWeek") or "sunday")

        def week_start(d: date) -> date:
            return d - timedelta(days=(d.weekday() - fdow) % 7)

        weeks = (week_start(day) - week_start(first)).days // 7
        return weekday in days and weeks % interval == 0
    if kind == "absoluteMonthly":
        return day.day == int(pattern["dayOfMonth"]) and months % interval == 0
    if kind == "absoluteYearly":
        return (
            day.month == int(pattern["month"])
            and day.day == int(pattern["dayOfMonth"])
            and (day.year - first.year) % interval == 0
        )
    if kind in ("relativeMonthly", "relativeYearly"):
        if weekday not in days:
            return False
        if kind == "relativeYearly" and (
            day.month != pattern["month"] or (day.year - first.year) % interval
        ):
            return False
        if kind == "relativeMonthly" and months % interval:
            return False
        index = _INDEX.get(str(pattern.get("index") or "first"), 1)
        if index == -1:
            return (day + timedelta(days=7)).month != day.month
        return (day.day - 1) // 7 + 1 == index
    return False

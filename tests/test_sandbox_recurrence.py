"""The sandbox's recurrence module on its own: Outlook patterns, ranges and local wall time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from iepsched.sandbox import events, recurrence
from iepsched.sandbox.store import Event, GraphError, Store


def series(
    pattern: dict[str, Any],
    rng: dict[str, Any] | None = None,
    start: str = "2026-01-05T09:00:00",
    zone: str = "UTC",
) -> Event:
    """A one-hour series created the way POST /events does (defaults filled in)."""
    end = (datetime.fromisoformat(start) + timedelta(hours=1)).isoformat()
    body = {
        "subject": "series",
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
        "recurrence": {"pattern": pattern, "range": rng or {"type": "noEnd"}},
    }
    store = Store()
    return events.create(store, store.mailbox("cm@d.org"), body)


def days(ev: Event, lo: str = "2026-01-01", hi: str = "2027-01-01") -> list[date]:
    start = datetime.fromisoformat(lo).replace(tzinfo=UTC)
    end = datetime.fromisoformat(hi).replace(tzinfo=UTC)
    return [s.date() for s, _ in recurrence.occurrences(ev, start, end)]


def test_daily_every_other_day_from_the_range_start() -> None:
    """interval 2 counts days from the range's startDate."""
    ev = series({"type": "daily", "interval": 2}, {"type": "numbered", "numberOfOccurrences": 4})
    assert days(ev) == [date(2026, 1, d) for d in (5, 7, 9, 11)]


def test_weekly_interval_counts_weeks_from_the_first_day_of_week() -> None:
    """Every second week on Monday and Thursday; weeks begin on the pattern's firstDayOfWeek."""
    ev = series(
        {"type": "weekly", "interval": 2, "daysOfWeek": ["monday", "thursday"]},
        {"type": "endDate", "startDate": "2026-01-05", "endDate": "2026-02-01"},
    )
    assert days(ev) == [date(2026, 1, d) for d in (5, 8, 19, 22)]
    # Starting on a Sunday: with weeks from Monday the Sunday closes the first week.
    pattern = {"type": "weekly", "interval": 2, "daysOfWeek": ["sunday", "monday"]}
    by_monday = series({**pattern, "firstDayOfWeek": "monday"}, start="2026-01-04T09:00:00")
    by_sunday = series(pattern, start="2026-01-04T09:00:00")
    assert days(by_monday, hi="2026-01-19") == [date(2026, 1, d) for d in (4, 12, 18)]
    assert days(by_sunday, hi="2026-01-19") == [date(2026, 1, d) for d in (4, 5, 18)]


def test_monthly_and_yearly_patterns() -> None:
    """absolute and relative monthly/yearly patterns land on Outlook's days."""
    fifteenth = series({"type": "absoluteMonthly", "interval": 2, "dayOfMonth": 15})
    assert days(fifteenth, hi="2026-08-01") == [date(2026, m, 15) for m in (1, 3, 5, 7)]
    last_friday = series(
        {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["friday"], "index": "last"}
    )
    assert days(last_friday, hi="2026-04-01") == [
        date(2026, 1, 30),
        date(2026, 2, 27),
        date(2026, 3, 27),
    ]
    second_tuesday = series(
        {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["tuesday"], "index": "second"}
    )
    assert days(second_tuesday, hi="2026-03-01") == [date(2026, 1, 13), date(2026, 2, 10)]
    birthday = series({"type": "absoluteYearly", "interval": 1, "month": 3, "dayOfMonth": 15})
    assert days(birthday, hi="2028-01-01") == [date(2026, 3, 15), date(2027, 3, 15)]
    thanksgiving = series(
        {
            "type": "relativeYearly",
            "interval": 1,
            "month": 11,
            "daysOfWeek": ["thursday"],
            "index": "fourth",
        }
    )
    assert days(thanksgiving, hi="2028-01-01") == [date(2026, 11, 26), date(2027, 11, 25)]


def test_numbered_ranges_count_occurrences_before_the_window() -> None:
    """numberOfOccurrences counts from the range start, not from the queried window."""
    ev = series({"type": "daily", "interval": 1}, {"type": "numbered", "numberOfOccurrences": 5})
    assert days(ev, lo="2026-01-08") == [date(2026, 1, 8), date(2026, 1, 9)]


def test_end_dates_are_inclusive() -> None:
    """An endDate range includes an occurrence on the end date itself."""
    ev = series(
        {"type": "daily", "interval": 1},
        {"type": "endDate", "startDate": "2026-01-05", "endDate": "2026-01-07"},
    )
    assert days(ev) == [date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 7)]


def test_occurrences_keep_local_wall_time_across_dst() -> None:
    """A 09:00 New York series is 14:00 UTC in winter and 13:00 UTC after the March change."""
    ev = series(
        {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
        {"type": "numbered", "numberOfOccurrences": 2},
        start="2026-03-02T09:00:00",
        zone="America/New_York",
    )
    lo = datetime(2026, 3, 1, tzinfo=UTC)
    starts = [s for s, _ in recurrence.occurrences(ev, lo, lo + timedelta(days=30))]
    assert starts == [datetime(2026, 3, 2, 14, tzinfo=UTC), datetime(2026, 3, 9, 13, tzinfo=UTC)]


def test_an_occurrence_overlapping_the_window_start_is_included() -> None:
    """occurrences() returns instances that overlap [lo, hi), not only those starting inside."""
    ev = series({"type": "daily", "interval": 1})
    lo = datetime(2026, 1, 6, 9, 30, tzinfo=UTC)
    found = list(recurrence.occurrences(ev, lo, lo + timedelta(minutes=30)))
    assert found == [(datetime(2026, 1, 6, 9, tzinfo=UTC), datetime(2026, 1, 6, 10, tzinfo=UTC))]


@pytest.mark.parametrize(
    ("value", "wanted"),
    [
        ({"range": {}}, "pattern is required"),
        ({"pattern": {"interval": 1}}, "type is required"),
        ({"pattern": {"type": "daily", "interval": 0}}, "interval must be >= 1"),
        ({"pattern": {"type": "weekly"}}, "daysOfWeek is required"),
        ({"pattern": {"type": "daily"}, "range": {"type": "endDate"}}, "endDate is required"),
        ({"pattern": {"type": "daily"}, "range": {"type": "numbered"}}, "must be positive"),
    ],
)
def test_incomplete_recurrences_are_refused(value: dict[str, Any], wanted: str) -> None:
    """normalize() answers 400 for what Graph refuses."""
    with pytest.raises(GraphError) as caught:
        recurrence.normalize(value, datetime(2026, 1, 5, 9), "UTC")
    assert caught.value.status == 400 and wanted in caught.value.message


def test_normalize_fills_graph_defaults() -> None:
    """A minimal recurrence gets Graph's defaults, its start date and time zone."""
    out = recurrence.normalize({"pattern": {"type": "daily"}}, datetime(2026, 1, 5, 9), "Pacific")
    assert out == {
        "pattern": {
            "type": "daily",
            "interval": 1,
            "month": 0,
            "dayOfMonth": 0,
            "daysOfWeek": [],
            "firstDayOfWeek": "sunday",
            "index": "first",
        },
        "range": {
            "type": "noEnd",
            "startDate": "2026-01-05",
            "endDate": "0001-01-01",
            "recurrenceTimeZone": "Pacific",
            "numberOfOccurrences": 0,
        },
    }

"""The sandbox's getSchedule on its own: slots, window edges, precedence, series and limits."""

from __future__ import annotations

from typing import Any

import pytest

from iepsched.sandbox import events
from iepsched.sandbox.getschedule import get_schedule
from iepsched.sandbox.store import Event, GraphError, Store

DAY = "2026-09-01"


def when(clock: str, zone: str = "UTC") -> dict[str, str]:
    return {"dateTime": f"{DAY}T{clock}:00", "timeZone": zone}


def add(store: Store, owner: str, start: str, end: str, **props: Any) -> Event:
    body = {"subject": "x", "start": when(start), "end": when(end), **props}
    return events.create(store, store.mailbox(owner), body)


def view(
    store: Store, start: str, end: str, interval: int = 60, who: str = "cm@d.org"
) -> dict[str, Any]:
    body = {
        "schedules": [who],
        "startTime": when(start),
        "endTime": when(end),
        "availabilityViewInterval": interval,
    }
    return get_schedule(store, body, None)[0]


def refused(body: dict[str, Any]) -> str:
    with pytest.raises(GraphError) as caught:
        get_schedule(Store(), body, None)
    assert caught.value.status == 400
    return caught.value.message


def test_the_last_slot_may_be_partial_and_still_counts() -> None:
    """A 90-minute window in 60-minute slots has two digits; busy in the last half-slot shows."""
    store = Store()
    add(store, "cm@d.org", "09:40", "09:50")
    assert view(store, "08:00", "09:30")["availabilityView"] == "00"
    assert view(store, "08:30", "10:00")["availabilityView"] == "02"


def test_window_and_slot_edges_are_half_open() -> None:
    """An event ending at a slot's start, or starting at its end, leaves that slot free."""
    store = Store()
    add(store, "cm@d.org", "09:00", "10:00")
    assert view(store, "08:00", "11:00")["availabilityView"] == "020"
    assert view(store, "10:00", "11:00")["scheduleItems"] == []
    assert view(store, "08:00", "09:00")["scheduleItems"] == []


def test_an_event_across_slots_marks_each_slot_it_touches() -> None:
    """A 09:15-10:15 event makes both the 09:00 and the 10:00 slots busy."""
    store = Store()
    add(store, "cm@d.org", "09:15", "10:15")
    assert view(store, "08:00", "12:00")["availabilityView"] == "0220"
    assert view(store, "08:00", "12:00", interval=30)["availabilityView"] == "00222000"


def test_the_strongest_status_wins_a_shared_slot() -> None:
    """Within one slot oof beats busy beats tentative beats workingElsewhere; free shows nothing."""
    store = Store()
    add(store, "cm@d.org", "08:00", "08:30", showAs="workingElsewhere")
    add(store, "cm@d.org", "09:00", "09:30", showAs="workingElsewhere")
    add(store, "cm@d.org", "09:30", "10:00", showAs="tentative")
    add(store, "cm@d.org", "10:00", "10:30", showAs="tentative")
    add(store, "cm@d.org", "10:30", "11:00", showAs="busy")
    add(store, "cm@d.org", "11:00", "11:30", showAs="busy")
    add(store, "cm@d.org", "11:30", "12:00", showAs="oof")
    add(store, "cm@d.org", "12:00", "13:00", showAs="free")
    sched = view(store, "08:00", "13:00")
    assert sched["availabilityView"] == "41230"
    assert [item["status"] for item in sched["scheduleItems"]] == [
        "workingElsewhere",
        "workingElsewhere",
        "tentative",
        "tentative",
        "busy",
        "busy",
        "oof",
    ]


def test_series_occurrences_and_cancelled_events() -> None:
    """Each occurrence of a series in the window is an item; cancelled events are left out."""
    store = Store()
    series = {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "numberOfOccurrences": 3},
    }
    add(store, "cm@d.org", "09:00", "10:00", recurrence=series)
    # Clients cannot set isCancelled; the flag only exists on items Exchange keeps after a cancel.
    add(store, "cm@d.org", "11:00", "12:00").props["isCancelled"] = True
    body = {
        "schedules": ["cm@d.org"],
        "startTime": when("00:00"),
        "endTime": {"dateTime": "2026-09-05T00:00:00", "timeZone": "UTC"},
        "availabilityViewInterval": 1440,
    }
    sched = get_schedule(store, body, None)[0]
    assert sched["availabilityView"] == "2220"
    starts = [item["start"]["dateTime"][:16] for item in sched["scheduleItems"]]
    assert starts == ["2026-09-01T09:00", "2026-09-02T09:00", "2026-09-03T09:00"]


def test_items_and_working_hours_follow_the_asked_zone() -> None:
    """Items are in the Prefer zone (UTC without one); workingHours use it, else the start zone."""
    store = Store()
    add(store, "cm@d.org", "14:00", "15:00")
    body = {
        "schedules": ["cm@d.org", "not-an-address"],
        "startTime": when("08:00", "America/Chicago"),
        "endTime": when("12:00", "America/Chicago"),
    }
    plain, invalid = get_schedule(store, body, None)
    assert plain["scheduleItems"][0]["start"]["timeZone"] == "UTC"
    assert plain["workingHours"]["timeZone"] == {"name": "America/Chicago"}
    assert invalid["error"]["responseCode"] == "ErrorInvalidSmtpAddress"
    assert invalid["availabilityView"] == ""
    zoned = get_schedule(store, body, "Eastern Standard Time")[0]
    assert zoned["scheduleItems"][0]["start"] == {
        "dateTime": f"{DAY}T10:00:00.0000000",
        "timeZone": "Eastern Standard Time",
    }
    assert zoned["workingHours"]["timeZone"] == {"name": "Eastern Standard Time"}
    assert len(zoned["availabilityView"]) == 8  # default 30-minute slots over four hours


def test_window_and_interval_limits() -> None:
    """The window must be positive and under 42 days; the interval 5..1440 minutes."""
    base = {"schedules": ["a@d.org"], "startTime": when("08:00")}
    day42 = {"dateTime": "2026-10-13T08:00:00", "timeZone": "UTC"}
    just_under = {"dateTime": "2026-10-13T07:59:00", "timeZone": "UTC"}
    assert "42 days" in refused({**base, "endTime": day42})
    assert len(get_schedule(Store(), {**base, "endTime": just_under}, None)) == 1
    assert "after startTime" in refused({**base, "endTime": when("08:00")})
    for interval in (4, 1441, "x"):
        assert "availabilityViewInterval" in refused(
            {**base, "endTime": when("09:00"), "availabilityViewInterval": interval}
        )
    for interval in (5, 1440):
        ok = {**base, "endTime": when("09:00"), "availabilityViewInterval": interval}
        assert get_schedule(Store(), ok, None)[0]["availabilityView"].strip("0") == ""
    assert "not a valid parameter" in refused({**base, "endTime": when("09:00"), "extra": 1})
    assert "non-empty list" in refused({**base, "endTime": when("09:00"), "schedules": []})

"""getSchedule: free/busy computed from every event the sandbox holds.

Callers hold :attr:`Store.lock`.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from . import timezones
from .events import parse_when
from .recurrence import occurrences
from .store import Event, GraphError, Store

_FREEBUSY_DIGIT = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}
# Which status wins when items overlap in one availabilityView slot.
_FREEBUSY_RANK = {"free": 0, "workingElsewhere": 1, "tentative": 2, "busy": 3, "oof": 4}

MAX_SCHEDULES = 20
MAX_WINDOW = timedelta(days=42)


def get_schedule(store: Store, body: Any, prefer_zone: str | None) -> list[dict[str, Any]]:
    """Free/busy computed from every event the sandbox holds."""
    if not isinstance(body, dict):
        raise GraphError(400, "ErrorInvalidRequest", "The request body must be a JSON object.")
    params = {k.lower(): v for k, v in body.items()}
    unknown = set(params) - {"schedules", "starttime", "endtime", "availabilityviewinterval"}
    if unknown:
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            f"The parameter '{sorted(unknown)[0]}' in the request payload is not a valid "
            "parameter for the operation 'getSchedule'.",
        )
    schedules = params.get("schedules")
    if (
        not isinstance(schedules, list)
        or not schedules
        or not all(isinstance(s, str) for s in schedules)
    ):
        raise GraphError(
            400, "ErrorInvalidParameter", "schedules must be a non-empty list of addresses."
        )
    if len(schedules) > MAX_SCHEDULES:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            f"getSchedule accepts at most {MAX_SCHEDULES} schedules; "
            f"{len(schedules)} were requested.",
        )
    if "starttime" not in params or "endtime" not in params:
        raise GraphError(400, "ErrorInvalidParameter", "startTime and endTime are required.")
    lo, start_zone = parse_when(params["starttime"], "startTime")
    hi, _ = parse_when(params["endtime"], "endTime")
    if hi <= lo:
        raise GraphError(400, "ErrorInvalidParameter", "endTime must be after startTime.")
    if hi - lo >= MAX_WINDOW:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "The time period to look up must be less than 42 days.",
        )
    raw_interval = params.get("availabilityviewinterval", 30)
    try:
        interval = int(raw_interval if raw_interval is not None else 30)
    except (TypeError, ValueError) as exc:
        raise GraphError(
            400, "ErrorInvalidParameter", "availabilityViewInterval must be an integer."
        ) from exc
    if not 5 <= interval <= 1440:
        raise GraphError(
            400, "ErrorInvalidParameter", "availabilityViewInterval must be between 5 and 1440."
        )
    step = timedelta(minutes=interval)
    slots = math.ceil((hi - lo) / step)
    hours_zone = prefer_zone or start_zone
    return [
        _schedule_for(store, sid, lo, hi, step, slots, prefer_zone, hours_zone) for sid in schedules
    ]


def _schedule_for(
    store: Store,
    sid: str,
    lo: datetime,
    hi: datetime,
    step: timedelta,
    slots: int,
    zone: str | None,
    hours_zone: str,
) -> dict[str, Any]:
    if "@" not in sid:
        return {
            "scheduleId": sid,
            "availabilityView": "",
            "error": {
                "message": f"{sid} is not a valid SMTP address.",
                "responseCode": "ErrorInvalidSmtpAddress",
            },
        }
    address = sid.lower()
    if not store.tenant.exists(address):
        # Graph's entry for an address it cannot resolve: no view, just the error (observed,
        # microsoftgraph/microsoft-graph-docs#11225; graph-facts §2 "a single schedule item").
        return {
            "scheduleId": sid,
            "error": {
                "message": f"Unable to resolve e-mail address {sid} to an Active Directory object.",
                "responseCode": "5009",
            },
        }
    items: list[tuple[datetime, datetime, str, Event]] = []
    for box in store.mailboxes.values():
        for ev in box.events.values():
            if ev.props.get("isCancelled"):
                continue
            status = _status_for(box.key, ev, address)
            if status is None or status == "free":
                continue
            for start, end in occurrences(ev, lo, hi):
                items.append((start, end, status, ev))
    items.sort(key=lambda item: (item[0], item[1]))
    view = []
    for index in range(slots):
        s, e = lo + index * step, min(lo + (index + 1) * step, hi)
        best = "free"
        for start, end, status, _ in items:
            if start < e and end > s and _FREEBUSY_RANK.get(status, 3) > _FREEBUSY_RANK[best]:
                best = status
        view.append(_FREEBUSY_DIGIT.get(best, "2"))
    schedule_items = []
    for start, end, status, ev in items:
        sensitivity = ev.props.get("sensitivity", "normal")
        item: dict[str, Any] = {"isPrivate": sensitivity == "private", "status": status}
        if sensitivity in ("normal", "personal"):  # private details stay hidden, as in Outlook
            item["subject"] = ev.props.get("subject", "")
            item["location"] = (ev.props.get("location") or {}).get("displayName", "")
        item["start"] = timezones.output(start, zone)
        item["end"] = timezones.output(end, zone)
        schedule_items.append(item)
    return {
        "scheduleId": sid,
        "availabilityView": "".join(view),
        "scheduleItems": schedule_items,
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": {"name": hours_zone},
        },
    }


def _status_for(owner: str, ev: Event, address: str) -> str | None:
    """How `ev` shows on `address`'s free/busy, or None when it does not."""
    show = str(ev.props.get("showAs", "busy"))
    if owner == address:
        return show
    for attendee in ev.props.get("attendees", []):
        if str(attendee["emailAddress"]["address"]).lower() != address:
            continue
        response = attendee["status"]["response"]
        if response == "declined":
            return None
        if response == "accepted":
            return show
        # Exchange puts an unanswered request on the attendee's calendar as tentative.
        return "tentative" if show != "free" else "free"
    return None

"""How `MemoryRemote` reads the Graph-shaped items it stores.

Written apart from `graphread` on purpose: the contract tests run one suite over `MemoryRemote` and
over `GraphRemote` against the sandbox, and they can only catch a bug in GraphRemote's reading of
Graph JSON if the fake does not share that code. So this module imports neither `graphread` nor
`graphremote`; it reads the documented Graph shapes (``dateTimeTimeZone``, the key extended
property, linked resources, ``@odata.etag``) with its own, simpler rules. It only has to read what
iepsched itself writes (IANA zone names; Graph's seven fractional digits), not everything Graph
may echo — that wider reading is `graphread`'s job and is unit-tested on Microsoft's examples.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..core.items import INSTALLATION_PROPERTY_ID
from ..core.remote import APPLICATION_NAME, KEY_PROPERTY_ID, RemoteEvent, RemoteTask

__all__ = [
    "BUSY",
    "etag_inner",
    "event_of",
    "owner_of",
    "prefer_event",
    "prefer_task",
    "read_day",
    "read_time",
    "task_of",
    "zone_named",
]

BUSY = frozenset({"busy", "oof", "tentative"})  # showAs values that block a free/busy slot

# Graph's dateTime: seconds, then up to seven fractional digits; no offset (the zone is separate).
_DATE_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,7}))?")


def zone_named(name: str) -> dt.tzinfo | None:
    """The tzinfo of an IANA zone name ("" and "UTC" are UTC); None when unknown."""
    if name in ("", "UTC"):
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def read_time(value: Any) -> dt.datetime | None:
    """The aware instant of a stored ``dateTimeTimeZone``, or None when absent or unreadable."""
    if not isinstance(value, Mapping) or not isinstance(value.get("dateTime"), str):
        return None
    match = _DATE_TIME.fullmatch(value["dateTime"])
    zone = zone_named(str(value.get("timeZone") or ""))
    if match is None or zone is None:
        return None
    wall = dt.datetime.strptime(match[1], "%Y-%m-%dT%H:%M:%S")
    micro = int((match[2] or "0")[:6].ljust(6, "0"))
    return wall.replace(microsecond=micro, tzinfo=zone)


def read_day(value: Any) -> dt.date | None:
    """The date of a stored ``dateTimeTimeZone`` as written (To Do keeps dates, not instants)."""
    if not isinstance(value, Mapping) or not isinstance(value.get("dateTime"), str):
        return None
    match = _DATE_TIME.fullmatch(value["dateTime"])
    return dt.date.fromisoformat(match[1][:10]) if match else None


def etag_inner(obj: Mapping[str, Any]) -> str:
    """The change key inside an item's weak ETag (``W/"abc"`` -> ``abc``)."""
    return str(obj.get("@odata.etag", "")).removeprefix("W/").strip('"')


def event_of(obj: Mapping[str, Any], mailbox: str) -> RemoteEvent | None:
    """The remote view of a stored event, or None when it does not carry iepsched's key."""
    keys = [
        p["value"]
        for p in obj.get("singleValueExtendedProperties", [])
        if str(p.get("id", "")).lower() == KEY_PROPERTY_ID.lower()
    ]
    if not keys:
        return None
    declined = tuple(
        a["emailAddress"]["address"].lower()
        for a in obj.get("attendees", [])
        if str(a.get("status", {}).get("response", "")).lower() == "declined"
    )
    return RemoteEvent(
        key=str(keys[0]),
        remote_id=str(obj["id"]),
        mailbox=mailbox,
        change_key=str(obj.get("changeKey") or etag_inner(obj)),
        start=read_time(obj.get("start")),
        end=read_time(obj.get("end")),
        is_cancelled=bool(obj.get("isCancelled", False)),
        declined_by=declined,
    )


def task_of(obj: Mapping[str, Any], mailbox: str, list_id: str) -> RemoteTask | None:
    """The remote view of a stored To Do task, or None when no iepsched link marks it."""
    keys = [
        link["externalId"]
        for link in obj.get("linkedResources", [])
        if link.get("applicationName") == APPLICATION_NAME and link.get("externalId")
    ]
    if not keys:
        return None
    status = str(obj.get("status", "notStarted"))
    done = read_day(obj.get("completedDateTime")) if status == "completed" else None
    return RemoteTask(
        key=str(keys[0]),
        remote_id=str(obj["id"]),
        mailbox=mailbox,
        list_id=list_id,
        status=status,
        completed_on=done,
        checked=tuple(
            str(c.get("displayName", ""))
            for c in obj.get("checklistItems", [])
            if c.get("isChecked")
        ),
        change_key=etag_inner(obj),
        checklist=tuple(str(c.get("displayName", "")) for c in obj.get("checklistItems", [])),
    )


def owner_of(obj: Mapping[str, Any]) -> str | None:
    """The installation an event (installation property) or task (iepsched linked resource's
    displayName, unless it is the key as before installations) names; None when none."""
    for prop in obj.get("singleValueExtendedProperties") or []:
        if str(prop.get("id", "")).lower() == INSTALLATION_PROPERTY_ID.lower():
            return str(prop.get("value") or "") or None
    for link in obj.get("linkedResources") or []:
        if link.get("applicationName") == APPLICATION_NAME:
            name = link.get("displayName")
            return str(name) if name and name != link.get("externalId") else None
    return None


def prefer_event(seen: RemoteEvent | None, other: RemoteEvent) -> RemoteEvent:
    """Of two events with one key, the snapshot shows a live one before a cancelled one."""
    if seen is not None and not (seen.is_cancelled and not other.is_cancelled):
        return seen
    return other


def prefer_task(seen: RemoteTask | None, other: RemoteTask) -> RemoteTask:
    """Of two tasks with one key (a recurring task's occurrences), the open one carries it."""
    if seen is not None and not (seen.status == "completed" and other.status != "completed"):
        return seen
    return other

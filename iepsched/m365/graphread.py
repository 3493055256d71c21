"""Reading Microsoft Graph JSON into the sync engine's remote values (SPEC §5).

Events and tasks iepsched wrote are recognised by their key (an extended property on events, a
linked resource on To Do tasks); Graph's ``dateTimeTimeZone`` values are read in the zone they
are labelled with (IANA or the Windows names Graph may echo); a write's answer becomes a
`Result`. Pure functions only. `MemoryRemote` deliberately has its own reading of the items it
stores, so the shared contract tests compare two independent mappings.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..core.errors import GraphError, GraphNotFound
from ..core.items import INSTALLATION_PROPERTY_ID
from ..core.remote import APPLICATION_NAME, KEY_PROPERTY_ID, Action, RemoteEvent, RemoteTask, Result
from .graphwire import GraphResponse
from .graphwrite import TASK_KINDS, failed
from .zones import iana_zone

__all__ = [
    "BUSY_STATUSES",
    "busy_from_schedule",
    "event_from_graph",
    "event_owner",
    "parse_date",
    "parse_datetime",
    "pick_event",
    "pick_task",
    "resolve_zone",
    "result_from_answer",
    "task_from_graph",
    "task_owner",
]

log = logging.getLogger(__name__)

BUSY_STATUSES = frozenset({"busy", "oof", "tentative"})


def resolve_zone(name: str) -> dt.tzinfo | None:
    """The tzinfo for an IANA or Windows zone name Graph uses (CLDR mapping); None if unknown."""
    text = name.strip()
    if not text:
        return None
    if text.lower() in ("utc", "coordinated universal time", "tzone://microsoft/utc"):
        return dt.UTC
    mapped = iana_zone(text)
    if mapped == "UTC":
        return dt.UTC
    try:
        return ZoneInfo(mapped)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def parse_datetime(value: Any) -> dt.datetime | None:
    """An aware datetime from a Graph ``dateTimeTimeZone`` (None when absent or unreadable).

    Graph writes up to seven fractional digits (``07:45:00.0000000``); Python reads six.
    """
    if not isinstance(value, Mapping):
        return None
    text = value.get("dateTime")
    if not isinstance(text, str) or not text:
        return None
    zone = resolve_zone(str(value.get("timeZone") or "UTC"))
    if zone is None:
        log.warning("Graph returned a time in a zone iepsched does not know; time ignored")
        return None
    base, dot, fraction = text.rstrip("Z").partition(".")
    try:
        parsed = dt.datetime.fromisoformat(base + (dot + fraction[:6] if dot else ""))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        return parsed
    return parsed.replace(tzinfo=zone)


def parse_date(value: Any) -> dt.date | None:
    """The calendar date of a Graph ``dateTimeTimeZone`` as written, without zone conversion.

    To Do keeps dates only and returns ``completedDateTime`` as UTC midnight whatever zone was
    asked for (graph-facts §3), so converting would shift the date.
    """
    if not isinstance(value, Mapping):
        return None
    text = value.get("dateTime")
    if not isinstance(text, str) or len(text) < 10:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def etag_value(etag: Any) -> str:
    """The change key inside a weak ETag (``W/"abc"`` -> ``abc``)."""
    if not isinstance(etag, str):
        return ""
    text = etag.removeprefix("W/")
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def key_of_event(obj: Mapping[str, Any]) -> str | None:
    return _property(obj, KEY_PROPERTY_ID)


def event_owner(obj: Mapping[str, Any]) -> str | None:
    """The installation an event names (its installation property), when expanded."""
    return _property(obj, INSTALLATION_PROPERTY_ID)


def task_owner(obj: Mapping[str, Any]) -> str | None:
    """The installation an iepsched task names (its linked resource's displayName); None for a
    task of no installation or of the form before installations (displayName = the key)."""
    for link in obj.get("linkedResources") or []:
        if isinstance(link, Mapping) and link.get("applicationName") == APPLICATION_NAME:
            name = link.get("displayName")
            if isinstance(name, str) and name and name != link.get("externalId"):
                return name
    return None


def _property(obj: Mapping[str, Any], prop_id: str) -> str | None:
    wanted = prop_id.lower()
    for prop in obj.get("singleValueExtendedProperties") or []:
        if not isinstance(prop, Mapping):
            continue
        if str(prop.get("id", "")).lower() == wanted and isinstance(prop.get("value"), str):
            return str(prop["value"])
    return None


def event_from_graph(obj: Mapping[str, Any], mailbox: str) -> RemoteEvent | None:
    """A `RemoteEvent` from a Graph event carrying iepsched's key property, else None."""
    key = key_of_event(obj)
    if not key or not isinstance(obj.get("id"), str):
        return None
    declined = []
    for attendee in obj.get("attendees") or []:
        status = attendee.get("status") if isinstance(attendee, Mapping) else None
        response = str(status.get("response", "")) if isinstance(status, Mapping) else ""
        email = attendee.get("emailAddress") if isinstance(attendee, Mapping) else None
        address = email.get("address") if isinstance(email, Mapping) else None
        if response.lower() == "declined" and isinstance(address, str):
            declined.append(address.lower())
    return RemoteEvent(
        key=key,
        remote_id=str(obj["id"]),
        mailbox=mailbox,
        change_key=str(obj.get("changeKey") or etag_value(obj.get("@odata.etag"))),
        start=parse_datetime(obj.get("start")),
        end=parse_datetime(obj.get("end")),
        is_cancelled=bool(obj.get("isCancelled")),
        declined_by=tuple(declined),
    )


def task_from_graph(obj: Mapping[str, Any], mailbox: str, list_id: str) -> RemoteTask | None:
    """A `RemoteTask` from a To Do task linked to iepsched (linkedResources expanded), else None."""
    key = None
    for link in obj.get("linkedResources") or []:
        if (
            isinstance(link, Mapping)
            and link.get("applicationName") == APPLICATION_NAME
            and isinstance(link.get("externalId"), str)
            and link["externalId"]
        ):
            key = str(link["externalId"])
            break
    if key is None or not isinstance(obj.get("id"), str):
        return None
    status = str(obj.get("status") or "notStarted")
    checked = tuple(
        str(item.get("displayName", ""))
        for item in obj.get("checklistItems") or []
        if isinstance(item, Mapping) and item.get("isChecked")
    )
    return RemoteTask(
        key=key,
        remote_id=str(obj["id"]),
        mailbox=mailbox,
        list_id=list_id,
        status=status,
        completed_on=parse_date(obj.get("completedDateTime")) if status == "completed" else None,
        checked=checked,
        change_key=etag_value(obj.get("@odata.etag")),
        checklist=tuple(
            str(item.get("displayName", ""))
            for item in obj.get("checklistItems") or []
            if isinstance(item, Mapping)
        ),
    )


def pick_event(current: RemoteEvent | None, found: RemoteEvent) -> RemoteEvent:
    """Which of two events sharing a key the snapshot reports: a live one over a cancelled one,
    else the first seen (a second copy should not exist; transactionId prevents it)."""
    if current is None or (current.is_cancelled and not found.is_cancelled):
        return found
    return current


def pick_task(current: RemoteTask | None, found: RemoteTask) -> RemoteTask:
    """Which of two tasks sharing a key the snapshot reports: an open one over a completed one.

    Completing an occurrence of a recurring To Do task leaves the completed task (with its linked
    resource) and creates the next occurrence as a new task with a copy of the linked resource;
    the open occurrence is the one that carries the series.
    """
    if current is None or (current.status == "completed" and found.status != "completed"):
        return found
    return current


def result_from_answer(
    action: Action, answer: GraphResponse | GraphError, remote_id: str | None, list_id: str | None
) -> Result:
    """The result of one write from Graph's answer to it."""
    if isinstance(answer, GraphError):
        # A missing mailbox (ErrorInvalidUser) is not a missing item: nothing was removed.
        gone = isinstance(answer, GraphNotFound) and answer.code != "ErrorInvalidUser"
        if gone and action.op in ("cancel", "delete"):
            return Result(action, ok=True, remote_id=remote_id, list_id=list_id)  # already gone
        return failed(action, answer)
    body: Mapping[str, Any] = answer.body if isinstance(answer.body, Mapping) else {}
    new_id = body.get("id")
    change_key = body.get("changeKey") or etag_value(body.get("@odata.etag")) or None
    return Result(
        action,
        ok=True,
        remote_id=str(new_id) if isinstance(new_id, str) and action.op == "create" else remote_id,
        list_id=list_id if action.kind in TASK_KINDS else None,
        change_key=str(change_key) if change_key else None,
    )


def busy_from_schedule(
    body: Any,
) -> Iterator[tuple[str, dt.datetime, dt.datetime] | tuple[str, None, None]]:
    """(lower-cased schedule id, start, end) of each busy item in a getSchedule answer.

    Busy means status busy, oof or tentative; a schedule Graph could not answer for (an `error`
    entry: unknown address) yields (schedule id, None, None): its free/busy is unknown.
    """
    page: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    for info in page.get("value") or []:
        if not isinstance(info, Mapping):
            continue
        schedule_id = str(info.get("scheduleId", "")).lower()
        if info.get("error"):
            log.debug("getSchedule could not answer for one schedule")
            yield schedule_id, None, None  # unknown, not free
            continue
        for item in info.get("scheduleItems") or []:
            if not isinstance(item, Mapping):
                continue
            if str(item.get("status", "")).lower() not in BUSY_STATUSES:
                continue
            start, end = parse_datetime(item.get("start")), parse_datetime(item.get("end"))
            if start is not None and end is not None:
                yield schedule_id, start, end

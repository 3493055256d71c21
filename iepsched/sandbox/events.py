"""Outlook calendar semantics: events, attendees, rooms, recurrence, free/busy and delta.

Callers hold :attr:`Store.lock`. Functions raise :class:`GraphError` with the status and code
Graph would use.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

from . import shapes, timezones
from .store import Event, ExtendedProperty, GraphError, Mailbox, Store, Tombstone

ZERO_TIME = "0001-01-01T00:00:00Z"

# Properties a client may not set; Graph ignores them in POST/PATCH bodies.
READ_ONLY = {
    "id",
    "changeKey",
    "createdDateTime",
    "lastModifiedDateTime",
    "iCalUId",
    "isOrganizer",
    "responseStatus",
    "webLink",
    "onlineMeeting",
    "onlineMeetingUrl",
    "seriesMasterId",
    "type",
    "bodyPreview",
    "hasAttachments",
    "isCancelled",
    "cancelledOccurrences",
    "exceptionOccurrences",
    "originalStart",
    "organizer",
    "calendar",
    "attachments",
    "extensions",
    "instances",
    "multiValueExtendedProperties",
}

_DEFAULTS: dict[str, Any] = {
    "categories": [],
    "reminderMinutesBeforeStart": 15,
    "isReminderOn": True,
    "hasAttachments": False,
    "subject": "",
    "importance": "normal",
    "sensitivity": "normal",
    "isAllDay": False,
    "isCancelled": False,
    "isDraft": False,
    "isOrganizer": True,
    "responseRequested": True,
    "seriesMasterId": None,
    "showAs": "busy",
    "onlineMeetingUrl": None,
    "isOnlineMeeting": False,
    "onlineMeetingProvider": "unknown",
    "allowNewTimeProposals": True,
    "hideAttendees": False,
    "recurrence": None,
}

_FREEBUSY_DIGIT = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}
# Which status wins when items overlap in one availabilityView slot.
_FREEBUSY_RANK = {"free": 0, "workingElsewhere": 1, "tentative": 2, "busy": 3, "oof": 4}

MAX_SCHEDULES = 20
MAX_WINDOW = timedelta(days=42)


@dataclass(frozen=True)
class View:
    """How the caller wants items rendered (from Prefer headers and the URL)."""

    graph_url: str
    user_segment: str  # the {u} as the caller wrote it, for @odata.context
    zone: str | None = None  # Prefer: outlook.timezone (validated), None = UTC
    text_body: bool = False  # Prefer: outlook.body-content-type="text"


# --- parsing helpers -----------------------------------------------------------------------------


def _zone_error(name: str) -> GraphError:
    return GraphError(
        400,
        "TimeZoneNotSupportedException",
        f"A valid TimeZone value must be specified. The following TimeZone value is not "
        f"supported: '{name}'.",
    )


def parse_when(value: Any, field_name: str) -> tuple[datetime, str]:
    """(UTC instant, zone name as sent) of a request's dateTimeTimeZone."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise GraphError(
            400, "ErrorInvalidRequest", f"{field_name} must be a dateTimeTimeZone with a dateTime."
        )
    zone = value.get("timeZone") or "UTC"
    if not isinstance(zone, str):
        raise GraphError(400, "ErrorInvalidRequest", f"{field_name}.timeZone must be a string.")
    try:
        return timezones.to_utc(value), zone
    except timezones.UnknownTimeZone as exc:
        raise _zone_error(str(exc)) from exc
    except ValueError as exc:
        raise GraphError(400, "ErrorInvalidRequest", f"{field_name}: {exc}") from exc


def _normalize_location(loc: Any, *, primary: bool) -> dict[str, Any]:
    out = dict(loc) if isinstance(loc, dict) else {}
    name = str(out.get("displayName") or "")
    out["displayName"] = name
    out.setdefault("locationType", "default")
    if (primary and name) or out.get("address") or out.get("coordinates"):
        out.setdefault("uniqueId", name)
        out.setdefault("uniqueIdType", "private")
    else:
        out.setdefault("uniqueIdType", "unknown")
    return out


def _normalize_attendees(
    raw: Any, previous: list[dict[str, Any]] | None, keep_responses: bool
) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise GraphError(400, "ErrorInvalidRequest", "attendees must be a collection.")
    old = {
        str(a["emailAddress"]["address"]).lower(): a
        for a in previous or []
        if isinstance(a.get("emailAddress"), dict)
    }
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for item in raw:
        email = item.get("emailAddress") if isinstance(item, dict) else None
        address = email.get("address") if isinstance(email, dict) else None
        if not isinstance(address, str) or "@" not in address:
            raise GraphError(
                400, "ErrorInvalidRecipients", "At least one recipient isn't valid: " + repr(item)
            )
        key = address.lower()
        if key in seen:  # Exchange keeps one entry per address
            continue
        seen.add(key)
        prior = old.get(key)
        status = (
            copy.deepcopy(prior["status"])
            if prior and keep_responses and prior.get("status")
            else {"response": "none", "time": ZERO_TIME}
        )
        out.append(
            {
                "type": item.get("type") or "required",
                "status": status,
                "emailAddress": {"name": email.get("name") or address, "address": address},  # type: ignore[union-attr]
            }
        )
    return out


def _normalize_recurrence(value: Any, start_local: datetime, zone: str) -> dict[str, Any] | None:
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


def _check_span(start: datetime, end: datetime, all_day: bool, zone: str) -> None:
    if end < start:
        raise GraphError(
            400,
            "ErrorCalendarEndDateIsEarlierThanStartDate",
            "The end date occurs before the start date.",
        )
    if all_day:
        local = [v.astimezone(timezones.resolve(zone)) for v in (start, end)]
        if any(v.time() != time(0) for v in local) or end == start:
            raise GraphError(
                400,
                "ErrorInvalidRequest",
                "Your request can't be completed. An all-day event must start and end at "
                "midnight in its time zone and last at least one day.",
            )


# --- create / update / remove ----------------------------------------------------------------


def create(store: Store, box: Mailbox, body: dict[str, Any]) -> Event:
    """Create an event from a validated, canonicalised request body."""
    txid = body.get("transactionId")
    if isinstance(txid, str) and txid in box.transaction_ids:
        raise GraphError(
            400,
            "ErrorDuplicateTransactionId",
            "Your request can't be completed. The TransactionId specified in the request has "
            "already been used to create a different event.",
        )
    if "start" not in body or "end" not in body:
        raise GraphError(400, "ErrorInvalidRequest", "An event needs both start and end.")
    start, start_zone = parse_when(body["start"], "start")
    end, end_zone = parse_when(body["end"], "end")
    all_day = bool(body.get("isAllDay"))
    _check_span(start, end, all_day, start_zone)
    now = store.now()
    props = {k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY}
    for key in ("start", "end", "singleValueExtendedProperties", "transactionId"):
        props.pop(key, None)
    props["attendees"] = _normalize_attendees(body.get("attendees") or [], None, False)
    _apply_locations(props, body)
    props["body"] = dict(body.get("body") or {"contentType": "text", "content": ""})
    props.setdefault("originalStartTimeZone", start_zone)
    props.setdefault("originalEndTimeZone", end_zone)
    start_local = start.astimezone(timezones.resolve(start_zone)).replace(tzinfo=None)
    props["recurrence"] = _normalize_recurrence(body.get("recurrence"), start_local, start_zone)
    if props.get("isOnlineMeeting") and props.get("onlineMeetingProvider") in (None, "unknown"):
        props["onlineMeetingProvider"] = "teamsForBusiness"
    ev = Event(
        id=shapes.outlook_id(),
        mailbox=box.key,
        ical_uid=shapes.ical_uid(),
        change_key=shapes.change_key(),
        created=now,
        modified=now,
        seq=store.next_seq(),
        start=start,
        end=end,
        start_zone=start_zone,
        end_zone=end_zone,
        props=props,
        transaction_id=txid if isinstance(txid, str) else None,
    )
    _set_extended(ev, body.get("singleValueExtendedProperties"))
    box.events[ev.id] = ev
    if ev.transaction_id:
        box.transaction_ids[ev.transaction_id] = ev.id
    _book_resources(store, ev)
    return ev


def _apply_locations(props: dict[str, Any], body: dict[str, Any]) -> None:
    # Graph: setting `location` replaces `locations`; sending `locations` sets both.
    if "locations" in body and isinstance(body["locations"], list):
        props["locations"] = [_normalize_location(v, primary=False) for v in body["locations"]]
        if "location" in body:
            props["location"] = _normalize_location(body["location"], primary=True)
        else:
            names = "; ".join(v["displayName"] for v in props["locations"])
            props["location"] = _normalize_location({"displayName": names}, primary=True)
    elif "location" in body:
        props["location"] = _normalize_location(body["location"], primary=True)
        name = props["location"]["displayName"]
        props["locations"] = (
            [_normalize_location({"displayName": name}, primary=False)] if name else []
        )


def _set_extended(ev: Event, values: Any) -> None:
    if values is None:
        return
    if not isinstance(values, list):
        raise GraphError(
            400, "ErrorInvalidRequest", "singleValueExtendedProperties must be a collection."
        )
    for item in values:
        prop_id = item.get("id") if isinstance(item, dict) else None
        try:
            key = shapes.ext_key(prop_id) if isinstance(prop_id, str) else None
        except ValueError:
            key = None
        if key is None:
            raise GraphError(
                400,
                "ErrorInvalidRequest",
                f"The extended property id {prop_id!r} is not valid; use "
                "'{type} {guid} Name {name}' or '{type} {guid} Id 0x....'.",
            )
        assert isinstance(prop_id, str) and isinstance(item, dict)
        value = item.get("value")
        ev.ext[key] = ExtendedProperty(prop_id, None if value is None else str(value))


def patch(store: Store, box: Mailbox, ev: Event, body: dict[str, Any]) -> None:
    """Apply a validated PATCH body (only the properties present change)."""
    txid = body.get("transactionId")
    if "transactionId" in body and txid != ev.transaction_id:
        raise GraphError(
            400, "ErrorInvalidRequest", "The transactionId of an event cannot be changed."
        )
    start, end = ev.start, ev.end
    start_zone, end_zone = ev.start_zone, ev.end_zone
    if "start" in body:
        start, start_zone = parse_when(body["start"], "start")
    if "end" in body:
        end, end_zone = parse_when(body["end"], "end")
    all_day = bool(body.get("isAllDay", ev.props.get("isAllDay", False)))
    _check_span(start, end, all_day, start_zone)
    time_changed = (start, end) != (ev.start, ev.end)
    props = ev.props
    for key, value in body.items():
        if key in READ_ONLY or key in (
            "start",
            "end",
            "singleValueExtendedProperties",
            "transactionId",
            "attendees",
            "location",
            "locations",
            "recurrence",
        ):
            continue
        props[key] = copy.deepcopy(value)
    if "attendees" in body:
        props["attendees"] = _normalize_attendees(
            body["attendees"] or [], props.get("attendees"), keep_responses=not time_changed
        )
    elif time_changed:
        # Exchange sends a new request when the time moves; earlier answers no longer apply.
        for attendee in props.get("attendees", []):
            attendee["status"] = {"response": "none", "time": ZERO_TIME}
    _apply_locations(props, body)
    if "start" in body:
        props["originalStartTimeZone"] = start_zone
    if "end" in body:
        props["originalEndTimeZone"] = end_zone
    ev.start, ev.end, ev.start_zone, ev.end_zone = start, end, start_zone, end_zone
    if "recurrence" in body or (time_changed and props.get("recurrence")):
        start_local = start.astimezone(timezones.resolve(start_zone)).replace(tzinfo=None)
        raw = body.get("recurrence", props.get("recurrence"))
        if raw and "recurrence" not in body:
            raw = {**raw, "range": {**raw["range"], "startDate": None}}
        props["recurrence"] = _normalize_recurrence(raw, start_local, start_zone)
    _set_extended(ev, body.get("singleValueExtendedProperties"))
    touch(store, ev)
    if time_changed or "attendees" in body:
        _book_resources(store, ev)


def touch(store: Store, ev: Event) -> None:
    """Record a change: new changeKey, lastModifiedDateTime and delta sequence."""
    ev.change_key = shapes.change_key()
    ev.modified = store.now()
    ev.seq = store.next_seq()


def cancel(store: Store, box: Mailbox, ev: Event, comment: str | None, view: View) -> None:
    """Organizer cancels: attendees are notified and the item moves to Deleted Items."""
    if not ev.props.get("isOrganizer", True):
        raise GraphError(
            400,
            "ErrorAccessDenied",
            "Your request can't be completed. You need to be an organizer to cancel a meeting.",
        )
    touch(store, ev)
    ev.props["isCancelled"] = True
    record = render(ev, view, expand_ext=None)
    record.pop("@odata.context", None)
    box.cancelled.append(
        {
            "comment": comment or "",
            "cancelledDateTime": timezones.format_stamp(store.now()),
            "event": record,
        }
    )
    remove(store, box, ev)


def remove(store: Store, box: Mailbox, ev: Event) -> None:
    """Take an event out of the calendar, leaving a tombstone for delta queries."""
    box.events.pop(ev.id, None)
    box.tombstones.append(Tombstone(ev.id, store.next_seq(), "event"))


def respond(store: Store, ev: Event, attendee: str, response: str) -> None:
    """An attendee answers the invitation (the sandbox's stand-in for a person)."""
    allowed = {"accepted", "declined", "tentativelyaccepted", "none"}
    if response.lower() not in allowed:
        raise GraphError(400, "ErrorInvalidRequest", f"response must be one of {sorted(allowed)}")
    canonical = shapes.canonical("responseType", response)
    for item in ev.props.get("attendees", []):
        if str(item["emailAddress"]["address"]).lower() == attendee.lower():
            item["status"] = {"response": canonical, "time": timezones.format_stamp(store.now())}
            touch(store, ev)
            return
    raise GraphError(404, "ErrorItemNotFound", f"{attendee} is not an attendee of this event.")


# --- rooms ---------------------------------------------------------------------------------------


def _book_resources(store: Store, ev: Event) -> None:
    """Rooms answer at once, like Exchange's booking assistant: accept if free, else decline."""
    horizon = (ev.start - timedelta(days=1), ev.start + timedelta(days=400))
    mine = list(occurrences(ev, *horizon))
    for attendee in ev.props.get("attendees", []):
        if attendee.get("type") != "resource":
            continue
        room = str(attendee["emailAddress"]["address"]).lower()
        busy = False
        for other in _events_involving(store, room):
            if other is ev:
                continue
            theirs = list(occurrences(other, *horizon))
            if any(s < oe and os < e for s, e in mine for os, oe in theirs):
                busy = True
                break
        attendee["status"] = {
            "response": "declined" if busy else "accepted",
            "time": timezones.format_stamp(store.now()),
        }


def _events_involving(store: Store, address: str) -> Iterator[Event]:
    """Events that occupy `address`: its own, and meetings it has not declined."""
    for box in store.mailboxes.values():
        for ev in box.events.values():
            if ev.props.get("isCancelled"):
                continue
            if box.key == address:
                yield ev
                continue
            for attendee in ev.props.get("attendees", []):
                if str(attendee["emailAddress"]["address"]).lower() == address:
                    if attendee["status"]["response"] != "declined":
                        yield ev
                    break


# --- rendering -----------------------------------------------------------------------------------


def _when(ev: Event, instant: datetime, view: View, zone_for_all_day: str) -> dict[str, str]:
    if ev.props.get("isAllDay"):
        # All-day items are floating dates: Outlook shows midnight whatever zone is asked for.
        local = instant.astimezone(timezones.resolve(zone_for_all_day)).date()
        return timezones.output_midnight(local, view.zone)
    return timezones.output(instant, view.zone)


def render(
    ev: Event,
    view: View,
    *,
    expand_ext: list[tuple[str, ...]] | str | None = None,
    select: list[str] | None = None,
    context: str | None = "entity",
    occurrence: tuple[datetime, datetime] | None = None,
) -> dict[str, Any]:
    """The event as Graph returns it. `expand_ext` is a list of extended-property keys, "all"
    (dump), or None (Graph never returns extended properties unless expanded)."""
    p = ev.props
    start, end = occurrence or (ev.start, ev.end)
    obj: dict[str, Any] = {}
    if context == "entity":
        obj["@odata.context"] = (
            f"{view.graph_url}/$metadata#users('{quote(view.user_segment)}')/events/$entity"
        )
    event_id = occurrence_id(ev, start) if occurrence else ev.id
    obj["@odata.etag"] = shapes.etag(ev.change_key)
    obj["id"] = event_id
    obj["createdDateTime"] = timezones.format_stamp(ev.created)
    obj["lastModifiedDateTime"] = timezones.format_stamp(ev.modified)
    obj["changeKey"] = ev.change_key
    obj["categories"] = list(p.get("categories") or [])
    if ev.transaction_id:
        obj["transactionId"] = ev.transaction_id
    obj["originalStartTimeZone"] = p.get("originalStartTimeZone", ev.start_zone)
    obj["originalEndTimeZone"] = p.get("originalEndTimeZone", ev.end_zone)
    obj["iCalUId"] = ev.ical_uid
    for key in (
        "reminderMinutesBeforeStart",
        "isReminderOn",
        "hasAttachments",
        "subject",
    ):
        obj[key] = p.get(key, _DEFAULTS[key])
    obj["bodyPreview"] = shapes.preview(p.get("body") or {})
    for key in (
        "importance",
        "sensitivity",
        "isAllDay",
        "isCancelled",
        "isOrganizer",
        "responseRequested",
        "seriesMasterId",
        "showAs",
    ):
        obj[key] = p.get(key, _DEFAULTS[key])
    if occurrence:
        obj["seriesMasterId"] = ev.id
        obj["type"] = "occurrence"
    else:
        obj["type"] = "seriesMaster" if p.get("recurrence") else "singleInstance"
    obj["webLink"] = (
        "https://outlook.office365.com/owa/?itemid="
        + quote(event_id, safe="")
        + "&exvsurl=1&path=/calendar/item"
    )
    obj["onlineMeetingUrl"] = None
    obj["isOnlineMeeting"] = bool(p.get("isOnlineMeeting", False))
    obj["onlineMeetingProvider"] = p.get("onlineMeetingProvider", "unknown")
    obj["allowNewTimeProposals"] = p.get("allowNewTimeProposals", True)
    obj["isDraft"] = p.get("isDraft", False)
    obj["hideAttendees"] = p.get("hideAttendees", False)
    obj["responseStatus"] = {"response": "organizer", "time": ZERO_TIME}
    obj["body"] = shapes.body_as(p.get("body") or {}, view.text_body)
    obj["start"] = _when(ev, start, view, ev.start_zone)
    obj["end"] = _when(ev, end, view, ev.start_zone)
    obj["location"] = copy.deepcopy(
        p.get("location")
        or {"displayName": "", "locationType": "default", "uniqueIdType": "unknown"}
    )
    obj["locations"] = copy.deepcopy(p.get("locations") or [])
    obj["recurrence"] = None if occurrence else copy.deepcopy(p.get("recurrence"))
    obj["attendees"] = copy.deepcopy(p.get("attendees") or [])
    obj["organizer"] = {"emailAddress": {"name": ev.mailbox.split("@")[0], "address": ev.mailbox}}
    obj["onlineMeeting"] = (
        {"joinUrl": f"https://teams.microsoft.com/l/meetup-join/sandbox/{quote(ev.id, safe='')}"}
        if obj["isOnlineMeeting"]
        else None
    )
    for key, value in p.items():  # anything else the client set and the schema allows
        if key not in obj and key not in ("body",):
            obj[key] = copy.deepcopy(value)
    if expand_ext is not None:
        chosen = [
            {"id": prop.id, "value": prop.value}
            for key, prop in ev.ext.items()
            if expand_ext == "all" or key in expand_ext
        ]
        if chosen:  # Graph leaves the collection out when the item lacks the property
            obj["singleValueExtendedProperties"] = chosen
    if select:
        keep = {"@odata.context", "@odata.etag", "id", *select}
        if expand_ext is not None:
            keep.add("singleValueExtendedProperties")
        obj = {k: v for k, v in obj.items() if k in keep}
    return obj


def filter_view(ev: Event) -> dict[str, Any]:
    """What $filter sees: the UTC rendering plus every extended property."""
    view = View(graph_url="", user_segment=ev.mailbox)
    return render(ev, view, expand_ext="all", context=None)


# --- recurrence ------------------------------------------------------------------------------

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_MAX_DAYS = 366 * 20


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
        if _matches(pattern, first, day):
            remaining -= 1
            start = datetime.combine(day, local_start.time(), tzinfo=zone).astimezone(UTC)
            if start < hi and start + duration > lo:
                yield start, start + duration
        day += timedelta(days=1)


def _matches(pattern: dict[str, Any], first: date, day: date) -> bool:
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


def find(box: Mailbox, event_id: str) -> tuple[Event, tuple[datetime, datetime] | None]:
    """The event (or occurrence) with `event_id`; 404 ErrorItemNotFound when absent."""
    ev = box.events.get(event_id)
    if ev is not None:
        return ev, None
    if "AAEO" in event_id:  # an occurrence id minted by occurrence_id()
        master_part, _, stamp = event_id.rpartition("AAEO")
        for candidate in box.events.values():
            if candidate.id.rstrip("=") == master_part and len(stamp) == 13:
                try:
                    when = datetime.strptime(stamp[:12], "%Y%m%d%H%M").replace(tzinfo=UTC)
                except ValueError:
                    break
                for occ in occurrences(candidate, when, when + timedelta(minutes=1)):
                    if occ[0] == when:
                        return candidate, occ
    raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


# --- calendarView ----------------------------------------------------------------------------


def window(query: dict[str, str]) -> tuple[datetime, datetime]:
    """calendarView's required startDateTime/endDateTime (names are case-insensitive)."""
    lowered = {k.lower(): v for k, v in query.items()}
    if "startdatetime" not in lowered or "enddatetime" not in lowered:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters "
            "StartDateTime and EndDateTime.",
        )
    try:
        lo = timezones.parse_instant(lowered["startdatetime"])
        hi = timezones.parse_instant(lowered["enddatetime"])
    except ValueError as exc:
        raise GraphError(400, "ErrorInvalidParameter", f"Invalid time window: {exc}") from exc
    if hi < lo:
        raise GraphError(400, "ErrorInvalidParameter", "EndDateTime is before StartDateTime.")
    return lo, hi


def calendar_view(
    box: Mailbox, lo: datetime, hi: datetime
) -> list[tuple[Event, tuple[datetime, datetime] | None]]:
    """Instances overlapping [lo, hi), ordered by start: single events and occurrences."""
    found: list[tuple[Event, tuple[datetime, datetime] | None]] = []
    for ev in box.events.values():
        recurring = bool(ev.props.get("recurrence"))
        for occ in occurrences(ev, lo, hi):
            found.append((ev, occ if recurring else None))
    found.sort(key=lambda pair: ((pair[1] or (pair[0].start,))[0], pair[0].id))
    return found


def delta_entries(
    store: Store, box: Mailbox, lo: datetime, hi: datetime, since: int, snap: int, view: View
) -> list[tuple[tuple[int, str], dict[str, Any]]]:
    """Every ((seq, id), item) a delta round reports, in cursor order.

    The first round (since == 0) lists what is in the window; later rounds list what changed
    since the previous round, with ``@removed`` for deleted items and items that left the window.
    """
    out: list[tuple[tuple[int, str], dict[str, Any]]] = []
    for ev in box.events.values():
        if not since < ev.seq <= snap:
            continue
        recurring = bool(ev.props.get("recurrence"))
        hits = list(occurrences(ev, lo, hi))
        for occ in hits:
            item = render(ev, view, context=None, occurrence=occ if recurring else None)
            item = {"@odata.type": "#microsoft.graph.event", **item}
            out.append(((ev.seq, item["id"]), item))
        if not hits and since:
            out.append(((ev.seq, ev.id), _removed(ev.id)))
    if since:
        for tomb in box.tombstones:
            if tomb.kind == "event" and since < tomb.seq <= snap:
                out.append(((tomb.seq, tomb.id), _removed(tomb.id)))
    out.sort(key=lambda pair: pair[0])
    return out


def _removed(item_id: str) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.event",
        "id": item_id,
        "@removed": {"reason": "deleted"},
    }


# --- getSchedule -------------------------------------------------------------------------------


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

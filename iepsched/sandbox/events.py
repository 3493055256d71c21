"""Outlook calendar semantics for one event: create, update, cancel, delete, answers and rooms.

Callers hold :attr:`Store.lock`. Functions raise :class:`GraphError` with the status and code
Graph would use. Rendering lives in :mod:`event_render`, series in :mod:`recurrence`, window
queries in :mod:`calendarview` and free/busy in :mod:`getschedule`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any

from . import recurrence, shapes, timezones
from .event_render import ZERO_TIME, render
from .recurrence import occurrences
from .store import Event, ExtendedProperty, GraphError, Mailbox, Store, Tombstone
from .view import View

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
    props["recurrence"] = recurrence.normalize(body.get("recurrence"), start_local, start_zone)
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
        props["recurrence"] = recurrence.normalize(raw, start_local, start_zone)
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

# How a room mailbox answers an invitation (its calendar-processing / booking policy):
# "accept": the booking assistant's auto-accept — accept when free, decline a conflict;
# "decline": it declines every request; "tentative": it books them tentatively;
# "none": nobody answers (requests wait for a delegate), so the response stays "none".
ROOM_POLICIES = {"accept", "decline", "tentative", "none"}
DEFAULT_ROOM_POLICY = "accept"


def room_policies(policies: Mapping[str, str]) -> dict[str, str]:
    """Validated policies keyed by lower-cased room address."""
    out = {}
    for room, policy in policies.items():
        if policy not in ROOM_POLICIES:
            raise ValueError(f"room policy for {room} must be one of {sorted(ROOM_POLICIES)}")
        out[room.strip().lower()] = policy
    return out


def _book_resources(store: Store, ev: Event) -> None:
    """Rooms answer at once by their booking policy, like Exchange's booking assistant.

    A room the tenant does not have never answers (its invitation bounces).
    """
    horizon = (ev.start - timedelta(days=1), ev.start + timedelta(days=400))
    mine = list(occurrences(ev, *horizon))
    for attendee in ev.props.get("attendees", []):
        if attendee.get("type") != "resource":
            continue
        room = str(attendee["emailAddress"]["address"]).lower()
        policy = store.room_policies.get(room, DEFAULT_ROOM_POLICY)
        if policy == "none" or not store.tenant.exists(room):
            continue
        if policy == "accept":
            response = "declined" if _room_busy(store, ev, room, mine, horizon) else "accepted"
        else:
            response = "declined" if policy == "decline" else "tentativelyAccepted"
        attendee["status"] = {
            "response": response,
            "time": timezones.format_stamp(store.now()),
        }


def _room_busy(
    store: Store,
    ev: Event,
    room: str,
    mine: list[tuple[datetime, datetime]],
    horizon: tuple[datetime, datetime],
) -> bool:
    """Whether another meeting already holds `room` at one of `mine`'s occurrences."""
    for other in _events_involving(store, room):
        if other is ev:
            continue
        theirs = list(occurrences(other, *horizon))
        if any(s < oe and os < e for s, e in mine for os, oe in theirs):
            return True
    return False


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


# --- lookup --------------------------------------------------------------------------------------


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

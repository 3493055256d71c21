"""An event as Graph returns it: every property, in Outlook's order, for a caller's View."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any
from urllib.parse import quote

from . import shapes, timezones
from .recurrence import occurrence_id
from .store import Event
from .view import View

ZERO_TIME = "0001-01-01T00:00:00Z"

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

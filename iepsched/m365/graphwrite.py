"""The requests `GraphRemote` sends: URLs, OData queries and the write for each action.

Pure: builds `BatchRequest` values from `Action`s (what a create, update, cancel or delete looks
like on the wire), never sends them. Reading Graph's answers is `graphread`'s job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from ..core.errors import GraphError, GraphNotFound, GraphTransportError
from ..core.items import INSTALLATION_PROPERTY_ID
from ..core.remote import KEY_PROPERTY_ID, Action, Result, busy_window_chunks, chunks
from .graphwire import BatchRequest
from .zones import graph_zone, windows_zone

__all__ = [
    "CANCEL_COMMENT",
    "EVENT_KINDS",
    "EVENT_SELECT",
    "MAX_GENERATIONS",
    "TASK_KINDS",
    "event_by_key_url",
    "event_url",
    "events_url",
    "expand_property",
    "failed",
    "foreign_events_url",
    "key_filter",
    "odata_string",
    "property_filter",
    "query_string",
    "request_for",
    "schedule_requests",
    "seg",
    "tasks_url",
]

CANCEL_COMMENT = "This IEP meeting has been cancelled by the case manager."
# How many fresh transaction ids a create may go through after ErrorDuplicateTransactionId (each
# generation is one earlier event a person deleted; more than a handful means something is wrong).
MAX_GENERATIONS = 5
EVENT_SELECT = "id,changeKey,start,end,isCancelled,attendees,isAllDay"
EVENT_KINDS = frozenset({"event", "calendar_item"})
TASK_KINDS = frozenset({"task", "recurring_task"})


def odata_string(value: str) -> str:
    """An OData string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def property_filter(prop_id: str, value: str, op: str = "eq") -> str:
    """The documented extended-property ``$filter``: the property id AND a test of its value
    (singlevaluelegacyextendedproperty-get; a filter on the id alone is not documented)."""
    clause = f"ep/id eq {odata_string(prop_id)} and ep/value {op} {odata_string(value)}"
    return f"singleValueExtendedProperties/Any(ep: {clause})"


def key_filter(key: str) -> str:
    """The ``$filter`` finding the event that carries `key` (crash recovery, lost answers)."""
    return property_filter(KEY_PROPERTY_ID, key)


def expand_property(prop_id: str) -> str:
    """``$expand`` of one extended property (the documented ``$filter=id eq`` form)."""
    return f"singleValueExtendedProperties($filter=id eq {odata_string(prop_id)})"


def query_string(params: Mapping[str, str]) -> str:
    """A query string with values percent-encoded (spaces as %20, never '+')."""
    return "&".join(
        f"{name}={quote(value, safe=chr(39) + '(),')}" for name, value in params.items()
    )


def seg(value: str) -> str:
    """A path segment: ids are opaque base64-like strings and must be encoded."""
    return quote(value, safe="@")


def request_for(
    rid: str, action: Action, remote_id: str | None, list_id: str | None
) -> BatchRequest | Result:
    """The batch request carrying `action`, or its result when no request is needed."""
    mb = seg(action.mailbox)
    item = action.item
    is_event = action.kind in EVENT_KINDS
    if action.op == "create":
        if item is None:
            return failed(action, GraphError("create without a desired item"))
        body = graph_times({**item.fields, **item.create_extra})
        if is_event:
            # Safe to repeat: Graph refuses a second create with the same transactionId.
            return BatchRequest(rid, "POST", f"/users/{mb}/events", body, idempotent=True)
        # Checklist items follow in their own documented POSTs (`checklists`), not inline.
        body.pop("checklistItems", None)
        return BatchRequest(rid, "POST", f"/users/{mb}/todo/lists/{seg(list_id or '')}/tasks", body)
    if remote_id is None:
        if action.op == "update":
            return failed(action, GraphNotFound(f"{action.kind} not found for update"))
        return Result(action, ok=True, list_id=list_id)  # nothing there to remove
    target = (
        f"/users/{mb}/events/{seg(remote_id)}"
        if is_event
        else f"/users/{mb}/todo/lists/{seg(list_id or '')}/tasks/{seg(remote_id)}"
    )
    if action.op == "update":
        if item is None:
            return failed(action, GraphError("update without a desired item"))
        patch = graph_times(
            {name: item.fields[name] for name in action.changed if name in item.fields}
        )
        if not patch:
            return Result(action, ok=True, remote_id=remote_id, list_id=list_id)
        return BatchRequest(rid, "PATCH", target, patch)
    if action.op == "cancel" and action.kind == "event":
        # Cancelling twice is harmless (the second finds nothing: 404, treated as done).
        return BatchRequest(
            rid, "POST", f"{target}/cancel", {"comment": CANCEL_COMMENT}, idempotent=True
        )
    return BatchRequest(rid, "DELETE", target)


def graph_times(body: Mapping[str, Any]) -> dict[str, Any]:
    """`body` with every top-level ``dateTimeTimeZone`` labelled with its Windows zone name.

    The plan labels times with the config's IANA zone (what the hashes and `MemoryRemote` see);
    Graph refuses most IANA names (graph-facts §8), so the name is mapped on the wire only.
    """
    out = dict(body)
    for name, value in body.items():
        if isinstance(value, Mapping) and "dateTime" in value and "timeZone" in value:
            out[name] = {**value, "timeZone": graph_zone(str(value["timeZone"]))}
    return out


def failed(action: Action, error: GraphError) -> Result:
    """A failed result; a lost answer (transport error) leaves the write uncertain."""
    return Result(action, ok=False, error=error, uncertain=isinstance(error, GraphTransportError))


def events_url(mailbox: str, installation: str, *, page_size: int) -> str:
    """The events `installation` wrote in a mailbox, key property expanded."""
    params = {
        "$filter": property_filter(INSTALLATION_PROPERTY_ID, installation),
        "$expand": expand_property(KEY_PROPERTY_ID),
        "$select": EVENT_SELECT,
        "$top": str(page_size),
    }
    return f"/users/{seg(mailbox)}/events?{query_string(params)}"


def event_url(mailbox: str, event_id: str) -> str:
    """One event by its (immutable) id, key property expanded (event-get)."""
    params = {"$select": EVENT_SELECT, "$expand": expand_property(KEY_PROPERTY_ID)}
    return f"/users/{seg(mailbox)}/events/{seg(event_id)}?{query_string(params)}"


def event_by_key_url(mailbox: str, key: str) -> str:
    """The event carrying `key` (any installation), key property expanded."""
    params = {
        "$filter": key_filter(key),
        "$expand": expand_property(KEY_PROPERTY_ID),
        "$select": EVENT_SELECT,
    }
    return f"/users/{seg(mailbox)}/events?{query_string(params)}"


def foreign_events_url(mailbox: str, installation: str) -> str:
    """At most one iepsched event of another installation (documented ``ep/value ne`` form)."""
    params = {
        "$filter": property_filter(INSTALLATION_PROPERTY_ID, installation, "ne"),
        "$expand": expand_property(INSTALLATION_PROPERTY_ID),
        "$select": "id",
        "$top": "1",
    }
    return f"/users/{seg(mailbox)}/events?{query_string(params)}"


def tasks_url(mailbox: str, list_id: str, *, page_size: int) -> str:
    """The tasks of one To Do list, linked resources and checklist expanded."""
    params = {"$expand": "linkedResources,checklistItems", "$top": str(page_size)}
    return f"/users/{seg(mailbox)}/todo/lists/{seg(list_id)}/tasks?{query_string(params)}"


def local_time(value: dt.datetime, zone: dt.tzinfo, timezone: str) -> dict[str, str]:
    """A Graph ``dateTimeTimeZone`` for `value` as wall time in the district's zone."""
    local = value.astimezone(zone) if value.tzinfo else value
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": windows_zone(timezone)}


def schedule_requests(
    emails: Sequence[str],
    start: dt.datetime,
    end: dt.datetime,
    *,
    organizer: str,
    zone: dt.tzinfo,
    timezone: str,
) -> list[BatchRequest]:
    """getSchedule calls covering [start, end): < 42-day windows × groups of ≤ 20 emails."""
    requests: list[BatchRequest] = []
    for w, (lo, hi) in enumerate(busy_window_chunks(start, end)):
        for g, group in enumerate(chunks(emails)):
            body = {
                "schedules": list(group),
                "startTime": local_time(lo, zone, timezone),
                "endTime": local_time(hi, zone, timezone),
                # We read scheduleItems, not the availability string: the longest interval
                # keeps that string (and Graph's work) smallest.
                "availabilityViewInterval": 1440,
            }
            requests.append(
                BatchRequest(
                    id=f"{w}-{g}",
                    method="POST",
                    url=f"/users/{seg(organizer)}/calendar/getSchedule",
                    body=body,
                    mailbox=organizer,
                    idempotent=True,  # a read, although it is a POST
                )
            )
    return requests

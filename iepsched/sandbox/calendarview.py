"""calendarView and its delta: the instances (single events and occurrences) in a window."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import timezones
from .event_render import render
from .recurrence import occurrences
from .store import Event, GraphError, Mailbox, Store
from .view import View


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

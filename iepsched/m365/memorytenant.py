"""The tenant `MemoryRemote` keeps: Graph-shaped items per mailbox, and people acting on them.

Split out of `memory` (which holds the `Remote` side: snapshot, free/busy, apply): storage of
events, transaction ids, To Do lists and tasks with Graph's observable semantics (opaque ids,
a new change key per write, To Do's recurrence), the lookups by key, and the helpers tests use to
play a person (`move_event`, `complete_task`, `delete_item`, `decline`, `add_busy`).
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import GraphError, GraphNotFound
from ..core.model import Interval
from ..core.remote import Action, RemoteEvent, RemoteTask
from .memoryread import (
    event_of,
    prefer_event,
    prefer_task,
    read_day,
    read_time,
    task_of,
    zone_named,
)

__all__ = ["ZERO_TIME", "Box", "MemoryTenant", "status_for"]

ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass
class Box:
    """One mailbox: events, remembered transaction ids, To Do lists and their tasks."""

    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    transaction_ids: dict[str, str] = field(default_factory=dict)  # transactionId -> event id
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # list -> id -> task


class MemoryTenant:
    """Storage, lookups and person helpers; `MemoryRemote` sets the attributes in __init__."""

    timezone: str
    todo_list_name: str
    validate: bool
    now: dt.datetime
    write_count: Counter[str]
    sent: list[tuple[str, str, dict[str, Any]]]
    _boxes: dict[str, Box]
    _busy: dict[str, list[Interval]]
    _seq: itertools.count[int]
    _lock: threading.RLock

    # -- playing a person ------------------------------------------------------------------------

    def move_event(self, mailbox: str, key: str, start: dt.datetime, end: dt.datetime) -> None:
        """A person drags the event to a new time (attendees are asked again, as in Exchange)."""
        with self._lock:
            ev = self._need_event(mailbox, key)
            zone_name = str(ev.get("start", {}).get("timeZone") or self.timezone)
            zone = zone_named(zone_name) or dt.UTC
            ev["start"] = _dtz(start.astimezone(zone), zone_name)
            ev["end"] = _dtz(end.astimezone(zone), zone_name)
            for attendee in ev.get("attendees", []):
                attendee["status"] = {"response": "none", "time": ZERO_TIME}
            self._touch(ev)

    def complete_task(
        self,
        mailbox: str,
        key: str,
        checked: Iterable[str] = ("Phone",),
        on: dt.date | None = None,
    ) -> None:
        """A person ticks checklist items by name and completes the task (on `on`)."""
        names = set(checked)
        with self._lock:
            box = self._box(mailbox)
            found = self._task_by_key(box, mailbox, key)
            if found is None:
                raise KeyError(key)
            list_id, task = found
            for item in task.get("checklistItems", []):
                if item["displayName"] in names and not item.get("isChecked"):
                    item["isChecked"] = True
                    item["checkedDateTime"] = self._stamp()
            task["status"] = "completed"
            day = on or self.now.date()
            # To Do returns completedDateTime as UTC midnight of the day (graph-facts §3).
            task["completedDateTime"] = {"dateTime": f"{day}T00:00:00.0000000", "timeZone": "UTC"}
            self._touch(task)
            if task.get("recurrence"):
                self._spawn_next(box, list_id, task)

    def delete_item(self, mailbox: str, key: str) -> None:
        """A person deletes the event or task carrying `key` (its transactionId stays used)."""
        with self._lock:
            box = self._box(mailbox)
            ev = self._event_by_key(box, mailbox, key)
            if ev is not None:
                del box.events[ev["id"]]
                return
            found = self._task_by_key(box, mailbox, key)
            if found is None:
                raise KeyError(key)
            del box.tasks[found[0]][found[1]["id"]]

    def decline(self, mailbox: str, key: str, attendee: str) -> None:
        """An attendee declines the meeting."""
        with self._lock:
            ev = self._need_event(mailbox, key)
            for item in ev.get("attendees", []):
                if item["emailAddress"]["address"].lower() == attendee.lower():
                    item["status"] = {"response": "declined", "time": self._stamp()}
                    self._touch(ev)
                    return
            raise KeyError(attendee)

    def add_busy(self, email: str, start: dt.datetime, end: dt.datetime) -> None:
        """Something outside iepsched occupies `email` (what getSchedule would report)."""
        with self._lock:
            self._busy.setdefault(email.lower(), []).append(Interval(start, end))

    def _check(self, method: str, type_name: str, body: dict[str, Any]) -> None:
        """Record the body as sent and refuse it, like Graph, when it is not a valid `type`."""
        self.sent.append((method, type_name, copy.deepcopy(body)))
        if not self.validate:
            return
        from . import schema as graphschema

        problems = graphschema.errors(type_name, body, strict=True)
        if problems:
            raise GraphError(
                f"{method} {type_name}: invalid body: " + "; ".join(problems[:5]),
                status=400,
                code="ErrorInvalidRequest",
            )

    # -- storage ---------------------------------------------------------------------------------

    def _box(self, mailbox: str) -> Box:
        low = mailbox.lower()
        box = self._boxes.get(low)
        if box is None:
            box = self._boxes[low] = Box()
            default: dict[str, Any] = {
                "id": self._id("list"),
                "displayName": "Tasks",
                "wellknownListName": "defaultList",
                "isOwner": True,
                "isShared": False,
            }
            box.lists[default["id"]] = default
            box.tasks[default["id"]] = {}
        return box

    def _list_ids(self, box: Box) -> list[str]:
        return [lid for lid, tl in box.lists.items() if tl["displayName"] == self.todo_list_name]

    def _ensure_list(self, box: Box) -> str:
        found = self._list_ids(box)
        if found:
            return found[0]
        body = {"displayName": self.todo_list_name}
        self._check("POST", "todoTaskList", body)
        tl: dict[str, Any] = {
            **body,
            "id": self._id("list"),
            "wellknownListName": "none",
            "isOwner": True,
            "isShared": False,
        }
        box.lists[tl["id"]] = tl
        box.tasks[tl["id"]] = {}
        self.write_count["create_list"] += 1
        return str(tl["id"])

    def _id(self, kind: str) -> str:
        return f"AAMk{kind}{next(self._seq):08d}="

    def _stamp(self) -> str:
        return self.now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")

    def _touch(self, obj: dict[str, Any]) -> None:
        """A write: new change key (and ETag), new lastModifiedDateTime."""
        change_key = f"CK{next(self._seq):08d}"
        if "changeKey" in obj:  # events carry it; To Do tasks only have the ETag
            obj["changeKey"] = change_key
        obj["@odata.etag"] = f'W/"{change_key}"'
        obj["lastModifiedDateTime"] = self._stamp()

    def _new_event(self, box: Box, mailbox: str, body: dict[str, Any]) -> dict[str, Any]:
        if "start" not in body or "end" not in body:
            raise GraphError("An event needs both start and end.", status=400)
        ev = copy.deepcopy(body)
        ev["id"] = self._id("evt")
        ev["changeKey"] = ""
        ev["createdDateTime"] = self._stamp()
        ev["isCancelled"] = False
        ev["organizer"] = {"emailAddress": {"address": mailbox.lower()}}
        ev["attendees"] = [
            {**copy.deepcopy(a), "status": {"response": "none", "time": ZERO_TIME}}
            for a in body.get("attendees") or []
        ]
        self._touch(ev)
        box.events[ev["id"]] = ev
        txid = body.get("transactionId")
        if isinstance(txid, str):
            box.transaction_ids[txid] = ev["id"]
        self.write_count["create"] += 1
        return ev

    def _patch_event(self, ev: dict[str, Any], patch: dict[str, Any]) -> None:
        moved = any(name in patch and patch[name] != ev.get(name) for name in ("start", "end"))
        previous = {a["emailAddress"]["address"].lower(): a for a in ev.get("attendees", [])}
        for name, value in patch.items():
            ev[name] = copy.deepcopy(value)
        if "attendees" in patch:
            fresh = []
            for a in patch["attendees"]:
                prior = previous.get(a["emailAddress"]["address"].lower())
                keep = prior is not None and not moved
                status = (
                    prior["status"] if keep and prior else {"response": "none", "time": ZERO_TIME}
                )
                fresh.append({**copy.deepcopy(a), "status": copy.deepcopy(status)})
            ev["attendees"] = fresh
        elif moved:  # a new time is a new request: earlier answers no longer apply
            for a in ev.get("attendees", []):
                a["status"] = {"response": "none", "time": ZERO_TIME}
        self._touch(ev)

    def _new_task(self, box: Box, list_id: str, body: dict[str, Any]) -> dict[str, Any]:
        task = {k: copy.deepcopy(v) for k, v in body.items() if k not in ("checklistItems",)}
        task["id"] = self._id("task")
        task.setdefault("status", "notStarted")
        task["createdDateTime"] = self._stamp()
        task["linkedResources"] = [
            {**copy.deepcopy(link), "id": self._id("link")}
            for link in body.get("linkedResources") or []
        ]
        task["checklistItems"] = [
            {
                "displayName": item["displayName"],
                "isChecked": bool(item.get("isChecked", False)),
                "createdDateTime": self._stamp(),
                "id": self._id("check"),
            }
            for item in body.get("checklistItems") or []
        ]
        self._touch(task)
        box.tasks[list_id][task["id"]] = task
        self.write_count["create"] += 1
        return task

    def _spawn_next(self, box: Box, list_id: str, task: dict[str, Any]) -> None:
        """To Do's recurrence: the next occurrence is a new task; the completed one stops."""
        rec = task.pop("recurrence")
        due = read_day(task.get("dueDateTime"))
        nxt = _next_due(rec, due) if due else None
        if nxt is None or due is None:
            return
        clone = copy.deepcopy(task)
        clone.pop("completedDateTime", None)
        clone["id"] = self._id("task")
        clone["status"] = "notStarted"
        clone["createdDateTime"] = self._stamp()
        clone["recurrence"] = copy.deepcopy(rec)
        if rec.get("range", {}).get("type") == "numbered":
            clone["recurrence"]["range"]["numberOfOccurrences"] -= 1
        shift = nxt - due
        clone["dueDateTime"] = {**task["dueDateTime"], "dateTime": f"{nxt}T00:00:00.0000000"}
        reminder = read_time(task.get("reminderDateTime"))
        if reminder is not None:
            zone_name = str(task["reminderDateTime"].get("timeZone") or "UTC")
            clone["reminderDateTime"] = _dtz(reminder + shift, zone_name)
        for link in clone.get("linkedResources", []):
            link["id"] = self._id("link")
        for item in clone.get("checklistItems", []):
            item["id"] = self._id("check")
            item["isChecked"] = False
            item.pop("checkedDateTime", None)
        self._touch(clone)
        box.tasks[list_id][clone["id"]] = clone

    # -- lookups ---------------------------------------------------------------------------------

    def _event_by_key(self, box: Box, mailbox: str, key: str) -> dict[str, Any] | None:
        best: RemoteEvent | None = None
        for obj in box.events.values():
            event = event_of(obj, mailbox)
            if event is not None and event.key == key:
                best = prefer_event(best, event)
        return box.events[best.remote_id] if best else None

    def _task_by_key(
        self, box: Box, mailbox: str, key: str, lists: Iterable[str] | None = None
    ) -> tuple[str, dict[str, Any]] | None:
        best: RemoteTask | None = None
        for list_id in lists if lists is not None else self._list_ids(box):
            for obj in box.tasks.get(list_id, {}).values():
                task = task_of(obj, mailbox, list_id)
                if task is not None and task.key == key:
                    best = prefer_task(best, task)
        return (best.list_id, box.tasks[best.list_id][best.remote_id]) if best else None

    def _need_event(self, mailbox: str, key: str) -> dict[str, Any]:
        ev = self._event_by_key(self._box(mailbox), mailbox, key)
        if ev is None:
            raise KeyError(key)
        return ev

    def _event_for(self, box: Box, action: Action) -> dict[str, Any]:
        """The event an update/cancel/delete addresses: by id, else (no id) by key."""
        if action.remote_id is not None:
            ev = box.events.get(action.remote_id)
        else:
            ev = self._event_by_key(box, action.mailbox, action.key)
        if ev is None:
            raise GraphNotFound("The specified object was not found in the store.", status=404)
        return ev

    def _task_for(self, box: Box, action: Action) -> tuple[str, dict[str, Any]]:
        """The task an update/delete addresses: by list and id, else (no id) by key."""
        if action.remote_id is not None:
            lists = [action.list_id] if action.list_id else list(box.tasks)
            for list_id in lists:
                task = box.tasks.get(list_id, {}).get(action.remote_id)
                if task is not None:
                    return list_id, task
        else:
            lists = [action.list_id] if action.list_id else self._list_ids(box)
            found = self._task_by_key(box, action.mailbox, action.key, lists)
            if found is not None:
                return found
        raise GraphNotFound("The specified task was not found.", status=404)


def _dtz(value: dt.datetime, zone_name: str) -> dict[str, str]:
    return {"dateTime": value.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone_name}


def status_for(owner: str, ev: Mapping[str, Any], address: str) -> str | None:
    """How `ev` shows on `address`'s free/busy (as Exchange does), or None."""
    show = str(ev.get("showAs") or "busy")
    if owner == address:
        return show
    for attendee in ev.get("attendees", []):
        if attendee["emailAddress"]["address"].lower() != address:
            continue
        response = str(attendee.get("status", {}).get("response", "none")).lower()
        if response == "declined":
            return None
        if response == "accepted":
            return show
        return "tentative" if show != "free" else "free"  # an unanswered request
    return None


def _next_due(rec: Mapping[str, Any], due: dt.date) -> dt.date | None:
    """The next occurrence's due date (daily, weekly and absolute-monthly patterns)."""
    pattern, rng = rec.get("pattern", {}), rec.get("range", {})
    interval = int(pattern.get("interval") or 1)
    kind = pattern.get("type")
    if rng.get("type") == "numbered" and int(rng.get("numberOfOccurrences") or 0) <= 1:
        return None
    if kind == "daily":
        nxt = due + dt.timedelta(days=interval)
    elif kind == "weekly":
        nxt = due + dt.timedelta(weeks=interval)
    elif kind == "absoluteMonthly":
        month = due.month - 1 + interval
        year, month = due.year + month // 12, month % 12 + 1
        try:
            nxt = due.replace(year=year, month=month)
        except ValueError:
            return None
    else:
        return None
    end = rng.get("endDate")
    if rng.get("type") == "endDate" and isinstance(end, str) and nxt > dt.date.fromisoformat(end):
        return None
    return nxt

"""`Remote` in memory, with Graph's observable semantics (STYLE habit 7: fakes over mocks).

`MemoryRemote` keeps every item as the Graph-shaped JSON object Outlook/To Do would hold (so a test
can validate it with ``graphschema.errors(type, obj, strict=True)``) and reads them back with its
own mapping (`memoryread`), not GraphRemote's: a shared mapping would hide its bugs from the
contract tests that run over both. What it reproduces, because the sync engine depends
on it:

* ids are opaque and stable; every write gives the item a new change key;
* a transactionId is remembered per mailbox for good (even after the event is deleted): a create
  that reuses one adopts the event carrying the key, or — when a person deleted it — is created
  again under the next transaction-id generation (`items.transaction_id`);
* cancelling moves the event out of the calendar; cancel/delete of something gone is success;
* completing an occurrence of a recurring task creates the next occurrence as a new task, as
  To Do does;
* writes whose answer is lost: an event create, update, cancel or delete is retried by the real
  client and so still answers; a task create is reported uncertain (`drop_after_write`).

Tests play people with `move_event`, `complete_task`, `delete_item` and `decline`, inject
failures with `fail_next`, `drop_after_write` and `fail_read`, and count writes in `write_count`.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import (
    GraphAuthError,
    GraphConflict,
    GraphError,
    GraphNotFound,
    GraphTransportError,
)
from ..core.items import DEFAULT_INSTALLATION, transaction_id
from ..core.model import Interval
from ..core.remote import Action, RemoteEvent, RemoteTask, Result, Snapshot
from .graphwrite import CANCEL_COMMENT, EVENT_KINDS, MAX_GENERATIONS, TASK_KINDS
from .memoryread import (
    BUSY,
    etag_inner,
    event_of,
    owner_of,
    prefer_event,
    prefer_task,
    read_day,
    read_time,
    task_of,
    zone_named,
)
from .ownership import ForeignInstallation

__all__ = ["MemoryRemote"]

ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass
class _Box:
    """One mailbox: events, remembered transaction ids, To Do lists and their tasks."""

    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    transaction_ids: dict[str, str] = field(default_factory=dict)  # transactionId -> event id
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # list -> id -> task


class MemoryRemote:
    """An in-memory Microsoft 365 tenant behind the `Remote` protocol."""

    def __init__(
        self,
        *,
        timezone: str = "UTC",
        todo_list_name: str = "IEP deadlines",
        validate: bool = True,
        skip_unreadable_mailboxes: bool = False,
        now: dt.datetime | None = None,
        installation: str = DEFAULT_INSTALLATION,
    ) -> None:
        if zone_named(timezone) is None:
            raise ValueError(f"unknown time zone {timezone!r}")
        self.timezone = timezone
        self.todo_list_name = todo_list_name
        self.installation = installation
        self.validate = validate
        self.skip_unreadable_mailboxes = skip_unreadable_mailboxes
        self.now = now or dt.datetime(2026, 9, 1, 12, 0, tzinfo=dt.UTC)  # fixed: no clock
        self.write_count: Counter[str] = Counter()  # applied writes by op (and "create_list")
        self.read_count: Counter[str] = Counter()  # "snapshot" (per mailbox), "free_busy"
        self.sent: list[tuple[str, str, dict[str, Any]]] = []  # (method, graph type, body)
        self.cancellations: list[dict[str, Any]] = []  # {"mailbox", "comment", "event"}
        self.unread: dict[str, GraphError] = {}
        self._boxes: dict[str, _Box] = {}
        self._busy: dict[str, list[Interval]] = {}
        self._fail: dict[tuple[str, str], list[GraphError]] = {}
        self._drop: set[str] = set()
        self._fail_read: dict[str, GraphError] = {}
        self._seq = itertools.count(1)
        self._lock = threading.RLock()

    # -- inspection ------------------------------------------------------------------------------

    @property
    def writes(self) -> int:
        """Every write applied so far."""
        return sum(self.write_count.values())

    def events(self, mailbox: str) -> list[dict[str, Any]]:
        """Copies of the events in a mailbox's calendar, as Graph would return them."""
        with self._lock:
            return [copy.deepcopy(e) for e in self._box(mailbox).events.values()]

    def tasks(self, mailbox: str, list_id: str | None = None) -> list[dict[str, Any]]:
        """Copies of the tasks in one list (default: every list) of a mailbox."""
        with self._lock:
            box = self._box(mailbox)
            ids = [list_id] if list_id else list(box.tasks)
            return [copy.deepcopy(t) for lid in ids for t in box.tasks.get(lid, {}).values()]

    def lists(self, mailbox: str) -> list[dict[str, Any]]:
        """Copies of a mailbox's To Do lists."""
        with self._lock:
            return [copy.deepcopy(tl) for tl in self._box(mailbox).lists.values()]

    def find_event(self, mailbox: str, key: str) -> dict[str, Any] | None:
        """A copy of the event carrying `key`, or None."""
        with self._lock:
            found = self._event_by_key(self._box(mailbox), mailbox, key)
            return copy.deepcopy(found) if found else None

    def find_task(self, mailbox: str, key: str) -> dict[str, Any] | None:
        """A copy of the task the snapshot reports for `key` (the open occurrence), or None."""
        with self._lock:
            found = self._task_by_key(self._box(mailbox), mailbox, key)
            return copy.deepcopy(found[1]) if found else None

    # -- fault injection -------------------------------------------------------------------------

    def fail_next(self, op: str, key: str, error: GraphError) -> None:
        """The next `op` ("create", "update", "cancel", "delete") on `key` fails, unapplied."""
        with self._lock:
            self._fail.setdefault((op, key), []).append(error)

    def drop_after_write(self, key: str) -> None:
        """The next write applied to `key` loses its answer (applied, then the line drops)."""
        with self._lock:
            self._drop.add(key)

    def fail_read(self, mailbox: str, error: GraphError) -> None:
        """The next snapshot of `mailbox` fails with `error`."""
        with self._lock:
            self._fail_read[mailbox.lower()] = error

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

    # -- Remote: reads ---------------------------------------------------------------------------

    def snapshot(self, mailboxes: Iterable[str]) -> Snapshot:
        """Every iepsched event and task in these mailboxes (the same mapping as GraphRemote)."""
        events: dict[str, RemoteEvent] = {}
        tasks: dict[str, RemoteTask] = {}
        lists: dict[str, str] = {}
        read: set[str] = set()
        self.unread = {}
        with self._lock:
            for mb in dict.fromkeys(mailboxes):
                error = self._fail_read.pop(mb.lower(), None)
                if error is not None:
                    if isinstance(error, GraphAuthError) or not self.skip_unreadable_mailboxes:
                        raise error
                    self.unread[mb] = error
                    continue
                self.read_count["snapshot"] += 1
                box = self._box(mb)
                for obj in box.events.values():
                    # Events are found by their installation property: one without it is
                    # invisible (as to Graph's filter), one of another installation stops the run.
                    owner = owner_of(obj)
                    if owner is not None and owner != self.installation:
                        raise ForeignInstallation(mb, owner, self.installation)
                    event = event_of(obj, mb) if owner else None
                    if event is not None:
                        events[event.key] = prefer_event(events.get(event.key), event)
                list_ids = self._list_ids(box)
                for list_id in list_ids:
                    for obj in box.tasks[list_id].values():
                        owner = owner_of(obj)
                        if owner is not None and owner != self.installation:
                            raise ForeignInstallation(mb, owner, self.installation)
                        task = task_of(obj, mb, list_id)
                        if task is not None:
                            tasks[task.key] = prefer_task(tasks.get(task.key), task)
                if list_ids:
                    lists[mb] = list_ids[0]
                read.add(mb)
        return Snapshot(events=events, tasks=tasks, lists=lists, mailboxes=frozenset(read))

    def free_busy(
        self, emails: Sequence[str], start: dt.datetime, end: dt.datetime, *, organizer: str
    ) -> dict[str, list[Interval]]:
        """Busy intervals per email: events it organizes or has not declined, plus `add_busy`."""
        out: dict[str, list[Interval]] = {}
        with self._lock:
            self.read_count["free_busy"] += 1
            for email in dict.fromkeys(emails):
                address = email.lower()
                found = [i for i in self._busy.get(address, []) if i.start < end and start < i.end]
                for owner, box in self._boxes.items():
                    for ev in box.events.values():
                        status = _status_for(owner, ev, address)
                        if status is None or status.lower() not in BUSY:
                            continue
                        s, e = read_time(ev.get("start")), read_time(ev.get("end"))
                        if s is not None and e is not None and s < end and start < e:
                            found.append(Interval(s, e))
                out[email] = sorted(set(found), key=lambda i: (i.start, i.end))
        return out

    # -- Remote: writes --------------------------------------------------------------------------

    def apply(self, actions: Sequence[Action]) -> Iterator[Result]:
        """Carry out the actions one by one; one result per action, never raising for one."""
        for action in actions:
            with self._lock:
                result = self._apply_one(action)
            yield result

    def _apply_one(self, action: Action) -> Result:
        queued = self._fail.get((action.op, action.key))
        if queued:
            error = queued.pop(0)
            return _failed(action, error)
        before = self.writes
        try:
            result = self._dispatch(action)
        except GraphError as exc:
            if isinstance(exc, GraphNotFound) and action.op in ("cancel", "delete"):
                return Result(action, ok=True, remote_id=action.remote_id, list_id=action.list_id)
            return _failed(action, exc)
        if action.key in self._drop and self.writes > before:
            self._drop.discard(action.key)
            if action.op == "create" and action.kind in TASK_KINDS:
                return _failed(
                    action,
                    GraphTransportError(
                        "POST .../tasks: connection dropped after the request was sent; it may "
                        "or may not have been applied"
                    ),
                )
            if action.op == "update":
                # The client repeats a PATCH whose answer was lost: applied twice, same values.
                return self._dispatch(action)
            # Event creates are retried under the same transactionId (and adopt the event);
            # a repeated cancel or delete finds nothing (404 = done): the answer is unchanged.
        return result

    def _dispatch(self, action: Action) -> Result:
        box = self._box(action.mailbox)
        if action.op == "create":
            if action.item is None:
                raise GraphError("create without a desired item")
            body = {**action.item.fields, **action.item.create_extra}
            if action.kind in EVENT_KINDS:
                return self._create_event(action, box, body)
            list_id = action.list_id if action.list_id in box.lists else None
            list_id = list_id or self._ensure_list(box)
            self._check("POST", "todoTask", body)
            task = self._new_task(box, list_id, body)
            return Result(
                action,
                ok=True,
                remote_id=task["id"],
                list_id=list_id,
                change_key=etag_inner(task),
            )
        if action.kind in EVENT_KINDS:
            ev = self._event_for(box, action)
            if action.op == "update":
                patch = self._patch_body(action)
                if patch:
                    self._check("PATCH", "event", patch)
                    self._patch_event(ev, patch)
                    self.write_count["update"] += 1
                return Result(action, ok=True, remote_id=ev["id"], change_key=ev["changeKey"])
            del box.events[ev["id"]]
            if action.op == "cancel" and action.kind == "event":
                self.sent.append(("POST", "cancel", {"comment": CANCEL_COMMENT}))
                ev["isCancelled"] = True
                self._touch(ev)
                self.cancellations.append(
                    {"mailbox": action.mailbox, "comment": CANCEL_COMMENT, "event": ev}
                )
                self.write_count["cancel"] += 1
            else:
                self.write_count["delete"] += 1
            return Result(action, ok=True, remote_id=ev["id"])
        list_id, task = self._task_for(box, action)
        if action.op == "update":
            patch = self._patch_body(action)
            if patch:
                self._check("PATCH", "todoTask", patch)
                task.update(copy.deepcopy(patch))
                self._touch(task)
                self.write_count["update"] += 1
            return Result(
                action, ok=True, remote_id=task["id"], list_id=list_id, change_key=etag_inner(task)
            )
        del box.tasks[list_id][task["id"]]
        self.write_count["delete"] += 1
        return Result(action, ok=True, remote_id=task["id"], list_id=list_id)

    def _create_event(self, action: Action, box: _Box, body: dict[str, Any]) -> Result:
        generation = 0
        while True:
            self._check("POST", "event", body)
            txid = body.get("transactionId")
            if not (isinstance(txid, str) and txid in box.transaction_ids):
                ev = self._new_event(box, action.mailbox, body)
                return Result(action, ok=True, remote_id=ev["id"], change_key=ev["changeKey"])
            # ErrorDuplicateTransactionId: adopt the event carrying the key, if any.
            existing = self._event_by_key(box, action.mailbox, action.key)
            if existing is not None:
                return Result(
                    action, ok=True, remote_id=existing["id"], change_key=existing["changeKey"]
                )
            if generation >= MAX_GENERATIONS:
                raise GraphConflict(
                    "event create refused as a duplicate, yet no event carries its key",
                    status=400,
                    code="ErrorDuplicateTransactionId",
                )
            generation += 1
            body = {**body, "transactionId": transaction_id(action.key, generation)}

    def _patch_body(self, action: Action) -> dict[str, Any]:
        if action.item is None:
            raise GraphError("update without a desired item")
        fields = action.item.fields
        return {name: copy.deepcopy(fields[name]) for name in action.changed if name in fields}

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

    def _box(self, mailbox: str) -> _Box:
        low = mailbox.lower()
        box = self._boxes.get(low)
        if box is None:
            box = self._boxes[low] = _Box()
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

    def _list_ids(self, box: _Box) -> list[str]:
        return [lid for lid, tl in box.lists.items() if tl["displayName"] == self.todo_list_name]

    def _ensure_list(self, box: _Box) -> str:
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

    def _new_event(self, box: _Box, mailbox: str, body: dict[str, Any]) -> dict[str, Any]:
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

    def _new_task(self, box: _Box, list_id: str, body: dict[str, Any]) -> dict[str, Any]:
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

    def _spawn_next(self, box: _Box, list_id: str, task: dict[str, Any]) -> None:
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

    def _event_by_key(self, box: _Box, mailbox: str, key: str) -> dict[str, Any] | None:
        best: RemoteEvent | None = None
        for obj in box.events.values():
            event = event_of(obj, mailbox)
            if event is not None and event.key == key:
                best = prefer_event(best, event)
        return box.events[best.remote_id] if best else None

    def _task_by_key(
        self, box: _Box, mailbox: str, key: str, lists: Iterable[str] | None = None
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

    def _event_for(self, box: _Box, action: Action) -> dict[str, Any]:
        """The event an update/cancel/delete addresses: by id, else (no id) by key."""
        if action.remote_id is not None:
            ev = box.events.get(action.remote_id)
        else:
            ev = self._event_by_key(box, action.mailbox, action.key)
        if ev is None:
            raise GraphNotFound("The specified object was not found in the store.", status=404)
        return ev

    def _task_for(self, box: _Box, action: Action) -> tuple[str, dict[str, Any]]:
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


def _failed(action: Action, error: GraphError) -> Result:
    return Result(action, ok=False, error=error, uncertain=isinstance(error, GraphTransportError))


def _dtz(value: dt.datetime, zone_name: str) -> dict[str, str]:
    return {"dateTime": value.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone_name}


def _status_for(owner: str, ev: Mapping[str, Any], address: str) -> str | None:
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

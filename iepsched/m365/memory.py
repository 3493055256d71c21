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

The storage, lookups and person helpers live in `memorytenant` (`MemoryTenant`, its base class).
Each item names its installation like Graph's (events without the installation property are
invisible to the snapshot; another installation's items stop it with `ForeignInstallation`).
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
from ..core.remote import Action, RemoteEvent, RemoteTask, Result, Snapshot, refused
from .graphwrite import CANCEL_COMMENT, EVENT_KINDS, MAX_GENERATIONS, TASK_KINDS
from .memoryread import (
    BUSY,
    etag_inner,
    event_of,
    owner_of,
    prefer_event,
    prefer_task,
    read_time,
    task_of,
    zone_named,
)
from .memorytenant import Box, MemoryTenant, status_for
from .ownership import ForeignInstallation

__all__ = ["MemoryRemote"]


class MemoryRemote(MemoryTenant):
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
        mailboxes: Iterable[str] | None = None,
        deny_mailboxes: Iterable[str] = (),
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
        # The tenant as the sandbox's `mailboxes=` / `deny_mailboxes=` (None: any address exists).
        self.mailboxes = None if mailboxes is None else {m.lower() for m in mailboxes}
        self.deny_mailboxes = {m.lower() for m in deny_mailboxes}
        self._boxes: dict[str, Box] = {}
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

    def _refusal(self, mailbox: str, *, calendar: bool = True) -> GraphError | None:
        """Graph's answer for a mailbox the tenant lacks (404) or the access policy denies (403,
        calendar paths only: access policies do not cover To Do), else None."""
        address = mailbox.lower()
        if self.mailboxes is not None and address not in self.mailboxes | self.deny_mailboxes:
            message = f"The requested user '{mailbox}' is invalid."
            return GraphNotFound(message, status=404, code="ErrorInvalidUser")
        if calendar and address in self.deny_mailboxes:
            message = "Access to OData is disabled."
            return GraphAuthError(message, status=403, code="ErrorAccessDenied")
        return None

    # -- Remote: reads ---------------------------------------------------------------------------

    def snapshot(
        self, mailboxes: Iterable[str], known: Mapping[str, str] | None = None
    ) -> Snapshot:
        """Every iepsched event and task in these mailboxes (the same mapping as GraphRemote):
        this installation's events, plus the `known` ones (by id) that carry no installation."""
        by_id = set(known or ())
        events: dict[str, RemoteEvent] = {}
        tasks: dict[str, RemoteTask] = {}
        lists: dict[str, str] = {}
        read: set[str] = set()
        self.unread = {}
        with self._lock:
            for mb in dict.fromkeys(mailboxes):
                error = self._fail_read.pop(mb.lower(), None) or self._refusal(mb)
                if error is not None:
                    if refused(error):
                        self.unread[mb] = error
                        continue
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
                    event = event_of(obj, mb) if owner or obj["id"] in by_id else None
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
        return Snapshot(
            events=events,
            tasks=tasks,
            lists=lists,
            mailboxes=frozenset(read),
            unread=dict(self.unread),
        )

    def free_busy(
        self, emails: Sequence[str], start: dt.datetime, end: dt.datetime, *, organizer: str
    ) -> dict[str, list[Interval]]:
        """Busy intervals per email: events it organizes or has not declined, plus `add_busy`;
        an address outside the tenant (`mailboxes`) is left out: unknown, never free."""
        out: dict[str, list[Interval]] = {}
        with self._lock:
            self.read_count["free_busy"] += 1
            for email in dict.fromkeys(emails):
                address = email.lower()
                if self._refusal(address, calendar=False) is not None:
                    continue  # getSchedule's `error` entry: unknown, never free
                found = [i for i in self._busy.get(address, []) if i.start < end and start < i.end]
                for owner, box in self._boxes.items():
                    for ev in box.events.values():
                        status = status_for(owner, ev, address)
                        if status is None or status.lower() not in BUSY:
                            continue
                        s, e = read_time(ev.get("start")), read_time(ev.get("end"))
                        if s is not None and e is not None and s < end and start < e:
                            found.append(Interval(s, e))
                out[email] = sorted(set(found), key=lambda i: (i.start, i.end))
        return out

    # -- Remote: writes --------------------------------------------------------------------------

    def add_checklist_items(self, tasks: Sequence[tuple[RemoteTask, tuple[str, ...]]]) -> None:
        """Append the checklist items (one POST each, as Graph takes them)."""
        with self._lock:
            for t, names in tasks:
                task = self._box(t.mailbox).tasks.get(t.list_id, {}).get(t.remote_id)
                if task is None:
                    continue
                for name in names:
                    task.setdefault("checklistItems", []).append(
                        {
                            "displayName": name,
                            "isChecked": False,
                            "createdDateTime": self._stamp(),
                            "id": self._id("check"),
                        }
                    )
                    self.write_count["checklist"] += 1
                self._touch(task)

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
        refusal = self._refusal(action.mailbox, calendar=action.kind in EVENT_KINDS)
        if refusal is not None:
            return _failed(action, refusal)
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

    def _create_event(self, action: Action, box: Box, body: dict[str, Any]) -> Result:
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


def _failed(action: Action, error: GraphError) -> Result:
    return Result(action, ok=False, error=error, uncertain=isinstance(error, GraphTransportError))

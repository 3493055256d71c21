"""The port through which sync reaches Microsoft 365, and the values that cross it.

`Remote` has two implementations that pass the same contract tests: `GraphRemote` (Microsoft
Graph through `graph.GraphClient`) and `MemoryRemote` (in-memory, for fast tests). The sync
engine only ever talks to this protocol.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import GraphError
from .model import Interval, row_id
from .model import ItemKind as ItemKind  # re-exported: the port's own vocabulary
from .model import Op as Op

# The single-value extended property that carries an item's key on every event iepsched creates,
# so an event can always be found again (SPEC §5). The GUID is iepsched's own property set.
KEY_PROPERTY_ID = "String {6f0a3c55-5f2e-4f43-9d8b-1e2a7c1b9e21} Name iepschedKey"
APPLICATION_NAME = "iepsched"


When = dt.datetime | dt.date  # an event's aware start, or a task's due date


@dataclass(frozen=True, slots=True)
class DesiredItem:
    """One Outlook event or To Do task as the plan wants it to be.

    `fields` holds exactly the Graph properties iepsched manages (and so compares and PATCHes);
    `create_extra` holds what is only sent on creation (transactionId, extended property, linked
    resource, checklist items).
    """

    key: str
    student_id: str
    cycle_id: str
    milestone: str
    kind: ItemKind
    mailbox: str
    fields: Mapping[str, Any]
    create_extra: Mapping[str, Any]
    field_hashes: Mapping[str, str]
    hash: str
    start: dt.datetime | None = None  # events: aware local start/end
    end: dt.datetime | None = None
    due: dt.date | None = None  # tasks and calendar items
    contact: bool = False  # a parent-contact task: ticked checklist methods are logged
    held: bool = False  # the meeting has taken place: never PATCHed again


@dataclass(frozen=True, slots=True)
class RemoteEvent:
    """An iepsched event as Graph holds it now."""

    key: str
    remote_id: str
    mailbox: str
    change_key: str = ""
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    is_cancelled: bool = False
    declined_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RemoteTask:
    """An iepsched To Do task as Graph holds it now."""

    key: str
    remote_id: str
    mailbox: str
    list_id: str
    status: str = "notStarted"
    completed_on: dt.date | None = None
    checked: tuple[str, ...] = ()  # displayName of every ticked checklist item
    change_key: str = ""
    checklist: tuple[str, ...] = ()  # displayName of every checklist item, ticked or not


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every iepsched item found in the given mailboxes (events and tasks by key)."""

    events: Mapping[str, RemoteEvent] = field(default_factory=dict)
    tasks: Mapping[str, RemoteTask] = field(default_factory=dict)
    lists: Mapping[str, str] = field(default_factory=dict)  # mailbox -> To Do list id
    mailboxes: frozenset[str] = frozenset()  # the mailboxes actually read
    # Mailboxes Graph refused (403 outside the app's access policy, 404 no mailbox or licence)
    # and its error: skipped this run, nothing of them cancelled or recorded as deleted.
    unread: Mapping[str, GraphError] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Action:
    """One write the sync engine will make; `sync --dry-run` prints these very objects."""

    op: Op
    key: str
    student_id: str
    kind: ItemKind
    mailbox: str
    reason: str
    item: DesiredItem | None = None
    remote_id: str | None = None
    list_id: str | None = None
    changed: tuple[str, ...] = ()  # for update: the managed fields that differ
    # The removal of the copy left in this former mailbox (the item was re-created in the new
    # one): not a loss, so not counted against the cancellation limit.
    moving_from: str | None = None
    # When the item is now and will be after the write (what `sync --dry-run` shows a coordinator):
    # a meeting's start, a task's or calendar item's due date. None where there is none (a
    # create has no before, a removal no after) or it is not known (a removed task's due date).
    before: When | None = None
    after: When | None = None

    @property
    def row_id(self) -> str:
        """The id of the state row this action writes (see `model.row_id`)."""
        return row_id(self.key, self.moving_from)

    def as_dict(self) -> dict[str, Any]:
        """JSON form for `sync --dry-run --format json` (no names: ids and keys only)."""
        return {
            "op": self.op,
            "key": self.key,
            "student_id": self.student_id,
            "kind": self.kind,
            "mailbox": self.mailbox,
            "reason": self.reason,
            "changed": list(self.changed),
            "before": _iso(self.before),
            "after": _iso(self.after),
        }


def _iso(value: When | None) -> str | None:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="minutes")
    return None if value is None else value.isoformat()


@dataclass(frozen=True, slots=True)
class Result:
    """What happened to one action."""

    action: Action
    ok: bool
    remote_id: str | None = None
    list_id: str | None = None
    change_key: str | None = None
    error: GraphError | None = None
    # The write may have happened although no answer came back (dropped connection on a POST):
    # the next snapshot decides.
    uncertain: bool = False


class Remote(Protocol):
    """Microsoft 365 as the sync engine sees it."""

    def snapshot(
        self, mailboxes: Iterable[str], known: Mapping[str, str] | None = None
    ) -> Snapshot:
        """Read every iepsched event and task in these mailboxes.

        `known` maps the ids of events the state holds as delivered to their mailbox: an event
        the listing does not return is read by that id (gone when Graph answers 404).
        """
        ...

    def free_busy(
        self, emails: Sequence[str], start: dt.datetime, end: dt.datetime, *, organizer: str
    ) -> dict[str, list[Interval]]:
        """Busy intervals per email in [start, end) (getSchedule; chunked by the adapter).

        An email Graph could not answer for (an `error` entry: no such mailbox, outside the
        tenant) is left out of the answer: its free/busy is unknown, never free.
        """
        ...

    def apply(self, actions: Sequence[Action]) -> Iterator[Result]:
        """Carry out the actions (batched and concurrent as the adapter sees fit)."""
        ...

    def add_checklist_items(self, tasks: Sequence[tuple[RemoteTask, tuple[str, ...]]]) -> None:
        """Give each task these checklist items (in order); one left incomplete is logged."""
        ...


def refused(error: GraphError) -> bool:
    """Whether Graph refused one mailbox (403/404) rather than the app as a whole: a 401 or a
    token that cannot be had stops the run; a mailbox outside the access policy does not."""
    return error.status in (403, 404)


def busy_window_chunks(
    start: dt.datetime, end: dt.datetime, days: int = 41
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Split [start, end) into windows shorter than Graph's 42-day getSchedule limit."""
    out: list[tuple[dt.datetime, dt.datetime]] = []
    step = dt.timedelta(days=days)
    cursor = start
    while cursor < end:
        out.append((cursor, min(cursor + step, end)))
        cursor += step
    return out


def chunks(values: Sequence[str], size: int = 20) -> list[Sequence[str]]:
    """Groups of at most `size` (getSchedule takes at most 20 schedules a call)."""
    return [values[i : i + size] for i in range(0, len(values), size)]

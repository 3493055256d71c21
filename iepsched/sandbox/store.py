"""The sandbox's in-memory tenant: mailboxes holding events and To Do lists.

Plain mutable records; every read and write happens under :attr:`Store.lock` (the HTTP layer takes
it around each request item, never while sleeping). Ids are minted here, change sequence numbers
too (for delta queries).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .access import Tenant


class GraphError(Exception):
    """An error Graph would answer with: status, ``error.code`` and ``error.message``."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass
class ExtendedProperty:
    """A singleValueLegacyExtendedProperty as the client sent it."""

    id: str
    value: str | None


@dataclass
class Event:
    """One event in one mailbox (the organizer's copy; attendees have none in the sandbox)."""

    id: str
    mailbox: str
    ical_uid: str
    change_key: str
    created: datetime
    modified: datetime
    seq: int
    start: datetime  # UTC instant
    end: datetime  # UTC instant
    start_zone: str  # the zone name the client used, echoed as originalStartTimeZone
    end_zone: str
    props: dict[str, Any]  # every other Graph property, canonical spelling
    transaction_id: str | None = None
    ext: dict[tuple[str, ...], ExtendedProperty] = field(default_factory=dict)


@dataclass
class Task:
    """A todoTask; dates that To Do keeps as dates are stored as dates."""

    id: str
    list_id: str
    change_key: str
    created: datetime
    modified: datetime
    body_modified: datetime
    seq: int
    props: dict[str, Any]  # title, body, importance, status, categories, isReminderOn, recurrence
    due: date | None = None
    start_date: date | None = None
    reminder: datetime | None = None  # UTC instant
    completed: date | None = None
    checklist: dict[str, dict[str, Any]] = field(default_factory=dict)
    linked: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class TaskList:
    """A todoTaskList and its tasks (insertion ordered)."""

    id: str
    display_name: str
    wellknown: str
    change_key: str
    seq: int
    tasks: dict[str, Task] = field(default_factory=dict)


@dataclass
class Tombstone:
    """A removed item, remembered so a delta round can report ``@removed``."""

    id: str
    seq: int
    kind: str  # "event" | "task"
    list_id: str | None = None


@dataclass
class Mailbox:
    """One user's (or room's) mailbox; created on first use."""

    key: str  # lower-cased address as used in /users/{key}
    events: dict[str, Event] = field(default_factory=dict)
    transaction_ids: dict[str, str] = field(default_factory=dict)  # transactionId -> event id
    lists: dict[str, TaskList] = field(default_factory=dict)
    cancelled: list[dict[str, Any]] = field(default_factory=list)
    tombstones: list[Tombstone] = field(default_factory=list)


class Store:
    """All mailboxes, a change sequence and the lock that guards them."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.lock = threading.Lock()
        self.mailboxes: dict[str, Mailbox] = {}
        self.seq = 0
        # Identifies this store instance inside delta tokens, so a token from another run is
        # refused (Graph answers an unknown sync state with 410).
        self.epoch = uuid.uuid4().hex[:12]
        self._clock = clock or (lambda: datetime.now(UTC))
        from .access import Tenant  # local: access imports this module

        # Which mailboxes exist and which the app may not open (default: any, all).
        self.tenant: Tenant = Tenant()
        # Room address -> booking policy ("accept", "decline", "tentative", "none").
        self.room_policies: dict[str, str] = {}

    def now(self) -> datetime:
        """The current UTC instant (injectable for tests)."""
        value = self._clock()
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def next_seq(self) -> int:
        """A new change sequence number (monotonic across the store)."""
        self.seq += 1
        return self.seq

    def mailbox(self, key: str) -> Mailbox:
        """The mailbox for `key` (case-insensitive), created with its default list on first use."""
        norm = key.strip().lower()
        box = self.mailboxes.get(norm)
        if box is None:
            from .shapes import change_key, outlook_id  # local: shapes imports this module

            box = Mailbox(norm)
            default = TaskList(outlook_id(), "Tasks", "defaultList", change_key(), self.next_seq())
            box.lists[default.id] = default
            self.mailboxes[norm] = box
        return box

    def clear(self) -> None:
        """Forget every mailbox (a fresh tenant)."""
        self.mailboxes.clear()

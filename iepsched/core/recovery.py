"""Safety over what the mailboxes show (SPEC §5 "Safety"). Pure.

Mass loss: when a mailbox's iepsched items have all (or more than the limit) vanished at once, a
wiped or replaced mailbox is far likelier than a person deleting them one by one, so the run
stops instead of recording them as deleted by people (`mass_losses`), unless told to create
them again (`to_recreate`).

A lost state: when the state knows no items but the mailboxes hold iepsched items, the state is
rebuilt from what is found (`found_items`, `found_cycles`), each item taken as holding what
iepsched would write now (`as_written`) so nothing identical is sent again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Final

from .model import Cycle, ItemKind, ItemState, Student, Track
from .reconcile import CANCELLED, DELETED, LIVE, PENDING
from .remote import DesiredItem, RemoteEvent, RemoteTask, Snapshot

# "All of a mailbox's items vanished" is a mass loss only from this many items up: a case
# manager deleting the one or two items left in their mailbox is a person's edit.
ALL_GONE_FLOOR: Final = 3


@dataclass(frozen=True, slots=True)
class MassLoss:
    """A mailbox whose iepsched items vanished at once (wiped, replaced, another tenant)."""

    mailbox: str
    known: int  # live items the state knows there
    found: int  # of those, still there
    rows: tuple[str, ...]  # the row ids of the vanished items

    def describe(self) -> str:
        return (
            f"{self.mailbox}: the state knows {self.known} live iepsched items there, Microsoft "
            f"365 shows {self.found}"
        )


def _vanished(st: ItemState, snapshot: Snapshot) -> bool:
    """What `observe` would record as deleted by a person."""
    if st.kind in ("event", "calendar_item"):
        event = snapshot.events.get(st.key)
        return event is None or event.is_cancelled
    return st.key not in snapshot.tasks


def _elsewhere(st: ItemState, snapshot: Snapshot) -> bool:
    """The snapshot shows the key in another mailbox (the other copy of a hand-over): it holds
    one copy per key, so whether this mailbox still has its own is not known from it."""
    found: RemoteEvent | RemoteTask | None = (
        snapshot.events.get(st.key)
        if st.kind in ("event", "calendar_item")
        else snapshot.tasks.get(st.key)
    )
    return found is not None and found.mailbox != st.mailbox


def mass_losses(
    state: Mapping[str, ItemState], snapshot: Snapshot, *, limit: int
) -> list[MassLoss]:
    """Mailboxes (among those read) where all of the state's live items, or more than `limit`,
    vanished since the last run: a loss to stop at, not people's deletions to record. Items
    whose key the snapshot shows in another mailbox are left out of the count: one such key
    must not make a wiped mailbox look as if something were left."""
    known: dict[str, list[ItemState]] = {}
    for st in state.values():
        read = st.mailbox in snapshot.mailboxes
        if st.state == LIVE and st.moving_from is None and read and not _elsewhere(st, snapshot):
            known.setdefault(st.mailbox, []).append(st)
    losses = []
    for mailbox, rows in sorted(known.items()):
        gone = tuple(st.row_id for st in rows if _vanished(st, snapshot))
        all_gone = len(gone) == len(rows) >= ALL_GONE_FLOOR
        if gone and (all_gone or len(gone) > limit):
            losses.append(MassLoss(mailbox, len(rows), len(rows) - len(gone), gone))
    return losses


def to_recreate(state: Mapping[str, ItemState], losses: Iterable[MassLoss]) -> list[ItemState]:
    """The vanished items of accepted losses, as rows the next reconcile creates again (a
    replaced mailbox gets its items back; nothing is recorded as deleted by a person).

    Pending, not deleted: a pending meeting still books its time, so the plan puts it back
    where it was (a person's move included: people win) instead of placing it anew.
    """
    return [
        replace(
            state[row], state=PENDING, intent=None, remote_id=None, list_id=None, change_key=None
        )
        for loss in losses
        for row in loss.rows
    ]


def found_count(snapshot: Snapshot) -> int:
    """How many iepsched items the snapshot holds."""
    return len(snapshot.events) + len(snapshot.tasks)


def found_items(snapshot: Snapshot, student_ids: Iterable[str]) -> list[ItemState]:
    """The state of a lost state file, read back from the mailboxes: every item found under a
    key of a roster student, live (the next `observe` reads completions and cancellations, and
    the plan keeps the meetings where Outlook has them). Hashes stay empty until the plan says
    what iepsched would have written (`as_written`)."""
    ids = sorted(set(student_ids), key=len, reverse=True)  # "S/2" before "S"

    def parts(key: str) -> tuple[str, str, str] | None:
        for sid in ids:
            if key.startswith(sid + "/"):
                cycle, _, milestone = key[len(sid) + 1 :].partition("/")
                return (sid, cycle, milestone) if cycle and milestone else None
        return None

    out: list[ItemState] = []
    for key, event in sorted(snapshot.events.items()):
        found = parts(key)
        if found is not None:
            sid, cycle, milestone = found
            kind: ItemKind = "event" if milestone == "meeting" else "calendar_item"
            out.append(
                ItemState(
                    key, sid, cycle, milestone, kind, event.mailbox, LIVE,
                    remote_id=event.remote_id, change_key=event.change_key,
                    start=event.start, end=event.end,
                )
            )  # fmt: skip
    for key, task in sorted(snapshot.tasks.items()):
        found = parts(key)
        if found is not None:
            sid, cycle, milestone = found
            out.append(
                ItemState(
                    key, sid, cycle, milestone, "task", task.mailbox, LIVE,
                    remote_id=task.remote_id, list_id=task.list_id, change_key=task.change_key,
                )
            )  # fmt: skip
    return out


def created_since(
    restored: Mapping[str, ItemState], found: Iterable[ItemState], snapshot: Snapshot
) -> list[ItemState]:
    """Of the items found in the mailboxes, those a restored backup does not hold as there: rows
    it lacks or holds as removed by iepsched (deleted, cancelled) were created since the backup
    was taken (a new occurrence, an item wanted again). Adopted before planning, so the plan
    books their meetings where Outlook has them and nothing is created a second time."""
    out = []
    for st in found:
        known = restored.get(st.row_id)
        if known is not None and known.state not in (CANCELLED, DELETED):
            continue
        event = snapshot.events.get(st.key)
        if event is not None and event.is_cancelled:
            continue  # the one iepsched cancelled, or a person's cancellation: nothing to adopt
        out.append(st)
    return out


def missing_checklists(
    keys: Iterable[str], desired: Iterable[DesiredItem], snapshot: Snapshot
) -> list[tuple[RemoteTask, tuple[str, ...]]]:
    """Of these tasks (adopted after a run that created them was cut off before their checklist
    items were posted), the open ones lacking checklist items they are created with, and the
    names to add: without them a person cannot tick how the parent was contacted."""
    wanted = set(keys)
    out = []
    for d in desired:
        task = snapshot.tasks.get(d.key)
        if d.key not in wanted or task is None or task.status == "completed":
            continue
        names = [
            str(c.get("displayName"))
            for c in d.create_extra.get("checklistItems") or []
            if isinstance(c, Mapping) and c.get("displayName")
        ]
        missing = tuple(n for n in names if n not in task.checklist)
        if missing:
            out.append((task, missing))
    return out


def found_cycles(items: Iterable[ItemState], students: Iterable[Student]) -> list[Cycle]:
    """The cycles the found items belong to, so the plan books their meetings where they are.

    A cycle id is the due date it opened with ("R" before a reevaluation's, ".N" after a
    repeat); a cycle whose id is the roster's date is the current one.
    """
    roster = {s.student_id: s for s in students}
    seen: dict[tuple[str, str], Cycle] = {}
    for st in items:
        student = roster.get(st.student_id)
        if student is None or not (st.cycle_id[:1].isdigit() or st.cycle_id.startswith("R")):
            # The other cycles of SPEC §3.6 ("eligibility-2026-09-14", ...) are named by their
            # start and need no row: the planner finds their items by their cycle id.
            continue
        track: Track = "reeval" if st.cycle_id.startswith("R") else "annual"
        due: dt.date | None
        try:
            due = dt.date.fromisoformat(st.cycle_id.removeprefix("R").split(".")[0])
        except ValueError:
            due = student.due_date if track == "annual" else student.reeval_due_date
        if due is not None:
            seen.setdefault(
                (st.student_id, st.cycle_id), Cycle(st.student_id, track, st.cycle_id, due)
            )
    return sorted(seen.values(), key=lambda c: (c.student_id, c.track, c.due_date, c.cycle_id))


def as_written(st: ItemState, item: DesiredItem) -> ItemState:
    """An item adopted from a mailbox without the state's hashes, taken as holding what iepsched
    would write now (it wrote it), so adopting sends nothing again. What the snapshot shows is
    still compared: a meeting's times (by `reconcile`) and an all-day item's day (here)."""
    hashes = dict(item.field_hashes)
    start, end = st.start, st.end
    if item.kind == "calendar_item":
        if st.start is None or st.start.date() != item.due:
            hashes.pop("start", None)
            hashes.pop("end", None)
        start = end = None
    return replace(st, kind=item.kind, hash=item.hash, field_hashes=hashes, start=start, end=end)

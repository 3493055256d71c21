"""Decide what to write, as data, before anything is written (STYLE habit 2). Pure.

Three steps, each a function of values only:

1. `assign_cycles`: which annual/reevaluation cycle each student is in (stable through due-date
   corrections; a new one opens when the held cycle's roster row carries the next due date).
2. `observe`: what people changed in Microsoft 365 since the last run — a moved meeting is
   adopted, completed tasks are read back (contact tasks log a contact), items a person deleted
   are remembered and never silently recreated, declines are reported.
3. `reconcile`: desired items + state -> the list of actions. Nothing is cancelled or deleted for a
   student whose roster row could not be read, who is missing from the roster, or whose plan can
   no longer be placed; only `exited` students and items the plan no longer wants are removed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from .items import methods_from_checklist
from .model import Contact, Cycle, ItemState, Student
from .remote import Action, DesiredItem, Op, Snapshot, When

LIVE: Final = "live"
PENDING: Final = "pending"
COMPLETED: Final = "completed"
REMOVED_BY_PERSON: Final = "removed_by_person"
CANCELLED: Final = "cancelled"
DELETED: Final = "deleted"
# Why a To Do task with a `recurrence` (how iepsched once delivered progress monitoring) is
# removed: its occurrences are now tasks of their own (SPEC §5). A replacement, not a loss.
REPLACED_BY_OCCURRENCES: Final = "replaced by one task per occurrence"


# -- cycles ---------------------------------------------------------------------------------


def assign_cycles(
    students: Iterable[Student],
    cycles: Mapping[tuple[str, str], Sequence[Cycle]],
    *,
    held: Mapping[str, dt.date],
    reeval_done: Mapping[str, dt.date] | None = None,
) -> tuple[dict[str, str], dict[str, str], list[Cycle]]:
    """Current annual and reevaluation cycle id per student, and the cycle rows to save.

    `held` maps student id -> date of the current annual cycle's held meeting (from state);
    `reeval_done` -> date the current reevaluation was completed (its reeval_due task). A closed
    cycle whose roster date then changes opens the next one.
    A cycle id is the due date it opened with, so a preview (no state) uses the same ids.
    """
    annual: dict[str, str] = {}
    reeval: dict[str, str] = {}
    changed: list[Cycle] = []
    for s in students:
        if s.due_date is not None:  # None: on the initial track, no annual cycle yet
            _annual_cycle(s, s.due_date, cycles, held, annual, changed)
        if s.reeval_due_date is not None:
            r = _current(cycles.get((s.student_id, "reeval"), ()))
            done_on = (reeval_done or {}).get(s.student_id)
            if r is not None and done_on and r.held_on != done_on:
                r = replace(r, held_on=done_on)
                changed.append(r)
            if r is None or (r.held_on is not None and s.reeval_due_date != r.due_date):
                r = Cycle(
                    s.student_id,
                    "reeval",
                    _new_id(f"R{s.reeval_due_date.isoformat()}", cycles, s),
                    s.reeval_due_date,
                )
                changed.append(r)
            elif r.due_date != s.reeval_due_date:
                r = replace(r, due_date=s.reeval_due_date)
                changed.append(r)
            reeval[s.student_id] = r.cycle_id
    return annual, reeval, changed


def _annual_cycle(
    s: Student,
    due: dt.date,
    cycles: Mapping[tuple[str, str], Sequence[Cycle]],
    held: Mapping[str, dt.date],
    annual: dict[str, str],
    changed: list[Cycle],
) -> None:
    """The student's current annual cycle id (into `annual`), opening or correcting its row."""
    current = _current(cycles.get((s.student_id, "annual"), ()))
    held_on = held.get(s.student_id)
    if current is not None and held_on and current.held_on != held_on:
        current = replace(current, held_on=held_on)
        changed.append(current)
    if current is None or (
        current.held_on is not None and due != current.due_date and due > current.held_on
    ):
        # First sight, or the roster now carries the next due date after a held meeting.
        cycle_id = _new_id(due.isoformat(), cycles, s)
        current = Cycle(s.student_id, "annual", cycle_id, due)
        changed.append(current)
    elif current.held_on is None and current.due_date != due:
        current = replace(current, due_date=due)  # a correction: same cycle
        changed.append(current)
    annual[s.student_id] = current.cycle_id


def _current(cycles: Sequence[Cycle]) -> Cycle | None:
    return cycles[-1] if cycles else None


def _new_id(base: str, cycles: Mapping[tuple[str, str], Sequence[Cycle]], s: Student) -> str:
    taken = {
        c.cycle_id for track in ("annual", "reeval") for c in cycles.get((s.student_id, track), ())
    }
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}.{n}"
    return candidate


# -- observing people's changes -------------------------------------------------------------


@dataclass(slots=True)
class Observation:
    """What the snapshot says people did, as state updates (the plan then reads the saved
    state: booked meetings and completed items have one source), contacts and reports."""

    updates: list[ItemState] = field(default_factory=list)
    contacts: list[tuple[Contact, str]] = field(default_factory=list)  # (contact, source_ref)
    reports: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


def observe(
    state: Mapping[str, ItemState],
    snapshot: Snapshot,
    *,
    now: dt.datetime,
) -> Observation:
    """Compare the state with what Graph holds now (only for mailboxes the snapshot read)."""
    obs = Observation()
    for st in state.values():
        if st.mailbox not in snapshot.mailboxes:
            continue
        if st.moving_from is not None:
            # The copy of an item left in a former case manager's mailbox is only ever being
            # removed: what a person does to it is no news (and the snapshot's copy under its
            # key may be the new one). Keep it until its removal is confirmed (a 404 on
            # cancel/delete counts as removed).
            continue
        if st.kind in ("event", "calendar_item"):
            _observe_event(obs, st, snapshot, now)
        else:
            _observe_task(obs, st, snapshot, now)
    return obs


def _observe_event(obs: Observation, st: ItemState, snapshot: Snapshot, now: dt.datetime) -> None:
    milestone = st.milestone
    remote = snapshot.events.get(st.key)
    if st.state == PENDING:
        if remote is not None:  # the create landed before a crash or a dropped answer
            obs.updates.append(
                replace(
                    st,
                    state=LIVE,
                    remote_id=remote.remote_id,
                    change_key=remote.change_key,
                    intent=None,
                    start=remote.start or st.start,
                    end=remote.end or st.end,
                )
            )
            obs.count("recovered")
        return
    if st.state != LIVE:
        return
    if remote is None or remote.is_cancelled:
        obs.updates.append(replace(st, state=REMOVED_BY_PERSON, intent=None))
        obs.reports.append(
            f"{st.student_id}: the {_label(milestone)} was deleted in Outlook by a person; it will "
            f"not be recreated (run sync --rebook {st.student_id} to recreate it)."
        )
        obs.count("removed_by_person")
        return
    moved = (
        milestone == "meeting"
        and remote.start is not None
        and st.start is not None
        and (remote.start != st.start or remote.end != st.end)
    )
    if moved:
        obs.updates.append(
            replace(
                st, start=remote.start, end=remote.end, change_key=remote.change_key, moved=True
            )
        )
        assert remote.start is not None
        obs.reports.append(
            f"{st.student_id}: the IEP meeting was moved in Outlook to "
            f"{remote.start.isoformat(timespec='minutes')}; adopted (tasks follow)."
        )
        obs.count("adopted")
    if milestone == "meeting":
        for who in remote.declined_by:
            obs.reports.append(f"{st.student_id}: {who} declined the IEP meeting.")
            obs.count("declined")


def _observe_task(obs: Observation, st: ItemState, snapshot: Snapshot, now: dt.datetime) -> None:
    milestone = st.milestone
    remote = snapshot.tasks.get(st.key)
    if st.state == PENDING:
        if remote is None:
            return
        st = replace(
            st, state=LIVE, remote_id=remote.remote_id, list_id=remote.list_id, intent=None
        )
        obs.updates.append(st)
        obs.count("recovered")
    elif st.state != LIVE:
        return
    if remote is None:
        obs.updates.append(replace(st, state=REMOVED_BY_PERSON, intent=None))
        obs.reports.append(
            f"{st.student_id}: the task '{_label(milestone)}' was deleted in To Do by a person; "
            f"it will not be recreated (run sync --rebook {st.student_id} to recreate it)."
        )
        obs.count("removed_by_person")
        return
    if remote.remote_id != st.remote_id and remote.status != "completed":
        # Completing a recurring To Do task creates the next occurrence under a new id: follow it.
        obs.updates.append(replace(st, remote_id=remote.remote_id, list_id=remote.list_id))
        obs.count("followed_recurrence")
        return
    if remote.status == "completed":
        completed_on = remote.completed_on or now.date()
        obs.updates.append(
            replace(
                st,
                state=COMPLETED,
                completed_on=completed_on,
                intent=None,
                remote_id=remote.remote_id,
                list_id=remote.list_id,
            )
        )
        obs.count("completed")
        if milestone.startswith("parent_contact"):
            methods = methods_from_checklist(remote.checked)
            if not methods:
                obs.reports.append(
                    f"{st.student_id}: '{_label(milestone)}' was completed without ticking a "
                    "method; log the contact with `iepsched contact log`."
                )
            at = dt.datetime.combine(completed_on, dt.time(12, 0), tzinfo=dt.UTC)
            for method in methods:
                obs.contacts.append(
                    (
                        Contact(
                            student_id=st.student_id,
                            at=at,
                            method=method,
                            with_whom="parent/guardian",
                            outcome="reached",
                            note="",
                            source="todo",
                        ),
                        f"{st.key}#{method}",
                    )
                )
                obs.count("contacts_logged")


def _label(milestone: str) -> str:
    return milestone.replace("_", " ")


# -- reconcile ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    """Which students' items may be removed, and which must be left alone."""

    active: frozenset[str]  # planned and deliverable now
    exited: frozenset[str]
    protected: frozenset[str]  # bad roster rows, unplaceable plans, missing from the roster
    current_cycles: frozenset[str]  # cycle ids in use (annual and reeval), as "student/cycle"
    rebook: frozenset[str] = frozenset()


def reconcile(
    desired: Iterable[DesiredItem],
    state: Mapping[str, ItemState],
    scope: Scope,
    *,
    now: dt.datetime,
) -> list[Action]:
    """The actions that make Microsoft 365 match the plan, in a stable order."""
    actions: list[Action] = []
    wanted: dict[str, DesiredItem] = {}
    for item in desired:
        wanted[item.key] = item
        st = state.get(item.key)
        action = _for_desired(item, st, scope)
        if action is not None:
            actions.append(action)
    for _, st in sorted(state.items()):
        if (st.moving_from is None and st.key in wanted) or st.state not in (LIVE, PENDING):
            continue
        action = _for_unwanted(st, scope, now)
        if action is not None:
            actions.append(action)
    order = {"create": 0, "update": 1, "cancel": 2, "delete": 3}
    actions.sort(key=lambda a: (a.mailbox, order[a.op], a.key))
    return actions


def _for_desired(item: DesiredItem, st: ItemState | None, scope: Scope) -> Action | None:
    def act(op: Op, reason: str, changed: tuple[str, ...] = ()) -> Action:
        return Action(
            op=op,
            key=item.key,
            student_id=item.student_id,
            kind=item.kind,
            mailbox=item.mailbox,
            reason=reason,
            item=item,
            remote_id=st.remote_id if st else None,
            list_id=st.list_id if st else None,
            changed=changed,
            before=_before(item, st, changed) if op == "update" and st else None,
            after=_when(item),
        )

    if st is None:
        return act("create", "new")
    if st.state == PENDING:
        return act("create", "not confirmed by a previous run")
    if st.state == REMOVED_BY_PERSON:
        if item.student_id in scope.rebook:
            return act("create", "rebook requested")
        return None
    if st.state in (CANCELLED, DELETED):
        return act("create", "wanted again")
    if st.state != LIVE or item.held:
        return None  # completed tasks and held meetings are never rewritten
    if st.mailbox != item.mailbox:
        # Left in a former case manager's calendar because it already took place (see
        # `took_place`): history, and its id means nothing in the new mailbox.
        return None
    timed = item.kind == "event"
    changed = tuple(
        name
        for name, h in item.field_hashes.items()
        if not (timed and name in ("start", "end")) and st.field_hashes.get(name) != h
    )
    if timed and (item.start != st.start or item.end != st.end):
        # Meeting times compare as instants against what Outlook last showed (a person's move
        # is adopted into the state first, so their time is not pushed back).
        changed = (*changed, "start", "end")
    if not changed:
        return None
    return act("update", "changed: " + ", ".join(changed), changed)


def _for_unwanted(st: ItemState, scope: Scope, now: dt.datetime) -> Action | None:
    sid = st.student_id
    if sid in scope.protected:
        return None
    # The old copy of a handed-over item goes whatever its cycle: its new copy was created.
    moving = st.moving_from is not None
    current = f"{sid}/{st.cycle_id}" in scope.current_cycles
    if not moving and not current and sid not in scope.exited:
        return None  # an older (held) cycle's items stay until done
    if not moving and sid not in scope.exited and sid not in scope.active:
        return None  # not deliverable now (e.g. the due date moved past the horizon): keep
    kind = st.kind
    if moving:
        reason = "moved to the new case manager"
    elif sid in scope.exited:
        reason = "student exited"
    elif kind == "recurring_task":
        reason = REPLACED_BY_OCCURRENCES
    else:
        reason = "no longer in the plan"
    if kind == "event":
        if took_place(st, now):
            return None  # a meeting that took place is history, not something to cancel
        return Action(
            "cancel",
            st.key,
            sid,
            kind,
            st.mailbox,
            reason,
            remote_id=st.remote_id,
            moving_from=st.moving_from,
            before=st.start,
        )
    if moving or sid in scope.exited or sid in scope.active:
        return Action(
            "delete",
            st.key,
            sid,
            kind,
            st.mailbox,
            reason,
            remote_id=st.remote_id,
            list_id=st.list_id,
            moving_from=st.moving_from,
        )
    return None


def _when(item: DesiredItem) -> When | None:
    return item.start if item.kind == "event" else item.due


def _before(item: DesiredItem, st: ItemState, changed: tuple[str, ...]) -> When | None:
    """When the item is now, for an update (the dry run shows old -> new)."""
    if item.kind == "event":
        if st.start is None or item.start is None:
            return st.start
        return st.start.astimezone(item.start.tzinfo)  # shown in the plan's own zone
    name = "start" if item.kind == "calendar_item" else "dueDateTime"
    if name not in changed:
        return item.due
    return _old_day(item, st, name)


# How far from the new due date an old one is looked for (snow days, corrections, new meetings).
_SEARCH_DAYS: Final = 400


def _old_day(item: DesiredItem, st: ItemState, name: str) -> dt.date | None:
    """The day a task's date field held when last written. The state keeps that field's hash
    only, so the days around the new one are hashed until one matches."""
    new, old_hash = item.fields.get(name), st.field_hashes.get(name)
    if item.due is None or old_hash is None or not isinstance(new, Mapping):
        return None
    text = str(new.get("dateTime", ""))
    if not text.startswith(item.due.isoformat()):
        return None

    def hashed(day: dt.date) -> str:
        return _field_hash({**new, "dateTime": day.isoformat() + text[10:]})

    if hashed(item.due) != item.field_hashes.get(name):
        return None  # hashed some other way than `_field_hash` expects: say it is unknown
    step = dt.timedelta(days=1)
    for n in range(1, _SEARCH_DAYS + 1):
        for day in (item.due - n * step, item.due + n * step):
            if hashed(day) == old_hash:
                return day
    return None


def _field_hash(value: object) -> str:
    """A managed field's hash as `items` computes it (checked against the item's own above)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def took_place(st: ItemState, now: dt.datetime) -> bool:
    """Whether a delivered meeting is over: never cancelled, nor moved to a new case manager (the
    plan may still count a meeting of today as not held; this is what the removal side uses,
    so a hand-over never leaves an old copy that nothing will cancel)."""
    return st.kind == "event" and st.end is not None and st.end <= now


def is_move(action: Action) -> bool:
    """The removal of an item re-created elsewhere (not a loss, not counted as a cancellation):
    in another mailbox, or a recurring To Do task re-created as one task per occurrence."""
    return action.moving_from is not None or action.reason == REPLACED_BY_OCCURRENCES

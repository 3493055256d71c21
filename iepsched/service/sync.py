"""The sync engine: plan, compare, then apply — every collaborator passed in (STYLE habit 2/4).

    snapshot (reads) -> observe people's edits -> plan with state (+ free/busy for new meetings)
    -> desired items -> reconcile (pure list of actions) -> safety check -> apply, item by item:
       intent recorded before each write, result recorded after it.

Crash safety: an item whose write was sent but not confirmed stays `pending` with its intent; the
next run finds it in the snapshot (events by their key property, tasks by their linked resource)
and adopts it instead of writing again. Events carry a transactionId derived from the key, so a
retried create is refused by Graph rather than duplicated.

Loss safety (before anything is written, after the day's backup of the state): a state that
knows no items while the mailboxes hold iepsched items was lost or replaced — the run stops
unless told to recover (restore the newest backup, or rebuild from the mailboxes); a mailbox
whose items all vanished at once was wiped or replaced — the run stops unless told to accept
the loss (the items are then created again). A mailbox Graph refuses (403/404) is skipped with a
warning and its students protected; the rest of the district is synced (exit 1; `refusals`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..core.bookings import StateInputs, state_inputs
from ..core.errors import ExitCode, GraphThrottled, GraphTransportError
from ..core.items import cycle_ids, deliverable, desired_items, early_tasks
from ..core.model import DistrictPlan, ItemState
from ..core.reconcile import (
    CANCELLED,
    DELETED,
    LIVE,
    PENDING,
    Scope,
    is_move,
    observe,
    reconcile,
    took_place,
)
from ..core.recovery import found_count, mass_losses, missing_checklists, to_recreate
from ..core.remote import (
    Action,
    DesiredItem,
    Remote,
    RemoteEvent,
    RemoteTask,
    Result,
    Snapshot,
)
from ..state.store import StateStore
from .district import District
from .losses import (
    adopt_orphans,
    loss_message,
    lost_message,
    mailboxes,
    recover,
    with_found_cycles,
)
from .placing import leaving_slots, plan_with_free_busy
from .refusals import all_refused, students_of, warn_refused, writable

log = logging.getLogger(__name__)
Wrap = Callable[[Iterable[Result], int], Iterable[Result]]

_SAVE_EVERY = 100  # results confirmed per state transaction
_DONE = {"create": "created", "update": "updated", "cancel": "cancelled", "delete": "deleted"}


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """How one run behaves."""

    today: dt.date
    now: dt.datetime  # aware; recorded in state and used to tell past meetings from future ones
    dry_run: bool = False
    force_cancel: bool = False
    rebook: frozenset[str] = frozenset()
    max_cancellations: int = 10
    recover: bool = False  # the state was lost: restore the newest backup / adopt the mailboxes
    accept_loss: bool = False  # a mailbox lost its items on purpose: create them again
    # Re-read and re-apply what a dropped answer left uncertain; each pass re-reads only the
    # mailboxes concerned, and a whole dropped $batch leaves 20 items uncertain at once.
    max_passes: int = 8


@dataclass
class SyncReport:
    """What a run decided and did."""

    actions: list[Action] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    exit_code: ExitCode = ExitCode.OK
    safety_stop: bool = False
    plan: DistrictPlan | None = None


def run_sync(
    district: District,
    store: StateStore,
    remote: Remote,
    options: SyncOptions,
    *,
    progress: Wrap | None = None,
) -> SyncReport:
    """One sync run. The caller holds the state lock and records the run.

    `progress` wraps the stream of results (with the number of actions), e.g. to draw a bar.
    """
    report = SyncReport()
    items = store.items()
    if items and not options.dry_run:
        store.backup(options.now.date())
    to_read = mailboxes(district, items)
    snapshot = remote.snapshot(sorted(to_read), _known_events(items))
    if snapshot.unread and not snapshot.mailboxes:
        # Every mailbox refused: the app's access, not one mailbox (exit 2, nothing written).
        raise all_refused(snapshot.unread)
    cycles = store.cycles()
    if not items and found_count(snapshot):
        if not options.recover:
            return _stop(report, lost_message(store, found_count(snapshot)))
        recovered = recover(district, store, remote, snapshot, dry_run=options.dry_run)
        items, snapshot = recovered.items, recovered.snapshot
        report.reports.append(recovered.note)
        report.counts[recovered.count_as] += recovered.count
        cycles = store.cycles() if store.items() else with_found_cycles(cycles, district, items)
    losses = mass_losses(items, snapshot, limit=options.max_cancellations)
    if losses and not options.accept_loss:
        return _stop(report, loss_message(losses))
    if losses:
        recreate = to_recreate(items, losses)
        if not options.dry_run:
            store.save(recreate)
        items = {**items, **{st.row_id: st for st in recreate}}
        report.reports.extend(f"{x.describe()}: creating them again" for x in losses)
    # Tasks a cut-off run created but never confirmed: adopted now, maybe without their checklist.
    unconfirmed = {st.key for st in items.values() if st.state == PENDING and st.kind == "task"}
    items = _observe(store, remote, items, snapshot, options, report)

    inputs = state_inputs(
        district.students,
        items,
        cycles,
        store.contacts(),
        today=options.today,
        tz=district.ctx.tz,
        requests=store.meeting_requests(),
    )
    if not options.dry_run and inputs.cycle_rows:
        store.save_cycles(inputs.cycle_rows)
    unread = dict(snapshot.unread)
    # The meetings this run will cancel free their slots for tonight's placements.
    refused_now = frozenset(s for ids in students_of(district, items, unread).values() for s in ids)
    leaving = leaving_slots(
        district,
        items,
        _exited(district, items, _protected(district, items, refused_now)),
        options.now,
    )
    plan = plan_with_free_busy(district, inputs, remote, options.today, unread, leaving)
    report.plan = plan
    for p in plan.plans:
        report.reports.extend(
            f"{p.student_id}: {w}" for w in p.warnings if w.code == "free_busy_unknown"
        )
        for warning in p.warnings:
            if p.meeting is None or p.status != "on_track":
                log.info("%s: %s", p.student_id, warning)

    desired = desired_items(plan.plans, district.delivery_options())
    items = adopt_orphans(store, items, desired, snapshot, dry_run=options.dry_run)
    lacking = missing_checklists(unconfirmed, desired, snapshot)
    if lacking and not options.dry_run:
        remote.add_checklist_items(lacking)
    items = _rehome(store, items, desired, options, report)
    refused_students, refusals = warn_refused(district, items, unread)
    report.failures.extend(refusals)
    scope = _scope(district, plan, inputs, items, options, refused_students)
    report.reports.extend(_missing_notes(district, items))
    actions = writable(reconcile(desired, items, scope, now=options.now), unread)
    report.actions = actions
    removals = [a for a in actions if a.op in ("cancel", "delete") and not is_move(a)]
    if len(removals) > options.max_cancellations and not options.force_cancel:
        report.safety_stop = True
        report.exit_code = ExitCode.SAFETY
        report.failures.append(
            f"this run would cancel or delete {len(removals)} items, more than "
            f"[safety] max_cancellations = {options.max_cancellations}: nothing was written. "
            "Check the roster (a truncated export?) and run with --force-cancel if it is right."
        )
        return report
    if options.dry_run:
        report.exit_code = ExitCode.FAILURES if report.failures else ExitCode.OK
        return report

    pending = actions
    for attempt in range(options.max_passes):
        uncertain = _apply(store, remote, pending, report, progress)
        if not uncertain:
            break
        # Some writes may have landed without an answer: read those mailboxes again, adopt
        # what landed, and redo only what is still missing.
        again_mailboxes = sorted({a.mailbox for a in uncertain})
        log.info(
            "re-reading %d mailboxes after %d unconfirmed writes",
            len(again_mailboxes),
            len(uncertain),
        )
        items = store.items()
        snapshot = remote.snapshot(again_mailboxes, _known_events(items))
        unread.update(snapshot.unread)
        items = _observe(store, remote, items, snapshot, options, report, quiet=True)
        keys = {a.key for a in uncertain}
        wanted = [d for d in desired if d.key in keys]
        items = adopt_orphans(store, items, wanted, snapshot, dry_run=options.dry_run)
        again = {row: st for row, st in items.items() if st.key in keys}
        redo = [a for a in reconcile(wanted, again, scope, now=options.now) if a.key in keys]
        pending = writable(redo, unread)
        refused = [a for a in redo if a not in pending]
        report.failures.extend(f"{a.key}: mailbox {a.mailbox} refused" for a in refused)
        if not pending:
            break
        if attempt == options.max_passes - 1:
            report.failures.extend(f"{a.key}: not confirmed after retries" for a in pending)
    # Unconfirmed and transient failures were retried above (what is still open after the last
    # pass is already reported); what remains are refusals that will not go away by themselves.
    failed = [r for r in report.results if not r.ok and not r.uncertain and not _transient(r)]
    report.failures.extend(f"{r.action.op} {r.action.key}: {r.error}" for r in failed)
    report.exit_code = ExitCode.FAILURES if report.failures else ExitCode.OK
    return report


def _stop(report: SyncReport, message: str) -> SyncReport:
    report.safety_stop = True
    report.exit_code = ExitCode.SAFETY
    report.failures.append(message)
    return report


def _transient(result: Result) -> bool:
    """A failure that a later attempt in the same run may not meet."""
    error = result.error
    return isinstance(error, GraphThrottled | GraphTransportError) or (
        error is not None and error.status in (429, 500, 502, 503, 504)
    )


def _known_events(items: Mapping[str, ItemState]) -> dict[str, str]:
    """Event id -> mailbox of the events the state holds as delivered (read by id if unlisted)."""
    return {
        st.remote_id: st.mailbox
        for st in items.values()
        if st.remote_id and st.kind in ("event", "calendar_item") and st.state in (LIVE, PENDING)
    }


def _observe(
    store: StateStore,
    remote: Remote,
    items: dict[str, ItemState],
    snapshot: Snapshot,
    options: SyncOptions,
    report: SyncReport,
    *,
    quiet: bool = False,
) -> dict[str, ItemState]:
    hidden = _hidden(items, snapshot)
    obs = observe(items, replace(snapshot, mailboxes=snapshot.mailboxes - hidden), now=options.now)
    for mailbox in sorted(hidden):
        # Read alone, a mailbox shows its own copy of every key.
        known = {i: m for i, m in _known_events(items).items() if m == mailbox}
        own = observe(items, remote.snapshot([mailbox], known), now=options.now)
        obs.updates.extend(own.updates)
        obs.contacts.extend(own.contacts)
        obs.reports.extend(own.reports)
        for what, n in own.counts.items():
            obs.counts[what] = obs.counts.get(what, 0) + n
    if not quiet:
        report.reports.extend(obs.reports)
        report.counts.update(obs.counts)
    else:
        # A re-read after unconfirmed writes sees the same declines again: count them once.
        report.counts.update({k: n for k, n in obs.counts.items() if k != "declined"})
    if obs.updates and not options.dry_run:
        store.save(obs.updates)
    if not options.dry_run:
        for contact, ref in obs.contacts:
            if not store.log_contact(contact, source_ref=ref):
                # Already logged (taken back from the journal after a lost state): not news.
                report.counts["contacts_logged"] -= 1
        if report.counts["contacts_logged"] <= 0:
            report.counts.pop("contacts_logged", None)
    merged = dict(items)
    merged.update((u.row_id, u) for u in obs.updates)
    return merged


def _hidden(items: Mapping[str, ItemState], snapshot: Snapshot) -> set[str]:
    """Mailboxes whose own copy of an item the snapshot may hide behind another mailbox's copy.

    A snapshot reports one copy per key; during a hand-over (until the old copy is removed, e.g.
    after a run killed half-way) the same key lives in two mailboxes, and taking the old copy
    for the new one would adopt its id, then remove it: a row live in the state, missing in
    Microsoft 365.
    """
    out: set[str] = set()
    for st in items.values():
        if st.moving_from is not None or st.state not in (LIVE, PENDING):
            continue
        if st.mailbox not in snapshot.mailboxes:
            continue
        found: RemoteEvent | RemoteTask | None = (
            snapshot.events.get(st.key)
            if st.kind in ("event", "calendar_item")
            else snapshot.tasks.get(st.key)
        )
        if found is not None and found.mailbox != st.mailbox:
            out.add(st.mailbox)
    return out


def _rehome(
    store: StateStore,
    items: dict[str, ItemState],
    desired: Iterable[DesiredItem],
    options: SyncOptions,
    report: SyncReport,
) -> dict[str, ItemState]:
    """A student handed to another case manager: their items live in the old mailbox, and an
    event's organizer cannot change. Each live item is created again in the new mailbox (a new
    invitation for a meeting) and removed from the old one; the old copy becomes a row of its
    own (`moving_from` set) so both writes are tracked. Completed tasks and held meetings stay
    where they were."""
    moved: list[ItemState] = []
    students: set[str] = set()
    for d in desired:
        st = items.get(d.key)
        if st is None or st.state != LIVE or not st.remote_id or st.mailbox == d.mailbox:
            continue
        if d.held or took_place(st, options.now):
            # A meeting that took place is history: it stays in the calendar it happened in (its
            # old copy, being in the past, would never be cancelled: the team would see two).
            # Earlier today counts: the plan calls a meeting of today not yet held.
            continue
        moved.append(replace(st, moving_from=st.mailbox))
        moved.append(replace(st, state=DELETED, remote_id=None, list_id=None, change_key=None))
        students.add(d.student_id)
    for sid in sorted(students):
        report.reports.append(
            f"{sid}: the case manager changed; the meeting and open tasks move to the new "
            "case manager's calendar and To Do (the team gets a new invitation)."
        )
    if moved and not options.dry_run:
        store.save(moved)
    merged = dict(items)
    merged.update((m.row_id, m) for m in moved)
    return merged


def _scope(
    district: District,
    plan: DistrictPlan,
    inputs: StateInputs,
    items: Mapping[str, ItemState],
    options: SyncOptions,
    refused: frozenset[str] = frozenset(),
) -> Scope:
    horizon = district.config.delivery.booking_horizon_days
    active, current = _in_use(plan, horizon)
    unplaced = {p.student_id for p in plan.plans if p.meeting is None}
    protected = _protected(district, items, refused) | unplaced
    return Scope(
        active=active,
        exited=_exited(district, items, protected),
        protected=frozenset(protected),
        current_cycles=current,
        rebook=options.rebook,
    )


def _protected(
    district: District, items: Mapping[str, ItemState], refused: frozenset[str]
) -> set[str]:
    """Students nothing is removed for: skipped rows, students without a calendar, students
    missing from the roster (unless `[safety] missing_students = "exit"`), refused mailboxes'."""
    protected = set(district.roster.skipped_ids | district.unplannable | refused)
    if district.config.safety.missing_students != "exit":
        protected |= _missing(district, items)
    return protected


def _exited(
    district: District, items: Mapping[str, ItemState], protected: Iterable[str]
) -> frozenset[str]:
    """The students whose future items this run removes: exited in the roster, or missing from
    it under `[safety] missing_students = "exit"`; never a protected one."""
    exited = {s.student_id for s in district.roster.students if s.status == "exited"}
    if district.config.safety.missing_students == "exit":
        exited |= _missing(district, items)
    return frozenset(exited.difference(protected))


def _in_use(plan: DistrictPlan, horizon: int) -> tuple[frozenset[str], frozenset[str]]:
    """The students with a cycle delivered now, and those cycles as "student/cycle_id": every
    open cycle of SPEC §3.6 that is delivered is cleaned of unwanted items as the annual one
    always was; a cycle closed or not delivered now keeps its items as they are. The annual
    plan's reevaluation id is in use when it carries the reevaluation's tasks (no separate
    reevaluation meeting)."""
    active: set[str] = set()
    current: set[str] = set()
    for p in plan.plans:
        sid = p.student_id
        separate = any(o.cycle_type == "reevaluation" and o.combined_with is None for o in p.others)
        for o in p.cycles:
            if o.combined_with is not None:
                continue
            if not deliverable(o, horizon) and (o is p or not early_tasks(o, horizon)):
                continue
            active.add(sid)
            own, reeval = cycle_ids(o)
            current.add(f"{sid}/{own}")
            if reeval and not (o.cycle_type == "annual" and separate):
                current.add(f"{sid}/{reeval}")
    return frozenset(active), frozenset(current)


def _missing(district: District, items: Mapping[str, ItemState]) -> set[str]:
    """Students with delivered items who are neither in the roster nor on a skipped row."""
    in_roster = {s.student_id for s in district.roster.students}
    return {st.student_id for st in items.values()} - in_roster - district.roster.skipped_ids


def _missing_notes(district: District, items: Mapping[str, ItemState]) -> list[str]:
    """One line a night per student who left the roster: nobody disappears silently."""
    if district.config.safety.missing_students == "exit":
        what = 'handled as exited ([safety] missing_students = "exit")'
    else:
        what = (
            "their Outlook and To Do items are kept. If the student left, mark them "
            'status=exited in the roster (or set [safety] missing_students = "exit"); if '
            "the export lost them, fix the export"
        )
    delivered = {st.student_id for st in items.values() if st.state in (LIVE, PENDING)}
    return [
        f"{sid}: no longer in the roster; {what}."
        for sid in sorted(_missing(district, items) & delivered)
    ]


def _intent(action: Action, existing: ItemState | None) -> ItemState:
    item = action.item
    if action.op == "create" and item is not None:
        return ItemState(
            key=item.key,
            student_id=item.student_id,
            cycle_id=item.cycle_id,
            milestone=item.milestone,
            kind=item.kind,
            mailbox=item.mailbox,
            state=PENDING,
            hash=item.hash,
            field_hashes=item.field_hashes,
            start=item.start,
            end=item.end,
            # Re-creating a meeting a person had moved (e.g. in a new case manager's calendar)
            # keeps it theirs, so the planner will not move it back.
            moved=bool(existing and existing.moved and existing.start == item.start),
        )
    assert existing is not None
    return existing


def _confirmed(result: Result, existing: ItemState | None) -> ItemState | None:
    action, item = result.action, result.action.item
    if action.op in ("create", "update") and item is not None:
        base = existing or _intent(action, None)
        return replace(
            base,
            state=LIVE,
            intent=None,
            remote_id=result.remote_id or base.remote_id,
            list_id=result.list_id or base.list_id,
            change_key=result.change_key or base.change_key,
            hash=item.hash,
            field_hashes=item.field_hashes,
            start=item.start if item.kind == "event" else base.start,
            end=item.end if item.kind == "event" else base.end,
            mailbox=item.mailbox,
        )
    if existing is None:
        return None
    return replace(existing, state=CANCELLED if action.op == "cancel" else DELETED, intent=None)


def _apply(
    store: StateStore,
    remote: Remote,
    actions: Sequence[Action],
    report: SyncReport,
    progress: Wrap | None,
) -> list[Action]:
    """Apply actions; returns those whose outcome is uncertain (to re-read and retry)."""
    if not actions:
        return []
    known = store.items()
    intents = [(_intent(a, known.get(a.row_id)), a.op) for a in actions]
    store.record_intents(intents)
    # Creates replaced their rows with the pending ones; other rows only gained an intent.
    known.update((st.row_id, st) for st, op in intents if op == "create")
    uncertain: list[Action] = []
    confirmed: list[ItemState] = []
    results: Iterable[Result] = remote.apply(actions)
    if progress is not None:
        results = progress(results, len(actions))
    for result in results:
        report.results.append(result)
        action = result.action
        if result.ok:
            report.counts[_DONE[action.op]] += 1
            state = _confirmed(result, known.get(action.row_id))
            if state is not None:
                confirmed.append(state)
        elif result.uncertain or _transient(result):
            # Unanswered, or refused for now (throttled, 5xx): re-read the mailbox, then redo
            # only what is still missing or stale — never a blind second write.
            uncertain.append(action)
            report.counts["uncertain" if result.uncertain else "retried"] += 1
        else:
            report.counts["failed"] += 1
            log.warning("%s %s failed: %s", action.op, action.kind, result.error)
        if len(confirmed) >= _SAVE_EVERY:
            store.save(confirmed)
            confirmed = []
    if confirmed:
        store.save(confirmed)
    return uncertain

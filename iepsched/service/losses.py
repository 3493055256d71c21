"""A lost state and lost mailboxes, for the sync engine (SPEC §5 "Safety").

What the run says when it stops (`lost_message`, `loss_message`), how a lost state is recovered
(`recover`: the newest backup put back, or the mailboxes' items adopted), and how items Graph
holds but the state does not know are adopted without being written again (`adopt_orphans`).
The decisions themselves are pure (`core.recovery`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..core.model import Cycle, ItemState
from ..core.reconcile import CANCELLED, DELETED, LIVE, PENDING
from ..core.recovery import MassLoss, as_written, created_since, found_cycles, found_items
from ..core.remote import DesiredItem, Remote, Snapshot
from ..state.store import StateStore
from .district import District


@dataclass(frozen=True, slots=True)
class Recovered:
    """The state after a recovery, the snapshot to go on with, and what to report."""

    items: dict[str, ItemState]
    snapshot: Snapshot
    note: str
    count_as: str
    count: int


def mailboxes(district: District, items: Mapping[str, ItemState]) -> set[str]:
    found = {s.case_manager_email for s in district.students if s.status == "active"}
    found.update(st.mailbox for st in items.values() if st.state in (LIVE, PENDING))
    return found


def lost_message(store: StateStore, found: int) -> str:
    backup = store.newest_backup()
    how = (
        f"`iepsched sync --recover` restores the newest backup ({backup}), takes back the "
        "contacts logged since from the legal-log journal and adopts what the mailboxes hold"
        if backup is not None
        else "no backup of the state exists; `iepsched sync --recover` rebuilds the state from "
        "the mailboxes (nothing is written again) and the contacts come back from the journal"
    )
    return (
        f"the state file holds no items but the mailboxes hold {found} iepsched items: the state "
        f"was lost or replaced ({store.path}). Nothing was written. {how}. If another "
        "installation syncs these mailboxes, do not: two state files must never sync the same "
        "mailboxes."
    )


def loss_message(losses: Sequence[MassLoss]) -> str:
    seen = "; ".join(loss.describe() for loss in losses)
    return (
        f"iepsched items vanished from a mailbox at once ({seen}): a wiped or replaced mailbox "
        "or another tenant, not people deleting them one by one. Nothing was recorded or "
        "written. Check the mailbox; if it was wiped or replaced, `iepsched sync --accept-loss` "
        "creates its items again."
    )


def recover(
    district: District,
    store: StateStore,
    remote: Remote,
    snapshot: Snapshot,
    *,
    dry_run: bool,
) -> Recovered:
    """A lost state: the newest backup put back (its items keep their hashes, their removals
    by people, their moves), or — without one, or in a dry run — the items found in the
    mailboxes adopted. What the mailboxes hold that the backup lacks, or holds as removed by
    iepsched, was created since: adopted as found (`created_since`), before the plan is made."""
    backup = store.newest_backup()
    if backup is not None and not dry_run:
        store.restore(backup)
        items = store.items()
        restored = len(items)
        wanted = mailboxes(district, items)
        if not wanted <= snapshot.mailboxes:
            snapshot = remote.snapshot(sorted(wanted | snapshot.mailboxes))
        students = (s.student_id for s in district.students)
        newer = created_since(items, found_items(snapshot, students), snapshot)
        if newer:
            store.save(newer)
            items = store.items()
        note = (
            f"the state was restored from {backup} ({restored} items"
            + (f", {len(newer)} created since adopted" if newer else "")
            + f"); {store.journal_check.restored} contacts taken back from the journal."
        )
        return Recovered(items, snapshot, note, "restored", restored)
    found = found_items(snapshot, (s.student_id for s in district.students))
    if not dry_run:
        store.save(found)
        store.save_cycles(found_cycles(found, district.students))
    note = (
        f"the state was rebuilt from the mailboxes: {len(found)} iepsched items adopted"
        + (f" (a real run restores {backup} instead)" if backup is not None else "")
        + "."
    )
    items = {st.row_id: st for st in found}
    return Recovered(items, snapshot, note, "adopted_after_loss", len(found))


def with_found_cycles(
    cycles: dict[tuple[str, str], list[Cycle]], district: District, items: Mapping[str, ItemState]
) -> dict[tuple[str, str], list[Cycle]]:
    """The stored cycles plus those of items adopted in a dry run (not saved)."""
    merged = {k: list(v) for k, v in cycles.items()}
    for c in found_cycles(items.values(), district.students):
        merged.setdefault((c.student_id, c.track), []).append(c)
    return merged


def adopt_orphans(
    store: StateStore,
    items: dict[str, ItemState],
    desired: Iterable[DesiredItem],
    snapshot: Snapshot,
    *,
    dry_run: bool,
) -> dict[str, ItemState]:
    """Items Graph holds that the state doesn't know (state restored from a backup, or lost):
    adopt them instead of creating duplicates, taken as holding what iepsched would write now
    (`as_written`), so adopting sends nothing identical again. Rows adopted from the mailboxes
    without hashes get theirs the same way.

    A row the restored state holds as removed by iepsched (deleted, cancelled) whose key the
    mailboxes hold again was created after the backup (wanted again): adopted too, or the
    plan would create it a second time."""
    adopted: list[ItemState] = []
    for d in desired:
        st = items.get(d.key)
        event = snapshot.events.get(d.key)
        task = snapshot.tasks.get(d.key)
        if st is not None and st.state in (CANCELLED, DELETED):
            if event is not None and event.is_cancelled:
                continue  # still the one iepsched cancelled
        elif st is not None:
            if st.state == LIVE and st.hash is None and st.remote_id:
                adopted.append(as_written(st, d))
            continue
        if event is None and task is None:
            continue
        found = ItemState(
            key=d.key,
            student_id=d.student_id,
            cycle_id=d.cycle_id,
            milestone=d.milestone,
            kind=d.kind,
            mailbox=event.mailbox if event else task.mailbox if task else d.mailbox,
            state=LIVE,
            remote_id=event.remote_id if event else task.remote_id if task else None,
            list_id=task.list_id if task else None,
            start=event.start if event else None,
            end=event.end if event else None,
        )
        adopted.append(as_written(found, d))
    if adopted and not dry_run:
        store.save(adopted)
    merged = dict(items)
    merged.update((a.row_id, a) for a in adopted)
    return merged

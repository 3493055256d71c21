"""Checklist items of a new To Do task, the documented way (graph-facts §8).

Microsoft's create-todoTask page does not show inline ``checklistItems``; it documents
``POST /users/{id}/todo/lists/{list}/tasks/{task}/checklistItems`` (todotask-post-checklistitems).
So a task is created first and its checklist items follow in the next batch (a JSON batch cannot
use one request's answer in another's URL, so ``dependsOn`` would not help). A checklist POST is
not safe to repeat: when an answer is lost, the task's checklist is read back
(``GET .../checklistItems``, checklistitem-list) and only the names still missing are added.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..core.errors import GraphError
from .graph import GraphClient
from .graphwire import MAX_BATCH_ITEMS, BatchRequest
from .graphwrite import seg

__all__ = ["ChecklistJob", "add_checklists", "checklist_names"]

log = logging.getLogger(__name__)
MAX_RETRIES = 3  # rounds in a row without progress before a checklist is left incomplete


@dataclass(frozen=True, slots=True)
class ChecklistJob:
    """The checklist a just-created task should get."""

    mailbox: str
    list_id: str
    task_id: str
    names: tuple[str, ...]

    @property
    def url(self) -> str:
        return (
            f"/users/{seg(self.mailbox)}/todo/lists/{seg(self.list_id)}"
            f"/tasks/{seg(self.task_id)}/checklistItems"
        )


def add_checklists(client: GraphClient, jobs: Mapping[str, ChecklistJob]) -> dict[str, GraphError]:
    """POST each job's checklist items (batched); the error of each job left incomplete."""
    # Per job: the names still to POST, or None when the checklist must be read back first.
    todo: dict[str, tuple[str, ...] | None] = {j: job.names for j, job in jobs.items() if job.names}
    errors: dict[str, GraphError] = {}
    # One item per task per round, so each task's items keep their order (To Do shows them in
    # creation order); the tasks of a round share envelopes, which `_round` keeps full.
    # Each round either adds an item or learns what landed; faults only delay that. A checklist
    # is given up (logged) after MAX_RETRIES rounds in a row that moved nothing forward, and
    # in any case after four rounds per item.
    longest = max((len(names) for names in todo.values() if names), default=0)
    total = sum(len(names) for names in todo.values() if names)
    stalled = 0
    # Deferring a round's remainder (below) adds at most one round per envelope sent.
    for _ in range(4 * longest + MAX_RETRIES + 4 * total // MAX_BATCH_ITEMS + 1):
        moved = _read_back(client, jobs, todo, errors)
        posts = _round(todo)
        if not posts:
            if not todo:
                break
            stalled = 0 if moved else stalled + 1
            if stalled > MAX_RETRIES:
                break
            continue
        requests = [
            BatchRequest(j, "POST", jobs[j].url, {"displayName": names[0]}, mailbox=jobs[j].mailbox)
            for j, names in posts.items()
        ]
        answers = client.batch(requests)
        for j, names in posts.items():
            answer = answers[j]
            if isinstance(answer, GraphError):
                errors[j] = answer
                todo[j] = None  # it may have landed: look before posting again
            elif names[1:]:
                todo[j], moved = names[1:], moved + 1
            else:
                del todo[j]
                moved += 1
        stalled = 0 if moved else stalled + 1
        if stalled > MAX_RETRIES:
            break
    if todo:
        log.warning("%d To Do checklists are incomplete after %d retries", len(todo), MAX_RETRIES)
    return {j: errors.get(j) or GraphError("checklist incomplete") for j in todo}


def _round(todo: Mapping[str, tuple[str, ...] | None]) -> dict[str, tuple[str, ...]]:
    """The tasks whose next item is POSTed this round: whole envelopes' worth when more are
    pending, the tasks with most items left first (they set how many rounds remain). The rest
    wait a round with their item, to share an envelope with the next round's items instead of
    going out in a nearly empty one (each round's tail was one such envelope)."""
    ready = [(j, names) for j, names in todo.items() if names]
    if len(ready) <= MAX_BATCH_ITEMS:
        return dict(ready)
    ready.sort(key=lambda entry: -len(entry[1]))  # stable: ties keep the caller's order
    return dict(ready[: len(ready) - len(ready) % MAX_BATCH_ITEMS])


def _read_back(
    client: GraphClient,
    jobs: Mapping[str, ChecklistJob],
    todo: dict[str, tuple[str, ...] | None],
    errors: dict[str, GraphError],
) -> int:
    """For each job whose POSTs did not all answer: the names not on the task yet. Returns how
    many checklists were read back."""
    unsure = [j for j, names in todo.items() if names is None]
    if not unsure:
        return 0
    read = 0
    reads = [BatchRequest(j, "GET", jobs[j].url, mailbox=jobs[j].mailbox) for j in unsure]
    answers = client.batch(reads)
    for j in unsure:
        answer = answers[j]
        if isinstance(answer, GraphError):
            errors[j] = answer
            continue  # still unknown: read again next round, never post blind
        read += 1
        body = answer.body if isinstance(answer.body, Mapping) else {}
        have = {
            str(item.get("displayName"))
            for item in body.get("value") or []
            if isinstance(item, Mapping)
        }
        missing = tuple(name for name in jobs[j].names if name not in have)
        if missing:
            todo[j] = missing
        else:
            del todo[j]
    return read


def checklist_names(extra: Mapping[str, object]) -> tuple[str, ...]:
    """The checklist item names a desired task's create_extra asks for."""
    items = extra.get("checklistItems")
    if not isinstance(items, Sequence):
        return ()
    return tuple(
        str(item["displayName"])
        for item in items
        if isinstance(item, Mapping) and isinstance(item.get("displayName"), str)
    )

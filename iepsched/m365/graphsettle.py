"""Finding what a write left behind: ids by key for unconfirmed items, duplicate creates settled.

`GraphRemote` calls these when an action comes without a remote id (its create was never
confirmed) and when Graph refuses an event create as a duplicate (``ErrorDuplicateTransactionId``).
Events are found by key with the documented id-and-value filter
(``singleValueExtendedProperties/Any(ep: ep/id eq '{key property}' and ep/value eq '{key}')``);
tasks by reading their list.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from ..core.errors import GraphConflict, GraphError, GraphNotFound
from ..core.items import transaction_id
from ..core.remote import Action, RemoteEvent, RemoteTask, Result
from .graph import GraphClient
from .graphread import event_from_graph, pick_event, pick_task, result_from_answer, task_from_graph
from .graphwire import BatchRequest
from .graphwrite import (
    EVENT_KINDS,
    MAX_GENERATIONS,
    TASK_KINDS,
    event_by_key_url,
    event_url,
    failed,
    graph_times,
    seg,
    tasks_url,
)

__all__ = ["events_by_id", "lookup_events", "resolve_missing_ids", "settle_conflicts"]

log = logging.getLogger(__name__)


def resolve_missing_ids(
    client: GraphClient,
    mailbox: str,
    chunk: list[Action],
    list_id: str | GraphError | None,
    *,
    page_size: int,
) -> dict[int, str | GraphError | None]:
    """Remote ids, looked up by key, for non-create actions that came without one (an item
    whose create was never confirmed): None where nothing carries the key, or the error that
    prevented the lookup."""
    missing = [i for i, a in enumerate(chunk) if a.op != "create" and a.remote_id is None]
    found: dict[int, str | GraphError | None] = {}
    event_ix = {i: chunk[i].key for i in missing if chunk[i].kind in EVENT_KINDS}
    if event_ix:
        for i, hit in lookup_events(client, mailbox, event_ix).items():
            found[i] = hit.remote_id if isinstance(hit, RemoteEvent) else hit
    task_ix = [i for i in missing if chunk[i].kind in TASK_KINDS]
    if task_ix:
        lists = {lid for i in task_ix if (lid := chunk[i].list_id)}
        if isinstance(list_id, str):
            lists.add(list_id)
        by_key: dict[str, RemoteTask] = {}
        try:
            for lid in sorted(lists):
                url = tasks_url(mailbox, lid, page_size=page_size)
                for obj in client.paginate(url, mailbox=mailbox):
                    task = task_from_graph(obj, mailbox, lid)
                    if task is not None:
                        by_key[task.key] = pick_task(by_key.get(task.key), task)
        except GraphError as exc:
            found.update(dict.fromkeys(task_ix, exc))
        else:
            for i in task_ix:
                task_hit = by_key.get(chunk[i].key)
                found[i] = task_hit.remote_id if task_hit else None
    return found


def events_by_id(client: GraphClient, mailbox: str, ids: Sequence[str]) -> list[RemoteEvent]:
    """The events with these ids that still exist (batched GETs, ≤ 20 per envelope; 404 means
    gone). Any other error raises: the mailbox could not be read."""
    requests = [
        BatchRequest(str(n), "GET", event_url(mailbox, event_id), mailbox=mailbox)
        for n, event_id in enumerate(ids)
    ]
    answers = client.batch(requests)
    found: list[RemoteEvent] = []
    for req in requests:
        answer = answers[req.id]
        if isinstance(answer, GraphNotFound):
            continue
        if isinstance(answer, GraphError):
            raise answer
        body = answer.body if isinstance(answer.body, Mapping) else {}
        event = event_from_graph(body, mailbox)
        if event is not None:
            found.append(event)
    return found


def lookup_events(
    client: GraphClient, mailbox: str, keys: Mapping[int, str]
) -> dict[int, RemoteEvent | GraphError | None]:
    """Find events by key (one batched GET each); None where no event carries the key."""
    requests = [
        BatchRequest(str(i), "GET", event_by_key_url(mailbox, key), mailbox=mailbox)
        for i, key in keys.items()
    ]
    answers = client.batch(requests)
    out: dict[int, RemoteEvent | GraphError | None] = {}
    for i, key in keys.items():
        answer = answers[str(i)]
        if isinstance(answer, GraphError):
            out[i] = answer
            continue
        body = answer.body if isinstance(answer.body, Mapping) else {}
        best: RemoteEvent | None = None
        for obj in body.get("value") or []:
            event = event_from_graph(obj, mailbox) if isinstance(obj, Mapping) else None
            # Graph compares property values case-insensitively; keys are exact.
            if event is not None and event.key == key:
                best = pick_event(best, event)
        out[i] = best
    return out


def settle_conflicts(
    client: GraphClient, mailbox: str, conflicted: Mapping[int, Action]
) -> dict[int, Result]:
    """Event creates refused as duplicates: adopt the existing event, or create it again under
    the next transaction-id generation when no event carries the key any more."""
    done: dict[int, Result] = {}
    generation = dict.fromkeys(conflicted, 0)
    pending = dict(conflicted)
    while pending:
        log.debug("%d event creates already used their transactionId; looking up", len(pending))
        found = lookup_events(client, mailbox, {i: a.key for i, a in pending.items()})
        retry: dict[int, Action] = {}
        for i, action in pending.items():
            hit = found[i]
            if isinstance(hit, GraphError):
                done[i] = failed(action, hit)
            elif hit is not None and not hit.is_cancelled:
                done[i] = Result(
                    action, ok=True, remote_id=hit.remote_id, change_key=hit.change_key
                )
            elif generation[i] >= MAX_GENERATIONS:
                done[i] = failed(
                    action,
                    GraphConflict(
                        f"event create refused as a duplicate {MAX_GENERATIONS + 1} times, "
                        "yet no event carries its key",
                        code="ErrorDuplicateTransactionId",
                    ),
                )
            else:
                generation[i] += 1
                retry[i] = action
        if not retry:
            break
        requests = []
        for i, action in retry.items():
            assert action.item is not None
            body = graph_times(
                {
                    **action.item.fields,
                    **action.item.create_extra,
                    "transactionId": transaction_id(action.key, generation[i]),
                }
            )
            requests.append(
                BatchRequest(str(i), "POST", f"/users/{seg(mailbox)}/events", body, idempotent=True)
            )
        answers = client.batch(requests)
        pending = {}
        for i, action in retry.items():
            answer = answers[str(i)]
            if isinstance(answer, GraphConflict):
                pending[i] = action
            else:
                done[i] = result_from_answer(action, answer, None, None)
    return done

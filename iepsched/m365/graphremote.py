"""`Remote` over Microsoft Graph: reads as paged GETs, writes as JSON batches (SPEC §5).

Everything goes through one `GraphClient` (headers, retries, throttling, per-mailbox concurrency
live there). Only request forms Microsoft documents are sent (SPEC §5): events are listed with
the id-and-value filter on the installation property, events the state knows but the listing
misses are read by their immutable id (404: gone), and a mailbox holding another installation's
events or tasks stops the snapshot (`ownership.ForeignInstallation`). This module knows which
URLs iepsched reads and writes, and what an answer means for the sync engine:

* an event create carries a ``transactionId`` derived from its key, so it is marked safe to retry;
  ``ErrorDuplicateTransactionId`` means "already created": the event is looked up by its key
  property and adopted, or — when a person deleted it and it is wanted again — created once more
  under the next transaction-id generation;
* a To Do task create has no such guard: when its answer is lost the result is *uncertain* and the
  sync engine re-reads before deciding (a blind re-POST would duplicate it); its checklist items
  follow as separate documented POSTs (`checklists`), also for a task whose answer was lost;
* removing something that is already gone (404 on cancel/delete) is success.

Reading Graph JSON into remote values is `graphread`; the requests for each write are
`graphwrite`; lookups by key and duplicate creates are `graphsettle`; the To Do list is
`todolists`. `MemoryRemote` reads its items with its own code, so the contract tests compare two
independent readings. The read/write names are re-exported here for callers of the adapter.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..core.errors import (
    GraphAuthError,
    GraphConflict,
    GraphError,
)
from ..core.items import DEFAULT_INSTALLATION
from ..core.model import Interval
from ..core.remote import (
    Action,
    RemoteEvent,
    RemoteTask,
    Result,
    Snapshot,
    refused,
)
from .checklists import ChecklistJob, add_checklists, checklist_names
from .graph import GraphClient
from .graphread import (
    busy_from_schedule,
    event_from_graph,
    event_owner,
    parse_date,
    parse_datetime,
    pick_event,
    pick_task,
    resolve_zone,
    result_from_answer,
    task_from_graph,
    task_owner,
)
from .graphsettle import events_by_id, resolve_missing_ids, settle_conflicts
from .graphwire import MAX_BATCH_ITEMS, BatchRequest
from .graphwrite import (
    CANCEL_COMMENT,
    EVENT_KINDS,
    MAX_GENERATIONS,
    TASK_KINDS,
    events_url,
    foreign_events_url,
    key_filter,
    odata_string,
    query_string,
    request_for,
    schedule_requests,
    tasks_url,
)
from .ownership import ForeignInstallation
from .todolists import TodoLists

__all__ = [
    "CANCEL_COMMENT",
    "MAX_GENERATIONS",
    "GraphRemote",
    "event_from_graph",
    "key_filter",
    "odata_string",
    "parse_date",
    "parse_datetime",
    "pick_event",
    "pick_task",
    "query_string",
    "resolve_zone",
    "task_from_graph",
]

log = logging.getLogger(__name__)
_POOL_SLICE = 200  # pooled remainder actions per client batch (results stream per slice)


# ---------------------------------------------------------------------------------------------
# GraphRemote


@dataclass
class _Read:
    """What one mailbox holds (or why it could not be read)."""

    mailbox: str
    events: dict[str, RemoteEvent]
    tasks: dict[str, RemoteTask]
    list_id: str | None


class GraphRemote:
    """The `Remote` port over Microsoft Graph (see the module docstring for the write rules).

    `timezone` is the district's IANA zone: free/busy windows are sent in it. Times Graph returns
    are read in whatever zone they are labelled with (the client asks for the district's zone).
    A mailbox Graph refuses (403/404) is left out of `Snapshot.mailboxes` and named in
    `Snapshot.unread`; with `skip_unreadable_mailboxes`, so is one that cannot be read for a
    reason other than authorization (logged) instead of failing the read.
    """

    def __init__(
        self,
        client: GraphClient,
        *,
        timezone: str,
        todo_list_name: str = "IEP deadlines",
        page_size: int = 100,
        skip_unreadable_mailboxes: bool = False,
        installation: str = DEFAULT_INSTALLATION,
    ) -> None:
        zone = resolve_zone(timezone)
        if zone is None:
            raise ValueError(f"unknown time zone {timezone!r}")
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.client = client
        self.timezone = timezone
        self._zone = zone
        self.page_size = page_size
        self.installation = installation
        self.skip_unreadable_mailboxes = skip_unreadable_mailboxes
        self.unread: dict[str, GraphError] = {}  # mailboxes the last snapshot skipped, and why
        self._lists = TodoLists(client, todo_list_name)

    # -- reads -----------------------------------------------------------------------------------

    @property
    def duplicate_lists(self) -> Mapping[str, tuple[str, ...]]:
        """Mailboxes seen holding more than one list named `todo_list_name` (their ids)."""
        return dict(self._lists.duplicates)

    @property
    def todo_list_name(self) -> str:
        """The name of the To Do list iepsched keeps its tasks in."""
        return self._lists.name

    def snapshot(
        self, mailboxes: Iterable[str], known: Mapping[str, str] | None = None
    ) -> Snapshot:
        """Read every iepsched event and task in these mailboxes, mailboxes in parallel.

        Per mailbox: ceil(events / page_size) pages of this installation's events (at least one;
        the documented id-and-value filter on the installation property), one probe for another
        installation's events, the To Do lists (one page unless the mailbox has very many
        lists), and ceil(tasks / page_size) task pages of the iepsched list — completed tasks
        included — (none when the list does not exist). A `known` event (id -> mailbox, from the
        state) the listing did not return is read by its id, batched: 404 means it is gone.
        """
        boxes = list(dict.fromkeys(mailboxes))
        by_box: dict[str, list[str]] = {}
        for event_id, mailbox in (known or {}).items():
            by_box.setdefault(mailbox.lower(), []).append(event_id)
        self.unread = {}
        reads: dict[str, _Read] = {}
        if boxes:
            workers = max(1, min(len(boxes), self.client.max_workers))
            with ThreadPoolExecutor(workers, thread_name_prefix="graph-snapshot") as pool:
                futures = {
                    mb: pool.submit(self._read_mailbox, mb, by_box.get(mb.lower(), []))
                    for mb in boxes
                }
                try:
                    for mb in boxes:
                        try:
                            reads[mb] = futures[mb].result()
                        except GraphError as exc:
                            if refused(exc):
                                # One mailbox Graph refuses never stops a district (SPEC §5).
                                log.warning("mailbox %s refused: %s", mb, exc.code or exc.status)
                                self.unread[mb] = exc
                                continue
                            if isinstance(exc, GraphAuthError):
                                raise
                            if not self.skip_unreadable_mailboxes:
                                raise type(exc)(
                                    f"could not read mailbox {mb}: {exc}",
                                    status=exc.status,
                                    code=exc.code,
                                    request_id=exc.request_id,
                                    retry_after=exc.retry_after,
                                ) from exc
                            log.warning("skipping mailbox %s this run: %s", mb, exc)
                            self.unread[mb] = exc
                finally:
                    for fut in futures.values():
                        fut.cancel()
        events: dict[str, RemoteEvent] = {}
        tasks: dict[str, RemoteTask] = {}
        lists: dict[str, str] = {}
        for mb in boxes:
            read = reads.get(mb)
            if read is None:
                continue
            for key, event in read.events.items():
                events[key] = pick_event(events.get(key), event)
            for key, task in read.tasks.items():
                tasks[key] = pick_task(tasks.get(key), task)
            if read.list_id is not None:
                lists[mb] = read.list_id
            self._lists.saw(mb, read.list_id)
        return Snapshot(
            events=events,
            tasks=tasks,
            lists=lists,
            mailboxes=frozenset(m for m in reads),
            unread=dict(self.unread),
        )

    def _read_mailbox(self, mailbox: str, known: Sequence[str]) -> _Read:
        ours = self.installation
        events: dict[str, RemoteEvent] = {}
        url = events_url(mailbox, ours, page_size=self.page_size)
        listed: set[str] = set()
        for obj in self.client.paginate(url, mailbox=mailbox):
            event = event_from_graph(obj, mailbox)
            if event is not None:
                listed.add(event.remote_id)
                events[event.key] = pick_event(events.get(event.key), event)
        # Delivered events the listing missed (written before installations were recorded):
        # read by their stored immutable id.
        for event in events_by_id(self.client, mailbox, [i for i in known if i not in listed]):
            events[event.key] = pick_event(events.get(event.key), event)
        probe = self.client.get(foreign_events_url(mailbox, ours), mailbox=mailbox)
        for obj in (probe.get("value") if isinstance(probe, Mapping) else None) or []:
            if isinstance(obj, Mapping):
                raise ForeignInstallation(mailbox, event_owner(obj) or "unknown", ours)
        list_ids = self._lists.find(mailbox)
        tasks: dict[str, RemoteTask] = {}
        held: Counter[str] = Counter()
        for list_id in list_ids:  # normally one; a second same-named list is read, not ignored
            for obj in self.client.paginate(self._tasks_url(mailbox, list_id), mailbox=mailbox):
                owner = task_owner(obj)
                if owner is not None and owner != ours:
                    raise ForeignInstallation(mailbox, owner, ours)
                task = task_from_graph(obj, mailbox, list_id)
                if task is not None:
                    held[list_id] += 1
                    tasks[task.key] = pick_task(tasks.get(task.key), task)
        log.debug("mailbox read: %d events, %d tasks", len(events), len(tasks))
        chosen = self._lists.choose(mailbox, list_ids, held) if list_ids else None
        return _Read(mailbox, events, tasks, chosen)

    def _tasks_url(self, mailbox: str, list_id: str) -> str:
        return tasks_url(mailbox, list_id, page_size=self.page_size)

    def free_busy(
        self, emails: Sequence[str], start: dt.datetime, end: dt.datetime, *, organizer: str
    ) -> dict[str, list[Interval]]:
        """Busy intervals per email: getSchedule in < 42-day windows and groups of ≤ 20, batched.

        Busy means a schedule item whose status is busy, oof or tentative. An email Graph cannot
        answer for (an `error` entry: unknown address) is left out: unknown, never free. A
        failed request raises.
        """
        wanted = list(dict.fromkeys(emails))
        out: dict[str, list[Interval]] = {email: [] for email in wanted}
        if not wanted or end <= start:
            return out
        by_lower = {email.lower(): email for email in wanted}
        requests = schedule_requests(
            wanted, start, end, organizer=organizer, zone=self._zone, timezone=self.timezone
        )
        answers = self.client.batch(requests)
        seen: dict[str, set[tuple[dt.datetime, dt.datetime]]] = {email: set() for email in wanted}
        unknown: set[str] = set()
        for req in requests:
            answer = answers[req.id]
            if isinstance(answer, GraphError):
                raise answer
            for schedule_id, s, e in busy_from_schedule(answer.body):
                email = by_lower.get(schedule_id)
                if email is None:
                    continue
                if s is None or e is None:
                    unknown.add(email)  # an `error` entry: unknown, never free
                    continue
                if (s, e) in seen[email]:
                    continue  # an item spanning two windows comes back twice
                seen[email].add((s, e))
                out[email].append(Interval(s, e))
        for intervals in out.values():
            intervals.sort(key=lambda i: (i.start, i.end))
        return {email: busy for email, busy in out.items() if email not in unknown}

    # -- writes ----------------------------------------------------------------------------------

    def apply(self, actions: Sequence[Action]) -> Iterator[Result]:
        """Carry out the actions: one result per action, streamed as each envelope answers.

        Mailboxes run in parallel (one worker each, up to the client's `max_workers`); within a
        mailbox, envelopes of ≤ 20 go one after another (the client keeps ≤ 4 requests in flight).
        """
        by_box: dict[str, list[Action]] = {}
        for action in actions:
            by_box.setdefault(action.mailbox, []).append(action)
        if not by_box:
            return
        list_ids = self._lists.for_mailboxes(
            [
                m
                for m, mine in by_box.items()
                if any(a.kind in TASK_KINDS and not a.list_id for a in mine)
            ]
        )
        # Full envelopes per mailbox; each mailbox's remainder (< 20) goes into one shared pool
        # that the client packs into envelopes spanning mailboxes (80 case managers would
        # otherwise cost 80 mostly empty requests).
        jobs: list[Callable[[], list[Result]]] = []
        pooled: list[Action] = []
        for mine in by_box.values():
            full = len(mine) - len(mine) % MAX_BATCH_ITEMS if len(by_box) > 1 else len(mine)
            for start in range(0, full, MAX_BATCH_ITEMS):
                chunk = mine[start : start + MAX_BATCH_ITEMS]
                jobs.append(functools.partial(self._apply_pooled, chunk, list_ids))
            pooled.extend(mine[full:])
        for start in range(0, len(pooled), _POOL_SLICE):
            jobs.append(
                functools.partial(self._apply_pooled, pooled[start : start + _POOL_SLICE], list_ids)
            )
        answers: queue.Queue[list[Result] | BaseException | None] = queue.Queue()
        stop = threading.Event()

        def work(job: Callable[[], list[Result]]) -> None:
            try:
                if not stop.is_set():
                    answers.put(job())
            except BaseException as exc:  # a bug: surface it in the caller's thread
                answers.put(exc)
            finally:
                answers.put(None)

        # One worker per mailbox at most: a mailbox's envelopes go one after another anyway
        # (the client holds its slots), so more workers than mailboxes would only wait.
        workers = max(1, min(len(by_box), self.client.max_workers))
        pool = ThreadPoolExecutor(workers, thread_name_prefix="graph-apply")
        try:
            for job in jobs:
                pool.submit(work, job)
            running = len(jobs)
            results: list[Result] = []
            while running:
                got = answers.get()
                if got is None:
                    running -= 1
                elif isinstance(got, BaseException):
                    raise got
                else:
                    results.extend(got)
            # The checklists of every job's new tasks at once, so their POSTs share full
            # envelopes (one job's round held only its few contact tasks). Results are handed
            # over after them: a run cut off before then leaves its creates unconfirmed, and the
            # next run adopts those tasks and adds the checklist items they lack.
            self._add_checklists(dict(enumerate(r for r in results if r.action.op == "create")))
            yield from results
        finally:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)

    def _apply_pooled(
        self, actions: list[Action], list_ids: Mapping[str, str | GraphError]
    ) -> list[Result]:
        """Writes (plus duplicate-create settling) for actions of one or many mailboxes, sent in
        one client batch (so envelopes can be shared); one result per action, in order. The
        checklists of created tasks follow in `apply`, pooled over every job."""
        by_box: dict[str, list[int]] = {}
        for i, action in enumerate(actions):
            by_box.setdefault(action.mailbox, []).append(i)
        done: dict[int, Result] = {}
        requests: dict[int, BatchRequest] = {}
        lists: dict[int, str] = {}
        known_ids: dict[int, str | GraphError | None] = {}
        for mailbox, indexes in by_box.items():
            list_id = list_ids.get(mailbox)
            mine = [actions[i] for i in indexes]
            resolved = resolve_missing_ids(
                self.client, mailbox, mine, list_id, page_size=self.page_size
            )
            for local, i in enumerate(indexes):
                if local in resolved:
                    known_ids[i] = resolved[local]
            for i in indexes:
                action = actions[i]
                target_list = action.list_id or (list_id if isinstance(list_id, str) else None)
                if action.kind in TASK_KINDS:
                    if target_list is None:
                        error = list_id if isinstance(list_id, GraphError) else None
                        error = error or GraphError("no To Do list for this task")
                        done[i] = Result(action, ok=False, error=error)
                        continue
                    lists[i] = target_list
                rid = known_ids.get(i, action.remote_id)
                if isinstance(rid, GraphError):
                    done[i] = Result(action, ok=False, error=rid)
                    continue
                outcome = request_for(str(i), action, rid, lists.get(i))
                if isinstance(outcome, Result):
                    done[i] = outcome
                else:
                    requests[i] = dataclasses.replace(outcome, mailbox=action.mailbox)
        if requests:
            answers = self.client.batch(list(requests.values()))
            conflicts: dict[str, dict[int, Action]] = {}
            for i, req in requests.items():
                action = actions[i]
                answer = answers[req.id]
                known = known_ids.get(i, action.remote_id)
                rid = known if isinstance(known, str) else None
                if (
                    isinstance(answer, GraphConflict)
                    and action.op == "create"
                    and action.kind in EVENT_KINDS
                ):
                    conflicts.setdefault(action.mailbox, {})[i] = action
                else:
                    done[i] = result_from_answer(action, answer, rid, lists.get(i))
            for mailbox, conflicted in conflicts.items():
                done.update(settle_conflicts(self.client, mailbox, conflicted))
        return [done[i] for i in range(len(actions))]

    def add_checklist_items(self, tasks: Sequence[tuple[RemoteTask, tuple[str, ...]]]) -> None:
        jobs = {
            str(i): ChecklistJob(t.mailbox, t.list_id, t.remote_id, names)
            for i, (t, names) in enumerate(tasks)
        }
        for j, error in add_checklists(self.client, jobs).items():
            log.warning("task %s: checklist incomplete: %s", tasks[int(j)][0].key, error)

    def _add_checklists(self, done: Mapping[int, Result]) -> None:
        """The checklist items of the tasks just created, in a following batch; a task whose
        checklist stays incomplete is still created (logged: its items can be added by hand).

        A create whose answer was lost stays uncertain (the sync engine re-reads and adopts the
        task, never creating it again), so the task is looked for in its list now and given the
        checklist items it lacks: otherwise a recovered contact task would have none.
        """
        jobs: dict[str, ChecklistJob] = {}
        lost: dict[tuple[str, str], dict[str, tuple[int, tuple[str, ...]]]] = {}
        for i, r in done.items():
            item = r.action.item
            if r.action.op != "create" or r.action.kind not in TASK_KINDS or item is None:
                continue
            names = checklist_names(item.create_extra)
            if names and r.ok and r.remote_id and r.list_id:
                jobs[str(i)] = ChecklistJob(r.action.mailbox, r.list_id, r.remote_id, names)
            elif names and r.uncertain:
                list_id = r.action.list_id or self._lists.known(r.action.mailbox)
                if list_id:
                    lost.setdefault((r.action.mailbox, list_id), {})[r.action.key] = (i, names)
        for (mailbox, list_id), wanted in lost.items():
            try:
                for obj in self.client.paginate(self._tasks_url(mailbox, list_id), mailbox=mailbox):
                    task = task_from_graph(obj, mailbox, list_id)
                    if task is None or task.key not in wanted:
                        continue
                    i, names = wanted.pop(task.key)
                    have = {
                        str(c.get("displayName"))
                        for c in obj.get("checklistItems") or []
                        if isinstance(c, Mapping)
                    }
                    missing = tuple(n for n in names if n not in have)
                    jobs[str(i)] = ChecklistJob(mailbox, list_id, task.remote_id, missing)
            except GraphError as exc:
                log.warning("could not look for tasks whose create answer was lost: %s", exc)
        for j, error in add_checklists(self.client, jobs).items():
            log.warning("task %s: checklist incomplete: %s", done[int(j)].action.key, error)

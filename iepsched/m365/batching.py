"""Microsoft Graph JSON batching and the per-mailbox concurrency limit.

`BatchRun` packs requests into ``$batch`` envelopes (≤ 20 items), one mailbox per envelope, and
runs mailboxes concurrently; items throttled inside a 200 envelope are retried after their own
``Retry-After`` (SDKs do not do this; see graph-facts §4). `MailboxLimiter` keeps at most four
requests in flight per mailbox, for plain requests and envelopes alike. The HTTP itself (headers,
timeouts, envelope retries, typed errors) stays in `graph.GraphClient._send`.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from iepsched.core.errors import GraphError, GraphThrottled, GraphTransportError

from .graphwire import (
    IDEMPOTENT_METHODS,
    MAX_BATCH_ITEMS,
    OUTCOME_UNKNOWN_STATUSES,
    THROTTLE_STATUSES,
    BatchRequest,
    GraphResponse,
    error_from_response,
    header_value,
    mailbox_of,
    merged_headers,
    parse_retry_after,
    redact_url,
)

if TYPE_CHECKING:
    from .graph import GraphClient

__all__ = ["BatchRun", "MailboxLimiter"]

log = logging.getLogger(__name__)


class MailboxLimiter:
    """At most `limit` requests in flight per mailbox (Outlook allows four per app and mailbox).

    A ``$batch`` envelope for one mailbox takes ``min(items, limit)`` slots, because Graph fans up
    to four unordered items of a batch out to Outlook at once — so with the default limit of 4 one
    envelope occupies the whole mailbox, as Microsoft recommends. An envelope that spans mailboxes
    takes slots in each one it touches. The empty mailbox ("" — e.g. /places) is not limited.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._cond = threading.Condition()
        self._in_use: dict[str, int] = {}

    def acquire(self, slots: Mapping[str, int]) -> dict[str, int]:
        """Take slots in every mailbox a request touches, all at once or not at all (so there
        is no lock order to get wrong); returns what was taken, for `release`."""
        wanted = {m: max(1, min(w, self.limit)) for m, w in slots.items() if m}
        with self._cond:
            while any(self._in_use.get(m, 0) + w > self.limit for m, w in wanted.items()):
                self._cond.wait()
            for m, w in wanted.items():
                self._in_use[m] = self._in_use.get(m, 0) + w
        return wanted

    def release(self, held: Mapping[str, int]) -> None:
        if not held:
            return
        with self._cond:
            for mailbox, weight in held.items():
                left = self._in_use.get(mailbox, 0) - weight
                if left > 0:
                    self._in_use[mailbox] = left
                else:
                    self._in_use.pop(mailbox, None)
            self._cond.notify_all()


@dataclass
class Pending:
    """A batch item on its way; `attempts` counts how often it was sent."""

    request: BatchRequest
    idempotent: bool
    attempts: int = 0


class BatchRun:
    """One `GraphClient.batch` call: envelopes, per-item outcomes, item-level retries.

    It sends through the client's one HTTP function (`GraphClient._send`), so every envelope gets
    the client's headers, timeouts, envelope-level retries and mailbox slots.
    """

    def __init__(self, client: GraphClient) -> None:
        self.client = client

    def run(self, requests: Sequence[BatchRequest]) -> dict[str, GraphResponse | GraphError]:
        """Run many requests through ``$batch``; return a result or a typed error per id.

        Never raises for a single item's failure. Envelopes hold ≤ 20 items of one mailbox;
        mailboxes run concurrently on up to `max_workers` threads, each mailbox's envelopes one
        after another (Graph fans a batch's items out to Outlook four at a time, so one envelope
        already uses a mailbox's concurrency); envelopes shared by several mailboxes run
        concurrently too. Items throttled inside an envelope are re-sent in a later envelope of
        the same job after their ``Retry-After``.
        """
        ids = [r.id for r in requests]
        if len(set(ids)) != len(ids):
            raise ValueError("batch request ids must be unique")
        groups: dict[str, list[Pending]] = {}
        for r in requests:
            key = (r.mailbox or mailbox_of(r.url)).lower()
            idem = (
                r.idempotent if r.idempotent is not None else r.method.upper() in IDEMPOTENT_METHODS
            )
            groups.setdefault(key, []).append(Pending(r, idem))
        results: dict[str, GraphResponse | GraphError] = {}
        results_lock = threading.Lock()
        before = self.client.stats

        # Each mailbox's last, partly filled envelope is pooled with the others' and sent in
        # envelopes that span mailboxes: eighty mailboxes would otherwise cost eighty mostly
        # empty requests. Full envelopes stay per mailbox (Graph's advice for concurrency).
        mixed: list[Pending] = []
        if len(groups) > 1:
            for mailbox, items in list(groups.items()):
                rest = len(items) % MAX_BATCH_ITEMS
                if rest:
                    mixed.extend(items[-rest:])
                    groups[mailbox] = items[:-rest]
            groups = {m: items for m, items in groups.items() if items}

        def run(mailbox: str, items: list[Pending]) -> None:
            for rid, outcome in self._run_mailbox(mailbox, items):
                with results_lock:
                    results[rid] = outcome

        jobs: list[Callable[[], None]] = [
            functools.partial(run, m, items) for m, items in groups.items()
        ]
        # Each shared envelope is its own job: run one after another, a round of 500 pooled
        # items waited out every throttled item's Retry-After in turn (the limiter still keeps
        # each mailbox at four). Items of one call are unordered, as within an envelope.
        for start in range(0, len(mixed), MAX_BATCH_ITEMS):
            jobs.append(functools.partial(run, "", mixed[start : start + MAX_BATCH_ITEMS]))
        if len(jobs) == 1:
            jobs[0]()
        elif jobs:
            with ThreadPoolExecutor(
                max_workers=min(self.client.max_workers, len(jobs)),
                thread_name_prefix="graph-batch",
            ) as pool:
                futures = [pool.submit(job) for job in jobs]
                for fut in futures:
                    fut.result()  # re-raise bugs; Graph failures are already per-item results

        after = self.client.stats
        throttled = after.throttled - before.throttled
        if throttled:
            failed = sum(isinstance(v, GraphThrottled) for v in results.values())
            log.info(
                "Graph batch: %d items in %d envelopes; %d throttled answers, %d retries, "
                "%.1fs waited, %d items still throttled",
                len(requests),
                after.batches - before.batches,
                throttled,
                after.retries - before.retries,
                after.sleep_seconds - before.sleep_seconds,
                failed,
            )
        return {rid: results[rid] for rid in ids}

    def _run_mailbox(
        self, mailbox: str, items: list[Pending]
    ) -> Iterator[tuple[str, GraphResponse | GraphError]]:
        """Send items envelope by envelope; retried items go first in the next one.

        `mailbox` "" means the items belong to several mailboxes (the pooled remainders): each
        envelope then takes slots in every mailbox it touches.
        """
        queue: deque[Pending] = deque(items)
        while queue:
            chunk = [queue.popleft() for _ in range(min(MAX_BATCH_ITEMS, len(queue)))]
            weights: dict[str, int] | None = None
            if not mailbox:
                weights = {}
                for pending in chunk:
                    key = (pending.request.mailbox or mailbox_of(pending.request.url)).lower()
                    weights[key] = weights.get(key, 0) + 1
            retry: list[Pending] = []
            wait = 0.0
            for pending, outcome in self._send_envelope(mailbox, chunk, weights):
                if isinstance(outcome, float):
                    retry.append(pending)
                    wait = max(wait, outcome)
                else:
                    yield pending.request.id, outcome
            if retry:
                self.client._counters.add("retries", len(retry))
                queue.extendleft(reversed(retry))
                # Retry-After from an item speaks for the mailbox: sending the next envelope
                # before it elapses would only be throttled again.
                self.client._pause(wait)

    def _send_envelope(
        self, mailbox: str, chunk: list[Pending], weights: Mapping[str, int] | None = None
    ) -> Iterator[tuple[Pending, GraphResponse | GraphError | float]]:
        """One ``$batch`` call. Yields each item with its result, or with a delay to retry it."""
        by_id: dict[str, Pending] = {}
        wire: list[dict[str, Any]] = []
        for n, pending in enumerate(chunk, start=1):
            pending.attempts += 1
            local_id = str(n)  # our own ids: unique, short, and free of caller data
            by_id[local_id] = pending
            wire.append(self._wire_item(local_id, pending.request))
        all_idempotent = all(p.idempotent for p in chunk)
        self.client._counters.add("batches")
        self.client._counters.add("batch_items", len(chunk))
        try:
            response = self.client._send(
                "POST",
                "/$batch",
                params=None,
                json_body={"requests": wire},
                headers=None,
                idempotent=all_idempotent,
                slots=weights or {mailbox: len(chunk)},
            )
        except GraphError as exc:
            # The envelope failed as a whole. When its fate is unknown, items that are safe to
            # repeat go round again while they have attempts left (send() already retried the
            # envelope when *every* item was safe); every other item reports the failure.
            unknown = isinstance(exc, GraphTransportError)
            for pending in chunk:
                if (
                    unknown
                    and not all_idempotent
                    and pending.idempotent
                    and pending.attempts < self.client.max_attempts
                ):
                    yield pending, self.client._backoff(pending.attempts)
                else:
                    yield pending, for_item(exc, pending.request)
            return

        answers = response.body.get("responses") if isinstance(response.body, dict) else None
        seen: set[str] = set()
        for answer in answers if isinstance(answers, list) else []:
            if not isinstance(answer, dict):
                continue
            local_id = str(answer.get("id", ""))
            found = by_id.get(local_id)
            if found is None or local_id in seen:
                continue
            seen.add(local_id)
            yield found, self._item_outcome(found, answer, response.headers)
        for local_id, pending in by_id.items():
            if local_id not in seen:
                # Graph answered the envelope but not this item: treat like a dropped request.
                req = pending.request
                err = GraphTransportError(
                    f"{req.method.upper()} {redact_url(req.url)}: no answer for this item in the "
                    "$batch response; it may or may not have been applied"
                )
                if pending.idempotent and pending.attempts < self.client.max_attempts:
                    yield pending, self.client._backoff(pending.attempts)
                else:
                    yield pending, err

    def _wire_item(self, local_id: str, req: BatchRequest) -> dict[str, Any]:
        headers = merged_headers({"Prefer": self.client._prefer()}, req.headers)
        item: dict[str, Any] = {
            "id": local_id,
            "method": req.method.upper(),
            "url": self._batch_url(req.url),
        }
        if req.body is not None:
            # Graph rejects an item with a body but no Content-Type header.
            if header_value(headers, "Content-Type") is None:
                headers["Content-Type"] = "application/json"
            item["body"] = req.body
        item["headers"] = headers
        return item

    def _batch_url(self, url: str) -> str:
        rel = self.client._relative(url)
        if rel.startswith(("http://", "https://")):
            raise ValueError("batch item URLs must be relative to the Graph version root")
        return rel if rel.startswith("/") else "/" + rel

    def _item_outcome(
        self, pending: Pending, answer: dict[str, Any], envelope_headers: Mapping[str, str]
    ) -> GraphResponse | GraphError | float:
        from requests.structures import CaseInsensitiveDict

        req = pending.request
        try:
            status = int(answer.get("status", 0))
        except (TypeError, ValueError):
            status = 0
        raw_headers = answer.get("headers")
        headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(
            {str(k): str(v) for k, v in raw_headers.items()}
            if isinstance(raw_headers, dict)
            else {}
        )
        body = answer.get("body")
        if 200 <= status < 400:
            return GraphResponse(status, headers, body)
        if status in THROTTLE_STATUSES:
            self.client._counters.add("throttled")
        retry_after = parse_retry_after(
            header_value(headers, "Retry-After"),
            date_header=header_value(envelope_headers, "Date"),
            now=self.client._clock(),
        )
        retriable = status == 429 or (status in OUTCOME_UNKNOWN_STATUSES and pending.idempotent)
        if retriable:
            if retry_after is not None and retry_after > self.client.max_retry_after:
                return self.client._too_long(
                    req.method, req.url, status, body, headers, retry_after
                )
            if pending.attempts < self.client.max_attempts:
                delay = (
                    retry_after
                    if retry_after is not None
                    else self.client._backoff(pending.attempts)
                )
                log.debug(
                    "%s %s in $batch -> %d; retrying in %.3fs",
                    req.method.upper(),
                    redact_url(req.url),
                    status,
                    delay,
                )
                return delay
        elif status in OUTCOME_UNKNOWN_STATUSES:
            return self.client._unknown_outcome(req.method, req.url, status, body, headers)
        return error_from_response(
            req.method, req.url, status, body, headers, retry_after=retry_after
        )


def for_item(exc: GraphError, req: BatchRequest) -> GraphError:
    """The envelope's error, re-issued under the item's own (redacted) method and URL."""
    return type(exc)(
        f"{req.method.upper()} {redact_url(req.url)} (in $batch): {exc}",
        status=exc.status,
        code=exc.code,
        request_id=exc.request_id,
        retry_after=exc.retry_after,
    )

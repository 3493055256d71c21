"""The life cycle of one request, or of one wave of ``$batch`` items.

1. draw a fault (seeded): 429 / 503 (and a 504 "before") are answered at once; a drop or a
   504 "after" is remembered (inside ``$batch`` items draw status faults only: the envelope's
   drop is drawn by :mod:`batch`);
2. admission: the mailbox's 10-minute rate window, then a concurrency slot (else 429);
3. latency sleep while holding the slot (so concurrent callers really overlap);
4. the resource handler runs under the store lock;
5. a "drop" closes the connection without an answer, before step 4 or after it; a 504 "after"
   replaces the answer of an applied request (Graph's gateway gave up waiting, the mailbox did
   not).
"""

from __future__ import annotations

from collections.abc import Callable

from .api import GraphApi, is_write, mailbox_of
from .httpd import Drop
from .messages import ItemRequest, Reply
from .reqlog import RequestLog
from .throttle import Gate


class Pipeline:
    """Runs items through faults, admission, latency and the resource layer, and counts them."""

    def __init__(
        self,
        gate: Gate,
        api: GraphApi,
        sleep: Callable[[], None],
        log: RequestLog | None = None,
    ) -> None:
        """`sleep` waits the sandbox's current latency (it can change at runtime); `log`, when
        given, records every item with its answer."""
        self.gate = gate
        self.api = api
        self.sleep = sleep
        self.log = log

    def run(
        self, items: list[ItemRequest], *, first_wave: bool, in_batch: bool = False
    ) -> list[Reply]:
        """Admit, delay, execute one wave of items; raises Drop for a drop-before fault.

        A drop-after fault is applied first and then flagged (``Reply.drop_after``); the caller
        closes the connection once the whole request (or batch) has run.
        """
        gate, stats = self.gate, self.gate.stats
        replies: list[Reply | None] = [None] * len(items)
        faults: list[str | None] = [None] * len(items)
        held: list[str] = []
        mailboxes = [mailbox_of(item.url) for item in items]
        try:
            for i in range(len(items)):
                fault = gate.draw_fault("item" if in_batch else "request")
                faults[i] = fault
                if fault in ("429", "503", "504_before"):
                    kind = fault.removesuffix("_before")
                    stats.fault(kind)
                    replies[i] = fault_reply(kind, gate.retry_after())
                    continue
                box = mailboxes[i]
                if box is None:
                    continue
                refused = gate.admit(box)
                if refused is not None:
                    replies[i] = Reply(
                        429,
                        {"error": {"code": refused.code, "message": refused.message}},
                        {"Retry-After": refused.retry_after},
                    )
                    continue
                held.append(box)
            if first_wave:
                self.sleep()
            for i, item in enumerate(items):
                if replies[i] is not None:
                    continue
                if faults[i] == "drop_before":
                    stats.fault("drop")
                    self._count(items, mailboxes, replies, in_batch)
                    raise Drop()
                reply = self.api.handle(item)
                if faults[i] == "drop_after":
                    stats.fault("drop")
                    if reply.wrote:
                        stats.fault("drop_after_write")
                    reply.drop_after = True
                if faults[i] == "504_after":
                    stats.fault("504")
                    if reply.wrote:
                        stats.fault("504_after_write")
                    wrote = reply.wrote
                    reply = fault_reply("504", gate.retry_after())
                    reply.wrote = wrote
                replies[i] = reply
        finally:
            for box in held:
                gate.release(box)
        self._count(items, mailboxes, replies, in_batch)
        return [r for r in replies if r is not None]

    def _count(
        self,
        items: list[ItemRequest],
        mailboxes: list[str | None],
        replies: list[Reply | None],
        in_batch: bool,
    ) -> None:
        for item, box, reply in zip(items, mailboxes, replies, strict=True):
            if self.log is not None:
                self.log.add(
                    item.method,
                    item.url,
                    item.headers,
                    item.body,
                    status=reply.status if reply is not None else None,
                    answer=reply.body if reply is not None else None,
                    in_batch=in_batch,
                )
            self.gate.stats.item(
                box,
                status=reply.status if reply is not None else None,
                wrote=bool(reply and reply.wrote),
                read=bool(reply and reply.read),
                write_request=is_write(item.method, item.url),
            )


def fault_reply(kind: str, retry_after: str) -> Reply:
    """Graph's answer to an injected 429, 503 or 504 fault.

    A 504 carries no Retry-After and the body Graph was seen to send with it: code
    ``UnknownError`` and an empty message (microsoft-graph-docs issues #2505, #5288).
    """
    if kind == "504":
        return Reply(504, {"error": {"code": "UnknownError", "message": ""}})
    if kind == "429":
        return Reply(
            429,
            {
                "error": {
                    "code": "TooManyRequests",
                    "message": "Please retry again later.",
                    "innerError": {"code": "429", "message": "Please retry after", "status": "429"},
                }
            },
            {"Retry-After": retry_after},
        )
    return Reply(
        503,
        {
            "error": {
                "code": "ServiceUnavailable",
                "message": "The service is temporarily unavailable.",
            }
        },
        {"Retry-After": retry_after},
    )

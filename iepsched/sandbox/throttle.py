"""Outlook's service protection as the sandbox applies it, seeded faults, and request statistics.

* Mailbox concurrency: at most N requests in flight per mailbox (Graph's limit is 4); one more
  gets ``429 ApplicationThrottled`` "Application is over its MailboxConcurrency limit.".
* Mailbox rate: at most N requests per mailbox in a sliding 10-minute window (Graph: 10,000);
  throttled attempts count too, as Microsoft warns they do.
* Faults: with probability `rate` a request draws one of 429, 503, 504 or a dropped connection
  (before the request is applied, or after a write was applied; a 504 may come either way too).
  Only what Graph itself sends: status answers for an item, a drop for a whole connection.
  Inside ``$batch`` a drop is drawn once for the envelope (a connection carries the envelope, not
  its items) and the items draw only status faults — drawing drops per item would turn a 30%
  fault rate into ~90% of 20-item envelopes lost (issue 8 item 12).

Bookkeeping happens under a small lock of its own, never the store lock and never while sleeping.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

FAULT_KINDS = ("429", "503", "drop")  # the default mix
ALL_FAULT_KINDS = ("429", "503", "504", "drop")
STATUS_FAULTS = ("429", "503", "504")  # answered with a status (per request or batch item)
WINDOW_S = 600.0
LONG_RETRY_SHARE = 0.1  # with retry_after_max: how often a Retry-After asks for a long wait


@dataclass(frozen=True)
class Throttled:
    """Why a request was refused with 429, and when to come back."""

    code: str
    message: str
    retry_after: str


class Gate:
    """Per-mailbox concurrency slots, rate windows, fault draws and statistics."""

    def __init__(
        self,
        *,
        concurrency: int,
        rate_per_10min: int,
        seed: int,
        fault_rate: float,
        fault_kinds: Iterable[str] = FAULT_KINDS,
        max_retry_after: float = 1.0,
        retry_after_max: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._clock = clock
        self.concurrency = concurrency
        self.rate_per_10min = rate_per_10min
        self.max_retry_after = max_retry_after
        if retry_after_max is not None and retry_after_max < max_retry_after:
            raise ValueError("retry_after_max must be >= max_retry_after")
        self.retry_after_max = retry_after_max
        self._active: dict[str, int] = {}
        self._windows: dict[str, deque[float]] = {}
        self.fault_rate = 0.0
        self.fault_kinds: tuple[str, ...] = FAULT_KINDS
        self.set_faults(fault_rate, fault_kinds)
        self.stats = Stats()

    # --- configuration -------------------------------------------------------------------------

    def set_faults(self, rate: float, kinds: Iterable[str] = FAULT_KINDS) -> None:
        """Change the fault probability and the kinds drawn from."""
        chosen = tuple(kinds)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be within [0, 1], got {rate}")
        unknown = set(chosen) - set(ALL_FAULT_KINDS)
        if unknown or not chosen:
            raise ValueError(f"fault kinds must be a non-empty subset of {ALL_FAULT_KINDS}")
        with self._lock:
            self.fault_rate = rate
            self.fault_kinds = chosen

    # --- draws ---------------------------------------------------------------------------------

    def retry_after(self) -> str:
        """A Retry-After value: usually fractional ("0.25", "0.8"), as Graph's often are
        (graph-facts §5: "2.128", "0.249"); with `retry_after_max`, about one in ten is a long
        wait between `max_retry_after` and it, whole seconds or not ("10", "17.5")."""
        with self._lock:
            if self.retry_after_max is not None and self._rng.random() < LONG_RETRY_SHARE:
                value = self._rng.uniform(self.max_retry_after, self.retry_after_max)
                digits = self._rng.choice((0, 1, 3))
            else:
                value = self._rng.uniform(0.05, max(0.05, self.max_retry_after))
                digits = self._rng.choice((1, 2, 3))
        text = f"{value:.{digits}f}"
        if "." in text:  # "0.250" -> "0.25"; "10" keeps its zero
            text = text.rstrip("0").rstrip(".")
        return text if text not in ("", "0") else "0.1"

    def draw_fault(self, scope: str = "request") -> str | None:
        """None, "429", "503", "504_before", "504_after", "drop_before" or "drop_after".

        `scope` "request" (a plain HTTP request) may draw any kind; "item" (a ``$batch`` item)
        only the status kinds and "envelope" (a ``$batch`` envelope) only a drop. The draw is the
        same in each scope, so a kind keeps its share of `rate` wherever it lands.
        """
        with self._lock:
            if self.fault_rate <= 0 or self._rng.random() >= self.fault_rate:
                return None
            kind = self._rng.choice(self.fault_kinds)
            if (scope == "item" and kind == "drop") or (scope == "envelope" and kind != "drop"):
                return None
            if kind in ("drop", "504"):
                kind = self._rng.choice((f"{kind}_before", f"{kind}_after"))
            return kind

    def shuffle(self, items: list[Any]) -> None:
        """Shuffle in place with the seeded generator (batch execution and answer order)."""
        with self._lock:
            self._rng.shuffle(items)

    # --- admission -----------------------------------------------------------------------------

    def admit(self, mailbox: str) -> Throttled | None:
        """Take a concurrency slot for `mailbox`, or say why not (the caller answers 429)."""
        now = self._clock()
        with self._lock:
            window = self._windows.setdefault(mailbox, deque())
            while window and window[0] <= now - WINDOW_S:
                window.popleft()
            window.append(now)
            if len(window) > self.rate_per_10min:
                wait = window[-self.rate_per_10min - 1] + WINDOW_S - now
                return Throttled(
                    "ApplicationThrottled",
                    f"Application is over its request rate limit for this mailbox "
                    f"({self.rate_per_10min} requests per 10 minutes).",
                    f"{max(wait, 0.01):.2f}",
                )
            active = self._active.get(mailbox, 0)
            if active >= self.concurrency:
                throttled = True
            else:
                throttled = False
                self._active[mailbox] = active + 1
                self.stats.saw_concurrency(mailbox, active + 1)
        if throttled:
            return Throttled(
                "ApplicationThrottled",
                "Application is over its MailboxConcurrency limit.",
                self.retry_after(),
            )
        return None

    def release(self, mailbox: str) -> None:
        """Give back a slot taken by :meth:`admit`."""
        with self._lock:
            left = self._active.get(mailbox, 0) - 1
            if left > 0:
                self._active[mailbox] = left
            else:
                self._active.pop(mailbox, None)


class Stats:
    """Counters behind ``GET /_sandbox/stats`` (own lock; cheap to update from any thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self.http_requests = 0
            self.token_requests = 0
            self.reads = 0
            self.writes = 0
            self.write_requests = 0
            self.throttled = 0
            self.unauthorized = 0
            self.faults: dict[str, int] = {
                "429": 0,
                "503": 0,
                "504": 0,
                "drop": 0,
                "drop_after_write": 0,
                "504_after_write": 0,
            }
            self.batches = 0
            self.batch_items = 0
            self.statuses: dict[str, int] = {}
            self.by_mailbox: dict[str, dict[str, int]] = {}

    def _box(self, mailbox: str) -> dict[str, int]:
        return self.by_mailbox.setdefault(
            mailbox, {"requests": 0, "writes": 0, "throttled": 0, "max_concurrency_seen": 0}
        )

    def add(self, name: str, amount: int = 1) -> None:
        """Increase a top-level counter."""
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def fault(self, kind: str) -> None:
        """Count one injected fault ("429", "503", "504", "drop", "drop_after_write")."""
        with self._lock:
            self.faults[kind] = self.faults.get(kind, 0) + 1

    def item(
        self,
        mailbox: str | None,
        *,
        status: int | None,
        wrote: bool,
        read: bool,
        write_request: bool,
    ) -> None:
        """Count one Graph request or batch item and its outcome (status None: dropped)."""
        with self._lock:
            if status is not None:
                key = str(status)
                self.statuses[key] = self.statuses.get(key, 0) + 1
            if status == 429:
                self.throttled += 1
            self.writes += int(wrote)
            self.reads += int(read)
            self.write_requests += int(write_request)
            if mailbox is not None:
                box = self._box(mailbox)
                box["requests"] += 1
                box["writes"] += int(wrote)
                box["throttled"] += int(status == 429)

    def saw_concurrency(self, mailbox: str, level: int) -> None:
        """Remember the highest concurrency a mailbox reached."""
        with self._lock:
            box = self._box(mailbox)
            box["max_concurrency_seen"] = max(box["max_concurrency_seen"], level)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of every counter."""
        with self._lock:
            return {
                "http_requests": self.http_requests,
                "token_requests": self.token_requests,
                "reads": self.reads,
                "writes": self.writes,
                "write_requests": self.write_requests,
                "throttled": self.throttled,
                "unauthorized": self.unauthorized,
                "faults": dict(self.faults),
                "batches": self.batches,
                "batch_items": self.batch_items,
                "statuses": dict(self.statuses),
                "by_mailbox": {k: dict(v) for k, v in self.by_mailbox.items()},
            }

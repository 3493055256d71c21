"""One request in, one reply out: what the resource layer and the traffic layer exchange.

An HTTP request and each item of a ``$batch`` become the same :class:`ItemRequest`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ItemRequest:
    """A request as the resource layer sees it (HTTP and batch items alike)."""

    method: str
    url: str  # path and query relative to /v1.0, e.g. "/users/a@b.org/events?$top=5"
    headers: Mapping[str, str]  # keys lower-cased
    body: bytes = b""
    # The application roles of the caller's token (a batch item has its envelope's); None means
    # not checked (the resource layer called directly).
    roles: frozenset[str] | None = None


@dataclass
class Reply:
    """A response: status, JSON body (or None) and headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    wrote: bool = False  # data changed (counts as a write in the stats)
    read: bool = False
    drop_after: bool = False  # a fault: applied, but the connection is to close unanswered

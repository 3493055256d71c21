"""The sandbox's request log: what a client sent, item by item, for checking request forms.

Off by default (``GraphSandbox(record=True)`` turns it on). Every request that reaches the Graph
routes is logged once per attempt — a plain HTTP request, the ``$batch`` envelope and each of its
items — with its decoded path and query, the headers that change Graph's behaviour, the JSON body
and the answer's status and error code. Tokens are never logged.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

# Headers that change what Graph does with a request (Authorization is deliberately absent).
HEADERS_OF_INTEREST = ("prefer", "content-type", "if-match", "consistencylevel")


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the sandbox received it, and how it was answered."""

    method: str
    path: str  # decoded, relative to /v1.0, e.g. "/users/cm@d.org/events/AAMk..."
    query: Mapping[str, str]  # decoded query options, e.g. {"$top": "50"}
    headers: Mapping[str, str]  # lower-cased names, HEADERS_OF_INTEREST only
    body: Any  # the JSON body (None when there was none or it was not JSON)
    status: int | None  # None: the connection was dropped before an answer (injected fault)
    error: str | None = None  # the error code of a 4xx/5xx answer
    in_batch: bool = False  # an item of a $batch (the envelope itself is logged with False)

    @property
    def refused(self) -> bool:
        """Graph would have refused the form (a 4xx other than not-found/conflict/throttling)."""
        return self.status is not None and self.status in (400, 405, 406, 415, 422)


@dataclass
class RequestLog:
    """A thread-safe append-only list of :class:`LoggedRequest`."""

    _items: list[LoggedRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        status: int | None,
        answer: Any = None,
        in_batch: bool = False,
    ) -> None:
        """Log one request; `url` is relative to /v1.0 (path and query)."""
        split = urlsplit(url if url.startswith("/") else "/" + url)
        lowered = {k.lower(): v for k, v in headers.items()}
        entry = LoggedRequest(
            method=method.upper(),
            path=unquote(split.path),
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers={k: lowered[k] for k in HEADERS_OF_INTEREST if k in lowered},
            body=_json(body),
            status=status,
            error=_error_code(answer),
            in_batch=in_batch,
        )
        with self._lock:
            self._items.append(entry)

    def items(self) -> list[LoggedRequest]:
        """A copy of everything logged so far, in arrival order."""
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        """Forget what was logged."""
        with self._lock:
            self._items.clear()


def _json(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _error_code(answer: Any) -> str | None:
    if isinstance(answer, Mapping):
        err = answer.get("error")
        if isinstance(err, Mapping) and isinstance(err.get("code"), str):
            return str(err["code"])
    return None

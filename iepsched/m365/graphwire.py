"""What travels to and from Microsoft Graph, and how iepsched reads it.

The values a `GraphClient` call takes and returns (`BatchRequest`, `GraphResponse`, `GraphStats`,
the `TokenProvider` it asks for tokens), and the pure rules for reading Graph's answers: the
``Retry-After`` header (fractional seconds or an HTTP-date), Graph's error body mapped to the
typed errors of `iepsched.core.errors` (on status and ``error.code`` only), and URLs rendered
log-safe (user ids, item ids and query values elided). No I/O here: `graph.GraphClient` sends,
`batching` packs ``$batch`` envelopes.
"""

from __future__ import annotations

import email.utils
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from iepsched.core.errors import (
    GraphAuthError,
    GraphConflict,
    GraphError,
    GraphNotFound,
    GraphThrottled,
)
from iepsched.core.settings import CLIENT_SECRET_ENV

__all__ = [
    "DEFAULT_ENDPOINT",
    "MAX_BATCH_ITEMS",
    "BatchRequest",
    "GraphResponse",
    "GraphStats",
    "TokenProvider",
    "error_from_response",
    "parse_retry_after",
    "redact_url",
]

DEFAULT_ENDPOINT = "https://graph.microsoft.com/v1.0"
MAX_BATCH_ITEMS = 20  # Graph's documented limit per $batch envelope

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
# PATCH is treated as idempotent because Graph's PATCH sets absolute property values: applying it
# twice leaves the same item (at worst attendees get one more update notice). A PATCH sent with
# If-Match that *was* applied will come back 412 on a retry; callers see GraphConflict then.

THROTTLE_STATUSES = frozenset({429, 503, 504})
OUTCOME_UNKNOWN_STATUSES = frozenset({502, 503, 504})


class TokenProvider(Protocol):
    """Where the client gets bearer tokens (see `iepsched.m365.auth`)."""

    def token(self) -> str:
        """A bearer token; cached and refreshed by the provider."""
        ...

    def invalidate(self) -> None:
        """Forget the cached token; called once after a 401, before one retry."""
        ...


@dataclass(frozen=True)
class BatchRequest:
    """One request inside a `GraphClient.batch` call.

    `url` is relative to the version root (``/users/a@b/events``). `mailbox` selects the
    per-mailbox concurrency bucket; when empty it is taken from a ``/users/{id}`` URL.
    `idempotent` marks a POST that is safe to repeat (event create with ``transactionId``);
    ``None`` means "decide by method".
    """

    id: str
    method: str
    url: str
    body: dict[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    mailbox: str = ""
    idempotent: bool | None = None


@dataclass(frozen=True)
class GraphResponse:
    """What Graph answered (also the per-item result of a batch). `body` is parsed JSON or None."""

    status: int
    headers: Mapping[str, str]
    body: Any


@dataclass(frozen=True)
class GraphStats:
    """Counters since the client was created (benchmarks and run summaries read these)."""

    requests: int = 0  # HTTP requests put on the wire, including retries and $batch envelopes
    batches: int = 0  # $batch envelopes sent
    batch_items: int = 0  # items sent inside envelopes, including re-sent items
    retries: int = 0  # requests or items sent again after a retriable failure
    throttled: int = 0  # 429/503/504 answers seen (whole requests or batch items)
    auth_retries: int = 0  # 401s answered by invalidating the token and retrying
    transport_errors: int = 0  # dropped connections / timeouts seen
    sleep_seconds: float = 0.0  # total time spent waiting before retries


class Counters:
    """Mutable, lock-protected twin of `GraphStats`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, float] = {name: 0 for name in GraphStats.__dataclass_fields__}

    def add(self, name: str, amount: float = 1) -> None:
        with self._lock:
            self._values[name] += amount

    def snapshot(self) -> GraphStats:
        with self._lock:
            v = dict(self._values)
        return GraphStats(
            requests=int(v["requests"]),
            batches=int(v["batches"]),
            batch_items=int(v["batch_items"]),
            retries=int(v["retries"]),
            throttled=int(v["throttled"]),
            auth_retries=int(v["auth_retries"]),
            transport_errors=int(v["transport_errors"]),
            sleep_seconds=v["sleep_seconds"],
        )


# ---------------------------------------------------------------------------------------------
# Reading answers


def parse_retry_after(
    value: str | None, *, date_header: str | None = None, now: float | None = None
) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, or None when absent/unparseable.

    Graph sends fractional seconds ("2.128", "0.249"); HTTP also allows an HTTP-date, which is
    measured against the response's own ``Date`` header when present (immune to local clock skew),
    else against `now` (epoch seconds).
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if math.isnan(seconds):
            return None
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    reference: float | None = None
    if date_header:
        try:
            reference = email.utils.parsedate_to_datetime(date_header).timestamp()
        except (TypeError, ValueError, IndexError):
            reference = None
    if reference is None:
        reference = time.time() if now is None else now
    return max(0.0, when.timestamp() - reference)


# Path segments of the Graph API surface iepsched uses. Anything else in a path (user principal
# names, event/task/list ids, room addresses) is replaced by *** before it reaches a log line.
_SAFE_SEGMENTS = frozenset(
    {
        "v1.0",
        "beta",
        "users",
        "me",
        "groups",
        "events",
        "calendar",
        "calendars",
        "calendarview",
        "calendargroups",
        "instances",
        "delta",
        "cancel",
        "accept",
        "decline",
        "tentativelyaccept",
        "forward",
        "getschedule",
        "findmeetingtimes",
        "extensions",
        "singlevalueextendedproperties",
        "multivalueextendedproperties",
        "attachments",
        "todo",
        "lists",
        "tasks",
        "checklistitems",
        "linkedresources",
        "places",
        "rooms",
        "roomlists",
        "mailboxsettings",
        "translateexchangeids",
        "outlook",
        "mastercategories",
        "supportedtimezones",
        "organization",
        "serviceprincipals",
        "oauth2",
        "v2.0",
        "token",
    }
)


def redact_url(url: str) -> str:
    """A log-safe rendering of a Graph URL: known path words kept, ids and query values elided.

    ``https://graph.microsoft.com/v1.0/users/cm@district.org/events?$filter=...`` becomes
    ``/v1.0/users/***/events?$filter=***``. Query *names* are kept (useful when debugging);
    their values can carry item keys that embed student ids, so they never are.
    """
    parts = urlsplit(url)
    out = []
    for segment in parts.path.split("/"):
        if not segment:
            continue
        plain = unquote(segment)
        low = plain.lower()
        known = low in _SAFE_SEGMENTS or (low.startswith("microsoft.graph.") and "(" not in low)
        if known or (low.startswith("$") and low[1:].isalpha()):
            out.append(plain)
        else:
            out.append("***")
    path = "/" + "/".join(out)
    if parts.query:
        names = [pair.split("=", 1)[0] for pair in parts.query.split("&") if pair]
        path += "?" + "&".join(f"{unquote(n)}=***" for n in names)
    return path


def mailbox_of(path: str) -> str:
    """The mailbox a path addresses (``/users/{id}/...``, ``/groups/{id}/...``, ``/me``), or "".

    Outlook's limits count per app *and mailbox*, user or group (graph-facts §5).
    """
    segments = [s for s in urlsplit(path).path.split("/") if s]
    for i, segment in enumerate(segments):
        low = segment.lower()
        if low in ("users", "groups") and i + 1 < len(segments):
            prefix = "" if low == "users" else "group:"
            return prefix + unquote(segments[i + 1]).lower()
        if low == "me":
            return "me"
    return ""


def header_value(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Case-insensitive header lookup (batch item headers arrive as a plain dict)."""
    if not headers:
        return None
    value = headers.get(name)
    if value is not None:
        return value
    low = name.lower()
    for key, val in headers.items():
        if key.lower() == low:
            return val
    return None


_AUTH_HINT_401 = (
    "Graph rejected the access token. Check that tenant_id and client_id belong to the same app "
    f"registration, that the certificate or {CLIENT_SECRET_ENV} is current, and that the "
    "authority and endpoint are in the same cloud (graph.microsoft.us needs "
    "login.microsoftonline.us)."
)
_AUTH_HINT_403 = (
    "Graph denied access. Check that the app has the application permissions it needs "
    "(Calendars.ReadWrite; Tasks.ReadWrite.All for To Do; Place.Read.All for rooms) with admin "
    "consent granted, and that Exchange RBAC for Applications or an application access policy "
    "includes this mailbox (changes can take up to 2 hours)."
)


def error_from_response(
    method: str,
    url: str,
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
    *,
    retry_after: float | None = None,
) -> GraphError:
    """The typed error for a Graph error answer (also used for batch items).

    Decisions are made on the HTTP status and Graph's ``error.code`` only — never on the message,
    which Microsoft may reword or localise.
    """
    code = ""
    message = ""
    request_id = ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        code = str(err.get("code") or "")
        message = str(err.get("message") or "")
        inner = err.get("innerError") or err.get("innererror") or {}
        if isinstance(inner, dict):
            request_id = str(inner.get("request-id") or inner.get("requestId") or "")
    if not request_id:
        request_id = (
            header_value(headers, "request-id") or header_value(headers, "client-request-id") or ""
        )
    where = f"{method.upper()} {redact_url(url)}"
    summary = f"{where}: HTTP {status}" + (f" {code}" if code else "")
    if message:
        summary += f" — {message[:300]}"
    if request_id:
        summary += f" (request-id {request_id})"
    kwargs: dict[str, Any] = {
        "status": status,
        "code": code,
        "request_id": request_id,
        "retry_after": retry_after,
    }
    if code == "ErrorDuplicateTransactionId" or status in (409, 412):
        return GraphConflict(summary, **kwargs)
    if status == 404:
        return GraphNotFound(summary, **kwargs)
    if status == 401:
        return GraphAuthError(f"{summary}. {_AUTH_HINT_401}", **kwargs)
    if status == 403:
        return GraphAuthError(f"{summary}. {_AUTH_HINT_403}", **kwargs)
    if status in THROTTLE_STATUSES:
        return GraphThrottled(f"{summary}; still throttled after retrying", **kwargs)
    return GraphError(summary, **kwargs)


def merged_headers(ours: Mapping[str, str], theirs: Mapping[str, str]) -> dict[str, str]:
    """`ours` updated with the caller's headers; a caller's Prefer (e.g. odata.maxpagesize) is
    appended to ours instead of replacing the time zone and ImmutableId preferences."""
    out = dict(ours)
    for name, value in theirs.items():
        if name.lower() == "prefer" and "Prefer" in out:
            out["Prefer"] = f"{out['Prefer']}, {value}"
        else:
            out[name] = value
    return out


def root_cause(exc: BaseException) -> BaseException:
    """The innermost `reason`/cause of a requests → urllib3 exception chain."""
    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        nxt: Any = getattr(current, "reason", None)
        if not isinstance(nxt, BaseException) and current.args:
            nxt = current.args[0] if isinstance(current.args[0], BaseException) else None
        if not isinstance(nxt, BaseException):
            nxt = current.__cause__ or current.__context__
        if not isinstance(nxt, BaseException):
            break
        current = nxt
    return current

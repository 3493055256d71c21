"""The one Microsoft Graph HTTP client (STYLE habit 6).

Every byte iepsched sends to Graph goes through `GraphClient._send`: it sets the headers Graph
needs on every call (bearer token, ``Prefer: outlook.timezone`` and ``IdType="ImmutableId"``, a
``client-request-id``), applies timeouts, honours ``Retry-After`` (fractional seconds or an
HTTP-date), retries only what is safe to retry, maps Graph's error body to the typed errors of
`iepsched.core.errors`, and logs at DEBUG with user ids, item ids and query values elided.

Retry policy (the "why" lives next to each rule below):

* **429** means Graph refused the request without acting on it, so it is retried for every method
  (after ``Retry-After``, else exponential backoff with full jitter).
* **503/504/502** and dropped connections or read timeouts leave the outcome unknown: retried only
  when the request is idempotent — GET/HEAD/PUT/DELETE/PATCH by default, POST only when the caller
  says so (``idempotent=True``, e.g. an event create carrying a ``transactionId``). Otherwise the
  caller gets `GraphTransportError` and must look the item up before writing again.
* A connect timeout / refused connection never reached Graph and is retried for every method.
* **401** invalidates the token once and retries once; 401/403 after that is `GraphAuthError`.

`batch` packs requests into ``$batch`` envelopes (≤ 20 items), one mailbox per envelope, and runs
mailboxes concurrently; items throttled inside a 200 envelope are retried after their own
``Retry-After`` (SDKs do not do this; see graph-facts §4).
"""

from __future__ import annotations

import email.utils
import functools
import json as jsonlib
import logging
import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit

from iepsched.core.errors import (
    GraphAuthError,
    GraphConflict,
    GraphError,
    GraphNotFound,
    GraphThrottled,
    GraphTransportError,
)

if TYPE_CHECKING:  # `requests` is imported lazily: `import iepsched.m365.graph` must stay cheap.
    import requests

__all__ = [
    "DEFAULT_ENDPOINT",
    "MAX_BATCH_ITEMS",
    "BatchRequest",
    "GraphClient",
    "GraphResponse",
    "GraphStats",
    "TokenProvider",
    "error_from_response",
    "parse_retry_after",
    "redact_url",
]

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://graph.microsoft.com/v1.0"
MAX_BATCH_ITEMS = 20  # Graph's documented limit per $batch envelope

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
# PATCH is treated as idempotent because Graph's PATCH sets absolute property values: applying it
# twice leaves the same item (at worst attendees get one more update notice). A PATCH sent with
# If-Match that *was* applied will come back 412 on a retry; callers see GraphConflict then.

_THROTTLE_STATUSES = frozenset({429, 503, 504})
_OUTCOME_UNKNOWN_STATUSES = frozenset({502, 503, 504})


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


class _Counters:
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


class _MailboxLimiter:
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


# ---------------------------------------------------------------------------------------------
# Pure helpers


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


def _mailbox_of(path: str) -> str:
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


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
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
    "registration, that the certificate or IEPSCHED_CLIENT_SECRET is current, and that the "
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
        request_id = _header(headers, "request-id") or _header(headers, "client-request-id") or ""
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
    if status in _THROTTLE_STATUSES:
        return GraphThrottled(f"{summary}; still throttled after retrying", **kwargs)
    return GraphError(summary, **kwargs)


def _package_version() -> str:
    import iepsched

    version = getattr(iepsched, "__version__", None)
    if isinstance(version, str) and version:
        return version
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("iepsched")
    except PackageNotFoundError:
        return "dev"


# ---------------------------------------------------------------------------------------------
# The client


@dataclass
class _Pending:
    """A batch item on its way; `attempts` counts how often it was sent."""

    request: BatchRequest
    idempotent: bool
    attempts: int = 0


class GraphClient:
    """Thread-safe Microsoft Graph client: one `requests.Session`, per-mailbox concurrency limits.

    Not a general SDK: it speaks JSON, knows Graph's headers, errors, paging and batching, and
    nothing about events or tasks (that is the sync engine's remote adapter).
    """

    def __init__(
        self,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        tokens: TokenProvider,
        session: requests.Session | None = None,
        timezone: str = "UTC",
        max_concurrency_per_mailbox: int = 4,
        max_workers: int = 8,
        timeout: tuple[float, float] = (10.0, 60.0),
        max_attempts: int = 8,
        backoff_base: float = 0.5,
        backoff_cap: float = 60.0,
        max_retry_after: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        verify: bool | str = True,
    ) -> None:
        """`verify` may name a CA bundle (the TLS sandbox's ``ca_file``); `clock` (epoch seconds)
        only measures HTTP-date ``Retry-After`` values when the answer carries no ``Date``."""
        import requests
        from requests.adapters import HTTPAdapter

        self.endpoint = endpoint.rstrip("/")
        parts = urlsplit(self.endpoint)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError(f"Graph endpoint must be an absolute URL, got {endpoint!r}")
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._tokens = tokens
        self.timezone = timezone
        self.max_workers = max(1, max_workers)
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._clock = clock
        # Passed on every request: a Session-level `verify` loses to REQUESTS_CA_BUNDLE.
        self._verify = verify
        self._limiter = _MailboxLimiter(max_concurrency_per_mailbox)
        self._counters = _Counters()
        self._user_agent = f"iepsched/{_package_version()}"
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            # Pool sized for the batch workers plus callers' own threads; urllib3's own retries
            # stay off (max_retries=0) because the retry policy lives in one place: here.
            adapter = HTTPAdapter(
                pool_connections=4, pool_maxsize=self.max_workers + 4, max_retries=0
            )
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self.session = session

    # -- public API ----------------------------------------------------------------------------

    @property
    def stats(self) -> GraphStats:
        """A snapshot of the request counters."""
        return self._counters.snapshot()

    def close(self) -> None:
        """Release pooled connections (only of a session this client created)."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        mailbox: str = "",
        idempotent: bool | None = None,
    ) -> GraphResponse:
        """Send one request and return Graph's answer; raise a typed `GraphError` on failure.

        `url` is relative to the endpoint (``/users/x/events``) or an absolute URL on the same
        origin (an ``@odata.nextLink``). `idempotent=True` lets a POST be retried after a dropped
        connection or 5xx (use it for event creates that carry a ``transactionId``).
        """
        return self._send(
            method,
            url,
            params=params,
            json_body=json,
            headers=headers,
            idempotent=idempotent,
            slots={(mailbox or _mailbox_of(self._relative(url))).lower(): 1},
        )

    def get(self, url: str, **kw: Any) -> Any:
        """GET and return the parsed body."""
        return self.request("GET", url, **kw).body

    def post(self, url: str, **kw: Any) -> Any:
        """POST and return the parsed body (None for 202/204)."""
        return self.request("POST", url, **kw).body

    def patch(self, url: str, **kw: Any) -> Any:
        """PATCH and return the parsed body."""
        return self.request("PATCH", url, **kw).body

    def delete(self, url: str, **kw: Any) -> Any:
        """DELETE; returns None (Graph answers 204). A retried DELETE may raise GraphNotFound."""
        return self.request("DELETE", url, **kw).body

    def pages(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        mailbox: str = "",
    ) -> Iterator[dict[str, Any]]:
        """Every page of a collection, following the whole ``@odata.nextLink`` URL.

        `params` go on the first request only (the nextLink carries them); `headers` (e.g.
        ``Prefer: odata.maxpagesize=50``) on every page. The last page of a delta round carries
        ``@odata.deltaLink``: read it from the final page.
        """
        next_url: str | None = url
        next_params = params
        mailbox = mailbox or _mailbox_of(self._relative(url))
        while next_url:
            body = self.request(
                "GET", next_url, params=next_params, headers=headers, mailbox=mailbox
            ).body
            if not isinstance(body, dict):
                raise GraphError(f"GET {redact_url(next_url)}: expected a JSON object page")
            yield body
            link = body.get("@odata.nextLink")
            next_url = link if isinstance(link, str) and link else None
            next_params = None

    def paginate(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        mailbox: str = "",
    ) -> Iterator[dict[str, Any]]:
        """Every item of ``value`` across all pages (see `pages`)."""
        for page in self.pages(url, params=params, headers=headers, mailbox=mailbox):
            items = page.get("value", [])
            if isinstance(items, list):
                yield from items

    def batch(self, requests: Sequence[BatchRequest]) -> dict[str, GraphResponse | GraphError]:
        """Run many requests through ``$batch``; return a result or a typed error per id.

        Never raises for a single item's failure. Envelopes hold ≤ 20 items of one mailbox;
        mailboxes run concurrently on up to `max_workers` threads, each mailbox's envelopes one
        after another (Graph fans a batch's items out to Outlook four at a time, so one envelope
        already uses a mailbox's concurrency). Items throttled inside an envelope are re-sent in a
        later envelope of the same mailbox after their ``Retry-After``.
        """
        ids = [r.id for r in requests]
        if len(set(ids)) != len(ids):
            raise ValueError("batch request ids must be unique")
        groups: dict[str, list[_Pending]] = {}
        for r in requests:
            key = (r.mailbox or _mailbox_of(r.url)).lower()
            idem = (
                r.idempotent if r.idempotent is not None else r.method.upper() in IDEMPOTENT_METHODS
            )
            groups.setdefault(key, []).append(_Pending(r, idem))
        results: dict[str, GraphResponse | GraphError] = {}
        results_lock = threading.Lock()
        before = self.stats

        # Each mailbox's last, partly filled envelope is pooled with the others' and sent in
        # envelopes that span mailboxes: eighty mailboxes would otherwise cost eighty mostly
        # empty requests. Full envelopes stay per mailbox (Graph's advice for concurrency).
        mixed: list[_Pending] = []
        if len(groups) > 1:
            for mailbox, items in list(groups.items()):
                rest = len(items) % MAX_BATCH_ITEMS
                if rest:
                    mixed.extend(items[-rest:])
                    groups[mailbox] = items[:-rest]
            groups = {m: items for m, items in groups.items() if items}

        def run(mailbox: str, items: list[_Pending]) -> None:
            for rid, outcome in self._run_mailbox(mailbox, items):
                with results_lock:
                    results[rid] = outcome

        jobs: list[Callable[[], None]] = [
            functools.partial(run, m, items) for m, items in groups.items()
        ]
        if mixed:
            jobs.append(functools.partial(run, "", mixed))
        if len(jobs) == 1:
            jobs[0]()
        elif jobs:
            with ThreadPoolExecutor(
                max_workers=min(self.max_workers, len(jobs)), thread_name_prefix="graph-batch"
            ) as pool:
                futures = [pool.submit(job) for job in jobs]
                for fut in futures:
                    fut.result()  # re-raise bugs; Graph failures are already per-item results

        after = self.stats
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

    # -- batch internals -----------------------------------------------------------------------

    def _run_mailbox(
        self, mailbox: str, items: list[_Pending]
    ) -> Iterator[tuple[str, GraphResponse | GraphError]]:
        """Send items envelope by envelope; retried items go first in the next one.

        `mailbox` "" means the items belong to several mailboxes (the pooled remainders): each
        envelope then takes slots in every mailbox it touches.
        """
        queue: deque[_Pending] = deque(items)
        while queue:
            chunk = [queue.popleft() for _ in range(min(MAX_BATCH_ITEMS, len(queue)))]
            weights: dict[str, int] | None = None
            if not mailbox:
                weights = {}
                for pending in chunk:
                    key = (pending.request.mailbox or _mailbox_of(pending.request.url)).lower()
                    weights[key] = weights.get(key, 0) + 1
            retry: list[_Pending] = []
            wait = 0.0
            for pending, outcome in self._send_envelope(mailbox, chunk, weights):
                if isinstance(outcome, float):
                    retry.append(pending)
                    wait = max(wait, outcome)
                else:
                    yield pending.request.id, outcome
            if retry:
                self._counters.add("retries", len(retry))
                queue.extendleft(reversed(retry))
                # Retry-After from an item speaks for the mailbox: sending the next envelope
                # before it elapses would only be throttled again.
                self._pause(wait)

    def _send_envelope(
        self, mailbox: str, chunk: list[_Pending], weights: Mapping[str, int] | None = None
    ) -> Iterator[tuple[_Pending, GraphResponse | GraphError | float]]:
        """One ``$batch`` call. Yields each item with its result, or with a delay to retry it."""
        by_id: dict[str, _Pending] = {}
        wire: list[dict[str, Any]] = []
        for n, pending in enumerate(chunk, start=1):
            pending.attempts += 1
            local_id = str(n)  # our own ids: unique, short, and free of caller data
            by_id[local_id] = pending
            wire.append(self._wire_item(local_id, pending.request))
        all_idempotent = all(p.idempotent for p in chunk)
        self._counters.add("batches")
        self._counters.add("batch_items", len(chunk))
        try:
            response = self._send(
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
                    and pending.attempts < self.max_attempts
                ):
                    yield pending, self._backoff(pending.attempts)
                else:
                    yield pending, _for_item(exc, pending.request)
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
                if pending.idempotent and pending.attempts < self.max_attempts:
                    yield pending, self._backoff(pending.attempts)
                else:
                    yield pending, err

    def _wire_item(self, local_id: str, req: BatchRequest) -> dict[str, Any]:
        headers = _merged({"Prefer": self._prefer()}, req.headers)
        item: dict[str, Any] = {
            "id": local_id,
            "method": req.method.upper(),
            "url": self._batch_url(req.url),
        }
        if req.body is not None:
            # Graph rejects an item with a body but no Content-Type header.
            if _header(headers, "Content-Type") is None:
                headers["Content-Type"] = "application/json"
            item["body"] = req.body
        item["headers"] = headers
        return item

    def _batch_url(self, url: str) -> str:
        rel = self._relative(url)
        if rel.startswith(("http://", "https://")):
            raise ValueError("batch item URLs must be relative to the Graph version root")
        return rel if rel.startswith("/") else "/" + rel

    def _item_outcome(
        self, pending: _Pending, answer: dict[str, Any], envelope_headers: Mapping[str, str]
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
        if status in _THROTTLE_STATUSES:
            self._counters.add("throttled")
        retry_after = parse_retry_after(
            _header(headers, "Retry-After"),
            date_header=_header(envelope_headers, "Date"),
            now=self._clock(),
        )
        retriable = status == 429 or (status in _OUTCOME_UNKNOWN_STATUSES and pending.idempotent)
        if retriable:
            if retry_after is not None and retry_after > self.max_retry_after:
                return self._too_long(req.method, req.url, status, body, headers, retry_after)
            if pending.attempts < self.max_attempts:
                delay = retry_after if retry_after is not None else self._backoff(pending.attempts)
                log.debug(
                    "%s %s in $batch -> %d; retrying in %.3fs",
                    req.method.upper(),
                    redact_url(req.url),
                    status,
                    delay,
                )
                return delay
        elif status in _OUTCOME_UNKNOWN_STATUSES:
            return self._unknown_outcome(req.method, req.url, status, body, headers)
        return error_from_response(
            req.method, req.url, status, body, headers, retry_after=retry_after
        )

    # -- the one HTTP function -----------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        json_body: Any,
        headers: Mapping[str, str] | None,
        idempotent: bool | None,
        slots: Mapping[str, int],
    ) -> GraphResponse:
        """The only place that talks HTTP to Graph: headers, timeouts, retries, typed errors.

        `slots` is what the request occupies per mailbox while in flight: 1 for a plain request,
        the item count for a ``$batch`` (per mailbox it touches, when it spans several).
        """
        import requests

        method = method.upper()
        full_url = self._absolute(url)
        safe = redact_url(full_url)
        idem = idempotent if idempotent is not None else method in IDEMPOTENT_METHODS
        reauthenticated = False
        attempt = 0
        while True:
            attempt += 1
            if attempt > 1:
                self._counters.add("retries")
            send_headers = {
                "Authorization": f"Bearer {self._tokens.token()}",
                "Prefer": self._prefer(),
                "client-request-id": str(uuid.uuid4()),
                "User-Agent": self._user_agent,
                "Accept": "application/json",
            }
            data: bytes | None = None
            if json_body is not None:
                send_headers["Content-Type"] = "application/json"
                data = jsonlib.dumps(json_body).encode("utf-8")
            if headers:
                send_headers.update(_merged(send_headers, headers))
            held = self._limiter.acquire(slots)
            started = time.perf_counter()
            try:
                self._counters.add("requests")
                resp = self.session.request(
                    method,
                    full_url,
                    params=params,
                    data=data,
                    headers=send_headers,
                    timeout=self.timeout,
                    verify=self._verify,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                elapsed = time.perf_counter() - started
                self._counters.add("transport_errors")
                never_sent = _never_reached_server(exc)
                log.debug(
                    "%s %s -> %s after %.0f ms (attempt %d)",
                    method,
                    safe,
                    type(exc).__name__,
                    elapsed * 1000,
                    attempt,
                )
                if (idem or never_sent) and attempt < self.max_attempts:
                    self._pause(self._backoff(attempt))
                    continue
                raise self._transport_error(method, safe, exc, idem, attempt) from None
            finally:
                self._limiter.release(held)

            elapsed = time.perf_counter() - started
            status = resp.status_code
            log.debug(
                "%s %s -> %d in %.0f ms (attempt %d)", method, safe, status, elapsed * 1000, attempt
            )
            body = _parse_body(resp)
            if status < 400:
                return GraphResponse(status, resp.headers, body)

            if status == 401 and not reauthenticated:
                # Tokens can be revoked or rotated early; one fresh token settles it either way.
                reauthenticated = True
                self._counters.add("auth_retries")
                self._tokens.invalidate()
                attempt -= 1  # the 401 round trip does not spend the throttling budget
                continue

            retry_after = parse_retry_after(
                resp.headers.get("Retry-After"),
                date_header=resp.headers.get("Date"),
                now=self._clock(),
            )
            if status in _THROTTLE_STATUSES:
                self._counters.add("throttled")
            retriable = status == 429 or (status in _OUTCOME_UNKNOWN_STATUSES and idem)
            if retriable:
                if retry_after is not None and retry_after > self.max_retry_after:
                    raise self._too_long(method, full_url, status, body, resp.headers, retry_after)
                if attempt < self.max_attempts:
                    self._pause(retry_after if retry_after is not None else self._backoff(attempt))
                    continue
                log.warning(
                    "Graph still answering HTTP %d after %d attempts; giving up on this request",
                    status,
                    attempt,
                )
            elif status in _OUTCOME_UNKNOWN_STATUSES:
                raise self._unknown_outcome(method, full_url, status, body, resp.headers)
            raise error_from_response(
                method, full_url, status, body, resp.headers, retry_after=retry_after
            )

    # -- helpers -------------------------------------------------------------------------------

    def _prefer(self) -> str:
        # Both preferences in one comma-separated Prefer header (RFC 7240 §2), as Graph accepts.
        return f'outlook.timezone="{self.timezone}", IdType="ImmutableId"'

    def _relative(self, url: str) -> str:
        """`url` relative to the version root when it is an absolute URL under our endpoint."""
        if url.startswith(self.endpoint + "/") or url == self.endpoint:
            return url[len(self.endpoint) :] or "/"
        return url

    def _absolute(self, url: str) -> str:
        if url.startswith(("https://", "http://")):
            # Never send the bearer token anywhere but the configured Graph origin.
            parts = urlsplit(url)
            if f"{parts.scheme}://{parts.netloc}".lower() != self._origin.lower():
                raise GraphError(
                    f"refusing to send a Graph token to another origin ({parts.scheme}://"
                    f"{parts.hostname}); the configured endpoint is {self._origin}"
                )
            return url
        return self.endpoint + (url if url.startswith("/") else "/" + url)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter: uniform(0, min(cap, base·2^(attempt-1)))."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** max(0, attempt - 1)))
        with self._rng_lock:
            return self._rng.uniform(0.0, ceiling)

    def _pause(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self._counters.add("sleep_seconds", seconds)
        self._sleep(seconds)

    def _too_long(
        self,
        method: str,
        url: str,
        status: int,
        body: Any,
        headers: Mapping[str, str],
        retry_after: float,
    ) -> GraphThrottled:
        err = error_from_response(method, url, status, body, headers, retry_after=retry_after)
        log.warning(
            "Graph asked to wait %.0fs (limit %.0fs); not waiting",
            retry_after,
            self.max_retry_after,
        )
        return GraphThrottled(
            f"{err}; Graph asked to wait {retry_after:.0f}s, longer than max_retry_after "
            f"({self.max_retry_after:.0f}s) — try again later",
            status=err.status,
            code=err.code,
            request_id=err.request_id,
            retry_after=retry_after,
        )

    def _unknown_outcome(
        self, method: str, url: str, status: int, body: Any, headers: Mapping[str, str]
    ) -> GraphTransportError:
        err = error_from_response(method, url, status, body, headers)
        return GraphTransportError(
            f"{err}; the request may have been applied and is not marked idempotent, so it was "
            "not retried — look the item up before writing it again",
            status=err.status,
            code=err.code,
            request_id=err.request_id,
        )

    @staticmethod
    def _transport_error(
        method: str, safe_url: str, exc: Exception, idempotent: bool, attempts: int
    ) -> GraphTransportError:
        # str(exc) of a requests error embeds the full URL (user ids, $filter values): name the
        # exception types only.
        reason = _root_cause(exc)
        what = type(exc).__name__ + (f" ({type(reason).__name__})" if reason is not exc else "")
        if idempotent:
            tail = f"gave up after {attempts} attempts"
        else:
            tail = (
                "not retried because the request is not idempotent: it may or may not have been "
                "applied — look the item up before writing it again"
            )
        return GraphTransportError(f"{method} {safe_url}: {what}; {tail}")


def _merged(ours: Mapping[str, str], theirs: Mapping[str, str]) -> dict[str, str]:
    """`ours` updated with the caller's headers; a caller's Prefer (e.g. odata.maxpagesize) is
    appended to ours instead of replacing the time zone and ImmutableId preferences."""
    out = dict(ours)
    for name, value in theirs.items():
        if name.lower() == "prefer" and "Prefer" in out:
            out["Prefer"] = f"{out['Prefer']}, {value}"
        else:
            out[name] = value
    return out


def _for_item(exc: GraphError, req: BatchRequest) -> GraphError:
    """The envelope's error, re-issued under the item's own (redacted) method and URL."""
    return type(exc)(
        f"{req.method.upper()} {redact_url(req.url)} (in $batch): {exc}",
        status=exc.status,
        code=exc.code,
        request_id=exc.request_id,
        retry_after=exc.retry_after,
    )


def _parse_body(resp: requests.Response) -> Any:
    if not resp.content:
        return None
    ctype = resp.headers.get("Content-Type", "")
    if "json" in ctype.lower() or resp.content[:1] in (b"{", b"["):
        try:
            return resp.json()
        except ValueError:
            pass
    return resp.text


def _root_cause(exc: BaseException) -> BaseException:
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


def _never_reached_server(exc: BaseException) -> bool:
    """True when the request provably never left this machine (so even a POST may be re-sent)."""
    import requests
    from urllib3.exceptions import NewConnectionError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    return isinstance(_root_cause(exc), NewConnectionError)

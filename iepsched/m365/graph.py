"""The one Microsoft Graph HTTP client (STYLE habit 6).

Every byte iepsched sends to Graph goes through `GraphClient._send`: it sets the headers Graph
needs on every call (bearer token, ``Prefer: outlook.timezone`` and ``IdType="ImmutableId"``, a
``client-request-id``), applies timeouts, honours ``Retry-After`` (fractional seconds or an
HTTP-date), retries only what is safe to retry, maps Graph's error body to the typed errors of
`iepsched.core.errors` (`graphwire.error_from_response`), and logs at DEBUG with user ids, item
ids and query values elided.

Retry policy (the "why" lives next to each rule below):

* **429** means Graph refused the request without acting on it, so it is retried for every method
  (after ``Retry-After``, else exponential backoff with full jitter).
* **503/504/502** and dropped connections or read timeouts leave the outcome unknown: retried only
  when the request is idempotent — GET/HEAD/PUT/DELETE/PATCH by default, POST only when the caller
  says so (``idempotent=True``, e.g. an event create carrying a ``transactionId``). Otherwise the
  caller gets `GraphTransportError` and must look the item up before writing again.
* A connect timeout / refused connection never reached Graph and is retried for every method.
* **401** invalidates the token once and retries once; 401/403 after that is `GraphAuthError`.

`batch` hands ``$batch`` packing to `batching.BatchRun`, whose envelopes come back through
`_send`; the request/response values and the rules for reading answers live in `graphwire`.
"""

from __future__ import annotations

import json as jsonlib
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from iepsched.core.errors import GraphError, GraphThrottled, GraphTransportError

from .batching import BatchRun, MailboxLimiter
from .graphwire import (
    DEFAULT_ENDPOINT,
    IDEMPOTENT_METHODS,
    MAX_BATCH_ITEMS,
    OUTCOME_UNKNOWN_STATUSES,
    THROTTLE_STATUSES,
    BatchRequest,
    Counters,
    GraphResponse,
    GraphStats,
    TokenProvider,
    error_from_response,
    mailbox_of,
    merged_headers,
    parse_retry_after,
    redact_url,
    root_cause,
)
from .zones import windows_zone

if TYPE_CHECKING:  # `requests` is imported lazily: `import iepsched.m365.graph` must stay cheap.
    import requests

# The wire values are re-exported: `iepsched.m365.graph` is where callers find the client API.
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
        # Graph takes Windows zone names (graph-facts §8): the IANA zone is mapped once here.
        self._prefer_zone = windows_zone(timezone)
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
        self._limiter = MailboxLimiter(max_concurrency_per_mailbox)
        self._counters = Counters()
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
            slots={(mailbox or mailbox_of(self._relative(url))).lower(): 1},
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
        mailbox = mailbox or mailbox_of(self._relative(url))
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

        Never raises for a single item's failure; see `batching.BatchRun` for how envelopes are
        packed (≤ 20 items), run per mailbox and retried item by item.
        """
        return BatchRun(self).run(requests)

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
                send_headers.update(merged_headers(send_headers, headers))
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
            if status in THROTTLE_STATUSES:
                self._counters.add("throttled")
            retriable = status == 429 or (status in OUTCOME_UNKNOWN_STATUSES and idem)
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
            elif status in OUTCOME_UNKNOWN_STATUSES:
                raise self._unknown_outcome(method, full_url, status, body, resp.headers)
            raise error_from_response(
                method, full_url, status, body, resp.headers, retry_after=retry_after
            )

    # -- helpers -------------------------------------------------------------------------------

    def _prefer(self) -> str:
        # Both preferences in one comma-separated Prefer header (RFC 7240 §2), as Graph accepts.
        return f'outlook.timezone="{self._prefer_zone}", IdType="ImmutableId"'

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
        reason = root_cause(exc)
        what = type(exc).__name__ + (f" ({type(reason).__name__})" if reason is not exc else "")
        if idempotent:
            tail = f"gave up after {attempts} attempts"
        else:
            tail = (
                "not retried because the request is not idempotent: it may or may not have been "
                "applied — look the item up before writing it again"
            )
        return GraphTransportError(f"{method} {safe_url}: {what}; {tail}")


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


def _never_reached_server(exc: BaseException) -> bool:
    """True when the request provably never left this machine (so even a POST may be re-sent)."""
    import requests
    from urllib3.exceptions import NewConnectionError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    return isinstance(root_cause(exc), NewConnectionError)

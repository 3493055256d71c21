"""The HTTP face of the sandbox: a loopback-only ``ThreadingHTTPServer`` speaking Graph.

Request life cycle (an HTTP request, or each item of a ``$batch``):

1. draw a fault (seeded): 429 / 503 are answered at once; a drop is remembered;
2. admission: the mailbox's 10-minute rate window, then a concurrency slot (else 429);
3. latency sleep while holding the slot (so concurrent callers really overlap);
4. the resource handler runs under the store lock;
5. a "drop" closes the connection without an answer, before step 4 or after it.

A batch runs its items the way Graph fans them out to Outlook: at most four unordered items at a
time (one at a time when the batch uses ``dependsOn``); the latency applies once per batch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from . import events, todo
from .api import GraphApi, ItemRequest, Reply, is_write, mailbox_of
from .auth import TokenService
from .events import View
from .store import GraphError, Store
from .throttle import FAULT_KINDS, Gate

logger = logging.getLogger(__name__)

JSON_TYPE = (
    "application/json; odata.metadata=minimal; odata.streaming=true; "
    "IEEE754Compatible=false; charset=utf-8"
)
MAX_BATCH = 20
BATCH_FANOUT = 4  # Graph sends at most four unordered batch items to Outlook at a time
_METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}


class _Drop(Exception):
    """Close the connection without answering (an injected network fault)."""


@dataclass
class _HttpAnswer:
    status: int
    body: Any = None
    headers: dict[str, str] | None = None
    raw: bytes | None = None


class GraphSandbox:
    """A local Microsoft Graph v1.0 emulator for iepsched's endpoints.

    >>> with GraphSandbox() as sb:            # doctest: +SKIP
    ...     requests.get(sb.graph_url + "/users/a@b.org/events", headers=...)
    """

    def __init__(
        self,
        latency_ms: int = 0,
        fault_rate: float = 0.0,
        seed: int = 0,
        mailbox_concurrency: int = 4,
        rate_limit_per_10min: int = 10_000,
        tenant_id: str = "sandbox-tenant",
        *,
        fault_kinds: Iterable[str] = FAULT_KINDS,
        max_retry_after: float = 1.0,
        client_secret: str | None = None,
        tls: bool = False,
    ) -> None:
        """Configure (but do not start) a sandbox.

        `max_retry_after` bounds the random Retry-After of concurrency 429s and injected faults;
        `client_secret`, when given, is the only secret the token endpoint accepts; `tls=True`
        serves HTTPS with a throw-away self-signed certificate (see :attr:`ca_file`), which is
        what msal needs (it refuses http authorities).
        """
        if latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        if mailbox_concurrency < 1 or rate_limit_per_10min < 1:
            raise ValueError("mailbox_concurrency and rate_limit_per_10min must be >= 1")
        self.latency_ms = latency_ms
        self.tenant_id = tenant_id
        self.tls = tls
        self._base_url = ""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._ca_file: str | None = None
        self.store = Store()
        self.gate = Gate(
            concurrency=mailbox_concurrency,
            rate_per_10min=rate_limit_per_10min,
            seed=seed,
            fault_rate=fault_rate,
            fault_kinds=fault_kinds,
            max_retry_after=max_retry_after,
        )
        self.api = GraphApi(self.store, lambda: self.graph_url)
        self.tokens = TokenService(tenant_id, lambda: self._base_url, client_secret=client_secret)

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1:`port` (0 = any free port) in a background thread; returns the
        base URL, e.g. ``http://127.0.0.1:50123``.

        Calling it again while running (``with GraphSandbox() as sb: sb.start()``) returns the
        running URL when `port` is 0 or the current port, and moves to `port` otherwise; the
        data and statistics are kept either way.
        """
        if self._server is not None:
            if port in (0, self.port):
                return self._base_url
            self.stop()
        server = _Server(("127.0.0.1", port), _Handler)
        server.sandbox = self
        if self.tls:
            server.ssl_context = self._ssl_context()
        self._server = server
        scheme = "https" if self.tls else "http"
        self._base_url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="graph-sandbox",
            daemon=True,
        )
        self._thread.start()
        logger.info("Graph sandbox listening on %s", self._base_url)
        return self._base_url

    def stop(self) -> None:
        """Stop serving and free the port (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None
            self._ca_file = None

    def __enter__(self) -> GraphSandbox:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def serve_forever(
        self,
        port: int,
        *,
        on_start: Callable[[GraphSandbox], None] | None = None,
        stop_event: threading.Event | None = None,
    ) -> None:
        """Start on `port`, call `on_start(self)` (the CLI prints the URLs there), and block
        until Ctrl-C or `stop_event` is set; always stops cleanly."""
        self.start(port)
        stopper = stop_event or threading.Event()
        try:
            if on_start is not None:
                on_start(self)
            while not stopper.wait(0.5):
                pass
        except KeyboardInterrupt:
            logger.info("Graph sandbox interrupted; shutting down")
        finally:
            self.stop()

    # --- addresses -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https`` with tls=True); empty before start()."""
        return self._base_url

    @property
    def graph_url(self) -> str:
        """What goes in ``[graph] endpoint``: ``{base}/v1.0``."""
        return f"{self._base_url}/v1.0"

    @property
    def authority(self) -> str:
        """What goes in ``[graph] authority``: ``{base}/{tenant_id}``."""
        return f"{self._base_url}/{self.tenant_id}"

    @property
    def token_url(self) -> str:
        """The client-credentials token endpoint."""
        return f"{self.authority}/oauth2/v2.0/token"

    @property
    def port(self) -> int:
        """The bound port (0 before start())."""
        return self._server.server_address[1] if self._server is not None else 0

    @property
    def ca_file(self) -> str | None:
        """With tls=True, the PEM certificate clients must trust (``verify=sb.ca_file``)."""
        return self._ca_file

    # --- control -------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Request statistics (same as ``GET /_sandbox/stats``)."""
        snap = self.gate.stats.snapshot()
        snap["config"] = {
            "latency_ms": self.latency_ms,
            "fault_rate": self.gate.fault_rate,
            "fault_kinds": list(self.gate.fault_kinds),
            "mailbox_concurrency": self.gate.concurrency,
            "rate_limit_per_10min": self.gate.rate_per_10min,
        }
        return snap

    def reset_stats(self) -> None:
        """Zero the statistics (data is kept)."""
        self.gate.stats.reset()

    def reset(self) -> None:
        """Forget all data and statistics (a fresh tenant; issued tokens stay valid)."""
        with self.store.lock:
            self.store.clear()
        self.gate.stats.reset()

    def set_faults(self, rate: float, kinds: Iterable[str] = FAULT_KINDS) -> None:
        """Change the fault probability (0..1) and kinds ("429", "503", "drop") at runtime."""
        self.gate.set_faults(rate, kinds)

    def set_latency(self, latency_ms: int) -> None:
        """Change the per-request latency at runtime."""
        if latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        self.latency_ms = latency_ms

    def respond(self, organizer: str, event_id: str, attendee: str, response: str) -> None:
        """An attendee answers an invitation (same as ``POST /_sandbox/respond``)."""
        with self.store.lock:
            box = self.store.mailbox(organizer)
            ev, _ = events.find(box, event_id)
            events.respond(self.store, ev, attendee, response)

    def dump(self) -> dict[str, Any]:
        """Everything the sandbox holds, as Graph objects (same as ``GET /_sandbox/dump``)."""
        with self.store.lock:
            out: dict[str, Any] = {}
            for key, box in sorted(self.store.mailboxes.items()):
                view = View(graph_url=self.graph_url, user_segment=key)
                tasks = []
                for tl in box.lists.values():
                    for task in tl.tasks.values():
                        rendered = todo.render_task(
                            task,
                            view,
                            expand={"checklistItems", "linkedResources"},
                            context=None,
                        )
                        tasks.append({"@sandbox.listId": tl.id, **rendered})
                out[key] = {
                    "events": [
                        events.render(ev, view, expand_ext="all", context=None)
                        for ev in box.events.values()
                    ],
                    "lists": [
                        todo.render_list(tl, view, context=False) for tl in box.lists.values()
                    ],
                    "tasks": tasks,
                    "cancelled": [dict(c) for c in box.cancelled],
                }
            return {"mailboxes": out}

    # --- TLS -----------------------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        self._tmpdir = tempfile.TemporaryDirectory(prefix="graph-sandbox-")
        cert, key = _self_signed(Path(self._tmpdir.name))
        self._ca_file = str(cert)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        return context

    # --- dispatch ------------------------------------------------------------------------------

    def _sleep(self) -> None:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)

    def _http(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> _HttpAnswer:
        split = urlsplit(target)
        path = split.path
        if path.startswith("/_sandbox/") or path == "/_sandbox":
            return self._control(method, path, body)
        stats = self.gate.stats
        stats.add("http_requests")
        lowered = path.lower()
        if lowered.startswith("/v1.0/") or lowered == "/v1.0":
            problem = self.tokens.check(headers.get("authorization"))
            if problem is not None:
                self._sleep()
                stats.add("unauthorized")
                answer = _error(401, "InvalidAuthenticationToken", problem)
                assert answer.headers is not None
                answer.headers["WWW-Authenticate"] = (
                    'Bearer realm="", authorization_uri="'
                    + self.authority
                    + '/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'
                )
                return answer
            rel = target[len("/v1.0") :] or "/"
            if lowered.rstrip("/") == "/v1.0/$batch":
                if method != "POST":
                    self._sleep()
                    return _error(405, "BadRequest", "$batch accepts POST only.")
                return self._batch(headers, body)
            reply = self._run([ItemRequest(method, rel, headers, body)], first_wave=True)[0]
            if reply.drop_after:
                raise _Drop()
            return _answer(reply)
        self._sleep()
        return self._identity(method, path, split.query, headers, body)

    def _identity(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> _HttpAnswer:
        parts = [unquote(p) for p in path.split("/") if p]
        lowered = [p.lower() for p in parts]
        if method == "POST" and len(parts) == 4 and lowered[1:] == ["oauth2", "v2.0", "token"]:
            self.gate.stats.add("token_requests")
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            status, payload = self.tokens.issue(parts[0], form)
            return _HttpAnswer(status, payload, {"Content-Type": "application/json; charset=utf-8"})
        discovery = ["v2.0", ".well-known", "openid-configuration"]
        if method == "GET" and len(parts) == 4 and lowered[1:] == discovery:
            if parts[0].lower() not in (self.tenant_id.lower(), "common", "organizations"):
                return _HttpAnswer(
                    400,
                    {
                        "error": "invalid_tenant",
                        "error_description": f"Tenant '{parts[0]}' not found.",
                    },
                )
            return _HttpAnswer(200, self.tokens.openid_configuration(parts[0]))
        if method == "GET" and lowered == ["common", "discovery", "instance"]:
            params = dict(parse_qsl(query))
            return _HttpAnswer(
                200, self.tokens.instance_discovery(params.get("authorization_endpoint"))
            )
        if method == "GET" and lowered[1:] == ["discovery", "v2.0", "keys"]:
            return _HttpAnswer(200, {"keys": []})
        return _HttpAnswer(
            404,
            {"error": {"code": "NotFound", "message": f"The sandbox serves no {method} {path}."}},
        )

    def _control(self, method: str, path: str, body: bytes) -> _HttpAnswer:
        name = path.rstrip("/").removeprefix("/_sandbox").strip("/")
        try:
            payload = json.loads(body) if body.strip() else {}
        except json.JSONDecodeError as exc:
            return _HttpAnswer(400, {"error": {"code": "BadRequest", "message": str(exc)}})
        try:
            if method == "GET" and name == "stats":
                return _HttpAnswer(200, self.stats())
            if method == "GET" and name == "dump":
                return _HttpAnswer(200, self.dump())
            if method == "GET" and name == "health":
                return _HttpAnswer(200, {"ok": True, "graph_url": self.graph_url})
            if method == "POST" and name == "reset_stats":
                self.reset_stats()
                return _HttpAnswer(204)
            if method == "POST" and name == "reset":
                self.reset()
                return _HttpAnswer(204)
            if method == "POST" and name == "faults":
                self.set_faults(float(payload.get("rate", 0.0)), payload.get("kinds", FAULT_KINDS))
                return _HttpAnswer(204)
            if method == "POST" and name == "respond":
                for key in ("organizer", "event_id", "attendee", "response"):
                    if not isinstance(payload.get(key), str):
                        raise GraphError(400, "BadRequest", f"'{key}' (a string) is required.")
                self.respond(
                    payload["organizer"],
                    payload["event_id"],
                    payload["attendee"],
                    payload["response"],
                )
                return _HttpAnswer(204)
        except GraphError as exc:
            return _error(exc.status, exc.code, exc.message)
        except (ValueError, TypeError) as exc:
            return _error(400, "BadRequest", str(exc))
        return _error(404, "NotFound", f"No sandbox control endpoint {method} {path}.")

    # --- executing items -----------------------------------------------------------------------

    def _run(self, items: list[ItemRequest], *, first_wave: bool) -> list[Reply]:
        """Admit, delay, execute one wave of items; raises _Drop for a drop-before fault.

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
                fault = gate.draw_fault()
                faults[i] = fault
                if fault in ("429", "503"):
                    stats.fault(fault)
                    replies[i] = _fault_reply(fault, gate.retry_after())
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
                self._sleep()
            for i, item in enumerate(items):
                if replies[i] is not None:
                    continue
                if faults[i] == "drop_before":
                    stats.fault("drop")
                    self._count(items, mailboxes, replies)
                    raise _Drop()
                reply = self.api.handle(item)
                if faults[i] == "drop_after":
                    stats.fault("drop")
                    if reply.wrote:
                        stats.fault("drop_after_write")
                    reply.drop_after = True
                replies[i] = reply
        finally:
            for box in held:
                gate.release(box)
        self._count(items, mailboxes, replies)
        return [r for r in replies if r is not None]

    def _count(
        self, items: list[ItemRequest], mailboxes: list[str | None], replies: list[Reply | None]
    ) -> None:
        for item, box, reply in zip(items, mailboxes, replies, strict=True):
            self.gate.stats.item(
                box,
                status=reply.status if reply is not None else None,
                wrote=bool(reply and reply.wrote),
                read=bool(reply and reply.read),
                write_request=is_write(item.method, item.url),
            )

    def _batch(self, headers: Mapping[str, str], body: bytes) -> _HttpAnswer:
        stats = self.gate.stats
        stats.add("batches")
        try:
            plan = _plan_batch(headers, body)
        except GraphError as exc:
            self._sleep()
            return _error(exc.status, exc.code, exc.message)
        stats.add("batch_items", len(plan.ids))
        results: dict[str, Reply] = {}
        drop_after = False
        first = True
        for wave in plan.waves(self.gate):
            runnable: list[str] = []
            for rid in wave:
                failed = [d for d in plan.depends[rid] if not 200 <= results[d].status < 300]
                if failed:
                    results[rid] = Reply(
                        424,
                        {
                            "error": {
                                "code": "FailedDependency",
                                "message": f"Request {failed[0]!r}, which this request "
                                "depends on, failed.",
                            }
                        },
                    )
                elif rid in plan.invalid:
                    results[rid] = plan.invalid[rid]
                else:
                    runnable.append(rid)
            if not runnable:
                continue
            replies = self._run([plan.requests[r] for r in runnable], first_wave=first)
            first = False
            for rid, reply in zip(runnable, replies, strict=True):
                drop_after |= reply.drop_after
                results[rid] = reply
        if first:
            self._sleep()
        if drop_after:
            raise _Drop()
        responses = []
        for rid in plan.ids:
            reply = results[rid]
            answer = _answer(reply)
            item_headers = dict(answer.headers or {})
            item_headers.pop("Content-Length", None)
            entry: dict[str, Any] = {"id": rid, "status": answer.status, "headers": item_headers}
            entry["body"] = answer.body
            responses.append(entry)
        self.gate.shuffle(responses)  # Graph does not keep the order; clients must match ids
        return _HttpAnswer(200, {"responses": responses})


# --- batch planning ------------------------------------------------------------------------------


@dataclass
class _Plan:
    ids: list[str]
    requests: dict[str, ItemRequest]
    depends: dict[str, list[str]]
    invalid: dict[str, Reply]

    def waves(self, gate: Gate) -> Iterable[list[str]]:
        """Groups of ids run together: four unordered at a time, or one at a time in dependency
        order when the batch uses dependsOn."""
        if any(self.depends.values()):
            done: set[str] = set()
            pending = list(self.ids)
            while pending:
                ready = next(r for r in pending if all(d in done for d in self.depends[r]))
                pending.remove(ready)
                done.add(ready)
                yield [ready]
            return
        order = list(self.ids)
        gate.shuffle(order)
        for start in range(0, len(order), BATCH_FANOUT):
            yield order[start : start + BATCH_FANOUT]


def _plan_batch(envelope_headers: Mapping[str, str], body: bytes) -> _Plan:
    if "json" not in envelope_headers.get("content-type", "").lower():
        raise GraphError(
            400, "BadRequest", "A $batch request must have Content-Type: application/json."
        )
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GraphError(400, "BadRequest", f"Invalid batch payload format: {exc}") from exc
    requests = payload.get("requests") if isinstance(payload, dict) else None
    if not isinstance(requests, list) or not requests:
        raise GraphError(400, "BadRequest", "Invalid batch payload format: 'requests' is required.")
    if len(requests) > MAX_BATCH:
        raise GraphError(
            400,
            "BadRequest",
            f"The number of requests in a batch exceeds the limit of {MAX_BATCH} "
            f"({len(requests)} were sent).",
        )
    ids: list[str] = []
    seen: set[str] = set()
    plan = _Plan(ids, {}, {}, {})
    for raw in requests:
        if not isinstance(raw, dict):
            raise GraphError(400, "BadRequest", "Each batch request must be a JSON object.")
        rid = raw.get("id")
        if not isinstance(rid, str) or not rid:
            raise GraphError(400, "BadRequest", "Each batch request needs a string 'id'.")
        if rid.lower() in seen:
            raise GraphError(
                400, "BadRequest", f"Batch request ids must be unique; {rid!r} repeats."
            )
        seen.add(rid.lower())
        ids.append(rid)
        method = str(raw.get("method") or "").upper()
        url = raw.get("url")
        if method not in _METHODS or not isinstance(url, str) or not url:
            raise GraphError(
                400, "BadRequest", f"Batch request {rid!r} needs a 'method' and a relative 'url'."
            )
        item_headers_raw = raw.get("headers") or {}
        if not isinstance(item_headers_raw, dict):
            raise GraphError(
                400, "BadRequest", f"Batch request {rid!r}: 'headers' must be an object."
            )
        item_headers = {str(k).lower(): str(v) for k, v in item_headers_raw.items()}
        has_body = "body" in raw and raw["body"] is not None
        if method in ("POST", "PATCH", "PUT") and (
            not has_body or "content-type" not in item_headers
        ):
            raise GraphError(
                400,
                "BadRequest",
                f"Write request id : {rid} does not contain Content-Type header or body.",
            )
        item_body = raw.get("body")
        if not has_body:
            data = b""
        elif isinstance(item_body, str):
            data = item_body.encode()
        else:
            data = json.dumps(item_body).encode()
        depends = raw.get("dependsOn") or []
        if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
            raise GraphError(400, "BadRequest", f"Batch request {rid!r}: dependsOn must list ids.")
        plan.depends[rid] = depends
        if url.lower().startswith(("http://", "https://")):
            plan.invalid[rid] = Reply(
                400,
                {
                    "error": {
                        "code": "BadRequest",
                        "message": "Batch request URLs must be relative to the version root, "
                        "e.g. /users/{id}/events.",
                    }
                },
            )
            url = "/"
        if not url.startswith("/"):
            url = "/" + url
        # Auth is the envelope's; items inherit it (their own Authorization is ignored).
        plan.requests[rid] = ItemRequest(method, url, item_headers, data)
    by_lower = {i.lower(): i for i in ids}
    for rid in ids:
        resolved = []
        for dep in plan.depends[rid]:
            if dep.lower() not in by_lower or dep.lower() == rid.lower():
                raise GraphError(
                    400, "BadRequest", f"Batch request {rid!r} depends on unknown id {dep!r}."
                )
            resolved.append(by_lower[dep.lower()])
        plan.depends[rid] = resolved
    _check_acyclic(plan)
    return plan


def _check_acyclic(plan: _Plan) -> None:
    done: set[str] = set()
    pending = list(plan.ids)
    while pending:
        ready = [r for r in pending if all(d in done for d in plan.depends[r])]
        if not ready:
            raise GraphError(400, "BadRequest", "Batch dependsOn contains a cycle.")
        for r in ready:
            pending.remove(r)
            done.add(r)


# --- replies -------------------------------------------------------------------------------------


def _fault_reply(kind: str, retry_after: str) -> Reply:
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


def _error(status: int, code: str, message: str) -> _HttpAnswer:
    return _answer(Reply(status, {"error": {"code": code, "message": message}}))


def _answer(reply: Reply) -> _HttpAnswer:
    """Decorate a resource reply the way Graph does (ids, innerError, content type)."""
    request_id = str(uuid.uuid4())
    headers = {"request-id": request_id, "client-request-id": request_id, **reply.headers}
    body = reply.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        inner = body["error"].setdefault("innerError", {})
        inner.setdefault("date", time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()))
        inner.setdefault("request-id", request_id)
        inner.setdefault("client-request-id", request_id)
    if body is not None:
        headers["Content-Type"] = JSON_TYPE
    return _HttpAnswer(reply.status, body, headers)


# --- HTTP plumbing -------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: GraphSandbox
    ssl_context: ssl.SSLContext | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints tracebacks to stderr; clients that hang up mid-request are normal
        # here (fault tests, Ctrl-C), so they go to the log instead.
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS handshakes happen here, in the per-connection thread, so one slow client cannot
        # stall the accept loop.
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        try:
            wrapped = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            logger.debug("TLS handshake failed: %s", exc)
            return
        try:
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "iepsched-graph-sandbox/1.0"
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus the client's
    # delayed ACK would add ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        """GET."""
        self._handle()

    def do_POST(self) -> None:
        """POST."""
        self._handle()

    def do_PATCH(self) -> None:
        """PATCH."""
        self._handle()

    def do_PUT(self) -> None:
        """PUT."""
        self._handle()

    def do_DELETE(self) -> None:
        """DELETE."""
        self._handle()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        body = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        if "prefer" in headers:  # several Prefer headers are one list
            headers["prefer"] = ", ".join(self.headers.get_all("Prefer") or [])
        try:
            answer = self.server.sandbox._http(self.command, self.path, headers, body)
        except _Drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        except Exception:  # a sandbox bug must not kill the connection thread silently
            logger.exception("sandbox failure on %s %s", self.command, self.path)
            answer = _error(500, "InternalServerError", "The sandbox failed; see its log.")
        payload = answer.raw
        if payload is None and answer.body is not None:
            payload = json.dumps(answer.body).encode("utf-8")
        self.send_response(answer.status)
        sent_type = False
        for key, value in (answer.headers or {}).items():
            if key.lower() == "content-length":
                continue
            sent_type |= key.lower() == "content-type"
            self.send_header(key, value)
        if payload is not None and not sent_type:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload or b"")))
        self.end_headers()
        if payload:
            self.wfile.write(payload)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1 and localhost.

    Needs `cryptography`, which msal depends on, so it is present wherever msal is.
    """
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "iepsched Graph sandbox")])
    now = dt.datetime.now(dt.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "sandbox-cert.pem", folder / "sandbox-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def serve(
    port: int,
    latency_ms: int = 0,
    fault_rate: float = 0.0,
    seed: int = 0,
    *,
    on_start: Callable[[GraphSandbox], None] | None = None,
    stop_event: threading.Event | None = None,
    **options: Any,
) -> None:
    """Run a sandbox on 127.0.0.1:`port` until Ctrl-C (or `stop_event`).

    Library code never prints: the caller passes `on_start`, which receives the running sandbox
    and can show ``sb.graph_url`` and ``sb.authority``. Extra keyword `options` go to
    :class:`GraphSandbox` (e.g. ``tls=True``, ``mailbox_concurrency=4``).
    """
    sandbox = GraphSandbox(latency_ms=latency_ms, fault_rate=fault_rate, seed=seed, **options)
    sandbox.serve_forever(port, on_start=on_start, stop_event=stop_event)


serve_forever = serve  # the name the CLI brief also uses

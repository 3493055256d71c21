"""The sandbox itself: :class:`GraphSandbox` configures, starts and stops it and routes requests.

A request to ``/v1.0`` is checked for a token and goes through :mod:`pipeline` (faults, throttling,
latency, then :mod:`api`), or to :mod:`batch` for ``$batch``; ``/_sandbox/...`` are the control
endpoints; anything else goes to the identity routes of :mod:`identity`. The HTTP server is in
:mod:`httpd`, certificates in :mod:`tls`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from . import batch, events, identity, tls, todo
from .access import Tenant
from .api import GraphApi
from .auth import TokenService
from .event_render import render
from .httpd import Drop, Handler, HttpAnswer, Server, answer, error
from .messages import ItemRequest
from .pipeline import Pipeline
from .reqlog import LoggedRequest, RequestLog
from .store import GraphError, Store
from .throttle import FAULT_KINDS, Gate
from .view import View

logger = logging.getLogger(__name__)


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
        retry_after_max: float | None = None,
        client_secret: str | None = None,
        tls: bool = False,
        mailboxes: Iterable[str] | None = None,
        deny_mailboxes: Iterable[str] = (),
        roles: Iterable[str] | None = None,
        room_policies: Mapping[str, str] | None = None,
        record: bool = False,
    ) -> None:
        """Configure (but do not start) a sandbox.

        `max_retry_after` bounds the random Retry-After of concurrency 429s and injected faults;
        `retry_after_max`, when given, makes about one Retry-After in ten a long wait of up to
        that many seconds (Graph sometimes asks for many seconds). `client_secret`, when given,
        is the only secret the token endpoint accepts; `tls=True` serves HTTPS with a
        throw-away self-signed certificate (see :attr:`ca_file`), which is what msal needs (it
        refuses http authorities).

        `mailboxes` limits the tenant to those addresses (default: any address has a mailbox);
        `deny_mailboxes` lie outside the app's access policy (403 on calendar paths). `roles`
        are the application permissions in every token (default: the ones iepsched needs).
        `room_policies` maps a room's address to how it answers invitations: "accept" (the
        default: accept when free, decline a conflict), "decline", "tentative" or "none".
        `record=True` logs every Graph request (see :meth:`requests`).
        """
        if latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        if mailbox_concurrency < 1 or rate_limit_per_10min < 1:
            raise ValueError("mailbox_concurrency and rate_limit_per_10min must be >= 1")
        self.latency_ms = latency_ms
        self.tenant_id = tenant_id
        self.tls = tls
        self._base_url = ""
        self._server: Server | None = None
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
            retry_after_max=retry_after_max,
        )
        self.store.tenant = Tenant.of(mailboxes, deny_mailboxes)
        self.store.room_policies = events.room_policies(room_policies or {})
        self.api = GraphApi(self.store, lambda: self.graph_url)
        self.request_log: RequestLog | None = RequestLog() if record else None
        self.pipeline = Pipeline(self.gate, self.api, self._sleep, self.request_log)
        self.tokens = TokenService(
            tenant_id, lambda: self._base_url, client_secret=client_secret, roles=roles
        )

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
        server = Server(("127.0.0.1", port), Handler)
        server.dispatch = self._http
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
            "max_retry_after": self.gate.max_retry_after,
            "retry_after_max": self.gate.retry_after_max,
            "mailboxes": (
                None if self.store.tenant.mailboxes is None else sorted(self.store.tenant.mailboxes)
            ),
            "deny_mailboxes": sorted(self.store.tenant.denied),
            "roles": list(self.tokens.roles),
            "room_policies": dict(self.store.room_policies),
            "record": self.request_log is not None,
        }
        return snap

    def requests(self) -> list[LoggedRequest]:
        """Every Graph request received so far (method, decoded path and query, the headers of
        interest, JSON body, answer status and error code); a $batch's items one by one,
        then its envelope. Needs ``GraphSandbox(record=True)``."""
        if self.request_log is None:
            raise RuntimeError("the sandbox records requests only with GraphSandbox(record=True)")
        return self.request_log.items()

    def clear_requests(self) -> None:
        """Forget the logged requests (no-op unless recording)."""
        if self.request_log is not None:
            self.request_log.clear()

    def reset_stats(self) -> None:
        """Zero the statistics (data is kept)."""
        self.gate.stats.reset()

    def reset(self) -> None:
        """Forget all data and statistics (a fresh tenant; issued tokens stay valid)."""
        with self.store.lock:
            self.store.clear()
        self.gate.stats.reset()

    def set_faults(self, rate: float, kinds: Iterable[str] = FAULT_KINDS) -> None:
        """Change the fault probability (0..1) and kinds ("429", "503", "504", "drop")."""
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
                        render(ev, view, expand_ext="all", context=None)
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
        context, cert = tls.server_context(Path(self._tmpdir.name))
        self._ca_file = str(cert)
        return context

    # --- dispatch ------------------------------------------------------------------------------

    def _sleep(self) -> None:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)

    def _http(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> HttpAnswer:
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
                refused = error(401, "InvalidAuthenticationToken", problem)
                assert refused.headers is not None
                refused.headers["WWW-Authenticate"] = (
                    'Bearer realm="", authorization_uri="'
                    + self.authority
                    + '/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'
                )
                return refused
            rel = target[len("/v1.0") :] or "/"
            roles = self.tokens.roles_of(headers.get("authorization", ""))
            if lowered.rstrip("/") == "/v1.0/$batch":
                if method != "POST":
                    self._sleep()
                    return error(405, "BadRequest", "$batch accepts POST only.")
                if self.request_log is None:
                    return batch.execute(self.pipeline, headers, body, roles)
                status: int | None = None  # stays None when a fault drops the connection
                result: Any = None
                try:
                    done = batch.execute(self.pipeline, headers, body, roles)
                    status, result = done.status, done.body
                    return done
                finally:  # the envelope is logged after its items
                    self.request_log.add(
                        method, "/$batch", headers, body, status=status, answer=result
                    )
            item = ItemRequest(method, rel, headers, body, roles)
            reply = self.pipeline.run([item], first_wave=True)[0]
            if reply.drop_after:
                raise Drop()
            return answer(reply)
        self._sleep()
        return identity.route(self.tokens, self.gate.stats, method, path, split.query, body)

    def _control(self, method: str, path: str, body: bytes) -> HttpAnswer:
        name = path.rstrip("/").removeprefix("/_sandbox").strip("/")
        try:
            payload = json.loads(body) if body.strip() else {}
        except json.JSONDecodeError as exc:
            return HttpAnswer(400, {"error": {"code": "BadRequest", "message": str(exc)}})
        try:
            if method == "GET" and name == "stats":
                return HttpAnswer(200, self.stats())
            if method == "GET" and name == "dump":
                return HttpAnswer(200, self.dump())
            if method == "GET" and name == "requests":
                logged = [dataclasses.asdict(r) for r in self.requests()]
                return HttpAnswer(200, {"requests": logged})
            if method == "GET" and name == "health":
                return HttpAnswer(200, {"ok": True, "graph_url": self.graph_url})
            if method == "POST" and name == "reset_stats":
                self.reset_stats()
                return HttpAnswer(204)
            if method == "POST" and name == "reset":
                self.reset()
                return HttpAnswer(204)
            if method == "POST" and name == "faults":
                self.set_faults(float(payload.get("rate", 0.0)), payload.get("kinds", FAULT_KINDS))
                return HttpAnswer(204)
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
                return HttpAnswer(204)
        except GraphError as exc:
            return error(exc.status, exc.code, exc.message)
        except (ValueError, TypeError, RuntimeError) as exc:
            return error(400, "BadRequest", str(exc))
        return error(404, "NotFound", f"No sandbox control endpoint {method} {path}.")


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

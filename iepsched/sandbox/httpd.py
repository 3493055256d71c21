"""HTTP plumbing: a loopback ``ThreadingHTTPServer`` and Graph-style response decoration.

The handler reads one request, hands ``(method, target, headers, body)`` to the server's
`dispatch` callable and writes the :class:`HttpAnswer` back; :class:`Drop` closes the connection
unanswered instead (an injected network fault).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import tls
from .messages import Reply

logger = logging.getLogger(__name__)

JSON_TYPE = (
    "application/json; odata.metadata=minimal; odata.streaming=true; "
    "IEEE754Compatible=false; charset=utf-8"
)


class Drop(Exception):
    """Close the connection without answering (an injected network fault)."""


@dataclass
class HttpAnswer:
    """What goes back over HTTP: status, JSON body (or raw bytes) and headers."""

    status: int
    body: Any = None
    headers: dict[str, str] | None = None
    raw: bytes | None = None


def error(status: int, code: str, message: str) -> HttpAnswer:
    """A Graph error answer (``{"error": {"code", "message", "innerError"}}``)."""
    return answer(Reply(status, {"error": {"code": code, "message": message}}))


def answer(reply: Reply) -> HttpAnswer:
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
    return HttpAnswer(reply.status, body, headers)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Set by the owner before serving: (method, target, lower-cased headers, body) -> answer.
    dispatch: Callable[[str, str, Mapping[str, str], bytes], HttpAnswer]
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
        wrapped = tls.wrap(self.ssl_context, request)
        if wrapped is None:
            return
        try:
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "iepsched-graph-sandbox/1.0"
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus the client's
    # delayed ACK would add ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True
    server: Server

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
            answer = self.server.dispatch(self.command, self.path, headers, body)
        except Drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        except Exception:  # a sandbox bug must not kill the connection thread silently
            logger.exception("sandbox failure on %s %s", self.command, self.path)
            answer = error(500, "InternalServerError", "The sandbox failed; see its log.")
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

"""Graph v1.0 routing: one request (an HTTP request or a $batch item) in, one reply out.

Throttling, faults, latency and the batch envelope live in :mod:`pipeline` and :mod:`batch`;
this module only finds the resource: calendar paths go to :mod:`event_routes`, To Do paths to
:mod:`todo_routes`. Every reply body that carries an event or task is built by
:mod:`event_render` / :mod:`todo` and is valid against Microsoft's schema.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from . import access, event_routes, timezones, todo_routes
from .context import RequestContext
from .messages import ItemRequest, Reply
from .store import GraphError, Mailbox, Store
from .view import View

logger = logging.getLogger(__name__)

_PREFER_RE = re.compile(r'([\w.\-]+)\s*=\s*(?:"([^"]*)"|([^,;\s]+))')


def parse_prefer(headers: Mapping[str, str]) -> dict[str, str]:
    """Prefer header preferences, keys lower-cased: {"outlook.timezone": "UTC", ...}."""
    found: dict[str, str] = {}
    for match in _PREFER_RE.finditer(headers.get("prefer", "")):
        found[match.group(1).lower()] = (
            match.group(2) if match.group(2) is not None else match.group(3)
        )
    return found


def mailbox_of(url: str) -> str | None:
    """The mailbox a Graph URL addresses (``/users/{u}/...``), lower-cased; None otherwise."""
    parts = [unquote(p) for p in urlsplit(url).path.split("/") if p]
    if len(parts) >= 2 and parts[0].lower() == "users":
        return parts[1].strip().lower()
    return None


def is_write(method: str, url: str) -> bool:
    """Whether a request may change data (getSchedule is a POST that only reads)."""
    if method.upper() not in ("POST", "PATCH", "DELETE", "PUT"):
        return False
    return not urlsplit(url).path.lower().rstrip("/").endswith("/getschedule")


class GraphApi:
    """Routes requests to the calendar and To Do handlers under the store lock."""

    def __init__(self, store: Store, graph_url: Callable[[], str]) -> None:
        self.store = store
        self._graph_url = graph_url

    # --- entry point ---------------------------------------------------------------------------

    def handle(self, req: ItemRequest) -> Reply:
        """Answer one request; GraphError becomes the error reply (request-id added later)."""
        try:
            with self.store.lock:
                return self._route(req)
        except GraphError as exc:
            return Reply(
                exc.status,
                {"error": {"code": exc.code, "message": exc.message}},
                dict(exc.headers),
            )
        except Exception:  # a sandbox bug answers this item 500 instead of killing a batch
            logger.exception("sandbox failure on %s %s", req.method, req.url)
            return Reply(
                500,
                {"error": {"code": "InternalServerError", "message": "The sandbox failed."}},
            )

    def _route(self, req: ItemRequest) -> Reply:
        split = urlsplit(req.url)
        raw_segments = [p for p in split.path.split("/") if p]
        segments = [unquote(p) for p in raw_segments]
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        method = req.method.upper()
        if not segments:
            raise GraphError(400, "BadRequest", "Invalid request: no resource given.")
        head = segments[0].lower()
        if head == "me":
            raise GraphError(
                400,
                "BadRequest",
                "/me request is only valid with delegated authentication flow.",
            )
        if head != "users" or len(segments) < 3:
            raise GraphError(
                400, "BadRequest", f"Resource not found for the segment '{segments[0]}'."
            )
        access.check_roles(req.roles, method, [s.lower() for s in segments[2:]])
        self.store.tenant.check(segments[1], segments[2])
        prefer = parse_prefer(req.headers)
        zone = prefer.get("outlook.timezone")
        applied: list[str] = []
        if zone is not None:
            if not timezones.is_known(zone):
                # Graph refuses the request rather than falling back to UTC (docs issue #6870).
                raise GraphError(
                    400, "TimeZoneNotSupportedException", timezones.not_supported_message(zone)
                )
            applied.append(f'outlook.timezone="{zone}"')
        view = View(
            graph_url=self._graph_url(),
            user_segment=segments[1],
            zone=zone,
            text_body=prefer.get("outlook.body-content-type", "").lower() == "text",
        )
        ctx = RequestContext(
            self.store, req, method, segments, raw_segments, query, prefer, view, applied
        )
        box = self.store.mailbox(segments[1])
        rest = segments[2:]
        names = [s.lower() for s in rest]
        # /users/{u}/calendar/events... is the same collection as /users/{u}/events...
        if names[:1] == ["calendar"] and names[1:2] in (["events"], ["calendarview"]):
            rest, names = rest[1:], names[1:]
        reply = self._dispatch(ctx, box, rest, names)
        if applied and reply.status < 400:
            reply.headers["Preference-Applied"] = ", ".join(applied)
        return reply

    def _dispatch(
        self, ctx: RequestContext, box: Mailbox, rest: list[str], names: list[str]
    ) -> Reply:
        n = len(names)
        if names[0] == "events":
            if n == 1:
                ctx.allow("GET", "POST")
                return event_routes.events_collection(ctx, box)
            if n == 2:
                ctx.allow("GET", "PATCH", "DELETE")
                return event_routes.event_item(ctx, box, rest[1])
            if n == 3 and names[2] == "cancel":
                ctx.allow("POST")
                return event_routes.cancel(ctx, box, rest[1])
        if names[0] == "calendarview":
            if n == 1:
                ctx.allow("GET")
                return event_routes.calendar_view(ctx, box)
            if n == 2 and names[1] == "delta":
                ctx.allow("GET")
                return event_routes.calendar_delta(ctx, box)
        if names == ["calendar", "getschedule"]:
            ctx.allow("POST")
            return event_routes.get_schedule(ctx)
        if names[:2] == ["todo", "lists"]:
            return todo_routes.route(ctx, box, rest[2:], names[2:])
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[-1]}'.")

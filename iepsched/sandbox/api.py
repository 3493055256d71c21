"""Graph v1.0 routing: one request (an HTTP request or a $batch item) in, one reply out.

Throttling, faults, latency and the batch envelope live in :mod:`server`; this module only knows
resources. Every reply body that carries an event or task is built by :mod:`events` /
:mod:`todo` and is valid against Microsoft's schema.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from . import events, odata, shapes, timezones, todo
from .events import View
from .store import GraphError, Mailbox, Store

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
_PREFER_RE = re.compile(r'([\w.\-]+)\s*=\s*(?:"([^"]*)"|([^,;\s]+))')


@dataclass
class ItemRequest:
    """A request as the resource layer sees it (HTTP and batch items alike)."""

    method: str
    url: str  # path and query relative to /v1.0, e.g. "/users/a@b.org/events?$top=5"
    headers: Mapping[str, str]  # keys lower-cased
    body: bytes = b""


@dataclass
class Reply:
    """A response: status, JSON body (or None) and headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    wrote: bool = False  # data changed (counts as a write in the stats)
    read: bool = False
    drop_after: bool = False  # a fault: applied, but the connection is to close unanswered


def error_body(code: str, message: str, request_id: str, date: str) -> dict[str, Any]:
    """Graph's error envelope."""
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"date": date, "request-id": request_id, "client-request-id": request_id},
        }
    }


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
        prefer = parse_prefer(req.headers)
        zone = prefer.get("outlook.timezone")
        applied: list[str] = []
        if zone is not None and timezones.is_known(zone):
            applied.append(f'outlook.timezone="{zone}"')
        else:
            zone = None  # Graph falls back to UTC for a zone it does not know
        view = View(
            graph_url=self._graph_url(),
            user_segment=segments[1],
            zone=zone,
            text_body=prefer.get("outlook.body-content-type", "").lower() == "text",
        )
        ctx = _Ctx(self, req, method, segments, raw_segments, query, prefer, view, applied)
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

    def _dispatch(self, ctx: _Ctx, box: Mailbox, rest: list[str], names: list[str]) -> Reply:
        n = len(names)
        if names[0] == "events":
            if n == 1:
                ctx.allow("GET", "POST")
                return self._events_collection(ctx, box)
            if n == 2:
                ctx.allow("GET", "PATCH", "DELETE")
                return self._event_item(ctx, box, rest[1])
            if n == 3 and names[2] == "cancel":
                ctx.allow("POST")
                return self._cancel(ctx, box, rest[1])
        if names[0] == "calendarview":
            if n == 1:
                ctx.allow("GET")
                return self._calendar_view(ctx, box)
            if n == 2 and names[1] == "delta":
                ctx.allow("GET")
                return self._calendar_delta(ctx, box)
        if names == ["calendar", "getschedule"]:
            ctx.allow("POST")
            return self._get_schedule(ctx)
        if names[:2] == ["todo", "lists"]:
            return self._todo(ctx, box, rest[2:], names[2:])
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[-1]}'.")

    # --- calendar ------------------------------------------------------------------------------

    def _events_collection(self, ctx: _Ctx, box: Mailbox) -> Reply:
        if ctx.method == "POST":
            body = ctx.json_body("event", code="ErrorInvalidRequest")
            ev = events.create(self.store, box, shapes.canonical("event", body))
            return Reply(201, events.render(ev, ctx.view), wrote=True)
        expand = ctx.ext_expand()
        select = ctx.select()
        flt = ctx.query_option("$filter")
        matcher = _event_matcher(flt) if flt is not None else None
        items = [
            ev for ev in box.events.values() if matcher is None or matcher(events.filter_view(ev))
        ]
        rendered = [
            events.render(ev, ctx.view, expand_ext=expand, select=select, context=None)
            for ev in items
        ]
        rendered = ctx.order(rendered)
        return ctx.page(rendered, f"users('{ctx.user}')/events")

    def _event_item(self, ctx: _Ctx, box: Mailbox, event_id: str) -> Reply:
        ev, occ = events.find(box, event_id)
        if ctx.method == "GET":
            body = events.render(
                ev, ctx.view, expand_ext=ctx.ext_expand(), select=ctx.select(), occurrence=occ
            )
            return Reply(200, body, read=True)
        if occ is not None:
            raise GraphError(
                400, "ErrorInvalidRequest", "The sandbox does not support changing one occurrence."
            )
        ctx.check_if_match(ev.change_key)
        if ctx.method == "DELETE":
            events.remove(self.store, box, ev)
            return Reply(204, wrote=True)
        body = ctx.json_body("event", code="ErrorInvalidRequest")
        events.patch(self.store, box, ev, shapes.canonical("event", body))
        return Reply(200, events.render(ev, ctx.view), wrote=True)

    def _cancel(self, ctx: _Ctx, box: Mailbox, event_id: str) -> Reply:
        ev, occ = events.find(box, event_id)
        if occ is not None:
            raise GraphError(
                400,
                "ErrorInvalidRequest",
                "The sandbox does not support cancelling one occurrence.",
            )
        body = ctx.json_body(None, code="ErrorInvalidRequest", required=False) or {}
        params = {k.lower(): v for k, v in body.items()}
        unknown = set(params) - {"comment"}
        if unknown:
            raise GraphError(
                400,
                "ErrorInvalidRequest",
                f"The parameter '{sorted(unknown)[0]}' in the request payload is not a valid "
                "parameter for the operation 'cancel'.",
            )
        comment = params.get("comment")
        if comment is not None and not isinstance(comment, str):
            raise GraphError(400, "ErrorInvalidRequest", "comment must be a string.")
        events.cancel(self.store, box, ev, comment, ctx.view)
        return Reply(202, wrote=True)

    def _calendar_view(self, ctx: _Ctx, box: Mailbox) -> Reply:
        lo, hi = events.window(ctx.query)
        select = ctx.select()
        expand = ctx.ext_expand()
        flt = ctx.query_option("$filter")
        matcher = _event_matcher(flt) if flt is not None else None
        rendered = []
        for ev, occ in events.calendar_view(box, lo, hi):
            if matcher is not None and not matcher(events.filter_view(ev)):
                continue
            rendered.append(
                events.render(
                    ev, ctx.view, expand_ext=expand, select=select, context=None, occurrence=occ
                )
            )
        return ctx.page(ctx.order(rendered), f"users('{ctx.user}')/calendarView")

    def _calendar_delta(self, ctx: _Ctx, box: Mailbox) -> Reply:
        for option in ("$select", "$expand", "$filter", "$orderby", "$search"):
            if ctx.query_option(option) is not None:
                raise GraphError(
                    400,
                    "ErrorInvalidUrlQuery",
                    f"{option} is not supported for calendarView/delta.",
                )
        state = ctx.delta_state(box.key, "calendarView")
        if state is None:
            lo, hi = events.window(ctx.query)
            state = {"lo": lo.isoformat(), "hi": hi.isoformat(), "since": 0, "snap": self.store.seq}
        lo, hi = datetime.fromisoformat(state["lo"]), datetime.fromisoformat(state["hi"])
        entries = events.delta_entries(
            self.store, box, lo, hi, state["since"], state["snap"], ctx.view
        )
        return ctx.delta_page(
            entries, state, "calendarView", "calendarView/delta", "Collection(event)"
        )

    def _get_schedule(self, ctx: _Ctx) -> Reply:
        body = ctx.json_body(None, code="ErrorInvalidRequest")
        value = events.get_schedule(self.store, body, ctx.view.zone)
        return Reply(
            200,
            {
                "@odata.context": f"{ctx.view.graph_url}/$metadata"
                "#Collection(microsoft.graph.scheduleInformation)",
                "value": value,
            },
            read=True,
        )

    # --- To Do ---------------------------------------------------------------------------------

    def _todo(self, ctx: _Ctx, box: Mailbox, rest: list[str], names: list[str]) -> Reply:
        n = len(names)
        base = f"users('{ctx.user}')/todo/lists"
        if n == 0:
            ctx.allow("GET", "POST")
            if ctx.method == "POST":
                body = ctx.json_body("todoTaskList", code="invalidRequest")
                tl = todo.create_list(self.store, box, body)
                return Reply(201, todo.render_list(tl, ctx.view), wrote=True)
            lists = [todo.render_list(tl, ctx.view, context=False) for tl in box.lists.values()]
            return ctx.page(lists, base)
        tl = todo.find_list(box, rest[0])
        if n == 1:
            ctx.allow("GET", "PATCH", "DELETE")
            if ctx.method == "GET":
                return Reply(200, todo.render_list(tl, ctx.view), read=True)
            ctx.check_if_match(tl.change_key)
            if ctx.method == "DELETE":
                todo.delete_list(self.store, box, tl)
                return Reply(204, wrote=True)
            body = ctx.json_body("todoTaskList", code="invalidRequest")
            todo.patch_list(self.store, tl, body)
            return Reply(200, todo.render_list(tl, ctx.view), wrote=True)
        if names[1] != "tasks":
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[1]}'.")
        tasks_base = f"{base}('{quote(tl.id)}')/tasks"
        if n == 2:
            ctx.allow("GET", "POST")
            if ctx.method == "POST":
                body = ctx.json_body("todoTask", code="invalidRequest")
                task = todo.create_task(self.store, box, tl, shapes.canonical("todoTask", body))
                expand: set[str] = {k for k in ("checklistItems", "linkedResources") if k in body}
                out = todo.render_task(task, ctx.view, expand=expand, list_segment=tl.id)
                return Reply(201, out, wrote=True)
            return self._list_tasks(ctx, tl, tasks_base)
        if n == 3 and names[2] == "delta":
            ctx.allow("GET")
            state = ctx.delta_state(box.key, f"tasks:{tl.id}")
            if state is None:
                state = {"since": 0, "snap": self.store.seq}
            entries = todo.delta_entries(box, tl, state["since"], state["snap"], ctx.view)
            return ctx.delta_page(
                entries,
                state,
                f"tasks:{tl.id}",
                f"todo/lists/{quote(tl.id)}/tasks/delta",
                "Collection(todoTask)",
            )
        task = todo.find_task(tl, rest[2])
        if n == 3:
            ctx.allow("GET", "PATCH", "DELETE")
            if ctx.method == "GET":
                wanted = set(ctx.expand_names({"checklistItems", "linkedResources"}))
                body = todo.render_task(
                    task, ctx.view, expand=wanted, select=ctx.select(), list_segment=tl.id
                )
                return Reply(200, body, read=True)
            ctx.check_if_match(task.change_key)
            if ctx.method == "DELETE":
                todo.delete_task(self.store, box, tl, task)
                return Reply(204, wrote=True)
            patch_body = ctx.json_body("todoTask", code="invalidRequest")
            for nav in ("checklistItems", "linkedResources"):
                if nav in patch_body:
                    raise GraphError(
                        400, "invalidRequest", f"{nav} cannot be changed with PATCH on the task."
                    )
            todo.patch_task(self.store, box, tl, task, shapes.canonical("todoTask", patch_body))
            return Reply(200, todo.render_task(task, ctx.view, list_segment=tl.id), wrote=True)
        kind = names[3]
        if kind not in ("checklistitems", "linkedresources"):
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[3]}'.")
        is_checklist = kind == "checklistitems"
        type_name = "checklistItem" if is_checklist else "linkedResource"
        coll = task.checklist if is_checklist else task.linked
        nav_name = "checklistItems" if is_checklist else "linkedResources"
        item_base = f"{tasks_base}('{quote(task.id)}')/{nav_name}"
        if n == 4:
            ctx.allow("GET", "POST")
            if ctx.method == "POST":
                body = ctx.json_body(type_name, code="invalidRequest")
                item = (
                    todo.add_checklist_item(self.store, task, body)
                    if is_checklist
                    else todo.add_linked_resource(self.store, task, body)
                )
                out = {
                    "@odata.context": f"{ctx.view.graph_url}/$metadata#{item_base}/$entity",
                    **item,
                }
                return Reply(201, out, wrote=True)
            return ctx.page([dict(v) for v in coll.values()], item_base)
        if n == 5:
            ctx.allow("GET", "PATCH", "DELETE")
            found = coll.get(rest[4])
            if found is None:
                raise todo.not_found("checklist item" if is_checklist else "linked resource")
            item = found
            if ctx.method == "GET":
                out = {
                    "@odata.context": f"{ctx.view.graph_url}/$metadata#{item_base}/$entity",
                    **item,
                }
                return Reply(200, out, read=True)
            if ctx.method == "DELETE":
                del coll[item["id"]]
                todo.touch(self.store, task)
                return Reply(204, wrote=True)
            body = ctx.json_body(type_name, code="invalidRequest")
            if is_checklist:
                todo.patch_checklist_item(self.store, task, item, body)
            else:
                todo.patch_linked_resource(self.store, task, item, body)
            out = {"@odata.context": f"{ctx.view.graph_url}/$metadata#{item_base}/$entity", **item}
            return Reply(200, out, wrote=True)
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[-1]}'.")

    def _list_tasks(self, ctx: _Ctx, tl: Any, tasks_base: str) -> Reply:
        expand = set(ctx.expand_names({"checklistItems", "linkedResources"}))
        flt = ctx.query_option("$filter")
        matcher = _task_matcher(flt) if flt is not None else None
        select = ctx.select()
        rendered = []
        for task in tl.tasks.values():
            full = todo.render_task(task, ctx.view, expand=expand, context=None)
            if matcher is not None and not matcher(full):
                continue
            rendered.append(
                todo.render_task(task, ctx.view, expand=expand, select=select, context=None)
                if select
                else full
            )
        return ctx.page(ctx.order(rendered), tasks_base)


# --- per-request context -----------------------------------------------------------------------


@dataclass
class _Ctx:
    api: GraphApi
    req: ItemRequest
    method: str
    segments: list[str]
    raw_segments: list[str]
    query: dict[str, str]
    prefer: dict[str, str]
    view: View
    applied: list[str]

    @property
    def user(self) -> str:
        return quote(self.segments[1])

    def allow(self, *methods: str) -> None:
        if self.method not in methods:
            raise GraphError(
                405,
                "BadRequest",
                f"The HTTP method '{self.method}' is not allowed on this resource "
                f"(allowed: {', '.join(methods)}).",
            )

    def query_option(self, name: str) -> str | None:
        for key, value in self.query.items():
            if key.lower() == name.lower():
                return value
        return None

    def json_body(
        self, type_name: str | None, *, code: str, required: bool = True
    ) -> dict[str, Any]:
        raw = self.req.body
        if not raw.strip():
            if required:
                raise GraphError(400, code, "Empty request body; a JSON object is required.")
            return {}
        content_type = self.req.headers.get("content-type", "")
        if "json" not in content_type.lower():
            raise GraphError(
                415,
                "UnsupportedMediaType",
                f"The request body must be sent with Content-Type: application/json "
                f"(got {content_type or 'none'!r}).",
            )
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise GraphError(400, code, f"Invalid JSON in request body: {exc}") from exc
        if not isinstance(body, dict):
            raise GraphError(400, code, "The request body must be a JSON object.")
        if type_name is not None:
            shapes.require_valid(type_name, body, code=code)
        return body

    def select(self) -> list[str] | None:
        raw = self.query_option("$select")
        return odata.parse_select(raw) if raw else None

    def expand_names(self, allowed: set[str]) -> list[str]:
        raw = self.query_option("$expand")
        if not raw:
            return []
        try:
            parsed = odata.parse_expand(raw)
        except odata.ODataError as exc:
            raise GraphError(400, "BadRequest", str(exc)) from exc
        lookup = {a.lower(): a for a in allowed}
        out = []
        for name in parsed:
            if name.lower() not in lookup:
                raise GraphError(
                    400, "BadRequest", f"Could not find a property named '{name}' to expand."
                )
            out.append(lookup[name.lower()])
        return out

    def ext_expand(self) -> list[tuple[str, ...]] | None:
        """Keys of the extended properties requested with $expand=singleValueExtendedProperties."""
        raw = self.query_option("$expand")
        if not raw:
            return None
        try:
            parsed = odata.parse_expand(raw)
        except odata.ODataError as exc:
            raise GraphError(400, "ErrorInvalidUrlQuery", str(exc)) from exc
        keys: list[tuple[str, ...]] = []
        for name, options in parsed.items():
            if name.lower() != "singlevalueextendedproperties":
                raise GraphError(
                    400,
                    "ErrorInvalidUrlQuery",
                    f"Could not find a property named '{name}' to expand.",
                )
            flt = options.get("$filter")
            if flt is None:
                raise GraphError(
                    400,
                    "ErrorInvalidUrlQuery",
                    "singleValueExtendedProperties can only be expanded with "
                    "$filter=id eq '{property id}'.",
                )
            keys.extend(_ext_ids_in(flt))
        return keys

    def check_if_match(self, change_key: str) -> None:
        wanted = self.req.headers.get("if-match")
        if wanted is None or wanted.strip() == "*":
            return
        tags = {t.strip() for t in wanted.split(",")}
        if shapes.etag(change_key) not in tags and f'"{change_key}"' not in tags:
            raise GraphError(
                412,
                "ErrorIrresolvableConflict",
                "The send or update operation could not be performed because the change key "
                "passed in the request does not match the current change key for the item.",
            )

    def order(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        raw = self.query_option("$orderby")
        if not raw:
            return items
        try:
            keys = odata.parse_orderby(raw)
        except odata.ODataError as exc:
            raise GraphError(400, "BadRequest", str(exc)) from exc
        for path, desc in reversed(keys):  # stable sorts, least significant key first
            items = sorted(items, key=_sorter(path), reverse=desc)
        return items

    def page_size(self) -> int:
        top = self.query_option("$top")
        size = DEFAULT_PAGE_SIZE
        max_page = self.prefer.get("odata.maxpagesize")
        if max_page is not None:
            try:
                size = max(1, min(int(max_page), MAX_PAGE_SIZE))
                self.applied.append(f"odata.maxpagesize={size}")
            except ValueError:
                pass
        if top is not None:
            try:
                value = int(top)
            except ValueError as exc:
                raise GraphError(400, "BadRequest", f"Invalid $top value {top!r}.") from exc
            if value < 1:
                raise GraphError(400, "BadRequest", "$top must be at least 1.")
            size = min(value, MAX_PAGE_SIZE) if max_page is None else min(value, size)
        return size

    def page(self, items: list[dict[str, Any]], context_path: str) -> Reply:
        size = self.page_size()
        skip_text = self.query_option("$skip") or "0"
        try:
            skip = max(0, int(skip_text))
        except ValueError as exc:
            raise GraphError(400, "BadRequest", f"Invalid $skip value {skip_text!r}.") from exc
        chunk = items[skip : skip + size]
        body: dict[str, Any] = {"@odata.context": f"{self.view.graph_url}/$metadata#{context_path}"}
        if skip + size < len(items):
            params = {k: v for k, v in self.query.items() if k.lower() != "$skip"}
            params["$skip"] = str(skip + size)
            body["@odata.nextLink"] = self._link(params)
        body["value"] = chunk
        return Reply(200, body, read=True)

    def _link(self, params: Mapping[str, str]) -> str:
        path = "/" + "/".join(self.raw_segments)
        query = urlencode(dict(params), quote_via=quote, safe="$'(),:@/")
        return f"{self.view.graph_url}{path}?{query}"

    # --- delta ---------------------------------------------------------------------------------

    def delta_state(self, mailbox: str, scope: str) -> dict[str, Any] | None:
        """The state a $skiptoken/$deltatoken carries, or None for an initial request.

        A skip token continues a round (same snapshot); a delta token starts a new round that
        reports what changed after the previous round's snapshot.
        """
        token = self.query_option("$skiptoken") or self.query_option("$deltatoken")
        if token is None:
            return None
        try:
            padded = token + "=" * (-len(token) % 4)
            state: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
        except (ValueError, binascii.Error) as exc:
            raise GraphError(400, "BadRequest", "The delta or skip token is malformed.") from exc
        if (
            not isinstance(state, dict)
            or state.get("epoch") != self.api.store.epoch
            or state.get("mailbox") != mailbox
            or state.get("scope") != scope
        ):
            raise GraphError(
                410,
                "syncStateNotFound",
                "The sync state for this token is not found; restart with a full sync.",
            )
        if state.get("snap") is None:
            state["snap"] = self.api.store.seq
        return state

    def delta_page(
        self,
        entries: list[tuple[tuple[int, str], dict[str, Any]]],
        state: dict[str, Any],
        scope: str,
        path_tail: str,
        context: str,
    ) -> Reply:
        size = DEFAULT_PAGE_SIZE
        max_page = self.prefer.get("odata.maxpagesize")
        if max_page and max_page.isdigit():
            size = max(1, min(int(max_page), MAX_PAGE_SIZE))
            self.applied.append(f"odata.maxpagesize={size}")
        cursor = tuple(state.get("cursor") or (0, ""))
        remaining = [(k, v) for k, v in entries if k > cursor]
        chunk = remaining[:size]
        body: dict[str, Any] = {"@odata.context": f"{self.view.graph_url}/$metadata#{context}"}
        base = f"{self.view.graph_url}/users/{self.user}/{path_tail}"
        common = {
            "epoch": self.api.store.epoch,
            "mailbox": self.segments[1].strip().lower(),
            "scope": scope,
        }
        if len(remaining) > size:
            nxt = {**state, **common, "cursor": list(chunk[-1][0])}
            body["@odata.nextLink"] = f"{base}?$skiptoken={_token(nxt)}"
        else:
            done = {k: v for k, v in state.items() if k != "cursor"}
            done.update(common, since=state["snap"], snap=None)
            body["@odata.deltaLink"] = f"{base}?$deltatoken={_token(done)}"
        body["value"] = [item for _, item in chunk]
        return Reply(200, body, read=True)


def _sorter(path: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    def key(item: dict[str, Any]) -> tuple[int, Any]:
        return odata.sort_key(item, path)

    return key


def _token(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# --- filters -----------------------------------------------------------------------------------

_EXT_COLLECTIONS = {"singlevalueextendedproperties"}
# Extended-property ids compare by their parts (GUID/type case-insensitive, Name exact).
_EXT_KEYS: dict[tuple[str, str], Callable[[str], Any]] = {
    ("singlevalueextendedproperties", "id"): shapes.ext_key_or_text,
}


def _parse(flt: str, code: str) -> odata.Node:
    try:
        return odata.parse_filter(flt)
    except odata.ODataError as exc:
        raise GraphError(400, code, f"Invalid filter clause: {exc}") from exc


def _event_matcher(flt: str) -> Callable[[dict[str, Any]], bool]:
    node = _parse(flt, "ErrorInvalidUrlQueryFilter")
    for part in odata.walk(node):
        if isinstance(part, odata.Lambda):
            if part.collection.segments[-1].lower() not in _EXT_COLLECTIONS:
                raise GraphError(
                    400,
                    "ErrorInvalidUrlQueryFilter",
                    f"Lambda filters are only supported on singleValueExtendedProperties, "
                    f"not {'/'.join(part.collection.segments)}.",
                )
            if part.body is None or not _ext_ids_in_node(part.body):
                raise GraphError(
                    400,
                    "ErrorInvalidUrlQueryFilter",
                    "An extended property filter must compare ep/id with eq.",
                )
            for prop_id in _ext_ids_in_node(part.body):
                try:
                    shapes.ext_key(prop_id)
                except ValueError as exc:
                    raise GraphError(400, "ErrorInvalidUrlQueryFilter", str(exc)) from exc

    def match(item: dict[str, Any]) -> bool:
        return odata.evaluate(node, odata.Context(item, keys=_EXT_KEYS)) is True

    return match


def _ext_ids_in_node(node: odata.Node) -> list[str]:
    found: list[str] = []
    for part in odata.walk(node):
        if (
            isinstance(part, odata.BinOp)
            and part.op == "eq"
            and isinstance(part.left, odata.Path)
            and part.left.segments[-1].lower() == "id"
            and isinstance(part.right, odata.Literal)
            and isinstance(part.right.value, str)
        ):
            found.append(part.right.value)
    return found


def _ext_ids_in(flt: str) -> list[tuple[str, ...]]:
    node = _parse(flt, "ErrorInvalidUrlQuery")
    ids = _ext_ids_in_node(node)
    if not ids:
        raise GraphError(
            400, "ErrorInvalidUrlQuery", "Expand the extended property with $filter=id eq '{id}'."
        )
    keys = []
    for prop_id in ids:
        try:
            keys.append(shapes.ext_key(prop_id))
        except ValueError as exc:
            raise GraphError(400, "ErrorInvalidUrlQuery", str(exc)) from exc
    return keys


_TASK_FILTERABLE = {
    "status",
    "importance",
    "title",
    "isreminderon",
    "createddatetime",
    "lastmodifieddatetime",
    "duedatetime",
    "completeddatetime",
    "categories",
    "hasattachments",
    "id",
}


def _task_matcher(flt: str) -> Callable[[dict[str, Any]], bool]:
    node = _parse(flt, "invalidRequest")
    for part in odata.walk(node):
        if isinstance(part, odata.Lambda):
            raise GraphError(400, "invalidRequest", "Invalid filter clause: lambda not supported.")
        if isinstance(part, odata.Path) and part.segments[0].lower() not in _TASK_FILTERABLE:
            raise GraphError(
                400,
                "invalidRequest",
                f"Invalid filter clause: unknown property {part.segments[0]!r}.",
            )

    def match(item: dict[str, Any]) -> bool:
        return odata.evaluate(node, odata.Context(item)) is True

    return match

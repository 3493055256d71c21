"""The per-request context: query options, Prefer, JSON bodies, If-Match, paging and delta links.

Route handlers (:mod:`event_routes`, :mod:`todo_routes`) read the request only through it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from . import odata, shapes
from .filters import ext_ids_in
from .messages import ItemRequest, Reply
from .store import GraphError, Store
from .view import View

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000


@dataclass
class RequestContext:
    """One request as the route handlers see it."""

    store: Store
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
            keys.extend(ext_ids_in(flt))
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
            or state.get("epoch") != self.store.epoch
            or state.get("mailbox") != mailbox
            or state.get("scope") != scope
        ):
            raise GraphError(
                410,
                "syncStateNotFound",
                "The sync state for this token is not found; restart with a full sync.",
            )
        if state.get("snap") is None:
            state["snap"] = self.store.seq
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
            "epoch": self.store.epoch,
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

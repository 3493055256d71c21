"""$filter for events and To Do tasks: parse once, reject what Graph rejects, then match items."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import odata, shapes
from .store import GraphError

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


def event_matcher(flt: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate over :func:`event_render.filter_view` items; extended properties by id."""
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


def ext_ids_in(flt: str) -> list[tuple[str, ...]]:
    """Keys of the extended-property ids a $expand filter names (``id eq '...'``)."""
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


def task_matcher(flt: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate over rendered tasks; only the properties To Do filters on."""
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

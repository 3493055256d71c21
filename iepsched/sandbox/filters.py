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


# What Exchange answers a filter it cannot run (observed for undocumented lambda shapes, e.g.
# toRecipients/any(...); clients quote it verbatim).
INVALID_NODES = "The query filter contains one or more invalid nodes."
# The value tests singlevaluelegacyextendedproperty-get documents: eq/ne/ge/gt/le/lt on
# ep/value (strings take eq/ne), contains(ep/value, '…') and startswith(ep/value, '…').
_VALUE_OPS = {"eq", "ne", "ge", "gt", "le", "lt"}
_VALUE_FUNCTIONS = {"contains", "startswith"}


def event_matcher(flt: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate over :func:`event_render.filter_view` items; extended properties by id.

    A lambda must be the documented extended-property form — ``singleValueExtendedProperties/
    Any(ep: ep/id eq '{id}' and <a test of ep/value>)`` — or Graph's 400 comes back: a filter on
    the id alone, on the value alone, or over another collection is not documented.
    """
    node = _parse(flt, "ErrorInvalidUrlQueryFilter")
    for part in odata.walk(node):
        if isinstance(part, odata.Lambda):
            if part.collection.segments[-1].lower() not in _EXT_COLLECTIONS:
                raise GraphError(400, "ErrorInvalidUrlQueryFilter", INVALID_NODES)
            prop_id = _documented_ext_lambda(part)
            if prop_id is None:
                raise GraphError(400, "ErrorInvalidUrlQueryFilter", INVALID_NODES)
            try:
                shapes.ext_key(prop_id)
            except ValueError as exc:
                raise GraphError(400, "ErrorInvalidUrlQueryFilter", str(exc)) from exc

    def match(item: dict[str, Any]) -> bool:
        return odata.evaluate(node, odata.Context(item, keys=_EXT_KEYS)) is True

    return match


def _documented_ext_lambda(part: odata.Lambda) -> str | None:
    """The property id of ``Any(ep: ep/id eq '{id}' and <value test>)``; None for another shape."""
    body, var = part.body, part.var
    if part.kind.lower() != "any" or var is None or not isinstance(body, odata.BinOp):
        return None
    if body.op != "and":
        return None
    for id_test, value_test in ((body.left, body.right), (body.right, body.left)):
        prop_id = _id_test(id_test, var)
        if prop_id is not None and _is_value_test(value_test, var):
            return prop_id
    return None


def _id_test(node: odata.Node, var: str) -> str | None:
    if (
        isinstance(node, odata.BinOp)
        and node.op == "eq"
        and node.left == odata.Path((var, "id"))
        and isinstance(node.right, odata.Literal)
        and isinstance(node.right.value, str)
    ):
        return node.right.value
    return None


def _is_value_test(node: odata.Node, var: str) -> bool:
    value = odata.Path((var, "value"))
    if isinstance(node, odata.BinOp) and node.op in _VALUE_OPS:
        return node.left == value and isinstance(node.right, odata.Literal)
    if isinstance(node, odata.Call) and node.name.lower() in _VALUE_FUNCTIONS:
        return (
            len(node.args) == 2
            and node.args[0] == value
            and isinstance(node.args[1], odata.Literal)
            and isinstance(node.args[1].value, str)
        )
    return False


def ext_ids_in(flt: str) -> list[tuple[str, ...]]:
    """Keys of the extended-property ids a $expand filter names: ``id eq '{id}'`` (the documented
    form), several joined with ``or``; any other test of the id is Graph's 400."""
    node = _parse(flt, "ErrorInvalidUrlQuery")
    ids = _or_of_id_tests(node)
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


def _or_of_id_tests(node: odata.Node) -> list[str]:
    """The ids of ``id eq 'a' [or id eq 'b' ...]``; empty for any other shape."""
    if isinstance(node, odata.BinOp) and node.op == "or":
        left, right = _or_of_id_tests(node.left), _or_of_id_tests(node.right)
        return left + right if left and right else []
    if (
        isinstance(node, odata.BinOp)
        and node.op == "eq"
        and isinstance(node.left, odata.Path)
        and [s.lower() for s in node.left.segments] == ["id"]
        and isinstance(node.right, odata.Literal)
        and isinstance(node.right.value, str)
    ):
        return [node.right.value]
    return []


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

"""The slice of OData v4 query options Graph clients send: $filter, $select, $expand, $orderby.

The filter grammar covers what iepsched and Microsoft's docs use::

    singleValueExtendedProperties/Any(ep: ep/id eq '{id}' and ep/value eq '{v}')
    singleValueExtendedProperties/any(ep: ep/id eq '{id}' and startswith(ep/value, 'S1'))
    status ne 'completed' and importance eq 'high'
    start/dateTime ge '2026-09-01T00:00:00'

String comparisons are case-insensitive, as Exchange's are; a caller can mark paths whose values
need a special comparison (extended-property ids: the GUID and type are case-insensitive, the
Name part is not).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import timezones


class ODataError(ValueError):
    """A query option the sandbox cannot read; the message says what and where."""


# --- AST -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    """A constant: string, number, bool, None or datetime."""

    value: Any


@dataclass(frozen=True)
class Path:
    """A property path such as ``start/dateTime`` or ``ep/value``."""

    segments: tuple[str, ...]


@dataclass(frozen=True)
class Lambda:
    """``collection/any(var: predicate)`` (or ``all``)."""

    collection: Path
    kind: str  # "any" | "all"
    var: str | None
    body: Node | None


@dataclass(frozen=True)
class Call:
    """A function call such as ``startswith(ep/value, 'x')``."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class BinOp:
    """A comparison (eq ne gt ge lt le) or a logical operator (and or)."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    """``not expr``."""

    operand: Node


Node = Literal | Path | Lambda | Call | BinOp | Not

_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"startswith", "endswith", "contains", "tolower", "toupper", "trim"}

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_$@][\w.@$]*)
  | (?P<punct>[(),/:])
    """,
    re.VERBOSE,
)


@dataclass
class _Tokens:
    items: list[tuple[str, str]]
    pos: int = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        index = self.pos + offset
        return self.items[index] if index < len(self.items) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise ODataError("unexpected end of expression")
        self.pos += 1
        return tok

    def accept(self, kind: str, value: str | None = None) -> bool:
        tok = self.peek()
        if tok and tok[0] == kind and (value is None or tok[1].lower() == value):
            self.pos += 1
            return True
        return False

    def expect(self, kind: str, value: str) -> None:
        if not self.accept(kind, value):
            found = self.peek()
            raise ODataError(f"expected {value!r} but found {found[1] if found else 'the end'!r}")


def _tokenize(text: str) -> _Tokens:
    items: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match:
            raise ODataError(f"syntax error at position {pos} in {text!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        if kind != "ws":
            items.append((kind, match.group()))
    return _Tokens(items)


def parse_filter(text: str) -> Node:
    """Parse a $filter expression; raises ODataError with the reason."""
    tokens = _tokenize(text)
    node = _parse_or(tokens)
    if tokens.peek() is not None:
        raise ODataError(f"unexpected {tokens.peek()[1]!r} in $filter")  # type: ignore[index]
    return node


def _parse_or(tokens: _Tokens) -> Node:
    node = _parse_and(tokens)
    while tokens.accept("ident", "or"):
        node = BinOp("or", node, _parse_and(tokens))
    return node


def _parse_and(tokens: _Tokens) -> Node:
    node = _parse_not(tokens)
    while tokens.accept("ident", "and"):
        node = BinOp("and", node, _parse_not(tokens))
    return node


def _parse_not(tokens: _Tokens) -> Node:
    if tokens.accept("ident", "not"):
        return Not(_parse_not(tokens))
    return _parse_comparison(tokens)


def _parse_comparison(tokens: _Tokens) -> Node:
    left = _parse_primary(tokens)
    tok = tokens.peek()
    if tok and tok[0] == "ident" and tok[1].lower() in _COMPARISONS:
        tokens.take()
        return BinOp(tok[1].lower(), left, _parse_primary(tokens))
    return left


def _parse_primary(tokens: _Tokens) -> Node:
    kind, value = tokens.take()
    if kind == "punct" and value == "(":
        node = _parse_or(tokens)
        tokens.expect("punct", ")")
        return node
    if kind == "string":
        return Literal(value[1:-1].replace("''", "'"))
    if kind == "number":
        return Literal(float(value) if "." in value else int(value))
    if kind == "datetime":
        return Literal(timezones.parse_instant(value))
    if kind != "ident":
        raise ODataError(f"unexpected {value!r} in $filter")
    lowered = value.lower()
    if lowered in ("true", "false"):
        return Literal(lowered == "true")
    if lowered == "null":
        return Literal(None)
    nxt = tokens.peek()
    if lowered in _FUNCTIONS and nxt == ("punct", "("):
        tokens.take()
        args: list[Node] = [_parse_or(tokens)]
        while tokens.accept("punct", ","):
            args.append(_parse_or(tokens))
        tokens.expect("punct", ")")
        return Call(lowered, tuple(args))
    if nxt == ("punct", "("):
        raise ODataError(f"unsupported function {value!r} in $filter")
    segments = [value]
    while tokens.accept("punct", "/"):
        seg_kind, seg = tokens.take()
        if seg_kind != "ident":
            raise ODataError(f"expected a property name after '/', found {seg!r}")
        if seg.lower() in ("any", "all") and tokens.peek() == ("punct", "("):
            tokens.take()
            if tokens.accept("punct", ")"):
                return Lambda(Path(tuple(segments)), seg.lower(), None, None)
            var_kind, var = tokens.take()
            if var_kind != "ident":
                raise ODataError(f"expected a lambda variable, found {var!r}")
            tokens.expect("punct", ":")
            body = _parse_or(tokens)
            tokens.expect("punct", ")")
            return Lambda(Path(tuple(segments)), seg.lower(), var, body)
        segments.append(seg)
    return Path(tuple(segments))


# --- evaluation ------------------------------------------------------------------------------

Comparer = Callable[[Any, Any], int | None]


@dataclass
class Context:
    """What a filter is evaluated against: the item, lambda variables, special comparers."""

    root: Mapping[str, Any]
    variables: dict[str, Any] = field(default_factory=dict)
    # (collection property, member) -> key function applied to both sides before comparing
    keys: Mapping[tuple[str, str], Callable[[str], Any]] = field(default_factory=dict)
    bound: dict[str, str] = field(default_factory=dict)  # lambda var -> collection name


def evaluate(node: Node, ctx: Context) -> Any:
    """Evaluate `node` against `ctx.root` (and the lambda variables in scope)."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Path):
        return _resolve(node, ctx)
    if isinstance(node, Not):
        return not _truthy(evaluate(node.operand, ctx))
    if isinstance(node, Lambda):
        collection = _resolve(node.collection, ctx)
        items = collection if isinstance(collection, list) else []
        if node.body is None or node.var is None:
            return bool(items)
        results = []
        for item in items:
            inner = Context(
                ctx.root,
                {**ctx.variables, node.var: item},
                ctx.keys,
                {**ctx.bound, node.var: node.collection.segments[-1]},
            )
            results.append(_truthy(evaluate(node.body, inner)))
        return any(results) if node.kind == "any" else all(results)
    if isinstance(node, Call):
        return _call(node, ctx)
    if node.op == "and":
        return _truthy(evaluate(node.left, ctx)) and _truthy(evaluate(node.right, ctx))
    if node.op == "or":
        return _truthy(evaluate(node.left, ctx)) or _truthy(evaluate(node.right, ctx))
    left, right = evaluate(node.left, ctx), evaluate(node.right, ctx)
    key = _key_for(node.left, ctx) or _key_for(node.right, ctx)
    return _compare(node.op, left, right, key)


def _truthy(value: Any) -> bool:
    return value is True


def _resolve(path: Path, ctx: Context) -> Any:
    segments = list(path.segments)
    if segments[0] in ctx.variables:
        current: Any = ctx.variables[segments.pop(0)]
    else:
        current = ctx.root
    for seg in segments:
        if not isinstance(current, Mapping):
            return None
        if seg in current:
            current = current[seg]
        else:  # OData property names are case-sensitive, but be kind to 'Id' vs 'id'
            current = next((v for k, v in current.items() if k.lower() == seg.lower()), None)
    return current


def _key_for(node: Node, ctx: Context) -> Callable[[str], Any] | None:
    if isinstance(node, Path) and len(node.segments) == 2 and node.segments[0] in ctx.bound:
        collection = ctx.bound[node.segments[0]]
        return ctx.keys.get((collection.lower(), node.segments[1].lower()))
    return None


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    return value


def _coerce(left: Any, right: Any) -> tuple[Any, Any]:
    if isinstance(left, datetime) and isinstance(right, str):
        return left, _as_instant(right)
    if isinstance(right, datetime) and isinstance(left, str):
        return _as_instant(left), right
    return _norm(left), _norm(right)


def _as_instant(text: str) -> datetime | str:
    try:
        return timezones.parse_instant(text)
    except ValueError:
        return text


def _compare(op: str, left: Any, right: Any, key: Callable[[str], Any] | None) -> bool:
    if key is not None and isinstance(left, str) and isinstance(right, str):
        a, b = key(left), key(right)
    else:
        a, b = _coerce(left, right)
    if op == "eq":
        return bool(a == b)
    if op == "ne":
        return bool(a != b)
    if a is None or b is None:
        return False
    try:
        if op == "gt":
            return bool(a > b)
        if op == "ge":
            return bool(a >= b)
        if op == "lt":
            return bool(a < b)
        return bool(a <= b)
    except TypeError:
        return False


def _call(node: Call, ctx: Context) -> Any:
    args = [evaluate(a, ctx) for a in node.args]
    if node.name in ("tolower", "toupper", "trim"):
        if len(args) != 1:
            raise ODataError(f"{node.name} takes one argument")
        value = args[0]
        if not isinstance(value, str):
            return value
        return {"tolower": value.lower(), "toupper": value.upper(), "trim": value.strip()}[
            node.name
        ]
    if len(args) != 2:
        raise ODataError(f"{node.name} takes two arguments")
    hay, needle = args
    if not isinstance(hay, str) or not isinstance(needle, str):
        return False
    hay, needle = hay.lower(), needle.lower()
    if node.name == "startswith":
        return hay.startswith(needle)
    if node.name == "endswith":
        return hay.endswith(needle)
    return needle in hay


def walk(node: Node) -> Iterable[Node]:
    """Every node of the tree, depth first (used to check what a filter touches)."""
    yield node
    if isinstance(node, Lambda) and node.body is not None:
        yield from walk(node.body)
    elif isinstance(node, Call):
        for arg in node.args:
            yield from walk(arg)
    elif isinstance(node, BinOp):
        yield from walk(node.left)
        yield from walk(node.right)
    elif isinstance(node, Not):
        yield from walk(node.operand)


# --- other options ---------------------------------------------------------------------------


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split on `sep` outside parentheses and quotes: ``a($filter=x eq 'a,b'),b`` -> 2 parts."""
    parts: list[str] = []
    depth = 0
    quoted = False
    current: list[str] = []
    for ch in text:
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        if ch == sep and depth == 0 and not quoted:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    tail = "".join(current).strip()
    if tail:
        parts.append(tail)
    return [p for p in parts if p]


def parse_expand(text: str) -> dict[str, dict[str, str]]:
    """``a($filter=...;$select=x),b`` -> {"a": {"$filter": "...", "$select": "x"}, "b": {}}."""
    result: dict[str, dict[str, str]] = {}
    for part in split_top_level(text):
        name, _, rest = part.partition("(")
        options: dict[str, str] = {}
        if rest:
            if not rest.endswith(")"):
                raise ODataError(f"unbalanced parentheses in $expand={text!r}")
            for option in split_top_level(rest[:-1], ";"):
                key, eq, value = option.partition("=")
                if not eq:
                    raise ODataError(f"cannot read {option!r} in $expand")
                options[key.strip().lower()] = value.strip()
        result[name.strip()] = options
    return result


def parse_select(text: str) -> list[str]:
    """``subject,start`` -> ["subject", "start"]."""
    return [p.strip() for p in text.split(",") if p.strip()]


def parse_orderby(text: str) -> list[tuple[tuple[str, ...], bool]]:
    """``start/dateTime desc,subject`` -> [(("start","dateTime"), True), (("subject",), False)]."""
    keys: list[tuple[tuple[str, ...], bool]] = []
    for part in split_top_level(text):
        words = part.split()
        if (
            not words
            or len(words) > 2
            or (len(words) == 2 and words[1].lower() not in ("asc", "desc"))
        ):
            raise ODataError(f"cannot read $orderby={text!r}")
        keys.append((tuple(words[0].split("/")), len(words) == 2 and words[1].lower() == "desc"))
    return keys


def sort_key(item: Mapping[str, Any], path: tuple[str, ...]) -> tuple[int, Any]:
    """A key that orders missing values first and compares strings case-insensitively."""
    value: Any = item
    for seg in path:
        value = value.get(seg) if isinstance(value, Mapping) else None
    if value is None:
        return (0, "")
    if isinstance(value, bool | int | float):
        return (1, value)
    return (2, str(value).lower())

"""Schema-driven helpers: validate request bodies, canonicalise enum spelling, mint ids.

Graph accepts ``"Required"``/``"HTML"`` (Microsoft's own samples send them) but always answers with
the CSDL spelling (``"required"``, ``"html"``); :func:`canonical` does the same using the enum
lists in the packaged schema, so responses are exactly what Graph would return.
"""

from __future__ import annotations

import base64
import html
import re
import uuid
from typing import Any

from iepsched.m365 import schema as graphschema

from .store import GraphError


def validation_problems(type_name: str, body: Any) -> list[str]:
    """Strict schema problems of a (possibly partial) request body."""
    if not isinstance(body, dict):
        return [f"the request body must be a JSON object (a {type_name})"]
    return graphschema.errors(type_name, body, strict=True)


def require_valid(type_name: str, body: Any, *, code: str) -> dict[str, Any]:
    """Return `body` if it is a valid `type_name`, else raise a 400 naming every problem."""
    problems = validation_problems(type_name, body)
    if problems:
        raise GraphError(400, code, f"Invalid {type_name} in request body: " + "; ".join(problems))
    assert isinstance(body, dict)
    return body


def _qualified(type_name: str) -> str:
    return type_name if type_name.startswith("microsoft.graph.") else f"microsoft.graph.{type_name}"


def _target(prop: dict[str, Any]) -> tuple[str | None, bool]:
    """(referenced type, is collection) of a property schema."""
    if prop.get("type") == "array" or "array" in (prop.get("type") or []):
        items = prop.get("items", {})
        ref = items.get("$ref") if isinstance(items, dict) else None
        return (ref.removeprefix("#/$defs/") if isinstance(ref, str) else None), True
    for option in [prop, *prop.get("anyOf", [])]:
        ref = option.get("$ref") if isinstance(option, dict) else None
        if isinstance(ref, str):
            return ref.removeprefix("#/$defs/"), False
    return None, False


def canonical(type_name: str, value: Any) -> Any:
    """A copy of `value` with every enum member spelled as the schema spells it."""
    defs: dict[str, Any] = graphschema.schema()["$defs"]
    definition = defs.get(_qualified(type_name), {})
    if "enum" in definition:
        if isinstance(value, str):
            lookup = {str(e).lower(): e for e in definition["enum"]}
            return lookup.get(value.lower(), value)
        return value
    if not isinstance(value, dict):
        return value
    props: dict[str, Any] = definition.get("properties", {})
    out: dict[str, Any] = {}
    for key, item in value.items():
        prop = props.get(key)
        if prop is None:
            out[key] = item
            continue
        ref, many = _target(prop)
        if ref is None:
            out[key] = item
        elif many and isinstance(item, list):
            out[key] = [canonical(ref, v) for v in item]
        else:
            out[key] = canonical(ref, item)
    return out


# --- ids ---------------------------------------------------------------------------------------


def outlook_id() -> str:
    """An opaque Outlook-style id ("AAMk…=", 28 characters of base64url, so it may contain '-'
    and '_' and always ends with '=' like Exchange's). Clients must treat ids as opaque,
    case-sensitive strings and URL-encode them in paths.
    """
    raw = b"\x00\x03\x24" + uuid.uuid4().bytes + b"\x00"
    return base64.urlsafe_b64encode(raw).decode("ascii")


def change_key() -> str:
    """A fresh changeKey (what ``@odata.etag`` wraps)."""
    return base64.b64encode(uuid.uuid4().bytes).decode("ascii")


def ical_uid() -> str:
    """An iCalUId in Exchange's hex layout."""
    return "040000008200E00074C5B7101A82E00800000000" + uuid.uuid4().hex.upper() + "0" * 16


def etag(key: str) -> str:
    """The weak ETag Graph sends for a changeKey."""
    return f'W/"{key}"'


# --- extended properties ---------------------------------------------------------------------

_EXT_NAMED = re.compile(
    r"^\s*(?P<type>\w+)\s+\{?(?P<guid>[0-9a-fA-F-]{36})\}?\s+Name\s+(?P<name>.+?)\s*$"
)
_EXT_ID = re.compile(
    r"^\s*(?P<type>\w+)\s+\{?(?P<guid>[0-9a-fA-F-]{36})\}?\s+Id\s+(?P<num>0x[0-9a-fA-F]+|\d+)\s*$"
)
_EXT_TAG = re.compile(r"^\s*(?P<type>\w+)\s+(?P<tag>0x[0-9a-fA-F]+)\s*$")


def ext_key(prop_id: str) -> tuple[str, ...]:
    """A comparison key for an extended-property id.

    Type names and GUIDs compare case-insensitively; the ``Name`` part is case-sensitive (as
    Microsoft documents). Raises ValueError for an id in none of the three documented formats.
    """
    if m := _EXT_NAMED.match(prop_id):
        return ("name", m["type"].lower(), m["guid"].lower(), m["name"])
    if m := _EXT_ID.match(prop_id):
        return ("id", m["type"].lower(), m["guid"].lower(), str(int(m["num"], 0)))
    if m := _EXT_TAG.match(prop_id):
        return ("tag", m["type"].lower(), str(int(m["tag"], 16)))
    raise ValueError(f"{prop_id!r} is not an extended property id")


def ext_key_or_text(prop_id: str) -> Any:
    """ext_key, or the lowered text for something that is not an id (never equal to one)."""
    try:
        return ext_key(prop_id)
    except ValueError:
        return ("invalid", prop_id)


# --- bodies ------------------------------------------------------------------------------------

# The wrapper Exchange puts around an HTML body (as in Microsoft's create-event samples).
_HTML_HEAD = "<html>\r\n<head>\r\n</head>\r\n<body>\r\n"
_HTML_TAIL = "\r\n</body>\r\n</html>\r\n"
_TAG_RE = re.compile(r"<[^>]+>")


def body_as(stored: dict[str, Any], prefer_text: bool) -> dict[str, Any]:
    """An event body as Outlook returns it: wrapped in an HTML document unless text is preferred.

    Exchange rewrites bodies (text becomes HTML, HTML gains <html><head>…); clients must not
    compare the returned body with what they sent.
    """
    content = str(stored.get("content") or "")
    kind = str(stored.get("contentType") or "text").lower()
    if prefer_text:
        text = html.unescape(_TAG_RE.sub("", content)).strip() if kind == "html" else content
        return {"contentType": "text", "content": text}
    if kind == "html":
        if "<html" in content.lower():
            return {"contentType": "html", "content": content}
        return {"contentType": "html", "content": _HTML_HEAD + content + _HTML_TAIL}
    escaped = html.escape(content).replace("\n", "<br>\r\n")
    return {
        "contentType": "html",
        "content": f'{_HTML_HEAD}<div class="PlainText">{escaped}</div>{_HTML_TAIL}',
    }


def preview(stored: dict[str, Any]) -> str:
    """bodyPreview: the first 255 characters of the body as text."""
    content = str(stored.get("content") or "")
    if str(stored.get("contentType") or "").lower() == "html":
        content = html.unescape(_TAG_RE.sub(" ", content))
    return " ".join(content.split())[:255]

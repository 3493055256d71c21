"""Validate Graph JSON against Microsoft's published v1.0 schema (package data).

Used by the sandbox (to answer a malformed request with 400, as Graph does) and by the tests (every
body the client builds and every object the sandbox returns must validate). Two deliberate choices:

* enum values compare case-insensitively, because Microsoft's own examples send "Required"/"HTML";
* ``strict=True`` additionally rejects property names the type does not declare (the schema leaves
  ``additionalProperties`` open because responses carry ``@odata.*`` annotations), so a typo such as
  ``"isRemindOn"`` is caught. ``@``-annotations are always allowed.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

SCHEMA_RESOURCE = "graph-v1.0-types.schema.json"


@cache
def schema() -> dict[str, Any]:
    """The whole schema document (loaded once)."""
    text = resources.files("iepsched.data").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _qualified(type_name: str) -> str:
    return type_name if type_name.startswith("microsoft.graph.") else f"microsoft.graph.{type_name}"


@cache
def _validator(type_name: str) -> Any:
    import jsonschema  # imported here: only the sandbox and the tests need it

    doc = schema()
    base = jsonschema.Draft202012Validator

    def ci_enum(validator: Any, enums: Any, instance: Any, sch: Any) -> Any:
        if isinstance(instance, str):
            if instance.lower() not in {str(e).lower() for e in enums}:
                yield jsonschema.ValidationError(f"{instance!r} is not one of {enums!r}")
        elif instance not in enums:
            yield jsonschema.ValidationError(f"{instance!r} is not one of {enums!r}")

    cls = jsonschema.validators.extend(base, {"enum": ci_enum})  # type: ignore[no-untyped-call]
    root = {"$defs": doc["$defs"], "$ref": f"#/$defs/{_qualified(type_name)}"}
    return cls(root, format_checker=None)


def errors(type_name: str, instance: Any, *, strict: bool = False) -> list[str]:
    """Every problem with `instance` as a Graph `type_name` (e.g. "event"); empty when valid."""
    found = [
        f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
        for e in _validator(type_name).iter_errors(instance)
    ]
    if strict:
        found.extend(_unknown_properties(_qualified(type_name), instance, ""))
    return found


def _unknown_properties(qualified: str, instance: Any, path: str) -> list[str]:
    if not isinstance(instance, dict):
        return []
    definition = schema()["$defs"].get(qualified, {})
    props: dict[str, Any] = definition.get("properties", {})
    out: list[str] = []
    for name, value in instance.items():
        if "@" in name:
            continue
        if name not in props:
            out.append(f"{path or '<root>'}: unknown property {name!r} for {qualified}")
            continue
        for ref in _refs(props[name]):
            items = value if isinstance(value, list) else [value]
            for i, item in enumerate(items):
                out.extend(
                    _unknown_properties(
                        ref, item, f"{path}/{name}" + (f"/{i}" if isinstance(value, list) else "")
                    )
                )
    return out


def _refs(prop: dict[str, Any]) -> list[str]:
    found: list[str] = []
    stack: list[Any] = [prop]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                found.append(ref.removeprefix("#/$defs/"))
            stack.extend(v for k, v in node.items() if k in ("anyOf", "oneOf", "items"))
    return found


def validate(type_name: str, instance: Any, *, strict: bool = False) -> None:
    """Raise ValueError listing every problem when `instance` is not a valid `type_name`."""
    problems = errors(type_name, instance, strict=strict)
    if problems:
        raise ValueError(f"invalid {type_name}: " + "; ".join(problems))

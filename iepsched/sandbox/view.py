"""How the caller wants items rendered: the Prefer headers and the URL's user segment."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class View:
    """How the caller wants items rendered (from Prefer headers and the URL)."""

    graph_url: str
    user_segment: str  # the {u} as the caller wrote it, for @odata.context
    zone: str | None = None  # Prefer: outlook.timezone (validated), None = UTC
    text_body: bool = False  # Prefer: outlook.body-content-type="text"

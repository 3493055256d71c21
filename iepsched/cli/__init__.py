"""Command-line interface: `main` and every command module registered on it.

Command modules import only click at module level; what a command needs is imported inside it,
so `iepsched plan` does not pay for msal, requests or icalendar at start-up.
"""

from __future__ import annotations

from . import (  # noqa: F401  (each module registers its commands on `main`)
    auth_cmd,
    calendar_cmd,
    config_cmd,
    contact_cmd,
    demo_cmd,
    export_cmd,
    plan_cmd,
    report_cmd,
    runs_cmd,
    sandbox_cmd,
    sync_cmd,
)
from .base import main

__all__ = ["main"]

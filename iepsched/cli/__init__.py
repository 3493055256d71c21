"""Command-line interface: `main`, whose commands load from `*_cmd` modules on first use.

Command modules import only click at module level, and each is imported only when its command
runs (see `base.COMMAND_MODULES`), so `iepsched plan` pays for neither msal, requests and icalendar
nor the other commands.
"""

from __future__ import annotations

from .base import main

__all__ = ["main"]

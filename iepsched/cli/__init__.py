"""Command-line interface: `main` and every command module registered on it."""

from __future__ import annotations

import importlib
import pkgutil

from .base import main

# Every module in this package named *_cmd registers its commands on `main` when imported.
for _info in pkgutil.iter_modules(__path__):
    if _info.name.endswith("_cmd"):
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["main"]

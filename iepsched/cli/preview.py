"""Options and notes shared by `plan` and `report`: caseload filters and future previews."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from ..core.settings import Config

F = TypeVar("F", bound=Callable[..., Any])


def caseload_options(func: F) -> F:
    """--case-manager EMAIL and --building NAME (SPEC §6), in the order `--help` lists them."""
    func = click.option(
        "--building",
        metavar="NAME",
        help="Only this building's students (case-insensitive).",
    )(func)
    func = click.option(
        "--case-manager",
        "case_manager",
        metavar="EMAIL",
        help="Only this case manager's students (case-insensitive).",
    )(func)
    return func


def real_today(config: Config) -> dt.date:
    """Today's date in the district's time zone (the clock is read only in the CLI)."""
    return dt.datetime.now(config.district.tz).date()

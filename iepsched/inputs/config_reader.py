"""The config file reader's machinery: located problems and typed getters (STYLE habit 10).

`Reader` collects every problem instead of stopping at the first, each naming the file, section
and key (``config/iepsched.toml [meetings] slots``). The sections themselves are read in `config`
and `config_graph`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..core.errors import Problem
from ..core.settings import CERTIFICATE_PASSWORD_ENV, CLIENT_SECRET_ENV
from .config_values import (
    SECRET_KEY,
    close_matches,
    describe,
    display_path,
    nonempty_text,
    quote_key,
)

__all__ = ["REQUIRED_HINT", "Reader"]

T = TypeVar("T")

REQUIRED_HINT = {
    "district": 'name = "..." and timezone = "America/Chicago"',
    "roster": 'path = "roster.csv"',
    "calendar": 'path = "calendars/district.toml" (the default school calendar)',
}


@dataclass
class Reader:
    """Validates one parsed config file, collecting problems instead of stopping at the first."""

    shown: str
    base: Path

    def __post_init__(self) -> None:
        self.problems: list[Problem] = []

    # -- reporting --------------------------------------------------------------------------

    def where(self, section: str, key: str = "") -> str:
        return f"{self.shown} [{section}] {key}".rstrip() if key else f"{self.shown} [{section}]"

    def error(self, section: str, key: str, message: str) -> None:
        self.problems.append(Problem(self.where(section, key), message))

    def warn(self, section: str, key: str, message: str) -> None:
        self.problems.append(Problem(self.where(section, key), message, "warning"))

    def unknown(self, section: str, table: Mapping[str, Any], known: Sequence[str]) -> None:
        for key in table:
            if key in known or SECRET_KEY.search(key):
                continue
            close = close_matches(key, known)
            hint = f"did you mean {close[0]}? " if close else ""
            listed = ", ".join(known) if known else "none"
            self.warn(section, quote_key(key), f"unknown key, ignored ({hint}known: {listed})")

    def secrets(self, table: Mapping[str, Any], section: str) -> None:
        """Secrets live in the environment only: a config file is copied, mailed and committed."""
        for key, value in table.items():
            where = f"{section}.{key}" if section else key
            if isinstance(value, Mapping):
                self.secrets(value, where)
            elif SECRET_KEY.search(key):
                sec, _, name = where.rpartition(".")
                if sec == "graph":
                    var = (
                        CERTIFICATE_PASSWORD_ENV
                        if re.search("pass", key, re.IGNORECASE)
                        else CLIENT_SECRET_ENV
                    )
                    fix = f"set the environment variable {var} where iepsched runs"
                else:
                    fix = (
                        "iepsched reads its only secrets from the environment "
                        f"({CLIENT_SECRET_ENV}, {CERTIFICATE_PASSWORD_ENV})"
                    )
                self.problems.append(
                    Problem(
                        self.where(sec, quote_key(name)) if sec else f"{self.shown} {name}",
                        f"secrets must not be stored in the config file: delete this key; {fix}",
                    )
                )

    # -- typed getters (each reports and returns the default on a bad value) ----------------

    def table(
        self, data: Mapping[str, Any], section: str, *, required: bool = False
    ) -> dict[str, Any]:
        value = data.get(section.rpartition(".")[2])
        if value is None:
            if required:
                self.error(section, "", f"missing section; add it with {REQUIRED_HINT[section]}")
            return {}
        if not isinstance(value, dict):
            self.error(section, "", f"must be a table ([{section}]), not {describe(value)}")
            return {}
        return value

    def get(
        self,
        table: Mapping[str, Any],
        section: str,
        key: str,
        convert: Callable[[Any], T],
        default: T,
        *,
        required: str = "",
    ) -> T:
        """`table[key]` converted; `convert` raises ValueError with the message to show."""
        if key not in table:
            if required:
                self.error(section, key, f"missing; {required}")
            return default
        try:
            return convert(table[key])
        except ValueError as exc:
            self.error(section, key, str(exc))
            return default

    # -- converters that need the config folder ---------------------------------------------

    def path(self, value: Any) -> Path:
        text = nonempty_text(value)
        return (self.base / text).resolve()

    def existing_file(self, value: Any) -> Path:
        path = self.path(value)
        try:
            found = path.is_file()
        except OSError as exc:  # e.g. a name longer than the OS allows (ENAMETOOLONG)
            raise ValueError(f"not a usable path ({exc.strerror or exc})") from None
        if not found:
            raise ValueError(
                f"file not found: {display_path(path)} (relative paths are relative to the "
                "config file's folder)"
            )
        return path

    def string_table(self, table: Mapping[str, Any], section: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in table.items():
            try:
                out[key] = nonempty_text(value)
            except ValueError as exc:
                self.error(section, quote_key(key), str(exc))
        return out

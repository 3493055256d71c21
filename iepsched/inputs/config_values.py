"""Converters and shared helpers of the config loader (`config`): one value each, no file reads.

Each converter returns the typed value or raises ValueError with the message to show; the reader
(`config_reader.Reader.get`) puts file, section and key in front of it.
"""

from __future__ import annotations

import datetime as dt
import re
import string
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import tz_win

from ..core.errors import Problem, UserError

__all__ = [
    "EMAIL",
    "SECRET_KEY",
    "TEMPLATE_PLACEHOLDERS",
    "building_key",
    "display_path",
    "read_toml",
]

# Placeholders a subject may use. Anything that identifies a student beyond the district id and
# initials (names, birth date, email, disability) must never reach a calendar item: subjects are
# visible to every attendee and often on lock screens.
TEMPLATE_PLACEHOLDERS = ("student_id", "initials", "title", "building")
_PERSONAL_FIELDS = (
    "first_name",
    "last_name",
    "name",
    "full_name",
    "birth_date",
    "dob",
    "student_email",
    "email",
    "grade",
    "disability",
    "category",
    "exceptionality",
)

SECRET_KEY = re.compile(r"secret|password|passwd|passphrase", re.IGNORECASE)
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
# A basic shape check (x@y.z, no spaces or list separators), not RFC 5322: Graph is the judge.
EMAIL = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")


def display_path(path: Path) -> str:
    """How messages name a file: as the user gave it, or relative to the working folder if inside.

    Messages quote paths so a coordinator can open the file; an absolute path under the current
    folder is shortened to the relative form they would have typed.
    """
    if not path.is_absolute():
        return str(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def read_toml(path: Path, *, not_found: str) -> dict[str, Any]:
    """A TOML file's tables; `UserError` naming the file when it is missing or unreadable.

    A BOM is tolerated because Windows editors add one; `tomllib` itself would refuse it.
    """
    shown = display_path(path)
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except (FileNotFoundError, IsADirectoryError):
        raise UserError(Problem(shown, not_found)) from None
    except UnicodeDecodeError:
        raise UserError(Problem(shown, "is not UTF-8 text; save it as UTF-8")) from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(Problem(shown, f"is not valid TOML: {exc}")) from None


def building_key(name: str) -> str:
    """How building names are compared: case-insensitively, regardless of repeated spaces."""
    return " ".join(name.split()).casefold()


def quote_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'


def describe(value: object) -> str:
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, dt.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return repr(value)


# -- converters: each returns the typed value or raises ValueError with the message to show ----


def nonempty_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text in quotes, not {describe(value)}")
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def text_or_empty(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text in quotes, not {describe(value)}")
    return value.strip()


def text_list(*, nonempty: bool) -> Callable[[Any], tuple[str, ...]]:
    def convert(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ValueError(f'must be a list of text, e.g. ["No School", "Break"], not {value!r}')
        if nonempty and not value:
            raise ValueError("must not be empty")
        return tuple(v.strip() for v in value)

    return convert


def whole(*, minimum: int, maximum: int | None = None, why: str = "") -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"must be a whole number, not {describe(value)}")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            reason = f" ({why})" if why else ""
            raise ValueError(f"must be {bound}{reason}, not {value}")
        return value

    return convert


def time_of_day(value: Any) -> dt.time:
    match = _HHMM.match(value) if isinstance(value, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f'{value!r} is not a time; use "HH:MM" (24-hour), e.g. "07:45"')
    return dt.time(int(match[1]), int(match[2]))


def slot_list(value: Any) -> tuple[dt.time, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f'must be a list of start times, e.g. ["07:45", "15:30"], not {value!r}')
    slots: list[dt.time] = []
    for item in value:
        slot = time_of_day(item)
        if slot in slots:
            raise ValueError(f"{item!r} is listed twice")
        slots.append(slot)
    return tuple(slots)


def timezone_name(value: Any) -> str:
    name = nonempty_text(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f'{name!r} is not an IANA time zone; use a name like "America/Chicago"'
        ) from None
    if name not in tz_win:
        # Graph takes Windows zone names (SPEC §5); iepsched maps the IANA zone through CLDR's
        # windowsZones table, and a zone it has no entry for would be refused by Graph with 400.
        raise ValueError(
            f"{name!r} has no Windows time-zone name (CLDR windowsZones), so Microsoft Graph "
            'would refuse it; use the IANA zone of a city in your area, e.g. "America/New_York", '
            '"America/Chicago", "America/Denver" or "America/Indiana/Indianapolis"'
        )
    return name


def installation_id(value: Any) -> str:
    """`[district] installation` (default: from the district name): which installation owns the
    items it writes — stored in each event and task, so two installations (two configs, two state
    files) on the same mailboxes tell their items apart and the second refuses. Lower-case
    letters, digits and dashes; a lost state file keeps the id, since it comes from the config."""
    text = re.sub(r"[^a-z0-9]+", "-", nonempty_text(value).lower()).strip("-")
    if not text:
        raise ValueError(f'{value!r} has no letters or digits; use e.g. "prairie-valley"')
    return text[:64]


def date_value(value: Any) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValueError(f"must be a TOML date without quotes, e.g. 2026-08-13, not {value!r}")
    return value


def email_address(value: Any) -> str:
    text = nonempty_text(value).lower()
    if not EMAIL.match(text):
        raise ValueError(f"{value!r} is not an email address (expected name@example.org)")
    return text


def true_or_false(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false (no quotes), not {describe(value)}")
    return value


def unlisted_value(value: Any) -> Literal["default", "error"]:
    if value not in ("default", "error"):
        raise ValueError(
            'must be "default" (a building not in [calendar.buildings] is planned on the default '
            'calendar) or "error" (every roster building must be listed), '
            f"not {describe(value)}"
        )
    return cast(Literal["default", "error"], value)


def tasks_value(value: Any) -> Any:
    if value not in ("todo", "calendar"):
        raise ValueError(
            'must be "todo" (Microsoft To Do) or "calendar" (all-day calendar items), '
            f"not {value!r}"
        )
    return value


def missing_students_value(value: Any) -> Any:
    if value not in ("keep", "exit"):
        raise ValueError(
            'must be "keep" (keep their items, say so every night) or "exit" (treat them as '
            f"exited), not {value!r}"
        )
    return value


def template(value: Any) -> str:
    text = nonempty_text(value)
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise ValueError(
            f"{text!r} is not a valid template ({exc}); write a literal {{ or }} as {{{{ or }}}}"
        ) from None
    allowed = ", ".join(f"{{{p}}}" for p in TEMPLATE_PLACEHOLDERS)
    for field in fields:
        if field in TEMPLATE_PLACEHOLDERS:
            continue
        if field.casefold() in _PERSONAL_FIELDS:
            raise ValueError(
                f"{{{field}}} would put personal student data in calendar and task subjects, "
                "which every attendee and lock screen can see; FERPA asks for the minimum "
                f"necessary, so use only {allowed}"
            )
        raise ValueError(f"unknown placeholder {{{field}}}; use only {allowed}")
    return text


def close_matches(word: str, candidates: Sequence[str]) -> list[str]:
    """A did-you-mean suggestion (difflib is only loaded when a key is wrong)."""
    import difflib

    return difflib.get_close_matches(word, list(candidates), n=1)

"""What the legal-log commands share (`contact`, `delay`, `meeting`): checking the text and
dates typed in, finding the student, reading a log when the state file is gone, and printing a
log as a table, CSV or JSON."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

import click

from ..core.errors import UserError
from .base import app, parse_day

if TYPE_CHECKING:
    from ..core.settings import Config
    from ..state.journal import Entry, LogName
    from ..state.store import StateStore

V = TypeVar("V")

WIDTH = 100
MAX_REASON = 1000  # characters: a reason is a sentence or two, not a document
# An entry about a meeting more than two years back is a typing mistake, as for contacts.
OLDEST_DAYS = 2 * 366
NEWEST_DAYS = 366  # nothing is planned or asked for more than a year ahead
FORMATS = ("table", "csv", "json")


def clean_text(value: str, *, option: str, keep_lines: bool = False) -> str:
    """Text for a log: control characters (CR/LF, NUL, escapes) are refused, spaces folded.

    They would break the log's table, the CSV a district hands over in a dispute, and
    terminals; a note may keep its line breaks (`keep_lines`).
    """
    allowed = "\n" if keep_lines else ""
    bad = sorted({c for c in value if (ord(c) < 32 or 127 <= ord(c) < 160) and c not in allowed})
    if bad:
        shown = ", ".join(f"U+{ord(c):04X}" for c in bad)
        raise click.BadParameter(
            f"contains control characters ({shown}); type it as plain text", param_hint=option
        )
    if keep_lines:
        return "\n".join(" ".join(line.split()) for line in value.strip().splitlines())
    return " ".join(value.split())


def check_reason(value: str, *, option: str = "--reason") -> str:
    """A reason for the log: one line of plain text, not empty, at most 1,000 characters."""
    reason = clean_text(value, option=option)
    if not reason:
        raise click.BadParameter("say why, in a sentence or two", param_hint=option)
    if len(reason) > MAX_REASON:
        raise click.BadParameter(
            f"is {len(reason):,} characters long; keep it to {MAX_REASON:,} (the log keeps the "
            "reason, the documents belong in the student's file)",
            param_hint=option,
        )
    return reason


def check_day(
    value: str | None, *, option: str, today: dt.date, future: bool = True, past: bool = True
) -> dt.date | None:
    """A YYYY-MM-DD option within two years before and one year after today; `past=False`
    refuses a date before today, `future=False` one after it."""
    if value is None:
        return None
    day = parse_day(value, option)
    if not past and day < today:
        raise click.BadParameter(
            f"{day.isoformat()} is before today ({today.isoformat()}): give a date from today on",
            param_hint=option,
        )
    if not future and day > today:
        raise click.BadParameter(
            f"{day.isoformat()} is after today ({today.isoformat()})", param_hint=option
        )
    if (today - day).days > OLDEST_DAYS:
        raise click.BadParameter(
            f"{day.isoformat()} is more than two years before today ({today.isoformat()}): "
            "check the date",
            param_hint=option,
        )
    if (day - today).days > NEWEST_DAYS:
        raise click.BadParameter(
            f"{day.isoformat()} is more than a year after today ({today.isoformat()}): "
            "check the date",
            param_hint=option,
        )
    return day


def short_id(entry_id: str) -> str:
    """An entry id as messages and tables show it (the JSON and CSV carry it whole)."""
    return entry_id[:8]


def one_student(ctx: click.Context, student: str, logged: set[str]) -> str:
    """The roster's id for `student`; a student no longer on the roster is still found by id
    when the log has entries for them (disputes outlive enrolment), else exit 2 naming the
    roster."""
    from ..service.district import load_district

    try:
        return load_district(app(ctx).config()).student(student).student_id
    except UserError:
        if student not in logged:
            raise
        return student


@contextmanager
def log_source(config: Config) -> Iterator[StateStore | None]:
    """The state to list a log from, with the journal's warnings on stderr; None when there
    is no state file (then the journal is read: `from_journal`)."""
    from .state import open_state_readonly
    from .sync_cmd import journal_warnings

    with open_state_readonly(config) as store:
        if store is not None:
            journal_warnings(store)
        yield store


def from_journal(config: Config, log: LogName, parse: Callable[[Entry], V]) -> list[V]:
    """One log read from the legal-log journal, for when the state file is lost or moved;
    damaged lines are skipped with a warning on stderr."""
    from ..state.journal import Journal, journal_path
    from ..state.legallogs import journaled

    found, problems = journaled(Journal(journal_path(config.state_path)), log, parse)
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    return found


def format_option() -> Callable[[Callable[..., None]], Callable[..., None]]:
    """`--format table|csv|json` as the list commands take it."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="csv and json carry every field, whole.",
    )


def render(
    fmt: str,
    rows: Sequence[dict[str, str | bool | None]],
    columns: Sequence[str],
    table_columns: Sequence[str],
    noun: str,
) -> str:
    """A log as JSON (typed values), CSV (every column, cells Excel cannot run) or a table
    that fits 100 columns (its last column clipped)."""
    if fmt == "json":
        return json.dumps(list(rows), indent=2, ensure_ascii=False)
    if fmt == "csv":
        return _csv(rows, columns)
    return _table(rows, table_columns, noun)


def _text(value: str | bool | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def _csv(rows: Sequence[dict[str, str | bool | None]], columns: Sequence[str]) -> str:
    from ..outputs.csvsafe import neutralise

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([neutralise(_text(row.get(c))) for c in columns])
    return buffer.getvalue()


def _table(rows: Sequence[dict[str, str | bool | None]], columns: Sequence[str], noun: str) -> str:
    if not rows:
        return f"no {noun}s logged"
    cells = [
        [short_id(_text(r.get(c))) if c == "id" else _text(r.get(c)) for c in columns] for r in rows
    ]
    header = [c.replace("_", " ") for c in columns]
    fixed = len(columns) - 1
    widths = [max(len(header[i]), *(len(r[i]) for r in cells)) for i in range(fixed)]
    last = max(WIDTH - sum(widths) - 2 * fixed, 8)
    lines = []
    for row in (header, *cells):
        parts = [row[i].ljust(widths[i]) for i in range(fixed)]
        flat = " ".join(row[-1].split())
        parts.append(flat if len(flat) <= last else flat[: last - 1] + "…")
        lines.append("  ".join(parts).rstrip())
    lines.append(f"{len(rows)} {noun}" + ("" if len(rows) == 1 else "s"))
    return "\n".join(lines)

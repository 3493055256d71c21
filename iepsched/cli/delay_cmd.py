"""`iepsched delay log | list`: why a student's meeting is (or was) late (SPEC §3.3).

Append-only and journaled like the contact log: the report counts each school year's meetings
held timely and late with the reason logged here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .base import app, handle_errors, main, resolve_today, today_option
from .logs import check_day, check_reason, format_option, render, short_id

if TYPE_CHECKING:
    from ..core.model import Delay

COLUMNS = ("id", "student_id", "logged_on", "meeting_date", "reason")
TABLE_COLUMNS = ("logged_on", "student_id", "meeting_date", "id", "reason")


@main.group("delay")
def delay_group() -> None:
    """Log and list why meetings are late (the log is append-only)."""


@delay_group.command("log")
@click.argument("student")
@click.option(
    "--reason",
    required=True,
    metavar="TEXT",
    help="Why the meeting is late, one line (at most 1,000 characters).",
)
@click.option(
    "--meeting-date",
    metavar="YYYY-MM-DD",
    help="The late meeting's date (held or planned), when known.",
)
@today_option
@click.pass_context
@handle_errors
def delay_log(
    ctx: click.Context, student: str, reason: str, meeting_date: str | None, today: str | None
) -> None:
    """Log why a student's IEP meeting is (or was) held after its due date.

    The entry is dated today (--today to date it otherwise). The log is append-only: a
    mistaken entry is corrected by logging the right one and saying so in its reason.

    Example: iepsched delay log S1001 --reason "parent asked to reschedule after surgery"
    --meeting-date 2026-12-14
    """
    from ..core.model import Delay
    from ..service.district import load_district
    from .state import open_state

    config = app(ctx).config()
    day = resolve_today(today, config)
    text = check_reason(reason)
    meeting = check_day(meeting_date, option="--meeting-date", today=day)
    wanted = load_district(config).student(student)
    with open_state(config) as store:
        logged = store.log_delay(Delay(wanted.student_id, day, text, meeting))
    click.echo(confirmation(logged))


def confirmation(delay: Delay) -> str:
    """The one line `delay log` prints: ids and dates, never names or the reason."""
    meeting = f" (meeting {delay.meeting_date.isoformat()})" if delay.meeting_date else ""
    return (
        f"logged: delay {short_id(delay.entry_id)} for {delay.student_id} on "
        f"{delay.logged_on.isoformat()}{meeting}"
    )


def delay_rows(delays: list[Delay]) -> list[dict[str, str | bool | None]]:
    """The delay log as rows (the JSON objects, the CSV's and the table's cells)."""
    return [
        {
            "id": d.entry_id,
            "student_id": d.student_id,
            "logged_on": d.logged_on.isoformat(),
            "meeting_date": d.meeting_date.isoformat() if d.meeting_date else None,
            "reason": d.reason,
        }
        for d in delays
    ]


@delay_group.command("list")
@click.argument("student", required=False)
@format_option()
@click.pass_context
@handle_errors
def delay_list(ctx: click.Context, student: str | None, fmt: str) -> None:
    """List the delay log, oldest first: one student's, or everyone's.

    A student who has left the roster can still be listed by id if delays were logged. With
    no state file (lost or moved) the log is read from its journal.

    Example: iepsched delay list S1001 --format csv
    """
    from ..state.journal import delay_of
    from .logs import from_journal, log_source, one_student

    config = app(ctx).config()
    with log_source(config) as store:
        delays = store.delays() if store is not None else from_journal(config, "delay", delay_of)
    if student is not None:
        wanted = one_student(ctx, student, {d.student_id for d in delays})
        delays = [d for d in delays if d.student_id == wanted]
    delays.sort(key=lambda d: d.logged_on)
    click.echo(render(fmt, delay_rows(delays), COLUMNS, TABLE_COLUMNS, "delay"), nl=fmt != "csv")

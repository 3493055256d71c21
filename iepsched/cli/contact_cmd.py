"""`iepsched contact log | list`: the append-only parent-contact log (SPEC §3.4)."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

import click

from ..core.errors import UserError
from ..core.model import CONTACT_METHODS, CONTACT_OUTCOMES
from .base import app, handle_errors, main, resolve_today, today_option
from .logs import clean_text

if TYPE_CHECKING:
    from ..core.model import Contact, StudentPlan

_WIDTH = 100
_DATE_ONLY_TIME = dt.time(12, 0)  # a contact logged with a date alone


@main.group("contact")
def contact_group() -> None:
    """Log and list parent contacts (the log is append-only)."""


# A contact counts toward at most one cycle (about a year); anything older is a typing mistake.
OLDEST_CONTACT_DAYS = 2 * 366


def parse_at(value: str | None, *, tz: dt.tzinfo, now: dt.datetime) -> dt.datetime:
    """--at as an aware time in the district's zone; a date alone means 12:00 that day.

    A wall time the zone skipped (the spring-forward hour) did not happen: refused. A repeated
    one (the fall-back hour) is taken as its first occurrence.
    """
    if not value:
        return now.astimezone(tz).replace(second=0, microsecond=0)
    text = value.strip()
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), _DATE_ONLY_TIME, tz)
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a time like 2026-11-30T15:45 or a date like 2026-11-30",
            param_hint="--at",
        ) from None
    try:
        if parsed.tzinfo is not None:
            return parsed.astimezone(tz)
        local = parsed.replace(tzinfo=tz)
        round_trip = local.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
    except OverflowError:  # year 1 or 9999 moved across the date line (issue 8)
        raise click.BadParameter(
            f"{value!r} is not a date a contact could happen on", param_hint="--at"
        ) from None
    if round_trip != parsed:
        raise click.BadParameter(
            f"{parsed:%Y-%m-%d %H:%M} does not exist in {tz} (the clocks were moved forward "
            "that night): give the time as the clock on the wall showed it",
            param_hint="--at",
        )
    return local


def check_when(when: dt.datetime, today: dt.date) -> None:
    """A contact happened on or before today, and not years ago."""
    if when.date() > today:
        raise click.BadParameter(
            f"{when:%Y-%m-%d %H:%M} is after today ({today.isoformat()}): "
            "only contacts that happened can be logged",
            param_hint="--at",
        )
    if (today - when.date()).days > OLDEST_CONTACT_DAYS:
        raise click.BadParameter(
            f"{when:%Y-%m-%d} is more than two years before today ({today.isoformat()}): "
            "check the date",
            param_hint="--at",
        )


@contact_group.command("log")
@click.argument("student")
@click.option("--method", required=True, type=click.Choice(CONTACT_METHODS), help="How.")
@click.option(
    "--with",
    "with_whom",
    required=True,
    metavar="WHO",
    help="Who was contacted, e.g. the parent's name.",
)
@click.option("--outcome", required=True, type=click.Choice(CONTACT_OUTCOMES), help="Result.")
@click.option(
    "--at",
    metavar="YYYY-MM-DDTHH:MM",
    help="When, in the district's time zone (default: now). A date alone is logged at 12:00.",
)
@click.option("--note", default="", help="A short note (kept in the log, never in calendars).")
@today_option
@click.pass_context
@handle_errors
def contact_log(
    ctx: click.Context,
    student: str,
    method: str,
    with_whom: str,
    outcome: str,
    at: str | None,
    note: str,
    today: str | None,
) -> None:
    """Log a parent contact and say whether the two-contact requirement is now met.

    The requirement: two logged contacts, by two different methods, on or before the date of
    the second parent-contact task. The log is append-only: a mistaken entry is corrected by
    logging the right one and saying so in --note.

    Example: iepsched contact log S1001 --method phone --with "Renata Thornbury"
    --outcome reached --at 2026-11-30T15:45
    """
    from ..core.model import Contact
    from ..service.district import load_district, plan_with_state
    from .state import open_state

    config = app(ctx).config()
    tz = config.district.tz
    district = load_district(config)
    wanted = district.student(student)
    when = parse_at(at, tz=tz, now=dt.datetime.now(tz))
    day = resolve_today(today, config)
    check_when(when, day)
    who = clean_text(with_whom, option="--with")
    note = clean_text(note, option="--note", keep_lines=True)
    if not who:
        raise click.BadParameter("say who was contacted", param_hint="--with")
    contact = Contact(
        student_id=wanted.student_id,
        at=when,
        method=method,
        with_whom=who,
        outcome=outcome,
        note=note,
        source="cli",
    )
    with open_state(config) as store:
        store.log_contact(contact)
        plan = plan_with_state(district, today=day, store=store).get(wanted.student_id)
    click.echo(
        f"logged: {wanted.student_id} {method.replace('_', ' ')} contact with {who} "
        f"({outcome.replace('_', ' ')}) at {when:%Y-%m-%d %H:%M %Z}"
    )
    click.echo(requirement_message(plan, contact, day))


def _short(c: Contact) -> str:
    return f"{c.method.replace('_', ' ')} on {c.at.date().isoformat()}"


def requirement_message(plan: StudentPlan | None, contact: Contact, today: dt.date) -> str:
    """One line on the two-contact requirement after logging `contact`."""
    if plan is None:
        return "this student has exited: no contact requirement applies"
    req = plan.contacts
    if req is None or req.deadline is None:
        return "contact requirement: no deadline yet (the meeting is not placed)"
    deadline = req.deadline.isoformat()
    if req.met:
        first, second = req.qualifying
        return f"contact requirement MET (by {deadline}): {_short(first)} and {_short(second)}"
    late = contact.at.date() > req.deadline
    counted = req.counted  # the plan's own definition of this cycle's contacts
    methods = sorted({c.method.replace("_", " ") for c in counted})
    so_far = f"{len(counted)} counted so far" + (f" ({', '.join(methods)})" if methods else "")
    if late or req.deadline < today:
        note = " (this contact is after that date)" if late else ""
        return (
            f"contact requirement NOT met: two contacts by two different methods were due by "
            f"{deadline}{note}; {so_far}. Tell the coordinator."
        )
    return (
        f"contact requirement not met yet: two contacts by two different methods are due by "
        f"{deadline}; {so_far}"
    )


@contact_group.command("list")
@click.argument("student", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="csv and json carry every field, notes included.",
)
@click.pass_context
@handle_errors
def contact_list(ctx: click.Context, student: str | None, fmt: str) -> None:
    """List the contact log, oldest first: one student's, or everyone's.

    A student who has left the roster can still be listed by id if contacts were logged.
    For a file Excel opens, use `iepsched report --contacts-csv FILE`.

    Example: iepsched contact list S1001 --format csv
    """
    from ..outputs.report import contact_rows, contacts_csv
    from .state import journal_contacts, open_state_readonly
    from .sync_cmd import journal_warnings

    config = app(ctx).config()
    with open_state_readonly(config) as store:
        if store is not None:
            journal_warnings(store)
        contacts = store.contacts() if store is not None else journal_contacts(config.state_path)
    if student is not None:
        contacts = _one_student(ctx, student, contacts)
    if fmt == "json":
        click.echo(json.dumps(contact_rows(contacts), indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(contacts_csv(contacts), nl=False)
    else:
        click.echo(contacts_table(contacts, config.district.tz))


def _one_student(ctx: click.Context, student: str, contacts: list[Contact]) -> list[Contact]:
    """This student's contacts; a roster miss is an error only when the log has none either."""
    from ..service.district import load_district

    try:
        student_id = load_district(app(ctx).config()).student(student).student_id
    except UserError:
        if not any(c.student_id == student for c in contacts):
            raise
        student_id = student
    return [c for c in contacts if c.student_id == student_id]


def _clip(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: max(width - 1, 0)] + "…"


def contacts_table(contacts: list[Contact], tz: dt.tzinfo) -> str:
    """A table that fits 100 columns; long names and notes are clipped (csv/json keep them)."""
    if not contacts:
        return "no contacts logged"
    rows = [
        (
            c.at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            c.student_id,
            c.method,
            c.outcome,
            c.source,
            " ".join(c.with_whom.split()),
            " ".join(c.note.split()),
        )
        for c in contacts
    ]
    header = ("when", "student", "method", "outcome", "source", "with", "note")
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(5)]
    fixed = sum(widths) + 2 * 6
    with_width = min(max(len(header[5]), *(len(r[5]) for r in rows)), 24)
    note_width = max(_WIDTH - fixed - with_width, 4)
    lines = []
    for row in (header, *rows):
        cells = [row[i].ljust(widths[i]) for i in range(5)]
        cells.append(_clip(row[5], with_width).ljust(with_width))
        cells.append(_clip(row[6], note_width))
        lines.append("  ".join(cells).rstrip())
    noun = "contact" if len(contacts) == 1 else "contacts"
    lines.append(f"{len(contacts)} {noun}")
    return "\n".join(lines)

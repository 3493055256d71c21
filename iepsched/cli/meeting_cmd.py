"""`iepsched meeting request | list`: requests for meetings outside the annual cycle, such as an
amendment (SPEC §3.6). Append-only and journaled like the contact log.

Which requests are open, and each one's state, is `core.requests.request_states`: the planner's
rule (a request stays open, overdue, past its due date until its meeting is held or its written
amendment signed). The days cycles were held are read from the state's item rows the way `sync`
reads them (`core.bookings.state_inputs`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import click

from ..core.model import MEETING_REQUEST_TYPES, REQUESTERS
from .base import app, handle_errors, main, resolve_today, today_option
from .logs import check_day, check_reason, format_option, render, short_id

if TYPE_CHECKING:
    from ..core.model import MeetingRequest
    from ..core.settings import Config
    from ..state.store import StateStore

COLUMNS = (
    "id",
    "student_id",
    "type",
    "requested_on",
    "by",
    "due_date",
    "open",
    "state",
    "without_meeting",
    "notice_waived",
    "requested_by",
    "reason",
)
TABLE_COLUMNS = ("requested_on", "student_id", "type", "due_date", "state", "id", "reason")


@main.group("meeting")
def meeting_group() -> None:
    """Request and list meetings outside the annual cycle (the log is append-only)."""


@meeting_group.command("request")
@click.argument("student")
@click.option(
    "--type",
    "kind",
    required=True,
    type=click.Choice(MEETING_REQUEST_TYPES),
    help="What the meeting is for.",
)
@click.option(
    "--reason",
    required=True,
    metavar="TEXT",
    help="Why it was requested, one line (at most 1,000 characters).",
)
@click.option(
    "--by",
    metavar="YYYY-MM-DD",
    help="Hold it by this date (default: 30 days after the request; 14 without a meeting).",
)
@click.option(
    "--notice-waived",
    is_flag=True,
    help="The parents waived the 10-day notice: the meeting may be 2 school days away.",
)
@click.option(
    "--without-meeting",
    is_flag=True,
    help="Amend by a written document the parents sign, with no meeting (34 CFR 300.324(a)(4)).",
)
@click.option("--requested-by", type=click.Choice(REQUESTERS), help="Who asked for it.")
@today_option
@click.pass_context
@handle_errors
def meeting_request(
    ctx: click.Context,
    student: str,
    kind: str,
    reason: str,
    by: str | None,
    notice_waived: bool,
    without_meeting: bool,
    requested_by: str | None,
    today: str | None,
) -> None:
    """Log a request for a meeting, e.g. to amend a student's IEP.

    The request is dated today (--today to date it otherwise) and is due by --by, else 30 days
    after the request (14 with --without-meeting). It stays open, overdue once that date has
    passed, until its meeting is held (or the written amendment signed). A student has at most
    one open request of a type. The log is append-only.

    Example: iepsched meeting request S1001 --type amendment --reason "add speech minutes"
    --requested-by parent --by 2026-12-18
    """
    from ..core.model import MeetingRequest
    from ..service.district import load_district
    from .state import open_state

    config = app(ctx).config()
    day = resolve_today(today, config)
    text = check_reason(reason)
    by_day = check_day(by, option="--by", today=day, past=False)
    if notice_waived and without_meeting:
        raise click.BadParameter(
            "a request without a meeting has no notice of meeting to waive; give one of "
            "--notice-waived and --without-meeting",
            param_hint="--notice-waived",
        )
    wanted = load_district(config).student(student)
    request = MeetingRequest(
        student_id=wanted.student_id,
        type=kind,
        requested_on=day,
        reason=text,
        by=by_day,
        notice_waived=notice_waived,
        without_meeting=without_meeting,
        requested_by=requested_by,
    )
    with open_state(config) as store:
        held = held_cycles(store, config, day, wanted.student_id)
        refuse_second_open(store.meeting_requests(wanted.student_id), request, day, held)
        logged = store.log_meeting_request(request)
    click.echo(confirmation(logged))


def held_cycles(
    store: StateStore, config: Config, today: dt.date, student_id: str | None = None
) -> dict[str, dt.date]:
    """The day each cycle was held by cycle key (its meeting held, or its written amendment
    signed), from the state's item rows as `sync` reads them; one student's when given."""
    from ..core.bookings import state_inputs

    items = {
        key: st
        for key, st in store.items().items()
        if student_id is None or st.student_id == student_id
    }
    inputs = state_inputs([], items, {}, [], today=today, tz=config.district.tz)
    return inputs.cycles_held


def refuse_second_open(
    logged: list[MeetingRequest],
    request: MeetingRequest,
    today: dt.date,
    held: dict[str, dt.date] | None = None,
) -> None:
    """Exit 2 when the student already has an open request of this type (SPEC §3.6: one
    amendment cycle at a time; a change to it is a new request once it is held). Open is the
    planner's rule: an overdue request is still open until its meeting is held."""
    from ..core.errors import Problem, UserError
    from ..core.requests import open_requests, request_due

    for found in open_requests(logged, today, held=held):
        if found.type != request.type:
            continue
        overdue = " and overdue" if today > request_due(found) else ""
        raise UserError(
            Problem(
                "",
                f"{request.student_id} already has an open{overdue} {request.type} request "
                f"{short_id(found.entry_id)} (requested {found.requested_on.isoformat()}, due "
                f"{request_due(found).isoformat()}); nothing was logged. A student has one open "
                "request of a type at a time: add this to that meeting, or log it again once "
                "that meeting is held (or the written amendment signed).",
            )
        )


def confirmation(request: MeetingRequest) -> str:
    """The one line `meeting request` prints: ids and dates, never names or the reason."""
    from ..core.requests import request_due

    how = " without a meeting" if request.without_meeting else ""
    waived = ", notice waived" if request.notice_waived else ""
    return (
        f"requested: {request.type}{how} {short_id(request.entry_id)} for "
        f"{request.student_id} on {request.requested_on.isoformat()}, due "
        f"{request_due(request).isoformat()}{waived}"
    )


def request_rows(
    requests: list[MeetingRequest], today: dt.date, held: dict[str, dt.date] | None = None
) -> list[dict[str, str | bool | None]]:
    """The request log as rows (the JSON objects, the CSV's and the table's cells). `requests`
    in the log's order (two of one day are told apart by their place); `held` as
    `held_cycles` gives it. `open` is true while the state is open or overdue."""
    from ..core.requests import OPEN_STATES, request_due, request_states

    states = request_states(requests, today, held=held)
    return [
        {
            "id": r.entry_id,
            "student_id": r.student_id,
            "type": r.type,
            "requested_on": r.requested_on.isoformat(),
            "by": r.by.isoformat() if r.by else None,
            "due_date": request_due(r).isoformat(),
            "open": states[r.entry_id] in OPEN_STATES,
            "state": states[r.entry_id],
            "without_meeting": r.without_meeting,
            "notice_waived": r.notice_waived,
            "requested_by": r.requested_by,
            "reason": r.reason,
        }
        for r in requests
    ]


@meeting_group.command("list")
@click.argument("student", required=False)
@format_option()
@today_option
@click.pass_context
@handle_errors
def meeting_list(ctx: click.Context, student: str | None, fmt: str, today: str | None) -> None:
    """List the meeting requests, oldest first, and each one's state on --today: open, overdue
    (due date passed, meeting not held: still open), held, or signed (written amendment).

    A student who has left the roster can still be listed by id if requests were logged. With
    no state file (lost or moved) the log is read from its journal.

    Example: iepsched meeting list S1001 --format json
    """
    from ..state.journal import request_of
    from .logs import from_journal, log_source, one_student

    config = app(ctx).config()
    day = resolve_today(today, config)
    held: dict[str, dt.date] = {}
    with log_source(config) as store:
        if store is not None:
            requests = store.meeting_requests()
            held = held_cycles(store, config, day)
        else:  # no state, so no meeting is known held: open or overdue by the dates alone
            requests = from_journal(config, "meeting_request", request_of)
    if student is not None:
        wanted = one_student(ctx, student, {r.student_id for r in requests})
        requests = [r for r in requests if r.student_id == wanted]
    # The states before sorting: the log's order tells two requests of one day apart.
    rows = request_rows(requests, day, held)
    rows.sort(key=lambda row: str(row["requested_on"]))
    click.echo(render(fmt, rows, COLUMNS, TABLE_COLUMNS, "meeting request"), nl=fmt != "csv")

"""`iepsched plan`: one student's timeline, or the whole roster."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .base import app, handle_errors, main, parse_day, resolve_today, today_option
from .preview import caseload_options, real_today

if TYPE_CHECKING:
    from ..core.model import StudentPlan
    from ..core.settings import Config
    from ..outputs.caseload import Caseload
    from ..service.district import District


@main.command()
@click.argument("student", required=False)
@click.option(
    "--all", "show_all", is_flag=True, help="One row per open meeting cycle instead of one student."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "ics", "csv"]),
    default="table",
    show_default=True,
    help="table, json or ics for one student; table, csv or json with --all.",
)
@click.option(
    "--sort",
    type=click.Choice(["status", "due", "id"]),
    default="status",
    show_default=True,
    help="Order of --all rows (status puts overdue and at-risk students first).",
)
@caseload_options
@today_option
@click.pass_context
@handle_errors
def plan(
    ctx: click.Context,
    student: str | None,
    show_all: bool,
    fmt: str,
    sort: str,
    case_manager: str | None,
    building: str | None,
    today: str | None,
) -> None:
    """Show a student's backward-scheduled IEP timeline (plans the whole roster).

    With --all, one row per student; --case-manager EMAIL and/or --building NAME show only
    that caseload (and imply --all). A --today after today previews the plan: meetings not yet
    held by then count as not held, and nothing is changed.

    Example: iepsched plan S1001 --today 2026-11-30 --format json
    """
    filtered = case_manager is not None or building is not None
    if filtered and student:
        raise click.UsageError("--case-manager and --building go with --all, not a STUDENT id")
    show_all = show_all or filtered
    if not show_all and not student:
        raise click.UsageError("give a STUDENT id, or --all for the whole roster")
    # Asking again for the same student costs no planning: the answer is reused while none of
    # its inputs (every file the config names, the code, today) has changed.
    cacheable = student if not show_all and fmt in ("table", "json") else None
    if cacheable is not None:
        hit = _cached(app(ctx).config_path(), cacheable, fmt, today)
        if hit is not None:
            click.echo(hit, nl=False)
            _say_if_future(ctx, today)
            return

    from ..service.district import load_district

    config = app(ctx).config()
    if show_all and fmt == "ics":
        raise click.UsageError("--format ics shows one student; use `iepsched export ics`")
    if not show_all and fmt == "csv":
        raise click.UsageError("--format csv goes with --all")
    from .skipped import finish_skipped

    district = load_district(config)
    day = resolve_today(today, config)
    if student is None or show_all:
        from ..outputs.caseload import resolve_caseload

        chosen = resolve_caseload(
            district.roster.students, case_manager=case_manager, building=building
        )
        text, notes = _roster_text(config, district, day, fmt, sort, chosen)
        click.echo(text, nl=False)
        _say_if_future(ctx, today)
        for note in notes:
            click.echo(note, err=True)
        finish_skipped(district)
        return
    output, notes = _student_text(config, district, student, day, fmt)
    click.echo(output, nl=False)
    _say_if_future(ctx, today)
    for note in notes:
        click.echo(note, err=True)
    # Only a clean roster's answer without notes is kept: a cache hit skips loading the roster
    # and planning, so it could not say that rows were skipped or repeat the district's warnings
    # (and the roster file is one of the cache's inputs).
    if cacheable is not None and not district.roster.skipped and not notes:
        _remember(config, cacheable, fmt, day, output)
    finish_skipped(district)


def _say_if_future(ctx: click.Context, today: str | None) -> None:
    """On stderr, so a table or JSON on stdout stays clean: a future --today is a preview.

    Only a --today within a day of the UTC date needs the config's time zone to decide; a cache
    hit keeps skipping the config load for every other date.
    """
    if not today:
        return
    day = parse_day(today)
    utc = dt.datetime.now(dt.UTC).date()
    if day < utc - dt.timedelta(days=1):
        return
    from ..outputs.wording import future_note

    note = future_note(day, real_today(app(ctx).config()))
    if note:
        click.echo(note, err=True)


def _cached(config_path: Path, student: str, fmt: str, today: str | None) -> str | None:
    """The answer printed last time, if nothing it depended on has changed (see plancache)."""
    from ..state.plancache import cache_dir, lookup

    return lookup(
        cache_dir(dict(os.environ)), config=config_path, student=student, fmt=fmt, today=today
    )


def _remember(config: Config, student: str, fmt: str, day: dt.date, output: str) -> None:
    """Store the answer with every file the config names (plancache walks the Config)."""
    from ..state.plancache import cache_dir, store

    folder = cache_dir(dict(os.environ))
    store(folder, config=config, student=student, fmt=fmt, today=day, output=output)


def _student_text(
    config: Config, district: District, student: str, day: dt.date, fmt: str
) -> tuple[str, list[str]]:
    """One student's answer (a table, JSON, or an ICS calendar) and the district's warnings
    about that student, for stderr."""
    from ..outputs.skipped import district_notes
    from ..service.district import plan_with_state
    from .state import open_state_readonly

    with open_state_readonly(config) as store:
        wanted = district.student(student)
        result = plan_with_state(district, today=day, store=store)
    notes = district_notes(result.warnings, {wanted.student_id})
    found = result.get(wanted.student_id)
    if found is None and notes:  # e.g. no open meeting cycle: the note says what to do
        text = f"{wanted.student_id}: nothing is planned.\n"
    elif found is None:
        text = f"{wanted.student_id} has exited special education: nothing is planned.\n"
    else:
        text = _one_plan(config, found, fmt)
    return text, notes


def _one_plan(config: Config, found: StudentPlan, fmt: str) -> str:
    """One student's plan as a table, JSON, or an ICS calendar."""
    from ..outputs.render import plan_json, plan_table

    if fmt == "ics":
        from ..outputs.ics import plans_calendar

        return plans_calendar(
            [found],
            tz_name=config.district.timezone,
            name=f"IEP timeline {found.student_id}",
            sequence_for=None,
            privacy=config.privacy,
            category=config.delivery.category,
            rooms=config.rooms,
        ).decode("utf-8")
    if fmt == "json":
        return json.dumps(plan_json(found), indent=2) + "\n"
    return plan_table(found) + "\n"


def _roster_text(
    config: Config, district: District, day: dt.date, fmt: str, sort: str, chosen: Caseload
) -> tuple[str, list[str]]:
    """One row per open cycle of the caseload's students: a table with a count line (students by
    their worst status, then the other cycles by type), CSV or JSON; and the district's warnings
    about the caseload's students, for stderr."""
    from ..outputs.caseload import caseload_plans
    from ..outputs.cycleview import TYPE_SHORT
    from ..outputs.render import all_csv, all_json, all_table, sort_rows
    from ..outputs.skipped import district_notes
    from ..service.district import plan_with_state
    from .state import open_state_readonly

    with open_state_readonly(config) as store:
        # Every form of the roster view shows a row per cycle and no student's warnings (those
        # are `plan STUDENT`'s and the report's), so the planner does not write them.
        result = plan_with_state(district, today=day, store=store, sentences=False)
    plans = caseload_plans(result.plans, chosen)
    mine = (
        None
        if chosen.everyone
        else {s.student_id for s in district.roster.students if chosen.holds(s)}
    )
    notes = district_notes(result.warnings, mine)
    rows = sort_rows(plans, sort)
    if fmt == "csv":
        return all_csv(rows), notes
    if fmt == "json":
        return all_json(rows) + "\n", notes
    counts = Counter(p.status for p in plans)
    summary = ", ".join(f"{counts[s]} {s}" for s in sorted(counts, key=str))
    of = "" if chosen.everyone else f" of {chosen.describe()}"
    others = Counter(TYPE_SHORT[c.cycle_type] for p in plans for c in p.others)
    more = ", ".join(f"{n} {t}" for t, n in sorted(others.items()))
    extra = f"\n{sum(others.values())} more open cycles: {more}" if others else ""
    text = f"{all_table(rows)}\n\n{len(plans)} students{of}: {summary or 'none'}{extra}\n"
    return text, notes

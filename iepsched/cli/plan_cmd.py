"""`iepsched plan`: one student's timeline, or the whole roster."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .base import app, handle_errors, main, resolve_today, today_option

if TYPE_CHECKING:
    from ..core.settings import Config


@main.command()
@click.argument("student", required=False)
@click.option("--all", "show_all", is_flag=True, help="One row per student instead of one student.")
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
@today_option
@click.pass_context
@handle_errors
def plan(
    ctx: click.Context,
    student: str | None,
    show_all: bool,
    fmt: str,
    sort: str,
    today: str | None,
) -> None:
    """Show a student's backward-scheduled IEP timeline (plans the whole roster).

    Example: iepsched plan S1001 --today 2026-11-30 --format json
    """
    if not show_all and not student:
        raise click.UsageError("give a STUDENT id, or --all for the whole roster")
    cacheable = not show_all and fmt in ("table", "json")
    if cacheable:
        # Asking again for the same student costs no planning: the answer is reused while none
        # of its inputs (config, roster, calendars, rules, state, code, today) has changed.
        from ..state.plancache import cache_dir, lookup

        assert student is not None
        hit = lookup(
            cache_dir(dict(os.environ)),
            config=app(ctx).config_path(),
            student=student,
            fmt=fmt,
            today=today,
        )
        if hit is not None:
            click.echo(hit, nl=False)
            return

    from ..outputs.render import all_csv, all_json, all_table, plan_json, plan_table, sort_plans
    from ..service.district import load_district, plan_with_state
    from .state import open_state_readonly

    config = app(ctx).config()
    if show_all and fmt == "ics":
        raise click.UsageError("--format ics shows one student; use `iepsched export ics`")
    if not show_all and fmt == "csv":
        raise click.UsageError("--format csv goes with --all")
    district = load_district(config)
    day = resolve_today(today, config)
    with open_state_readonly(config) as store:
        if not show_all:
            assert student is not None
            wanted = district.student(student)
            result = plan_with_state(district, today=day, store=store)
            found = result.get(wanted.student_id)
            if found is not None and fmt == "ics":
                from ..outputs.ics import plans_calendar

                cal = plans_calendar(
                    [found],
                    tz_name=config.district.timezone,
                    name=f"IEP timeline {found.student_id}",
                    sequence_for=None,
                    privacy=config.privacy,
                    category=config.delivery.category,
                    rooms=config.rooms,
                )
                click.echo(cal.decode("utf-8"), nl=False)
                return
            if found is None:
                output = f"{wanted.student_id} has exited special education: nothing is planned.\n"
            elif fmt == "json":
                output = json.dumps(plan_json(found), indent=2) + "\n"
            else:
                output = plan_table(found) + "\n"
            click.echo(output, nl=False)
            if cacheable:
                _remember(ctx, config, student, fmt, day, output)
            return
        result = plan_with_state(district, today=day, store=store)
    plans = sort_plans(result.plans, sort)
    if fmt == "csv":
        click.echo(all_csv(plans), nl=False)
    elif fmt == "json":
        click.echo(all_json(plans))
    else:
        click.echo(all_table(plans))
        counts = Counter(p.status for p in plans)
        click.echo("")
        click.echo(
            f"{len(plans)} students: "
            + ", ".join(f"{counts[s]} {s}" for s in sorted(counts, key=str))
        )


def _remember(
    ctx: click.Context, config: Config, student: str, fmt: str, day: dt.date, output: str
) -> None:
    """Store the answer with every file it was computed from (see plancache)."""
    from ..state.plancache import cache_dir, store

    c = config.calendar
    state = config.state_path
    files = [
        config.roster.path,
        *([c.path] if c.path else []),
        *c.buildings.values(),
        *([c.ics.path] if c.ics else []),
        *([config.rules_path] if config.rules_path else []),
        state,
        Path(f"{state}-wal"),
    ]
    store(
        cache_dir(dict(os.environ)),
        config=app(ctx).config_path(),
        student=student,
        fmt=fmt,
        today=day,
        timezone=config.district.timezone,
        files=files,
        output=output,
    )

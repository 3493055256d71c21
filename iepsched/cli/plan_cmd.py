"""`iepsched plan`: one student's timeline, or the whole roster."""

from __future__ import annotations

import json
from collections import Counter

import click

from .base import app, handle_errors, main, resolve_today, today_option


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
    from ..district import load_district, plan_with_state
    from ..render import all_csv, all_json, all_table, plan_json, plan_table, sort_plans
    from .state import open_state_readonly

    config = app(ctx).config()
    if not show_all and not student:
        raise click.UsageError("give a STUDENT id, or --all for the whole roster")
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
            if found is None:
                click.echo(f"{wanted.student_id} has exited special education: nothing is planned.")
                return
            if fmt == "json":
                click.echo(json.dumps(plan_json(found), indent=2))
            elif fmt == "ics":
                from ..ics import plans_calendar

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
            else:
                click.echo(plan_table(found))
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

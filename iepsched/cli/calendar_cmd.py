"""`iepsched calendar show | check | draft`: look at, check and start school calendars."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..core.errors import Problem, UserError
from .base import (
    EXIT_OK,
    EXIT_USAGE,
    app,
    handle_errors,
    main,
    parse_day,
    resolve_today,
    today_option,
)
from .config_cmd import count_of

if TYPE_CHECKING:
    from ..core.schoolcal import SchoolCalendar
    from ..inputs.calendars import CalendarSet, MonthView

_MARK_CLOSED, _MARK_OUT, _MARK_UNKNOWN = "x", "-", "?"


@main.group("calendar")
def calendar_group() -> None:
    """Show, check and draft school calendars."""


building_option = click.option(
    "--building", metavar="NAME", help="Only the calendar of this building (default: all)."
)


def _selected(calendars: CalendarSet, building: str | None) -> tuple[SchoolCalendar, ...]:
    """The calendar of --building, or all. A building not in [calendar.buildings] is an error
    naming the known ones: showing the default calendar for a misspelt name would hide it."""
    if not building:
        return calendars.calendars()
    if calendars.buildings and not calendars.is_listed(building):
        from ..core.errors import Problem, UserError

        near = calendars.closest(building)
        hint = f"did you mean {near!r}? " if near else ""
        known = ", ".join(sorted(calendars.buildings))
        fallback = (
            " (buildings not listed are planned on the default calendar: leave out --building "
            "to see it)"
            if calendars.unlisted == "default" and calendars.default is not None
            else ""
        )
        raise UserError(
            Problem(
                calendars.where,
                f"no building {building!r}; {hint}known buildings: {known}{fallback}",
            )
        )
    return (calendars.for_building(building),)


@calendar_group.command("show")
@building_option
@click.option("--month", metavar="YYYY-MM", help="The month to show (default: this month).")
@click.option("--year", "school_year", metavar="YYYY-YY", help="Every month of a school year.")
@today_option
@click.pass_context
@handle_errors
def calendar_show(
    ctx: click.Context,
    building: str | None,
    month: str | None,
    school_year: str | None,
    today: str | None,
) -> None:
    """Draw months of the school calendar: school days, closures, labels.

    Weekends are the last two columns. Days marked x are closed, - are outside the school year
    (summer), ? are in a school year whose calendar is not loaded. Each month ends with its
    count of school days.

    Example: iepsched calendar show --building "Bluestem High" --month 2026-12
    """
    from ..inputs.calendars import load_calendars, month_view

    config = app(ctx).config()
    months = _months(month, school_year, lambda: resolve_today(today, config))
    selected = _selected(load_calendars(config), building)
    blocks = [
        _render_month(month_view(cal, year=y, month=m)) for cal in selected for y, m in months
    ]
    click.echo("\n\n".join(blocks))
    click.echo(
        f"\n{_MARK_CLOSED} closed   {_MARK_OUT} outside the school year   "
        f"{_MARK_UNKNOWN} school year not loaded"
    )


def _months(
    month: str | None, school_year: str | None, today: Callable[[], dt.date]
) -> list[tuple[int, int]]:
    """The (year, month) pairs to draw; `today` is only asked when no month or year is given."""
    if month and school_year:
        raise click.UsageError("give --month or --year, not both")
    if school_year:
        try:
            start = int(school_year[:4])
            if school_year != f"{start}-{(start + 1) % 100:02d}":
                raise ValueError
        except ValueError:
            raise click.BadParameter(
                f"{school_year!r} is not a school year like 2026-27", param_hint="--year"
            ) from None
        return [(start + (m < 7), m) for m in (*range(7, 13), *range(1, 7))]
    if month:
        try:
            day = dt.date.fromisoformat(f"{month}-01")
        except ValueError:
            raise click.BadParameter(
                f"{month!r} is not a month like 2026-12", param_hint="--month"
            ) from None
        return [(day.year, day.month)]
    day = today()
    return [(day.year, day.month)]


def _render_month(view: MonthView) -> str:
    import calendar as stdcal  # only for month names; kept off the CLI's start-up path

    title = f"{stdcal.month_name[view.month]} {view.year} — {view.calendar}"
    lines = [title, "  Mon  Tue  Wed  Thu  Fri  Sat  Sun"]
    cells = ["     "] * view.first_weekday
    for number, info in enumerate(view.days, start=1):
        if info is None:
            mark = _MARK_UNKNOWN
        elif info.school_day or info.reason == "weekend":
            mark = " "
        elif info.reason == "summer":
            mark = _MARK_OUT
        else:
            mark = _MARK_CLOSED
        cells.append(f"{number:>4}{mark}")
    for start in range(0, len(cells), 7):
        lines.append("".join(cells[start : start + 7]).rstrip())
    for closure in view.closures:
        span = closure.start.isoformat()
        if closure.end != closure.start:
            span = f"{span} to {closure.end.isoformat()}"
        lines.append(f"  {_MARK_CLOSED} {span}  {closure.label or 'closed'}")
    if view.unknown_years:
        years = ", ".join(view.unknown_years)
        lines.append(f"  {_MARK_UNKNOWN} school year {years} is not loaded in this calendar")
    lines.append(f"  {count_of(view.school_days, 'school day')}")
    return "\n".join(lines)


@calendar_group.command("check")
@building_option
@click.pass_context
@handle_errors
def calendar_check(ctx: click.Context, building: str | None) -> None:
    """Check calendars for what a coordinator should confirm.

    Never changes a calendar.
    Warns about overlapping closures, closures and grading periods outside the school year, report
    dates before a period ends, and US/Kansas public holidays left as school days. Exit 0 when
    there are only warnings, 2 when a calendar cannot be loaded or has errors.

    Example: iepsched calendar check --building "Prairie Valley High"
    """
    from ..inputs.calendarcheck import check_calendar
    from ..inputs.calendars import load_calendars

    selected = _selected(load_calendars(app(ctx).config()), building)
    problems: list[Problem] = [p for cal in selected for p in check_calendar(cal)]
    for problem in problems:
        click.echo(f"{problem.severity}: {problem}")
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    summary = ", ".join(
        count_of(n, word)
        for n, word in ((len(selected), "calendar"), (errors, "error"), (warnings, "warning"))
    )
    if errors:
        click.echo(f"calendar check failed: {summary}")
        sys.exit(EXIT_USAGE)
    click.echo(f"calendar check OK: {summary}")
    sys.exit(EXIT_OK)


@calendar_group.command("draft")
@click.option("--year", "school_year", required=True, metavar="YYYY-YY", help="e.g. 2027-28")
@click.option("--first-day", required=True, metavar="YYYY-MM-DD", help="First day of school.")
@click.option("--last-day", required=True, metavar="YYYY-MM-DD", help="Last day of school.")
@click.option("--name", default="", help='Calendar name (default: "School calendar YEAR").')
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the draft to this file (default: print it).",
)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@handle_errors
def calendar_draft(
    school_year: str,
    first_day: str,
    last_day: str,
    name: str,
    out: Path | None,
    force: bool,
) -> None:
    """Draft a new school year's calendar with public holidays closed.

    The US/Kansas public holidays that fall on weekdays are closed; a coordinator then adds the
    breaks, PD days and grading periods, removes holidays on which school is in session, and runs
    `iepsched calendar check`. Needs no config.

    Example: iepsched calendar draft --year 2027-28 --first-day 2027-08-12 --last-day 2028-05-19
    """
    from ..inputs.calendarcheck import draft_calendar_toml

    text = draft_calendar_toml(
        name=name or f"School calendar {school_year}",
        year=school_year,
        first_day=parse_day(first_day, "--first-day"),
        last_day=parse_day(last_day, "--last-day"),
    )
    if out is None:
        click.echo(text, nl=False)
        return
    if out.exists() and not force:
        raise UserError(Problem(str(out), "already exists; use --force to overwrite it"))
    out.write_text(text, encoding="utf-8")
    click.echo(f"wrote {out}", err=True)

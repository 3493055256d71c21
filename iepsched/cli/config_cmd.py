"""`iepsched config check`: load everything a run needs and report every problem at once."""

from __future__ import annotations

import sys

import click

from ..core.errors import Problem, UserError
from .base import EXIT_OK, EXIT_USAGE, app, handle_errors, main


@main.group("config")
def config_group() -> None:
    """Check the configuration."""


@config_group.command("check")
@click.pass_context
@handle_errors
def config_check(ctx: click.Context) -> None:
    """Load the config, roster, calendars and rules; print every problem and warning.

    Exit 0 when nothing is wrong or there are only warnings, 2 when anything is an error (a bad
    roster row is an error: that student is skipped until it is fixed).

    Example: iepsched --config config/iepsched.toml config check
    """
    from ..inputs.calendars import load_calendars
    from ..inputs.config import check_rooms, load_config, load_rules_checked
    from ..inputs.roster import read_roster

    # Loaded directly rather than through app(ctx).config(), which would log the warnings a
    # second time; this command prints them itself, in order with everything else.
    config = load_config(app(ctx).config_path())
    problems: list[Problem] = list(config.warnings)
    students = None
    skipped = 0
    try:
        roster = read_roster(config.roster.path, config.roster.columns)
    except UserError as exc:
        problems.extend(exc.problems)
    else:
        problems.extend(roster.problems)
        students = roster.students
        skipped = len(roster.skipped_lines)
        problems.extend(check_rooms(config, students))
    calendar_count = 0
    try:
        calendars = load_calendars(config)
    except UserError as exc:
        problems.extend(exc.problems)
    else:
        calendar_count = len(calendars.calendars())
        if students is not None:
            problems.extend(calendars.check_buildings(students))
    try:
        problems.extend(load_rules_checked(config)[1])
    except UserError as exc:
        problems.extend(exc.problems)

    errors = [p for p in problems if p.severity == "error"]
    for problem in problems:
        click.echo(f"{problem.severity}: {problem}")
    parts = []
    if students is not None:
        exited = sum(1 for s in students if s.status == "exited")
        parts.append(f"{count_of(len(students), 'student')} ({exited} exited)")
    parts.append(count_of(calendar_count, "calendar"))
    parts.append(f"{count_of(skipped, 'row')} skipped")
    warnings = len(problems) - len(errors)
    if warnings:
        parts.append(count_of(warnings, "warning"))
    if errors:
        click.echo(f"config has {count_of(len(errors), 'error')}: {', '.join(parts)}")
        sys.exit(EXIT_USAGE)
    click.echo(f"config OK: {', '.join(parts)}")
    sys.exit(EXIT_OK)


def count_of(n: int, word: str) -> str:
    """ "1 calendar", "2 calendars": the summaries of the check commands."""
    return f"{n} {word}{'' if n == 1 else 's'}"

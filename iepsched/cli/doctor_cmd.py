"""`iepsched doctor`: the real-tenant self-test in one pilot mailbox."""

from __future__ import annotations

import datetime as dt
import sys

import click

from ..core.errors import ExitCode
from .base import app, handle_errors, main


@main.command("doctor")
@click.option("--mailbox", required=True, metavar="UPN", help="The pilot mailbox to test in.")
@click.option(
    "--attendee",
    metavar="UPN",
    help="Whose free/busy to read (e.g. an LEA or a room; default: the pilot mailbox).",
)
@click.pass_context
@handle_errors
def doctor(ctx: click.Context, mailbox: str, attendee: str | None) -> None:
    """Exercise every Graph capability iepsched needs in one mailbox; clean up; one line each.

    It creates a private event and a To Do task marked "iepsched doctor — safe to delete" and
    removes them again. Exit 0 when every check passes, 1 when one fails, 2 on a config problem.

    Example: iepsched doctor --mailbox pilot.cm@district.org --attendee lea@district.org
    """
    from ..m365.doctor import run_doctor
    from .graph_setup import graph_client, token_provider

    config = app(ctx).config()
    tokens = token_provider(config)
    # Tomorrow in the district: a day whose early morning no one is using yet.
    day = dt.datetime.now(config.district.tz).date() + dt.timedelta(days=1)
    with graph_client(config, tokens) as client:
        report = run_doctor(
            client,
            tokens,
            mailbox=mailbox,
            attendee=attendee,
            timezone=client.timezone,  # the name the client also sends in Prefer
            day=day,
            tasks=config.delivery.tasks,
            emit=click.echo,
        )
    failed = sum(c.outcome == "FAIL" for c in report.checks)
    if failed:
        click.echo(f"{failed} check(s) failed: iepsched is not ready for this tenant.", err=True)
        sys.exit(ExitCode.FAILURES)
    click.echo("All checks passed.")

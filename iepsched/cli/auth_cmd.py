"""`iepsched auth`: what the app registration may do in the tenant."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..core.errors import ExitCode
from .base import app, handle_errors, main

if TYPE_CHECKING:
    from ..core.settings import Config

# Why there is no interactive sign-in (README, "Why there is no personal sign-in").
NO_PERSONAL_MODE = (
    "iepsched has no personal sign-in: it syncs the whole district nightly as the Entra app "
    "(app-only, certificate or secret), so a person's delegated token would have nothing to do. "
    "Use `iepsched auth status` to check the app and `iepsched doctor` to test a mailbox."
)


@main.group()
def auth() -> None:
    """Check what the Entra app's token carries and which mailbox access Graph allows."""


def _probe_mailbox(config: Config, mailbox: str | None) -> tuple[str, str]:
    """The mailbox to probe and why that one: --mailbox, else the roster's first case manager."""
    if mailbox:
        return mailbox, "--mailbox"
    from ..inputs.roster import read_roster

    roster = read_roster(config.roster.path, config.roster.columns)
    first = next((s.case_manager_email for s in roster.students if s.case_manager_email), None)
    if first is None:
        from ..core.errors import Problem, UserError

        raise UserError(Problem("--mailbox", "the roster names no case manager; give --mailbox"))
    return first, "the roster's first case manager"


@auth.command("status")
@click.option(
    "--mailbox",
    metavar="UPN",
    help="Mailbox to probe (default: the first case manager in the roster).",
)
@click.pass_context
@handle_errors
def status(ctx: click.Context, mailbox: str | None) -> None:
    """Show the app's token (never the token itself) and probe a mailbox per capability.

    With Exchange RBAC for Applications the token carries no tenant-wide Calendars role, so the
    verdict comes from read-only requests in one mailbox, not from the token. Exit 1 when Graph
    refuses one of them. `iepsched doctor` tests the writes.

    Example: iepsched auth status --mailbox cm@district.org
    """
    from ..m365.auth import describe_status
    from ..m365.authstatus import needed_roles, probe_access, role_advice
    from .graph_setup import graph_client, token_provider

    config = app(ctx).config()
    tokens = token_provider(config)
    token = tokens.token()
    info = describe_status(
        token, authority=config.graph.resolved_authority, endpoint=config.graph.endpoint
    )
    click.echo(f"app (client) id: {info.app_id}")
    click.echo(f"tenant:          {info.tenant}")
    click.echo(f"authority:       {info.authority}")
    click.echo(f"Graph endpoint:  {info.endpoint}")
    click.echo(f"token kind:      {info.kind}")
    click.echo(f"roles in token:  {', '.join(info.permissions) or '(none)'}")
    if info.expires_at:
        click.echo(f"expires:         {info.expires_at.isoformat(timespec='minutes')}")
    tasks = config.delivery.tasks
    needed = needed_roles(tasks)
    mode = "Microsoft To Do" if tasks == "todo" else "all-day calendar items"
    click.echo(f"delivery:        tasks as {mode}; needs {', '.join(needed)}")
    target, why = _probe_mailbox(config, mailbox)
    click.echo(f"probed mailbox:  {target} ({why})")
    day = dt.datetime.now(config.district.tz).date()
    with graph_client(config, tokens) as client:
        probes = probe_access(client, target, tasks=tasks, day=day, timezone=client.timezone)
    for probe in probes:
        verdict = "ok" if probe.ok else "REFUSED"
        click.echo(
            f"  {verdict:8} {probe.capability}" + (f" — {probe.detail}" if probe.detail else "")
        )
    for line in role_advice(info, probes, needed):
        click.echo(f"  {line}")
    if not all(p.ok for p in probes):
        sys.exit(ExitCode.FAILURES)


def _leftover_cache(config: Config) -> Path:
    """Where earlier versions kept the device-code sign-in's token cache."""
    return config.graph.token_cache_path or config.state_path.with_name("token-cache.json")


@auth.command("login")
@click.pass_context
@handle_errors
def login(ctx: click.Context) -> None:
    """Explain why there is no personal sign-in (exit 2); the app signs in by itself.

    Example: iepsched auth login
    """
    click.echo(f"error: {NO_PERSONAL_MODE}", err=True)
    sys.exit(ExitCode.USAGE)


@auth.command("logout")
@click.pass_context
@handle_errors
def logout(ctx: click.Context) -> None:
    """Remove the token cache an earlier version's `auth login` left (it holds refresh tokens).

    Example: iepsched auth logout
    """
    cache = _leftover_cache(app(ctx).config())
    if cache.exists():
        cache.unlink()
        click.echo(f"removed the old sign-in cache {cache}")
    else:
        click.echo("no sign-in cache to remove")

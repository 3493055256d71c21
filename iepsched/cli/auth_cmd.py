"""`iepsched auth`: check the app registration, sign in interactively."""

from __future__ import annotations

import click

from .base import app, handle_errors, main


@main.group()
def auth() -> None:
    """Check the Entra app's token and permissions, or sign in with a device code."""


@auth.command("status")
@click.pass_context
@handle_errors
def status(ctx: click.Context) -> None:
    """Get an app-only token and say which app, tenant and permissions it carries (never the token).

    Example: iepsched auth status
    """
    from ..m365.auth import describe_status
    from .graph_setup import token_provider

    config = app(ctx).config()
    token = token_provider(config).token()
    info = describe_status(
        token, authority=config.graph.resolved_authority, endpoint=config.graph.endpoint
    )
    click.echo(f"app (client) id: {info.app_id}")
    click.echo(f"tenant:          {info.tenant}")
    click.echo(f"authority:       {info.authority}")
    click.echo(f"Graph endpoint:  {info.endpoint}")
    click.echo(f"token kind:      {info.kind}")
    click.echo(f"permissions:     {', '.join(info.permissions) or '(none granted)'}")
    if info.expires_at:
        click.echo(f"expires:         {info.expires_at.isoformat(timespec='minutes')}")
    needed = {"Calendars.ReadWrite", "Tasks.ReadWrite.All"}
    missing = sorted(needed - set(info.permissions))
    if info.kind == "application" and missing:
        click.echo(
            f"missing:         {', '.join(missing)} (grant admin consent in Entra)", err=True
        )


@auth.command("login")
@click.pass_context
@handle_errors
def login(ctx: click.Context) -> None:
    """Sign in interactively with a device code (token cache kept at mode 0600).

    Example: iepsched auth login
    """
    from ..inputs.config import require_graph
    from ..m365.auth import DeviceCodeProvider, scope_for

    config = app(ctx).config()
    require_graph(config)
    cache = config.graph.token_cache_path or config.state_path.with_name("token-cache.json")
    provider = DeviceCodeProvider(
        client_id=config.graph.client_id,
        authority=config.graph.resolved_authority,
        scopes=[scope_for(config.graph.endpoint)],
        cache_path=cache,
        prompt=lambda message: click.echo(message, err=True),
    )
    provider.login()
    click.echo(f"signed in; token cache: {cache}")


@auth.command("logout")
@click.pass_context
@handle_errors
def logout(ctx: click.Context) -> None:
    """Forget the interactive sign-in (removes the cached account).

    Example: iepsched auth logout
    """
    from ..inputs.config import require_graph
    from ..m365.auth import DeviceCodeProvider, scope_for

    config = app(ctx).config()
    require_graph(config)
    cache = config.graph.token_cache_path or config.state_path.with_name("token-cache.json")
    DeviceCodeProvider(
        client_id=config.graph.client_id,
        authority=config.graph.resolved_authority,
        scopes=[scope_for(config.graph.endpoint)],
        cache_path=cache,
    ).logout()
    click.echo("signed out")

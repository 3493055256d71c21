"""`iepsched sandbox serve`: a local Microsoft Graph emulator to try iepsched safely."""

from __future__ import annotations

from typing import Any

import click

from .base import handle_errors, main

ROOM_POLICIES = ("accept", "decline", "tentative", "none")
FAULT_KINDS = ("429", "503", "504", "drop")


@main.group()
def sandbox() -> None:
    """A local Graph emulator (127.0.0.1 only) for trying iepsched without a tenant."""


def _room_policies(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        room, sep, policy = pair.rpartition("=")
        if not sep or "@" not in room or policy not in ROOM_POLICIES:
            raise click.BadParameter(
                f"{pair!r}: use ROOM=POLICY, POLICY one of {', '.join(ROOM_POLICIES)}",
                param_hint="--room-policy",
            )
        out[room.strip()] = policy
    return out


@sandbox.command("serve")
@click.option("--port", default=8765, show_default=True, help="Port on 127.0.0.1.")
@click.option("--latency-ms", default=0, show_default=True, help="Added latency per request.")
@click.option(
    "--fault-rate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Share of requests answered with a fault (see --fault-kind); inside $batch a dropped "
    "connection is drawn once per envelope.",
)
@click.option(
    "--fault-kind",
    "fault_kinds",
    multiple=True,
    type=click.Choice(FAULT_KINDS),
    help="Fault kinds to draw from (repeatable; default 429, 503 and drop). A 504 may come "
    "after the request was applied, as Graph's gateway timeouts can.",
)
@click.option("--seed", default=0, show_default=True, help="Seed for injected faults.")
@click.option(
    "--mailbox",
    "mailboxes",
    multiple=True,
    metavar="UPN",
    help="Limit the tenant to these mailboxes (repeatable); others get Graph's 404. "
    "Default: every address has a mailbox.",
)
@click.option(
    "--deny-mailbox",
    "deny_mailboxes",
    multiple=True,
    metavar="UPN",
    help="Answer this mailbox as outside the app's access policy: 403 ErrorAccessDenied "
    "(repeatable).",
)
@click.option(
    "--role",
    "roles",
    multiple=True,
    metavar="ROLE",
    help="Application permission in the issued tokens (repeatable). Default: "
    "Calendars.ReadWrite, Tasks.ReadWrite.All.",
)
@click.option(
    "--room-policy",
    "room_policies",
    multiple=True,
    metavar="ROOM=POLICY",
    help="How a room answers invitations: accept (default: decline conflicts), decline, "
    "tentative or none (repeatable).",
)
@click.option(
    "--retry-after-max",
    type=click.FloatRange(min=0.0, min_open=True),
    default=None,
    help="Let about one Retry-After in ten ask for a long wait, up to this many seconds.",
)
@click.option(
    "--record",
    is_flag=True,
    help="Log every Graph request (method, path, query, Prefer, body, answer) for "
    "GET /_sandbox/requests: which request forms a client sends.",
)
@handle_errors
def serve(
    port: int,
    latency_ms: int,
    fault_rate: float,
    fault_kinds: tuple[str, ...],
    seed: int,
    mailboxes: tuple[str, ...],
    deny_mailboxes: tuple[str, ...],
    roles: tuple[str, ...],
    room_policies: tuple[str, ...],
    retry_after_max: float | None,
    record: bool,
) -> None:
    """Serve the sandbox until Ctrl-C; point [graph] endpoint and authority at it.

    Example: iepsched sandbox serve --port 8765 --latency-ms 20 --fault-rate 0.1
    """
    from ..sandbox import serve as serve_sandbox

    options: dict[str, Any] = {
        "mailboxes": list(mailboxes) or None,
        "deny_mailboxes": list(deny_mailboxes),
        "roles": list(roles) or None,
        "room_policies": _room_policies(room_policies),
        "retry_after_max": retry_after_max,
        "record": record,
    }
    if fault_kinds:
        options["fault_kinds"] = list(fault_kinds)

    def started(sb: Any) -> None:
        click.echo("Graph sandbox listening (127.0.0.1 only). In your config:")
        click.echo("  [graph]")
        click.echo(f'  endpoint = "{sb.graph_url}"')
        click.echo(f'  authority = "{sb.authority}"')
        click.echo('  tenant_id = "sandbox-tenant"')
        click.echo('  client_id = "any"      # and IEPSCHED_CLIENT_SECRET=anything')
        if mailboxes:
            click.echo(f"Mailboxes: {', '.join(mailboxes)} (any other answers 404)")
        click.echo("Stats: GET /_sandbox/stats   Dump: GET /_sandbox/dump   Ctrl-C stops.")
        if record:
            click.echo("Requests: GET /_sandbox/requests (every Graph request, as received)")

    try:
        serve_sandbox(port, latency_ms, fault_rate, seed, on_start=started, **options)
    except KeyboardInterrupt:
        click.echo("stopped")

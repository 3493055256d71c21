"""`iepsched sandbox serve`: a local Microsoft Graph emulator to try iepsched safely."""

from __future__ import annotations

from typing import Any

import click

from .base import handle_errors, main


@main.group()
def sandbox() -> None:
    """A local Graph emulator (127.0.0.1 only) for trying iepsched without a tenant."""


@sandbox.command("serve")
@click.option("--port", default=8765, show_default=True, help="Port on 127.0.0.1.")
@click.option("--latency-ms", default=0, show_default=True, help="Added latency per request.")
@click.option(
    "--fault-rate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Share of requests answered with 429, 503 or a dropped connection.",
)
@click.option("--seed", default=0, show_default=True, help="Seed for injected faults.")
@handle_errors
def serve(port: int, latency_ms: int, fault_rate: float, seed: int) -> None:
    """Serve the sandbox until Ctrl-C; point [graph] endpoint and authority at it.

    Example: iepsched sandbox serve --port 8765 --latency-ms 20 --fault-rate 0.1
    """
    from ..sandbox import serve as serve_sandbox

    def started(sb: Any) -> None:
        click.echo("Graph sandbox listening (127.0.0.1 only). In your config:")
        click.echo("  [graph]")
        click.echo(f'  endpoint = "{sb.graph_url}"')
        click.echo(f'  authority = "{sb.authority}"')
        click.echo('  tenant_id = "sandbox-tenant"')
        click.echo('  client_id = "any"      # and IEPSCHED_CLIENT_SECRET=anything')
        click.echo("Stats: GET /_sandbox/stats   Dump: GET /_sandbox/dump   Ctrl-C stops.")

    try:
        serve_sandbox(port, latency_ms, fault_rate, seed, on_start=started)
    except KeyboardInterrupt:
        click.echo("stopped")

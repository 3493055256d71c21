"""`iepsched runs`: the history of sync runs, newest first, from the state file."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from .base import app, handle_errors, main

if TYPE_CHECKING:
    from ..core.remote import Action
    from ..state.store import RunRecord

_WIDTH = 100


@main.command("runs")
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many runs to show.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
@click.pass_context
@handle_errors
def runs(ctx: click.Context, limit: int, fmt: str) -> None:
    """Show recent sync runs: when, what they did, failures, how long, and the exit code.

    Exit codes: 0 all done, 1 some items failed (they are retried next run), 2 bad input or
    configuration, 3 stopped by the cancellation safety limit. A run without an exit code did not
    finish (it was killed or is still running).

    Example: iepsched runs --limit 5
    """
    from .state import open_state_readonly

    config = app(ctx).config()
    with open_state_readonly(config) as store:
        records = store.runs(limit) if store is not None else []
    if fmt == "json":
        click.echo(json.dumps([run_json(r) for r in records], indent=2))
        return
    if not records:
        click.echo(f"no sync runs recorded yet (state file: {config.state_path})")
        return
    click.echo(runs_table(records, config.district.tz))


def run_json(run: RunRecord) -> dict[str, Any]:
    """One run as JSON: times in ISO 8601 (UTC, as recorded), counts by action."""
    return {
        "id": run.id,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "today": run.today.isoformat(),
        "dry_run": run.dry_run,
        "exit_code": run.exit_code,
        "counts": dict(sorted(run.counts.items())),
        "failures": run.failures,
        "duration_s": run.duration_s,
    }


# A dry run writes nothing; what it would have done is recorded as "planned" (the number of
# actions) and "would_<op>" counts, so the history tells a preview apart from a night that
# changed nothing.
_PLANNED = "planned"
_WOULD = "would_"


def planned_counts(actions: Sequence[Action]) -> dict[str, int]:
    """What a dry run would have done, by operation, as recorded in its run row."""
    counts = Counter(f"{_WOULD}{a.op}" for a in actions)
    return {_PLANNED: len(actions), **counts}


def _actions(run: RunRecord) -> str:
    counts = run.counts
    seen = [
        f"{n} {action}"
        for action, n in sorted(counts.items())
        if n and action != _PLANNED and not action.startswith(_WOULD)
    ]
    if not run.dry_run:
        return ", ".join(seen) or "no changes"
    # The mode column already says "dry run": this one says what it would have done.
    if _PLANNED not in counts:
        return "not recorded"  # a dry run before its actions were recorded
    would = [
        f"{n} {action.removeprefix(_WOULD)}"
        for action, n in sorted(counts.items())
        if n and action.startswith(_WOULD)
    ]
    text = f"{counts[_PLANNED]} planned: {', '.join(would)}" if would else "nothing to do"
    return text + (f"; {', '.join(seen)}" if seen else "")


def runs_table(records: list[RunRecord], tz: dt.tzinfo) -> str:
    """Newest first; started times in the district's zone; fits 100 columns."""
    header = ("run", "started", "today", "mode", "exit", "seconds", "failed", "actions")
    rows = [
        (
            str(r.id),
            r.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            r.today.isoformat(),
            "dry run" if r.dry_run else "sync",
            "-" if r.exit_code is None else str(r.exit_code),
            "-" if r.duration_s is None else f"{r.duration_s:.1f}",
            str(r.failures),
            _actions(r) if r.exit_code is not None else "did not finish",
        )
        for r in records
    ]
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(7)]
    indent = sum(widths) + 2 * 7
    room = max(_WIDTH - indent, 20)
    lines = []
    for row in (header, *rows):
        cells = [
            row[i].rjust(widths[i]) if i in (0, 4, 5, 6) else row[i].ljust(widths[i])
            for i in range(7)
        ]
        # Long action lists wrap under their column rather than being cut: every count matters.
        first, *rest = textwrap.wrap(row[7], room) or [""]
        lines.append("  ".join([*cells, first]).rstrip())
        lines.extend(" " * indent + more for more in rest)
    return "\n".join(lines)

"""`iepsched sync`: the nightly job."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import click

from ..outputs.skipped import district_notes, skipped_summary
from .base import app, handle_errors, main, resolve_today, today_option
from .skipped import skipped_notice

if TYPE_CHECKING:
    from ..core.model import SkippedRow
    from ..core.remote import Action, Remote, Result
    from ..service.district import District
    from ..service.sync import SyncOptions, SyncReport
    from ..state.store import StateStore


@main.command()
@today_option
@click.option(
    "--dry-run", is_flag=True, help="Print the actions a real run would apply; write nothing."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format (json: one object with actions, results and reports).",
)
@click.option(
    "--force-cancel",
    is_flag=True,
    help="Apply even when more items would be cancelled than [safety] max_cancellations.",
)
@click.option(
    "--rebook",
    "rebook",
    multiple=True,
    metavar="STUDENT",
    help="Recreate items of this student that a person deleted (repeatable).",
)
@click.option(
    "--recover",
    is_flag=True,
    help="The state file was lost or replaced: restore its newest backup (or rebuild it from "
    "the mailboxes) instead of stopping.",
)
@click.option(
    "--accept-loss",
    is_flag=True,
    help="A mailbox's items vanished at once because it was wiped or replaced: create them "
    "again instead of stopping.",
)
@click.pass_context
@handle_errors
def sync(
    ctx: click.Context,
    today: str | None,
    dry_run: bool,
    fmt: str,
    force_cancel: bool,
    rebook: tuple[str, ...],
    recover: bool,
    accept_loss: bool,
) -> None:
    """Deliver the plan into Outlook and To Do; safe to re-run (exit 0 ok, 1 some items failed,
    2 bad config or input, 3 safety stop).

    Example: iepsched sync --dry-run --today 2026-11-30
    """
    from ..service.district import load_district
    from .graph_setup import graph_client, graph_remote, token_provider
    from .progress import show_progress
    from .state import open_state

    application = app(ctx)
    config = application.config()
    district = load_district(config)
    for problem in district.problems:
        click.echo(f"{problem.severity}: {problem}", err=True)
    rebook_ids = frozenset(district.student(s).student_id for s in rebook)
    day = resolve_today(today, config)
    client = graph_client(config, token_provider(config))
    try:
        remote = graph_remote(config, client)
        with open_state(config) as store:
            journal_warnings(store)
            report = sync_once(
                district,
                store,
                remote,
                today=day,
                dry_run=dry_run,
                force_cancel=force_cancel,
                rebook=rebook_ids,
                recover=recover,
                accept_loss=accept_loss,
                show_progress=show_progress(application.verbosity, sys.stderr),
            )
    finally:
        client.close()
    skipped = district.roster.skipped
    render_report(report, fmt=fmt, dry_run=dry_run, skipped=skipped, tz=district.ctx.tz)
    notice = skipped_notice(skipped)
    if notice:
        click.echo(notice, err=True)
    for line in district_notes(report.plan.warnings if report.plan else ()):
        click.echo(line, err=True)
    sys.exit(report.exit_code)


def sync_once(
    district: District,
    store: StateStore,
    remote: Remote,
    *,
    today: dt.date,
    dry_run: bool = False,
    force_cancel: bool = False,
    rebook: frozenset[str] = frozenset(),
    recover: bool = False,
    accept_loss: bool = False,
    show_progress: bool = False,
) -> SyncReport:
    """Lock, record the run, sync. Shared by `sync` and `demo`."""
    from ..core.errors import ExitCode, GraphError
    from ..service.sync import SyncOptions

    store.lock()
    try:
        started = time.monotonic()
        run_id = store.start_run(today=today, dry_run=dry_run)
        options = SyncOptions(
            today=today,
            now=run_clock(today, district.ctx.tz),
            dry_run=dry_run,
            force_cancel=force_cancel,
            rebook=rebook,
            recover=recover,
            accept_loss=accept_loss,
            max_cancellations=district.config.safety.max_cancellations,
        )

        def record(exit_code: int, counts: dict[str, int], failures: int) -> None:
            duration = round(time.monotonic() - started, 3)
            store.finish_run(
                run_id, exit_code=exit_code, counts=counts, failures=failures, duration_s=duration
            )

        try:
            report = _run(district, store, remote, options, show_progress)
            if district.roster.skipped and report.exit_code == ExitCode.OK:
                # SPEC §2.2: a run that skipped roster rows is not whole (exit 1).
                report.exit_code = ExitCode.FAILURES
        except GraphError:
            # The run could not read or reach Graph: record it, then let the CLI explain.
            record(2, {}, 1)
            raise
        counts = dict(report.counts)
        if dry_run:  # nothing was done: record what would have been, for `iepsched runs`
            from .runs_cmd import planned_counts

            counts.update(planned_counts(report.actions))
        record(report.exit_code, counts, len(report.failures))
    finally:
        store.unlock()
    return report


def run_clock(today: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """The run's `now`: the clock, unless --today names another day; then the start of that day
    in the district's time zone, so `now` and `today` agree on which meetings already took place
    (a simulated night must not take next week's meetings for history because the real clock
    has passed them)."""
    now = dt.datetime.now(tz)
    if now.date() == today:
        return now
    return dt.datetime.combine(today, dt.time(0), tzinfo=tz)


def journal_warnings(store: StateStore) -> None:
    """What opening the state found in the legal-log journal, on stderr (never fatal)."""
    check = store.journal_check
    for problem in check.problems:
        click.echo(f"warning: {problem}", err=True)
    if check.restored:
        click.echo(
            f"warning: the state lacked {check.restored} contacts the legal-log journal holds "
            f"({store.journal.path}): taken back",
            err=True,
        )


def _run(
    district: District, store: StateStore, remote: Remote, options: SyncOptions, show: bool
) -> SyncReport:
    from ..service.sync import run_sync
    from .progress import progress

    def bar(results: Iterable[Result], total: int) -> Iterable[Result]:
        return progress(results, label="syncing", length=total, enabled=show)

    return run_sync(district, store, remote, options, progress=bar)


def render_report(
    report: SyncReport,
    *,
    fmt: str,
    dry_run: bool,
    skipped: Sequence[SkippedRow] = (),
    tz: dt.tzinfo | None = None,
) -> None:
    """Print what a run decided and did (ids and keys only, no names); times in `tz` (the
    district's zone)."""
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "dry_run": dry_run,
                    "exit_code": report.exit_code,
                    "actions": [a.as_dict() for a in report.actions],
                    "counts": dict(report.counts),
                    "reports": report.reports,
                    "failures": report.failures,
                    "skipped_rows": [
                        {"line": row.line, "student_id": row.student_id} for row in skipped
                    ],
                },
                indent=2,
            )
        )
        return
    for line in report.reports:
        click.echo(line)
    if dry_run or report.safety_stop:
        for a in report.actions:
            when = change_text(a, tz)
            click.echo(
                f"{a.op:<7} {a.kind:<14} {a.key}  "
                + (f"{when}  " if when else "")
                + f"({a.reason})"
            )
        click.echo(
            f"{len(report.actions)} actions" + (" (dry run: nothing written)" if dry_run else "")
        )
    else:
        summary = (
            ", ".join(f"{n} {what}" for what, n in sorted(report.counts.items())) or "no changes"
        )
        click.echo(f"sync: {summary}")
    if skipped:
        click.echo(f"not synced: {skipped_summary(skipped)}")
    for failure in report.failures:
        click.echo(f"error: {failure}", err=True)


def change_text(action: Action, tz: dt.tzinfo | None) -> str:
    """When the item is and will be, as a coordinator reads it: `2027-01-12 07:45 → 2027-01-13
    07:45` for a meeting, `due 2027-01-06 → 2027-01-07` for a task; one side for a create or a
    removal; `?` for a date the state does not know."""
    before, after = action.before, action.after
    due = "" if action.kind == "event" else "due "
    if action.op == "update" and after is not None and before != after:
        old = "?" if before is None else _when_text(before, tz)
        return f"{due}{old} → {_when_text(after, tz)}"
    shown = after if action.op in ("create", "update") else before
    return "" if shown is None else due + _when_text(shown, tz)


def _when_text(value: dt.datetime | dt.date, tz: dt.tzinfo | None) -> str:
    if isinstance(value, dt.datetime):
        return (value.astimezone(tz) if tz else value).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


__all__ = ["change_text", "journal_warnings", "render_report", "sync_once"]

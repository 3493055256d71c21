"""`iepsched export ics`: the plan as iCalendar files, for review before and after go-live."""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from ..core.errors import Problem, UserError
from .base import app, handle_errors, main, resolve_today, today_option

if TYPE_CHECKING:
    from ..outputs.ics import ExportBy, IcsFile


@main.group("export")
def export_group() -> None:
    """Export the plan for review or import into other calendars."""


@export_group.command("ics")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the .ics files to (created if missing).",
)
@click.option(
    "--by",
    type=click.Choice(["case-manager", "building", "all"]),
    default="case-manager",
    show_default=True,
    help="One file per case manager, one per building, or a single all.ics.",
)
@today_option
@click.pass_context
@handle_errors
def export_ics_cmd(ctx: click.Context, out_dir: Path, by: str, today: str | None) -> None:
    """Write the plan as iCalendar (.ics) files that Outlook, Google and Apple Calendar import.

    Meetings are timed events (tentative until booked); every other step is an all-day event on
    its due date. Events show the student id and initials only, and are private. UIDs are
    stable, so importing a newer export updates the events instead of duplicating them. Without
    a sync state this is a preview of what the first sync would book. Existing files of the same
    name are replaced; other files in the folder are left alone.

    Example: iepsched export ics --out review/ --by building --today 2026-11-30
    """
    from ..outputs.ics import export_ics
    from ..outputs.skipped import district_notes
    from ..service.district import load_district, plan_with_state
    from .progress import progress, show_progress
    from .skipped import finish_skipped
    from .state import open_state_readonly

    application = app(ctx)
    config = application.config()
    day = resolve_today(today, config)
    district = load_district(config)
    enabled = show_progress(application.verbosity, sys.stderr)

    def each(files: Sequence[IcsFile]) -> Iterable[IcsFile]:
        return progress(files, label="writing calendars", length=len(files), enabled=enabled)

    with open_state_readonly(config) as store, contextlib.ExitStack() as stack:
        district_plan = plan_with_state(district, today=day, store=store)
        sequence_for = stack.enter_context(store.ics_sequencer()) if store is not None else None
        try:
            written = export_ics(
                district_plan,
                by=cast("ExportBy", by),  # click.Choice allows nothing else
                out_dir=out_dir,
                tz_name=config.district.timezone,
                district_name=config.district.name,
                sequence_for=sequence_for,
                privacy=config.privacy,
                category=config.delivery.category,
                rooms=config.rooms,
                stamp=dt.datetime.now(dt.UTC).replace(microsecond=0),
                each=each,
            )
        except OSError as exc:
            raise UserError(
                Problem(str(out_dir), f"cannot write the calendars: {exc.strerror or exc}")
            ) from None
        preview = store is None
    for path in written:
        click.echo(str(path))
    students = len(district_plan.plans)
    noun = "file" if len(written) == 1 else "files"
    click.echo(f"wrote {len(written)} {noun} for {students} students to {out_dir}", err=True)
    if preview:
        click.echo(
            f"preview: no sync state at {config.state_path} yet, so this is what the first sync "
            "would book; every SEQUENCE is 0",
            err=True,
        )
    for line in district_notes(district_plan.warnings):
        click.echo(line, err=True)
    finish_skipped(district)

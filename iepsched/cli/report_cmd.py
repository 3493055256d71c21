"""`iepsched report`: the coordinator's HTML report and the compliance and contact-log CSVs."""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..core.errors import Problem, UserError
from ..core.model import STUDENT_STATUS_ORDER
from .base import app, handle_errors, main, resolve_today, today_option
from .preview import caseload_options, real_today

if TYPE_CHECKING:
    from ..core.model import StudentPlan

_file = click.Path(dir_okay=False, path_type=Path)


def check_folders(paths: Iterable[Path]) -> None:
    """Refuse before planning when an output's folder is missing (every one named at once)."""
    missing = [p for p in paths if not p.resolve().parent.is_dir()]
    if missing:
        raise UserError(
            [Problem(str(p), f"folder {p.parent} does not exist; create it first") for p in missing]
        )


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Report a file that cannot be written as a user error; say which file was written."""
    try:
        yield
    except OSError as exc:
        raise UserError(Problem(str(path), f"cannot write: {exc.strerror or exc}")) from None
    click.echo(f"wrote {path}")


@main.command("report")
@click.option("--html", "html_path", type=_file, help="Write the HTML report to this file.")
@click.option("--csv", "csv_path", type=_file, help="Write the compliance CSV to this file.")
@click.option(
    "--contacts-csv",
    "contacts_path",
    type=_file,
    help="Write the whole parent-contact log as CSV to this file.",
)
@click.option(
    "--timeliness-csv",
    "timeliness_path",
    type=_file,
    help="Write the meetings held, timely or late (days late, reason logged), as CSV.",
)
@caseload_options
@today_option
@click.pass_context
@handle_errors
def report(
    ctx: click.Context,
    html_path: Path | None,
    csv_path: Path | None,
    contacts_path: Path | None,
    timeliness_path: Path | None,
    case_manager: str | None,
    building: str | None,
    today: str | None,
) -> None:
    """Write the compliance report: a self-contained HTML page and/or CSV files for Excel.

    The HTML page needs no network: status counts, the students who need attention with the
    warning and the next action, a month calendar of meetings and every student's timeline,
    with filters by case manager, building and status; it prints cleanly. The compliance CSV has
    one row per student and step, then one per meeting held (timely or late); the contact-log CSV
    is the append-only log; the timeliness CSV has one row per meeting held with its days late
    and the reason logged with `iepsched delay log`. CSV cells that a spreadsheet would run as
    formulas are prefixed with a quote.

    --case-manager EMAIL and/or --building NAME write every file for that caseload only. A
    --today after today is a preview (said in the report's banner): meetings not yet held by
    then count as not held, and nothing is changed.

    Example: iepsched report --html report.html --csv compliance.csv --today 2026-11-30
    """
    outputs = [p for p in (html_path, csv_path, contacts_path, timeliness_path) if p is not None]
    if not outputs:
        raise click.UsageError(
            "say what to write: --html FILE, --csv FILE or --contacts-csv FILE; "
            "--timeliness-csv FILE for the meetings held, timely and late"
        )
    check_folders(outputs)
    from ..core.model import Contact, Cycle, Delay, DistrictPlan
    from ..core.timeliness import held_meetings, timeliness
    from ..fs.atomic import open_atomic
    from ..outputs.caseload import caseload_plans, resolve_caseload
    from ..outputs.csvreport import (
        write_compliance_csv,
        write_contacts_csv,
        write_timeliness_csv,
    )
    from ..outputs.report import write_html_report
    from ..outputs.skipped import district_notes
    from ..outputs.wording import future_note
    from ..service.district import load_district, plan_with_state
    from .progress import progress, show_progress
    from .skipped import finish_skipped
    from .state import open_state_readonly

    application = app(ctx)
    config = application.config()
    day = resolve_today(today, config)
    district = load_district(config)
    chosen = resolve_caseload(
        district.roster.students, case_manager=case_manager, building=building
    )
    skipped = district.roster.skipped
    actual = real_today(config)
    enabled = show_progress(application.verbosity, sys.stderr)
    contacts: list[Contact] = []
    delays: list[Delay] = []
    cycles: dict[tuple[str, str], list[Cycle]] = {}
    with open_state_readonly(config) as store:
        district_plan = plan_with_state(district, today=day, store=store)
        if store is not None:
            contacts = store.contacts()
            delays = store.delays()
            cycles = store.cycles()
        preview = store is None
    roster = {s.student_id: s for s in district.roster.students}
    held = held_meetings(cycles, district_plan.plans)
    if not chosen.everyone:
        held = tuple(
            h for h in held if h.student_id in roster and chosen.holds(roster[h.student_id])
        )
    years = timeliness(held, delays)
    if not chosen.everyone:
        # The whole roster was planned (the answer sync would book); the files show the caseload.
        mine = caseload_plans(district_plan.plans, chosen)
        ids = {s.student_id for s in district.roster.students if chosen.holds(s)}
        kept = tuple(w for w in district_plan.warnings if w.split(": ", 1)[0] in ids)
        district_plan = DistrictPlan(day, tuple(mine), kept)
        ids = {p.student_id for p in mine}
        contacts = [c for c in contacts if c.student_id in ids]
    if html_path:
        by_student: dict[str, list[Contact]] = {}
        for contact in contacts:
            by_student.setdefault(contact.student_id, []).append(contact)

        def each(plans: Sequence[StudentPlan]) -> Iterable[StudentPlan]:
            return progress(plans, label="writing report", length=len(plans), enabled=enabled)

        # Streamed to the file: a 100,000-student page is never held in memory whole.
        with writing(html_path), open_atomic(html_path) as out:
            write_html_report(
                out,
                district_plan,
                district_name=config.district.name,
                today=day,
                contacts_by_student=by_student,
                generated_at=dt.datetime.now(config.district.tz).replace(microsecond=0),
                # The district plan's warnings (a student with no open cycle) are input
                # problems too: the roster must say more for that student to be planned.
                problems=[
                    *(f"{p.severity}: {p}" for p in district.problems),
                    *(f"warning: {w}" for w in district_plan.warnings),
                ],
                skipped=skipped,
                preview=preview,
                each=each,
                caseload=chosen.describe(),
                actual_today=actual,
                held=years,
                students=roster,
            )
    if csv_path:
        with writing(csv_path):
            write_compliance_csv(csv_path, district_plan, skipped, held=years, students=roster)
    if contacts_path:
        with writing(contacts_path):
            write_contacts_csv(contacts_path, contacts)
    if timeliness_path:
        with writing(timeliness_path):
            write_timeliness_csv(timeliness_path, years)
    counts = Counter(p.status for p in district_plan.plans)
    summary = ", ".join(f"{counts[s]} {s}" for s in STUDENT_STATUS_ORDER if counts[s])
    of = "" if chosen.everyone else f" of {chosen.describe()}"
    click.echo(
        f"{len(district_plan.plans)} students{of} as of {day.isoformat()}: {summary or 'none'}",
        err=True,
    )
    note = future_note(day, actual)
    if note:
        click.echo(note, err=True)
    if preview:
        click.echo(
            f"preview: no sync state at {config.state_path} yet; no contacts are logged", err=True
        )
    for line in district_notes(district_plan.warnings):
        click.echo(line, err=True)
    finish_skipped(district)

"""`iepsched notice`: the parents' written notice of an IEP meeting (SPEC §3.7)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import click

from ..core.cyclerules import CYCLE_TYPES
from ..core.errors import Problem, UserError
from .base import app, handle_errors, main, resolve_today, today_option

if TYPE_CHECKING:
    from ..core.model import Contact, CycleType, DistrictPlan, StudentPlan
    from ..outputs.notice import Notice
    from ..service.district import District

DEFAULT_DAYS = 14  # the district's two-week notice (SPEC §3.2 written_notice: cal(M, −14))


@main.command("notice")
@click.argument("student", required=False)
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="A notice for every meeting of the next --days days, one file each in --out DIR.",
)
@click.option(
    "--days",
    type=click.IntRange(min=1),
    metavar="N",
    help=f"With --all: meetings after today and within N days (default {DEFAULT_DAYS}).",
)
@click.option(
    "--lang",
    type=click.Choice(["en", "es"]),
    help="Language of the notice (default: the student's home_language in the roster).",
)
@click.option(
    "--out",
    required=True,
    metavar="FILE|DIR",
    type=click.Path(path_type=Path),
    help="The HTML file to write; with --all, the folder (created if missing).",
)
@click.option(
    "--type",
    "cycle_type",
    type=click.Choice(list(CYCLE_TYPES)),
    help="Which meeting, when the student has several placed (default: the next one).",
)
@click.option(
    "--templates",
    metavar="DIR",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="The district's own notice templates, used before the shipped ones of the same name.",
)
@today_option
@click.pass_context
@handle_errors
def notice(
    ctx: click.Context,
    student: str | None,
    every: bool,
    days: int | None,
    lang: str | None,
    out: Path,
    cycle_type: str | None,
    templates: Path | None,
    today: str | None,
) -> None:
    """Write the parents' notice of a student's IEP meeting: a printable page, mode 0600.

    In the family's language, addressed to both decision makers (and to the student from 18),
    with the purpose, date, time, place, the school's attendees, how to ask for another time,
    and the contacts logged for the meeting on a second page.

    The meeting is the student's next placed one of any kind (annual review, eligibility,
    initial IEP, amendment, reevaluation, transfer); --type chooses another. With --all, a file
    per placed meeting, named by student id and, when not the annual review, the meeting's type.

    Example: iepsched notice S1001 --out S1001-notice.html --today 2026-11-30
    """
    if every == (student is not None):
        raise click.UsageError("give a STUDENT id, or --all for the meetings of the next days")
    if days is not None and not every:
        raise click.UsageError("--days goes with --all")
    if cycle_type is not None and every:
        raise click.UsageError("--type goes with a STUDENT id (--all writes every meeting)")
    from ..service.district import load_district, plan_with_state
    from .skipped import finish_skipped
    from .state import open_state_readonly

    config = app(ctx).config()
    district = load_district(config)
    day = resolve_today(today, config)
    wanted = district.student(student).student_id if student is not None else None
    with open_state_readonly(config) as store:
        result = plan_with_state(district, today=day, store=store)
        contacts = store.contacts(wanted) if store is not None else []
    chosen = cast("Literal['en', 'es'] | None", lang)
    if wanted is not None:
        plan = _plan_of(district, result, wanted)
        cycle = _cycle_of(plan, cycle_type)
        _write_one(district, plan, cycle, contacts, day, chosen, out, templates)
    else:
        _write_all(district, result, contacts, day, days or DEFAULT_DAYS, chosen, out, templates)
    finish_skipped(district)


def _plan_of(district: District, result: DistrictPlan, student_id: str) -> StudentPlan:
    """The student's plan; a UserError (exit 2) when nothing is planned for them."""
    found = result.get(student_id)
    if found is not None:
        return found
    why = (
        "the student's building has no school calendar (`iepsched config check`)"
        if student_id in district.unplannable
        else "the student has exited special education"
    )
    raise UserError(Problem(student_id, f"no meeting is planned, so there is no notice: {why}"))


def _cycle_of(plan: StudentPlan, cycle_type: str | None) -> StudentPlan:
    """The cycle whose meeting the notice is for: the next placed meeting, or the one of
    --type. Nothing placed: the plan itself (build_notice then says why there is no notice)."""
    from ..outputs.cycleview import TYPE_LABELS
    from ..outputs.notice import placed_meetings

    placed = placed_meetings(plan)
    if cycle_type is None:
        return placed[0] if placed else plan
    for cycle in placed:
        if cycle.cycle_type == cycle_type:
            return cycle
    held_at = [c for c in plan.cycles if c.cycle_type == cycle_type and c.combined_with]
    if held_at:
        return next(c for c in plan.cycles if c.cycle_type == held_at[0].combined_with)
    kinds = ", ".join(sorted({c.cycle_type for c in placed})) or "none"
    label = TYPE_LABELS[cast("CycleType", cycle_type)]
    raise UserError(
        Problem(
            plan.student_id,
            f"no {label} meeting is placed (placed meetings: {kinds}); "
            f"`iepsched plan {plan.student_id}` shows every cycle",
        )
    )


def _write_one(
    district: District,
    plan: StudentPlan,
    cycle: StudentPlan,
    contacts: Sequence[Contact],
    day: dt.date,
    lang: Literal["en", "es"] | None,
    out: Path,
    templates: Path | None,
) -> None:
    if out.is_dir():
        raise UserError(Problem(str(out), "is a folder: give a file name (or use --all)"))
    if not out.parent.is_dir():
        raise UserError(Problem(str(out), "its folder does not exist"))
    _write(district, plan, cycle, contacts, day, lang, out, templates)


def _write_all(
    district: District,
    result: DistrictPlan,
    contacts: Sequence[Contact],
    day: dt.date,
    days: int,
    lang: Literal["en", "es"] | None,
    out: Path,
    templates: Path | None,
) -> None:
    """One file per placed meeting (of any cycle) after today and within `days` days, earliest
    first."""
    from ..outputs.notice import notice_file_name, placed_meetings

    last = day + dt.timedelta(days=days)
    due = sorted(
        (
            (p, c)
            for p in result.plans
            for c in placed_meetings(p)
            if c.meeting is not None and day < c.meeting.date <= last
        ),
        key=lambda pc: (pc[1].meeting.start if pc[1].meeting else day, pc[0].student_id),
    )
    if out.exists() and not out.is_dir():
        raise UserError(Problem(str(out), "is a file: with --all, --out is a folder"))
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not due:
        click.echo(
            f"no meeting falls between {day + dt.timedelta(days=1)} and {last}: no notice written",
            err=True,
        )
    by_student: dict[str, list[Contact]] = {}
    for c in contacts:
        by_student.setdefault(c.student_id, []).append(c)
    for plan, cycle in due:
        target = out / notice_file_name(plan.student_id, cycle.cycle_type)
        mine = by_student.get(plan.student_id, [])
        _write(district, plan, cycle, mine, day, lang, target, templates)


def _write(
    district: District,
    plan: StudentPlan,
    cycle: StudentPlan,
    contacts: Sequence[Contact],
    day: dt.date,
    lang: Literal["en", "es"] | None,
    target: Path,
    templates: Path | None,
) -> None:
    """Build, render and write one notice (atomically, 0600: it holds names and addresses),
    then its summary line on stdout and what the case manager should know on stderr."""
    from ..fs.atomic import write_atomic
    from ..outputs.notice import build_notice, render_notice

    config = district.config
    student = plan.student
    try:
        calendar = district.calendars.calendar_for(student)
    except UserError:
        calendar = None
    facts = build_notice(
        plan,
        lang=lang,
        issued_on=day,
        district_name=config.district.name,
        timezone=config.district.timezone,
        tz=config.district.tz,
        room=config.rooms.get(student.building) or "",
        rights_transfer_age=district.rules.rights_transfer_age,
        contacts=contacts,
        calendar=calendar,
        cycle=cycle,
        transition_age=_invite_age(district),
    )
    write_atomic(target, render_notice(facts, templates=templates).encode("utf-8"))
    click.echo(summary_line(target, facts))
    for warning in _warnings(facts, day):
        click.echo(f"warning: {facts.student_id}: {warning}", err=True)


def _invite_age(district: District) -> int | None:
    """The rules' age from which the student is invited (invite_student's min_age)."""
    for rule in district.rules.milestones:
        if rule.key == "invite_student" and rule.enabled:
            return rule.min_age
    return None


def summary_line(target: Path, facts: Notice) -> str:
    """One line per file: where, whose (id only), when, the language, how many contacts."""
    count = len(facts.contacts)
    noun = "contact" if count == 1 else "contacts"
    from ..outputs.cycleview import TYPE_LABELS

    purposes = [TYPE_LABELS[kind] for kind in facts.purposes]
    if facts.transition:
        purposes.append("transition")
    to = "parents and student" if facts.adult else "parents"
    return (
        f"{target}: {facts.student_id} meeting {facts.start:%Y-%m-%d %H:%M %Z} "
        f"({', '.join(purposes)}), {facts.lang}, to the {to}, {count} {noun} logged"
    )


def _warnings(facts: Notice, day: dt.date) -> list[str]:
    """What makes this notice need a person's care before it is sent (no names)."""
    found = []
    if facts.meeting_state == "proposed":
        found.append(
            "the meeting is proposed, not booked yet: it may still move until the nightly sync "
            "books it"
        )
    if facts.start.date() <= day:
        found.append("the meeting date is not after today")
    elif facts.short_notice:
        found.append(
            f"the meeting is {facts.days_ahead} days away: Kansas requires written notice "
            f"{facts.legal_notice_days} days ahead unless the parents agree to meet sooner"
        )
    if not any(r.address for r in facts.recipients if not r.is_student):
        found.append("no decision maker's mailing address is in the roster: deliver it by hand")
    return found

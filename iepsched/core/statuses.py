"""A student's status (SPEC §3.3), the warning a coordinator acts on, and the parent-contact
requirement (SPEC §3.4). Pure."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence

from .dates import add_months
from .model import (
    Contact,
    ContactRequirement,
    Meeting,
    Milestone,
    PlanWarning,
    Student,
    StudentStatus,
)
from .rules import Rules
from .schoolcal import SchoolCalendar, UnknownDate


def status_of_student(
    student: Student, meeting: Meeting | None, milestones: Sequence[Milestone], today: dt.date
) -> StudentStatus:
    held = meeting is not None and meeting.state == "held"
    if student.due_date is None:
        return "unplanned"  # no DUE known: nothing to place against
    if today > student.due_date and not held:
        return "overdue"
    if meeting is None:
        return "unplanned"
    if meeting.rung == "infeasible" and not held:
        return "infeasible"
    if not held and (
        meeting.rung == "at_risk"
        or any(
            m.status == "overdue" and m.date is not None and m.date < meeting.date
            for m in milestones
        )
    ):
        return "at_risk"
    return "on_track"


def status_warnings(
    status: StudentStatus,
    student: Student,
    meeting: Meeting | None,
    milestones: Sequence[Milestone],
    today: dt.date,
    warnings: list[PlanWarning],
    rules: Rules,
    *,
    cal: SchoolCalendar | None = None,
    moved_by_person: bool = False,
    what: str = "IEP",
) -> None:
    """Add the sentence a coordinator acts on for every status other than on_track.

    A date it asks for is a school day: the milestone's own date (written notice), never a
    calendar-day offset that may fall on a Sunday or in summer (SPEC §3.3). `moved_by_person`:
    the booked meeting is where a person put it in Outlook, so the rules did not choose it.
    """
    if student.due_date is None:
        return  # the caller says why there is no DUE (a school year not loaded)
    due = student.due_date.isoformat()
    notice = _notice_clause(milestones, meeting, today, cal, rules)
    if status == "overdue":
        when = ""
        if meeting is not None and meeting.state == "booked":
            when = f" The meeting is booked for {meeting.date.isoformat()}."
        elif meeting is not None:
            when = f" The earliest slot is {meeting.date.isoformat()}."
        warnings.insert(
            0,
            PlanWarning(
                "overdue",
                f"The {what} was due {due} and no meeting has been held: hold it as soon as "
                f"possible, document the reason for the delay and tell the coordinator.{when}"
                + _due_now(notice, milestones, today, rules),
            ),
        )
    elif status == "infeasible" and meeting is not None:
        late = _days(meeting.date - student.due_date)
        if moved_by_person:
            text = (
                f"The meeting was moved by a person to {meeting.date.isoformat()}, after the due "
                f"date {due}: the {what} will be {late} late unless the team meets on or before "
                f"{due}; if it cannot, document the reason for the delay."
            )
            warnings.insert(0, PlanWarning("moved_by_person", text))
        else:
            text = (
                f"No usable slot on or before the due date {due}: the earliest is "
                f"{meeting.date.isoformat()} ({late} late). Free a slot for the case "
                "manager, LEA and teachers, or ask the parents to agree to meet sooner."
            )
            warnings.insert(
                0,
                PlanWarning("infeasible", text + _due_now(notice, milestones, today, rules)),
            )
    elif status == "unplanned" and not any(
        w.code in ("unknown_year", "unknown_building") for w in warnings
    ):
        warnings.insert(
            0,
            PlanWarning(
                "unplanned",
                "The meeting could not be placed: check the calendar for this building.",
            ),
        )
    elif status == "at_risk" and meeting is not None:
        overdue = [
            m
            for m in milestones
            if m.status == "overdue" and m.date is not None and m.date < meeting.date
        ]
        if meeting.rung == "at_risk":
            if meeting.state == "proposed" and meeting.date < today + dt.timedelta(
                days=rules.ladder.notice_days
            ):
                ask = f"{notice} and reach" if notice else "reach"
                warnings.insert(
                    0,
                    PlanWarning(
                        "at_risk",
                        f"Only {_days(meeting.date - today)}' notice is possible: {ask} the "
                        f"parents now; the {what} is due {due}.",
                    ),
                )
            else:
                ask = f", and {notice}" if notice else ""
                warnings.insert(
                    0,
                    PlanWarning(
                        "at_risk",
                        f"The meeting on {meeting.date.isoformat()} leaves less than 2 weeks "
                        f"before the due date {due}: move it earlier if the team can{ask}.",
                    ),
                )
        for m in overdue:
            warnings.append(
                PlanWarning(
                    "milestone_overdue",
                    f"{m.title} was due {m.date.isoformat() if m.date else ''} and is not done: "
                    "do it now and mark the task complete.",
                )
            )


def _days(delta: dt.timedelta) -> str:
    return f"{delta.days} day" if delta.days == 1 else f"{delta.days} days"


def _notice_clause(
    milestones: Sequence[Milestone],
    meeting: Meeting | None,
    today: dt.date,
    cal: SchoolCalendar | None,
    rules: Rules,
) -> str:
    """What to do about the parents' written notice ("send written notice by D"), or "" when it
    is done, not a step of these rules, or the meeting is held."""
    notice = _written_notice(milestones)
    if meeting is None or meeting.state == "held" or notice is None or notice.status == "done":
        return ""
    if notice.date is None:
        return ""
    if notice.date >= today:
        return f"send written notice by {notice.date.isoformat()}"
    # The district's date has passed; the legal minimum (M - 10 days, K.A.R. 91-40-17(a)) may not
    # have: its last school day.
    legal = meeting.date - dt.timedelta(days=rules.ladder.legal_notice_days)
    if cal is not None:
        with contextlib.suppress(UnknownDate):  # an unloaded year: the plain date, unmoved
            legal = cal.prev_school_day(legal)
    if legal <= today:
        return f"send written notice today (it was due {notice.date.isoformat()})"
    return (
        f"send written notice now (it was due {notice.date.isoformat()}; the 10-day legal "
        f"minimum needs it by {legal.isoformat()})"
    )


def _written_notice(milestones: Sequence[Milestone]) -> Milestone | None:
    """The written-notice step, if the rules have one (a plain loop: asked for every student)."""
    for m in milestones:
        if m.key == "written_notice":
            return m
    return None


def _due_now(notice: str, milestones: Sequence[Milestone], today: dt.date, rules: Rules) -> str:
    """The written-notice sentence for overdue and infeasible warnings, when notice is due now
    (overdue or due soon)."""
    if not notice:
        return ""
    step = _written_notice(milestones)
    if step is None or step.date is None:
        return ""
    if step.date > today + dt.timedelta(days=rules.due_soon_days):
        return ""
    return f" {notice[0].upper()}{notice[1:]}."


# -- contacts ---------------------------------------------------------------------------------


def contact_requirement(
    contacts: Sequence[Contact], deadline: dt.date | None, due: dt.date
) -> ContactRequirement:
    """Two logged contacts by two different methods on or before `deadline` (SPEC §3.4).

    Only contacts of this cycle count: after the previous IEP's anniversary (DUE - 1 year).
    """
    if deadline is None:
        return ContactRequirement(met=False, deadline=None)
    start = add_months(due, -12)
    eligible = tuple(
        sorted((c for c in contacts if start < c.at.date() <= deadline), key=lambda c: c.at)
    )
    for i, first in enumerate(eligible):
        for second in eligible[i + 1 :]:
            if second.method != first.method:
                return ContactRequirement(True, deadline, (first, second), eligible)
    return ContactRequirement(False, deadline, (), eligible)

"""A student's status (SPEC §3.3), the warning a coordinator acts on, and the parent-contact
requirement (SPEC §3.4). Pure."""

from __future__ import annotations

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


def status_of_student(
    student: Student, meeting: Meeting | None, milestones: Sequence[Milestone], today: dt.date
) -> StudentStatus:
    held = meeting is not None and meeting.state == "held"
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
) -> None:
    """Add the sentence a coordinator acts on for every status other than on_track."""
    due = student.due_date.isoformat()
    if status == "overdue":
        when = f" The earliest slot is {meeting.date.isoformat()}." if meeting else ""
        warnings.insert(
            0,
            PlanWarning(
                "overdue",
                f"The IEP was due {due} and no meeting has been held: hold it as soon as "
                f"possible, document the reason for the delay and tell the coordinator.{when}",
            ),
        )
    elif status == "infeasible" and meeting is not None:
        late = (meeting.date - student.due_date).days
        warnings.insert(
            0,
            PlanWarning(
                "infeasible",
                f"No usable slot on or before the due date {due}: the earliest is "
                f"{meeting.date.isoformat()} ({late} days late). Free a slot for the case "
                "manager, LEA and teachers, or ask the parents to agree to meet sooner.",
            ),
        )
    elif status == "unplanned" and not any(w.code == "unknown_year" for w in warnings):
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
            notice_by = meeting.date - dt.timedelta(days=rules.ladder.legal_notice_days)
            if meeting.state == "proposed" and meeting.date < today + dt.timedelta(
                days=rules.ladder.notice_days
            ):
                warnings.insert(
                    0,
                    PlanWarning(
                        "at_risk",
                        f"Only {(meeting.date - today).days} days' notice is possible: send "
                        f"written notice no later than {notice_by.isoformat()} (10-day legal "
                        f"minimum) and reach the parents now; the IEP is due {due}.",
                    ),
                )
            else:
                warnings.insert(
                    0,
                    PlanWarning(
                        "at_risk",
                        f"The meeting on {meeting.date.isoformat()} leaves less than 2 weeks "
                        f"before the due date {due}: move it earlier if the team can, and send "
                        f"written notice by {notice_by.isoformat()}.",
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
    eligible = sorted((c for c in contacts if start < c.at.date() <= deadline), key=lambda c: c.at)
    for i, first in enumerate(eligible):
        for second in eligible[i + 1 :]:
            if second.method != first.method:
                return ContactRequirement(met=True, deadline=deadline, qualifying=(first, second))
    return ContactRequirement(met=False, deadline=deadline)

"""Words that `plan` and the report must say the same way: the parent-contact verdict and the
next action a coordinator should take (pure: plans in, sentences out)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ..core.model import ContactRequirement, Meeting, Milestone, StudentPlan

ContactState = Literal["met", "pending", "unmet", "none"]


def contact_verdict(req: ContactRequirement | None, today: dt.date) -> tuple[ContactState, str]:
    """SPEC §3.4's requirement in one rule for every output: *met*, *not met yet (due D)* while
    the deadline is today or later, *NOT met (was due D)* only once it has passed."""
    if req is None or req.deadline is None:
        return "none", "no deadline yet (the meeting is not placed)"
    due = req.deadline.isoformat()
    if req.met:
        return "met", "met"
    if req.deadline < today:
        return "unmet", f"NOT met (was due {due})"
    return "pending", f"not met yet (due {due})"


def next_action(plan: StudentPlan) -> str:
    """The one step a coordinator should see first for this student."""
    meeting = plan.meeting
    if plan.status == "overdue" and plan.cycle_type == "amendment" and meeting is None:
        return f"Get the written amendment signed: it was due {plan.due_date.isoformat()}."
    if plan.status == "overdue":
        when = f": the earliest slot is {meeting_when(meeting)}" if meeting else ""
        return f"Hold the {_meeting_noun(plan)} now{when}."
    if plan.status == "infeasible":
        return f"Find a slot on or before {plan.due_date.isoformat()} for the team."
    if plan.status == "unplanned":
        if plan.has_warning("unknown_year"):
            return "Load the missing school year's calendar."
        return "Check the school calendar for this building."
    urgent = most_urgent(plan)
    if urgent is not None and urgent.date is not None:
        late = sum(1 for m in plan.milestones if m.status == "overdue") - (
            urgent.status == "overdue"
        )
        more = f" {late} other step{'' if late == 1 else 's'} late." if late else ""
        if urgent.status == "overdue":
            return f"Do now: {urgent.title} (was due {urgent.date.isoformat()}).{more}"
        return f"Do now: {urgent.title} (due {urgent.date.isoformat()}).{more}"
    upcoming = plan.next_milestone()
    if upcoming is not None and upcoming.date is not None:
        return f"Next: {upcoming.title} by {upcoming.date.isoformat()}."
    return "Nothing due."


def _meeting_noun(plan: StudentPlan) -> str:
    """'IEP meeting' for the annual review, else the cycle's own: 'eligibility meeting'."""
    nouns = {
        "annual": "IEP meeting",
        "eligibility": "eligibility meeting",
        "initial_iep": "initial IEP meeting",
        "amendment": "IEP amendment meeting",
        "reevaluation": "reevaluation meeting",
        "transfer": "transfer IEP meeting",
    }
    return nouns[plan.cycle_type]


def _gates_meeting(m: Milestone) -> bool:
    """The annual cycle's parent contacts and written notice: late, they move the meeting."""
    return m.track == "annual" and (m.kind == "contact" or m.key == "written_notice")


def most_urgent(plan: StudentPlan) -> Milestone | None:
    """The open milestone to do first: overdue before due soon, then by date — except that while
    the annual cycle's contacts or notice are open in the same group, an older reevaluation step
    waits behind the annual cycle's steps (a late consent stays late one more day; a missed
    notice costs the meeting its date)."""
    rank = {"overdue": 0, "due_soon": 1}
    open_ = [
        (i, m) for i, m in enumerate(plan.milestones) if m.status in rank and m.date is not None
    ]
    gated = {rank[m.status] for _, m in open_ if _gates_meeting(m)}

    def key(item: tuple[int, Milestone]) -> tuple[int, int, dt.date, int]:
        i, m = item
        group = rank[m.status]
        behind = int(m.track == "reeval" and group in gated)
        return group, behind, m.date or dt.date.max, i

    return min(open_, key=key)[1] if open_ else None


def meeting_when(meeting: Meeting | None) -> str:
    """A meeting's date and start time, or 'not placed'."""
    if meeting is None:
        return "not placed"
    return f"{meeting.date.isoformat()} {meeting.start.strftime('%H:%M')}"


def future_note(day: dt.date, actual: dt.date) -> str | None:
    """What a preview of a future --today must say plainly, or None for today or the past."""
    if day <= actual:
        return None
    return (
        f"preview of {day.isoformat()} (today is {actual.isoformat()}): meetings not yet held "
        "by then are assumed not held (and steps not yet done, not done); this preview "
        "changes nothing."
    )

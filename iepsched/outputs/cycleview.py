"""How every output names and shows a student's meeting cycles (SPEC §3.6). Pure.

A student's plan is one cycle (the annual one, or the nearest when there is none) and carries the
student's other open cycles in `others`. `plan`, `plan --all`, the report, the CSV, the ICS and the
notice all say a cycle's type, status and meeting the same way through this module, so a written
amendment (no meeting by design) never reads as "unplanned" in one view and right in another.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ..core.cycleids import cycle_ids
from ..core.model import CycleType, Milestone, PlanWarning, StudentPlan, StudentStatus

# How a person reads each type (the report, the table's cycle headings, the ICS description).
TYPE_LABELS: Mapping[CycleType, str] = {
    "annual": "annual review",
    "eligibility": "eligibility / initial evaluation",
    "initial_iep": "initial IEP",
    "amendment": "IEP amendment",
    "reevaluation": "reevaluation",
    "transfer": "transfer IEP",
}
# `plan --all`'s type column is 8 wide (the table fits 100 columns).
TYPE_SHORT: Mapping[CycleType, str] = {
    "annual": "annual",
    "eligibility": "elig",
    "initial_iep": "initial",
    "amendment": "amend",
    "reevaluation": "reeval",
    "transfer": "transfer",
}
WRITTEN_AMENDMENT = "no meeting (written amendment)"
UNKNOWN_DUE = "unknown"  # a DUE in a school year not loaded (its warning names the year)


def label(cycle_type: CycleType) -> str:
    """The type's label as a heading starts it: 'Transfer IEP', 'Eligibility (initial ...)'."""
    text = TYPE_LABELS[cycle_type]
    return text[0].upper() + text[1:]


def due_iso(cycle: StudentPlan) -> str | None:
    """The cycle's DUE as an ISO date, or None when it is not known: the planner's stand-in
    date is never shown (SPEC §3: never a guess)."""
    return cycle.due_date.isoformat() if cycle.due_known else None


def due_text(cycle: StudentPlan) -> str:
    """The cycle's DUE as people read it: the ISO date, or "unknown"."""
    return due_iso(cycle) or UNKNOWN_DUE


def written_amendment(cycle: StudentPlan) -> bool:
    """An amendment made without a meeting (34 CFR 300.324(a)(4)): tasks only, by design.

    Told apart from an amendment meeting that could not be placed by its steps: the written one
    has no `meeting` milestone at all, the unplaced one has an undated one.
    """
    return (
        cycle.cycle_type == "amendment"
        and cycle.meeting is None
        and cycle.milestone("meeting") is None
    )


def view_status(cycle: StudentPlan) -> StudentStatus:
    """The cycle's own status as views show it. A written amendment has no meeting to place, so
    "unplanned" would be wrong there: §3.3's other statuses apply to its steps instead (overdue
    once its DUE passed unsigned, at risk with a late step, else on track)."""
    status = cycle.own_status
    # A DUE not known yet cannot have passed: unplanned until its year is loaded.
    if status != "unplanned" or not written_amendment(cycle) or not cycle.due_known:
        return status
    open_steps = [m for m in cycle.milestones if m.status != "done"]
    if open_steps and cycle.today > cycle.due_date:
        return "overdue"
    if any(m.status == "overdue" for m in open_steps):
        return "at_risk"
    return "on_track"


def own_warnings(cycle: StudentPlan) -> tuple[PlanWarning, ...]:
    """The warnings about this cycle alone.

    The planner gives the student's plan every cycle's warnings (SPEC §4: the student's
    warnings; the other cycles' name their meeting). A view that shows each other cycle with its
    warnings shows the plan's own cycle with these, so no warning is shown twice.
    """
    if not cycle.others:
        return cycle.warnings
    theirs = {w for c in cycle.others for w in c.warnings}
    return tuple(w for w in cycle.warnings if w not in theirs)


def own_warning_texts(cycle: StudentPlan) -> tuple[str, ...]:
    """`own_warnings`' sentences."""
    return tuple(w.text for w in own_warnings(cycle))


def purposes(top: StudentPlan, cycle: StudentPlan) -> tuple[CycleType, ...]:
    """The purposes of `cycle`'s meeting: its own type, then every other open cycle of the
    student held at the same meeting (a reevaluation combined with the annual meeting)."""
    if cycle.combined_with is not None:
        return (cycle.combined_with, cycle.cycle_type)
    joined = tuple(c.cycle_type for c in top.cycles if c.combined_with == cycle.cycle_type)
    return (cycle.cycle_type, *joined)


def purpose_text(types: tuple[CycleType, ...]) -> str:
    """'annual review and reevaluation' (English: the notice words its own purposes)."""
    words = [TYPE_LABELS[t] for t in types]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def meeting_line(cycle: StudentPlan) -> str:
    """A cycle's meeting in one phrase: when and its state, or why there is none."""
    meeting = cycle.meeting
    if written_amendment(cycle):
        return WRITTEN_AMENDMENT
    if meeting is None:
        return "not placed"
    when = f"{meeting.start.strftime('%a %Y-%m-%d %H:%M')}-{meeting.end.strftime('%H:%M')}"
    shared = f", at the {TYPE_LABELS[cycle.combined_with]} meeting" if cycle.combined_with else ""
    return f"{when} ({meeting.state}, {meeting.rung.replace('_', ' ')}{shared})"


def delivering_cycles(plan: StudentPlan) -> Iterator[StudentPlan]:
    """The cycles that deliver items of their own: all but a reevaluation held at the annual
    meeting (its meeting is the annual event and the annual plan carries its tasks)."""
    return (c for c in plan.cycles if c.combined_with is None)


def key_cycles(cycle: StudentPlan) -> tuple[str, str]:
    """The cycle ids a cycle's items are keyed with: (its own, the one of its reevaluation-track
    steps), exactly as sync keys them (`items.cycle_ids` on each cycle: another cycle's own id is
    the `cycle_id` the planner gives it, `core.cycles.cycle_id`), so ICS UIDs are the item keys."""
    return cycle_ids(cycle)


def extra_milestones(top: StudentPlan, cycle: StudentPlan) -> tuple[Milestone, ...]:
    """A cycle's milestones that its top plan does not already show (a combined reevaluation's
    tasks ride on the annual plan; shown once)."""
    if cycle is top or cycle.combined_with is None:
        return cycle.milestones
    shown = {m.key for m in top.milestones}
    return tuple(m for m in cycle.milestones if m.key not in shown)

"""The report's view of a student's other meeting cycles (SPEC §3.6). Pure: plans in, HTML out.

The student's timeline article shows the plan's own cycle as before; each other open cycle follows
under a heading of its own (type, DUE, status, meeting with its purposes), with its warnings and
its steps. The attention list has a row per cycle that is not on track, and the month calendar
marks each meeting with its purpose. Every value passes through `escape`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence

from ..core.model import STUDENT_STATUS_ORDER, Milestone, StudentPlan
from .cycleview import (
    TYPE_LABELS,
    WRITTEN_AMENDMENT,
    due_text,
    extra_milestones,
    label,
    purpose_text,
    purposes,
    view_status,
    written_amendment,
)
from .reportcal import badge, escape
from .wording import meeting_when, next_action

MilestoneRow = Callable[[StudentPlan, Milestone], str]
_RANK = {s: i for i, s in enumerate(STUDENT_STATUS_ORDER)}


def as_own(cycle: StudentPlan) -> StudentPlan:
    """The cycle with `status` its own as views show it (for the status badge, the filters and
    the next action, which read `status`)."""
    own = view_status(cycle)
    return cycle if cycle.status == own else dataclasses.replace(cycle, status=own)


def attention_cycles(plans: Sequence[StudentPlan]) -> list[tuple[StudentPlan, StudentPlan]]:
    """(student's plan, cycle) for every cycle not on track, most urgent first. A student whose
    only cycle is the annual one gives the row it always gave (its status is the student's).
    A reevaluation held at the annual meeting has no row: its meeting and steps are the annual
    cycle's, whose row carries their warnings (a row of its own would have none to show)."""
    found = [
        (p, as_own(c) if p.others else c)
        for p in plans
        for c in p.cycles
        if c.combined_with is None and (view_status(c) if p.others else c.status) != "on_track"
    ]
    return sorted(found, key=lambda r: (_RANK[r[1].status], r[1].due_date, r[0].student_id))


def due_label(cycle: StudentPlan) -> str:
    """'IEP due' for the annual cycle, else the type's: 'Reevaluation due'."""
    if cycle.cycle_type == "annual":
        return "IEP due"
    return f"{label(cycle.cycle_type)} due"


def meeting_text(top: StudentPlan, cycle: StudentPlan) -> str:
    """When the cycle meets and in what state, naming the purposes of a shared meeting; a
    written amendment says it has no meeting by design."""
    if written_amendment(cycle):
        return WRITTEN_AMENDMENT
    meeting = cycle.meeting
    if meeting is None:
        return "not placed"
    text = f"{meeting_when(meeting)} ({meeting.state})"
    kinds = purposes(top, cycle)
    if len(kinds) > 1 or cycle.cycle_type != "annual":
        text += f": {purpose_text(kinds)}"
    return text


def meeting_tag(top: StudentPlan, cycle: StudentPlan) -> str:
    """The month calendar's mark of a meeting's purposes ('' for the annual review alone)."""
    kinds = purposes(top, cycle)
    return "" if kinds == ("annual",) else purpose_text(kinds)


def cycle_sections(
    top: StudentPlan,
    milestone_row: MilestoneRow,
    head: str,
    rows: dict[str, int] | None,
    base36: Callable[[int], str],
) -> Iterator[str]:
    """Each other open cycle of the student inside its timeline article: a heading with its type,
    DUE, status and meeting, its warnings, and its steps (compact like the top's when `rows`)."""
    for cycle in top.others:
        own = as_own(cycle)
        yield (
            f'<section class="cycle cycle-{escape(cycle.cycle_type)}">'
            f"<h4>{escape(label(cycle.cycle_type))} {badge(own.status)}</h4>"
            f'<p class="meta">{escape(due_label(cycle))} {escape(due_text(cycle))}'
            f" · meeting: {escape(meeting_text(top, cycle))}</p>"
        )
        if cycle.warnings:
            items = "".join(f"<li>{escape(w)}</li>" for w in cycle.warning_texts)
            yield f'<ul class="warnings">{items}</ul>'
        if own.status != "on_track":
            yield f'<p class="action">{escape(next_action(own))}</p>'
        steps = extra_milestones(top, cycle)
        if not steps and cycle.combined_with is not None:
            joined = TYPE_LABELS[cycle.combined_with]
            yield f"<p>Its steps are in the {escape(joined)} timeline above.</p>"
        elif steps and rows is None:
            body = "".join(milestone_row(cycle, m) for m in steps)
            yield f"{head}{body}</tbody></table>"
        elif steps and rows is not None:
            indexes = " ".join(
                base36(rows.setdefault(row, len(rows)))
                for row in (milestone_row(cycle, m) for m in steps)
            )
            count = len(steps)
            yield (
                f'<details class="tl" data-r="{indexes}"><summary>Timeline: {count} '
                f"step{'' if count == 1 else 's'}</summary></details>"
            )
        yield "</section>"

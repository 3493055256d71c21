"""Text, JSON and CSV renderings of plans for the terminal (no I/O: returns strings)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import textwrap
from collections.abc import Sequence
from typing import Any

from ..core.model import STUDENT_STATUS_ORDER, Meeting, Milestone, StudentPlan
from .csvsafe import neutralise
from .cycleview import (
    TYPE_LABELS,
    TYPE_SHORT,
    UNKNOWN_DUE,
    WRITTEN_AMENDMENT,
    due_iso,
    due_text,
    extra_milestones,
    meeting_line,
    own_warning_texts,
    own_warnings,
    purposes,
    view_status,
    written_amendment,
)
from .wording import contact_verdict

WIDTH = 100
_STATUS_RANK = {s: i for i, s in enumerate(STUDENT_STATUS_ORDER)}


def _meeting_json(meeting: Meeting | None) -> dict[str, str] | None:
    if meeting is None:
        return None
    return {
        "date": meeting.date.isoformat(),
        "start": meeting.start.isoformat(),
        "end": meeting.end.isoformat(),
        "state": meeting.state,
        "rung": meeting.rung,
    }


def _milestones_json(milestones: Sequence[Milestone]) -> list[dict[str, str | None]]:
    return [
        {
            "key": m.key,
            "date": m.date.isoformat() if m.date else None,
            "delivery": m.delivery,
            "status": m.status,
            "title": m.title,
        }
        for m in milestones
    ]


def cycle_json(top: StudentPlan, cycle: StudentPlan) -> dict[str, Any]:
    """One entry of the JSON `cycles` list (SPEC §3.6: type, due_date, status, meeting,
    milestones; and its id, warnings, what it is held with, and the meeting's purposes)."""
    return {
        "type": cycle.cycle_type,
        "cycle_id": cycle.cycle_id or cycle.due_date.isoformat(),
        "due_date": due_iso(cycle),  # null while its school year is not loaded
        "status": view_status(cycle),
        "meeting": _meeting_json(cycle.meeting),
        "without_meeting": written_amendment(cycle),
        "purposes": list(purposes(top, cycle)),
        "combined_with": cycle.combined_with,
        "milestones": _milestones_json(cycle.milestones),
        # Per cycle: the plan's own cycle lists only its own (the top-level `warnings` has the
        # student's, every cycle's), so a cycle's warning is in exactly one `cycles` entry.
        "warnings": list(own_warning_texts(cycle)),
    }


def plan_json(plan: StudentPlan) -> dict[str, Any]:
    """SPEC §4's JSON form (exactly those fields, plus a few more). The top-level fields are the
    plan's own cycle's, `status` the worst over the student's cycles; `cycles` lists every open
    cycle, this one first (SPEC §3.6)."""
    contacts = plan.contacts
    return {
        "student_id": plan.student_id,
        "today": plan.today.isoformat(),
        "due_date": due_iso(plan),  # null while its school year is not loaded
        "next_due_date": plan.next_due_date.isoformat() if plan.next_due_date else None,
        "status": plan.status,
        "meeting": _meeting_json(plan.meeting),
        "milestones": _milestones_json(plan.milestones),
        # SPEC §4: the student's warnings, every cycle's (each also in its `cycles` entry).
        "warnings": list(plan.warning_texts),
        "building": plan.student.building,
        "case_manager_email": plan.student.case_manager_email,
        "cycle_id": plan.cycle_id or plan.due_date.isoformat(),
        "contact_requirement": None
        if contacts is None
        else {
            "met": contacts.met,
            "deadline": contacts.deadline.isoformat() if contacts.deadline else None,
            "qualifying": [
                {"at": c.at.isoformat(), "method": c.method, "outcome": c.outcome}
                for c in contacts.qualifying
            ],
        },
        "cycles": [cycle_json(plan, c) for c in plan.cycles],
    }


def plan_table(plan: StudentPlan) -> str:
    """One student's timeline for a terminal, at most 100 columns wide: the plan's own cycle,
    then each other open cycle under a heading of its own (type, DUE, status, meeting, steps)."""
    s = plan.student
    due_word = "IEP" if plan.cycle_type == "annual" else plan.cycle_type
    status = f"status {plan.status.upper()}"
    if plan.others:
        status += f" over {len(plan.cycles)} cycles; this one {view_status(plan)}"
    lines = [
        f"{s.student_id}  {s.initials}  {s.building}  (case manager {s.case_manager_email})"[
            :WIDTH
        ],
        f"today {plan.today.isoformat()}   {due_word} due {due_text(plan)}   {status}",
    ]
    meeting = plan.meeting
    if meeting is None:
        lines.append("meeting: " + (WRITTEN_AMENDMENT if written_amendment(plan) else "not placed"))
    else:
        lines.append(
            f"meeting: {meeting_line(plan)}"
            + (f"   next due {plan.next_due_date.isoformat()}" if plan.next_due_date else "")
        )
    if plan.others and len(purposes(plan, plan)) > 1:
        lines.append(f"  purpose: {' and '.join(TYPE_LABELS[t] for t in purposes(plan, plan))}")
    if plan.contacts is not None:
        state, verdict = contact_verdict(plan.contacts, plan.today)
        if state == "met":
            how = " + ".join(
                f"{x.method} {x.at.date().isoformat()}" for x in plan.contacts.qualifying
            )
            verdict = f"met ({how})"
        elif state in ("pending", "unmet"):
            verdict += " — two contacts, two methods"
        lines.append(f"parent contacts: {verdict}")
    lines.append("")
    lines.extend(_milestone_lines(plan.milestones))
    # The plan's own cycle shows its own warnings: each other cycle shows its own under its
    # heading below, so every warning is printed once.
    lines.extend(_warning_lines(own_warning_texts(plan)))
    for other in plan.others:
        lines.extend(_cycle_lines(plan, other))
    return "\n".join(lines)


def _warning_lines(texts: Sequence[str]) -> list[str]:
    lines: list[str] = []
    if texts:
        lines.append("")
        for w in texts:
            lines.extend(textwrap.wrap(w, WIDTH, initial_indent="! ", subsequent_indent="  "))
    return lines


def _cycle_lines(top: StudentPlan, cycle: StudentPlan) -> list[str]:
    """Another open cycle of the student: a heading, its meeting, its steps, its warnings."""
    head = (
        f"== {TYPE_LABELS[cycle.cycle_type]}: due {due_text(cycle)}, status {view_status(cycle)} "
    )
    lines = ["", (head + "=" * WIDTH)[:WIDTH], f"meeting: {meeting_line(cycle)}"]
    milestones = extra_milestones(top, cycle)
    if milestones:
        lines.append("")
        lines.extend(_milestone_lines(milestones))
    elif cycle.combined_with is not None:
        lines.append(f"its steps are those of the {TYPE_LABELS[cycle.combined_with]} above")
    lines.extend(_warning_lines(cycle.warning_texts))
    return lines


# The longest key column before a key is shortened from the front (its end tells keys apart:
# "progress_report:2026-27:q4").
_KEY_MAX = 30


def _milestone_lines(milestones: Sequence[Milestone]) -> list[str]:
    """The milestone table: the key column as wide as the longest key (up to _KEY_MAX), and each
    title wrapped onto as many lines as it needs, so nothing that tells two steps apart is cut."""
    key_w = min(max([len("milestone"), *(len(m.key) for m in milestones)]), _KEY_MAX)
    indent = 10 + 2 + 11 + 2 + key_w + 2
    title_w = WIDTH - indent
    lines = [
        f"{'date':<10}  {'status':<11}  {'milestone':<{key_w}}  what",
        f"{'-' * 10}  {'-' * 11}  {'-' * key_w}  {'-' * title_w}",
    ]
    for m in milestones:
        date = m.date.isoformat() if m.date else "—"
        key = m.key if len(m.key) <= key_w else "…" + m.key[-(key_w - 1) :]
        title = textwrap.wrap(m.title, title_w, break_on_hyphens=False) or [""]
        lines.append(f"{date:<10}  {m.status:<11}  {key:<{key_w}}  {title[0]}")
        lines.extend(" " * indent + more for more in title[1:])
    return lines


def _meeting_text(m: Meeting) -> str:
    """The meeting's local start as `YYYY-MM-DD HH:MM` (isoformat is several times faster than
    strftime; the slice drops the seconds-free offset of the aware datetime)."""
    return m.start.isoformat(" ", "minutes")[:16]


def _row(top: StudentPlan, plan: StudentPlan) -> dict[str, str | None]:
    """One row of `plan --all`: one open cycle of a student (the existing fields, then its
    type and id; `status` is the cycle's own)."""
    nxt = plan.next_milestone()
    m = plan.meeting
    written = written_amendment(plan)
    return {
        "student_id": plan.student_id,
        "due_date": due_iso(plan),  # null (an empty CSV cell) while its year is not loaded
        "meeting": _meeting_text(m) if m else "",
        "meeting_state": m.state if m else ("none" if written else ""),
        "status": view_status(plan),
        "next_milestone": nxt.key if nxt else "",
        "next_date": nxt.date.isoformat() if nxt and nxt.date else "",
        "case_manager_email": plan.student.case_manager_email,
        "building": plan.student.building,
        "cycle_type": plan.cycle_type,
        "cycle_id": plan.cycle_id or plan.due_date.isoformat(),
        "purposes": "+".join(purposes(top, plan)),
    }


def cycle_rows(plans: Sequence[StudentPlan]) -> list[tuple[StudentPlan, StudentPlan]]:
    """(student's plan, cycle) for every open cycle of these plans, in the plans' order."""
    return [(p, c) for p in plans for c in p.cycles]


def sort_plans(plans: Sequence[StudentPlan], by: str) -> list[StudentPlan]:
    """By status (overdue first, then infeasible, unplanned, at_risk, on_track), due date or id."""
    if by == "status":
        return sorted(plans, key=lambda p: (_STATUS_RANK[p.status], p.due_date, p.student_id))
    if by == "due":
        return sorted(plans, key=lambda p: (p.due_date, p.student_id))
    return sorted(plans, key=lambda p: p.student_id)


def sort_rows(plans: Sequence[StudentPlan], by: str) -> list[tuple[StudentPlan, StudentPlan]]:
    """Every open cycle as a row, in --sort order of the cycle's own status and DUE (a student's
    overdue reevaluation comes first even when the annual review is on track); by id, a student's
    cycles stay together in the order `plan` lists them."""
    rows = cycle_rows(plans)
    if by == "status":
        return sorted(
            rows,
            key=lambda r: (_STATUS_RANK[view_status(r[1])], r[1].due_date, r[0].student_id),
        )
    if by == "due":
        return sorted(rows, key=lambda r: (r[1].due_date, r[0].student_id))
    return [(p, c) for p in sort_plans(plans, "id") for c in p.cycles]


def all_table(rows: Sequence[tuple[StudentPlan, StudentPlan]]) -> str:
    """One row per open cycle, at most 100 columns wide."""
    head = (
        f"{'student':<10} {'type':<8} {'due':<10} {'meeting':<16} {'state':<8} {'status':<10} "
        f"{'next milestone':<21} {'date':<10}"
    )
    lines = [head, "-" * len(head)]
    append = lines.append
    # The row's cells computed directly rather than through `_row`: only these columns are
    # printed, and a dict per row cost a tenth of the table (10,000 rows, issue 10.7). Dates and
    # meeting starts repeat across thousands of rows (the planner shares a slot's start among
    # the meetings in it), so each is formatted and padded once.
    dates: dict[dt.date, str] = {}
    starts: dict[int, str] = {}
    unknown_due = f"{UNKNOWN_DUE:<10}"
    no_date = " " * 10
    for _top, cycle in rows:
        # A written amendment has no meeting by design: said so, not a dash like an unplaced one.
        m = cycle.meeting
        meeting: str | None
        state: str
        if m is not None:
            meeting = starts.get(id(m.start))
            if meeting is None:
                meeting = starts[id(m.start)] = f"{_meeting_text(m):<16}"
            state = m.state or "—"
        elif written_amendment(cycle):
            meeting, state = f"{'no meeting':<16}", "written"
        else:
            meeting, state = f"{'—':<16}", "—"
        if cycle.due_known:
            due = dates.get(cycle.due_date) or dates.setdefault(
                cycle.due_date, f"{cycle.due_date.isoformat():<10}"
            )
        else:
            due = unknown_due
        nxt = cycle.next_milestone()
        if nxt is None or nxt.date is None:
            nxt_key, nxt_date = "", no_date
        else:
            nxt_key = nxt.key
            nxt_date = dates.get(nxt.date) or dates.setdefault(
                nxt.date, f"{nxt.date.isoformat():<10}"
            )
        append(
            f"{cycle.student_id[:10]:<10} {TYPE_SHORT[cycle.cycle_type]:<8} "
            f"{due} {meeting} {state:<8} {view_status(cycle) or '':<10} "
            f"{nxt_key[:21]:<21} {nxt_date}"
        )
    return "\n".join(lines)


def all_csv(rows: Sequence[tuple[StudentPlan, StudentPlan]]) -> str:
    """CSV of `plan --all` (mostly ids, dates and statuses; cells neutralised all the same)."""
    out = io.StringIO()
    fields = list(_row(*rows[0]).keys()) if rows else ["student_id"]
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for top, cycle in rows:
        writer.writerow({k: neutralise(v or "") for k, v in _row(top, cycle).items()})
    return out.getvalue()


def all_json(rows: Sequence[tuple[StudentPlan, StudentPlan]]) -> str:
    return json.dumps([_row(top, cycle) for top, cycle in rows], indent=2)


def at_risk_lines(plans: Sequence[StudentPlan]) -> list[str]:
    """The cycles a coordinator must act on, each with its first warning (a cycle other than
    the annual review named by its type)."""
    out: list[str] = []
    for top, c in sort_rows(plans, "status"):
        status = view_status(c) if top.others else c.status
        if status == "on_track" or c.combined_with is not None:
            continue  # a combined reevaluation's steps and warnings are on the annual line
        # The cycle's own first warning: the student's plan also carries the other cycles'
        # warnings, which their own rows show.
        mine = own_warnings(c)
        warning = mine[0] if mine else ""
        # Another cycle's warnings already start with its meeting's name ("Transfer IEP
        # meeting: ..."); without one the line says which cycle it is.
        kind = "" if c.cycle_type == "annual" or warning else f"{TYPE_LABELS[c.cycle_type]}: "
        out.extend(
            textwrap.wrap(
                f"{c.student_id} [{status}] {kind}{warning}",
                WIDTH,
                subsequent_indent="    ",
            )
        )
    return out

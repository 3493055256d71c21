"""Text, JSON and CSV renderings of plans for the terminal (no I/O: returns strings)."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from collections.abc import Sequence
from typing import Any

from ..core.model import STUDENT_STATUS_ORDER, Milestone, StudentPlan
from .csvsafe import neutralise
from .wording import contact_verdict

WIDTH = 100
_STATUS_RANK = {s: i for i, s in enumerate(STUDENT_STATUS_ORDER)}


def plan_json(plan: StudentPlan) -> dict[str, Any]:
    """SPEC §4's JSON form (exactly those fields, plus a few more)."""
    meeting = plan.meeting
    contacts = plan.contacts
    return {
        "student_id": plan.student_id,
        "today": plan.today.isoformat(),
        "due_date": plan.due_date.isoformat(),
        "next_due_date": plan.next_due_date.isoformat() if plan.next_due_date else None,
        "status": plan.status,
        "meeting": None
        if meeting is None
        else {
            "date": meeting.date.isoformat(),
            "start": meeting.start.isoformat(),
            "end": meeting.end.isoformat(),
            "state": meeting.state,
            "rung": meeting.rung,
        },
        "milestones": [
            {
                "key": m.key,
                "date": m.date.isoformat() if m.date else None,
                "delivery": m.delivery,
                "status": m.status,
                "title": m.title,
            }
            for m in plan.milestones
        ],
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
    }


def plan_table(plan: StudentPlan) -> str:
    """One student's timeline for a terminal, at most 100 columns wide."""
    s = plan.student
    meeting = plan.meeting
    lines = [
        f"{s.student_id}  {s.initials}  {s.building}  (case manager {s.case_manager_email})"[
            :WIDTH
        ],
        f"today {plan.today.isoformat()}   IEP due {plan.due_date.isoformat()}   "
        f"status {plan.status.upper()}",
    ]
    if meeting is None:
        lines.append("meeting: not placed")
    else:
        when = f"{meeting.start.strftime('%a %Y-%m-%d %H:%M')}-{meeting.end.strftime('%H:%M')}"
        lines.append(
            f"meeting: {when} ({meeting.state}, {meeting.rung.replace('_', ' ')})"
            + (f"   next due {plan.next_due_date.isoformat()}" if plan.next_due_date else "")
        )
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
    if plan.warnings:
        lines.append("")
        for w in plan.warning_texts:
            lines.extend(textwrap.wrap(w, WIDTH, initial_indent="! ", subsequent_indent="  "))
    return "\n".join(lines)


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


def _row(plan: StudentPlan) -> dict[str, str]:
    nxt = plan.next_milestone()
    m = plan.meeting
    return {
        "student_id": plan.student_id,
        "due_date": plan.due_date.isoformat(),
        "meeting": m.start.strftime("%Y-%m-%d %H:%M") if m else "",
        "meeting_state": m.state if m else "",
        "status": plan.status,
        "next_milestone": nxt.key if nxt else "",
        "next_date": nxt.date.isoformat() if nxt and nxt.date else "",
        "case_manager_email": plan.student.case_manager_email,
        "building": plan.student.building,
    }


def sort_plans(plans: Sequence[StudentPlan], by: str) -> list[StudentPlan]:
    """By status (overdue first, then infeasible, unplanned, at_risk, on_track), due date or id."""
    if by == "status":
        return sorted(plans, key=lambda p: (_STATUS_RANK[p.status], p.due_date, p.student_id))
    if by == "due":
        return sorted(plans, key=lambda p: (p.due_date, p.student_id))
    return sorted(plans, key=lambda p: p.student_id)


def all_table(plans: Sequence[StudentPlan]) -> str:
    """One row per student, at most 100 columns wide."""
    head = (
        f"{'student':<10} {'due':<10} {'meeting':<16} {'state':<8} {'status':<10} "
        f"{'next milestone':<26} {'date':<10}"
    )
    lines = [head, "-" * len(head)]
    for p in plans:
        r = _row(p)
        lines.append(
            f"{r['student_id'][:10]:<10} {r['due_date']:<10} {r['meeting'] or '—':<16} "
            f"{r['meeting_state'] or '—':<8} {r['status']:<10} {r['next_milestone'][:26]:<26} "
            f"{r['next_date']:<10}"
        )
    return "\n".join(lines)


def all_csv(plans: Sequence[StudentPlan]) -> str:
    """CSV of `plan --all` (mostly ids, dates and statuses; cells neutralised all the same)."""
    out = io.StringIO()
    fields = list(_row(plans[0]).keys()) if plans else ["student_id"]
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for p in plans:
        writer.writerow({k: neutralise(v) for k, v in _row(p).items()})
    return out.getvalue()


def all_json(plans: Sequence[StudentPlan]) -> str:
    return json.dumps([_row(p) for p in plans], indent=2)


def at_risk_lines(plans: Sequence[StudentPlan]) -> list[str]:
    """The students a coordinator must act on, each with its first warning."""
    out: list[str] = []
    for p in sort_plans(plans, "status"):
        if p.status == "on_track":
            continue
        warning = p.warnings[0] if p.warnings else ""
        out.extend(
            textwrap.wrap(
                f"{p.student_id} [{p.status}] {warning}",
                WIDTH,
                subsequent_indent="    ",
            )
        )
    return out

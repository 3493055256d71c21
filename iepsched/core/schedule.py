"""Backward scheduling (SPEC §3): the entry point that plans a district.

Pure: everything arrives as arguments — `today`, the time zone, calendars, what is already booked,
completed and logged — and nothing is read from the clock, files or the network.

Students are placed in (DUE, student_id) order so that the plan is deterministic: the same roster,
calendars, bookings and `today` always give the same meetings. The work is split by job:
`ladder` places the meeting, `milestones` dates the timeline, `statuses` judges it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from .context import PlanContext
from .dates import add_months, age_on, due_date_from, next_due_from
from .dating import evaluate
from .ladder import Occupancy, hold_booked, keep_booked, place
from .milestones import (
    RunMemo,
    by_sort_key,
    date_of,
    held_cycle,
    meeting_delivered,
    shared_milestones,
)
from .model import (
    BookedMeeting,
    Contact,
    ContactRequirement,
    Cycle,
    DistrictPlan,
    Interval,
    Meeting,
    PlanWarning,
    Student,
    StudentPlan,
)
from .statuses import contact_requirement, status_of_student, status_warnings

__all__ = [
    "PlanContext",
    "add_months",
    "age_on",
    "contact_requirement",
    "due_date_from",
    "evaluate",
    "next_due_from",
    "plan_district",
]


def plan_district(
    students: Sequence[Student],
    ctx: PlanContext,
    *,
    today: dt.date,
    booked: Mapping[str, BookedMeeting] | None = None,
    busy: Mapping[str, Sequence[Interval]] | None = None,
    done: Mapping[str, frozenset[str]] | None = None,
    contacts: Mapping[str, Sequence[Contact]] | None = None,
    cycle_ids: Mapping[str, str] | None = None,
    reeval_cycle_ids: Mapping[str, str] | None = None,
    held_cycles: Mapping[str, tuple[Cycle, frozenset[str]]] | None = None,
) -> DistrictPlan:
    """Plan every active student; the answer is the same one `sync` would book.

    booked:   meetings already delivered, by student id (kept unless a correction forbids them).
    busy:     Graph free/busy by email (only consulted for new placements).
    done:     milestone keys completed per student (To Do read-back, logged contacts).
    contacts: logged parent contacts per student.
    held_cycles: the held annual cycle before the current one, and what was completed in it.
    """
    booked = booked or {}
    done = done or {}
    contacts = contacts or {}
    cycle_ids = cycle_ids or {}
    reeval_cycle_ids = reeval_cycle_ids or {}
    held_cycles = held_cycles or {}
    occupancy = Occupancy(ctx.spans, ctx.meetings.max_per_day)
    occupancy.add_busy(busy, ctx.tz)
    active = [s for s in students if s.status == "active"]
    active.sort(key=lambda s: (s.due_date, s.student_id))
    by_id = {s.student_id: s for s in active}

    hold_booked(occupancy, booked, by_id, ctx, today)

    # First every meeting (in placement order), then the overlaps they leave between people,
    # then each student's timeline with all of its warnings.
    placed = [_meeting_of(s, ctx, today, booked.get(s.student_id), occupancy) for s in active]
    overlaps = _double_booked(active, placed, ctx)
    memo = RunMemo()
    plans = [
        _plan_student(
            s,
            ctx,
            today=today,
            meeting=meeting,
            warnings=warnings + overlaps[i] if i in overlaps else warnings,
            moved_by_person=(b := booked.get(s.student_id)) is not None and b.adopted,
            done=done.get(s.student_id, frozenset()),
            contacts=contacts.get(s.student_id, ()),
            cycle_id=cycle_ids.get(s.student_id, ""),
            reeval_cycle_id=reeval_cycle_ids.get(s.student_id, ""),
            memo=memo,
            held=held_cycles.get(s.student_id),
        )
        for i, (s, (meeting, warnings)) in enumerate(zip(active, placed, strict=True))
    ]
    return DistrictPlan(today=today, plans=tuple(plans))


def _meeting_of(
    student: Student,
    ctx: PlanContext,
    today: dt.date,
    booked: BookedMeeting | None,
    occupancy: Occupancy,
) -> tuple[Meeting | None, list[PlanWarning]]:
    """The student's meeting (the booked one if it stands, else the ladder's) and warnings."""
    warnings: list[PlanWarning] = []
    note = ctx.building_notes.get(student.building) if ctx.building_notes else None
    if note:
        warnings.append(PlanWarning("unknown_building", note))
    cal = ctx.calendar_for(student)
    meeting = keep_booked(student, booked, cal, ctx, today, warnings)
    if meeting is None:
        meeting = place(student, cal, ctx, today, occupancy, warnings)
    return meeting, warnings


def _double_booked(
    students: Sequence[Student],
    placed: Sequence[tuple[Meeting | None, list[PlanWarning]]],
    ctx: PlanContext,
) -> dict[int, list[PlanWarning]]:
    """A warning for each student whose meeting invites someone also invited to an overlapping
    one, by position.

    Providers are optional attendees, so the ladder does not keep their meetings apart (unless
    `[meetings] providers_required`); a person moved in Outlook can also put two together.
    """
    # Providers are the usual case; required people only clash through booked meetings.
    by_day: dict[tuple[str, int], list[tuple[int, int, int]]] = {}
    for index, (m, _) in enumerate(placed):
        if m is None or m.state == "held":
            continue
        s = students[index]
        people = (
            s.provider_emails if m.state == "proposed" else (*s.required_emails, *s.provider_emails)
        )
        if not people:
            continue
        day = m.date.toordinal()
        begin = m.start.hour * 60 + m.start.minute
        finish = begin + int((m.end - m.start).total_seconds() // 60)
        for email in people:
            by_day.setdefault((email, day), []).append((begin, finish, index))
    clashes: dict[int, dict[str, set[int]]] = {}
    for (email, _day), meetings in by_day.items():
        if len(meetings) < 2:
            continue
        meetings.sort()
        for i, (_begin, finish, a) in enumerate(meetings):
            for other_begin, _other_finish, b in meetings[i + 1 :]:
                if other_begin >= finish:
                    break
                if a != b:
                    clashes.setdefault(a, {}).setdefault(email, set()).add(b)
                    clashes.setdefault(b, {}).setdefault(email, set()).add(a)
    out: dict[int, list[PlanWarning]] = {}
    for index, shared in clashes.items():
        meeting = placed[index][0]
        student = students[index]
        assert meeting is not None
        start = meeting.start
        when = f"{meeting.date.isoformat()} {start.hour:02d}:{start.minute:02d}"
        # Computed once per student, not per clash (required_emails builds a new tuple).
        required = () if ctx.meetings.providers_required else student.required_emails
        out[index] = [
            PlanWarning(
                "double_booked",
                f"{email} is invited to this meeting ({when}) and to an overlapping one "
                f"({', '.join(sorted([students[b].student_id for b in others]))}): ask which "
                "they will attend, or move one"
                + (
                    "."
                    if ctx.meetings.providers_required or email in required
                    else "; [meetings] providers_required = true keeps providers' meetings apart."
                ),
            )
            for email, others in sorted(shared.items())
        ]
    return out


def _plan_student(
    student: Student,
    ctx: PlanContext,
    *,
    today: dt.date,
    meeting: Meeting | None,
    warnings: list[PlanWarning],
    moved_by_person: bool,
    done: frozenset[str],
    contacts: Sequence[Contact],
    cycle_id: str,
    reeval_cycle_id: str,
    memo: RunMemo,
    held: tuple[Cycle, frozenset[str]] | None = None,
) -> StudentPlan:
    cal = ctx.calendar_for(student)
    rules = ctx.rules
    due = student.due_date

    m_date = meeting.date if meeting else None
    next_due = next_due_from(m_date) if m_date else None
    age = age_on(student.birth_date, m_date or due)
    delivered = meeting_delivered(meeting)
    # Milestones are immutable and depend only on these inputs, so students that share them
    # (about fifty per meeting date in a large district) share one tuple. The reevaluation track
    # is keyed apart (by R) so it does not split the annual track's sharing. Students with
    # completed items are computed on their own.
    flags = (
        id(cal),
        m_date.toordinal() if m_date else 0,
        due.toordinal() if ctx.uses_due else 0,
        tuple([age >= a for a in ctx.ages]),
        delivered,
    )
    annual, annual_warnings = shared_milestones(
        ("annual", *flags), student, cal, ctx, today, m_date, next_due, age, delivered, done, memo
    )
    warnings.extend(annual_warnings)
    if student.reeval_due_date is None:
        milestones = [m for _, m in annual]
    else:
        r_key = (
            ("reeval", id(cal), student.reeval_due_date.toordinal())
            if ctx.reeval_r_only
            else ("reeval", student.reeval_due_date.toordinal(), *flags)
        )
        reeval, reeval_warnings = shared_milestones(
            r_key, student, cal, ctx, today, m_date, next_due, age, delivered, done, memo
        )
        warnings.extend(reeval_warnings)
        milestones = [m for _, m in sorted((*annual, *reeval), key=by_sort_key)]

    contact_req: ContactRequirement | None = None
    if any(m.kind == "contact" for m in milestones):
        deadline = date_of(milestones, rules.contact_deadline)
        contact_req = (
            contact_requirement(contacts, deadline, due)
            if contacts
            else ContactRequirement(met=False, deadline=deadline)
        )
        if contact_req.met:
            milestones = [
                m._replace(status="done") if m.kind == "contact" else m for m in milestones
            ]

    student_status = status_of_student(student, meeting, milestones, today)
    status_warnings(
        student_status,
        student,
        meeting,
        milestones,
        today,
        warnings,
        rules,
        cal=cal,
        moved_by_person=moved_by_person and meeting is not None,
    )
    previous = None
    if held is not None:
        previous, held_warnings = held_cycle(student, cal, rules, today, *held, memo)
        warnings.extend(w for w in held_warnings if w not in warnings)
    return StudentPlan(
        student=student,
        today=today,
        due_date=due,
        next_due_date=next_due,
        status=student_status,
        meeting=meeting,
        milestones=tuple(milestones),
        warnings=tuple(warnings),
        cycle_id=cycle_id,
        reeval_cycle_id=reeval_cycle_id,
        contacts=contact_req,
        held_cycle=previous,
    )

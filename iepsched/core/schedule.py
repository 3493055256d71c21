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
from dataclasses import replace

from .context import PlanContext
from .cycleplan import combined_plan, copy_with, cycle_order, plan_cycle, worst
from .cyclerules import CYCLE_TYPES
from .cycles import CycleSpec, open_cycles, reevaluation_cycle
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
    MeetingRequest,
    Milestone,
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
    requests: Mapping[str, Sequence[MeetingRequest]] | None = None,
    cycle_booked: Mapping[tuple[str, str], BookedMeeting] | None = None,
    cycle_done: Mapping[tuple[str, str], frozenset[str]] | None = None,
    cycles_held: Mapping[str, dt.date] | None = None,
    sentences: bool = True,
) -> DistrictPlan:
    """Plan every active student; the answer is the same one `sync` would book.

    booked:   meetings already delivered, by student id (kept unless a correction forbids them).
    busy:     Graph free/busy by email (only consulted for new placements).
    done:     milestone keys completed per student (To Do read-back, logged contacts).
    contacts: logged parent contacts per student.
    held_cycles: the held annual cycle before the current one, and what was completed in it.
    The other cycles of SPEC §3.6:
    requests:     the meeting request log, per student.
    cycle_booked: the booked meeting of each (student, cycle id) other than the annual one.
    cycle_done:   milestone keys completed per (student, cycle id).
    cycles_held:  the day each closed cycle ("student/cycle_id") was held (an amendment
                  without a meeting: signed); a held eligibility meeting opens the initial IEP.
    sentences: False for a view that shows no student's warnings (`plan --all`): the sentence
               each status carries and the overlap warnings are not written (a tenth of the
               planning of 10,000 contended students), so the plans' `warnings` are incomplete
               and must not be shown. Meetings, milestones and statuses are the same.
    """
    booked = booked or {}
    done = done or {}
    contacts = contacts or {}
    cycle_ids = cycle_ids or {}
    reeval_cycle_ids = reeval_cycle_ids or {}
    held_cycles = held_cycles or {}
    requests = requests or {}
    cycle_booked = cycle_booked or {}
    cycle_done = cycle_done or {}
    cycles_held = cycles_held or {}
    occupancy = Occupancy(ctx.spans, ctx.meetings.max_per_day)
    occupancy.add_busy(busy, ctx.tz)
    active = [s for s in students if s.status == "active"]
    # Every cycle of every student, placed together in (DUE, student_id, cycle) order (SPEC
    # §3.1), so max_per_day and people's overlaps hold across types. A student with only an
    # annual cycle is one entry, exactly as before cycles existed.
    entries: list[_Entry] = []
    by_id: dict[str, Student] = {}
    for s in active:
        if s.due_date is not None:
            entries.append(((s.due_date, s.student_id, 0), s, None))
            by_id[s.student_id] = s
        if _has_other_cycles(s, requests):
            for opened in open_cycles(
                s,
                today=today,
                calendar=ctx.calendar_for(s),
                held=cycles_held,
                requests=requests.get(s.student_id, ()),
                rules=ctx.rules,
            ):
                if s.due_date is not None and opened.type in ("annual", "reevaluation"):
                    continue  # the annual cycle is the entry above; the reevaluation below
                key = (opened.due or dt.date.max, s.student_id, cycle_order(opened))
                entries.append((key, s, opened))
        if s.reeval_due_date is not None and s.due_date is not None:
            # Whether the reevaluation shares the annual meeting depends on where that meeting
            # goes, so it is decided (and, when separate, placed) after it.
            key = (
                max(s.reeval_due_date, s.due_date),
                s.student_id,
                CYCLE_TYPES.index("reevaluation"),
            )
            entries.append((key, s, _REEVAL))
    entries.sort(key=lambda e: e[0])

    hold_booked(occupancy, booked, by_id, ctx, today)
    _hold_cycle_bookings(occupancy, entries, cycle_booked, reeval_cycle_ids, ctx, today)

    # First every meeting (in placement order), then the overlaps they leave between people,
    # then each student's timelines with all of their warnings.
    placed: list[tuple[Meeting | None, list[PlanWarning]]] = []
    placed_students: list[Student] = []
    specs: list[CycleSpec | None] = []
    annual_meeting: dict[str, Meeting | None] = {}
    for _key, s, what in entries:
        spec: CycleSpec | None = None
        if what is None:
            found = _meeting_of(s, ctx, today, booked.get(s.student_id), occupancy)
            annual_meeting[s.student_id] = found[0]
        else:
            if what is _REEVAL:
                m = annual_meeting.get(s.student_id)
                assert s.reeval_due_date is not None
                if m is None or s.reeval_due_date > next_due_from(m.date):
                    # Not this annual cycle's to hold: the next annual meeting may fall in its
                    # window. Until then the annual plan carries its tasks, as it always did.
                    continue
                spec = reevaluation_cycle(
                    s,
                    today=today,
                    calendar=ctx.calendar_for(s),
                    rules=ctx.rules,
                    annual_meeting=m.date if m else None,
                )
                assert spec is not None
            else:
                assert isinstance(what, CycleSpec)
                spec = what
            assert spec is not None
            found = _cycle_meeting(s, spec, ctx, today, cycle_booked, reeval_cycle_ids, occupancy)
        placed.append(found)
        placed_students.append(s)
        specs.append(spec)
    # Students whose reevaluation has a meeting of its own: their annual plan leaves its tasks.
    separate_reeval = {
        s.student_id
        for s, spec in zip(placed_students, specs, strict=True)
        if spec is not None and spec.type == "reevaluation" and spec.combined_with is None
    }
    overlaps = _double_booked(placed_students, placed, ctx) if sentences else {}
    memo = RunMemo()
    # Each student's cycles, in placement order; the annual plan first built as before.
    annual_plans: dict[str, StudentPlan] = {}
    other_plans: dict[str, list[StudentPlan]] = {}
    order: dict[str, int] = {}
    for i, (s, spec, (meeting, warnings)) in enumerate(
        zip(placed_students, specs, placed, strict=True)
    ):
        sid = s.student_id
        order.setdefault(sid, i)
        warnings = warnings + overlaps[i] if i in overlaps else warnings
        if spec is None:
            annual_plans[sid] = _plan_student(
                s,
                ctx,
                today=today,
                meeting=meeting,
                warnings=warnings,
                moved_by_person=(b := booked.get(sid)) is not None and b.adopted,
                done=done.get(sid, frozenset()),
                contacts=contacts.get(sid, ()),
                cycle_id=cycle_ids.get(sid, ""),
                reeval_cycle_id=reeval_cycle_ids.get(sid, ""),
                memo=memo,
                held=held_cycles.get(sid),
                with_reeval=sid not in separate_reeval,
                sentences=sentences,
            )
            continue
        if spec.combined_with is not None:
            other_plans.setdefault(sid, []).append(
                combined_plan(annual_plans[sid], spec, today, reeval_cycle_ids.get(sid, ""))
            )
            continue
        own_id = reeval_cycle_ids.get(sid, "") if spec.type == "reevaluation" else ""
        cid = own_id or spec.cycle_id
        other_plans.setdefault(sid, []).append(
            plan_cycle(
                s,
                spec,
                ctx,
                today=today,
                meeting=meeting,
                warnings=warnings,
                done=cycle_done.get((sid, cid), frozenset()),
                contacts=contacts.get(sid, ()),
                memo=memo,
                cycle_id=own_id,
                sentences=sentences,
            )
        )
    # Students in (DUE, student_id) order of their plan (the annual DUE, else the nearest
    # cycle's), as before cycles existed.
    plans = sorted(
        (_student_plan(annual_plans.get(sid), other_plans.get(sid, [])) for sid in order),
        key=lambda p: (p.due_date, p.student_id),
    )
    # A student on the initial track whose every cycle is closed (held) until the roster
    # carries the IEP: said, never dropped silently (SPEC §2.2).
    idle = tuple(
        f"{s.student_id}: no open meeting cycle; add the IEP's date (last_iep_date) to the roster"
        for s in active
        if s.student_id not in order
    )
    return DistrictPlan(today=today, plans=tuple(plans), warnings=idle)


_REEVAL = "reevaluation"  # an entry whose cycle is decided once the annual meeting is placed
_Entry = tuple[tuple[dt.date, str, int], Student, "CycleSpec | str | None"]


def _has_other_cycles(student: Student, requests: Mapping[str, Sequence[MeetingRequest]]) -> bool:
    """Whether the student may have a cycle besides the annual one and the reevaluation: only
    those students pay for `open_cycles`."""
    return (
        student.due_date is None
        or student.initial_consent_date is not None
        or student.eligibility_date is not None
        or student.transfer_in_date is not None
        or student.student_id in requests
    )


def _student_plan(annual: StudentPlan | None, others: list[StudentPlan]) -> StudentPlan:
    """The student's plan: the annual cycle's (else the nearest cycle's) with the others in
    `others`; its status is the worst of them all (SPEC §3.6)."""
    if annual is None:
        others = sorted(others, key=lambda p: (p.status == "unplanned" and not p.meeting,))
        top, rest = others[0], others[1:]
    else:
        top, rest = annual, others
    if not rest:
        return top
    own = top.status
    status = worst([own, *(p.status for p in rest)])
    # The student's warnings are every cycle's (SPEC §3.3: a status that is not on track carries
    # a sentence to act on); the other cycles' name their meeting ("Transfer IEP meeting: ...").
    warnings = (*top.warnings, *(w for p in rest for w in p.warnings if w not in top.warnings))
    return copy_with(top, status=status, cycle_status=own, others=tuple(rest), warnings=warnings)


def _hold_cycle_bookings(
    occupancy: Occupancy,
    entries: Sequence[_Entry],
    cycle_booked: Mapping[tuple[str, str], BookedMeeting],
    reeval_cycle_ids: Mapping[str, str],
    ctx: PlanContext,
    today: dt.date,
) -> None:
    """The booked meetings of open cycles other than the annual one hold their slots too."""
    if not cycle_booked:
        return
    for _key, s, what in entries:
        if what is _REEVAL and s.reeval_due_date is not None:
            # A reevaluation's own meeting, booked under the state's reevaluation cycle id.
            cid = reeval_cycle_ids.get(s.student_id) or f"R{s.reeval_due_date.isoformat()}"
            due: dt.date | None = s.reeval_due_date
        elif isinstance(what, CycleSpec):
            cid, due = what.cycle_id, what.due
        else:
            continue
        found = cycle_booked.get((s.student_id, cid))
        if found is not None and due is not None:
            if found.due_date is None:
                found = replace(found, due_date=due)  # as `_cycle_meeting` keeps it
            hold_booked(
                occupancy,
                {s.student_id: found},
                {s.student_id: replace(s, due_date=due)},
                ctx,
                today,
            )


def _cycle_meeting(
    student: Student,
    spec: CycleSpec,
    ctx: PlanContext,
    today: dt.date,
    cycle_booked: Mapping[tuple[str, str], BookedMeeting],
    reeval_cycle_ids: Mapping[str, str],
    occupancy: Occupancy,
) -> tuple[Meeting | None, list[PlanWarning]]:
    """The meeting of a cycle other than the annual one: booked if it stands, else the ladder's
    against the cycle's own DUE, not before the cycle began (SPEC §3.6)."""
    warnings: list[PlanWarning] = []
    if spec.due is None or not spec.has_meeting:
        return None, warnings
    cal = ctx.calendar_for(student)
    sid = student.student_id
    cid = spec.cycle_id
    if spec.type == "reevaluation":
        cid = reeval_cycle_ids.get(sid) or cid
    held = cycle_booked.get((sid, cid))
    if held is not None and held.due_date is None:
        # A cycle's DUE follows from its start, which names the cycle: the meeting was booked
        # against this DUE, so one booked late stays late rather than moving every night.
        held = replace(held, due_date=spec.due)
    meeting = keep_booked(student, held, cal, ctx, today, warnings, due=spec.due)
    if meeting is None:
        if spec.earliest is None and spec.earliest_first:
            # Notice waived into a school year not loaded: the day cannot be counted.
            warnings.append(
                PlanWarning(
                    "unknown_year",
                    f"Cannot place the meeting: school year {spec.needs_year} is not loaded "
                    f"({cal.name}). Add that year's calendar so the meeting can be planned.",
                )
            )
            return None, warnings
        meeting = place(
            student,
            cal,
            ctx,
            today,
            occupancy,
            warnings,
            due=spec.due,
            lower=spec.earliest if spec.earliest_first else spec.not_before,
            earliest_first=spec.earliest_first,
            annual=spec.type == "annual",
        )
    return meeting, warnings


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
    length = ctx.meetings.duration_minutes
    for index, (m, _) in enumerate(placed):
        if m is None:
            continue
        state = m.state
        if state == "held":
            continue
        s = students[index]
        start = m.start
        begin = start.hour * 60 + start.minute
        if state == "proposed":
            people: Sequence[str] = s.provider_emails
            finish = begin + length  # every proposal is the configured length
        else:
            people = (*s.required_emails, *s.provider_emails)
            finish = begin + int((m.end - start).total_seconds() // 60)
        if not people:
            continue
        day = m.date.toordinal()
        entry = (begin, finish, index)
        for email in people:
            found = by_day.get((email, day))
            if found is None:
                by_day[email, day] = [entry]
            else:
                found.append(entry)
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


def _plain(
    annual: Sequence[tuple[int, Milestone]], deadline_key: str
) -> tuple[tuple[Milestone, ...], ContactRequirement | None]:
    """A shared milestone set's milestones, and the contact requirement of a student with no
    contact logged (None: the set has no contact step). Immutable: shared by the set's students."""
    milestones = tuple(m for _, m in annual)
    if not any(m.kind == "contact" for m in milestones):
        return milestones, None
    return milestones, ContactRequirement(met=False, deadline=date_of(milestones, deadline_key))


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
    with_reeval: bool = True,
    sentences: bool = True,
) -> StudentPlan:
    cal = ctx.calendar_for(student)
    rules = ctx.rules
    due = student.due_date
    assert due is not None, "only a student with an annual DUE has an annual plan"

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
    unmet: ContactRequirement | None = None
    milestones: Sequence[Milestone]
    if student.reeval_due_date is None or not with_reeval:
        # No reevaluation, or one with a meeting of its own, whose plan carries its tasks. A set
        # shared by students (none done) has its milestones and unmet contact requirement once.
        if done:
            milestones = [m for _, m in annual]
        else:
            found = memo.plain.get(id(annual))
            if found is None:
                found = memo.plain[id(annual)] = _plain(annual, rules.contact_deadline)
            milestones, unmet = found
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
    if unmet is not None and not contacts:
        contact_req = unmet
    elif any(m.kind == "contact" for m in milestones):
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
    if sentences:
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

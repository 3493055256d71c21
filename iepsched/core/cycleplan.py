"""The plan of one cycle other than the annual review (SPEC §3.6): its milestones dated around its
meeting, its status and warnings. Pure.

The annual cycle is planned by `schedule._plan_student` exactly as before cycles existed; every
other cycle comes here once `schedule` has placed (or kept) its meeting. Each plan is a full
`StudentPlan` with its own DUE, meeting, milestones, warnings and cycle id; its warnings name the
meeting they are about ("Eligibility meeting: ...").
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import fields
from operator import attrgetter
from typing import Any, TypeVar

from .context import PlanContext
from .cyclerules import CYCLE_TYPES, MEETING_TITLES
from .cycles import MEETING_GROUP, CycleSpec, date_steps, step_groups
from .dates import age_on, next_due_from
from .dating import milestone_status
from .milestones import (
    CycleSteps,
    RunMemo,
    by_sort_key,
    date_of,
    meeting_delivered,
    shared_milestones,
)
from .model import (
    STUDENT_STATUS_ORDER,
    Contact,
    ContactRequirement,
    CycleType,
    Meeting,
    Milestone,
    PlanWarning,
    Student,
    StudentPlan,
    StudentStatus,
    Track,
)
from .schoolcal import SchoolCalendar, UnknownDate
from .statuses import contact_requirement, status_of_student, status_warnings

# What the status sentences call the thing that is due ("The eligibility determination was due").
DUE_WHAT: dict[CycleType, str] = {
    "annual": "IEP",
    "eligibility": "eligibility determination",
    "initial_iep": "initial IEP",
    "amendment": "amendment",
    "reevaluation": "reevaluation",
    "transfer": "transfer IEP",
}
# The annual table dates these cycles (SPEC §3.6: the initial IEP uses "the annual table").
ANNUAL_TABLE: tuple[CycleType, ...] = ("annual", "initial_iep")


_T = TypeVar("_T")
# Field names and getters of the frozen values copied once per cycle (see `copy_with`).
_FIELDS: dict[type, tuple[dict[str, int], Any]] = {}


def copy_with(value: _T, **changes: Any) -> _T:
    """`dataclasses.replace` of a frozen dataclass whose fields are all init fields, without its
    per-field checks: a district plan copies a student or a plan for every cycle (2-3 times
    faster; same result, as these classes have no __post_init__)."""
    cls = type(value)
    found = _FIELDS.get(cls)
    if found is None:
        every = fields(cls)  # type: ignore[arg-type]
        if len(every) < 2 or not all(f.init for f in every):
            raise TypeError(f"copy_with needs a dataclass of init fields only: {cls.__name__}")
        names = [f.name for f in every]
        found = _FIELDS[cls] = ({n: i for i, n in enumerate(names)}, attrgetter(*names))
    places, values_of = found
    values = list(values_of(value))
    for name, new in changes.items():
        values[places[name]] = new
    return cls(*values)


def worst(statuses: Sequence[StudentStatus]) -> StudentStatus:
    """The highest of these statuses in SPEC §3.3's order (the student's status)."""
    return min(statuses, key=STUDENT_STATUS_ORDER.index)


def cycle_order(spec: CycleSpec) -> int:
    """A cycle type's place among a student's cycles placed on the same DUE."""
    return CYCLE_TYPES.index(spec.type)


def plan_cycle(
    student: Student,
    spec: CycleSpec,
    ctx: PlanContext,
    *,
    today: dt.date,
    meeting: Meeting | None,
    warnings: list[PlanWarning],
    done: frozenset[str],
    contacts: Sequence[Contact],
    memo: RunMemo,
    cycle_id: str = "",
    sentences: bool = True,
) -> StudentPlan:
    """One cycle's plan. `cycle_id`: the state's id for it (the reevaluation's, which may carry a
    ".2"); the spec's own id otherwise. `sentences`: see `schedule.plan_district`."""
    cal = ctx.calendar_for(student)
    rules = ctx.rules
    title = MEETING_TITLES[spec.type]
    due = spec.due
    cs = copy_with(student, due_date=due)  # the statuses and the ladder judge against this DUE
    m_date = meeting.date if meeting else None
    age = age_on(student.birth_date, m_date or due or spec.anchor)
    delivered = meeting_delivered(meeting)
    next_due = next_due_from(m_date) if m_date and spec.type in ANNUAL_TABLE else None
    own: list[PlanWarning] = []
    if spec.type in ANNUAL_TABLE:
        flags = (
            spec.type,
            id(cal),
            m_date.toordinal() if m_date else 0,
            due.toordinal() if due else 0,
            tuple(age >= a for a in ctx.ages),
            delivered,
        )
        keyed, dated_warnings = shared_milestones(
            ("annual", *flags), cs, cal, ctx, today, m_date, next_due, age, delivered, done, memo
        )
        own.extend(dated_warnings)
        milestones = _not_before(
            [m for _, m in keyed], spec.not_before, cal, today, rules.due_soon_days
        )
    else:
        milestones = _dated(spec, cal, today, m_date, age, delivered, done, ctx, own, memo)

    contact_req: ContactRequirement | None = None
    if any(m.kind == "contact" for m in milestones):
        deadline = date_of(milestones, rules.contact_deadline)
        since = [c for c in contacts if c.at.date() >= spec.anchor]
        contact_req = (
            contact_requirement(since, deadline, due)
            if since and due is not None
            else ContactRequirement(met=False, deadline=deadline)
        )
        if contact_req.met:
            milestones = [
                m._replace(status="done") if m.kind == "contact" else m for m in milestones
            ]

    status: StudentStatus
    if due is None:
        status = "unplanned"
        own.insert(
            0,
            PlanWarning(
                "unknown_year",
                f"Cannot plan it: its due date needs school year {spec.needs_year}, which is not "
                f"loaded ({cal.name}). Add that year's calendar so it can be planned.",
            ),
        )
    elif not spec.has_meeting:
        status = _written_status(cs, due, milestones, today, own)
    else:
        status = status_of_student(cs, meeting, milestones, today)
        if sentences:
            status_warnings(
                status,
                cs,
                meeting,
                milestones,
                today,
                own,
                rules,
                cal=cal,
                what=DUE_WHAT[spec.type],
            )
    named = [*warnings, *own]
    if spec.type != "annual" and sentences:
        named = [PlanWarning(w.code, f"{title}: {w.text}") for w in named]
    return StudentPlan(
        student=student,
        today=today,
        # A DUE not known yet (a school year not loaded) shows the day the cycle started; the
        # status is unplanned and the warning names the year.
        due_date=due or spec.anchor,
        due_known=due is not None,
        next_due_date=next_due,
        status=status,
        meeting=meeting,
        milestones=tuple(milestones),
        warnings=tuple(named),
        cycle_id=cycle_id or spec.cycle_id,
        reeval_cycle_id=(cycle_id or spec.cycle_id) if spec.type == "reevaluation" else "",
        contacts=contact_req,
        cycle_type=spec.type,
        cycle_status=status,
    )


def combined_plan(
    annual: StudentPlan, spec: CycleSpec, today: dt.date, cycle_id: str
) -> StudentPlan:
    """The reevaluation held at the annual meeting (SPEC §3.6): the annual meeting is its
    meeting, the annual plan's reevaluation tasks are its milestones, and it delivers nothing
    of its own (the annual plan keeps delivering those tasks under their usual keys)."""
    due = spec.anchor
    tasks = tuple(m for m in annual.milestones if m.track == "reeval")
    meeting = annual.meeting
    status = status_of_student(copy_with(annual.student, due_date=due), meeting, tasks, today)
    warnings: list[PlanWarning] = []
    if status == "overdue":
        warnings.append(
            PlanWarning(
                "overdue",
                f"Reevaluation meeting: the reevaluation was due {due.isoformat()} and the "
                "annual meeting that holds it has not been held: hold it as soon as possible.",
            )
        )
    return StudentPlan(
        student=annual.student,
        today=today,
        due_date=due,
        next_due_date=None,
        status=status,
        meeting=meeting,
        milestones=tasks,
        warnings=tuple(warnings),
        cycle_id=cycle_id or spec.cycle_id,
        reeval_cycle_id=cycle_id or spec.cycle_id,
        cycle_type="reevaluation",
        cycle_status=status,
        combined_with="annual",
    )


def _dated(
    spec: CycleSpec,
    cal: SchoolCalendar,
    today: dt.date,
    m_date: dt.date | None,
    age: int,
    delivered: str | None,
    done: frozenset[str],
    ctx: PlanContext,
    warnings: list[PlanWarning],
    memo: RunMemo,
) -> list[Milestone]:
    """The milestones of a cycle with its own table (`cyclerules`), dated and judged.

    Dated group by group (`cycles.step_groups`): the steps dated from the meeting are the same
    for every cycle of that table meeting that day, those dated from R for every cycle with that
    R, so each group is built once per run and shared (their pairs are never distinct enough to
    share the whole set). `today` and the due-soon days are the run's, like `memo`.
    """
    adult = ctx.rules.rights_transfer_age
    table = spec.milestones
    groups, ages = step_groups(table, adult)
    flags = tuple([age >= a for a in ages])
    anchors: dict[str, dt.date | None] = {spec.anchor_name: spec.anchor, "DUE": spec.due}
    keyed: list[tuple[int, Milestone]] = []
    unknown: list[tuple[int, str, str]] = []
    shared = memo.cycle_steps
    for name, orders in groups:
        anchor = m_date if name == MEETING_GROUP else anchors.get(name)
        key = (id(table), name, anchor, spec.not_before, id(cal), flags, delivered, done)
        found = shared.get(key)
        if found is None:
            found = shared[key] = _dated_group(
                spec, orders, cal, today, m_date, age, delivered, done, ctx, memo
            )
        keyed += found[0]
        unknown += found[1]
    keyed.sort(key=by_sort_key)
    if unknown:
        by_year: dict[str, list[str]] = {}
        for _, year, step_key in sorted(unknown):
            by_year.setdefault(year, []).append(step_key)
        for year, keys in sorted(by_year.items()):
            warnings.append(
                PlanWarning(
                    "milestones_undated",
                    f"Load the {year} school calendar ({cal.name}): {', '.join(keys)} cannot be "
                    "dated until it is.",
                )
            )
    return [m for _, m in keyed]


def _dated_group(
    spec: CycleSpec,
    orders: Sequence[int],
    cal: SchoolCalendar,
    today: dt.date,
    m_date: dt.date | None,
    age: int,
    delivered: str | None,
    done: frozenset[str],
    ctx: PlanContext,
    memo: RunMemo,
) -> CycleSteps:
    """One group of a cycle's steps, dated and judged, ranked for the merge (date, then place in
    the table), with the (place, school year, key) of each step an unloaded year leaves undated."""
    rules = ctx.rules
    steps = date_steps(spec, orders, m_date, cal, age, rules.rights_transfer_age, memo.cycle_dates)
    keyed: list[tuple[int, Milestone]] = []
    unknown: list[tuple[int, str, str]] = []
    for order, step in steps:
        if step.needs_year is not None:
            unknown.append((order, step.needs_year, step.key))
        is_done = step.key in done or (
            (step.key == "staff_invite" and delivered is not None)
            or (step.key == "meeting" and delivered == "held")
        )
        status = milestone_status(step.date, today, rules.due_soon_days, is_done)
        track: Track = "reeval" if step.key in _REEVAL_KEYS else "annual"
        kind = step.kind if step.kind != "report" else "task"
        m = Milestone(step.key, step.date, step.delivery, status, step.title, track, kind)
        rank = (step.date.toordinal() if step.date else 1 << 30) * 64 + order
        keyed.append((rank, m))
    return tuple(keyed), tuple(unknown)


_REEVAL_KEYS = frozenset({"reeval_consent", "reeval_due"})


def _not_before(
    milestones: list[Milestone],
    start: dt.date | None,
    cal: SchoolCalendar,
    today: dt.date,
    soon: int,
) -> list[Milestone]:
    """A preparation date before the cycle began moves to the first school day on or after it
    (SPEC §3.6: the initial IEP's steps cannot be due before eligibility was determined)."""
    if start is None:
        return milestones
    first: dt.date | None = None
    with contextlib.suppress(UnknownDate):
        first = cal.next_school_day(start)
    if first is None:
        return milestones
    out: list[Milestone] = []
    for m in milestones:
        if m.date is not None and m.date < start and not m.occurrences:
            status = m.status if m.status == "done" else milestone_status(first, today, soon, False)
            m = m._replace(date=first, status=status)
        out.append(m)
    return out


def _written_status(
    student: Student,
    due: dt.date,
    milestones: Sequence[Milestone],
    today: dt.date,
    warnings: list[PlanWarning],
) -> StudentStatus:
    """An amendment without a meeting (34 CFR 300.324(a)(4)): overdue once DUE passes unsigned,
    at risk while one of its steps is late, else on track."""
    signed = any(m.key == "amendment_signed" and m.status == "done" for m in milestones)
    if signed:
        return "on_track"
    if today > due:
        warnings.insert(
            0,
            PlanWarning(
                "overdue",
                f"The written amendment was due {due.isoformat()} and is not signed: get the "
                "parents' signature now, or hold an amendment meeting.",
            ),
        )
        return "overdue"
    late = [m for m in milestones if m.status == "overdue"]
    for m in late:
        warnings.append(
            PlanWarning(
                "milestone_overdue",
                f"{m.title} was due {m.date.isoformat() if m.date else ''} and is not done: "
                "do it now and mark the task complete.",
            )
        )
    return "at_risk" if late else "on_track"

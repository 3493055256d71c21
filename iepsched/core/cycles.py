"""Which meeting cycles a student has open, and their due dates (SPEC §3.6). Pure.

A *cycle* is one meeting (or, for an amendment without a meeting, one set of tasks) with its own
DUE and milestones: the annual review, the eligibility determination after consent to evaluate,
the initial IEP after eligibility, an amendment someone asked for, the reevaluation, and the IEP
of a student who transferred in. `open_cycles` answers which are open on `today` and with what
DUE; placing the meetings (the §3.1 ladder) and judging statuses stay with the planner.

Clocks: the eligibility DUE counts 60 *school* days (K.A.R. 91-40-8(f)), so it pauses over breaks
and summer and needs the calendar; every other DUE counts calendar days, which never pause. A
school-day count that reaches a year whose calendar is not loaded leaves the date `None` and names
the school year to load (`needs_year`) — never a guess.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from .cyclerules import (
    CYCLE_TYPES,
    WITHOUT_MEETING,
    CycleAnchor,
    CycleMilestoneRule,
    from_milestone_rule,
    meeting_table,
)
from .dates import due_date_from, next_due_from
from .dating import evaluate
from .model import CycleType, Delivery, MeetingRequest, Student
from .requests import request_due
from .rules import DEFAULT_RULES, Kind, Rules
from .schoolcal import SchoolCalendar, UnknownDate

__all__ = [
    "CYCLE_TYPES",
    "CycleSpec",
    "CycleType",
    "DatedStep",
    "combines",
    "cycle_id",
    "cycle_key",
    "date_cycle",
    "date_steps",
    "open_cycles",
    "reevaluation_cycle",
    "step_groups",
]

# Eligibility must be determined within 60 school days of consent (K.A.R. 91-40-8(f)).
EVALUATION_SCHOOL_DAYS = 60
# The initial IEP meeting within 30 days of eligibility (34 CFR 300.323(c)(1)); Kansas practice
# gives a transfer student's IEP the same 30 days.
INITIAL_IEP_DAYS = 30
TRANSFER_DAYS = 30
# With notice waived an amendment meeting may be two school days out.
WAIVED_NOTICE_SCHOOL_DAYS = 2
# The annual meeting is also the reevaluation meeting when it falls in [school(R, -40), R].
COMBINE_SCHOOL_DAYS = 40


@dataclass(frozen=True, slots=True)
class CycleSpec:
    """One open cycle: what it is, when it is due, where its meeting may go, and its rules.

    `anchor` is the date the cycle started from (C, E, T, the request date, R, or the annual DUE)
    and `anchor_name` the name rules use for it. `due` or `earliest` is None when a school-day
    count reached a year that is not loaded; `needs_year` then names it. `earliest` is also None
    for a cycle without a meeting. `not_before`: a milestone dated before it moves to the first
    school day on or after it (a step cannot be due before its cycle began). A reevaluation held at
    the annual meeting has `combined_with="annual"` and no meeting of its own.
    """

    type: CycleType
    cycle_id: str
    key: str
    anchor: dt.date
    anchor_name: CycleAnchor
    due: dt.date | None
    earliest: dt.date | None
    has_meeting: bool
    milestones: tuple[CycleMilestoneRule, ...]
    earliest_first: bool = False  # an amendment is placed as soon as possible, not latest first
    not_before: dt.date | None = None
    combined_with: CycleType | None = None
    needs_year: str | None = None


@dataclass(frozen=True, slots=True)
class DatedStep:
    """One milestone of a cycle with its date (None: no meeting yet, or a year not loaded)."""

    key: str
    date: dt.date | None
    title: str
    delivery: Delivery
    kind: Kind
    needs_year: str | None = None


def cycle_id(cycle_type: CycleType, anchor: dt.date, seq: int = 1) -> str:
    """A cycle's id within its student, from its type and the date it started.

    Annual and reevaluation ids are those the planner already gives (the DUE, and "R" + R), so
    items delivered before cycles existed keep their keys; the other types are prefixed with
    their name, which no annual or reevaluation id starts with, so ids never collide. A second
    cycle of the same type and anchor gets ".2" and so on, as `reconcile` numbers repeats.
    """
    if seq < 1:
        raise ValueError(f"seq must be 1 or more, not {seq}")
    day = anchor.isoformat()
    if cycle_type == "annual":
        base = day
    elif cycle_type == "reevaluation":
        base = f"R{day}"
    else:
        base = f"{cycle_type}-{day}"
    return base if seq == 1 else f"{base}.{seq}"


def cycle_key(student_id: str, cycle_type: CycleType, anchor: dt.date, seq: int = 1) -> str:
    """The stable key of one cycle, e.g. ``S1001/eligibility-2026-09-14``: the prefix of its
    items' keys (`items.item_key(student_id, cycle_id, milestone)`). The same roster and log give
    the same key every night."""
    return f"{student_id}/{cycle_id(cycle_type, anchor, seq)}"


def combines(annual_meeting: dt.date, reeval_due: dt.date, calendar: SchoolCalendar) -> bool:
    """Whether the annual meeting is also the reevaluation meeting: it falls in
    [school(R, -40), R] (Kansas practice holds them together).

    A window that starts in a year that is not loaded is decided by counting the school days
    from the meeting to R instead (a reevaluation due in October of the first loaded year is held
    at an August meeting). Raises UnknownDate only when that count needs an unloaded year too.
    """
    if annual_meeting > reeval_due:
        return False
    try:
        return calendar.add_school_days(reeval_due, -COMBINE_SCHOOL_DAYS) <= annual_meeting
    except UnknownDate:
        pass
    # school(R, -40) <= d  <=>  at most 40 school days in [d, R), and exactly 40 only when d is
    # itself the 40th school day before R (a school day).
    count = 0
    day = annual_meeting
    while day < reeval_due:
        if calendar.is_school_day(day):
            count += 1
            if count > COMBINE_SCHOOL_DAYS:
                return False
        day += dt.timedelta(days=1)
    return count < COMBINE_SCHOOL_DAYS or calendar.is_school_day(annual_meeting)


def open_cycles(
    student: Student,
    *,
    today: dt.date,
    calendar: SchoolCalendar,
    held: Mapping[str, dt.date] | None = None,
    requests: Sequence[MeetingRequest] = (),
    rules: Rules = DEFAULT_RULES,
    annual_meeting: dt.date | None = None,
) -> list[CycleSpec]:
    """Every cycle the student has open on `today`, by DUE (unknown DUEs last).

    held:           meeting date by cycle key, for the cycles whose meeting was held (for an
                    amendment without a meeting: the day it was signed). A held cycle is closed;
                    a held eligibility meeting determines eligibility and opens the initial IEP;
                    a held initial IEP meeting opens the first annual cycle until the roster
                    carries its date as last_iep_date.
    requests:       the student's logged meeting requests (the log's order: two on one day are
                    told apart by their place, so their cycles get different keys); a request
                    dated after `today` is not open yet.
    annual_meeting: the annual meeting's date once placed (proposed, booked or held); it decides
                    whether the reevaluation shares it. Without it the reevaluation has its own.
    """
    held = held or {}
    sid = student.student_id
    legal = dt.timedelta(days=rules.ladder.legal_notice_days)
    out: list[CycleSpec] = []

    annual_due = due_date_from(student.last_iep_date, student.iep_due_date)
    initial_track = student.initial_consent_date is not None or student.eligibility_date is not None
    eligibility = _eligibility_date(student, held)
    initial_held = (
        held.get(cycle_key(sid, "initial_iep", eligibility)) if eligibility is not None else None
    )
    if annual_due is None and initial_held is not None:
        # The initial IEP is written but the roster does not carry it yet: its meeting is the
        # last IEP date, so the first annual review is already due (the student never drops out).
        annual_due = next_due_from(initial_held)
    elif annual_due is None and not initial_track:
        annual_due = student.due_date  # built in code without roster dates
    annual_held: dt.date | None = None
    if annual_due is not None:
        annual_key = cycle_key(sid, "annual", annual_due)
        annual_held = held.get(annual_key)
        if annual_held is None:
            out.append(
                CycleSpec(
                    type="annual",
                    cycle_id=cycle_id("annual", annual_due),
                    key=annual_key,
                    anchor=annual_due,
                    anchor_name="DUE",
                    due=annual_due,
                    earliest=today + legal,
                    has_meeting=True,
                    milestones=_table("annual", rules),
                )
            )

    consent = student.initial_consent_date
    if consent is not None and eligibility is None and not _iep_since(student, consent):
        out.append(_eligibility(sid, consent, today + legal, calendar, rules))

    if eligibility is not None and not _iep_since(student, eligibility):
        key = cycle_key(sid, "initial_iep", eligibility)
        if initial_held is None:
            out.append(
                CycleSpec(
                    type="initial_iep",
                    cycle_id=cycle_id("initial_iep", eligibility),
                    key=key,
                    anchor=eligibility,
                    anchor_name="E",
                    due=eligibility + dt.timedelta(days=INITIAL_IEP_DAYS),
                    earliest=max(today + legal, eligibility),
                    has_meeting=True,
                    milestones=_table("annual", rules),
                    not_before=eligibility,
                )
            )

    same_day: dict[dt.date, int] = {}
    for request in requests:
        if request.type != "amendment" or request.requested_on > today:
            continue
        seq = same_day[request.requested_on] = same_day.get(request.requested_on, 0) + 1
        key = cycle_key(sid, "amendment", request.requested_on, seq)
        if key not in held:
            out.append(_amendment(sid, request, seq, today, calendar, rules))

    reeval = student.reeval_due_date
    if reeval is not None:
        spec = _reevaluation(sid, reeval, rules, calendar, annual_meeting, today + legal)
        if spec.key not in held and not _held_together(annual_held, reeval, calendar):
            out.append(spec)

    transfer = student.transfer_in_date
    if transfer is not None and not _iep_since(student, transfer):
        key = cycle_key(sid, "transfer", transfer)
        if key not in held:
            out.append(
                CycleSpec(
                    type="transfer",
                    cycle_id=cycle_id("transfer", transfer),
                    key=key,
                    anchor=transfer,
                    anchor_name="T",
                    due=transfer + dt.timedelta(days=TRANSFER_DAYS),
                    earliest=max(today + legal, transfer),
                    has_meeting=True,
                    milestones=_table(
                        "transfer:out_of_state"
                        if student.transfer_type == "out_of_state"
                        else "transfer",
                        rules,
                    ),
                    not_before=transfer,
                )
            )

    out.sort(key=lambda c: (c.due is None, c.due or dt.date.max, CYCLE_TYPES.index(c.type), c.key))
    return out


def date_cycle(
    spec: CycleSpec,
    *,
    meeting_date: dt.date | None,
    calendar: SchoolCalendar,
    age: int | None = None,
    adult_age: int = 18,
    memo: dict[tuple[int, int, int], dt.date | str] | None = None,
) -> tuple[DatedStep, ...]:
    """Date every milestone of a cycle once its meeting is placed (None: not placed yet).

    Progress reports (one per grading period) are left to the planner, which dates them for the
    annual table already. `age` (at the meeting) drops steps for older students (min_age) and
    picks the adult title at `adult_age`; without it every step is kept under its usual title.
    """
    orders = range(len(spec.milestones))
    steps = date_steps(spec, orders, meeting_date, calendar, age, adult_age, memo)
    return tuple(step for _, step in steps)


def date_steps(
    spec: CycleSpec,
    orders: Sequence[int],
    meeting_date: dt.date | None,
    calendar: SchoolCalendar,
    age: int | None,
    adult_age: int,
    memo: dict[tuple[int, int, int], dt.date | str] | None,
) -> list[tuple[int, DatedStep]]:
    """`date_cycle` of the rules at these places of the spec's table, each with its place (the
    planner dates a cycle's steps by `step_groups`, to share each group across students)."""
    anchors: dict[str, dt.date | None] = {
        spec.anchor_name: spec.anchor,
        "DUE": spec.due,
        "M": meeting_date,
        "NEXT_DUE": next_due_from(meeting_date) if meeting_date else None,
    }
    table = spec.milestones
    steps: list[tuple[int, DatedStep]] = []
    for order in orders:
        rule = table[order]
        if rule.kind == "report":
            continue
        if age is not None and rule.min_age is not None and age < rule.min_age:
            continue
        title = rule.title
        if age is not None and age >= adult_age and rule.adult_title:
            title = rule.adult_title
        anchor = meeting_date if rule.key == "meeting" else anchors.get(rule.rule.anchor)
        date: dt.date | None = None
        needs: str | None = None
        if anchor is not None:
            try:
                date = anchor if rule.key == "meeting" else _evaluate(rule, anchor, calendar, memo)
                if spec.not_before is not None and date < spec.not_before:
                    date = calendar.next_school_day(spec.not_before)
            except UnknownDate as exc:
                date, needs = None, exc.school_year
        steps.append((order, DatedStep(rule.key, date, title, rule.delivery, rule.kind, needs)))
    return steps


# The meeting's group in `step_groups`: the steps dated from the meeting (M, NEXT_DUE, and the
# meeting itself), shared by every student whose cycle meets that day.
MEETING_GROUP = "M"


def step_groups(
    table: tuple[CycleMilestoneRule, ...], adult_age: int
) -> tuple[tuple[tuple[str, tuple[int, ...]], ...], tuple[int, ...]]:
    """A cycle table's steps by the anchor that dates them (their places in the table, in
    order), and the ages at which a step appears or changes its title: a group's dates depend
    only on its anchor's date, so students whose cycles share it share the group's steps."""
    found = _GROUPS.get((id(table), adult_age))
    if found is None or found[0] is not table:
        if len(_GROUPS) > 64:
            _GROUPS.clear()
        groups: dict[str, list[int]] = {}
        for order, rule in enumerate(table):
            name: str = rule.rule.anchor
            if rule.key == "meeting" or name in ("M", "NEXT_DUE"):
                name = MEETING_GROUP
            groups.setdefault(name, []).append(order)
        ages = {r.min_age for r in table if r.min_age is not None}
        ages.add(adult_age)
        shape = (tuple((n, tuple(o)) for n, o in groups.items()), tuple(sorted(ages)))
        found = _GROUPS[(id(table), adult_age)] = (table, shape)
    return found[1]


# `step_groups` by (id(table), adult age); the table is kept in the value so its id is not
# reused while the entry lives.
_GROUPS: dict[
    tuple[int, int],
    tuple[
        tuple[CycleMilestoneRule, ...],
        tuple[tuple[tuple[str, tuple[int, ...]], ...], tuple[int, ...]],
    ],
] = {}


def _evaluate(
    rule: CycleMilestoneRule,
    anchor: dt.date,
    calendar: SchoolCalendar,
    memo: dict[tuple[int, int, int], dt.date | str] | None,
) -> dt.date:
    """`dating.evaluate` of a cycle rule, shared across a planning run through `memo` (by
    calendar, rule and anchor): many students' cycles share their dates."""
    if memo is None:
        return evaluate(rule.rule, anchor, calendar)
    key = (id(calendar), id(rule), anchor.toordinal())
    found = memo.get(key)
    if found is None:
        try:
            found = evaluate(rule.rule, anchor, calendar)
        except UnknownDate as exc:
            found = exc.day.isoformat()  # the unknown day, to raise again for the next asker
        memo[key] = found
    if isinstance(found, str):
        raise UnknownDate(dt.date.fromisoformat(found), calendar.name)
    return found


# -- one builder per cycle type --------------------------------------------------------------


# Tables built from one Rules object, by (what, id(rules)): a district plan builds a cycle spec
# for every student with a reevaluation, and the tables only change with the rules. The Rules
# object is kept in the value so its id is not reused while the entry lives.
_TABLES: dict[tuple[str, int], tuple[Rules, tuple[CycleMilestoneRule, ...]]] = {}


def _table(what: str, rules: Rules) -> tuple[CycleMilestoneRule, ...]:
    found = _TABLES.get((what, id(rules)))
    if found is None or found[0] is not rules:
        if len(_TABLES) > 64:
            _TABLES.clear()  # rules loaded again and again (tests): keep the cache small
        if what == "annual":
            table = _annual_table(rules)
        elif what == "reeval":
            table = _reeval_tasks(rules)
        elif what == "reevaluation":
            table = meeting_table(
                "reevaluation", tasks=_reeval_tasks(rules), annual=rules.milestones
            )
        elif what == "transfer:out_of_state":
            table = meeting_table("transfer", out_of_state=True, annual=rules.milestones)
        else:
            table = meeting_table(cast(CycleType, what), annual=rules.milestones)
        found = _TABLES[(what, id(rules))] = (rules, table)
    return found[1]


def _annual_table(rules: Rules) -> tuple[CycleMilestoneRule, ...]:
    """The annual table (SPEC §3.2) from the rules in force, without the reevaluation's tasks,
    which belong to the reevaluation cycle."""
    return tuple(
        from_milestone_rule(m) for m in rules.milestones if m.enabled and m.track == "annual"
    )


def _reeval_tasks(rules: Rules) -> tuple[CycleMilestoneRule, ...]:
    return tuple(
        from_milestone_rule(m) for m in rules.milestones if m.enabled and m.track == "reeval"
    )


def _eligibility_date(student: Student, held: Mapping[str, dt.date]) -> dt.date | None:
    """E: the roster's eligibility_date, else the day the eligibility meeting was held."""
    if student.eligibility_date is not None:
        return student.eligibility_date
    consent = student.initial_consent_date
    if consent is None:
        return None
    return held.get(cycle_key(student.student_id, "eligibility", consent))


def _iep_since(student: Student, start: dt.date) -> bool:
    """Whether the roster already carries an IEP written on or after `start`: the cycle that
    `start` opened has produced it, whatever the state remembers."""
    return student.last_iep_date is not None and student.last_iep_date >= start


def _eligibility(
    sid: str, consent: dt.date, earliest: dt.date, calendar: SchoolCalendar, rules: Rules
) -> CycleSpec:
    due: dt.date | None = None
    needs: str | None = None
    try:
        due = calendar.add_school_days(consent, EVALUATION_SCHOOL_DAYS)
    except UnknownDate as exc:
        needs = exc.school_year
    return CycleSpec(
        type="eligibility",
        cycle_id=cycle_id("eligibility", consent),
        key=cycle_key(sid, "eligibility", consent),
        anchor=consent,
        anchor_name="C",
        due=due,
        earliest=max(earliest, consent),
        has_meeting=True,
        milestones=_table("eligibility", rules),
        not_before=consent,
        needs_year=needs,
    )


def _amendment(
    sid: str,
    request: MeetingRequest,
    seq: int,
    today: dt.date,
    calendar: SchoolCalendar,
    rules: Rules,
) -> CycleSpec:
    start = request.requested_on
    due = request_due(request)
    earliest: dt.date | None = None
    needs: str | None = None
    if not request.without_meeting:
        try:
            earliest = (
                calendar.add_school_days(today, WAIVED_NOTICE_SCHOOL_DAYS)
                if request.notice_waived
                else today + dt.timedelta(days=rules.ladder.legal_notice_days)
            )
            earliest = max(earliest, start)
        except UnknownDate as exc:
            needs = exc.school_year
    milestones = WITHOUT_MEETING if request.without_meeting else _table("amendment", rules)
    return CycleSpec(
        type="amendment",
        cycle_id=cycle_id("amendment", start, seq),
        key=cycle_key(sid, "amendment", start, seq),
        anchor=start,
        anchor_name="REQ",
        due=due,
        earliest=earliest,
        has_meeting=not request.without_meeting,
        milestones=milestones,
        earliest_first=True,
        not_before=start,
        needs_year=needs,
    )


def _reevaluation(
    sid: str,
    reeval: dt.date,
    rules: Rules,
    calendar: SchoolCalendar,
    annual_meeting: dt.date | None,
    earliest: dt.date,
) -> CycleSpec:
    combined = False
    needs: str | None = None
    if annual_meeting is not None:
        try:
            combined = combines(annual_meeting, reeval, calendar)
        except UnknownDate as exc:
            needs = exc.school_year
    milestones = _table("reeval" if combined else "reevaluation", rules)
    return CycleSpec(
        type="reevaluation",
        cycle_id=cycle_id("reevaluation", reeval),
        key=cycle_key(sid, "reevaluation", reeval),
        anchor=reeval,
        anchor_name="R",
        due=reeval,
        earliest=None if combined else earliest,
        has_meeting=not combined,
        milestones=milestones,
        combined_with="annual" if combined else None,
        needs_year=needs,
    )


def reevaluation_cycle(
    student: Student,
    *,
    today: dt.date,
    calendar: SchoolCalendar,
    rules: Rules = DEFAULT_RULES,
    annual_meeting: dt.date | None = None,
) -> CycleSpec | None:
    """The student's reevaluation cycle once the annual meeting is placed (None without R):
    combined with the annual meeting when it falls in [school(R, -40), R], else its own."""
    reeval = student.reeval_due_date
    if reeval is None:
        return None
    earliest = today + dt.timedelta(days=rules.ladder.legal_notice_days)
    return _reevaluation(student.student_id, reeval, rules, calendar, annual_meeting, earliest)


def _held_together(annual_held: dt.date | None, reeval: dt.date, calendar: SchoolCalendar) -> bool:
    """Whether a held annual meeting was also the reevaluation meeting (it closes both)."""
    if annual_held is None:
        return False
    try:
        return combines(annual_held, reeval, calendar)
    except UnknownDate:
        return False

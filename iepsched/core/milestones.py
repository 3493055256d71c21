"""Dating a student's milestones (SPEC §3.2): rules evaluated on the calendar, progress reports per
grading period, and each milestone's status. Pure.

Results are shared across one planning run (`RunMemo`): about fifty students share each meeting
date in a large district, so most rules are evaluated once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

from .context import PlanContext
from .dates import age_on, next_due_from
from .dating import Series, evaluate, milestone_status, occurrences, report_dates
from .model import (
    ContactRequirement,
    Cycle,
    HeldCycle,
    Meeting,
    MeetingState,
    Milestone,
    MilestoneStatus,
    Occurrence,
    PlanWarning,
    Student,
)
from .rules import DateRule, MilestoneRule, Rules, occurrence_key
from .schoolcal import SchoolCalendar, UnknownDate

_DAY = dt.timedelta(days=1)


class _Dater:
    """Evaluates date rules for one student against one calendar, collecting unknown years.

    `shared` memoises results across the whole run by (calendar, rule, anchor date): about fifty
    students share each meeting date in a large district, so most rules are evaluated once.
    """

    __slots__ = ("anchors", "cal", "cal_id", "shared", "unknown")

    def __init__(
        self,
        cal: SchoolCalendar,
        anchors: dict[str, dt.date | None],
        memo: RunMemo,
    ) -> None:
        self.cal = cal
        self.cal_id = id(cal)
        self.anchors = anchors
        self.shared = memo.dates
        self.unknown: dict[str, list[str]] = {}

    def date(self, rule: DateRule, key: str) -> dt.date | None:
        anchor = self.anchors.get(rule.anchor)
        if anchor is None:
            return None
        memo_key = (self.cal_id, id(rule), anchor.toordinal())
        found = self.shared.get(memo_key, _MISSING)
        if found is _MISSING:
            try:
                found = evaluate(rule, anchor, self.cal)
            except UnknownDate as exc:
                found = exc.school_year
            self.shared[memo_key] = found
        if isinstance(found, str):
            self.unknown.setdefault(found, []).append(key)
            return None
        return found if isinstance(found, dt.date) else None


_MISSING = object()
MilestoneSet = tuple[tuple[tuple[int, Milestone], ...], tuple[PlanWarning, ...]]
# One group of a cycle's steps (ranked milestones) and the (place, school year, key) of each step
# a year not loaded leaves undated.
CycleSteps = tuple[tuple[tuple[int, Milestone], ...], tuple[tuple[int, str, str], ...]]
# A recurring milestone's (number, school day) occurrences and the school years left out.


class RunMemo:
    """Results shared by every student of one planning run (see `_Dater`, `shared_milestones`)."""

    __slots__ = (
        "conditions",
        "cycle_dates",
        "cycle_steps",
        "dates",
        "milestones",
        "occurrences",
        "plain",
        "reports",
        "series",
    )

    def __init__(self) -> None:
        self.dates: dict[tuple[int, int, int], object] = {}
        # The other cycles' rule dates (`cycles.date_cycle`), by calendar, rule and anchor.
        self.cycle_dates: dict[tuple[int, int, int], dt.date | str] = {}
        # A group of a cycle's steps dated and judged (`cycleplan._dated`), by table, anchor,
        # calendar, age flags, delivery and completed keys.
        self.cycle_steps: dict[tuple[object, ...], CycleSteps] = {}
        self.reports: dict[
            tuple[int, int, int], tuple[list[tuple[str, dt.date, str]], PlanWarning | None]
        ] = {}
        self.milestones: dict[tuple[object, ...], MilestoneSet] = {}
        # By id() of a set in `milestones` (kept alive there): its milestones without their
        # sort keys, and the contact requirement of a student with no contact logged.
        self.plain: dict[int, tuple[tuple[Milestone, ...], ContactRequirement | None]] = {}
        self.series: dict[tuple[int, int, int, int], Series | str] = {}
        # Occurrences with their statuses when none is done, by id() of their series (kept
        # alive in `series`); today and due_soon_days are the run's.
        self.occurrences: dict[int, tuple[Occurrence, ...]] = {}
        # The rules' conditions beyond age at M (see `_condition_key`), found once per run.
        self.conditions: tuple[tuple[int, ...], tuple[int, ...], tuple[str, ...]] | None = None


def _series(
    rule: MilestoneRule,
    anchor: dt.date | None,
    next_due: dt.date | None,
    cal: SchoolCalendar,
    memo: RunMemo,
) -> Series | str | None:
    """`occurrences`, memoised for the run; a school year's label when the first occurrence
    cannot be dated; None without an anchor or NEXT_DUE."""
    if anchor is None or next_due is None:
        return None
    memo_key = (id(cal), id(rule), anchor.toordinal(), next_due.toordinal())
    found = memo.series.get(memo_key)
    if found is None:
        try:
            found = occurrences(rule, anchor, next_due, cal)
        except UnknownDate as exc:
            found = exc.school_year
        memo.series[memo_key] = found
    return found


def _recurring(
    rule: MilestoneRule,
    anchors: Mapping[str, dt.date | None],
    cal: SchoolCalendar,
    memo: RunMemo,
    today: dt.date,
    due_soon_days: int,
    done: frozenset[str],
    dater: _Dater,
    warnings: list[PlanWarning],
) -> tuple[dt.date | None, MilestoneStatus, tuple[Occurrence, ...]]:
    """A recurring milestone's first date, its status and its occurrences, each with its own
    status (SPEC §3.3: an occurrence is an ordinary dated task). The milestone is judged by its
    next open occurrence; an open past occurrence is overdue on its own task."""
    key = rule.key
    series = _series(rule, anchors.get(rule.rule.anchor), anchors.get("NEXT_DUE"), cal, memo)
    if isinstance(series, str):
        dater.unknown.setdefault(series, []).append(key)
        return None, "unscheduled", ()
    if series is None:
        return None, ("done" if key in done else "unscheduled"), ()
    dated, unknown_years = series
    all_done = key in done
    prefix = occurrence_key(key, 0)[:-1]
    # Students with no completed occurrence share one tuple per series (`memo.occurrences`).
    shared = not all_done and not any(d.startswith(prefix) for d in done)
    occs = memo.occurrences.get(id(series)) if shared else None
    if occs is None:
        occs = tuple(
            Occurrence(
                n,
                day,
                milestone_status(
                    day, today, due_soon_days, all_done or occurrence_key(key, n) in done
                ),
            )
            for n, day in dated
        )
        if shared:
            memo.occurrences[id(series)] = occs
    if not occs:
        for year in unknown_years:
            dater.unknown.setdefault(year, []).append(key)
        return None, ("done" if all_done else "unscheduled"), ()
    for year in unknown_years:
        warnings.append(
            PlanWarning(
                "milestones_undated",
                f"Load the {year} school calendar ({cal.name}): the {key} occurrences in that "
                "year are not planned until it is.",
            )
        )
    status: MilestoneStatus = "done"
    if not all_done:
        # The next open occurrence (a loop that stops there: a series has dozens).
        ahead = next((o for o in occs if o.status != "done" and o.date >= today), None)
        if ahead is not None:
            status = ahead.status
        elif any(o.status == "overdue" for o in occs):
            status = "overdue"
    return occs[0].date, status, occs


def _milestones(
    student: Student,
    cal: SchoolCalendar,
    rules: Rules,
    rank: Mapping[str, int],
    today: dt.date,
    m_date: dt.date | None,
    next_due: dt.date | None,
    age: int,
    delivered: MeetingState | None,
    done: frozenset[str],
    memo: RunMemo,
    track: str,
) -> MilestoneSet:
    """Every applicable milestone of one track, dated, with its status, with its sort key, in
    display order; plus warnings."""
    warnings: list[PlanWarning] = []
    due = student.due_date
    anchors = {"M": m_date, "DUE": due, "NEXT_DUE": next_due, "R": student.reeval_due_date}
    dater = _Dater(cal, anchors, memo)
    today_ord = today.toordinal()
    soon_ord = today_ord + rules.due_soon_days
    keyed: list[tuple[int, Milestone]] = []
    for order, rule in enumerate(rules.milestones):
        if not rule.enabled or rule.track != track:
            continue
        if rule.track == "reeval" and student.reeval_due_date is None:
            continue
        if not _applies(rule, student, age, m_date, next_due):
            continue
        if rule.kind == "report":
            for m in _reports(rule, cal, m_date, today, rules, done, warnings, memo):
                keyed.append((_sort_key(m.date, order), m))
            continue
        key = rule.key
        title = rule.title
        if rule.adult_title is not None and age >= rules.rights_transfer_age:
            title = rule.adult_title
        status: MilestoneStatus
        occs: tuple[Occurrence, ...] = ()
        if rule.kind == "recurring":
            date, status, occs = _recurring(
                rule, anchors, cal, memo, today, rules.due_soon_days, done, dater, warnings
            )
        else:
            date = m_date if key == "meeting" else dater.date(rule.rule, key)
            if key in done or _event_done(key, delivered):
                status = "done"
            elif date is None:
                status = "unscheduled"
            else:
                ordinal = date.toordinal()
                if ordinal < today_ord:
                    status = "overdue"
                else:
                    status = "due_soon" if ordinal <= soon_ord else "upcoming"
        keyed.append(
            (
                _sort_key(date, rank.get(key, order)),
                Milestone(
                    key,
                    date,
                    rule.delivery,
                    status,
                    title,
                    rule.track,
                    rule.kind,
                    rule.every_days or None,
                    occs,
                ),
            )
        )
    keyed.sort(key=by_sort_key)

    for school_year, keys in sorted(dater.unknown.items()):
        warnings.append(
            PlanWarning(
                "milestones_undated",
                f"Load the {school_year} school calendar ({cal.name}): "
                f"{', '.join(keys)} cannot be dated until it is.",
            )
        )
    return tuple(keyed), tuple(warnings)


def shared_milestones(
    share_key: tuple[object, ...],
    student: Student,
    cal: SchoolCalendar,
    ctx: PlanContext,
    today: dt.date,
    m_date: dt.date | None,
    next_due: dt.date | None,
    age: int,
    delivered: MeetingState | None,
    done: frozenset[str],
    memo: RunMemo,
) -> MilestoneSet:
    """One track's milestones, from the run's cache when another student had the same inputs."""
    track = str(share_key[0])
    share_key = (*share_key, *_condition_key(student, ctx.rules, m_date, next_due, age, memo))
    cached = None if done else memo.milestones.get(share_key)
    if cached is None:
        cached = _milestones(
            student,
            cal,
            ctx.rules,
            ctx.rank,
            today,
            m_date,
            next_due,
            age,
            delivered,
            done,
            memo,
            track,
        )
        if not done:
            memo.milestones[share_key] = cached
    return cached


def _applies(
    rule: MilestoneRule,
    student: Student,
    age: int,
    m_date: dt.date | None,
    next_due: dt.date | None,
) -> bool:
    """Whether a milestone's conditions (ages, roster flags) hold for this student."""
    if rule.min_age is not None and age < rule.min_age:
        return False
    if rule.max_age is not None and age > rule.max_age:
        return False
    if rule.min_age_at_next_due is not None and not _old_enough_at_next_due(
        student, m_date, next_due, age, rule.min_age_at_next_due
    ):
        return False
    return not rule.if_student or _flag(student, rule.if_student)


def held_cycle(
    student: Student,
    cal: SchoolCalendar,
    rules: Rules,
    today: dt.date,
    cycle: Cycle,
    done: frozenset[str],
    memo: RunMemo,
) -> tuple[HeldCycle | None, tuple[PlanWarning, ...]]:
    """The recurring milestones of the held cycle before the current one (SPEC §5: the held
    cycle's progress monitoring stays, and its occurrences keep rolling forward until its own
    NEXT_DUE after the roster moved on). None once that NEXT_DUE has passed: its delivered
    occurrences then stay until done without it (reconcile keeps an older cycle's items)."""
    meeting = cycle.held_on
    if meeting is None:
        return None, ()
    next_due = next_due_from(meeting)
    if next_due < today:
        return None, ()
    age = age_on(student.birth_date, meeting)
    anchors = {"M": meeting, "DUE": cycle.due_date, "NEXT_DUE": next_due, "R": None}
    dater = _Dater(cal, anchors, memo)
    warnings: list[PlanWarning] = []
    found: list[Milestone] = []
    for rule in rules.milestones:
        if not (rule.enabled and rule.kind == "recurring" and rule.track == "annual"):
            continue
        if not _applies(rule, student, age, meeting, next_due):
            continue
        date, status, occs = _recurring(
            rule, anchors, cal, memo, today, rules.due_soon_days, done, dater, warnings
        )
        if date is not None:
            found.append(
                Milestone(
                    rule.key,
                    date,
                    rule.delivery,
                    status,
                    rule.title,
                    rule.track,
                    rule.kind,
                    rule.every_days or None,
                    occs,
                )
            )
    held = HeldCycle(cycle.cycle_id, cycle.due_date, meeting, tuple(found))
    return (held if found else None), tuple(warnings)


def _flag(student: Student, name: str) -> bool:
    """A roster yes/no flag of the student (`if_student`, one of rules.STUDENT_FLAGS)."""
    return _FLAGS[name](student)


# Built once: the flags are read for every student.
_FLAGS: dict[str, Callable[[Student], bool]] = {"has_bip": lambda s: s.has_bip}


def _condition_key(
    student: Student,
    rules: Rules,
    m_date: dt.date | None,
    next_due: dt.date | None,
    age: int,
    memo: RunMemo,
) -> tuple[object, ...]:
    """What the rules' conditions beyond `min_age` see of this student, for the sharing key:
    which `max_age` limits age at M passes, which `min_age_at_next_due` thresholds age at
    NEXT_DUE reaches, which `if_student` flags are set. Empty when no rule has such a condition.
    """
    spec = memo.conditions
    if spec is None:
        enabled = [m for m in rules.milestones if m.enabled]
        spec = (
            tuple(sorted({m.max_age for m in enabled if m.max_age is not None})),
            tuple(
                sorted(
                    {m.min_age_at_next_due for m in enabled if m.min_age_at_next_due is not None}
                )
            ),
            tuple(sorted({m.if_student for m in enabled if m.if_student})),
        )
        memo.conditions = spec
    max_ages, next_ages, flags = spec
    if not (max_ages or next_ages or flags):
        return ()
    # One flat tuple: the three lengths are fixed for the run, so it tells students apart as
    # well as three tuples would, and is cheaper to build and hash (twice per student).
    key: list[object] = [age > a for a in max_ages]
    for a in next_ages:
        key.append(_old_enough_at_next_due(student, m_date, next_due, age, a))
    for f in flags:
        key.append(_FLAGS[f](student))
    return tuple(key)


def _old_enough_at_next_due(
    student: Student, m_date: dt.date | None, next_due: dt.date | None, age: int, years: int
) -> bool:
    """Whether the student is `years` old by NEXT_DUE (M + 1 year - 1 day; DUE's when there is
    no M). `age` is the age at M (or DUE), so the age then is `age` or one more: the birthday is
    only looked at in that one year."""
    if age >= years or age + 1 < years:
        return age >= years
    base = m_date or student.due_date
    if next_due is not None:
        day = next_due
    elif base is not None:
        day = next_due_from(base)
    else:
        return age >= years  # no meeting and no DUE yet: judged by the age given
    return age_on(student.birth_date, day) >= years


def meeting_delivered(meeting: Meeting | None) -> MeetingState | None:
    """The meeting's state once its event exists ("booked" or "held"); None while it is only
    proposed (or not placed). Part of the milestones' sharing key: see `_event_done`."""
    if meeting is None or meeting.state == "proposed":
        return None
    return meeting.state


def _event_done(key: str, delivered: MeetingState | None) -> bool:
    """Whether the meeting event makes this milestone done (SPEC §3.3): `staff_invite` is the
    invitation the event sends, done once the event exists (booked); `meeting` is done only once
    it is held — a booked meeting still ahead may be moved or cancelled, so it is never done."""
    if key == "staff_invite":
        return delivered is not None
    return key == "meeting" and delivered == "held"


def date_of(milestones: Sequence[Milestone], key: str) -> dt.date | None:
    for m in milestones:
        if m.key == key:
            return m.date
    return None


_UNDATED = 1 << 40


def _sort_key(date: dt.date | None, rank: int) -> int:
    """Date order; ties in the rules' (SPEC §3.2) order; undated last. One int sorts fastest."""
    return ((date.toordinal() if date else _UNDATED) << 8) + rank


def by_sort_key(item: tuple[int, Milestone]) -> int:
    return item[0]


def _reports(
    rule: MilestoneRule,
    cal: SchoolCalendar,
    m_date: dt.date | None,
    today: dt.date,
    rules: Rules,
    done: frozenset[str],
    warnings: list[PlanWarning],
    memo: RunMemo,
) -> list[Milestone]:
    """One milestone per grading-period report date in [M, NEXT_DUE) (SPEC §3.2)."""
    if m_date is None:
        return []
    memo_key = (id(cal), id(rule), m_date.toordinal())
    cached = memo.reports.get(memo_key)
    if cached is None:
        cached = report_dates(rule, cal, m_date)
        memo.reports[memo_key] = cached
    dates, warning = cached
    if warning is not None:
        warnings.append(warning)
    return [
        Milestone(
            key,
            day,
            rule.delivery,
            milestone_status(day, today, rules.due_soon_days, key in done),
            title,
            rule.track,
            "report",
        )
        for key, day, title in dates
    ]

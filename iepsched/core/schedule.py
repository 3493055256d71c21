"""Backward scheduling (SPEC §3): the meeting ladder, milestones, statuses and warnings.

Pure: everything arrives as arguments — `today`, the time zone, calendars, what is already booked,
completed and logged — and nothing is read from the clock, files or the network.

Students are placed in (DUE, student_id) order so that the plan is deterministic: the same roster,
calendars, bookings and `today` always give the same meetings.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from .model import (
    BookedMeeting,
    Contact,
    ContactRequirement,
    DistrictPlan,
    Interval,
    Meeting,
    MeetingSettings,
    Milestone,
    MilestoneStatus,
    PlanWarning,
    Rung,
    Student,
    StudentPlan,
    StudentStatus,
)
from .rules import DateRule, MilestoneRule, Rules
from .schoolcal import SchoolCalendar, UnknownDate, school_year_label

_DAY = dt.timedelta(days=1)
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(day: dt.date, months: int) -> dt.date:
    """`day + relativedelta(months=months)`: same result (the day clamps to the month's end).

    Written out because the planner calls it for every student and milestone; a property test
    checks it against dateutil.
    """
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    last = _DAYS_IN_MONTH[month0]
    if month0 == 1 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        last = 29
    return dt.date(year, month0 + 1, min(day.day, last))


def due_date_from(last_iep_date: dt.date | None, iep_due_date: dt.date | None) -> dt.date | None:
    """DUE = iep_due_date, else last_iep_date + 1 year - 1 day (SPEC §3.1)."""
    if iep_due_date is not None:
        return iep_due_date
    if last_iep_date is not None:
        return add_months(last_iep_date, 12) - _DAY
    return None


def next_due_from(meeting: dt.date) -> dt.date:
    """NEXT_DUE = M + 1 year - 1 day."""
    return add_months(meeting, 12) - _DAY


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """`relativedelta(day, birth_date).years` (SPEC §3.2): whole years, a Feb 29 birthday
    counting on Feb 28 in common years, exactly as dateutil does."""
    years = day.year - birth_date.year
    anniversary = add_months(birth_date, 12 * years)
    if day >= birth_date:
        if anniversary > day:
            years -= 1
    elif anniversary < day:
        # Before the birth date dateutil counts toward zero: -11 months is 0 years, not -1.
        years += 1
    return years


@dataclass(frozen=True, slots=True)
class PlanContext:
    """Everything the planner needs besides the students. Built once per run."""

    calendar_for: Callable[[Student], SchoolCalendar]
    rules: Rules
    meetings: MeetingSettings
    tz: dt.tzinfo
    rooms: Mapping[str, str] = field(default_factory=dict)  # building -> room email
    # Position of each milestone key in the rules (ties in date order sort by it).
    rank: Mapping[str, int] = field(init=False, repr=False, compare=False)
    uses_due: bool = field(init=False, repr=False, compare=False)
    spans: tuple[Span, ...] = field(init=False, repr=False, compare=False)  # the slots, in minutes
    _rooms_seen: dict[str, str] = field(init=False, repr=False, compare=False)

    def room_for(self, building: str) -> str:
        """The building's room mailbox (lower case), or ""; `rooms` may match names loosely,
        so each building name is looked up once."""
        found = self._rooms_seen.get(building)
        if found is None:
            found = (self.rooms.get(building) or "").lower()
            self._rooms_seen[building] = found
        return found

    reeval_r_only: bool = field(init=False, repr=False, compare=False)
    ages: tuple[int, ...] = field(init=False, repr=False, compare=False)  # age thresholds in rules

    def __post_init__(self) -> None:
        object.__setattr__(self, "rank", {m.key: i for i, m in enumerate(self.rules.milestones)})
        enabled = [m for m in self.rules.milestones if m.enabled]
        object.__setattr__(self, "uses_due", any(m.rule.anchor == "DUE" for m in enabled))
        length = self.meetings.duration_minutes
        spans = tuple(
            (t.hour * 60 + t.minute, t.hour * 60 + t.minute + length) for t in self.meetings.slots
        )
        object.__setattr__(self, "spans", spans)
        object.__setattr__(self, "_rooms_seen", {})
        reeval_rules = [m for m in enabled if m.track == "reeval"]
        object.__setattr__(
            self,
            "reeval_r_only",
            all(m.rule.anchor == "R" and m.min_age is None for m in reeval_rules),
        )
        ages = {m.min_age for m in enabled if m.min_age is not None}
        object.__setattr__(self, "ages", tuple(sorted({*ages, self.rules.rights_transfer_age})))


Span = tuple[int, int]  # [start, end) in minutes after local midnight of one school day


def _local_spans(
    start: dt.datetime, end: dt.datetime, tz: dt.tzinfo
) -> Iterable[tuple[dt.date, Span]]:
    """Split an aware interval into per-local-day minute spans."""
    a, b = start.astimezone(tz), end.astimezone(tz)
    day = a.date()
    while True:
        begin = a.hour * 60 + a.minute if day == a.date() else 0
        if day == b.date():
            finish = b.hour * 60 + b.minute + (1 if b.second or b.microsecond else 0)
            if finish > begin:
                yield day, (begin, finish)
            return
        yield day, (begin, 24 * 60)
        day += _DAY


class _Occupancy:
    """Meetings placed so far in this run (booked first, then proposals), for slot checks.

    Slot checks run for every candidate day of every student, so they compare plain local minute
    spans instead of aware datetimes.
    """

    __slots__ = ("per_cm_day", "per_person_day")

    def __init__(self) -> None:
        self.per_cm_day: dict[tuple[str, dt.date], int] = defaultdict(int)
        self.per_person_day: dict[tuple[str, dt.date], list[Span]] = defaultdict(list)

    def add(self, cm: str, people: Iterable[str], day: dt.date, span: Span) -> None:
        self.per_cm_day[(cm, day)] += 1
        for person in people:
            self.per_person_day[(person, day)].append(span)


def _busy_index(
    busy: Mapping[str, Sequence[Interval]] | None, tz: dt.tzinfo
) -> dict[tuple[str, dt.date], list[Span]]:
    """Graph free/busy, indexed by (email, local date)."""
    index: dict[tuple[str, dt.date], list[Span]] = defaultdict(list)
    for email, spans in (busy or {}).items():
        who = email.lower()
        for interval in spans:
            for day, span in _local_spans(interval.start, interval.end, tz):
                index[(who, day)].append(span)
    return index


def _clash(
    index: Mapping[tuple[str, dt.date], list[Span]], people: Iterable[str], day: dt.date, span: Span
) -> bool:
    a, b = span
    for person in people:
        taken = index.get((person, day))
        if taken:
            for c, d in taken:
                if a < d and c < b:
                    return True
    return False


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
) -> DistrictPlan:
    """Plan every active student; the answer is the same one `sync` would book.

    booked:   meetings already delivered, by student id (kept unless a correction forbids them).
    busy:     Graph free/busy by email (only consulted for new placements).
    done:     milestone keys completed per student (To Do read-back, logged contacts).
    contacts: logged parent contacts per student.
    """
    booked = booked or {}
    done = done or {}
    contacts = contacts or {}
    cycle_ids = cycle_ids or {}
    reeval_cycle_ids = reeval_cycle_ids or {}
    occupancy = _Occupancy()
    free_busy = _busy_index(busy, ctx.tz)
    active = [s for s in students if s.status == "active"]
    active.sort(key=lambda s: (s.due_date, s.student_id))
    by_id = {s.student_id: s for s in active}

    # Booked meetings hold their slots before anything new is placed; one that a correction moves
    # (now-closed day, after a corrected DUE) frees its old slot, as it will once sync moves it.
    for sid, meeting in booked.items():
        student = by_id.get(sid)
        if student is None:
            continue
        if _keep_booked(student, meeting, ctx.calendar_for(student), ctx, today, []) is None:
            continue
        people = _occupants(student, ctx)
        for index, (day, span) in enumerate(_local_spans(meeting.start, meeting.end, ctx.tz)):
            if index == 0:
                occupancy.per_cm_day[(student.case_manager_email, day)] += 1
            for person in people:
                occupancy.per_person_day[(person, day)].append(span)

    memo = _RunMemo()
    plans = [
        _plan_student(
            s,
            ctx,
            today=today,
            booked=booked.get(s.student_id),
            occupancy=occupancy,
            free_busy=free_busy,
            done=done.get(s.student_id, frozenset()),
            contacts=contacts.get(s.student_id, ()),
            cycle_id=cycle_ids.get(s.student_id, ""),
            reeval_cycle_id=reeval_cycle_ids.get(s.student_id, ""),
            memo=memo,
        )
        for s in active
    ]
    return DistrictPlan(today=today, plans=tuple(plans))


def _occupants(student: Student, ctx: PlanContext) -> tuple[str, ...]:
    """Who a meeting occupies for iepsched's own overlap check: required people and the room."""
    room = ctx.room_for(student.building)
    return (*student.required_emails, room) if room else student.required_emails


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
        memo: _RunMemo,
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


class _RunMemo:
    """Results shared by every student of one planning run (see `_Dater` and `_plan_student`)."""

    __slots__ = ("dates", "milestones", "reports")

    def __init__(self) -> None:
        self.dates: dict[tuple[int, int, int], object] = {}
        self.reports: dict[
            tuple[int, int, int], tuple[list[tuple[str, dt.date, str]], PlanWarning | None]
        ] = {}
        self.milestones: dict[tuple[object, ...], MilestoneSet] = {}


def evaluate(rule: DateRule, anchor: dt.date, cal: SchoolCalendar) -> dt.date:
    """Apply one date rule to an anchor; raises UnknownDate where the calendar is not loaded."""
    op, n = rule.op, rule.n
    if op == "cal":
        return cal.calendar_days_back(anchor, -n)
    if op == "school":
        return cal.add_school_days(anchor, n)
    if op == "months":
        return cal.prev_school_day(add_months(anchor, n))
    if op == "days":
        return cal.next_school_day(anchor + dt.timedelta(days=n))
    return cal.prev_school_day(anchor)


def _plan_student(
    student: Student,
    ctx: PlanContext,
    *,
    today: dt.date,
    booked: BookedMeeting | None,
    occupancy: _Occupancy,
    free_busy: Mapping[tuple[str, dt.date], list[Span]],
    done: frozenset[str],
    contacts: Sequence[Contact],
    cycle_id: str,
    reeval_cycle_id: str,
    memo: _RunMemo,
) -> StudentPlan:
    cal = ctx.calendar_for(student)
    rules = ctx.rules
    due = student.due_date
    warnings: list[PlanWarning] = []

    meeting = _keep_booked(student, booked, cal, ctx, today, warnings)
    if meeting is None:
        meeting = _place(student, cal, ctx, today, occupancy, free_busy, warnings)

    m_date = meeting.date if meeting else None
    next_due = next_due_from(m_date) if m_date else None
    age = age_on(student.birth_date, m_date or due)
    delivered = _delivered(meeting)
    # Milestones are immutable and depend only on these inputs, so students that share them
    # (about fifty per meeting date in a large district) share one tuple. The reevaluation track
    # is keyed apart (by R) so it does not split the annual track's sharing. Students with
    # completed items are computed on their own.
    flags = (
        id(cal),
        m_date.toordinal() if m_date else 0,
        due.toordinal() if ctx.uses_due else 0,
        tuple(age >= a for a in ctx.ages),
        delivered,
    )
    annual, annual_warnings = _shared_milestones(
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
        reeval, reeval_warnings = _shared_milestones(
            r_key, student, cal, ctx, today, m_date, next_due, age, delivered, done, memo
        )
        warnings.extend(reeval_warnings)
        milestones = [m for _, m in sorted((*annual, *reeval), key=_first)]

    contact_req: ContactRequirement | None = None
    if any(m.kind == "contact" for m in milestones):
        deadline = _date_of(milestones, "parent_contact_2")
        contact_req = (
            contact_requirement(contacts, deadline, due)
            if contacts
            else ContactRequirement(met=False, deadline=deadline)
        )
        if contact_req.met:
            milestones = [
                m._replace(status="done") if m.kind == "contact" else m for m in milestones
            ]

    student_status = _student_status(student, meeting, milestones, today)
    _status_warnings(student_status, student, meeting, milestones, today, warnings, rules)
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
    )


def _milestones(
    student: Student,
    cal: SchoolCalendar,
    rules: Rules,
    rank: Mapping[str, int],
    today: dt.date,
    m_date: dt.date | None,
    next_due: dt.date | None,
    age: int,
    delivered: bool,
    done: frozenset[str],
    memo: _RunMemo,
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
        if rule.min_age is not None and age < rule.min_age:
            continue
        if rule.kind == "report":
            for m in _reports(rule, cal, m_date, today, rules, done, warnings, memo):
                keyed.append((_sort_key(m.date, order), m))
            continue
        key = rule.key
        date = m_date if key == "meeting" else dater.date(rule.rule, key)
        title = rule.title
        if key == "written_notice" and age >= rules.rights_transfer_age:
            title = (
                f"{title} and to the student (rights transferred at {rules.rights_transfer_age})"
            )
        status: MilestoneStatus
        if key in done or (delivered and (key == "meeting" or key == "staff_invite")):
            status = "done"
        elif date is None:
            status = "unscheduled"
        else:
            ordinal = date.toordinal()
            if ordinal < today_ord:
                status = (
                    _recurring_status(date, rule.every_days, today, rules.due_soon_days)
                    if rule.kind == "recurring"
                    else "overdue"
                )
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
                ),
            )
        )
    keyed.sort(key=_first)

    for school_year, keys in sorted(dater.unknown.items()):
        warnings.append(
            PlanWarning(
                "milestones_undated",
                f"Load the {school_year} school calendar ({cal.name}): "
                f"{', '.join(keys)} cannot be dated until it is.",
            )
        )
    return tuple(keyed), tuple(warnings)


def _shared_milestones(
    share_key: tuple[object, ...],
    student: Student,
    cal: SchoolCalendar,
    ctx: PlanContext,
    today: dt.date,
    m_date: dt.date | None,
    next_due: dt.date | None,
    age: int,
    delivered: bool,
    done: frozenset[str],
    memo: _RunMemo,
) -> MilestoneSet:
    """One track's milestones, from the run's cache when another student had the same inputs."""
    track = str(share_key[0])
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


def _delivered(meeting: Meeting | None) -> bool:
    return meeting is not None and meeting.state in ("booked", "held")


def _date_of(milestones: Sequence[Milestone], key: str) -> dt.date | None:
    for m in milestones:
        if m.key == key:
            return m.date
    return None


_UNDATED = 1 << 40


def _sort_key(date: dt.date | None, rank: int) -> int:
    """Date order; ties in the rules' (SPEC §3.2) order; undated last. One int sorts fastest."""
    return ((date.toordinal() if date else _UNDATED) << 8) + rank


def _first(item: tuple[int, Milestone]) -> int:
    return item[0]


def _status(
    date: dt.date | None, today: dt.date, due_soon_days: int, is_done: bool
) -> MilestoneStatus:
    if is_done:
        return "done"
    if date is None:
        return "unscheduled"
    if date < today:
        return "overdue"
    if (date - today).days <= due_soon_days:
        return "due_soon"
    return "upcoming"


def _recurring_status(
    first: dt.date, every_days: int, today: dt.date, due_soon_days: int
) -> MilestoneStatus:
    """A recurring task is judged by its next occurrence, not by its first (already past)."""
    elapsed = (today - first).days
    next_occurrence = first + dt.timedelta(days=-(-elapsed // every_days) * every_days)
    return "due_soon" if (next_occurrence - today).days <= due_soon_days else "upcoming"


def _reports(
    rule: MilestoneRule,
    cal: SchoolCalendar,
    m_date: dt.date | None,
    today: dt.date,
    rules: Rules,
    done: frozenset[str],
    warnings: list[PlanWarning],
    memo: _RunMemo,
) -> list[Milestone]:
    """One milestone per grading-period report date in [M, NEXT_DUE) (SPEC §3.2)."""
    if m_date is None:
        return []
    memo_key = (id(cal), id(rule), m_date.toordinal())
    cached = memo.reports.get(memo_key)
    if cached is None:
        cached = _report_dates(rule, cal, m_date)
        memo.reports[memo_key] = cached
    dates, warning = cached
    if warning is not None:
        warnings.append(warning)
    return [
        Milestone(
            key,
            day,
            rule.delivery,
            _status(day, today, rules.due_soon_days, key in done),
            title,
            rule.track,
            "report",
        )
        for key, day, title in dates
    ]


def _report_dates(
    rule: MilestoneRule, cal: SchoolCalendar, m_date: dt.date
) -> tuple[list[tuple[str, dt.date, str]], PlanWarning | None]:
    """(key, date, title) of each report in [M, NEXT_DUE), and a warning for unloaded years."""
    next_due = next_due_from(m_date)
    found = [
        (
            f"{rule.key}:{year.name}:{period.name}",
            period.report_date,
            f"{rule.title} ({year.name} {period.name})",
        )
        for year, period in cal.grading_periods()
        if m_date <= period.report_date < next_due
    ]
    missing = sorted(_uncovered_years_between(cal, m_date, next_due - _DAY))
    warning = None
    if missing:
        warning = PlanWarning(
            "reports_undated",
            f"Progress reports after {m_date.isoformat()} in school year {', '.join(missing)} "
            f"are not planned: load that calendar ({cal.name}) to add them.",
        )
    return found, warning


def _uncovered_years_between(cal: SchoolCalendar, start: dt.date, end: dt.date) -> set[str]:
    """School years touched by [start, end] that the calendar does not cover."""
    years: set[str] = set()
    day = start
    while day <= end:
        if not cal.is_covered(day):
            years.add(school_year_label(day))
        day = dt.date(day.year + (1 if day.month >= 7 else 0), 7, 1)
    if not cal.is_covered(end):
        years.add(school_year_label(end))
    return years


# -- the meeting ------------------------------------------------------------------------------


def _rung_of(day: dt.date, latest: dt.date | None, due: dt.date) -> Rung:
    if day > due:
        return "infeasible"
    if latest is not None and day <= latest:
        return "on_track"
    return "at_risk"


def _keep_booked(
    student: Student,
    booked: BookedMeeting | None,
    cal: SchoolCalendar,
    ctx: PlanContext,
    today: dt.date,
    warnings: list[PlanWarning],
) -> Meeting | None:
    """The booked meeting, if it still stands; None (with a warning) when it must be re-placed."""
    if booked is None:
        return None
    start = booked.start.astimezone(ctx.tz)
    end = booked.end.astimezone(ctx.tz)
    day = start.date()
    due = student.due_date
    if day < today:
        return Meeting(day, start, end, "held", _classify(day, due, cal, ctx))
    try:
        school = cal.is_school_day(day)
    except UnknownDate:
        school = True  # we cannot say the day is closed
    if booked.adopted:
        # People win: a meeting moved in Outlook stays where they put it; rules become warnings.
        if not school:
            warnings.append(
                PlanWarning(
                    "moved_by_person",
                    f"The meeting was moved in Outlook to {day.isoformat()}, which the school "
                    "calendar shows as closed: confirm the day with the team.",
                )
            )
        if day > due:
            warnings.append(
                PlanWarning(
                    "moved_by_person",
                    f"The meeting was moved in Outlook to {day.isoformat()}, after the due date "
                    f"{due.isoformat()}: the IEP will be late unless it is moved earlier.",
                )
            )
        return Meeting(day, start, end, "booked", _classify(day, due, cal, ctx))
    if not school:
        warnings.append(
            PlanWarning(
                "booked_day_closed",
                f"The booked meeting on {day.isoformat()} falls on a day the school calendar now "
                "shows as closed: it is being moved to the next usable slot; tell the team.",
            )
        )
        return None
    if day > due and (booked.due_date is None or day <= booked.due_date):
        warnings.append(
            PlanWarning(
                "booked_after_due",
                f"The booked meeting on {day.isoformat()} is after the corrected due date "
                f"{due.isoformat()}: it is being moved; tell the team and the parents.",
            )
        )
        return None
    return Meeting(day, start, end, "booked", _classify(day, due, cal, ctx))


def _classify(day: dt.date, due: dt.date, cal: SchoolCalendar, ctx: PlanContext) -> Rung:
    try:
        latest: dt.date | None = cal.calendar_days_back(due, ctx.rules.ladder.buffer_days)
    except UnknownDate:
        latest = None
    return _rung_of(day, latest, due)


def _place(
    student: Student,
    cal: SchoolCalendar,
    ctx: PlanContext,
    today: dt.date,
    occupancy: _Occupancy,
    free_busy: Mapping[tuple[str, dt.date], list[Span]],
    warnings: list[PlanWarning],
) -> Meeting | None:
    """Walk the ladder of SPEC §3.1; None (and a warning) when an unknown date stops it."""
    ladder = ctx.rules.ladder
    due = student.due_date
    notice = today + dt.timedelta(days=ladder.notice_days)
    legal = today + dt.timedelta(days=ladder.legal_notice_days)
    cm = student.case_manager_email
    # The same people are checked against iepsched's placements and against Graph's free/busy:
    # the required attendees and the building's room.
    people = _occupants(student, ctx)
    settings = ctx.meetings
    length = settings.duration_minutes
    spans = ctx.spans
    per_cm_day = occupancy.per_cm_day
    placed = occupancy.per_person_day
    cap = settings.max_per_day

    def usable(day: dt.date) -> int | None:
        """Index of the first usable slot on `day`, or None."""
        if per_cm_day.get((cm, day), 0) >= cap:
            return None
        for i, span in enumerate(spans):
            if not _clash(placed, people, day, span) and not (
                free_busy and _clash(free_busy, people, day, span)
            ):
                return i
        return None

    def book(day: dt.date, slot: int, rung: Rung) -> Meeting:
        occupancy.add(cm, people, day, spans[slot])
        begin = dt.datetime.combine(day, settings.slots[slot], tzinfo=ctx.tz)
        return Meeting(day, begin, begin + dt.timedelta(minutes=length), "proposed", rung)

    try:
        latest = cal.calendar_days_back(due, ladder.buffer_days)
        # Rung 1: on track, latest first.
        floor = max(due - dt.timedelta(days=ladder.window_days), notice)
        for day in _school_days(cal, latest, floor, -1):
            slot = usable(day)
            if slot is not None:
                return book(day, slot, "on_track")
        # Rung 2: less than two weeks of buffer, earliest first.
        for day in _school_days(cal, max(latest + _DAY, notice), due, 1):
            slot = usable(day)
            if slot is not None:
                return book(day, slot, "at_risk")
        # Rung 3: the district's notice is gone; the legal 10-day notice still holds.
        for day in _school_days(cal, legal, due, 1):
            slot = usable(day)
            if slot is not None:
                return book(day, slot, "at_risk")
        # Rung 4: the due date cannot be met.
        for day in cal.walk(max(due + _DAY, legal), 1):
            slot = usable(day)
            if slot is not None:
                return book(day, slot, "infeasible")
    except UnknownDate as exc:
        warnings.append(
            PlanWarning(
                "unknown_year",
                f"Cannot place the meeting: school year {exc.school_year} is not loaded "
                f"({cal.name}). Add that year's calendar so the meeting can be planned.",
            )
        )
    return None


def _school_days(
    cal: SchoolCalendar, start: dt.date, stop: dt.date, step: int
) -> Iterator[dt.date]:
    """School days from `start` to `stop` inclusive, forward (step 1) or backward (step -1).

    Only dates inside the range are looked at: a rung fails on an unknown date it needs, never on
    one beyond its end that the walk would step onto while looking for the next school day.
    """
    if (start > stop) if step > 0 else (start < stop):
        return
    try:
        if step > 0:
            for day in cal.walk(start, 1):
                if day > stop:
                    return
                yield day
        else:
            for day in cal.walk(start, -1):
                if day < stop:
                    return
                yield day
    except UnknownDate as exc:
        if (exc.day > stop) if step > 0 else (exc.day < stop):
            return
        raise


# -- statuses ---------------------------------------------------------------------------------


def _student_status(
    student: Student, meeting: Meeting | None, milestones: Sequence[Milestone], today: dt.date
) -> StudentStatus:
    held = meeting is not None and meeting.state == "held"
    if today > student.due_date and not held:
        return "overdue"
    if meeting is None:
        return "unplanned"
    if meeting.rung == "infeasible" and not held:
        return "infeasible"
    if not held and (
        meeting.rung == "at_risk"
        or any(
            m.status == "overdue" and m.date is not None and m.date < meeting.date
            for m in milestones
        )
    ):
        return "at_risk"
    return "on_track"


def _status_warnings(
    status: StudentStatus,
    student: Student,
    meeting: Meeting | None,
    milestones: Sequence[Milestone],
    today: dt.date,
    warnings: list[PlanWarning],
    rules: Rules,
) -> None:
    """Add the sentence a coordinator acts on for every status other than on_track."""
    due = student.due_date.isoformat()
    if status == "overdue":
        when = f" The earliest slot is {meeting.date.isoformat()}." if meeting else ""
        warnings.insert(
            0,
            PlanWarning(
                "overdue",
                f"The IEP was due {due} and no meeting has been held: hold it as soon as "
                f"possible, document the reason for the delay and tell the coordinator.{when}",
            ),
        )
    elif status == "infeasible" and meeting is not None:
        late = (meeting.date - student.due_date).days
        warnings.insert(
            0,
            PlanWarning(
                "infeasible",
                f"No usable slot on or before the due date {due}: the earliest is "
                f"{meeting.date.isoformat()} ({late} days late). Free a slot for the case "
                "manager, LEA and teachers, or ask the parents to agree to meet sooner.",
            ),
        )
    elif status == "unplanned" and not any(w.code == "unknown_year" for w in warnings):
        warnings.insert(
            0,
            PlanWarning(
                "unplanned",
                "The meeting could not be placed: check the calendar for this building.",
            ),
        )
    elif status == "at_risk" and meeting is not None:
        overdue = [
            m
            for m in milestones
            if m.status == "overdue" and m.date is not None and m.date < meeting.date
        ]
        if meeting.rung == "at_risk":
            notice_by = meeting.date - dt.timedelta(days=rules.ladder.legal_notice_days)
            if meeting.state == "proposed" and meeting.date < today + dt.timedelta(
                days=rules.ladder.notice_days
            ):
                warnings.insert(
                    0,
                    PlanWarning(
                        "at_risk",
                        f"Only {(meeting.date - today).days} days' notice is possible: send "
                        f"written notice no later than {notice_by.isoformat()} (10-day legal "
                        f"minimum) and reach the parents now; the IEP is due {due}.",
                    ),
                )
            else:
                warnings.insert(
                    0,
                    PlanWarning(
                        "at_risk",
                        f"The meeting on {meeting.date.isoformat()} leaves less than 2 weeks "
                        f"before the due date {due}: move it earlier if the team can, and send "
                        f"written notice by {notice_by.isoformat()}.",
                    ),
                )
        for m in overdue:
            warnings.append(
                PlanWarning(
                    "milestone_overdue",
                    f"{m.title} was due {m.date.isoformat() if m.date else ''} and is not done: "
                    "do it now and mark the task complete.",
                )
            )


# -- contacts ---------------------------------------------------------------------------------


def contact_requirement(
    contacts: Sequence[Contact], deadline: dt.date | None, due: dt.date
) -> ContactRequirement:
    """Two logged contacts by two different methods on or before `deadline` (SPEC §3.4).

    Only contacts of this cycle count: after the previous IEP's anniversary (DUE - 1 year).
    """
    if deadline is None:
        return ContactRequirement(met=False, deadline=None)
    start = add_months(due, -12)
    eligible = sorted((c for c in contacts if start < c.at.date() <= deadline), key=lambda c: c.at)
    for i, first in enumerate(eligible):
        for second in eligible[i + 1 :]:
            if second.method != first.method:
                return ContactRequirement(met=True, deadline=deadline, qualifying=(first, second))
    return ContactRequirement(met=False, deadline=deadline)

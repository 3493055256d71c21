"""Dating a student's milestones (SPEC §3.2): rules evaluated on the calendar, progress reports per
grading period, and each milestone's status. Pure.

Results are shared across one planning run (`RunMemo`): about fifty students share each meeting
date in a large district, so most rules are evaluated once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from .context import PlanContext
from .dates import add_months, next_due_from
from .model import Meeting, Milestone, MilestoneStatus, PlanWarning, Student
from .rules import DateRule, MilestoneRule, Rules
from .schoolcal import SchoolCalendar, UnknownDate, school_year_label

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


class RunMemo:
    """Results shared by every student of one planning run (see `_Dater`, `shared_milestones`)."""

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
        if rule.min_age is not None and age < rule.min_age:
            continue
        if rule.kind == "report":
            for m in _reports(rule, cal, m_date, today, rules, done, warnings, memo):
                keyed.append((_sort_key(m.date, order), m))
            continue
        key = rule.key
        date = m_date if key == "meeting" else dater.date(rule.rule, key)
        title = rule.title
        if rule.adult_title is not None and age >= rules.rights_transfer_age:
            title = rule.adult_title
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
    delivered: bool,
    done: frozenset[str],
    memo: RunMemo,
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


def meeting_delivered(meeting: Meeting | None) -> bool:
    return meeting is not None and meeting.state in ("booked", "held")


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
    memo: RunMemo,
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

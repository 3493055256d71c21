"""Dating on the school calendar (SPEC §3): a date rule applied to an anchor, a recurring
milestone's school-day occurrences, each grading period's progress report, and the status of a
dated milestone. Pure."""

from __future__ import annotations

import datetime as dt

from .dates import add_months, next_due_from
from .model import MilestoneStatus, PlanWarning
from .rules import DateRule, MilestoneRule
from .schoolcal import SchoolCalendar, UnknownDate, school_year_label

_DAY = dt.timedelta(days=1)
Series = tuple[tuple[tuple[int, dt.date], ...], tuple[str, ...]]


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


def milestone_status(
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


def occurrences(
    rule: MilestoneRule, anchor: dt.date, next_due: dt.date, cal: SchoolCalendar
) -> Series:
    """A recurring milestone's occurrences (SPEC §3.2): the first by its rule (e.g. M + 14 days),
    then every `every_days` until NEXT_DUE, each moved to the next school day if it is not one.

    Occurrences that land on the same school day (a break, summer) are one occurrence, the
    earliest-numbered. Occurrences in a school year whose calendar is not loaded are left out and
    that year is returned to warn about — never a guess. Raises UnknownDate only when the first
    occurrence's own rule needs an unknown date.
    """
    every = rule.every_days
    if rule.rule.op == "days":
        # The series runs on calendar days from the anchor, so one occurrence moved past a
        # weekend or closure does not push the ones after it.
        base = anchor + dt.timedelta(days=rule.rule.n)
    else:
        base = evaluate(rule.rule, anchor, cal)
    found: list[tuple[int, dt.date]] = []
    unknown: dict[str, None] = {}
    number, nominal, last = 1, base, None
    while nominal <= next_due:
        try:
            day = cal.next_school_day(nominal)
        except UnknownDate as exc:
            unknown.setdefault(exc.school_year, None)
        else:
            if day <= next_due and day != last:
                found.append((number, day))
                last = day
        if every <= 0:
            break  # a rules error (reported by config check): one occurrence, not a loop
        number += 1
        nominal = base + dt.timedelta(days=(number - 1) * every)
    return tuple(found), tuple(unknown)


def report_dates(
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
    missing = sorted(uncovered_years_between(cal, m_date, next_due - _DAY))
    warning = None
    if missing:
        warning = PlanWarning(
            "reports_undated",
            f"Progress reports after {m_date.isoformat()} in school year {', '.join(missing)} "
            f"are not planned: load that calendar ({cal.name}) to add them.",
        )
    return found, warning


def uncovered_years_between(cal: SchoolCalendar, start: dt.date, end: dt.date) -> set[str]:
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

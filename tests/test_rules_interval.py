"""The progress-monitoring interval comes from the rules, through the plan, into every output."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from functools import cache
from pathlib import Path

from iepsched.core.items import desired_items
from iepsched.core.model import DistrictPlan, StudentPlan
from iepsched.core.rules import rules_from_toml
from iepsched.core.schedule import plan_district
from iepsched.inputs.config import load_config
from iepsched.outputs.ics import plans_calendar
from iepsched.outputs.report import html_report
from iepsched.service.district import load_district

CONFIG = Path(__file__).resolve().parent.parent / "config" / "iepsched.toml"
TODAY = dt.date(2026, 11, 30)


@cache
def weekly() -> DistrictPlan:
    """The sample district planned with a rules file that sets every_days = 7."""
    district = load_district(load_config(CONFIG))
    rules, problems = rules_from_toml(
        {"milestones": {"progress_monitoring": {"every_days": 7}}}, "rules.toml"
    )
    assert problems == []
    ctx = dataclasses.replace(district.ctx, rules=rules)
    return plan_district(district.students, ctx, today=TODAY)


def monitored() -> StudentPlan:
    """A plan that has a progress_monitoring milestone and a NEXT_DUE."""
    for p in weekly().plans:
        m = p.milestone("progress_monitoring")
        if m is not None and m.date is not None and p.next_due_date is not None:
            return p
    raise AssertionError("no plan with progress monitoring")


def test_interval_is_carried_on_the_milestone() -> None:
    """The planned progress_monitoring milestone carries the rules' every_days."""
    m = monitored().milestone("progress_monitoring")
    assert m is not None and m.every_days == 7


def test_weekly_occurrences_are_m_plus_7n_moved_to_a_school_day() -> None:
    """With every_days = 7, occurrence n is M + 7n days, or the next school day after it."""
    plan = monitored()
    cal = load_district(load_config(CONFIG)).ctx.calendar_for(plan.student)
    m = plan.milestone("progress_monitoring")
    assert m is not None and plan.meeting is not None and len(m.occurrences) > 20
    for o in m.occurrences:
        nominal = plan.meeting.date + dt.timedelta(days=7 * o.number)
        assert o.date == cal.next_school_day(nominal) and cal.is_school_day(o.date)
    assert m.date == m.occurrences[0].date


def test_weekly_tasks_are_one_per_occurrence_a_week_apart() -> None:
    """With every_days = 7 the tasks are one a week (a break joins several into one), never a
    To Do recurrence."""
    district = load_district(load_config(CONFIG))
    items = desired_items(weekly().plans, district.delivery_options())
    tasks = [i for i in items if i.milestone.startswith("progress_monitoring/")]
    assert tasks and all("recurrence" not in i.fields for i in tasks)
    by_student: dict[str, list[dt.date]] = {}
    for i in tasks:
        assert i.due is not None
        by_student.setdefault(i.student_id, []).append(i.due)
    gaps = {(b - a).days for days in by_student.values() for a, b in itertools.pairwise(days)}
    assert 7 in gaps and min(gaps) >= 1


def test_ics_has_one_event_per_weekly_occurrence() -> None:
    """With every_days = 7 the ICS has one all-day event per occurrence and no RRULE."""
    plan = monitored()
    m = plan.milestone("progress_monitoring")
    assert m is not None
    data = plans_calendar([plan], tz_name="America/Chicago", name="t", sequence_for=None).decode()
    assert "RRULE" not in data
    assert data.count("/progress_monitoring/") == len(m.occurrences)


def test_report_text_uses_rules_interval() -> None:
    """With every_days = 7 the report says "every 7 days", never "every 14 days"."""
    plan = DistrictPlan(TODAY, (monitored(),))
    html = html_report(
        plan,
        district_name="Prairie Valley",
        today=TODAY,
        contacts_by_student={},
        generated_at=dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC),
    )
    assert "every 7 days until" in html and "every 14 days" not in html

"""The progress-monitoring interval comes from the rules, through the plan, into every output."""

from __future__ import annotations

import dataclasses
import datetime as dt
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


def test_todo_recurrence_uses_rules_interval() -> None:
    """With every_days = 7 the To Do task recurs every 7 days, not a hard-coded 14."""
    district = load_district(load_config(CONFIG))
    items = desired_items(weekly().plans, district.delivery_options())
    recurring = [i for i in items if i.kind == "recurring_task"]
    assert recurring
    for i in recurring:
        assert i.fields["recurrence"]["pattern"] == {"type": "daily", "interval": 7}


def test_ics_rrule_uses_rules_interval() -> None:
    """With every_days = 7 the ICS RRULE of progress monitoring has INTERVAL=7."""
    data = plans_calendar(
        [monitored()], tz_name="America/Chicago", name="t", sequence_for=None
    ).decode()
    rrules = [line for line in data.splitlines() if line.startswith("RRULE:")]
    assert rrules and all("INTERVAL=7;" in r or r.endswith("INTERVAL=7") for r in rrules)


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

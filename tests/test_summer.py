"""Issue 10.1: the school year as it really is — an IEP due in summer or the first weeks of school
is held before summer, with every preparation step in date order (SPEC §3.1, §5)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from iepsched.core.items import deliverable
from iepsched.core.model import DistrictPlan, StudentPlan
from iepsched.core.rules import LadderRules, rules_from_toml
from iepsched.core.schedule import PlanContext, plan_district
from iepsched.inputs.calendars import load_calendars
from iepsched.inputs.config import load_config, load_rules
from iepsched.inputs.roster import read_roster

CONFIG = Path(__file__).parent.parent / "config" / "iepsched.toml"
# The preparation steps, in the order a case manager does them (SPEC §3.2).
PREP = (
    "begin_development",
    "parent_contact_1",
    "parent_contact_2",
    "written_notice",
    "collect_present_levels",
    "draft_iep",
    "send_draft",
    "prepare_meeting",
    "meeting",
)


def sample_plan(today: dt.date) -> DistrictPlan:
    config = load_config(CONFIG)
    calendars = load_calendars(config)
    ctx = PlanContext(
        calendar_for=calendars.calendar_for,
        rules=load_rules(config),
        meetings=config.meetings,
        tz=config.district.tz,
        rooms=config.rooms,
    )
    roster = read_roster(config.roster.path, config.roster.columns)
    return plan_district(roster.students, ctx, today=today)


def dates(p: StudentPlan) -> dict[str, dt.date]:
    return {m.key: m.date for m in p.milestones if m.date is not None}


@pytest.mark.parametrize("today", [dt.date(2026, 11, 30), dt.date(2027, 3, 1)])
def test_every_sample_student_prepares_in_order(today: dt.date) -> None:
    """For every sample student, begin_development <= parent_contact_1 <= ... <= meeting."""
    for p in sample_plan(today).plans:
        if p.meeting is None or p.meeting.state != "proposed":
            continue
        got = dates(p)
        steps = [(k, got[k]) for k in PREP if k in got]
        assert steps == sorted(steps, key=lambda kd: kd[1]), p.student_id


def test_summer_due_dates_meet_in_spring() -> None:
    """At 2027-03-01 the IEPs due in August or early September 2027 are held before summer, on
    track; no on-track meeting falls in the first 20 school days of a school year."""
    plan = sample_plan(dt.date(2027, 3, 1))
    early = [p for p in plan.plans if dt.date(2027, 6, 1) <= p.due_date <= dt.date(2027, 9, 20)]
    assert {p.student_id for p in early} >= {"S1032", "S1046"}
    for p in early:
        assert p.meeting is not None
        assert p.meeting.date <= dt.date(2027, 5, 21), p.student_id
        assert p.meeting.rung == "on_track", p.student_id
    config = load_config(CONFIG)
    calendars = load_calendars(config)
    for p in plan.plans:
        if p.meeting is None or p.meeting.rung != "on_track":
            continue
        cal = calendars.calendar_for(p.student)
        year = cal.year_of(p.meeting.date)
        assert year is not None
        assert p.meeting.date > cal.add_school_days(year.first_day - dt.timedelta(days=1), 20)


def test_s1032_no_longer_collapses_at_the_demo_date() -> None:
    """S1032 (due 2027-08-23) meets in May, a month after it begins developing the IEP."""
    p = sample_plan(dt.date(2026, 11, 30)).get("S1032")
    assert p is not None and p.meeting is not None
    assert p.meeting.date.month == 5 and p.status == "on_track"
    got = dates(p)
    assert got["begin_development"] < got["draft_iep"] < p.meeting.date


def test_booking_horizon_counts_from_the_meeting() -> None:
    """A plan is delivered once TODAY >= M - horizon, not DUE - horizon (SPEC §5)."""
    p = sample_plan(dt.date(2027, 3, 1)).get("S1032")
    assert p is not None and p.meeting is not None
    edge = p.meeting.date - dt.timedelta(days=60)
    import dataclasses

    assert deliverable(dataclasses.replace(p, today=edge), 60)
    assert not deliverable(dataclasses.replace(p, today=edge - dt.timedelta(days=1)), 60)
    # DUE - 60 is in June, after the meeting: measuring from DUE would deliver too late.
    assert edge < p.due_date - dt.timedelta(days=60)


def test_old_window_days_key_is_read_with_a_deprecation_warning() -> None:
    """An old rules file's window_days still loads, converted, with a warning naming file, key
    and the new key."""
    rules, problems = rules_from_toml({"ladder": {"window_days": 56}}, "rules.toml")
    assert rules.ladder.window_school_days == 40
    where = [(p.where, p.severity) for p in problems]
    assert where == [("rules.toml [ladder] window_days", "warning")]
    assert "window_school_days = 40" in problems[0].message


def test_new_window_wins_over_old() -> None:
    """Given both keys, window_school_days is used and window_days is reported as ignored."""
    rules, problems = rules_from_toml(
        {"ladder": {"window_days": 56, "window_school_days": 30}}, "rules.toml"
    )
    assert rules.ladder == LadderRules(window_school_days=30)
    assert "ignored" in problems[0].message


def test_first_school_days_are_off_the_on_track_ladder() -> None:
    """With first_school_days_excluded = 0 a September IEP may meet in the first weeks again."""
    rules, problems = rules_from_toml({"ladder": {"first_school_days_excluded": 0}}, "r.toml")
    assert problems == []
    assert rules.ladder.first_school_days_excluded == 0

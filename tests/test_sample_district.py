"""The fictional sample district in config/ (the demo's data) keeps the mix others rely on."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from iepsched.core.model import DistrictPlan
from iepsched.core.schedule import PlanContext, age_on, plan_district
from iepsched.inputs.calendars import load_calendars
from iepsched.inputs.config import load_config, load_rules
from iepsched.inputs.roster import RosterResult, read_roster

CONFIG = Path(__file__).parent.parent / "config" / "iepsched.toml"
DEMO_TODAY = dt.date(2026, 11, 30)  # pinned in config/README.md


@pytest.fixture(scope="module")
def roster() -> RosterResult:
    config = load_config(CONFIG)
    return read_roster(config.roster.path, config.roster.columns)


@pytest.fixture(scope="module")
def plan(roster: RosterResult) -> DistrictPlan:
    config = load_config(CONFIG)
    calendars = load_calendars(config)
    ctx = PlanContext(
        calendar_for=calendars.calendar_for,
        rules=load_rules(config),
        meetings=config.meetings,
        tz=config.district.tz,
        rooms=config.rooms,
    )
    return plan_district(roster.students, ctx, today=DEMO_TODAY)


def test_sample_loads_without_problems(roster: RosterResult) -> None:
    """The sample config, roster and calendars load with no problem or warning at all."""
    config = load_config(CONFIG)
    assert config.warnings == ()
    assert roster.problems == () and roster.skipped_ids == frozenset()
    assert load_calendars(config).check_buildings(roster.students) == []


def test_sample_shape(roster: RosterResult) -> None:
    """51 students, 2 exited, 7 case managers with 5-9 students each, 5 buildings."""
    students = roster.students
    assert len(students) == 51
    assert sorted(s.student_id for s in students if s.status == "exited") == ["S1012", "S1043"]
    caseloads = Counter(s.case_manager_email for s in students)
    assert len(caseloads) == 7 and all(5 <= n <= 9 for n in caseloads.values())
    assert len({s.building for s in students}) == 5
    assert all(s.case_manager_email.endswith("@pvsec.example.org") for s in students)
    assert any(s.birth_date == dt.date(2012, 2, 29) for s in students)
    assert 12 <= sum(1 for s in students if s.reeval_due_date) <= 20


def test_every_status_occurs_at_the_demo_date(plan: DistrictPlan) -> None:
    """At 2026-11-30 the plan has on_track, at_risk, overdue, infeasible and unplanned students."""
    by_status: dict[str, list[str]] = {}
    for p in plan.plans:
        by_status.setdefault(p.status, []).append(p.student_id)
    assert sorted(by_status["overdue"]) == ["S1005", "S1036"]
    assert by_status["infeasible"] == ["S1014"]
    assert by_status["unplanned"] == ["S1020"]
    assert sorted(by_status["at_risk"]) == [
        "S1001",
        "S1010",
        "S1022",
        "S1024",
        "S1028",
        "S1030",
        "S1040",
        "S1042",
        "S1047",  # transfer in state, DUE 2026-12-16: meeting < 2 weeks before it
        "S1048",  # transfer out of state, DUE 2026-12-23: records request late
        "S1049",  # initial evaluation: the evaluation plan (consent + 5 school days) is late
        "S1050",  # initial evaluation, DUE 2026-12-15: meeting < 2 weeks before it
        "S1051",  # initial IEP, DUE 2026-12-18: meeting < 2 weeks before it
    ]
    assert len(by_status["on_track"]) == 32
    assert all(p.warnings for p in plan.plans if p.status != "on_track")


def test_every_active_student_is_planned(plan: DistrictPlan, roster: RosterResult) -> None:
    """Every active student gets a plan, and all but the unplanned one a meeting."""
    active = {s.student_id for s in roster.students if s.status == "active"}
    assert {p.student_id for p in plan.plans} == active
    assert [p.student_id for p in plan.plans if p.meeting is None] == ["S1020"]


def test_sample_covers_the_interesting_dates(plan: DistrictPlan, roster: RosterResult) -> None:
    """Due dates in winter break and summer 2027; students 14+ and one 18+ at their meeting."""
    dues = {p.student_id: p.due_date for p in plan.plans}
    assert any(dt.date(2026, 12, 21) <= d <= dt.date(2027, 1, 4) for d in dues.values())
    assert any(dt.date(2027, 5, 22) <= d <= dt.date(2027, 8, 11) for d in dues.values())
    ages = {
        p.student_id: age_on(p.student.birth_date, p.meeting.date)
        for p in plan.plans
        if p.meeting is not None
    }
    assert sum(1 for a in ages.values() if a >= 14) >= 10
    assert ages["S1004"] >= 18
    invited = [p for p in plan.plans if p.milestone("invite_student") is not None]
    assert len(invited) >= 10


def test_rights_transfer_notices_of_the_sample(plan: DistrictPlan) -> None:
    """The students under 18 at their meeting who turn 17 by NEXT_DUE get the rights-transfer
    notice (34 CFR 300.320(c)), on the written notice's date; BIP monitoring follows has_bip."""
    notified = {
        p.student_id: m.date
        for p in plan.plans
        if (m := p.milestone("rights_transfer_notice")) is not None
    }
    assert sorted(notified) == [
        "S1001", "S1002", "S1003", "S1005", "S1007", "S1008",
        "S1010", "S1011", "S1028", "S1029", "S1032", "S1047",
    ]  # fmt: skip
    for p in plan.plans:
        if p.student_id in notified:
            assert notified[p.student_id] == p.milestone("written_notice").date  # type: ignore[union-attr]
    assert "S1004" not in notified  # 18 at the meeting: rights have transferred
    for p in plan.plans:  # has_bip comes with the roster column (absent: no BIP)
        has_bip = bool(getattr(p.student, "has_bip", False))
        assert (p.milestone("bip_monitoring") is not None) == has_bip

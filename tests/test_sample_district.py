"""The fictional sample district in config/ (the demo's data) keeps the mix others rely on."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from iepsched.core.model import DistrictPlan, StudentPlan
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


# SPEC §3.6 in the sample: each new student's cycle at the demo date, with dates worked by hand on
# config/calendars/*.toml (school days skip weekends and the listed closures).
EARLIEST = DEMO_TODAY + dt.timedelta(days=10)  # §3.1: written notice 10 days before the meeting


def cycle_of(plan: DistrictPlan, student_id: str, kind: str) -> StudentPlan:
    p = plan.get(student_id)
    assert p is not None, student_id
    (found,) = [c for c in p.cycles if c.cycle_type == kind]
    return found


def placed_in_window(cycle: StudentPlan) -> dt.date:
    """The cycle's meeting date, which must lie between the earliest slot and its DUE."""
    assert cycle.meeting is not None
    assert EARLIEST <= cycle.meeting.date <= cycle.due_date
    return cycle.meeting.date


def on(cycle: StudentPlan, key: str) -> dt.date | None:
    m = cycle.milestone(key)
    assert m is not None, key
    return m.date


def test_initial_evaluation_across_winter_break(plan: DistrictPlan) -> None:
    """S1049 (Cottonwood, USD 901): consent 2026-11-02 + 60 school days is 2027-02-16, the
    clock paused over Thanksgiving, winter break, the Jan 4 work day, MLK and Presidents Day."""
    c = cycle_of(plan, "S1049", "eligibility")
    # Nov 3-6 (4), 9-13 (9; Veterans Day is a school day here), 16-20 (14), 23-24 (16), Nov 30-
    # Dec 4 (21), 7-11 (26), 14-18 (31); Jan 5-8 (35), 11-15 (40), 19-22 (44), 25-29 (49),
    # Feb 1-5 (54), 8-12 (59); Feb 15 closed; Feb 16 (60).
    assert c.due_date == dt.date(2027, 2, 16)
    assert placed_in_window(c) == dt.date(2027, 2, 2)
    assert on(c, "evaluation_plan") == dt.date(2026, 11, 9)  # school(C, +5): Nov 3-6, 9
    assert on(c, "evaluation_complete") == dt.date(2027, 1, 26)  # school(M, -5): Feb 1, Jan 29-26
    assert on(c, "written_notice") == dt.date(2027, 1, 19)  # cal(M, -14)
    assert c.student.home_language == "es"


def test_initial_evaluation_before_winter_break(plan: DistrictPlan) -> None:
    """S1050 (Bluestem Elementary, USD 902): consent 2026-09-14 + 60 school days is 2026-12-15."""
    c = cycle_of(plan, "S1050", "eligibility")
    # Sep 15-18 (4), 21-25 (9), Sep 28-Oct 2 (14), Oct 5-9 (19), 12-15 (23; fall break Oct 16-19),
    # 20-23 (27), 26-30 (32), Nov 2-6 (37), 9-13 but Veterans Day (41), 16-20 (46), 23-24 (48),
    # Nov 30-Dec 4 (53), 7-11 (58), Dec 14 (59), Dec 15 (60).
    assert c.due_date == dt.date(2026, 12, 15)
    assert placed_in_window(c) == dt.date(2026, 12, 14)
    assert on(c, "evaluation_plan") == dt.date(2026, 9, 21)  # Sep 15-18, 21
    assert on(c, "evaluation_complete") == dt.date(2026, 12, 7)  # Dec 11-7


def test_initial_iep_after_eligibility(plan: DistrictPlan) -> None:
    """S1051: eligibility determined 2026-11-18, the initial IEP due 30 calendar days later."""
    c = cycle_of(plan, "S1051", "initial_iep")
    assert c.due_date == dt.date(2026, 12, 18)  # Nov 18 + 30 days
    assert placed_in_window(c) == dt.date(2026, 12, 14)
    # Preparation dated before E moves to the first school day on or after it (a Wednesday).
    assert on(c, "begin_development") == dt.date(2026, 11, 18)


@pytest.mark.parametrize(
    ("student", "came", "due", "records", "decide"),
    [
        # in state: T + 30 days; records and comparable services school(T, +1)
        ("S1047", dt.date(2026, 11, 16), dt.date(2026, 12, 16), dt.date(2026, 11, 17), None),
        # out of state: also decide on an evaluation, school(T, +10): Nov 24, 30, Dec 1-4,
        # 7-10 (Thanksgiving Nov 25-27 closed)
        (
            "S1048",
            dt.date(2026, 11, 23),
            dt.date(2026, 12, 23),
            dt.date(2026, 11, 24),
            dt.date(2026, 12, 10),
        ),
    ],
)
def test_transfers_in_and_out_of_state(
    plan: DistrictPlan,
    student: str,
    came: dt.date,
    due: dt.date,
    records: dt.date,
    decide: dt.date | None,
) -> None:
    """A transfer's DUE is 30 calendar days after it came (winter break does not pause it)."""
    c = cycle_of(plan, student, "transfer")
    assert c.student.transfer_in_date == came
    assert c.due_date == due
    placed_in_window(c)
    assert on(c, "request_records") == on(c, "comparable_services") == records
    found = c.milestone("decide_evaluation")
    assert (found.date if found is not None else None) == decide
    assert cycle_of(plan, student, "annual").due_date > due  # the annual cycle goes on


@pytest.mark.parametrize(
    ("student", "window_start", "combined"),
    [
        # R 2027-02-08 (USD 901): 40 school days back is 2026-11-23; annual meets 2026-12-14.
        ("S1022", dt.date(2026, 11, 23), True),
        # R 2027-01-25 (USD 902): 40 school days back is 2026-11-06; annual meets 2026-12-18.
        ("S1028", dt.date(2026, 11, 6), True),
        # R 2027-03-02 (USD 901): 40 school days back is 2026-12-17, after the annual (12-14).
        ("S1001", dt.date(2026, 12, 17), False),
    ],
)
def test_reevaluations_combined_and_separate(
    plan: DistrictPlan, student: str, window_start: dt.date, combined: bool
) -> None:
    """§3.6: an annual meeting in [school(R, -40), R] is the reevaluation meeting too; else the
    reevaluation meets on its own, in that window."""
    annual = cycle_of(plan, student, "annual")
    reeval = cycle_of(plan, student, "reevaluation")
    assert annual.meeting is not None and reeval.meeting is not None
    assert (window_start <= annual.meeting.date <= reeval.due_date) == combined
    if combined:
        assert reeval.combined_with == "annual"
        assert reeval.meeting.start == annual.meeting.start
    else:
        assert reeval.combined_with is None
        assert window_start <= reeval.meeting.date <= reeval.due_date
        assert reeval.meeting.date == dt.date(2027, 2, 16)


def test_spanish_family_gets_a_spanish_notice(sample_config: Path, tmp_path: Path) -> None:
    """S1049's family reads Spanish (home_language=es): `notice` writes the eligibility
    meeting's notice in Spanish; S1050's, in English."""
    from cli_helpers import cli

    es, en = tmp_path / "S1049.html", tmp_path / "S1050.html"
    for sid, out in (("S1049", es), ("S1050", en)):
        done = cli(sample_config, "notice", sid, "--out", str(out), "--today", "2026-11-30")
        assert done.exit_code == 0, done.output
    assert "Aviso de reunión" in es.read_text(encoding="utf-8")
    assert "Aviso de reunión" not in en.read_text(encoding="utf-8")
    summary = cli(sample_config, "notice", "S1049", "--out", str(es), "--today", "2026-11-30")
    assert "S1049 meeting 2027-02-02 07:45 CST (eligibility / initial evaluation), es," in (
        summary.stdout
    )

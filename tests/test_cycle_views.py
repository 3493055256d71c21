"""Every open meeting cycle (SPEC §3.6) in `plan` (table, JSON), `plan --all` and the ICS."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from cli_helpers import SAMPLE, cli
from cli_helpers import TODAY as CLI_TODAY
from cycle_plans import TODAY, annual, every_cycle
from icalendar import Calendar

from iepsched.core.model import DistrictPlan
from iepsched.outputs.cycleview import key_cycles, view_status, written_amendment
from iepsched.outputs.ics import plans_calendar, uid_for
from iepsched.outputs.render import all_csv, all_json, all_table, plan_json, plan_table, sort_rows


def test_json_lists_every_cycle_with_the_spec_fields_top_fields_unchanged() -> None:
    """`cycles` has type, due_date, status, meeting, milestones for each open cycle, the plan's
    own first; the top-level fields stay the annual cycle's, `status` the worst."""
    plan = every_cycle()
    data = plan_json(plan)
    plain = plan_json(annual())
    assert data["status"] == "unplanned"
    assert {k: v for k, v in data.items() if k not in ("status", "cycles")} == {
        k: v for k, v in plain.items() if k not in ("status", "cycles")
    }
    types = [c["type"] for c in data["cycles"]]
    assert types == ["annual", "reevaluation", "eligibility", "transfer", "amendment"]
    for c in data["cycles"]:
        assert {"type", "cycle_id", "due_date", "status", "meeting", "milestones"} <= set(c)
        assert {"warnings", "combined_with"} <= set(c)
    annual_c, reeval, elig, transfer, written = data["cycles"]
    assert annual_c["status"] == "on_track" and annual_c["purposes"] == ["annual", "reevaluation"]
    assert reeval["combined_with"] == "annual"
    assert reeval["meeting"] == annual_c["meeting"]
    assert elig["meeting"]["date"] == "2026-12-15" and elig["status"] == "at_risk"
    assert transfer["meeting"] is None and transfer["status"] == "unplanned"
    assert written["meeting"] is None and written["without_meeting"] is True
    assert written["status"] != "unplanned"


def test_plan_without_other_cycles_lists_itself_only() -> None:
    """A student with one cycle has a one-entry `cycles` list equal to the top-level fields."""
    data = plan_json(annual())
    (only,) = data["cycles"]
    assert only["type"] == "annual"
    assert only["due_date"] == data["due_date"] and only["meeting"] == data["meeting"]
    assert only["milestones"] == data["milestones"] and only["status"] == data["status"]


def test_written_amendment_is_not_unplanned() -> None:
    """An amendment without a meeting by design reads as such, not as an unplaced meeting."""
    written = every_cycle().others[-1]
    transfer = every_cycle().others[-2]
    assert written_amendment(written) and not written_amendment(transfer)
    assert view_status(written) == "at_risk"  # a step is late
    assert view_status(transfer) == "unplanned"
    on_time = replace(written, due_date=TODAY.replace(year=2027), milestones=())
    assert view_status(on_time) == "on_track"


def test_table_shows_each_cycle_within_100_columns() -> None:
    """The table names each cycle's type, DUE, status and meeting, and fits 100 columns."""
    text = plan_table(every_cycle())
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "status UNPLANNED over 5 cycles; this one on_track" in text
    assert "purpose: annual review and reevaluation" in text
    assert "== reevaluation: due 2027-01-25, status on_track" in text
    assert "at the annual review meeting" in text
    assert "== eligibility / initial evaluation: due 2027-01-12, status at_risk" in text
    assert "evaluation_complete" in text
    assert "== transfer IEP: due 2028-09-30, status unplanned" in text
    assert "meeting: not placed" in text
    assert "meeting: no meeting (written amendment)" in text
    assert "unplanned" not in text.split("== IEP amendment")[1]
    # The combined reevaluation's consent is the annual plan's step: listed once.
    assert text.count("reeval_consent") == 1


def test_all_has_a_row_per_cycle_with_its_type() -> None:
    """`plan --all`: one row per open cycle, its type in the second column; CSV and JSON carry
    the type, the id and the meeting's purposes after the existing fields."""
    plans = [every_cycle()]
    rows = sort_rows(plans, "status")
    table = all_table(rows).splitlines()
    assert max(len(line) for line in table) <= 100
    assert "S1         amend    2026-12-10 no meeting       written  at_risk" in table[3]
    assert [line.split()[1] for line in table[2:]] == [
        "transfer",
        "amend",
        "elig",
        "annual",
        "reeval",
    ]
    data = json.loads(all_json(rows))
    assert [r["cycle_type"] for r in data][:2] == ["transfer", "amendment"]
    written = data[1]
    assert written["meeting_state"] == "none" and written["status"] != "unplanned"
    assert data[3]["purposes"] == "annual+reevaluation"
    assert all_csv(rows).splitlines()[0].endswith(",cycle_type,cycle_id,purposes")
    by_id = [c.cycle_type for _, c in sort_rows(plans, "id")]
    assert by_id == ["annual", "reevaluation", "eligibility", "transfer", "amendment"]


def _events(plans: list) -> dict[str, dict[str, str]]:  # type: ignore[type-arg]
    cal = Calendar.from_ical(
        plans_calendar(plans, tz_name="America/Chicago", name="t", sequence_for=None)
    )
    return {
        str(e["uid"]): {"summary": str(e["summary"]), "description": str(e["description"])}
        for e in cal.walk("VEVENT")
    }


def test_ics_has_every_cycles_meeting_and_steps_with_stable_uids() -> None:
    """Each cycle's meeting and steps are events keyed `student/cycle/milestone`; the combined
    reevaluation adds no event but the annual meeting names both purposes."""
    events = _events([every_cycle()])
    annual_meeting = events[uid_for("S1/2027-01-20/meeting")]
    assert "also the reevaluation meeting" in annual_meeting["description"]
    assert "Reevaluation due 2027-01-25" in annual_meeting["description"]
    assert annual_meeting["summary"].endswith("(annual review and reevaluation)")
    elig = events[uid_for("S1/eligibility-2027-01-12/meeting")]
    assert elig["description"].startswith("Eligibility / initial evaluation meeting")
    assert uid_for("S1/eligibility-2027-01-12/evaluation_complete") in events
    assert uid_for("S1/amendment-2026-12-10/amendment_signed") in events
    assert not any("R2027-01-25/meeting" in uid for uid in events)
    assert uid_for("S1/R2027-01-25/reeval_consent") in events
    assert uid_for("S1/R2027-01-25/reeval_due") not in events  # combined: delivers nothing


def test_ics_of_an_annual_plan_is_unchanged_by_cycles() -> None:
    """A plan with no other cycles exports exactly what it did before cycles existed."""
    events = _events([annual()])
    (meeting,) = [v for k, v in events.items() if k.endswith("/meeting@iepsched")]
    assert meeting["description"].startswith(
        "Annual IEP meeting for student S1 (A.R.). IEP due 2027-01-20. Booked in Outlook."
    )
    assert not meeting["summary"].endswith(")")


def test_key_cycles_of_other_cycles_are_their_own_ids() -> None:
    """Another cycle's items are keyed with its own cycle id; the annual's as sync keys them."""
    plan = every_cycle()
    assert key_cycles(plan) == ("2027-01-20", "R2027-01-25")
    assert key_cycles(plan.others[1]) == ("eligibility-2027-01-12", "R2027-01-25")
    assert key_cycles(plan.others[0])[0] == "R2027-01-25"


def _with_cycles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the planner give S1001 an eligibility cycle of its own (views only are tested)."""
    import iepsched.service.district as district

    real = district.plan_with_state

    def plan_with_state(*args: Any, **kwargs: Any) -> DistrictPlan:
        result = real(*args, **kwargs)
        plans = []
        for p in result.plans:
            if p.student_id == "S1001":
                elig = replace(every_cycle(p.student).others[1], today=p.today, student=p.student)
                p = replace(p, others=(elig,))
            plans.append(p)
        return replace(result, plans=tuple(plans), by_id={})

    monkeypatch.setattr(district, "plan_with_state", plan_with_state)


def test_cli_plan_all_and_plan_show_the_other_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    """`plan --all` adds a row of type elig for S1001 and counts it; `plan S1001` shows it."""
    _with_cycles(monkeypatch)
    out = cli(SAMPLE, "plan", "--all", "--today", CLI_TODAY, "--sort", "id").stdout
    lines = out.splitlines()
    assert [line.split()[:2] for line in lines[2:4]] == [["S1001", "annual"], ["S1001", "elig"]]
    # The elig replaces S1001's reevaluation; the sample's 13 other reevaluations and the
    # transfers of S1047 and S1048 are counted with it (SPEC §3.6: every open cycle).
    assert lines[-1] == "16 more open cycles: 1 elig, 13 reeval, 2 transfer"
    assert max(len(line) for line in lines) <= 100
    shown = cli(SAMPLE, "plan", "S1001", "--today", CLI_TODAY).stdout
    assert "== eligibility / initial evaluation: due 2027-01-12" in shown
    data = json.loads(cli(SAMPLE, "plan", "S1001", "--today", CLI_TODAY, "--format", "json").stdout)
    assert [c["type"] for c in data["cycles"]] == ["annual", "eligibility"]
    ics = cli(SAMPLE, "plan", "S1001", "--today", CLI_TODAY, "--format", "ics").stdout
    assert "S1001/eligibility-2027-01-12/meeting@iepsched" in ics.replace("\r\n ", "")


def test_student_on_the_initial_track_shows_the_nearest_cycle_on_top() -> None:
    """A plan whose own cycle is an eligibility cycle says so where the IEP due date would be."""
    elig = every_cycle().others[1]
    text = plan_table(elig)
    assert "   eligibility due 2027-01-12   status AT_RISK" in text.splitlines()[1]
    data = plan_json(elig)
    assert data["due_date"] == "2027-01-12" and data["cycles"][0]["type"] == "eligibility"
    assert data["cycle_id"] == "eligibility-2027-01-12"

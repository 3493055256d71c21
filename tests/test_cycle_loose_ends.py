"""Issue 11's loose ends of planning every meeting cycle (SPEC §3.6): each warning shown once per
view, an unknown DUE never shown as a date, district warnings said, one rule for an open request,
and one date-rule parser."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
from calendars import context, student
from cli_helpers import cli, state_file
from click.testing import Result
from cycle_plans import TODAY, annual, every_cycle

from iepsched.core.cyclerules import meeting_table, parse_cycle_rule
from iepsched.core.items import item_key
from iepsched.core.model import DistrictPlan, ItemState, PlanWarning, StudentPlan
from iepsched.core.rules import CYCLE_ANCHORS, DateRule, parse_rule, rules_from_toml
from iepsched.core.schedule import plan_district
from iepsched.inputs.calendars import load_calendar
from iepsched.outputs.csvreport import compliance_csv
from iepsched.outputs.render import (
    all_csv,
    all_json,
    all_table,
    at_risk_lines,
    cycle_rows,
    plan_json,
    plan_table,
)
from iepsched.outputs.report import html_report
from iepsched.state.store import StateStore

CALENDARS = Path(__file__).resolve().parents[1] / "config" / "calendars"
PV = load_calendar(CALENDARS / "usd901-prairie-valley.toml")  # 2026-27 and 2027-28
ANNUAL_W = PlanWarning("milestone_overdue", "Send the written notice was due 2026-11-22.")
ELIG_W = PlanWarning("at_risk", "Eligibility meeting: the evaluation report is late.")


def _with_warnings() -> StudentPlan:
    """A plan shaped as the planner makes it: the student's plan carries every cycle's warnings
    (its own first), and the eligibility cycle its own."""
    top = every_cycle()
    others = tuple(
        replace(c, warnings=(ELIG_W,)) if c.cycle_type == "eligibility" else c for c in top.others
    )
    return replace(top, others=others, warnings=(ANNUAL_W, ELIG_W))


def _report(*plans: StudentPlan) -> str:
    return html_report(
        DistrictPlan(TODAY, tuple(plans)),
        district_name="Test",
        today=TODAY,
        contacts_by_student={},
        generated_at=dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC),
        inline_timelines=2000,
    )


def _section(html: str, section: str) -> str:
    """From the section's start to the next top-level section's (cycle sections nest)."""
    rest = html.split(f'<section id="{section}"', 1)[1]
    return rest.split('<section id="', 1)[0]


def test_plan_table_shows_each_warning_once() -> None:
    """`plan`'s table prints another cycle's warning under that cycle only, not also under the
    plan's own cycle."""
    text = plan_table(_with_warnings())
    assert text.count("evaluation report is late") == 1
    assert text.count("written notice was due") == 1


def test_plan_json_cycles_list_each_warning_in_its_own_cycle() -> None:
    """JSON: the top-level `warnings` are the student's (every cycle's); each `cycles` entry has
    only its own, so a warning is in exactly one entry."""
    data = json.loads(json.dumps(plan_json(_with_warnings())))
    assert data["warnings"] == [ANNUAL_W.text, ELIG_W.text]
    by_type = {c["type"]: c["warnings"] for c in data["cycles"]}
    assert by_type["annual"] == [ANNUAL_W.text]
    assert by_type["eligibility"] == [ELIG_W.text]


def test_report_timeline_and_attention_show_each_warning_once() -> None:
    """The report's timeline article and its attention table list each warning once (the
    eligibility cycle's in its own section and row)."""
    plan = replace(_with_warnings(), cycle_status="at_risk")
    html = _report(plan)
    assert _section(html, "timelines").count("evaluation report is late") == 1
    assert _section(html, "attention").count("evaluation report is late") == 1
    assert _section(html, "attention").count("written notice was due") == 1


def test_attention_line_quotes_the_cycles_own_warning() -> None:
    """The demo's attention line of the plan's own cycle quotes its own first warning, never
    another cycle's."""
    plan = replace(_with_warnings(), cycle_status="at_risk", warnings=(ELIG_W,))
    text = " ".join(at_risk_lines([plan]))
    # The eligibility row quotes its warning, which names its meeting (said once, not after
    # the type's label again); the annual row quotes nothing of it.
    assert text.count("Eligibility meeting:") == 1
    assert "[at_risk] Eligibility meeting:" in text
    assert "initial evaluation: Eligibility meeting:" not in text


def test_a_student_with_one_cycle_keeps_all_its_warnings() -> None:
    """A plan with no other cycles shows every warning it has."""
    plan = replace(annual(), warnings=(ANNUAL_W,), status="at_risk")
    assert "written notice was due" in plan_table(plan)
    assert plan_json(plan)["cycles"][0]["warnings"] == [ANNUAL_W.text]


# -- 2. a DUE in a school year not loaded -------------------------------------------------------

UNKNOWN_AT = dt.date(2028, 4, 10)


def _unknown_due() -> StudentPlan:
    """An eligibility cycle whose 60-school-day clock runs into 2028-29, which is not loaded."""
    # Consent Mon 2028-04-03: the 2027-28 year ends Fri May 19 (tests/test_cycle_planning.py).
    s = student(due_date=None, initial_consent_date=dt.date(2028, 4, 3))
    found = plan_district([s], context(PV), today=UNKNOWN_AT).get(s.student_id)
    assert found is not None and found.cycle_type == "eligibility"
    return found


def test_planner_says_the_due_is_unknown() -> None:
    """The planner marks a cycle whose DUE needs a school year not loaded, and warns naming it."""
    p = _unknown_due()
    assert not p.due_known and p.status == "unplanned"
    assert any("2028-29" in w for w in p.warning_texts)


def test_plan_views_never_show_the_stand_in_due() -> None:
    """`plan`'s table, JSON and `plan --all` (table, CSV, JSON) show the unknown DUE as unknown,
    never the cycle's start date standing in for it."""
    p = _unknown_due()
    guess = p.due_date.isoformat()
    data = plan_json(p)
    assert data["due_date"] is None and data["cycles"][0]["due_date"] is None
    table = plan_table(p)
    assert "due unknown" in table and guess not in table.split("\n\n")[0]
    rows = cycle_rows([p])
    assert "unknown" in all_table(rows).splitlines()[2] and guess not in all_table(rows)
    assert next(iter(csv.DictReader(io.StringIO(all_csv(rows)))))["due_date"] == ""
    assert json.loads(all_json(rows))[0]["due_date"] is None


def test_report_and_compliance_csv_never_show_the_stand_in_due() -> None:
    """The report's timeline and attention row say the DUE is unknown; the compliance CSV leaves
    its due_date empty."""
    p = _unknown_due()
    html = _report(p)
    assert "due&nbsp;unknown" in _section(html, "attention")
    assert "<dd>unknown</dd>" in _section(html, "timelines")
    rows = list(csv.DictReader(io.StringIO(compliance_csv(DistrictPlan(UNKNOWN_AT, (p,))))))
    assert rows and all(r["due_date"] == "" for r in rows)


# -- 4. one rule for an open amendment request ---------------------------------------------------


def _held_in_state(config: Path, milestone: str, **row: object) -> None:
    """Record in the state, as sync would, S1001's amendment of 2026-11-30 as held: its meeting
    past, or its amendment_signed task completed."""
    cycle = "amendment-2026-11-30"
    fields: dict[str, object] = {
        "key": item_key("S1001", cycle, milestone),
        "student_id": "S1001",
        "cycle_id": cycle,
        "milestone": milestone,
        "kind": "event" if milestone == "meeting" else "task",
        "mailbox": "cm@example.org",
        "state": "live",
    }
    fields.update(row)
    with StateStore(state_file(config)) as store:
        store.save([ItemState(**fields)])  # type: ignore[arg-type]


def _request(config: Path, today: str, *extra: str) -> Result:
    args = ("meeting", "request", "S1001", "--type", "amendment", "--reason", "r", *extra)
    return cli(config, *args, "--today", today)


def _states(config: Path, today: str) -> list[str]:
    listed = cli(config, "meeting", "list", "S1001", "--format", "json", "--today", today)
    return [str(r["state"]) for r in json.loads(listed.stdout)]


def test_a_signed_written_amendment_closes_its_request(sample_config: Path) -> None:
    """Once the written amendment is signed (its task completed in the state), `meeting list`
    says signed and a new amendment request is logged, past the old one's due date or not."""
    assert _request(sample_config, "2026-11-30", "--without-meeting").exit_code == 0
    assert _states(sample_config, "2026-12-20") == ["overdue"]
    done = dt.date(2026, 12, 3)
    _held_in_state(sample_config, "amendment_signed", state="completed", completed_on=done)
    assert _states(sample_config, "2026-12-20") == ["signed"]
    assert _request(sample_config, "2026-12-20").exit_code == 0
    assert _states(sample_config, "2026-12-20") == ["signed", "open"]


def test_a_held_amendment_meeting_closes_its_request(sample_config: Path) -> None:
    """An amendment meeting in the past is held: its request reads held and no longer blocks."""
    assert _request(sample_config, "2026-11-30").exit_code == 0
    start = dt.datetime(2026, 12, 8, 15, 30, tzinfo=dt.UTC)
    _held_in_state(sample_config, "meeting", start=start, end=start + dt.timedelta(hours=1))
    assert _states(sample_config, "2026-12-07") == ["open"]
    assert _request(sample_config, "2026-12-07").exit_code == 2
    assert _states(sample_config, "2026-12-10") == ["held"]
    assert _request(sample_config, "2026-12-10").exit_code == 0


# -- 5. one date-rule parser ----------------------------------------------------------------------


def test_cycle_rules_are_date_rules_from_the_one_parser() -> None:
    """A cycle's rule is a `rules.DateRule` from `rules.parse_rule`, with the cycles' anchors."""
    parsed = parse_cycle_rule("school(C, +5)")
    assert isinstance(parsed, DateRule) and parsed == parse_rule("school(C, 5)", CYCLE_ANCHORS)
    assert (parsed.op, parsed.anchor, parsed.n) == ("school", "C", 5)
    assert all(isinstance(m.rule, DateRule) for m in meeting_table("transfer", out_of_state=True))


@pytest.mark.parametrize("anchor", ["C", "E", "T", "REQ"])
def test_an_annual_rule_on_a_cycle_anchor_is_refused_naming_the_key(anchor: str) -> None:
    """A rules TOML's milestone may not date from an anchor the annual cycle lacks: the problem
    names the milestone's rule key and the anchors it may use; the default rule is kept."""
    rules, problems = rules_from_toml(
        {"milestones": {"draft_iep": {"rule": f"school({anchor}, -3)"}}}, "rules.toml"
    )
    (problem,) = problems
    assert problem.where == "rules.toml [milestones.draft_iep] rule"
    assert f"{anchor} is not an anchor" in problem.message
    assert "M, DUE, NEXT_DUE, R" in problem.message
    assert next(m for m in rules.milestones if m.key == "draft_iep").rule == parse_rule(
        "school(M, -3)"
    )


def test_the_annual_table_still_accepts_its_anchors() -> None:
    """Every annual anchor still parses in a rules TOML, as before."""
    for anchor in ("M", "DUE", "NEXT_DUE", "R"):
        _, problems = rules_from_toml(
            {"milestones": {"draft_iep": {"rule": f"cal({anchor}, -3)"}}}, "rules.toml"
        )
        assert problems == []

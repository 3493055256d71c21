"""Every open meeting cycle (SPEC §3.6) in the HTML report and the compliance CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import replace

from cycle_plans import HOSTILE, TODAY, annual, every_cycle, student

from iepsched.core.model import DistrictPlan
from iepsched.outputs.csvreport import COMPLIANCE_COLUMNS, compliance_csv
from iepsched.outputs.report import html_report
from iepsched.outputs.wording import next_action


def _report(*plans: object, inline: int = 2000) -> str:
    return html_report(
        DistrictPlan(TODAY, tuple(plans)),  # type: ignore[arg-type]
        district_name="Test",
        today=TODAY,
        contacts_by_student={},
        generated_at=dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC),
        inline_timelines=inline,
    )


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_report_timeline_shows_each_cycle_its_meeting_and_steps() -> None:
    """The student's timeline has a section per other cycle: type, DUE, status, meeting with its
    purposes, and steps; a combined reevaluation points at the annual meeting."""
    html = _report(every_cycle())
    text = _text(html)
    assert "Meeting 2027-01-06 15:30 (booked): annual review and reevaluation" in text
    assert "Reevaluation On track Reevaluation due 2027-01-25" in text
    assert "meeting: 2027-01-06 15:30 (booked): annual review and reevaluation" in text
    assert "Eligibility / initial evaluation At risk" in text
    assert "Complete the evaluation report" in text
    assert "Transfer IEP Unplanned Transfer IEP due 2028-09-30 · meeting: not placed" in text
    assert "meeting: no meeting (written amendment)" in text
    assert text.count("Request consent") == 1  # the combined reevaluation's step, once


def test_report_attention_has_a_row_per_cycle_not_on_track() -> None:
    """Needs attention lists each cycle that is not on track, with its type and own action."""
    html = _report(every_cycle())
    section = html.split('id="attention"')[1].split("</section>")[0]
    assert '(<span id="n-attention">3</span>)' in html
    rows = section.split('<tr class="flt"')[1:]
    assert [r.split("due&nbsp;")[0].rsplit("<td>", 1)[1] for r in rows] == [
        "Transfer IEP<br>",
        "IEP amendment<br>",
        "Eligibility / initial evaluation<br>",
    ]
    assert 'data-status="unplanned"' in rows[0] and 'data-status="at_risk"' in rows[2]


def test_report_calendar_marks_each_meeting_with_its_purposes() -> None:
    """The month calendar holds the eligibility meeting too; shared meetings name both purposes."""
    html = _report(every_cycle())
    cal = html.split('id="calendar"')[1].split("</section>")[0]
    assert "December 2026 — 1 meeting" in cal and "January 2027 — 1 meeting" in cal
    assert '<span class="purpose">eligibility / initial evaluation</span>' in cal
    assert '<span class="purpose">annual review and reevaluation</span>' in cal
    plain = _report(annual()).split('id="calendar"')[1]
    assert 'class="purpose"' not in plain


def test_report_counts_every_cycles_meeting_and_compact_timelines() -> None:
    """The summary counts the eligibility meeting; compact timelines hold the cycles' steps."""
    html = _report(every_cycle(), inline=0)
    assert 'data-facts="1 1 1 0 ' in html  # 1 proposed (eligibility), 1 booked (annual)
    # annual; the reevaluation's own step; eligibility, transfer, amendment
    assert html.count('<details class="tl"') == 5


def test_report_escapes_hostile_names_in_cycle_sections() -> None:
    """Roster values in a student with several cycles never become markup."""
    html = _report(every_cycle(student(first_name=HOSTILE, building=HOSTILE)))
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;amp;" in html


def test_next_action_names_the_cycles_meeting() -> None:
    """An overdue cycle's action names its own meeting, a written amendment its signature."""
    elig = replace(every_cycle().others[1], status="overdue")
    assert next_action(elig).startswith("Hold the eligibility meeting now")
    written = replace(every_cycle().others[-1], status="overdue")
    assert next_action(written) == "Get the written amendment signed: it was due 2026-12-10."


def test_compliance_csv_has_a_row_per_cycle_step_with_its_type() -> None:
    """The existing columns come first, unchanged; each cycle's steps are rows naming its type,
    id and own status; student_status is the student's worst."""
    rows = list(csv.DictReader(io.StringIO(compliance_csv(DistrictPlan(TODAY, (every_cycle(),))))))
    assert list(rows[0]) == list(COMPLIANCE_COLUMNS)
    assert list(COMPLIANCE_COLUMNS)[-3:] == ["cycle_type", "cycle_id", "cycle_status"]
    by_type: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_type.setdefault(r["cycle_type"], []).append(r)
    assert set(by_type) == {
        "annual",
        "reevaluation",
        "eligibility",
        "transfer",
        "amendment",
    }
    assert all(r["student_status"] == "unplanned" for r in rows)
    elig = by_type["eligibility"]
    assert [r["milestone"] for r in elig] == [
        "evaluation_plan",
        "meeting",
        "evaluation_complete",
    ]
    assert {(r["due_date"], r["meeting_date"], r["cycle_status"]) for r in elig} == {
        ("2027-01-12", "2026-12-15", "at_risk")
    }
    (reeval,) = by_type["reevaluation"]  # its consent is the annual's row
    assert reeval["milestone"] == "reeval_due" and reeval["meeting_date"] == "2027-01-06"
    assert {r["meeting_state"] for r in by_type["amendment"]} == {"none"}
    assert {r["cycle_status"] for r in by_type["amendment"]} == {"at_risk"}


def test_each_cycle_has_its_own_next_action_in_the_timeline() -> None:
    """The top's action is its own (on track: none), each other cycle's is in its section."""
    html = _report(every_cycle())
    article = html.split('<article class="student')[1].split("</article>")[0]
    top_part = article.split('<section class="cycle')[0]
    assert 'class="action"' not in top_part  # the annual review is on track
    elig = article.split('<section class="cycle cycle-eligibility">')[1].split("</section>")[0]
    assert '<p class="action">Do now: Write the evaluation plan (was due 2026-10-08).' in elig


def test_demo_attention_lines_name_the_cycle() -> None:
    """The demo's list of what to act on has a line per cycle not on track, named by type."""
    from iepsched.outputs.render import at_risk_lines

    lines = at_risk_lines([every_cycle()])
    assert [line.split(" ", 2)[1] for line in lines] == ["[unplanned]", "[at_risk]", "[at_risk]"]
    assert lines[0].startswith("S1 [unplanned] transfer IEP:")
    assert at_risk_lines([annual()]) == []


def test_a_combined_reevaluation_has_no_attention_line_of_its_own() -> None:
    """A reevaluation held at the annual meeting, late or not, is acted on through the annual
    review's line and row (its steps and warnings are the annual cycle's): no empty line of its
    own in the demo's list or the report's attention table."""
    from iepsched.outputs.render import at_risk_lines
    from iepsched.outputs.reportcycles import attention_cycles

    plan = every_cycle()
    late = tuple(
        replace(c, status="at_risk", cycle_status="at_risk") if c.combined_with else c
        for c in plan.others
    )
    plan = replace(plan, others=late)
    assert not any("reevaluation" in line for line in at_risk_lines([plan]))
    assert all(c.combined_with is None for _, c in attention_cycles([plan]))
    assert sorted(c.cycle_type for _, c in attention_cycles([plan])) == [
        "amendment",
        "eligibility",
        "transfer",
    ]

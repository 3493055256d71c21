"""Meetings held, timely and late, in the HTML report and the CSVs (SPEC §3.3, §6), from a
hand-made state: held on time, held late with a reason, held late without one, two school years."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from cli_helpers import cli, state_file

from iepsched.core.model import Cycle, Delay, DistrictPlan
from iepsched.core.timeliness import HeldMeeting, YearTimeliness, timeliness
from iepsched.outputs.csvreport import (
    COMPLIANCE_COLUMNS,
    TIMELINESS_COLUMNS,
    compliance_csv,
    timeliness_csv,
)
from iepsched.outputs.reportheld import held_section
from iepsched.state.store import StateStore

D = dt.date
TODAY = "2026-11-30"
HOSTILE_REASON = '=HYPERLINK("http://x.example/","<script>alert(1)</script>")'


def read(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline="")))


@pytest.fixture
def held_state(sample_config: Path) -> Path:
    """The sample district with four held meetings in its state: S1001 late with a reason
    (2025-26), S1002 on time (2025-26), S1009 (another case manager) late without a reason
    (2025-26) and S1001's earlier meeting, late, in 2024-25."""
    with StateStore(state_file(sample_config)) as store:
        store.save_cycles(
            [
                Cycle("S1001", "annual", "2024-12-15", D(2024, 12, 15), D(2024, 12, 20)),
                Cycle("S1001", "annual", "2025-12-15", D(2025, 12, 15), D(2026, 1, 7)),
                Cycle("S1002", "annual", "2026-02-15", D(2026, 2, 15), D(2026, 2, 9)),
                Cycle("S1009", "annual", "2026-01-26", D(2026, 1, 26), D(2026, 2, 2)),
            ]
        )
        store.log_delay(Delay("S1001", D(2025, 12, 10), "LEA out for surgery", D(2026, 1, 7)))
    return sample_config


def test_report_writes_held_meetings_in_every_file(held_state: Path, tmp_path: Path) -> None:
    """The HTML, the compliance CSV and the timeliness CSV count the same held meetings."""
    html, comp, late = tmp_path / "r.html", tmp_path / "c.csv", tmp_path / "t.csv"
    result = cli(
        held_state,
        "report",
        "--html",
        str(html),
        "--csv",
        str(comp),
        "--timeliness-csv",
        str(late),
        "--today",
        TODAY,
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {late}" in result.output
    rows = read(late.read_text("utf-8-sig"))
    assert list(rows[0]) == list(TIMELINESS_COLUMNS)
    assert [tuple(r.values()) for r in rows] == [
        ("2024-25", "S1001", "2024-12-15", "2024-12-20", "5", "late", "no reason logged"),
        ("2025-26", "S1001", "2025-12-15", "2026-01-07", "23", "late", "LEA out for surgery"),
        ("2025-26", "S1009", "2026-01-26", "2026-02-02", "7", "late", "no reason logged"),
        ("2025-26", "S1002", "2026-02-15", "2026-02-09", "0", "timely", ""),
    ]
    compliance = read(comp.read_text("utf-8-sig"))
    assert list(compliance[0]) == list(COMPLIANCE_COLUMNS)  # the SPEC's columns, unchanged
    held = [r for r in compliance if r["milestone"].startswith("meeting_held:")]
    assert [
        (r["milestone"], r["student_id"], r["due_date"], r["milestone_date"], r["milestone_status"])
        for r in held
    ] == [
        ("meeting_held:2024-25", "S1001", "2024-12-15", "2024-12-20", "late"),
        ("meeting_held:2025-26", "S1001", "2025-12-15", "2026-01-07", "late"),
        ("meeting_held:2025-26", "S1009", "2026-01-26", "2026-02-02", "late"),
        ("meeting_held:2025-26", "S1002", "2026-02-15", "2026-02-09", "timely"),
    ]
    assert {r["meeting_state"] for r in held} == {"held"}
    page = html.read_text("utf-8")
    section = page[page.index('<section id="held">') : page.index('<section id="calendar">')]
    # Newest school year first, each with its counts and its late meetings.
    assert section.index("School year 2025-26") < section.index("School year 2024-25")
    assert re.search(
        r'data-held="held">3</span> · timely: <span data-held="timely">1</span> · '
        r'late: <span data-held="late">2</span>',
        section,
    )
    assert "LEA out for surgery" in section and "no reason logged" in section
    assert "<td>23</td>" in section and "<td>7</td>" in section
    assert "Thornbury" not in section  # initials only, never names, outside the timelines


def test_caseload_report_counts_only_its_students(held_state: Path, tmp_path: Path) -> None:
    """--case-manager keeps that caseload's held meetings only, in the CSV and the page."""
    late, html = tmp_path / "t.csv", tmp_path / "r.html"
    result = cli(
        held_state,
        "report",
        "--timeliness-csv",
        str(late),
        "--html",
        str(html),
        "--case-manager",
        "cm.okafor@pvsec.example.org",
        "--today",
        TODAY,
    )
    assert result.exit_code == 0, result.output
    assert [r["student_id"] for r in read(late.read_text("utf-8-sig"))] == ["S1009"]
    page = html.read_text("utf-8")
    section = page[page.index('<section id="held">') : page.index('<section id="calendar">')]
    assert "S1009" in section and "S1001" not in section


def test_page_filters_apply_to_held_meetings(held_state: Path, tmp_path: Path) -> None:
    """Late rows carry their student's case manager and building for the filters, and the
    per-caseload counts the script sums are on the page."""
    html = tmp_path / "r.html"
    cli(held_state, "report", "--html", str(html), "--today", TODAY)
    page = html.read_text("utf-8")
    assert re.search(
        r'<tr class="flt-cl" data-cm="cm.okafor@pvsec.example.org" '
        r'data-building="Prairie Valley High"><td>S1009',
        page,
    )
    counts = re.search(r'<script type="application/json" id="held-counts">(.*?)</script>', page)
    assert counts is not None
    assert sorted(json.loads(counts.group(1))) == [
        ["2024-25", "cm.rivera@pvsec.example.org", "Prairie Valley High", 0, 1],
        ["2025-26", "cm.okafor@pvsec.example.org", "Prairie Valley High", 0, 1],
        ["2025-26", "cm.rivera@pvsec.example.org", "Prairie Valley High", 1, 1],
    ]


def test_report_without_held_meetings_says_so(sample_config: Path, tmp_path: Path) -> None:
    """No meeting held yet: the section says so, and the timeliness CSV is just its header."""
    html, late = tmp_path / "r.html", tmp_path / "t.csv"
    result = cli(
        sample_config,
        "report",
        "--html",
        str(html),
        "--timeliness-csv",
        str(late),
        "--today",
        TODAY,
    )
    assert result.exit_code == 0, result.output
    assert "No meeting held is recorded yet." in html.read_text("utf-8")
    assert late.read_bytes() == ("\ufeff" + ",".join(TIMELINESS_COLUMNS) + "\r\n").encode()


def _hostile_years() -> tuple[YearTimeliness, ...]:
    held = [HeldMeeting("S1", "2026-12-15", D(2026, 12, 15), D(2027, 1, 6))]
    return timeliness(held, [Delay("S1", D(2027, 1, 6), HOSTILE_REASON)])


def test_reason_is_escaped_in_the_page() -> None:
    """A logged reason is text in the page, never markup."""
    page = "".join(held_section(_hostile_years(), {}))
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "not on the roster" in page  # a student who left the roster is still counted


def test_reason_cannot_become_a_formula_in_either_csv() -> None:
    """The reason (and every other cell) is neutralised in the timeliness CSV."""
    years = _hostile_years()
    (row,) = read(timeliness_csv(years))
    assert row["reason"] == "'" + HOSTILE_REASON
    text = compliance_csv(DistrictPlan(D(2027, 1, 7), ()), held=years)
    (held,) = read(text)
    assert held["milestone_status"] == "late" and held["student_status"] == ""

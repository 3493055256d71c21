"""CSV outputs are safe in Excel: no formula injection, values round-trip, BOM, atomic writes."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import stat
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hostile import HOSTILE, hostile_config

from iepsched.core.model import Contact, DistrictPlan
from iepsched.fs.atomic import PRIVATE, open_atomic, write_atomic
from iepsched.inputs.config import load_config
from iepsched.outputs.csvreport import (
    COMPLIANCE_COLUMNS,
    CONTACT_COLUMNS,
    compliance_csv,
    compliance_rows,
    contacts_csv,
    write_compliance_csv,
    write_contacts_csv,
)
from iepsched.outputs.csvsafe import neutralise
from iepsched.outputs.render import all_csv, cycle_rows
from iepsched.service.district import load_district, plan_with_state

TODAY = dt.date(2026, 11, 30)
CHICAGO = ZoneInfo("America/Chicago")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> DistrictPlan:
    district = load_district(load_config(hostile_config(tmp_path_factory.mktemp("h"))))
    return plan_with_state(district, today=TODAY)


HOSTILE_CONTACTS = (
    Contact(
        "H001",
        dt.datetime(2026, 11, 20, 9, 30, tzinfo=CHICAGO),
        "phone",
        '=HYPERLINK("http://x","click")',
        "reached",
        note="+SUM(A1:A9)\nsecond line, with a comma",
    ),
    Contact(
        "H002",
        dt.datetime(2026, 11, 21, 16, 0, tzinfo=CHICAGO),
        "email",
        'O\'Brien, "Jr"',
        "left_message",
        note="@import\tcmd|' /C calc'!A0",
    ),
    Contact(
        "H003",
        dt.datetime(2026, 11, 22, 8, 0, tzinfo=CHICAGO),
        "letter",
        "-2+3",
        "no_answer",
        note="\tleading tab",
        source="\rcr",
    ),
)


def read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("O'Brien", "O'Brien"),
        ("", ""),
        ("2026-11-30", "2026-11-30"),
        ("a=b", "a=b"),
    ],
)
def test_neutralise(cell: str, safe: str) -> None:
    """Only cells that start like a formula get the leading quote; others are untouched."""
    assert neutralise(cell) == safe


def _assert_safe(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), cell


def test_compliance_csv_neutralises_every_formula(plan: DistrictPlan) -> None:
    """No cell of the compliance CSV starts with = + - @ tab or CR."""
    rows = read(compliance_csv(plan))
    assert rows[0] == list(COMPLIANCE_COLUMNS)
    _assert_safe(rows)


def test_contacts_csv_neutralises_every_formula() -> None:
    """No cell of the contact-log CSV starts with = + - @ tab or CR."""
    rows = read(contacts_csv(HOSTILE_CONTACTS))
    assert rows[0] == list(CONTACT_COLUMNS)
    _assert_safe(rows)
    assert rows[1][3] == '\'=HYPERLINK("http://x","click")'
    assert rows[3][6] == "'\rcr"


def test_names_round_trip_through_csv_reader(plan: DistrictPlan) -> None:
    """Names with commas, quotes and newlines come back whole (formula ones with the quote)."""
    rows = read(compliance_csv(plan))
    header = rows[0]
    names = {
        (r[header.index("student_id")], r[header.index("first_name")], r[header.index("last_name")])
        for r in rows[1:]
    }
    assert names == {(sid, neutralise(first), neutralise(last)) for sid, first, last, _ in HOSTILE}
    assert ("H002", "Seán", 'O\'Brien, "Jr"') in names
    assert ("H003", "Ann\tMarie", "'@Evil") in names
    assert all(len(r) == len(header) for r in rows)


def test_contact_notes_round_trip() -> None:
    """Multi-line notes with commas stay in one quoted cell."""
    rows = read(contacts_csv(HOSTILE_CONTACTS))
    assert len(rows) == 4
    assert rows[1][5] == "'+SUM(A1:A9)\nsecond line, with a comma"
    assert rows[2][3] == 'O\'Brien, "Jr"'
    assert rows[1][1] == "2026-11-20T09:30-06:00"


def test_compliance_rows_one_per_student_and_milestone(plan: DistrictPlan) -> None:
    """One row per student and milestone, with the student's status, meeting and contacts."""
    rows = compliance_rows(plan)
    assert len(rows) == sum(max(len(p.milestones), 1) for p in plan.plans)
    first = plan.plans[0]
    mine = [r for r in rows if r["student_id"] == first.student_id]
    assert [r["milestone"] for r in mine] == [m.key for m in first.milestones]
    assert {r["student_status"] for r in mine} == {first.status}
    assert {r["contacts_met"] for r in mine} == {"no"}
    assert set(rows[0]) == set(COMPLIANCE_COLUMNS)


def test_written_files_have_bom_and_crlf(plan: DistrictPlan, tmp_path: Path) -> None:
    """Written CSVs start with a UTF-8 BOM (Excel) and use CRLF between records."""
    compliance = tmp_path / "compliance.csv"
    contacts = tmp_path / "contacts.csv"
    write_compliance_csv(compliance, plan)
    write_contacts_csv(contacts, HOSTILE_CONTACTS)
    for path in (compliance, contacts):
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")
        assert data.split(b"\r\n")[0].decode("utf-8-sig").startswith("student_id,")
        rows = read(data.decode("utf-8-sig"))
        _assert_safe(rows)
    assert read(compliance.read_text("utf-8-sig")) == read(compliance_csv(plan))


def test_write_atomic_replaces_whole_and_cleans_up(tmp_path: Path) -> None:
    """An atomic write replaces the file in one step and leaves no temp file, even on failure."""
    target = tmp_path / "out.csv"
    target.write_text("old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_plan_all_csv_neutralises_every_formula(plan: DistrictPlan) -> None:
    """`plan --all --format csv` uses the same guard: a formula-like building is neutralised."""
    first = plan.plans[0]
    evil = dataclasses.replace(
        first, student=dataclasses.replace(first.student, building="=HYPERLINK(1)")
    )
    rows = read(all_csv(cycle_rows([evil, *plan.plans[1:]])))
    _assert_safe(rows)
    assert rows[1][rows[0].index("building")] == "'=HYPERLINK(1)"


def test_open_atomic_streams_privately_and_cleans_up(tmp_path: Path) -> None:
    """A streamed write is private (0600), replaces the file only when the block ends, and on
    an error leaves the old file and no temporary file behind."""
    target = tmp_path / "report.html"
    target.write_text("old")
    with open_atomic(target) as out:
        out.write("new ")
        assert target.read_text() == "old"  # readers still see the old file
        out.write("page")
    assert target.read_text() == "new page"
    assert stat.S_IMODE(target.stat().st_mode) == PRIVATE
    with pytest.raises(RuntimeError), open_atomic(target) as out:
        out.write("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "new page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]

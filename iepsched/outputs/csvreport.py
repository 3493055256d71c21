"""The coordinators' CSVs: compliance (a row per student and milestone), the contact log and the
meetings held, timely or late (SPEC §3.3, §6).

Every cell passes through `csvsafe.neutralise`, so roster values can never become formulas; files
are written atomically, UTF-8 with a BOM so Excel reads them as UTF-8. The compliance CSV is
streamed row by row (a 100,000-student district has some two million rows), and it starts with a
`skipped_row` row for every roster row that could not be planned, so a coordinator filtering the
file sees who is missing (SPEC §2.2). It ends with a `meeting_held:YEAR` row per meeting held
(milestone_status `timely` or `late`), so the file counts each school year's meetings held; the
timeliness CSV has their days late and reasons.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from ..core.model import Contact, DistrictPlan, SkippedRow, Student, StudentPlan
from ..core.timeliness import YearTimeliness
from ..fs.atomic import open_atomic, write_atomic
from .csvsafe import neutralise
from .cycleview import due_iso, extra_milestones, view_status, written_amendment

COMPLIANCE_COLUMNS: tuple[str, ...] = (
    "student_id",
    "last_name",
    "first_name",
    "building",
    "case_manager_email",
    "due_date",
    "student_status",
    "meeting_date",
    "meeting_state",
    "milestone",
    "milestone_date",
    "milestone_status",
    "contacts_met",
    # Every kind of meeting (SPEC §3.6): the rows of each open cycle name it, after the columns
    # districts' spreadsheets already read (student_status stays the student's worst).
    "cycle_type",
    "cycle_id",
    "cycle_status",
)
CONTACT_COLUMNS: tuple[str, ...] = (
    "student_id",
    "at",
    "method",
    "with_whom",
    "outcome",
    "note",
    "source",
)

TIMELINESS_COLUMNS: tuple[str, ...] = (
    "school_year",
    "student_id",
    "due_date",
    "held_on",
    "days_late",
    "status",
    "reason",
)


SKIPPED_STATUS = "skipped_row"  # student_status of a roster row that was not planned
HELD_MILESTONE = "meeting_held"  # milestone of a held meeting's row: meeting_held:2026-27


class _Writable(Protocol):
    def write(self, text: str, /) -> object: ...


def _write_csv(out: _Writable, columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> None:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([neutralise(row.get(column, "")) for column in columns])


def _csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> str:
    buffer = io.StringIO()
    _write_csv(buffer, columns, rows)
    return buffer.getvalue()


def _contacts_met(plan: StudentPlan) -> str:
    req = plan.contacts
    if req is None or req.deadline is None:
        return ""
    return "yes" if req.met else "no"


def compliance_rows(
    district_plan: DistrictPlan,
    skipped: Sequence[SkippedRow] = (),
    *,
    held: Sequence[YearTimeliness] = (),
    students: Mapping[str, Student] | None = None,
) -> list[dict[str, str]]:
    """One row per student and milestone (a student without milestones gets one row)."""
    return list(iter_compliance_rows(district_plan, skipped, held=held, students=students))


def iter_compliance_rows(
    district_plan: DistrictPlan,
    skipped: Sequence[SkippedRow] = (),
    *,
    held: Sequence[YearTimeliness] = (),
    students: Mapping[str, Student] | None = None,
) -> Iterator[dict[str, str]]:
    """The compliance rows one at a time: first a `skipped_row` row per skipped roster row (its id
    where readable and its line, nothing else of the row), then each student's milestones, then
    a row per meeting held (`held_rows`)."""
    blank = dict.fromkeys(COMPLIANCE_COLUMNS, "")
    for row in skipped:
        yield blank | {
            "student_id": row.student_id or "",
            "student_status": SKIPPED_STATUS,
            "milestone": f"roster line {row.line}" if row.line is not None else "",
        }
    for plan in district_plan.plans:
        for cycle in plan.cycles:
            yield from _cycle_rows(plan, cycle)
    statuses = {p.student_id: p.status for p in district_plan.plans}
    yield from held_rows(held, students or {}, statuses)


def _cycle_rows(top: StudentPlan, cycle: StudentPlan) -> Iterator[dict[str, str]]:
    """A cycle's rows: one per step (a cycle without steps of its own gets one row). A written
    amendment's meeting_state is `none` (no meeting by design, not an unplaced one)."""
    s = top.student
    meeting = cycle.meeting
    state = meeting.state if meeting else ("none" if written_amendment(cycle) else "")
    base = {
        "student_id": s.student_id,
        "last_name": s.last_name,
        "first_name": s.first_name,
        "building": s.building,
        "case_manager_email": s.case_manager_email,
        "due_date": due_iso(cycle) or "",  # empty while its school year is not loaded
        "student_status": top.status,
        "meeting_date": meeting.date.isoformat() if meeting else "",
        "meeting_state": state,
        "milestone": "",
        "milestone_date": "",
        "milestone_status": "",
        "contacts_met": _contacts_met(cycle),
        "cycle_type": cycle.cycle_type,
        "cycle_id": cycle.cycle_id or cycle.due_date.isoformat(),
        "cycle_status": view_status(cycle),
    }
    steps = extra_milestones(top, cycle)
    if not steps:
        yield base
    for m in steps:
        yield base | {
            "milestone": m.key,
            "milestone_date": m.date.isoformat() if m.date else "",
            "milestone_status": m.status,
        }


def held_rows(
    years: Sequence[YearTimeliness],
    students: Mapping[str, Student],
    statuses: Mapping[str, str],
) -> Iterator[dict[str, str]]:
    """The compliance CSV's row per meeting held (SPEC §6): milestone `meeting_held:YEAR`, dated
    the held day, status `timely` or `late`; due_date is the DUE it was held against. Names,
    building and case manager come from the roster (blank for a student no longer on it)."""
    for year in years:
        for m in year.meetings:
            s = students.get(m.student_id)
            yield {
                "student_id": m.student_id,
                "last_name": s.last_name if s else "",
                "first_name": s.first_name if s else "",
                "building": s.building if s else "",
                "case_manager_email": s.case_manager_email if s else "",
                "due_date": m.due_date.isoformat(),
                "student_status": statuses.get(m.student_id, ""),
                "meeting_date": m.held_on.isoformat(),
                "meeting_state": "held",
                "milestone": f"{HELD_MILESTONE}:{year.school_year}",
                "milestone_date": m.held_on.isoformat(),
                "milestone_status": m.status,
                "contacts_met": "",
            }


def compliance_csv(
    district_plan: DistrictPlan,
    skipped: Sequence[SkippedRow] = (),
    *,
    held: Sequence[YearTimeliness] = (),
    students: Mapping[str, Student] | None = None,
) -> str:
    """The compliance CSV as text (cells neutralised, CRLF line ends, no BOM)."""
    rows = iter_compliance_rows(district_plan, skipped, held=held, students=students)
    return _csv_text(COMPLIANCE_COLUMNS, rows)


def write_compliance_csv(
    path: Path,
    district_plan: DistrictPlan,
    skipped: Sequence[SkippedRow] = (),
    *,
    held: Sequence[YearTimeliness] = (),
    students: Mapping[str, Student] | None = None,
) -> None:
    """Write the compliance CSV atomically and row by row, UTF-8 with a BOM (for Excel)."""
    rows = iter_compliance_rows(district_plan, skipped, held=held, students=students)
    with open_atomic(path, encoding="utf-8-sig") as out:
        _write_csv(out, COMPLIANCE_COLUMNS, rows)


def timeliness_rows(years: Sequence[YearTimeliness]) -> Iterator[dict[str, str]]:
    """One row per meeting held, oldest school year first (SPEC §3.3): its DUE, held date, days
    late, `timely` or `late`, and for a late one the logged reason (or "no reason logged")."""
    for year in years:
        for m in year.meetings:
            yield {
                "school_year": year.school_year,
                "student_id": m.student_id,
                "due_date": m.due_date.isoformat(),
                "held_on": m.held_on.isoformat(),
                "days_late": str(m.days_late),
                "status": m.status,
                "reason": m.reason,
            }


def timeliness_csv(years: Sequence[YearTimeliness]) -> str:
    """The meetings-held CSV as text (cells neutralised, no BOM)."""
    return _csv_text(TIMELINESS_COLUMNS, timeliness_rows(years))


def write_timeliness_csv(path: Path, years: Sequence[YearTimeliness]) -> None:
    """Write the meetings-held CSV atomically, UTF-8 with a BOM (opens right in Excel)."""
    write_atomic(path, timeliness_csv(years).encode("utf-8-sig"))


def contact_rows(contacts: Iterable[Contact]) -> list[dict[str, str]]:
    """The contact log as rows of text (times in ISO 8601 with their offset)."""
    return [
        {
            "student_id": c.student_id,
            "at": c.at.isoformat(timespec="minutes"),
            "method": c.method,
            "with_whom": c.with_whom,
            "outcome": c.outcome,
            "note": c.note,
            "source": c.source,
        }
        for c in contacts
    ]


def contacts_csv(contacts: Iterable[Contact]) -> str:
    """The contact log as CSV text (cells neutralised, no BOM: for a terminal or a pipe)."""
    return _csv_text(CONTACT_COLUMNS, contact_rows(contacts))


def write_contacts_csv(path: Path, contacts: Iterable[Contact]) -> None:
    """Write the contact-log CSV atomically, UTF-8 with a BOM (opens right in Excel)."""
    write_atomic(path, contacts_csv(contacts).encode("utf-8-sig"))

"""The coordinators' CSVs: compliance (a row per student and milestone) and the contact log.

Every cell passes through `csvsafe.neutralise`, so roster values can never become formulas; files
are written atomically, UTF-8 with a BOM so Excel reads them as UTF-8.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ..core.model import Contact, DistrictPlan, StudentPlan
from ..fs.atomic import write_atomic
from .csvsafe import neutralise

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


def _csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([neutralise(row.get(column, "")) for column in columns])
    return buffer.getvalue()


def _contacts_met(plan: StudentPlan) -> str:
    req = plan.contacts
    if req is None or req.deadline is None:
        return ""
    return "yes" if req.met else "no"


def compliance_rows(district_plan: DistrictPlan) -> list[dict[str, str]]:
    """One row per student and milestone (a student without milestones gets one row)."""
    rows: list[dict[str, str]] = []
    for plan in district_plan.plans:
        s = plan.student
        meeting = plan.meeting
        base = {
            "student_id": s.student_id,
            "last_name": s.last_name,
            "first_name": s.first_name,
            "building": s.building,
            "case_manager_email": s.case_manager_email,
            "due_date": plan.due_date.isoformat(),
            "student_status": plan.status,
            "meeting_date": meeting.date.isoformat() if meeting else "",
            "meeting_state": meeting.state if meeting else "",
            "milestone": "",
            "milestone_date": "",
            "milestone_status": "",
            "contacts_met": _contacts_met(plan),
        }
        if not plan.milestones:
            rows.append(base)
        for m in plan.milestones:
            rows.append(
                base
                | {
                    "milestone": m.key,
                    "milestone_date": m.date.isoformat() if m.date else "",
                    "milestone_status": m.status,
                }
            )
    return rows


def compliance_csv(district_plan: DistrictPlan) -> str:
    """The compliance CSV as text (cells neutralised, CRLF line ends, no BOM)."""
    return _csv_text(COMPLIANCE_COLUMNS, compliance_rows(district_plan))


def write_compliance_csv(path: Path, district_plan: DistrictPlan) -> None:
    """Write the compliance CSV atomically, UTF-8 with a BOM so Excel reads it as UTF-8."""
    write_atomic(path, compliance_csv(district_plan).encode("utf-8-sig"))


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

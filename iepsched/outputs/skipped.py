"""Roster rows that were not planned, and the one sentence every output uses to name them; and
the district's own warnings (`district_notes`), announced the same way.

SPEC §2.2, no student disappears silently: stderr (`cli.skipped`), the HTML report and the
compliance CSV all say how many rows were skipped, their lines and the readable student ids. Only
the id is ever quoted, escaped and cut to 60 characters: a bad row's other cells hold names, birth
dates and phones.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ..core.model import SkippedRow

SHOWN = 60  # characters of an id a message may quote


def shown_id(student_id: str) -> str:
    """An id as a message may quote it: repr'd (control characters escaped), cut to 60."""
    cut = student_id if len(student_id) <= SHOWN else student_id[: SHOWN - 1] + "…"
    return repr(cut)


def skipped_summary(rows: Sequence[SkippedRow]) -> str:
    """The sentence naming skipped rows.

    E.g. "2 roster rows were skipped (lines 7, 12; student id 'S1007'; 1 with no readable id)".
    """
    lines = sorted({r.line for r in rows})
    ids = sorted({r.student_id for r in rows if r.student_id})
    count = len(rows)
    where = []
    if lines:
        where.append(f"line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))}")
    if ids:
        listed = ", ".join(shown_id(i) for i in ids)
        where.append(f"student id{'s' if len(ids) > 1 else ''} {listed}")
    unreadable = sum(1 for r in rows if not r.student_id)
    if unreadable:
        where.append(f"{unreadable} with no readable id")
    rows_word = "row was" if count == 1 else "rows were"
    return f"{count} roster {rows_word} skipped ({'; '.join(where)})"


def district_notes(warnings: Sequence[str], students: Collection[str] | None = None) -> list[str]:
    """The district plan's warnings (`DistrictPlan.warnings`, e.g. a student with no open meeting
    cycle) as the stderr lines `plan`, `report`, `export` and `sync` print after their output:
    no student disappears silently (SPEC §2.2). Each such warning starts with the student id
    ("S1: ..."); given `students` (a caseload, one student), only theirs are kept."""
    return [
        f"warning: {w}" for w in warnings if students is None or w.split(": ", 1)[0] in students
    ]

"""The report's "Meetings held: timely and late" section (SPEC §3.3, §6), written piece by piece."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence

from ..core.model import Student
from ..core.timeliness import NO_REASON, YearTimeliness
from .reportcal import escape as _e


def held_section(years: Sequence[YearTimeliness], students: Mapping[str, Student]) -> Iterator[str]:
    """ "Meetings held: timely and late" (SPEC §3.3, §6): per school year, newest first, the
    counts and a table of the late meetings with days late and the logged reason.

    The filters apply: each late row carries its student's case manager and building (`flt-cl`:
    the status filter does not hide it, as a held meeting has no status of its own), and the
    counts per (case manager, building) are written as JSON for the script to sum.
    """
    yield '<section id="held"><h2>Meetings held: timely and late</h2>'
    if not years:
        yield "<p>No meeting held is recorded yet.</p></section>"
        return
    counts: dict[tuple[str, str, str], list[int]] = {}
    for year in reversed(years):
        for m in year.meetings:
            s = students.get(m.student_id)
            key = (year.school_year, s.case_manager_email if s else "", s.building if s else "")
            tally = counts.setdefault(key, [0, 0])
            tally[m.status == "late"] += 1
        name = _e(year.school_year)
        yield (
            f'<div class="held-year" data-year="{name}"><h3>School year {name}</h3>'
            f'<p class="facts">Meetings held: <span data-held="held">{year.held}</span> · '
            f'timely: <span data-held="timely">{year.timely}</span> · '
            f'late: <span data-held="late">{len(year.late)}</span></p>'
        )
        if not year.late:
            yield "</div>"
            continue
        yield (
            '<table class="late"><thead><tr><th>Student</th><th>Building · case manager</th>'
            "<th>IEP due</th><th>Held</th><th>Days late</th><th>Reason logged</th></tr></thead>"
            "<tbody>"
        )
        for m in year.late:
            s = students.get(m.student_id)
            where = (
                f'{_e(s.building)}<br><span class="cm">{_e(s.case_manager_label)}</span>'
                if s
                else "not on the roster"
            )
            attrs = (
                f' data-cm="{_e(s.case_manager_email)}" data-building="{_e(s.building)}"'
                if s
                else ' data-cm="" data-building=""'
            )
            ini = f' <span class="ini">{_e(s.initials)}</span>' if s else ""
            reason_cls = ' class="noreason"' if m.reason == NO_REASON else ""
            yield (
                f'<tr class="flt-cl"{attrs}><td>{_e(m.student_id)}{ini}</td>'
                f'<td class="who">{where}</td><td class="nowrap">{_e(m.due_date.isoformat())}</td>'
                f'<td class="nowrap">{_e(m.held_on.isoformat())}</td><td>{m.days_late}</td>'
                f"<td{reason_cls}>{_e(m.reason)}</td>"
                "</tr>"
            )
        yield "</tbody></table></div>"
    # [year, case manager, building, timely, late]; "</" written "<\/" so no value ends the script.
    listed = json.dumps([[*k, *v] for k, v in counts.items()], ensure_ascii=False)
    listed = listed.replace("</", "<\\/")
    yield f'<script type="application/json" id="held-counts">{listed}</script></section>'

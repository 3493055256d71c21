"""The report's month calendar of meetings, and the small markup helpers the report shares."""

from __future__ import annotations

import calendar as stdcal
import datetime as dt
import html
from collections.abc import Iterator, Sequence

from ..core.model import Meeting, StudentPlan

# A meeting in the month calendar: the plan whose status colours it, the meeting, its purposes
# ("" for the annual review alone).
Entry = tuple[StudentPlan, Meeting, str]

STATUS_LABELS: dict[str, str] = {
    "overdue": "Overdue",
    "infeasible": "Infeasible",
    "unplanned": "Unplanned",
    "at_risk": "At risk",
    "on_track": "On track",
}


def escape(value: object) -> str:
    """Any value as HTML text or an attribute value (quotes escaped too)."""
    return html.escape(str(value), quote=True)


def filter_attrs(plan: StudentPlan) -> str:
    """The attributes the filter script reads."""
    s = plan.student
    return (
        f' data-cm="{escape(s.case_manager_email)}" data-building="{escape(s.building)}"'
        f' data-status="{escape(plan.status)}"'
    )


def anchor(plan: StudentPlan) -> str:
    """The id of a student's timeline, which every link to the student targets."""
    return f"s-{plan.student_id}"


def student_link(plan: StudentPlan) -> str:
    """A student's id linked to the timeline, and the initials (never the name)."""
    return (
        f'<a href="#{escape(anchor(plan))}">{escape(plan.student_id)}</a> '
        f'<span class="ini">{escape(plan.student.initials)}</span>'
    )


def badge(status: str) -> str:
    """A student status as a coloured label."""
    label = escape(STATUS_LABELS.get(status, status))
    return f'<span class="badge st-{escape(status)}">{label}</span>'


def calendar_section(by_due: Sequence[StudentPlan], today: dt.date) -> Iterator[str]:
    """One month table per month from the first placed meeting to the last: every cycle's
    meeting (a meeting two cycles share once), marked with its purposes when not the annual
    review alone."""
    from .reportcycles import as_own, meeting_tag

    meetings = [
        (as_own(c) if p.others else p, c.meeting, meeting_tag(p, c))
        for p in by_due
        for c in p.cycles
        if c.meeting is not None and c.combined_with is None
    ]
    yield '<section id="calendar"><h2>Meetings by month</h2>'
    if not meetings:
        yield "<p>No meetings are placed.</p></section>"
        return
    by_day: dict[dt.date, list[Entry]] = {}
    for entry in sorted(meetings, key=lambda e: (e[1].start, e[0].student_id)):
        by_day.setdefault(entry[1].date, []).append(entry)
    first = min(by_day)
    last = max(by_day)
    yield (
        '<p class="legend">Solid border: booked · dashed: proposed (not booked yet) · '
        "struck through: held. Colours follow the student's status.</p>"
    )
    year, month = first.year, first.month
    weeks_of = stdcal.Calendar(firstweekday=0)
    while (year, month) <= (last.year, last.month):
        weeks = weeks_of.monthdatescalendar(year, month)
        total = sum(len(by_day.get(d, ())) for week in weeks for d in week if d.month == month)
        name = f"{stdcal.month_name[month]} {year}"
        noun = "meeting" if total == 1 else "meetings"
        yield (
            f'<table class="month"><caption>{escape(name)} — {total} {noun}</caption>'
            "<thead><tr><th>Mon</th><th>Tue</th><th>Wed</th><th>Thu</th><th>Fri</th>"
            '<th class="we">Sat</th><th class="we">Sun</th></tr></thead><tbody>'
        )
        for week in weeks:
            yield "<tr>"
            for day in week:
                yield _day_cell(day, month, today, by_day.get(day, []))
            yield "</tr>"
        yield "</tbody></table>"
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    yield "</section>"


def _day_cell(day: dt.date, month: int, today: dt.date, entries: Sequence[Entry]) -> str:
    if day.month != month:
        return '<td class="out"></td>'
    classes = ["today"] if day == today else []
    if day.weekday() >= 5:
        classes.append("we")
    items = "".join(
        f'<li class="mtg flt st-{escape(p.status)} ms-{escape(m.state)}"{filter_attrs(p)}'
        f' title="{escape(m.state)} {escape(tag + " ") if tag else ""}meeting, '
        f'{escape(STATUS_LABELS[p.status])}">'
        f"{escape(m.start.strftime('%H:%M'))} {student_link(p)}"
        + (f' <span class="purpose">{escape(tag)}</span>' if tag else "")
        + f'<span class="vh"> ({escape(m.state)})</span></li>'
        for p, m, tag in entries
    )
    cls = f' class="{" ".join(classes)}"' if classes else ""
    body = f'<ul class="day">{items}</ul>' if items else ""
    return f'<td{cls}><span class="dn">{day.day}</span>{body}</td>'

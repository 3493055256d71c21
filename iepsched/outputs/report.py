"""Outputs for coordinators: one self-contained HTML report, a compliance CSV, a contact-log CSV.

Everything here is pure apart from `write_atomic` and the `write_*` wrappers: plans come in, text
goes out. Every value that reaches HTML passes through `html.escape`; every CSV cell passes through
`neutralise` (OWASP CSV-injection guidance), so roster values can never become markup or formulas.
The HTML needs no network: inline CSS, one small inline script (filters), no external resources.
Student names appear only in each student's timeline heading; contact notes never appear.
"""

from __future__ import annotations

import calendar as stdcal
import contextlib
import csv
import datetime as dt
import html
import io
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from ..core.model import (
    STUDENT_STATUS_ORDER,
    Contact,
    DistrictPlan,
    Meeting,
    Milestone,
    StudentPlan,
)

PlanWrap = Callable[[Sequence[StudentPlan]], Iterable[StudentPlan]]

STATUS_LABELS: dict[str, str] = {
    "overdue": "Overdue",
    "infeasible": "Infeasible",
    "unplanned": "Unplanned",
    "at_risk": "At risk",
    "on_track": "On track",
}
MILESTONE_LABELS: dict[str, str] = {
    "done": "done",
    "overdue": "overdue",
    "due_soon": "due soon",
    "upcoming": "upcoming",
    "unscheduled": "unscheduled",
}
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
# A spreadsheet treats a cell starting with one of these as a formula (OWASP CSV injection).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


# -- files ------------------------------------------------------------------------------------


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so readers see the old file or the new one, never half of it.

    The temporary file lives in the same folder (os.replace is atomic only within a file system)
    and is created 0600: reports name students.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where the OS allows it
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


# -- CSV --------------------------------------------------------------------------------------


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text: formula-like values get a leading single quote."""
    return f"'{cell}" if cell.startswith(_FORMULA_PREFIXES) else cell


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


# -- what to do next --------------------------------------------------------------------------


def next_action(plan: StudentPlan) -> str:
    """The one step a coordinator should see first for this student."""
    meeting = plan.meeting
    if plan.status == "overdue":
        when = f": the earliest slot is {_when(meeting)}" if meeting else ""
        return f"Hold the IEP meeting now{when}."
    if plan.status == "infeasible":
        return f"Find a slot on or before {plan.due_date.isoformat()} for the team."
    if plan.status == "unplanned":
        if plan.has_warning("unknown_year"):
            return "Load the missing school year's calendar."
        return "Check the school calendar for this building."
    late = next((m for m in plan.milestones if m.status == "overdue"), None)
    if late is not None and late.date is not None:
        return f"Do now: {late.title} (was due {late.date.isoformat()})."
    upcoming = plan.next_milestone()
    if upcoming is not None and upcoming.date is not None:
        return f"Next: {upcoming.title} by {upcoming.date.isoformat()}."
    return "Nothing due."


def _when(meeting: Meeting | None) -> str:
    if meeting is None:
        return "not placed"
    return f"{meeting.date.isoformat()} {meeting.start.strftime('%H:%M')}"


# -- HTML -------------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _flt(plan: StudentPlan) -> str:
    """The attributes the filter script reads."""
    s = plan.student
    return (
        f' data-cm="{_e(s.case_manager_email)}" data-building="{_e(s.building)}"'
        f' data-status="{_e(plan.status)}"'
    )


def _anchor(plan: StudentPlan) -> str:
    return f"s-{plan.student_id}"


def _student_link(plan: StudentPlan) -> str:
    return (
        f'<a href="#{_e(_anchor(plan))}">{_e(plan.student_id)}</a> '
        f'<span class="ini">{_e(plan.student.initials)}</span>'
    )


def _badge(status: str) -> str:
    return f'<span class="badge st-{_e(status)}">{_e(STATUS_LABELS.get(status, status))}</span>'


def html_report(
    district_plan: DistrictPlan,
    *,
    district_name: str,
    today: dt.date,
    contacts_by_student: Mapping[str, Sequence[Contact]],
    generated_at: dt.datetime,
    problems: Sequence[str] = (),
    preview: bool = False,
    each: PlanWrap | None = None,
) -> str:
    """The whole report as one HTML document (UTF-8 text, nothing loaded from anywhere).

    `problems` are input problems to show (skipped roster rows are not in the plan at all);
    `preview` says no sync has run yet; `each` wraps the per-student loop (a progress bar).
    """
    plans = district_plan.plans
    by_due = sorted(plans, key=lambda p: (p.due_date, p.student_id))
    title = f"IEP compliance report — {district_name} — {today.isoformat()}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>IEP compliance report</h1>",
        f'<p class="sub"><strong>{_e(district_name)}</strong> · as of '
        f"<strong>{_e(today.isoformat())}</strong> · generated "
        f"{_e(generated_at.strftime('%Y-%m-%d %H:%M %Z').strip())}</p>",
    ]
    if preview:
        parts.append(
            '<p class="note">Preview: no sync has run yet, so this shows the meetings and '
            "tasks iepsched would book; nothing has been delivered.</p>"
        )
    parts.append(
        '<nav class="toc"><a href="#summary">Summary</a> <a href="#attention">Needs attention</a>'
        ' <a href="#calendar">Meetings by month</a> <a href="#timelines">Student timelines</a>'
        "</nav>"
    )
    parts.append("</header>")
    parts.append(_filters(plans))
    parts.append("<main>")
    parts.append(_summary(plans, today))
    if problems:
        parts.append(_problems(problems))
    parts.append(_attention(by_due))
    parts.append(_calendar(by_due, today))
    parts.append(_timelines(by_due, contacts_by_student, each))
    parts.append("</main>")
    parts.append(
        "<footer><p>Made by iepsched from the roster, the school calendars and the sync state. "
        "Statuses: <em>overdue</em> — the due date passed without a meeting; "
        "<em>infeasible</em> — no slot on or before the due date; <em>unplanned</em> — the "
        "meeting cannot be placed (a calendar is missing); <em>at risk</em> — less than two "
        "weeks of buffer, or a step before the meeting is late.</p></footer>"
    )
    parts.append(f"<script>{_JS}</script>")
    parts.append("</body>")
    parts.append("</html>")
    return "\n".join(parts) + "\n"


def _filters(plans: Sequence[StudentPlan]) -> str:
    cms = sorted({p.student.case_manager_email for p in plans})
    buildings = sorted({p.student.building for p in plans})
    counts = Counter(p.status for p in plans)

    def select(ident: str, label: str, options: Iterable[tuple[str, str]]) -> str:
        opts = "".join(f'<option value="{_e(v)}">{_e(text)}</option>' for v, text in options)
        return (
            f'<label>{_e(label)} <select id="{ident}"><option value="">All</option>'
            f"{opts}</select></label>"
        )

    return (
        '<section id="filters" class="filters" hidden aria-label="Filters">'
        + select("f-cm", "Case manager", ((cm, cm) for cm in cms))
        + select("f-building", "Building", ((b, b) for b in buildings))
        + select(
            "f-status",
            "Status",
            ((s, f"{STATUS_LABELS[s]} ({counts[s]})") for s in STUDENT_STATUS_ORDER if counts[s]),
        )
        + '<button type="button" id="f-reset">Show all</button>'
        + f'<span id="f-count" aria-live="polite">{len(plans)} students</span>'
        + "</section>"
    )


def _summary(plans: Sequence[StudentPlan], today: dt.date) -> str:
    counts = Counter(p.status for p in plans)
    cards = "".join(
        f'<li class="count st-{s}"><span class="n">{counts[s]}</span> '
        f'<span class="what">{_e(STATUS_LABELS[s])}</span></li>'
        for s in STUDENT_STATUS_ORDER
    )
    states = Counter(p.meeting.state for p in plans if p.meeting is not None)
    late_steps = sum(1 for p in plans for m in p.milestones if m.status == "overdue")
    missing_contacts = sum(
        1
        for p in plans
        if p.contacts is not None
        and p.contacts.deadline is not None
        and p.contacts.deadline < today
        and not p.contacts.met
    )
    facts = [
        f"{len(plans)} students planned",
        f"meetings: {states['proposed']} proposed, {states['booked']} booked, "
        f"{states['held']} held",
        f"{late_steps} overdue steps",
        f"{missing_contacts} students past their parent-contact deadline without two "
        "contacts by two methods",
    ]
    return (
        '<section id="summary"><h2>Summary</h2>'
        f'<ul class="counts">{cards}</ul>'
        f'<p class="facts">{" · ".join(_e(f) for f in facts)}</p></section>'
    )


def _problems(problems: Sequence[str]) -> str:
    items = "".join(f"<li>{_e(p)}</li>" for p in problems)
    return (
        '<section id="problems"><h2>Input problems</h2>'
        "<p>Students on rows with errors are not in this report: fix the rows and run it "
        f"again.</p><ul>{items}</ul></section>"
    )


def _attention(by_due: Sequence[StudentPlan]) -> str:
    rank = {s: i for i, s in enumerate(STUDENT_STATUS_ORDER)}
    flagged = sorted(
        (p for p in by_due if p.status != "on_track"),
        key=lambda p: (rank[p.status], p.due_date, p.student_id),
    )
    head = f'<section id="attention"><h2>Needs attention ({len(flagged)})</h2>'
    if not flagged:
        return head + "<p>Every student is on track.</p></section>"
    rows = []
    for p in flagged:
        warnings = "".join(f"<li>{_e(w)}</li>" for w in p.warnings) or "<li>—</li>"
        rows.append(
            f'<tr class="flt"{_flt(p)}>'
            f"<td>{_badge(p.status)}<br>{_student_link(p)}</td>"
            f'<td class="who">{_e(p.student.building)}<br>'
            f'<span class="cm">{_e(p.student.case_manager_email)}</span></td>'
            f"<td>due&nbsp;{_e(p.due_date.isoformat())}<br>"
            f'<span class="mt">{_e(_meeting_text(p.meeting))}</span></td>'
            f'<td><ul class="warnings">{warnings}</ul></td>'
            f'<td class="action">{_e(next_action(p))}</td>'
            "</tr>"
        )
    return (
        head + '<table class="attention"><thead><tr><th>Student</th>'
        "<th>Building · case manager</th><th>IEP due · meeting</th>"
        '<th class="w-warn">Warning</th><th class="w-act">Next action</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table></section>"
    )


def _meeting_text(meeting: Meeting | None) -> str:
    if meeting is None:
        return "not placed"
    return f"{_when(meeting)} ({meeting.state})"


def _calendar(by_due: Sequence[StudentPlan], today: dt.date) -> str:
    meetings = [(p, p.meeting) for p in by_due if p.meeting is not None]
    head = '<section id="calendar"><h2>Meetings by month</h2>'
    if not meetings:
        return head + "<p>No meetings are placed.</p></section>"
    by_day: dict[dt.date, list[tuple[StudentPlan, Meeting]]] = {}
    for plan, meeting in sorted(meetings, key=lambda pm: (pm[1].start, pm[0].student_id)):
        by_day.setdefault(meeting.date, []).append((plan, meeting))
    first = min(by_day)
    last = max(by_day)
    out = [
        head,
        '<p class="legend">Solid border: booked · dashed: proposed (not booked yet) · '
        "struck through: held. Colours follow the student's status.</p>",
    ]
    year, month = first.year, first.month
    weeks_of = stdcal.Calendar(firstweekday=0)
    while (year, month) <= (last.year, last.month):
        rows = []
        total = 0
        for week in weeks_of.monthdatescalendar(year, month):
            cells = []
            for day in week:
                if day.month != month:
                    cells.append('<td class="out"></td>')
                    continue
                entries = by_day.get(day, [])
                total += len(entries)
                classes = ["today"] if day == today else []
                if day.weekday() >= 5:
                    classes.append("we")
                items = "".join(
                    f'<li class="mtg flt st-{_e(p.status)} ms-{_e(m.state)}"{_flt(p)}'
                    f' title="{_e(m.state)} meeting, {_e(STATUS_LABELS[p.status])}">'
                    f"{_e(m.start.strftime('%H:%M'))} {_student_link(p)}"
                    f'<span class="vh"> ({_e(m.state)})</span></li>'
                    for p, m in entries
                )
                cls = f' class="{" ".join(classes)}"' if classes else ""
                body = f'<ul class="day">{items}</ul>' if items else ""
                cells.append(f'<td{cls}><span class="dn">{day.day}</span>{body}</td>')
            rows.append("<tr>" + "".join(cells) + "</tr>")
        name = f"{stdcal.month_name[month]} {year}"
        noun = "meeting" if total == 1 else "meetings"
        out.append(
            f'<table class="month"><caption>{_e(name)} — {total} {noun}</caption>'
            "<thead><tr><th>Mon</th><th>Tue</th><th>Wed</th><th>Thu</th><th>Fri</th>"
            '<th class="we">Sat</th><th class="we">Sun</th></tr></thead><tbody>'
            + "".join(rows)
            + "</tbody></table>"
        )
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    out.append("</section>")
    return "".join(out)


def _timelines(
    by_due: Sequence[StudentPlan],
    contacts_by_student: Mapping[str, Sequence[Contact]],
    each: PlanWrap | None,
) -> str:
    out = ['<section id="timelines"><h2>Student timelines</h2>']
    for plan in each(by_due) if each else by_due:
        out.append(_timeline(plan, contacts_by_student.get(plan.student_id, ())))
    out.append('<p id="f-none" hidden>No student matches the filters.</p></section>')
    return "".join(out)


def _timeline(plan: StudentPlan, contacts: Sequence[Contact]) -> str:
    s = plan.student
    name = f"{s.first_name} {s.last_name}".strip()
    meta = [
        ("Building", s.building),
        ("Case manager", s.case_manager_email),
        ("IEP due", plan.due_date.isoformat()),
        ("Meeting", _meeting_text(plan.meeting)),
    ]
    if plan.next_due_date is not None:
        meta.append(("Next IEP due", plan.next_due_date.isoformat()))
    dl = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in meta)
    warnings = "".join(f"<li>{_e(w)}</li>" for w in plan.warnings)
    rows = "".join(_milestone_row(plan, m) for m in plan.milestones)
    parts = [
        f'<article class="student flt" id="{_e(_anchor(plan))}"{_flt(plan)}>',
        f"<h3>{_e(plan.student_id)} — {_e(name)} {_badge(plan.status)}</h3>",
        f'<dl class="meta">{dl}</dl>',
    ]
    if warnings:
        parts.append(f'<ul class="warnings">{warnings}</ul>')
    if plan.status != "on_track":
        parts.append(f'<p class="action">{_e(next_action(plan))}</p>')
    if rows:
        parts.append(
            '<table class="timeline"><thead><tr><th>Date</th><th>Step</th><th>Status</th>'
            f"</tr></thead><tbody>{rows}</tbody></table>"
        )
    parts.append(_contacts_paragraph(plan, contacts))
    parts.append("</article>")
    return "".join(parts)


def _milestone_row(plan: StudentPlan, m: Milestone) -> str:
    date = m.date.isoformat() if m.date else "—"
    title = m.title
    if m.delivery == "recurring_task" and m.every_days and plan.next_due_date is not None:
        title = f"{title} (every {m.every_days} days until {plan.next_due_date.isoformat()})"
    if m.track == "reeval":
        title = f"{title} (reevaluation)"
    cls = f"ms-{m.status}" + (" mtg-row" if m.key == "meeting" else "")
    return (
        f'<tr class="{_e(cls)}"><td class="nowrap">{_e(date)}</td><td>{_e(title)}</td>'
        f'<td class="nowrap">{_e(MILESTONE_LABELS.get(m.status, m.status))}</td></tr>'
    )


def _contact_text(c: Contact) -> str:
    return f"{c.at.date().isoformat()} {c.method.replace('_', ' ')} ({c.outcome.replace('_', ' ')})"


def _contacts_paragraph(plan: StudentPlan, contacts: Sequence[Contact]) -> str:
    req = plan.contacts
    if req is None or req.deadline is None:
        verdict = "Parent contacts: no deadline yet (the meeting is not placed)."
        cls = "pending"
    elif req.met:
        met = " and ".join(_contact_text(c) for c in req.qualifying)
        verdict = f"Parent contacts: requirement met by {met}."
        cls = "met"
    elif req.deadline < plan.today:
        verdict = (
            "Parent contacts: NOT met — two contacts by two different methods were due by "
            f"{req.deadline.isoformat()}."
        )
        cls = "unmet"
    else:
        verdict = (
            "Parent contacts: not met yet — two contacts by two different methods are due by "
            f"{req.deadline.isoformat()}."
        )
        cls = "pending"
    logged = "; ".join(_contact_text(c) for c in contacts) if contacts else "none"
    return (
        f'<p class="contacts {cls}">{_e(verdict)} '
        f'<span class="logged">Logged: {_e(logged)}.</span></p>'
    )


_CSS = """
:root{--fg:#1d2330;--muted:#5b6475;--line:#d5dae3;--bg:#fff;--soft:#f5f7fa}
*{box-sizing:border-box}
body{font:14px/1.45 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--fg);background:var(--bg);margin:0 auto;max-width:1200px;padding:16px 24px 40px}
h1{font-size:24px;margin:8px 0 2px}h2{font-size:19px;margin:28px 0 10px;
border-bottom:2px solid var(--line);padding-bottom:4px}h3{font-size:16px;margin:0 0 6px}
.sub{color:var(--muted);margin:0 0 6px}.note{background:#eef4ff;border-left:4px solid #3d6fd6;
padding:6px 10px;margin:8px 0}
nav.toc a{margin-right:14px;color:#2450a8}
[hidden]{display:none!important}
.filters{position:sticky;top:0;z-index:2;background:var(--soft);border:1px solid var(--line);
border-radius:6px;padding:8px 12px;margin:12px 0;display:flex;flex-wrap:wrap;gap:8px 18px;
align-items:center}
.filters select{font:inherit;padding:2px 4px;max-width:260px}
.filters button{font:inherit;padding:2px 10px}
#f-count{color:var(--muted);margin-left:auto}
ul.counts{list-style:none;display:flex;flex-wrap:wrap;gap:10px;padding:0;margin:0}
.count{border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:130px}
.count .n{display:block;font-size:26px;font-weight:700;line-height:1.1}
.facts{color:var(--muted)}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid var(--line);padding:4px 6px;vertical-align:top;text-align:left}
thead th{background:var(--soft)}thead{display:table-header-group}
.nowrap{white-space:nowrap}
table.attention td.action,p.action{font-weight:600}
table.attention{table-layout:fixed}
table.attention th:nth-child(1){width:11%}table.attention th:nth-child(2){width:18%}
table.attention th:nth-child(3){width:16%}th.w-warn{width:37%}th.w-act{width:18%}
td.who .cm,td .mt{color:var(--muted);font-size:12px}td.who .cm{overflow-wrap:anywhere}
ul.warnings{margin:0;padding-left:18px}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;
border:1px solid currentColor;vertical-align:middle;white-space:nowrap}
.st-overdue{color:#a1001d;background:#fde8eb}.st-infeasible{color:#5e2593;background:#f2eafb}
.st-unplanned{color:#444;background:#ececec}.st-at_risk{color:#7a4d00;background:#fff1d1}
.st-on_track{color:#17622f;background:#e5f4e9}
.count.st-overdue,.count.st-infeasible,.count.st-unplanned,.count.st-at_risk,.count.st-on_track
{border-color:currentColor}
.count .what{color:var(--fg)}
table.month{table-layout:fixed;margin:0 0 18px;break-inside:avoid;page-break-inside:avoid}
table.month caption{text-align:left;font-weight:700;padding:4px 0}
table.month td{height:62px;font-size:12px}
table.month th.we,table.month td.we{width:7%;background:#fafbfc}
table.month td.out{background:#f3f4f6}
table.month td.today{outline:2px solid #3d6fd6;outline-offset:-2px}
.dn{color:var(--muted);font-size:11px}
ul.day{list-style:none;margin:2px 0 0;padding:0}
li.mtg{border:1px solid currentColor;border-radius:4px;padding:0 3px;margin:2px 0;
white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
li.mtg a{color:inherit}li.ms-proposed{border-style:dashed}li.ms-held{text-decoration:line-through}
.ini{color:var(--muted)}li.mtg .ini{color:inherit}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.legend{color:var(--muted);font-size:12px}
article.student{border:1px solid var(--line);border-radius:8px;padding:10px 14px;margin:0 0 14px;
break-inside:avoid;page-break-inside:avoid}
dl.meta{display:flex;flex-wrap:wrap;gap:2px 22px;margin:0 0 6px}
dl.meta div{display:flex;gap:6px}dl.meta dt{color:var(--muted)}dl.meta dd{margin:0}
table.timeline{margin:6px 0;font-size:13px}
table.timeline td:first-child{width:110px}table.timeline td:last-child{width:110px}
tr.ms-overdue td:last-child{color:#a1001d;font-weight:700}
tr.ms-due_soon td:last-child{color:#7a4d00;font-weight:600}
tr.ms-done td{color:var(--muted)}tr.ms-unscheduled td:last-child{color:#444;font-style:italic}
tr.mtg-row td{background:#eef4ff;font-weight:600}
p.contacts{margin:6px 0 0}p.contacts.unmet{color:#a1001d;font-weight:600}
p.contacts.met{color:#17622f}.logged{color:var(--muted);font-weight:400}
footer{margin-top:30px;color:var(--muted);font-size:12px;border-top:1px solid var(--line)}
@media print{
@page{margin:12mm}
body{max-width:none;padding:0;font-size:10pt}
th,td{padding:2px 4px}
table.timeline{font-size:8.5pt}table.month td{height:auto;min-height:40px;font-size:8pt}
article.student{padding:6px 10px;margin:0 0 8px}
.filters,nav.toc{display:none!important}
a{color:inherit;text-decoration:none}
h2{break-after:avoid;page-break-after:avoid}
article.student,table.month,tr{break-inside:avoid;page-break-inside:avoid}
.badge,.count,li.mtg,tr.mtg-row td{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""

# Filters show and hide every element carrying data-cm/-building/-status; without JavaScript
# the filter bar stays hidden and everything shows.
_JS = """
(function () {
  var bar = document.getElementById('filters');
  if (!bar || !document.querySelectorAll) { return; }
  var cm = document.getElementById('f-cm');
  var building = document.getElementById('f-building');
  var status = document.getElementById('f-status');
  var count = document.getElementById('f-count');
  var none = document.getElementById('f-none');
  var items = document.querySelectorAll('.flt');
  function apply() {
    var shown = 0, total = 0;
    for (var i = 0; i < items.length; i++) {
      var el = items[i];
      var ok = (!cm.value || el.getAttribute('data-cm') === cm.value) &&
        (!building.value || el.getAttribute('data-building') === building.value) &&
        (!status.value || el.getAttribute('data-status') === status.value);
      el.hidden = !ok;
      if (el.tagName === 'ARTICLE') { total++; if (ok) { shown++; } }
    }
    count.textContent = shown + ' of ' + total + ' students shown';
    none.hidden = shown !== 0;
  }
  [cm, building, status].forEach(function (s) { s.addEventListener('change', apply); });
  document.getElementById('f-reset').addEventListener('click', function () {
    cm.value = ''; building.value = ''; status.value = ''; apply();
  });
  // report.html?status=at_risk&building=... opens with those filters (bookmarkable views).
  if (window.URLSearchParams) {
    var query = new URLSearchParams(window.location.search);
    cm.value = query.get('cm') || '';
    building.value = query.get('building') || '';
    status.value = query.get('status') || '';
  }
  bar.hidden = false;
  apply();
})();
"""

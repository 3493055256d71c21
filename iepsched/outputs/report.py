"""The coordinators' HTML report: one self-contained page of statuses, meetings and timelines.

Pure: plans come in, text goes out. Every value that reaches HTML passes through `html.escape`, so
roster values can never become markup. The HTML needs no network: inline CSS, one small inline
script (filters, in `reportstyle`), no external resources. Student names appear only in each
student's timeline heading; contact notes never appear. The CSVs live in `csvreport`.

The page is written piece by piece (`write_html_report`), so memory does not grow with the number of
students. Up to `INLINE_TIMELINES` students every timeline is written out as a table (readable
without JavaScript, printable whole); above that each timeline is a closed `<details>` holding only
the indexes of its rows, and the script builds the table when it is opened: each distinct row is
written once, in a JSON list at the end of the page (a 100,000-student page shrinks about 4 times).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Protocol

from ..core.model import (
    STUDENT_STATUS_ORDER,
    Contact,
    DistrictPlan,
    Milestone,
    SkippedRow,
    Student,
    StudentPlan,
)
from ..core.timeliness import YearTimeliness
from ..fs.atomic import write_atomic
from .csvreport import COMPLIANCE_COLUMNS, contact_rows, contacts_csv
from .cycleview import due_text, extra_milestones, own_warnings
from .reportcal import STATUS_LABELS, calendar_section
from .reportcal import anchor as _anchor
from .reportcal import badge as _badge
from .reportcal import escape as _e
from .reportcal import filter_attrs as _flt
from .reportcal import student_link as _student_link
from .reportcycles import as_own, attention_cycles, cycle_sections, due_label, meeting_text
from .reportheld import held_section
from .reportstyle import CSS, FACT_KEYS, JS
from .skipped import skipped_summary
from .wording import contact_verdict, future_note, next_action

# Modules written before the CSVs and the atomic write moved out still import these from here.
__all__ = [
    "COMPLIANCE_COLUMNS",
    "contact_rows",
    "contacts_csv",
    "html_report",
    "next_action",
    "write_atomic",
]

PlanWrap = Callable[[Sequence[StudentPlan]], Iterable[StudentPlan]]

# Above this many students the timelines are compact and built on demand (see the module doc).
INLINE_TIMELINES = 2_000


class TextSink(Protocol):
    """Where the page goes: an open text file, or a StringIO."""

    def write(self, text: str, /) -> object: ...


MILESTONE_LABELS: dict[str, str] = {
    "done": "done",
    "overdue": "overdue",
    "due_soon": "due soon",
    "upcoming": "upcoming",
    "unscheduled": "unscheduled",
}


def html_report(
    district_plan: DistrictPlan,
    *,
    district_name: str,
    today: dt.date,
    contacts_by_student: Mapping[str, Sequence[Contact]],
    generated_at: dt.datetime,
    problems: Sequence[str] = (),
    skipped: Sequence[SkippedRow] = (),
    preview: bool = False,
    each: PlanWrap | None = None,
    inline_timelines: int = INLINE_TIMELINES,
    caseload: str = "",
    actual_today: dt.date | None = None,
    held: Sequence[YearTimeliness] = (),
    students: Mapping[str, Student] | None = None,
) -> str:
    """The whole report as one HTML document (UTF-8 text); see `write_html_report`."""
    out = io.StringIO()
    write_html_report(
        out,
        district_plan,
        district_name=district_name,
        today=today,
        contacts_by_student=contacts_by_student,
        generated_at=generated_at,
        problems=problems,
        skipped=skipped,
        preview=preview,
        each=each,
        inline_timelines=inline_timelines,
        caseload=caseload,
        actual_today=actual_today,
        held=held,
        students=students,
    )
    return out.getvalue()


def write_html_report(
    out: TextSink,
    district_plan: DistrictPlan,
    *,
    district_name: str,
    today: dt.date,
    contacts_by_student: Mapping[str, Sequence[Contact]],
    generated_at: dt.datetime,
    problems: Sequence[str] = (),
    skipped: Sequence[SkippedRow] = (),
    preview: bool = False,
    each: PlanWrap | None = None,
    inline_timelines: int = INLINE_TIMELINES,
    caseload: str = "",
    actual_today: dt.date | None = None,
    held: Sequence[YearTimeliness] = (),
    students: Mapping[str, Student] | None = None,
) -> None:
    """Write the report to `out` piece by piece (nothing loaded from anywhere when it is viewed).

    `problems` are input problems to show and `skipped` the roster rows not planned (both at the
    top: those students are not in the plan at all); `preview` says no sync has run yet; `each`
    wraps the per-student loop (a progress bar); `inline_timelines` is the largest district whose
    timelines are written out in full; `caseload` names the case manager or building the plans
    were chosen for; `actual_today` is the real date, and a `today` after it is a preview;
    `held` is each school year's meetings held, timely and late (`core.timeliness`), and
    `students` the roster by id, whose case manager and building let the filters apply to them.
    """
    plans = district_plan.plans
    by_due = sorted(plans, key=lambda p: (p.due_date, p.student_id))
    title = f"IEP compliance report — {district_name} — {today.isoformat()}"
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>IEP compliance report</h1>",
        f'<p class="sub"><strong>{_e(district_name)}</strong> · as of '
        f"<strong>{_e(today.isoformat())}</strong> · generated "
        f"{_e(generated_at.strftime('%Y-%m-%d %H:%M %Z').strip())}</p>",
    ]
    if caseload:
        head.append(
            f'<p class="note">Caseload: <strong>{_e(caseload)}</strong> — only these students '
            "are in this report.</p>"
        )
    future = future_note(today, actual_today) if actual_today is not None else None
    if future:
        head.append(f'<p class="note future">{_e(future[0].upper() + future[1:])}</p>')
    if preview:
        head.append(
            '<p class="note">Preview: no sync has run yet, so this shows the meetings and '
            "tasks iepsched would book; nothing has been delivered.</p>"
        )
    problems_link = '<a href="#problems">Input problems</a> ' if problems or skipped else ""
    head.append(
        f'<nav class="toc">{problems_link}<a href="#summary">Summary</a> '
        '<a href="#attention">Needs attention</a> <a href="#held">Meetings held</a>'
        ' <a href="#calendar">Meetings by month</a> <a href="#timelines">Student timelines</a>'
        "</nav>"
    )
    head.append("</header>")
    out.write("\n".join(head) + "\n")
    if problems or skipped:
        _write(out, _problems(problems, skipped))
    out.write(_filters(plans) + "\n<main>\n")
    out.write(_summary(plans) + "\n")
    _write(out, _attention(by_due))
    _write(out, held_section(held, students or {p.student_id: p.student for p in plans}))
    _write(out, calendar_section(by_due, today))
    rows: dict[str, int] | None = None if len(plans) <= inline_timelines else {}
    _write(out, _timelines(by_due, contacts_by_student, each, rows))
    out.write("</main>\n")
    out.write(
        "<footer><p>Made by iepsched from the roster, the school calendars and the sync state. "
        "Statuses: <em>overdue</em> — the due date passed without a meeting; "
        "<em>infeasible</em> — no slot on or before the due date; <em>unplanned</em> — the "
        "meeting cannot be placed (a calendar is missing); <em>at risk</em> — less than two "
        "weeks of buffer, or a step before the meeting is late.</p></footer>\n"
    )
    if rows is not None:
        # Row markup is escaped HTML; "</" is written "<\/" so no row can close the script.
        listed = json.dumps(list(rows), ensure_ascii=False).replace("</", "<\\/")
        out.write(f'<script type="application/json" id="tl-rows">{listed}</script>\n')
    out.write(f"<script>{JS}</script>\n</body>\n</html>\n")


def _write(out: TextSink, pieces: Iterable[str]) -> None:
    for piece in pieces:
        out.write(piece)
    out.write("\n")


def _case_managers(plans: Sequence[StudentPlan]) -> list[tuple[str, str]]:
    """(email, how the filter names them): the name (Student.case_manager_label), with the email
    added where two case managers share a name; in the order of those names."""
    labels = {p.student.case_manager_email: p.student.case_manager_label for p in plans}
    shared = Counter(labels.values())
    named = [
        (cm, f"{lab} ({cm})" if shared[lab] > 1 and lab != cm else lab)
        for cm, lab in labels.items()
    ]
    return sorted(named, key=lambda pair: (pair[1].casefold(), pair[0]))


def _filters(plans: Sequence[StudentPlan]) -> str:
    """The filter bar. The script keeps each status option's count, the summary's counts and the
    URL (?cm=&building=&status=) in step with the chosen case manager and building."""
    buildings = sorted({p.student.building for p in plans})
    counts = Counter(p.status for p in plans)

    def select(ident: str, label: str, options: Iterable[tuple[str, str]]) -> str:
        opts = "".join(f'<option value="{_e(v)}">{_e(text)}</option>' for v, text in options)
        return (
            f'<label>{_e(label)} <select id="{ident}"><option value="">All</option>'
            f"{opts}</select></label>"
        )

    statuses = "".join(
        f'<option value="{s}" data-label="{_e(STATUS_LABELS[s])}">'
        f"{_e(STATUS_LABELS[s])} ({counts[s]})</option>"
        for s in STUDENT_STATUS_ORDER
        if counts[s]
    )
    return (
        '<section id="filters" class="filters" hidden aria-label="Filters">'
        + select("f-cm", "Case manager", _case_managers(plans))
        + select("f-building", "Building", ((b, b) for b in buildings))
        + '<label>Status <select id="f-status"><option value="">All</option>'
        + f"{statuses}</select></label>"
        + '<button type="button" id="f-reset">Show all</button>'
        + f'<span id="f-count" aria-live="polite">{len(plans)} students</span>'
        + "</section>"
    )


def _facts(plan: StudentPlan) -> tuple[int, ...]:
    """This student's share of each summary fact (FACT_KEYS), summed by the script for the
    caseload chosen in the filters."""
    req = plan.contacts
    nocontact = (
        req is not None and req.deadline is not None and req.deadline < plan.today and not req.met
    )
    late = sum(1 for m in plan.milestones if m.status == "overdue")
    if not plan.others:  # most students: no Counter (the report has 100,000 of them)
        state = plan.meeting.state if plan.meeting is not None else ""
        return (1, state == "proposed", state == "booked", state == "held", late, nocontact)
    states = Counter(
        c.meeting.state for c in plan.cycles if c.meeting is not None and c.combined_with is None
    )
    late += sum(1 for c in plan.others for m in extra_milestones(plan, c) if m.status == "overdue")
    return (1, states["proposed"], states["booked"], states["held"], late, nocontact)


def _summary(plans: Sequence[StudentPlan]) -> str:
    counts = Counter(p.status for p in plans)
    cards = "".join(
        f'<li class="count st-{s}" data-count="{s}"><span class="n">{counts[s]}</span> '
        f'<span class="what">{_e(STATUS_LABELS[s])}</span></li>'
        for s in STUDENT_STATUS_ORDER
    )
    totals = dict.fromkeys(FACT_KEYS, 0)
    for plan in plans:
        for key, value in zip(FACT_KEYS, _facts(plan), strict=True):
            totals[key] += int(value)

    def n(key: str) -> str:
        return f'<span data-fact="{key}">{totals[key]}</span>'

    facts = [
        f"{n('students')} students planned",
        f"meetings: {n('proposed')} proposed, {n('booked')} booked, {n('held')} held",
        f"{n('late')} overdue steps",
        f"{n('nocontact')} students past their parent-contact deadline without two contacts by "
        "two methods",
    ]
    return (
        '<section id="summary"><h2>Summary</h2>'
        f'<ul class="counts">{cards}</ul>'
        f'<p class="facts">{" · ".join(facts)}</p></section>'
    )


def _problems(problems: Sequence[str], skipped: Sequence[SkippedRow]) -> Iterator[str]:
    yield '<section id="problems" class="alert"><h2>Input problems</h2>'
    if skipped:
        yield (
            f'<p class="skipped"><strong>{_e(skipped_summary(skipped))}: those students are NOT '
            "in this report.</strong> Fix the rows and run it again.</p>"
        )
    else:
        yield (
            "<p>Students on rows with errors are not in this report: fix the rows and run it "
            "again.</p>"
        )
    if problems:
        yield "<ul>"
        for p in problems:
            yield f"<li>{_e(p)}</li>"
        yield "</ul>"
    yield "</section>"


def _attention(by_due: Sequence[StudentPlan]) -> Iterator[str]:
    flagged = attention_cycles(by_due)
    yield (
        '<section id="attention"><h2>Needs attention '
        f'(<span id="n-attention">{len(flagged)}</span>)</h2>'
    )
    if not flagged:
        yield "<p>Every student is on track.</p></section>"
        return
    yield (
        '<table class="attention"><thead><tr><th>Student</th>'
        "<th>Building · case manager</th><th>IEP due · meeting</th>"
        '<th class="w-warn">Warning</th><th class="w-act">Next action</th></tr></thead><tbody>'
    )
    for top, p in flagged:
        # A row per cycle: each row shows its cycle's own warnings (the student's plan also
        # carries the other cycles', which their rows show), so each warning is listed once.
        warnings = "".join(f"<li>{_e(w)}</li>" for w in own_warnings(p)) or "<li>—</li>"
        kind = "" if not top.others else f"{_e(due_label(p).removesuffix(' due'))}<br>"
        yield (
            f'<tr class="flt"{_flt(p)}>'
            f"<td>{_badge(p.status)}<br>{_student_link(p)}</td>"
            f'<td class="who">{_e(p.student.building)}<br>'
            f'<span class="cm">{_e(p.student.case_manager_label)}</span></td>'
            f"<td>{kind}due&nbsp;{_e(due_text(p))}<br>"
            f'<span class="mt">{_e(meeting_text(top, p))}</span></td>'
            f'<td><ul class="warnings">{warnings}</ul></td>'
            f'<td class="action">{_e(next_action(p))}</td>'
            "</tr>"
        )
    yield "</tbody></table></section>"


def _timelines(
    by_due: Sequence[StudentPlan],
    contacts_by_student: Mapping[str, Sequence[Contact]],
    each: PlanWrap | None,
    rows: dict[str, int] | None,
) -> Iterator[str]:
    """Every student's timeline; with `rows`, compact (each row's markup indexed into `rows`)."""
    yield '<section id="timelines"><h2>Student timelines</h2>'
    if rows is not None:
        yield (
            '<p class="legend">Open a student\'s timeline to see every step; a link to a student '
            "opens it too. To print timelines, filter to a caseload first.</p>"
        )
    for plan in each(by_due) if each else by_due:
        yield _timeline(plan, contacts_by_student.get(plan.student_id, ()), rows)
    yield '<p id="f-none" hidden>No student matches the filters.</p></section>'


def _timeline(
    plan: StudentPlan, contacts: Sequence[Contact], rows: dict[str, int] | None = None
) -> str:
    s = plan.student
    name = f"{s.first_name} {s.last_name}".strip()
    meta = [
        ("Building", s.building),
        ("Case manager", s.case_manager_label),
        (due_label(plan), due_text(plan)),
        ("Meeting", meeting_text(plan, plan)),
    ]
    if plan.next_due_date is not None:
        meta.append(("Next IEP due", plan.next_due_date.isoformat()))
    dl = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in meta)
    # The plan's own cycle's warnings: each other cycle's are in its section (`cycle_sections`).
    warnings = "".join(f"<li>{_e(w)}</li>" for w in own_warnings(plan))
    parts = [
        f'<article class="student flt" id="{_e(_anchor(plan))}"{_flt(plan)}'
        f' data-facts="{" ".join(str(int(v)) for v in _facts(plan))}">',
        f"<h3>{_e(plan.student_id)} — {_e(name)} {_badge(plan.status)}</h3>",
        f'<dl class="meta">{dl}</dl>',
    ]
    if warnings:
        parts.append(f'<ul class="warnings">{warnings}</ul>')
    own = as_own(plan) if plan.others else plan  # the other cycles' actions are in their sections
    if own.status != "on_track":
        parts.append(f'<p class="action">{_e(next_action(own))}</p>')
    if plan.milestones and rows is None:
        body = "".join(_milestone_row(plan, m) for m in plan.milestones)
        parts.append(f"{TIMELINE_HEAD}{body}</tbody></table>")
    elif plan.milestones and rows is not None:
        indexes = " ".join(
            _base36(rows.setdefault(row, len(rows)))
            for row in (_milestone_row(plan, m) for m in plan.milestones)
        )
        count = len(plan.milestones)
        parts.append(
            f'<details class="tl" data-r="{indexes}"><summary>Timeline: {count} '
            f"step{'' if count == 1 else 's'}</summary></details>"
        )
    parts.extend(cycle_sections(plan, _milestone_row, TIMELINE_HEAD, rows, _base36))
    parts.append(_contacts_paragraph(plan, contacts))
    parts.append("</article>")
    return "".join(parts)


TIMELINE_HEAD = (
    '<table class="timeline"><thead><tr><th>Date</th><th>Step</th><th>Status</th>'
    "</tr></thead><tbody>"
)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


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
    cls, verdict = contact_verdict(req, plan.today)
    if req is not None and cls == "met":
        verdict += " by " + " and ".join(_contact_text(c) for c in req.qualifying)
    elif cls in ("pending", "unmet"):
        verdict += " — two contacts by two different methods"
    logged = "; ".join(_contact_text(c) for c in contacts) if contacts else "none"
    return (
        f'<p class="contacts {"pending" if cls == "none" else cls}">Parent contacts: '
        f'{_e(verdict)}. <span class="logged">Logged: {_e(logged)}.</span></p>'
    )

"""Hand-built plans with several open cycles (SPEC §3.6), for the tests of the views.

The views are tested against the model contract (`StudentPlan.others`), not against what the
planner produces today: every cycle here is written out by hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

from iepsched.core.model import (
    ContactRequirement,
    CycleType,
    DecisionMaker,
    Meeting,
    Milestone,
    Student,
    StudentPlan,
)

CHICAGO = ZoneInfo("America/Chicago")
TODAY = dt.date(2026, 11, 30)
HOSTILE = '<script>alert("x")</script>&amp;'


def student(**changes: object) -> Student:
    base: dict[str, object] = {
        "student_id": "S1",
        "first_name": "Ana",
        "last_name": "Ruiz",
        "birth_date": dt.date(2012, 6, 1),
        "building": "North High",
        "case_manager_email": "cm@example.org",
        "lea_email": "lea@example.org",
        "due_date": dt.date(2027, 1, 20),
        "reeval_due_date": dt.date(2027, 1, 25),
        "decision_makers": (DecisionMaker("Rosa Ruiz", address="1 Elm St"),),
    }
    base.update(changes)
    return Student(**base)


def meeting(day: dt.date, state: str = "booked") -> Meeting:
    start = dt.datetime.combine(day, dt.time(15, 30), CHICAGO)
    return Meeting(day, start, start + dt.timedelta(hours=1), state, "on_track")  # type: ignore[arg-type]


def step(key: str, day: dt.date | None, title: str, **changes: object) -> Milestone:
    status = "unscheduled" if day is None else ("overdue" if day < TODAY else "upcoming")
    m = Milestone(key, day, "task", status, title)  # type: ignore[arg-type]
    return m._replace(**changes)


def cycle(
    top: Student,
    cycle_type: CycleType,
    due: dt.date,
    met: Meeting | None,
    steps: tuple[Milestone, ...],
    **changes: object,
) -> StudentPlan:
    plan = StudentPlan(
        student=top,
        today=TODAY,
        due_date=due,
        next_due_date=None,
        status="on_track",
        meeting=met,
        milestones=steps,
        cycle_type=cycle_type,
        cycle_id=f"{cycle_type}-{due.isoformat()}" if cycle_type != "annual" else due.isoformat(),
    )
    return replace(plan, **changes)  # type: ignore[arg-type]


ANNUAL_DAY = dt.date(2027, 1, 6)
ELIG_DAY = dt.date(2026, 12, 15)


def annual(s: Student | None = None) -> StudentPlan:
    s = s or student()
    return cycle(
        s,
        "annual",
        s.due_date,
        meeting(ANNUAL_DAY),
        (
            step("written_notice", dt.date(2026, 12, 22), "Send the written notice"),
            step("meeting", ANNUAL_DAY, "IEP meeting", delivery="event", kind="event"),
            step("reeval_consent", dt.date(2026, 10, 20), "Request consent", track="reeval"),
        ),
        contacts=ContactRequirement(met=False, deadline=dt.date(2026, 12, 22)),
    )


def every_cycle(s: Student | None = None) -> StudentPlan:
    """An annual plan with a combined reevaluation, an eligibility meeting of its own, a
    transfer meeting not placed, and a written amendment; the student's status the worst."""
    top = annual(s)
    s = top.student
    reeval = cycle(
        s,
        "reevaluation",
        dt.date(2027, 1, 25),
        top.meeting,
        (
            step("reeval_consent", dt.date(2026, 10, 20), "Request consent", track="reeval"),
            step("reeval_due", dt.date(2027, 1, 25), "Reevaluation completed", track="reeval"),
        ),
        combined_with="annual",
        cycle_id="R2027-01-25",
    )
    elig = cycle(
        s,
        "eligibility",
        dt.date(2027, 1, 12),
        meeting(ELIG_DAY, "proposed"),
        (
            step("evaluation_plan", dt.date(2026, 10, 8), "Write the evaluation plan"),
            step("meeting", ELIG_DAY, "Eligibility meeting", delivery="event", kind="event"),
            step("evaluation_complete", dt.date(2026, 12, 8), "Complete the evaluation report"),
        ),
        status="at_risk",
        warnings=(),
    )
    transfer = cycle(
        s,
        "transfer",
        dt.date(2028, 9, 30),
        None,
        (step("meeting", None, "Transfer IEP meeting", delivery="event", kind="event"),),
        status="unplanned",
    )
    written = cycle(
        s,
        "amendment",
        dt.date(2026, 12, 10),
        None,
        (
            step("send_amendment_document", dt.date(2026, 11, 25), "Send the written amendment"),
            step("amendment_signed", dt.date(2026, 12, 10), "Amendment signed"),
        ),
        status="unplanned",
    )
    return replace(
        top,
        status="unplanned",
        cycle_status="on_track",
        others=(reeval, elig, transfer, written),
    )

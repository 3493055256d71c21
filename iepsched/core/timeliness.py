"""Meetings held, timely and late, per school year (SPEC §3.3, §6). Pure.

A meeting held after its cycle's DUE is late by (held date − DUE) days; each school year (July to
June, by the held date) counts its meetings held, timely and late, and each late one carries the
reason the case manager logged with `iepsched delay log`. A late IEP stays late once held: the
student's status goes back to on track, but this count keeps it.

Which delay entry explains which meeting: the latest entry of the student whose `meeting_date` is
the held date; failing that, the latest one logged while that cycle was open (after the
student's previous held meeting, up to and including the held date). An entry logged after the
meeting without `--meeting-date` belongs to the next cycle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .model import Cycle, Delay, StudentPlan

NO_REASON = "no reason logged"
Timeliness = Literal["timely", "late"]


@dataclass(frozen=True, slots=True)
class HeldMeeting:
    """One held meeting of a student's cycle, and the due date it was held against."""

    student_id: str
    cycle_id: str
    due_date: dt.date
    held_on: dt.date


@dataclass(frozen=True, slots=True)
class HeldOutcome:
    """A held meeting judged: days late (0 when on or before DUE) and the logged reason."""

    student_id: str
    cycle_id: str
    due_date: dt.date
    held_on: dt.date
    days_late: int
    reason: str  # the logged reason for a late meeting; NO_REASON when none; "" when timely

    @property
    def status(self) -> Timeliness:
        return "late" if self.days_late > 0 else "timely"


@dataclass(frozen=True, slots=True)
class YearTimeliness:
    """One school year's meetings held, in held-date order."""

    school_year: str  # e.g. "2026-27"
    meetings: tuple[HeldOutcome, ...]

    @property
    def held(self) -> int:
        return len(self.meetings)

    @property
    def late(self) -> tuple[HeldOutcome, ...]:
        return tuple(m for m in self.meetings if m.status == "late")

    @property
    def timely(self) -> int:
        return self.held - len(self.late)


def school_year_of(day: dt.date) -> str:
    """The July–June school year a date falls in, named like the calendars: "2026-27"."""
    start = day.year if day.month >= 7 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def held_meetings(
    cycles: Mapping[tuple[str, str], Sequence[Cycle]], plans: Iterable[StudentPlan] = ()
) -> tuple[HeldMeeting, ...]:
    """Every held annual meeting: the state's cycles with a held date, and the plans' meetings
    held but not yet recorded (a report run before the sync that closes the cycle). The
    reevaluation track's held date is the day the reevaluation was done, not a meeting."""
    found: dict[tuple[str, str], HeldMeeting] = {}
    for (sid, track), known in cycles.items():
        if track != "annual":
            continue
        for c in known:
            if c.held_on is not None:
                found[(sid, c.cycle_id)] = HeldMeeting(sid, c.cycle_id, c.due_date, c.held_on)
    for plan in plans:
        meeting = plan.meeting
        if meeting is None or meeting.state != "held":
            continue
        key = (plan.student_id, plan.cycle_id)
        if key not in found:
            found[key] = HeldMeeting(plan.student_id, plan.cycle_id, plan.due_date, meeting.date)
    return tuple(sorted(found.values(), key=lambda h: (h.held_on, h.student_id, h.cycle_id)))


def timeliness(held: Iterable[HeldMeeting], delays: Sequence[Delay]) -> tuple[YearTimeliness, ...]:
    """Each school year's held meetings judged timely or late, oldest year first."""
    by_student: dict[str, list[HeldMeeting]] = {}
    for h in held:
        by_student.setdefault(h.student_id, []).append(h)
    delays_of: dict[str, list[tuple[int, Delay]]] = {}
    for order, d in enumerate(delays):
        delays_of.setdefault(d.student_id, []).append((order, d))
    years: dict[str, list[HeldOutcome]] = {}
    for sid, meetings in by_student.items():
        meetings.sort(key=lambda h: h.held_on)
        previous: dt.date | None = None
        for h in meetings:
            days = max(0, (h.held_on - h.due_date).days)
            reason = ""
            if days:
                reason = _reason(delays_of.get(sid, ()), h.held_on, previous)
            outcome = HeldOutcome(sid, h.cycle_id, h.due_date, h.held_on, days, reason)
            years.setdefault(school_year_of(h.held_on), []).append(outcome)
            previous = h.held_on
    return tuple(
        YearTimeliness(
            year, tuple(sorted(found, key=lambda o: (o.held_on, o.student_id, o.cycle_id)))
        )
        for year, found in sorted(years.items())
    )


def _reason(
    entries: Iterable[tuple[int, Delay]], held_on: dt.date, previous: dt.date | None
) -> str:
    """The latest matching entry's reason (see the module doc); NO_REASON when none matches."""
    named: tuple[dt.date, int, str] | None = None
    during: tuple[dt.date, int, str] | None = None
    for order, d in entries:
        rank = (d.logged_on, order, d.reason)
        if d.meeting_date == held_on:
            named = max(named, rank) if named else rank
        elif d.logged_on <= held_on and (previous is None or d.logged_on > previous):
            during = max(during, rank) if during else rank
    best = named or during
    return best[2] if best else NO_REASON

"""The meeting ladder of SPEC §3.1: which day and slot a student's meeting takes.

Occupancy (meetings placed so far this run), free/busy, keeping a booked meeting that still
stands, and walking the four rungs (on track, at risk, short notice, infeasible). Pure.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice

from .context import PlanContext, Span
from .model import BookedMeeting, Interval, Meeting, PlanWarning, Rung, Student
from .rules import meeting_held
from .schoolcal import SchoolCalendar, UnknownDate

_DAY = dt.timedelta(days=1)


def _local_spans(
    start: dt.datetime, end: dt.datetime, tz: dt.tzinfo
) -> Iterable[tuple[dt.date, Span]]:
    """Split an aware interval into per-local-day minute spans."""
    a, b = start.astimezone(tz), end.astimezone(tz)
    day = a.date()
    while True:
        begin = a.hour * 60 + a.minute if day == a.date() else 0
        if day == b.date():
            finish = b.hour * 60 + b.minute + (1 if b.second or b.microsecond else 0)
            if finish > begin:
                yield day, (begin, finish)
            return
        yield day, (begin, 24 * 60)
        day += _DAY


class Occupancy:
    """Meetings placed so far in this run (booked first, then proposals), for slot checks.

    Slot checks run for every candidate day of every student, so they compare plain local minute
    spans instead of aware datetimes.
    """

    __slots__ = ("per_cm_day", "per_person_day")

    def __init__(self) -> None:
        self.per_cm_day: dict[tuple[str, dt.date], int] = defaultdict(int)
        self.per_person_day: dict[tuple[str, dt.date], list[Span]] = defaultdict(list)

    def add(self, cm: str, people: Iterable[str], day: dt.date, span: Span) -> None:
        self.per_cm_day[(cm, day)] += 1
        for person in people:
            self.per_person_day[(person, day)].append(span)


def busy_index(
    busy: Mapping[str, Sequence[Interval]] | None, tz: dt.tzinfo
) -> dict[tuple[str, dt.date], list[Span]]:
    """Graph free/busy, indexed by (email, local date)."""
    index: dict[tuple[str, dt.date], list[Span]] = defaultdict(list)
    for email, spans in (busy or {}).items():
        who = email.lower()
        for interval in spans:
            for day, span in _local_spans(interval.start, interval.end, tz):
                index[(who, day)].append(span)
    return index


def _clash(
    index: Mapping[tuple[str, dt.date], list[Span]], people: Iterable[str], day: dt.date, span: Span
) -> bool:
    a, b = span
    for person in people:
        taken = index.get((person, day))
        if taken:
            for c, d in taken:
                if a < d and c < b:
                    return True
    return False


def occupants(student: Student, ctx: PlanContext) -> tuple[str, ...]:
    """Who a meeting occupies for iepsched's own overlap check: required people and the room,
    and the providers when `[meetings] providers_required` makes them required too."""
    room = ctx.room_for(student.building)
    people = student.required_emails
    if ctx.meetings.providers_required and student.provider_emails:
        people = (*people, *(p for p in student.provider_emails if p not in people))
    return (*people, room) if room else people


def hold_booked(
    occupancy: Occupancy,
    booked: Mapping[str, BookedMeeting],
    by_id: Mapping[str, Student],
    ctx: PlanContext,
    today: dt.date,
) -> None:
    """Booked meetings hold their slots before anything new is placed; one that a correction
    moves (now-closed day, after a corrected DUE) frees its old slot, as it will once sync
    moves it."""
    for sid, meeting in booked.items():
        student = by_id.get(sid)
        if student is None:
            continue
        if keep_booked(student, meeting, ctx.calendar_for(student), ctx, today, []) is None:
            continue
        people = occupants(student, ctx)
        for index, (day, span) in enumerate(_local_spans(meeting.start, meeting.end, ctx.tz)):
            if index == 0:
                occupancy.per_cm_day[(student.case_manager_email, day)] += 1
            for person in people:
                occupancy.per_person_day[(person, day)].append(span)


def rung_of(day: dt.date, latest: dt.date | None, due: dt.date) -> Rung:
    if day > due:
        return "infeasible"
    if latest is not None and day <= latest:
        return "on_track"
    return "at_risk"


def keep_booked(
    student: Student,
    booked: BookedMeeting | None,
    cal: SchoolCalendar,
    ctx: PlanContext,
    today: dt.date,
    warnings: list[PlanWarning],
) -> Meeting | None:
    """The booked meeting, if it still stands; None (with a warning) when it must be re-placed."""
    if booked is None:
        return None
    start = booked.start.astimezone(ctx.tz)
    end = booked.end.astimezone(ctx.tz)
    day = start.date()
    due = student.due_date
    if meeting_held(day, today):
        return Meeting(day, start, end, "held", classify(day, due, cal, ctx))
    try:
        school = cal.is_school_day(day)
    except UnknownDate:
        school = True  # we cannot say the day is closed
    if booked.adopted:
        # People win: a meeting moved in Outlook stays where they put it; rules become warnings.
        if not school:
            warnings.append(
                PlanWarning(
                    "moved_by_person",
                    f"The meeting was moved in Outlook to {day.isoformat()}, which the school "
                    "calendar shows as closed: confirm the day with the team.",
                )
            )
        # One after the due date gets its own status sentence (statuses.status_warnings).
        return Meeting(day, start, end, "booked", classify(day, due, cal, ctx))
    if not school:
        warnings.append(
            PlanWarning(
                "booked_day_closed",
                f"The booked meeting on {day.isoformat()} falls on a day the school calendar now "
                "shows as closed: it is being moved to the next usable slot; tell the team.",
            )
        )
        return None
    if day > due and (booked.due_date is None or day <= booked.due_date):
        warnings.append(
            PlanWarning(
                "booked_after_due",
                f"The booked meeting on {day.isoformat()} is after the corrected due date "
                f"{due.isoformat()}: it is being moved; tell the team and the parents.",
            )
        )
        return None
    return Meeting(day, start, end, "booked", classify(day, due, cal, ctx))


def classify(day: dt.date, due: dt.date, cal: SchoolCalendar, ctx: PlanContext) -> Rung:
    try:
        latest: dt.date | None = cal.calendar_days_back(due, ctx.rules.ladder.buffer_days)
    except UnknownDate:
        latest = None
    return rung_of(day, latest, due)


def place(
    student: Student,
    cal: SchoolCalendar,
    ctx: PlanContext,
    today: dt.date,
    occupancy: Occupancy,
    free_busy: Mapping[tuple[str, dt.date], list[Span]],
    warnings: list[PlanWarning],
) -> Meeting | None:
    """Walk the ladder of SPEC §3.1; None (and a warning) when an unknown date stops it."""
    ladder = ctx.rules.ladder
    due = student.due_date
    notice = today + dt.timedelta(days=ladder.notice_days)
    legal = today + dt.timedelta(days=ladder.legal_notice_days)
    cm = student.case_manager_email
    # The same people are checked against iepsched's placements and against Graph's free/busy:
    # the required attendees and the building's room.
    people = occupants(student, ctx)
    settings = ctx.meetings
    length = settings.duration_minutes
    spans = ctx.spans
    per_cm_day = occupancy.per_cm_day
    placed = occupancy.per_person_day
    cap = settings.max_per_day

    def usable(day: dt.date) -> int | None:
        """Index of the first usable slot on `day`, or None."""
        if per_cm_day.get((cm, day), 0) >= cap:
            return None
        for i, span in enumerate(spans):
            if not _clash(placed, people, day, span) and not (
                free_busy and _clash(free_busy, people, day, span)
            ):
                return i
        return None

    def book(day: dt.date, slot: int, rung: Rung) -> Meeting:
        occupancy.add(cm, people, day, spans[slot])
        begin = dt.datetime.combine(day, settings.slots[slot], tzinfo=ctx.tz)
        return Meeting(day, begin, begin + dt.timedelta(minutes=length), "proposed", rung)

    try:
        latest = cal.calendar_days_back(due, ladder.buffer_days)
        # Rung 1: on track, latest first: `latest` and the window's school days before it, not
        # before TODAY + notice, and not in the first school days of a school year (a month of
        # preparation must fall in school time, so an IEP due in August is held in May).
        early = ctx.early_school_days(cal)
        window = _school_days(cal, latest, notice, -1)
        for day in islice(window, ladder.window_school_days + 1):
            if early and _among(early, day):
                continue
            slot = usable(day)
            if slot is not None:
                return book(day, slot, "on_track")
        # Rung 2: less than two weeks of buffer, earliest first.
        for day in _school_days(cal, max(latest + _DAY, notice), due, 1):
            slot = usable(day)
            if slot is not None:
                return book(day, slot, "at_risk")
        # Rung 3: the district's notice is gone; the legal 10-day notice still holds.
        for day in _school_days(cal, legal, due, 1):
            slot = usable(day)
            if slot is not None:
                return book(day, slot, "at_risk")
        # Rung 4: the due date cannot be met.
        for day in cal.walk(max(due + _DAY, legal), 1):
            slot = usable(day)
            if slot is not None:
                return book(day, slot, "infeasible")
    except UnknownDate as exc:
        warnings.append(
            PlanWarning(
                "unknown_year",
                f"Cannot place the meeting: school year {exc.school_year} is not loaded "
                f"({cal.name}). Add that year's calendar so the meeting can be planned.",
            )
        )
    return None


def _among(spans: Sequence[tuple[dt.date, dt.date]], day: dt.date) -> bool:
    return any(first <= day <= last for first, last in spans)


def _school_days(
    cal: SchoolCalendar, start: dt.date, stop: dt.date, step: int
) -> Iterator[dt.date]:
    """School days from `start` to `stop` inclusive, forward (step 1) or backward (step -1).

    Only dates inside the range are looked at: a rung fails on an unknown date it needs, never on
    one beyond its end that the walk would step onto while looking for the next school day.
    """
    if (start > stop) if step > 0 else (start < stop):
        return
    try:
        if step > 0:
            for day in cal.walk(start, 1):
                if day > stop:
                    return
                yield day
        else:
            for day in cal.walk(start, -1):
                if day < stop:
                    return
                yield day
    except UnknownDate as exc:
        if (exc.day > stop) if step > 0 else (exc.day < stop):
            return
        raise

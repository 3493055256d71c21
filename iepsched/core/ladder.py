"""The meeting ladder of SPEC §3.1: which day and slot a student's meeting takes.

Occupancy (meetings placed so far this run), free/busy, keeping a booked meeting that still
stands, and walking the four rungs (on track, at risk, short notice, infeasible). Pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from .context import PlanContext, Span
from .model import BookedMeeting, Interval, Meeting, PlanWarning, Rung, Student
from .rules import meeting_held
from .schoolcal import SchoolCalendar, UnknownDate

_DAY = dt.timedelta(days=1)
# `place`'s earliest usable day when the walk to find it reached a year not loaded: a day before
# every rung's range, so that each rung walks as written.
_UNKNOWN = (dt.date.min, 0)


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
    """Who is taken when, for the ladder's slot checks: everything placed so far in this run
    (booked meetings first, then proposals) and Graph's free/busy.

    Every meeting iepsched proposes uses one of the configured slots, so per person and day all
    that matters is which slots are taken: a bitmask (bit i: slot i overlaps something the person
    has then). A day on which a person's mask is full, or a case manager has reached
    `max_per_day`, is a *full* day for them; full days are linked to the next (and previous) day
    by path-compressed skip pointers, so a walk over the weeks a busy LEA is taken costs a few
    lookups instead of one check per day and slot (issue 10.7: the cost per student stays flat as
    staff fill up). Days are date ordinals.
    """

    __slots__ = (
        "cap",
        "cap_next",
        "cap_prev",
        "closed",
        "counts",
        "full",
        "next",
        "prev",
        "runs",
        "saturated",
        "slot_bits",
        "spans",
        "taken",
        "times",
        "windows",
    )

    def __init__(self, spans: Sequence[Span], cap: int) -> None:
        self.spans = tuple(spans)
        self.full = (1 << len(self.spans)) - 1
        self.cap = cap
        self.slot_bits = tuple(self.bits(span) for span in self.spans)  # what each slot takes
        self.taken: dict[str, dict[int, int]] = {}  # person -> day -> taken slots
        self.next: dict[str, dict[int, int]] = {}  # person -> full day -> a later day
        self.prev: dict[str, dict[int, int]] = {}  # person -> full day -> an earlier day
        self.counts: dict[str, dict[int, int]] = {}  # case manager -> day -> meetings
        self.cap_next: dict[str, dict[int, int]] = {}  # case manager -> capped day -> later
        self.cap_prev: dict[str, dict[int, int]] = {}
        self.runs: dict[int, tuple[tuple[int, int], ...]] = {}  # id(calendar) -> covered runs
        # id(calendar) -> direction -> each covered day that is not a school day -> the next
        # school day that way (or the first day past the covered run).
        self.closed: dict[int, dict[int, dict[int, int]]] = {}
        # The ladder's window per (calendar, DUE, ...) and a slot's start and end per (day,
        # slot): thousands of students share a DUE or a meeting day, and this run's answers are
        # the same for each of them (issue 10.7; never kept beyond one planning run).
        self.windows: dict[tuple[int, ...], dt.date] = {}
        self.times: dict[tuple[int, int], tuple[dt.datetime, dt.datetime]] = {}
        # LEA representative -> whether their last meeting placed this run missed its DUE: a
        # hint for the order of the ladder's walks, never for where a meeting goes.
        self.saturated: dict[str, bool] = {}

    def closed_days(self, cal: SchoolCalendar, step: int) -> dict[int, int]:
        """Weekends, breaks and summer of `cal` as skip pointers in direction `step`."""
        found = self.closed.get(id(cal))
        if found is None:
            forward: dict[int, int] = {}
            backward: dict[int, int] = {}
            for lo, hi in self.runs_of(cal):
                pending: list[int] = []
                last_school = lo - 1
                for o in range(lo, hi + 1):
                    if cal.is_school_day(dt.date.fromordinal(o)):
                        for p in pending:
                            forward[p] = o
                        pending = []
                        last_school = o
                    else:
                        pending.append(o)
                        backward[o] = last_school
                for p in pending:
                    forward[p] = hi + 1
            found = self.closed[id(cal)] = {1: forward, -1: backward}
        return found[step]

    def runs_of(self, cal: SchoolCalendar) -> tuple[tuple[int, int], ...]:
        runs = self.runs.get(id(cal))
        if runs is None:
            runs = self.runs[id(cal)] = _covered_runs(cal)
        return runs

    def bits(self, span: Span) -> int:
        """The slots a span of minutes overlaps."""
        a, b = span
        found = 0
        for i, (c, d) in enumerate(self.spans):
            if a < d and c < b:
                found |= 1 << i
        return found

    def take(self, person: str, day: int, bits: int) -> None:
        """Mark slots of one day taken for a person; a full day gets its skip pointers."""
        if not bits:
            return
        days = self.taken.get(person)
        if days is None:
            days = self.taken[person] = {}
        old = days.get(day, 0)
        new = old | bits
        if new != old:
            days[day] = new
            if new == self.full:
                self.next.setdefault(person, {})[day] = _weekday_after(day)
                self.prev.setdefault(person, {})[day] = _weekday_before(day)

    def count(self, cm: str, day: int) -> None:
        """One more meeting of a case manager's that day; at the cap the day is full for them."""
        counts = self.counts.get(cm)
        if counts is None:
            counts = self.counts[cm] = {}
        n = counts[day] = counts.get(day, 0) + 1
        if n >= self.cap:
            self.cap_next.setdefault(cm, {})[day] = _weekday_after(day)
            self.cap_prev.setdefault(cm, {})[day] = _weekday_before(day)

    def add(self, cm: str, people: Iterable[str], day: int, slot: int) -> None:
        """A proposal in slot `slot`: it takes every slot its span overlaps."""
        bits = self.slot_bits[slot]
        self.count(cm, day)
        taken = self.taken
        for person in people:  # `take`, inlined: this runs for every attendee of every meeting
            days = taken.get(person)
            if days is None:
                days = taken[person] = {}
            old = days.get(day, 0)
            new = old | bits
            if new != old:
                days[day] = new
                if new == self.full:
                    self.next.setdefault(person, {})[day] = _weekday_after(day)
                    self.prev.setdefault(person, {})[day] = _weekday_before(day)

    def add_busy(self, busy: Mapping[str, Sequence[Interval]] | None, tz: dt.tzinfo) -> None:
        """Graph free/busy: a busy person's overlapped slots are taken like placed meetings."""
        for email, intervals in (busy or {}).items():
            who = email.lower()
            for interval in intervals:
                for day, span in _local_spans(interval.start, interval.end, tz):
                    self.take(who, day.toordinal(), self.bits(span))


def _weekday_after(day: int) -> int:
    """The next Monday-to-Friday ordinal: no school day is ever on a weekend (SPEC §2.3), so a
    full Friday points straight at Monday. (Ordinal 1 was a Monday.)"""
    after = day + 1
    weekday = (after - 1) % 7
    return after + 2 if weekday == 5 else after + 1 if weekday == 6 else after


def _weekday_before(day: int) -> int:
    """The previous Monday-to-Friday ordinal."""
    before = day - 1
    weekday = (before - 1) % 7
    return before - 1 if weekday == 5 else before - 2 if weekday == 6 else before


def _find(skip: dict[int, int], day: int) -> int:
    """The first day from `day` (in the pointers' direction) that is not full; compresses."""
    root = day
    while root in skip:
        root = skip[root]
    while day != root:
        skip[day], day = root, skip[day]
    return root


def _covered_runs(cal: SchoolCalendar) -> tuple[tuple[int, int], ...]:
    """The runs of consecutive covered ordinals of a calendar (consecutive years join)."""
    spans = sorted((a.toordinal(), b.toordinal()) for a, b in (y.covers for y in cal.years))
    runs: list[list[int]] = []
    for a, b in spans:
        if runs and a <= runs[-1][1] + 1:
            runs[-1][1] = max(runs[-1][1], b)
        else:
            runs.append([a, b])
    return tuple((a, b) for a, b in runs)


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
            o = day.toordinal()
            if index == 0:
                occupancy.count(student.case_manager_email, o)
            bits = occupancy.bits(span)
            for person in people:
                occupancy.take(person, o, bits)


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
    *,
    due: dt.date | None = None,
) -> Meeting | None:
    """The booked meeting, if it still stands; None (with a warning) when it must be re-placed.

    `due`: the DUE of the meeting's cycle (SPEC §3.6); the student's annual DUE by default.
    """
    if booked is None:
        return None
    start = booked.start.astimezone(ctx.tz)
    end = booked.end.astimezone(ctx.tz)
    day = start.date()
    due = due or student.due_date
    assert due is not None, "a cycle without a DUE has no meeting to keep"
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
    warnings: list[PlanWarning],
    *,
    due: dt.date | None = None,
    lower: dt.date | None = None,
    earliest_first: bool = False,
    annual: bool = True,
) -> Meeting | None:
    """Walk the ladder of SPEC §3.1; None (and a warning) when an unknown date stops it.

    For the other cycles of SPEC §3.6: `due` is the cycle's DUE (the student's annual DUE by
    default), `lower` the first day its meeting may take (the day the cycle started, or for an
    amendment TODAY + notice), `earliest_first` walks from `lower` up to DUE instead of down
    from DUE - buffer (an amendment is held as soon as it can be), and `annual` keeps the first
    school days of a year out of rung 1 (a month of preparation in school time is the annual
    review's rule; the other cycles run on a statutory clock from their start).
    """
    ladder = ctx.rules.ladder
    due = due or student.due_date
    assert due is not None, "a cycle without a DUE is not placed"
    notice = today + dt.timedelta(days=ladder.notice_days)
    legal = today + dt.timedelta(days=ladder.legal_notice_days)
    if lower is not None:
        notice, legal = max(notice, lower), max(legal, lower)
    cm = student.case_manager_email
    # The same people are checked against iepsched's placements and against Graph's free/busy:
    # the required attendees and the building's room.
    people = occupants(student, ctx)
    walker = _Walker(cal, occupancy, people, cm)

    windows = occupancy.windows

    def book(day: dt.date, slot: int, rung: Rung) -> Meeting:
        o = day.toordinal()
        occupancy.add(cm, people, o, slot)
        occupancy.saturated[student.lea_email] = rung == "infeasible"
        times = occupancy.times.get((o, slot))
        if times is None:
            settings = ctx.meetings
            begin = dt.datetime.combine(day, settings.slots[slot], tzinfo=ctx.tz)
            end = begin + dt.timedelta(minutes=settings.duration_minutes)
            times = occupancy.times[o, slot] = (begin, end)
        return Meeting(day, times[0], times[1], "proposed", rung)

    try:
        at: tuple[int, ...] = (id(cal), due.toordinal(), ladder.buffer_days)
        latest = windows.get(at)
        if latest is None:
            latest = windows[at] = cal.calendar_days_back(due, ladder.buffer_days)
        if earliest_first:
            start = lower or legal
            found = walker.first(start, due, 1)
            if found is not None:
                return book(*found, rung_of(found[0], latest, due))
            found = walker.first(max(due + _DAY, start), None, 1)
            if found is not None:
                return book(*found, "infeasible")
            return None
        # Rung 1 is walked first, unless the student's LEA representative's last meeting this
        # run could not meet its DUE: in a saturated district the walk would find nothing, and
        # the forward walk below decides all the rungs. Either order gives the same answer.
        floor = _floor(cal, latest, notice, ctx, windows)
        early = ctx.early_school_days(cal) if annual else ()
        saturated = occupancy.saturated.get(student.lea_email, False)
        if not saturated:
            found = walker.first(latest, floor, -1, early)
            if found is not None:
                return book(*found, "on_track")
        # Rungs 1-3 look inside [min(notice, legal), DUE]: one forward walk from its start, with
        # no end, finds the earliest usable day. After DUE: no rung can meet DUE, and the day
        # is rung 4's answer when it is not before TODAY + 10. On or before DUE: rung 1 (if not
        # walked yet) can only succeed when the day is on or before `latest`, and the day is rung
        # 2's or rung 3's answer when it lies in their range. A walk that reaches a year not
        # loaded by DUE says nothing: then the rungs walk as written (`earliest` stays unknown).
        try:
            earliest = walker.first(min(notice, legal), None, 1)
        except UnknownDate as exc:
            if exc.day <= due:
                earliest = _UNKNOWN
            elif legal <= exc.day:
                raise  # rung 4 would walk into the same unknown year
            else:
                earliest = None  # rung 4, from past that year's start, says which year
        if earliest is not None and earliest[0] > due:
            if earliest[0] >= legal:
                return book(*earliest, "infeasible")
            earliest = None
        if earliest is not None:
            day = earliest[0]  # the unknown stand-in's day is before every rung's range
            if saturated and day <= latest:
                found = walker.first(latest, floor, -1, early)
                if found is not None:
                    return book(*found, "on_track")
            # Rung 2: less than two weeks of buffer, earliest first.
            second = max(latest + _DAY, notice)
            found = earliest if day >= second else walker.first(second, due, 1)
            if found is not None:
                return book(*found, "at_risk")
            # Rung 3: the district's notice is gone; the legal 10-day notice still holds. Rung
            # 2 found no day from `second` to DUE, and nothing was booked since, so the walk
            # stops before it (the same first day; a saturated district walked those days twice).
            found = earliest if day >= legal else walker.first(legal, min(due, second - _DAY), 1)
            if found is not None:
                return book(*found, "at_risk")
        # Rung 4: the due date cannot be met.
        found = walker.first(max(due + _DAY, legal), None, 1)
        if found is not None:
            return book(*found, "infeasible")
    except UnknownDate as exc:
        warnings.append(
            PlanWarning(
                "unknown_year",
                f"Cannot place the meeting: school year {exc.school_year} is not loaded "
                f"({cal.name}). Add that year's calendar so the meeting can be planned.",
            )
        )
    return None


def _floor(
    cal: SchoolCalendar,
    latest: dt.date,
    notice: dt.date,
    ctx: PlanContext,
    windows: dict[tuple[int, ...], dt.date],
) -> dt.date:
    """Rung 1's lowest day: the window's school days before `latest`, not before TODAY + notice
    (shared by the students of one run with the same `latest` and notice)."""
    window = ctx.rules.ladder.window_school_days
    at = (id(cal), latest.toordinal(), -window, notice.toordinal())
    floor = windows.get(at)
    if floor is None:
        try:
            floor = max(cal.add_school_days(latest, -window), notice)
        except UnknownDate:
            # The window reaches a year not loaded: walk down to TODAY + notice, failing on the
            # unknown date only if no day after it is usable (fewer than the window's).
            floor = notice
        windows[at] = floor
    return floor


class _Walker:
    """Finds the first usable (day, slot) of one student between two days, either way."""

    __slots__ = ("cal", "cm", "full", "occupancy", "people", "runs", "skips", "tables")

    def __init__(
        self, cal: SchoolCalendar, occupancy: Occupancy, people: Sequence[str], cm: str
    ) -> None:
        self.cal = cal
        self.occupancy = occupancy
        self.people = people
        self.cm = cm
        self.full = occupancy.full
        taken = occupancy.taken
        self.tables = [taken[p] for p in people if p in taken]
        self.skips: dict[int, list[dict[int, int]]] = {}
        self.runs = occupancy.runs_of(cal)

    def _skips(self, step: int) -> list[dict[int, int]]:
        """Days nobody involved can meet on, as skip pointers that way: weekends and closures
        of the calendar, anyone's full days, the case manager's capped days."""
        found = self.skips.get(step)
        if found is None:
            occupancy = self.occupancy
            persons = occupancy.next if step > 0 else occupancy.prev
            capped = occupancy.cap_next if step > 0 else occupancy.cap_prev
            found = [occupancy.closed_days(self.cal, step)]
            found += [persons[p] for p in self.people if p in persons]
            if self.cm in capped:
                found.append(capped[self.cm])
            self.skips[step] = found
        return found

    def first(
        self,
        start: dt.date,
        stop: dt.date | None,
        step: int,
        excluded: Sequence[tuple[int, int]] = (),
    ) -> tuple[dt.date, int] | None:
        """The first school day from `start` to `stop` inclusive (None: no end) with a slot free
        for everyone, and that slot; None when there is none.

        Raises UnknownDate when the walk reaches a date the calendar does not know before it
        finds one — only dates inside the range count, as in SPEC §3.1.
        """
        o = start.toordinal()
        end = stop.toordinal() if stop is not None else None
        if end is not None and (o > end if step > 0 else o < end):
            return None
        cal, full, tables = self.cal, self.full, self.tables
        skips = self.skips.get(step) or self._skips(step)
        for lo, hi in self.runs:  # the run of covered days around `o`
            if lo <= o <= hi:
                break
        else:
            raise UnknownDate(start, cal.name)
        while True:
            moved = True
            while moved:  # skip the days someone involved is full on
                moved = False
                for skip in skips:
                    if o in skip:
                        # Usually the day pointed to is free; a chain is followed (and
                        # compressed) only when it is not.
                        after = skip[o]
                        o = _find(skip, o) if after in skip else after
                        moved = True
            if not lo <= o <= hi:
                edge = hi + 1 if step > 0 else lo - 1
                if end is None or (edge <= end if step > 0 else edge >= end):
                    raise UnknownDate(dt.date.fromordinal(edge), cal.name)
                return None
            if end is not None and (o > end if step > 0 else o < end):
                return None
            if excluded:
                span = _among(excluded, o)
                if span is not None:  # the first school days of a year: past them
                    o = span[1] + 1 if step > 0 else span[0] - 1
                    continue
            taken = 0
            for table in tables:
                taken |= table.get(o, 0)
            free = ~taken & full
            if free:
                return dt.date.fromordinal(o), (free & -free).bit_length() - 1
            o += step


def _among(spans: Sequence[tuple[int, int]], day: int) -> tuple[int, int] | None:
    """The span that holds `day`, if any."""
    for span in spans:
        if span[0] <= day <= span[1]:
            return span
    return None

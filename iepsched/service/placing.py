"""Placing new meetings around people's calendars, for the sync engine (SPEC §5).

Plan; when new meetings must be placed, ask Graph who is busy (getSchedule, through the `Remote`)
and plan again. The request is organized from a mailbox Graph did not refuse this run.

A required attendee whose free/busy Graph cannot give is *unknown*, never free: each plan whose
new meeting needs them warns (`free_busy_unknown`), naming them. Placement still proceeds around
everyone else's calendar — iepsched cannot know when the unknown person is free, and holding the
meeting back would leave the student without one — so the warning asks to confirm with them.

Free/busy is read before the run writes anything, so it still shows the meetings this run cancels
(their students exited). Those slots are free to the new placements (`leaving_slots`), as `plan`
shows them: otherwise sync put a new meeting elsewhere — for a summer-due IEP, past the booking
horizon and so not delivered — for one night, while `plan` showed it in the freed slot.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from ..core.bookings import StateInputs
from ..core.errors import GraphError
from ..core.items import deliverable
from ..core.model import DistrictPlan, Interval, ItemState, PlanWarning, Student, StudentPlan
from ..core.reconcile import LIVE, PENDING, took_place
from ..core.remote import Remote
from .district import District, plan_inputs

log = logging.getLogger(__name__)


def plan_with_free_busy(
    district: District,
    inputs: StateInputs,
    remote: Remote,
    today: dt.date,
    unread: Mapping[str, GraphError],
    leaving: Mapping[str, frozenset[tuple[dt.datetime, dt.datetime]]] | None = None,
) -> DistrictPlan:
    """Plan; when new meetings must be placed, ask Graph who is busy and plan again.

    leaving: per attendee (lower-cased), the meetings this run cancels (`leaving_slots`); free/busy
    still shows them, but their slots are free to the new placements.
    """
    plan = plan_inputs(district, inputs, today=today)
    horizon = district.config.delivery.booking_horizon_days
    placing = [
        p
        for p in plan.plans
        if p.meeting is not None and p.meeting.state == "proposed" and deliverable(p, horizon)
    ]
    refused = {m.lower() for m in unread}
    organizers = [
        p.student.case_manager_email
        for p in placing
        if p.student.case_manager_email.lower() not in refused
    ]
    if not placing or not organizers:
        return plan
    busy = _free_busy(district, placing, remote, today, organizers[0])
    if leaving:
        busy = {
            email: [i for i in intervals if (i.start, i.end) not in leaving.get(email, ())]
            for email, intervals in busy.items()
        }
    plan = plan_inputs(district, inputs, today=today, busy=busy)
    needs = {p.student_id: set(_attendees(district, [p.student])) for p in placing}
    unknown = {email for need in needs.values() for email in need if email not in busy}
    return _warn_unknown(plan, needs, unknown) if unknown else plan


def leaving_slots(
    district: District,
    items: Mapping[str, ItemState],
    exited: frozenset[str],
    now: dt.datetime,
) -> dict[str, frozenset[tuple[dt.datetime, dt.datetime]]]:
    """The (start, end) of each meeting this run cancels, per attendee (lower-cased): the live
    meetings still to come of the students who exited (`exited`, as the run's scope has them).

    The attendees are the organizer's mailbox and, for a student still in the roster, those
    whose free/busy placement asks for (`_attendees`: required people and the room). Should a
    cancellation fail, the person is double-booked until the next run cancels it; a person's own
    event at exactly the same minutes is, like the cancelled one, one interval of free/busy and
    is freed with it.
    """
    if not exited:
        return {}
    by_id = {s.student_id: s for s in district.roster.students}
    out: dict[str, set[tuple[dt.datetime, dt.datetime]]] = {}
    for st in items.values():
        if (
            st.student_id not in exited
            or st.kind != "event"
            or st.state not in (LIVE, PENDING)
            or st.start is None
            or st.end is None
            or took_place(st, now)  # history, never cancelled
        ):
            continue
        student = by_id.get(st.student_id)
        emails = {st.mailbox.lower(), *(_attendees(district, [student]) if student else ())}
        for email in emails:
            out.setdefault(email, set()).add((st.start, st.end))
    return {email: frozenset(slots) for email, slots in out.items()}


def _attendees(district: District, students: Iterable[Student]) -> list[str]:
    """Whose free/busy decides where these students' new meetings go: required attendees and
    rooms."""
    rooms = district.config.rooms
    emails: set[str] = set()
    for student in students:
        emails.update(student.required_emails)
        room = rooms.get(student.building)
        if room:
            emails.add(room.lower())
    return sorted(emails)


def _warn_unknown(
    plan: DistrictPlan, needs: Mapping[str, set[str]], unknown: set[str]
) -> DistrictPlan:
    """Each new meeting that needs a person whose free/busy is unknown warns, naming them."""
    plans = []
    for p in plan.plans:
        needed = sorted(unknown & needs.get(p.student_id, set()))
        if p.meeting is None or not needed:
            plans.append(p)
            continue
        who = ", ".join(needed)
        text = (
            f"Graph could not give the free/busy of {who} (no such mailbox in the tenant?): "
            "the meeting was placed without knowing whether they are free — confirm with them."
        )
        plans.append(replace(p, warnings=(*p.warnings, PlanWarning("free_busy_unknown", text))))
        log.warning("%s: free/busy unknown for %s", p.student_id, who)
    return DistrictPlan(plan.today, tuple(plans), plan.warnings)


def _free_busy(
    district: District,
    placing: Sequence[StudentPlan],
    remote: Remote,
    today: dt.date,
    organizer: str,
) -> dict[str, list[Interval]]:
    tz = district.ctx.tz
    ladder = district.rules.ladder
    first = today + dt.timedelta(days=ladder.legal_notice_days)
    last = max(p.due_date for p in placing) + dt.timedelta(days=42)
    start = dt.datetime.combine(first, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(last, dt.time(0), tzinfo=tz)
    return remote.free_busy(
        _attendees(district, [p.student for p in placing]), start, end, organizer=organizer
    )

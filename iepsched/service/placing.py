"""Placing new meetings around people's calendars, for the sync engine (SPEC §5).

Plan; when new meetings must be placed, ask Graph who is busy (getSchedule, through the `Remote`)
and plan again. The request is organized from a mailbox Graph did not refuse this run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from ..core.bookings import StateInputs
from ..core.errors import GraphError
from ..core.items import deliverable
from ..core.model import DistrictPlan, Interval, StudentPlan
from ..core.remote import Remote
from .district import District, plan_inputs


def plan_with_free_busy(
    district: District,
    inputs: StateInputs,
    remote: Remote,
    today: dt.date,
    unread: Mapping[str, GraphError],
) -> DistrictPlan:
    """Plan; when new meetings must be placed, ask Graph who is busy and plan again."""
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
    return plan_inputs(district, inputs, today=today, busy=busy)


def _free_busy(
    district: District,
    placing: Sequence[StudentPlan],
    remote: Remote,
    today: dt.date,
    organizer: str,
) -> dict[str, list[Interval]]:
    rooms = district.config.rooms
    emails: set[str] = set()
    for p in placing:
        emails.update(p.student.required_emails)
        room = rooms.get(p.student.building)
        if room:
            emails.add(room.lower())
    tz = district.ctx.tz
    ladder = district.rules.ladder
    first = today + dt.timedelta(days=ladder.legal_notice_days)
    last = max(p.due_date for p in placing) + dt.timedelta(days=42)
    start = dt.datetime.combine(first, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(last, dt.time(0), tzinfo=tz)
    return remote.free_busy(sorted(emails), start, end, organizer=organizer)

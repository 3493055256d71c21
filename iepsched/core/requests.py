"""Meeting requests (SPEC §3.6): when each is due and which are still open. Pure.

The one place that decides "open", so the request command (which refuses a second open
amendment request) and the planner (which will book the amendment meetings) agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from .model import MeetingRequest

AMENDMENT_DAYS = 30  # request date + 30 days (SPEC §3.6)
WITHOUT_MEETING_DAYS = 14  # amendment without a meeting, 34 CFR 300.324(a)(4): + 14 days


def request_due(request: MeetingRequest) -> dt.date:
    """DUE of a request: its `--by` date, else the request date + 30 days (+ 14 without a
    meeting)."""
    if request.by is not None:
        return request.by
    days = WITHOUT_MEETING_DAYS if request.without_meeting else AMENDMENT_DAYS
    return request.requested_on + dt.timedelta(days=days)


def open_requests(
    requests: Iterable[MeetingRequest],
    today: dt.date,
    *,
    fulfilled: Collection[str] = (),
) -> list[MeetingRequest]:
    """The requests not yet fulfilled on `today`, in the order given.

    A request is open from its request date until its due date has passed, unless its
    `entry_id` is in `fulfilled`. A request logged after `today` (a preview of an earlier
    night) is not open yet. This is the request command's rule for refusing a second request;
    the planner keeps a request's cycle (`cycles.open_cycles`) open past its due date, overdue,
    until its meeting is held or its written amendment signed.
    """
    return [
        r
        for r in requests
        if r.entry_id not in fulfilled and r.requested_on <= today <= request_due(r)
    ]

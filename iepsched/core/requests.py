"""Meeting requests (SPEC §3.6): when each is due and which are still open. Pure.

The one place that decides "open", so the request command (which refuses a second open
amendment request), `meeting list` and the planner (which keeps an amendment cycle open, overdue,
until its meeting is held or its written amendment signed) agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from .model import MeetingRequest

# A request's state (`request_states`); `meeting list` shows it.
RequestState = Literal["open", "overdue", "held", "signed", "later"]
OPEN_STATES: frozenset[RequestState] = frozenset({"open", "overdue"})

AMENDMENT_DAYS = 30  # request date + 30 days (SPEC §3.6)
WITHOUT_MEETING_DAYS = 14  # amendment without a meeting, 34 CFR 300.324(a)(4): + 14 days


def request_due(request: MeetingRequest) -> dt.date:
    """DUE of a request: its `--by` date, else the request date + 30 days (+ 14 without a
    meeting)."""
    if request.by is not None:
        return request.by
    days = WITHOUT_MEETING_DAYS if request.without_meeting else AMENDMENT_DAYS
    return request.requested_on + dt.timedelta(days=days)


def request_keys(requests: Iterable[MeetingRequest]) -> dict[str, str]:
    """Each amendment request's cycle key by entry id ("S1001/amendment-2026-11-30"), exactly as
    the planner keys the cycle it opens for it (`cycles.open_cycles`: a student's two requests of
    one day are told apart by their place in the log, so give them in the log's order)."""
    from .cycles import cycle_key  # cycles dates a request's cycle with `request_due`

    same_day: dict[tuple[str, dt.date], int] = {}
    keys: dict[str, str] = {}
    for r in requests:
        if r.type != "amendment":
            continue
        day = (r.student_id, r.requested_on)
        seq = same_day[day] = same_day.get(day, 0) + 1
        keys[r.entry_id] = cycle_key(r.student_id, "amendment", r.requested_on, seq)
    return keys


def request_states(
    requests: Sequence[MeetingRequest],
    today: dt.date,
    *,
    held: Mapping[str, dt.date] | None = None,
) -> dict[str, RequestState]:
    """Each request's state on `today` by entry id, the planner's rule (SPEC §3.6).

    `held`: the day each cycle was held by cycle key ("student/cycle_id", the state's
    `StateInputs.cycles_held`): its meeting held, or its written amendment signed. Give the whole
    log of the students concerned, in the log's order (see `request_keys`).

    - held / signed: its meeting was held (signed: the written amendment was signed); closed.
    - overdue: its DUE has passed and it is not held: still open (the planner keeps its cycle,
      overdue, until it is held).
    - open: requested on or before `today`, DUE not passed.
    - later: requested after `today` (a preview of an earlier night): not open yet.
    """
    held = held or {}
    keys = request_keys(requests)
    states: dict[str, RequestState] = {}
    for r in requests:
        key = keys.get(r.entry_id)
        if r.requested_on > today:
            states[r.entry_id] = "later"
        elif key is not None and key in held:
            states[r.entry_id] = "signed" if r.without_meeting else "held"
        elif today > request_due(r):
            states[r.entry_id] = "overdue"
        else:
            states[r.entry_id] = "open"
    return states


def open_requests(
    requests: Sequence[MeetingRequest],
    today: dt.date,
    *,
    held: Mapping[str, dt.date] | None = None,
) -> list[MeetingRequest]:
    """The requests still open on `today` (open or overdue: not yet held), in the order given.

    The one rule for "open": the request command refuses a second open amendment request with
    it, and it is the planner's (`cycles.open_cycles` keeps a request's cycle open past its DUE,
    overdue, until its meeting is held or its written amendment signed). `held` as for
    `request_states`.
    """
    states = request_states(requests, today, held=held)
    return [r for r in requests if states[r.entry_id] in OPEN_STATES]

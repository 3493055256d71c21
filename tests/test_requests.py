"""When a meeting request is due and whether it is still open (SPEC §3.6): one pure rule."""

from __future__ import annotations

import datetime as dt

from calendars import kansas, student

from iepsched.core.cycles import open_cycles
from iepsched.core.model import MeetingRequest
from iepsched.core.requests import open_requests, request_due, request_keys, request_states

ON = dt.date(2026, 11, 30)


def request(**kw: object) -> MeetingRequest:
    fields: dict[str, object] = {
        "student_id": "S1001",
        "type": "amendment",
        "requested_on": ON,
        "reason": "add speech minutes",
        "entry_id": "a" * 32,
    }
    fields.update(kw)
    return MeetingRequest(**fields)  # type: ignore[arg-type]


def test_due_is_thirty_days_after_the_request() -> None:
    """An amendment request without --by is due 30 days after it was logged."""
    assert request_due(request()) == dt.date(2026, 12, 30)


def test_due_without_a_meeting_is_fourteen_days() -> None:
    """An amendment without a meeting is due 14 days after the request (34 CFR 300.324)."""
    assert request_due(request(without_meeting=True)) == dt.date(2026, 12, 14)


def test_by_date_is_the_due_date() -> None:
    """--by replaces the default due date, with or without a meeting."""
    by = dt.date(2026, 12, 18)
    assert request_due(request(by=by)) == by
    assert request_due(request(by=by, without_meeting=True)) == by


def test_open_past_the_due_date_until_held() -> None:
    """Open from the request date; past the due date still open (overdue), as the planner keeps
    its cycle, until its meeting is held."""
    r = request()
    assert open_requests([r], ON) == [r]
    assert open_requests([r], dt.date(2026, 12, 30)) == [r]
    assert open_requests([r], dt.date(2026, 12, 31)) == [r]
    assert request_states([r], dt.date(2026, 12, 31)) == {r.entry_id: "overdue"}


def test_not_open_before_it_was_requested() -> None:
    """A preview of a night before the request does not see it open."""
    assert open_requests([request()], dt.date(2026, 11, 29)) == []
    assert request_states([request()], dt.date(2026, 11, 29)) == {"a" * 32: "later"}


def test_held_requests_are_not_open() -> None:
    """A request whose cycle the state reports held is closed, before or after its due date; the
    cycle key is the planner's (a second request of the same day is ".2")."""
    done, other = request(), request(entry_id="b" * 32)
    held = {"S1001/amendment-2026-11-30": dt.date(2026, 12, 10)}
    assert open_requests([done, other], ON, held=held) == [other]
    assert open_requests([done, other], dt.date(2027, 2, 1), held=held) == [other]
    assert request_keys([done, other]) == {
        "a" * 32: "S1001/amendment-2026-11-30",
        "b" * 32: "S1001/amendment-2026-11-30.2",
    }


def test_a_signed_written_amendment_is_signed() -> None:
    """A written amendment (no meeting) whose amendment_signed is done reads "signed"."""
    r = request(without_meeting=True)
    held = {"S1001/amendment-2026-11-30": dt.date(2026, 12, 3)}
    assert request_states([r], dt.date(2026, 12, 20), held=held) == {r.entry_id: "signed"}
    assert request_states([request()], dt.date(2026, 12, 20), held=held) == {"a" * 32: "held"}


def test_request_keys_are_the_planners_cycle_keys() -> None:
    """The key a request's state is looked up by is the key of the cycle the planner opens."""
    first, second = request(), request(entry_id="b" * 32)
    specs = open_cycles(student(), today=ON, calendar=kansas("2026-27"), requests=[first, second])
    keys = request_keys([first, second])
    amendments = {s.key for s in specs if s.type == "amendment"}
    assert amendments == {keys[first.entry_id], keys[second.entry_id]}

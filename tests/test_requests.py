"""When a meeting request is due and whether it is still open (SPEC §3.6): one pure rule."""

from __future__ import annotations

import datetime as dt

from iepsched.core.model import MeetingRequest
from iepsched.core.requests import open_requests, request_due

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


def test_open_until_the_due_date_has_passed() -> None:
    """Open from the request date through the due date; closed the day after."""
    r = request()
    assert open_requests([r], ON) == [r]
    assert open_requests([r], dt.date(2026, 12, 30)) == [r]
    assert open_requests([r], dt.date(2026, 12, 31)) == []


def test_not_open_before_it_was_requested() -> None:
    """A preview of a night before the request does not see it open."""
    assert open_requests([request()], dt.date(2026, 11, 29)) == []


def test_fulfilled_requests_are_not_open() -> None:
    """A request the planner reports fulfilled (by entry id) is closed before its due date."""
    done, other = request(), request(entry_id="b" * 32)
    assert open_requests([done, other], ON, fulfilled={"a" * 32}) == [other]

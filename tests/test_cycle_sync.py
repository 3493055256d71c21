"""Sync of every kind of meeting cycle (SPEC §3.6) against MemoryRemote and the loopback Graph
sandbox: each cycle's meeting and tasks under its own keys, booked once, a re-run writes nothing,
a held eligibility meeting opens the initial IEP, an amendment request from the log is booked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_sync import TODAY, World

from iepsched.core.model import MeetingRequest
from iepsched.state.store import StateStore

SID = "S1009"  # Prairie Valley High; an annual IEP due 2027-01-25 in the sample roster


@pytest.fixture(params=["memory", "graph"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "memory":
        yield World(tmp_path, "memory", keep=[SID])
        return
    from iepsched.sandbox import GraphSandbox

    with GraphSandbox(seed=11) as sb:
        w = World(tmp_path, "graph", keep=[SID], sandbox=sb)
        try:
            yield w
        finally:
            w.close()


def go(w: World, day: dt.date) -> list[tuple[str, str]]:
    """Sync the night of `day`; nothing fails. Returns the (op, key) done."""
    w.today = day
    report = w.sync(today=day)
    assert report.failures == [] and not report.safety_stop
    return [(a.op, a.key) for a in report.actions]


def meetings(w: World) -> dict[str, dict[str, object]]:
    return {k: v for k, v in w.live().items() if k.endswith("/meeting")}


def log_request(w: World, request: MeetingRequest) -> None:
    with StateStore(w.config().state_path) as store:
        store.log_meeting_request(request)


def test_initial_track_row_is_booked_once_and_a_held_eligibility_opens_the_initial_iep(
    world: World,
) -> None:
    """A roster row with only initial_consent_date is planned and booked; a re-run writes
    nothing; once its meeting is held the initial IEP is booked and nothing is cancelled."""
    world.set_field(SID, last_iep_date="", iep_due_date="", initial_consent_date="2026-10-01")
    go(world, TODAY)
    found = meetings(world)
    assert list(found) == [f"{SID}/eligibility-2026-10-01/meeting"]
    event = found[f"{SID}/eligibility-2026-10-01/meeting"]
    assert "Eligibility meeting" in str(event["subject"])
    assert "Carrow" not in str(event) and "Zoe" not in str(event)
    assert f"{SID}/eligibility-2026-10-01/evaluation_complete" in world.live()
    assert go(world, TODAY) == [] and world.last_writes == 0

    held_on = world.item(f"{SID}/eligibility-2026-10-01/meeting").start
    assert held_on is not None
    day = held_on.date() + dt.timedelta(days=1)
    actions = go(world, day)
    assert not [a for a in actions if a[0] in ("cancel", "delete")]
    e = held_on.date().isoformat()
    assert f"{SID}/initial_iep-{e}/meeting" in meetings(world)
    assert go(world, day) == []


def test_amendment_request_from_the_log_is_booked(world: World) -> None:
    """An amendment request in the log gets its own meeting; a re-run writes nothing; the
    annual cycle's items are untouched."""
    go(world, TODAY)
    before = set(world.live())
    log_request(world, MeetingRequest(SID, "amendment", TODAY, "add speech minutes"))
    actions = go(world, TODAY)
    assert all(op == "create" for op, _ in actions)
    key = f"{SID}/amendment-{TODAY.isoformat()}/meeting"
    assert key in meetings(world)
    assert "amendment" in str(meetings(world)[key]["subject"]).lower()
    assert before <= set(world.live())
    assert go(world, TODAY) == []


def test_amendment_without_meeting_delivers_tasks_only(world: World) -> None:
    """A written amendment is three tasks under its own cycle and no event."""
    log_request(world, MeetingRequest(SID, "amendment", TODAY, "fix a typo", without_meeting=True))
    go(world, TODAY)
    cycle = f"{SID}/amendment-{TODAY.isoformat()}/"
    mine = sorted(k[len(cycle) :] for k in world.live() if k.startswith(cycle))
    assert mine == ["amendment_signed", "distribute_iep", "send_amendment_document"]
    assert go(world, TODAY) == []


def test_transfer_student_is_booked_beside_the_annual(world: World) -> None:
    """A transfer student's IEP meeting is booked under the transfer cycle's keys, once."""
    world.set_field(SID, transfer_in_date="2026-11-16", transfer_type="out_of_state")
    go(world, TODAY)
    assert f"{SID}/transfer-2026-11-16/meeting" in meetings(world)
    assert f"{SID}/transfer-2026-11-16/decide_evaluation" in world.state()
    assert go(world, TODAY) == []


def test_separate_reevaluation_is_booked_under_its_own_cycle(world: World) -> None:
    """A reevaluation due before the annual meeting gets its own meeting under "R<date>", with
    its tasks there; the annual meeting stays; a re-run writes nothing."""
    world.set_field(SID, reeval_due_date="2026-12-18")  # before the annual meeting (2027-01-11)
    go(world, TODAY)
    found = meetings(world)
    assert set(found) == {f"{SID}/2027-01-25/meeting", f"{SID}/R2026-12-18/meeting"}
    assert "Reevaluation meeting" in str(found[f"{SID}/R2026-12-18/meeting"]["subject"])
    assert f"{SID}/R2026-12-18/reeval_consent" in world.live()
    assert go(world, TODAY) == []


def test_combined_reevaluation_is_one_event_with_both_purposes(world: World) -> None:
    """A reevaluation in the annual meeting's window is held at it: one event naming both
    purposes, the reevaluation's tasks under their usual keys, no second meeting."""
    world.set_field(SID, reeval_due_date="2027-02-01")  # annual meeting 2027-01-11 in window
    go(world, TODAY)
    found = meetings(world)
    assert list(found) == [f"{SID}/2027-01-25/meeting"]
    body = str(found[f"{SID}/2027-01-25/meeting"]["body"])
    assert "Annual IEP meeting and reevaluation meeting" in body
    assert f"{SID}/R2027-02-01/reeval_due" in world.live()
    assert go(world, TODAY) == []

"""Sync of a recurring milestone (SPEC §5): one dated To Do task per occurrence, rolling forward
night by night, never a To Do `recurrence` (graph-facts §8); open past occurrences stay until done.
Runs against MemoryRemote and against GraphRemote + the Graph sandbox, like test_sync."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_sync import TODAY, World

SID = "S1009"  # meeting 2027-01-11; occurrences Jan 25, Feb 8, Feb 22, Mar 8, Mar 22, Apr 5, ...


@pytest.fixture(params=["memory", "graph"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "memory":
        yield World(tmp_path, "memory", keep=[SID])
        return
    from iepsched.sandbox import GraphSandbox

    with GraphSandbox(seed=5) as sb:
        w = World(tmp_path, "graph", keep=[SID], sandbox=sb)
        try:
            yield w
        finally:
            w.close()


def monitoring(w: World) -> dict[str, tuple[str, str | None]]:
    """Occurrence number -> (state, due date) of each progress-monitoring row in the state."""
    out: dict[str, tuple[str, str | None]] = {}
    for key, st in w.state().items():
        if st.milestone.startswith("progress_monitoring"):
            task = w.live().get(key)
            due = task["dueDateTime"]["dateTime"][:10] if task else None
            out[st.milestone] = (st.state, due)
    return out


def stored_tasks(w: World) -> list[dict[str, Any]]:
    return [obj for _, kind, obj in w.remote_items() if kind == "task"]


def go(w: World, day: dt.date) -> list[tuple[str, str]]:
    """Sync the night of `day`; nothing fails or is removed. Returns the (op, key) done."""
    w.today = day
    report = w.sync(today=day)
    assert report.failures == [] and not report.safety_stop
    assert not [a for a in report.actions if a.op in ("delete", "cancel")]
    return [(a.op, a.key) for a in report.actions]


def test_occurrences_roll_forward_as_plain_tasks_and_open_past_ones_stay(world: World) -> None:
    """Night by night the occurrences inside the horizon are created as plain dated tasks; a
    completed one stays completed, an open past one stays, nothing is deleted, a re-run writes
    nothing, and no task anywhere carries a recurrence."""
    go(world, TODAY)
    assert monitoring(world) == {"progress_monitoring/1": ("live", "2027-01-25")}
    go(world, dt.date(2027, 1, 1))
    assert monitoring(world) == {
        "progress_monitoring/1": ("live", "2027-01-25"),
        "progress_monitoring/2": ("live", "2027-02-08"),
        "progress_monitoring/3": ("live", "2027-02-22"),
    }
    world.today = dt.date(2027, 2, 9)
    (key2,) = [k for k, st in world.state().items() if st.milestone == "progress_monitoring/2"]
    world.complete(key2, ())
    go(world, dt.date(2027, 2, 10))  # after the meeting (held); #1 is past and still open
    assert monitoring(world) == {
        "progress_monitoring/1": ("live", "2027-01-25"),
        "progress_monitoring/2": ("completed", None),
        "progress_monitoring/3": ("live", "2027-02-22"),
        "progress_monitoring/4": ("live", "2027-03-08"),
        "progress_monitoring/5": ("live", "2027-03-22"),
        "progress_monitoring/6": ("live", "2027-04-05"),
    }
    plan = world.sync(today=dt.date(2027, 2, 10)).plan
    assert world.last_writes == 0
    assert plan is not None
    m = plan.by_id[SID].milestone("progress_monitoring")
    assert m is not None
    assert [o.status for o in m.occurrences[:3]] == ["overdue", "done", "upcoming"]

    for task in stored_tasks(world):
        assert not task.get("recurrence"), task.get("title")
    if world.kind == "memory":
        bodies = [body for _, kind, body in world.remote.sent if kind == "todoTask"]
        assert bodies and not [b for b in bodies if "recurrence" in b]


def test_the_held_cycles_monitoring_keeps_rolling_after_the_roster_moves_on(world: World) -> None:
    """Once the meeting is held and the roster carries the next due date (a new cycle, not
    deliverable for months), the held cycle's occurrences keep arriving night by night under
    that cycle's keys until its NEXT_DUE, with the payloads they had; nothing is removed."""
    go(world, TODAY)
    go(world, dt.date(2027, 2, 10))  # meeting 2027-01-11 held; #1..#6 delivered
    cycle = world.item(f"{SID}/2027-01-25/progress_monitoring/1").cycle_id
    before = {k: v for k, v in world.live().items() if "/progress_monitoring/" in k}
    world.set_field(SID, last_iep_date="2027-01-11", iep_due_date="")  # next DUE 2028-01-10
    done = go(world, dt.date(2027, 3, 1))
    assert [op for op, key in done if key in before] == []  # not even PATCHed
    rows = {st.milestone: st for st in world.state().values() if st.cycle_id == cycle}
    assert {f"progress_monitoring/{n}" for n in range(1, 8)} <= set(rows)  # #7 is Apr 19
    assert not [st for st in world.state().values() if st.cycle_id != cycle]  # not deliverable
    after = {k: v for k, v in world.live().items() if k in before}
    assert {k: v["title"] for k, v in after.items()} == {k: v["title"] for k, v in before.items()}
    assert world.sync(today=dt.date(2027, 3, 1)).plan is not None and world.last_writes == 0
    go(world, dt.date(2027, 9, 1))  # summer's occurrences joined on Aug 12; up to Oct 31
    live = {k for k in world.live() if "/progress_monitoring/" in k}
    assert {f"{SID}/{cycle}/progress_monitoring/{n}" for n in (10, 16, 17, 18, 19, 20)} <= live
    assert f"{SID}/{cycle}/progress_monitoring/21" not in live  # Nov 1: beyond the horizon

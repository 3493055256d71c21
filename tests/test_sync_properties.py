"""Sync as a state machine (STYLE habit 8): whatever people, the roster and faults do, it converges.

Hypothesis drives a district (part of the sample roster) over MemoryRemote through nights of
syncs, roster edits (due dates, exits, unreadable or missing rows, a new case manager), people's
edits in Outlook and To Do, and injected write failures. After
every sync that ends well:

* a second sync makes no write;
* every item the plan wants exists exactly once in Microsoft 365 (or a person removed or
  completed it), and nothing is there that the state does not know;
* nothing of a protected student (unreadable row, missing from the roster) was removed.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule
from test_sync import TZ, World, desired_keys

from iepsched.core.errors import ExitCode, GraphError
from iepsched.service.sync import SyncReport

pytestmark = pytest.mark.slow

# Delivered on the first night (S1001, S1009, S1022, S1028 with a reevaluation), soon after
# (S1002, S1023), one delivered only after its due date (S1014), one exited from the start.
STUDENTS = ("S1001", "S1002", "S1009", "S1014", "S1022", "S1023", "S1028")
KEEP = frozenset({*STUDENTS, "S1012"})

CASE_MANAGERS = ("cm.rivera@pvsec.example.org", "cm.okafor@pvsec.example.org")

students = st.sampled_from(STUDENTS)


class SyncMachine(RuleBasedStateMachine):
    """One district, one state file, one in-memory tenant."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="iepsched-props-"))
        self.world = World(self.folder, "memory", keep=KEEP, validate=False)
        self.original = {r["student_id"]: dict(r) for r in self.world.rows()}
        self.broken: set[str] = set()
        self.dropped: set[str] = set()
        self.guarded: dict[str, set[str]] = {}  # protected student -> keys live when protected
        self.by_person: set[str] = set()  # keys a person deleted or completed

    def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- nights -----------------------------------------------------------------------------

    @initialize()
    def first_night(self) -> None:
        self._sync(force=False, rebook=set())

    @rule(force=st.booleans(), rebook=st.sets(students, max_size=1))
    def sync(self, force: bool, rebook: set[str]) -> None:
        self._sync(force=force, rebook=rebook)

    @rule(days=st.integers(1, 20))
    def advance_today(self, days: int) -> None:
        self.world.today += dt.timedelta(days=days)
        self.world.remote.now += dt.timedelta(days=days)

    # -- the roster -------------------------------------------------------------------------

    @rule(sid=students, days=st.integers(-20, 20).filter(bool))
    def change_due_date(self, sid: str, days: int) -> None:
        if sid in self.dropped:
            return
        row = next(r for r in self.world.rows() if r["student_id"] == sid)
        due = _due(row) + dt.timedelta(days=days)
        self.world.set_field(sid, last_iep_date="", iep_due_date=due.isoformat())

    @rule(sid=students)
    def mark_exited(self, sid: str) -> None:
        if sid not in self.dropped:
            self.world.set_field(sid, status="exited")

    @rule(sid=students, cm=st.sampled_from(CASE_MANAGERS))
    def hand_over(self, sid: str, cm: str) -> None:
        if sid not in self.dropped:
            self.world.set_field(sid, case_manager_email=cm)

    @rule(sid=students)
    def break_row(self, sid: str) -> None:
        if sid not in self.dropped:
            self.world.set_field(sid, birth_date="2011-02-30")
            self._protect(sid)
            self.broken.add(sid)

    @rule(sid=students)
    def drop_row(self, sid: str) -> None:
        if sid not in self.dropped:
            self.world.drop_student(sid)
            self._protect(sid)
            self.dropped.add(sid)

    @precondition(lambda self: bool(self.broken or self.dropped))
    @rule(data=st.data())
    def repair_row(self, data: st.DataObject) -> None:
        sid = data.draw(st.sampled_from(sorted(self.broken | self.dropped)))
        if sid in self.dropped:
            original = self.original[sid]
            self.world.edit_roster(lambda rows: [*rows, dict(original)])
            self.dropped.discard(sid)
        else:
            self.world.set_field(sid, birth_date=self.original[sid]["birth_date"])
            self.broken.discard(sid)
        self.guarded.pop(sid, None)

    # -- people -----------------------------------------------------------------------------

    @rule(data=st.data(), days=st.integers(-10, 10).filter(bool))
    def person_moves_a_meeting(self, data: st.DataObject, days: int) -> None:
        meetings = sorted(k for k in self.world.live(unique=False) if k.endswith("/meeting"))
        if not meetings:
            return
        key = data.draw(st.sampled_from(meetings))
        item = self.world.item(key)
        if item.start is None or item.state != "live":
            return
        start = item.start.astimezone(TZ) + dt.timedelta(days=days)
        self.world.move_meeting(key, start.replace(hour=13, minute=0))

    @rule(data=st.data())
    def person_deletes_an_item(self, data: st.DataObject) -> None:
        live = sorted(k for k in self.world.live(unique=False) if self._known_live(k))
        if live:
            key = data.draw(st.sampled_from(live))
            self.world.delete(key)
            self.by_person.add(key)

    @rule(data=st.data(), checked=st.sets(st.sampled_from(["Phone", "Email", "Letter"])))
    def person_completes_a_task(self, data: st.DataObject, checked: set[str]) -> None:
        tasks = sorted(
            k
            for k, obj in self.world.live(unique=False).items()
            if "dueDateTime" in obj and not obj.get("recurrence") and self._known_live(k)
        )
        if tasks:
            key = data.draw(st.sampled_from(tasks))
            self.world.complete(key, checked)
            self.by_person.add(key)

    @rule(data=st.data(), how=st.sampled_from(["refused", "for now", "answer lost"]))
    def next_writes_fail(self, data: st.DataObject, how: str) -> None:
        # Aim at writes the next run will make: a dry run lists them.
        coming = self.world.sync(dry_run=True, force_cancel=True).actions
        if not coming:
            return
        chosen = data.draw(st.lists(st.sampled_from(coming), min_size=1, max_size=3))
        remote = self.world.remote
        for action in chosen:
            if how == "answer lost":
                remote.drop_after_write(action.key)
            else:
                status = 400 if how == "refused" else 503
                remote.fail_next(action.op, action.key, GraphError(how, status=status))

    # -- checks -----------------------------------------------------------------------------

    def _known_live(self, key: str) -> bool:
        found = self.world.state().get(key)
        return found is not None and found.state == "live"

    def _protect(self, sid: str) -> None:
        if sid not in self.guarded:
            self.guarded[sid] = {
                k
                for k in self.world.live(unique=False)
                if k.startswith(f"{sid}/") and self._known_live(k)
            }

    def _sync(self, *, force: bool, rebook: set[str]) -> None:
        w = self.world
        report = w.sync(force_cancel=force, rebook=rebook - self.dropped)
        protected = set(self.guarded)
        removed = [a for a in report.actions if a.op in ("cancel", "delete")]
        assert not [a for a in removed if a.student_id in protected], "removed a protected item"
        if report.exit_code == ExitCode.SAFETY:
            assert not force and w.last_attempts == 0 and w.last_writes == 0
            return
        assert report.exit_code in (ExitCode.OK, ExitCode.FAILURES), report.failures
        if report.exit_code == ExitCode.OK:
            self._converged(report)

    def _converged(self, report: SyncReport) -> None:
        w = self.world
        live = w.live()  # asserts no key is there twice
        state = w.state()
        assert {k for k, s in state.items() if s.state == "pending"} == set()
        assert set(live) == {k for k, s in state.items() if s.state == "live"}
        for key in desired_keys(report, w):
            assert key in state, f"{key} wanted but never delivered"
            assert state[key].state in ("live", "completed", "removed_by_person"), state[key]
            if state[key].state != "live":
                assert key in self.by_person, f"{key} is {state[key].state}, yet nobody did it"
        for keys in self.guarded.values():
            assert keys - self.by_person <= set(live), "a protected student's item disappeared"
        again = w.sync()
        assert again.actions == [], [(a.op, a.key, a.reason) for a in again.actions]
        assert (w.last_attempts, w.last_writes) == (0, 0)


def _due(row: dict[str, Any]) -> dt.date:
    if row["iep_due_date"]:
        return dt.date.fromisoformat(row["iep_due_date"])
    last = dt.date.fromisoformat(row["last_iep_date"])
    return last.replace(year=last.year + 1) - dt.timedelta(days=1)


SyncMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=15,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestSyncProperties = SyncMachine.TestCase
TestSyncProperties.__doc__ = "Any sequence of nights, edits and faults converges without dupes."

"""Bugs found while running the product end to end, each pinned by a test."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

from calendars import context, student

from iepsched.core.errors import GraphError, GraphThrottled
from iepsched.core.model import BookedMeeting
from iepsched.core.schedule import plan_district
from iepsched.core.settings import StateSettings
from iepsched.inputs.config import load_config
from iepsched.m365.memory import MemoryRemote
from iepsched.service.district import District, load_district
from iepsched.service.sync import SyncOptions, run_sync
from iepsched.state.store import StateStore

TZ = ZoneInfo("America/Chicago")
D = dt.date


def test_a_meeting_booked_late_from_the_start_is_kept_night_after_night() -> None:
    """An infeasible meeting booked after DUE against that same DUE stays (no nightly PATCH)."""
    due = D(2026, 12, 8)
    start = dt.datetime(2026, 12, 10, 7, 45, tzinfo=TZ)
    booked = BookedMeeting("S1", start, start + dt.timedelta(hours=1), due_date=due)
    plan = plan_district(
        [student("S1", due_date=due)], context(), today=D(2026, 11, 30), booked={"S1": booked}
    ).plans[0]
    assert plan.meeting is not None
    assert (plan.meeting.start, plan.meeting.state) == (start, "booked")
    assert plan.status == "infeasible"


def test_a_correction_that_makes_a_booked_meeting_late_moves_it() -> None:
    """Booked on time against the old DUE; the roster's earlier DUE moves it, with a warning."""
    start = dt.datetime(2027, 1, 6, 7, 45, tzinfo=TZ)
    booked = BookedMeeting("S1", start, start + dt.timedelta(hours=1), due_date=D(2027, 1, 20))
    plan = plan_district(
        [student("S1", due_date=D(2027, 1, 5))],
        context(),
        today=D(2026, 11, 30),
        booked={"S1": booked},
    ).plans[0]
    assert plan.meeting is not None
    assert plan.meeting.state == "proposed"
    assert plan.meeting.date <= D(2027, 1, 5)
    assert any("corrected due date" in w for w in plan.warning_texts)


def _sample_world(root: Path) -> tuple[District, StateStore, MemoryRemote]:
    """The sample district with an in-memory Microsoft 365 and a fresh state file."""
    shutil.copytree(Path(__file__).resolve().parents[1] / "config", root / "config")
    config = load_config(root / "config" / "iepsched.toml")
    config = dataclasses.replace(config, state=StateSettings(path=root / "state.sqlite"))
    remote = MemoryRemote(
        timezone=config.district.timezone, installation=config.district.installation
    )
    return load_district(config), StateStore(config.state_path), remote


def test_a_write_refused_for_now_is_retried_in_the_same_run(tmp_path: Path) -> None:
    """A create answered 429 or 503 (not applied) is redone after a re-read: exit 0."""
    district, store, remote = _sample_world(tmp_path)
    options = SyncOptions(today=D(2026, 11, 30), now=dt.datetime(2026, 11, 30, 8, tzinfo=TZ))
    dry = run_sync(district, store, remote, dataclasses.replace(options, dry_run=True))
    event, task = (next(a for a in dry.actions if a.kind == kind) for kind in ("event", "task"))
    remote.fail_next("create", event.key, GraphThrottled("busy", status=429))
    remote.fail_next("create", task.key, GraphError("unavailable", status=503))
    report = run_sync(district, store, remote, options)
    assert report.exit_code == 0, report.failures
    assert remote.find_event(event.mailbox, event.key) is not None
    assert remote.find_task(task.mailbox, task.key) is not None
    assert report.counts["retried"] == 2

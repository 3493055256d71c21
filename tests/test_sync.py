"""The sync engine's contract, run against MemoryRemote and against GraphRemote + the Graph sandbox.

One class of tests (STYLE habit 7): the fixture `world` gives the same helpers — sync, count
writes, list what Microsoft 365 holds, play a person — over either remote. Each test copies the
sample district to a temporary folder, so roster edits and the state file stay there.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from iepsched.core.errors import ExitCode, GraphError
from iepsched.core.items import desired_items, item_key
from iepsched.core.model import ItemState
from iepsched.core.remote import Action
from iepsched.core.settings import Config, GraphSettings
from iepsched.inputs.config import load_config
from iepsched.m365.graphremote import (
    CANCEL_COMMENT,
    event_from_graph,
    parse_date,
    parse_datetime,
    task_from_graph,
)
from iepsched.m365.memory import MemoryRemote
from iepsched.service.district import District, load_district
from iepsched.service.sync import SyncOptions, SyncReport, run_sync
from iepsched.state.store import StateStore

TZ_NAME = "America/Chicago"
TZ = ZoneInfo(TZ_NAME)
TODAY = dt.date(2026, 11, 30)  # the sample district is written around this night
SAMPLE = Path(__file__).resolve().parent.parent / "config"
SUBJECT = "S1009"  # an on-track student delivered on TODAY (meeting proposed for January)


def night(day: dt.date) -> dt.datetime:
    """When the nightly job runs on `day`."""
    return dt.datetime.combine(day, dt.time(2, 0), tzinfo=TZ)


class World:
    """A copy of the sample district, a state file, and Microsoft 365 behind one remote."""

    def __init__(
        self,
        root: Path,
        kind: str,
        *,
        keep: Iterable[str] | None = None,
        sandbox: Any = None,
        validate: bool = True,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        shutil.copytree(
            SAMPLE, root / "config", ignore=shutil.ignore_patterns("state", "*.sqlite*")
        )
        self.root = root
        self.config_path = root / "config" / "iepsched.toml"
        self.roster_path = root / "config" / "roster.csv"
        self.kind = kind
        self.today = TODAY
        self.sb = sandbox
        self.mailboxes = sorted({r["case_manager_email"] for r in self.rows()})
        if keep is not None:
            wanted = set(keep)
            self.edit_roster(lambda rows: [r for r in rows if r["student_id"] in wanted])
        cfg = self.config()
        self.todo_list_name = cfg.delivery.todo_list_name
        self.client: Any = None
        if kind == "memory":
            self.remote: Any = MemoryRemote(
                timezone=TZ_NAME,
                todo_list_name=self.todo_list_name,
                installation=cfg.district.installation,
                validate=validate,
                now=night(TODAY),
            )
        else:
            from iepsched.m365.auth import make_token_provider
            from iepsched.m365.graph import GraphClient
            from iepsched.m365.graphremote import GraphRemote

            tokens = make_token_provider(
                GraphSettings(
                    tenant_id=sandbox.tenant_id,
                    client_id="iepsched-tests",
                    authority=sandbox.authority,
                    endpoint=sandbox.graph_url,
                ),
                client_secret="x",
            )
            self.client = GraphClient(
                endpoint=sandbox.graph_url,
                tokens=tokens,
                timezone=TZ_NAME,
                **(client_options or {}),
            )
            self.remote = GraphRemote(
                self.client,
                timezone=TZ_NAME,
                todo_list_name=self.todo_list_name,
                installation=cfg.district.installation,
            )
        self.last_writes = 0
        self.last_attempts = 0

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    # -- the district ---------------------------------------------------------------------------

    def config(self) -> Config:
        return load_config(self.config_path)

    def district(self) -> District:
        return load_district(self.config())

    def rows(self) -> list[dict[str, str]]:
        with self.roster_path.open(encoding="utf-8-sig", newline="") as f:
            return list(csv.DictReader(f))

    def edit_roster(self, change: Callable[[list[dict[str, str]]], list[dict[str, str]]]) -> None:
        with self.roster_path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            header = list(reader.fieldnames or [])
            rows = list(reader)
        rows = change(rows)
        with self.roster_path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)

    def set_field(self, student_id: str, **values: str) -> None:
        def change(rows: list[dict[str, str]]) -> list[dict[str, str]]:
            hit = [r for r in rows if r["student_id"] == student_id]
            assert hit, student_id
            hit[0].update(values)
            return rows

        self.edit_roster(change)

    def drop_student(self, student_id: str) -> None:
        self.edit_roster(lambda rows: [r for r in rows if r["student_id"] != student_id])

    def edit_config(self, old: str, new: str) -> None:
        text = self.config_path.read_text(encoding="utf-8")
        assert old in text
        self.config_path.write_text(text.replace(old, new), encoding="utf-8")

    # -- running sync ---------------------------------------------------------------------------

    def sync(
        self,
        *,
        today: dt.date | None = None,
        dry_run: bool = False,
        force_cancel: bool = False,
        rebook: Iterable[str] = (),
        max_cancellations: int | None = None,
        recover: bool = False,
        accept_loss: bool = False,
        at: dt.datetime | None = None,
    ) -> SyncReport:
        day = today or self.today
        district = self.district()
        limit = district.config.safety.max_cancellations
        writes, attempts = self.writes(), self.attempts()
        with StateStore(district.config.state_path) as store:
            store.lock()
            report = run_sync(
                district,
                store,
                self.remote,
                SyncOptions(
                    today=day,
                    now=at or night(day),
                    dry_run=dry_run,
                    force_cancel=force_cancel,
                    rebook=frozenset(rebook),
                    max_cancellations=limit if max_cancellations is None else max_cancellations,
                    recover=recover,
                    accept_loss=accept_loss,
                ),
            )
        self.last_writes = self.writes() - writes
        self.last_attempts = self.attempts() - attempts
        return report

    def writes(self) -> int:
        """Writes Microsoft 365 applied so far."""
        if self.kind == "memory":
            return int(self.remote.writes)
        return int(self.sb.stats()["writes"])

    def attempts(self) -> int:
        """Write requests sent so far (applied or not)."""
        if self.kind == "memory":
            return sum(1 for method, _, _ in self.remote.sent if method in ("POST", "PATCH"))
        return int(self.sb.stats()["write_requests"])

    # -- what Microsoft 365 holds -----------------------------------------------------------------

    def remote_items(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(key, "event"|"task", Graph object) for every iepsched item, live or not."""
        out: list[tuple[str, str, dict[str, Any]]] = []
        if self.kind == "memory":
            for mb in self.mailboxes:
                for obj in self.remote.events(mb):
                    ev = event_from_graph(obj, mb)
                    if ev is not None:
                        out.append((ev.key, "event", obj))
                for tl in self.remote.lists(mb):
                    for obj in self.remote.tasks(mb, tl["id"]):
                        task = task_from_graph(obj, mb, tl["id"])
                        if task is not None:
                            out.append((task.key, "task", obj))
            return out
        return dump_items(self.sb.dump())

    def live(self, *, unique: bool = True) -> dict[str, dict[str, Any]]:
        """Key -> object for events not cancelled and tasks not completed.

        With `unique`, asserts no key is there twice (true after a run that ended well; a failed
        run may leave a student's old copy next to the new one until the next run removes it).
        """
        found = live_items(self.remote_items())
        dupes = {k: n for k, n in Counter(k for k, _ in found).items() if n > 1}
        assert not unique or dupes == {}, f"duplicate keys in Microsoft 365: {dupes}"
        return dict(found)

    def cancellations(self) -> dict[str, str]:
        """Event id -> comment, for every meeting cancelled with a message to attendees."""
        if self.kind == "memory":
            return {c["event"]["id"]: c["comment"] for c in self.remote.cancellations}
        return {
            c["event"]["id"]: c["comment"]
            for box in self.sb.dump()["mailboxes"].values()
            for c in box["cancelled"]
        }

    # -- the state ------------------------------------------------------------------------------

    def state(self) -> dict[str, ItemState]:
        with StateStore(self.config().state_path) as store:
            return store.items()

    def item(self, key: str) -> ItemState:
        found = self.state().get(key)
        assert found is not None, key
        return found

    def contacts(self) -> list[Any]:
        with StateStore(self.config().state_path) as store:
            return store.contacts()

    # -- playing a person -----------------------------------------------------------------------

    def move_meeting(self, key: str, start: dt.datetime) -> None:
        st = self.item(key)
        assert st.start is not None and st.end is not None and st.remote_id
        end = start + (st.end - st.start)
        if self.kind == "memory":
            self.remote.move_event(st.mailbox, key, start, end)
            return
        self.client.patch(
            f"/users/{st.mailbox}/events/{quote(st.remote_id, safe='')}",
            json={"start": _local(start), "end": _local(end)},
            mailbox=st.mailbox,
        )

    def delete(self, key: str) -> None:
        st = self.item(key)
        if self.kind == "memory":
            self.remote.delete_item(st.mailbox, key)
            return
        assert st.remote_id
        if st.kind in ("event", "calendar_item"):
            url = f"/users/{st.mailbox}/events/{quote(st.remote_id, safe='')}"
        else:
            url = _task_url(st)
        self.client.delete(url, mailbox=st.mailbox)

    def complete(self, key: str, checked: Iterable[str] = ("Phone",)) -> None:
        st = self.item(key)
        names = set(checked)
        if self.kind == "memory":
            self.remote.complete_task(st.mailbox, key, names, on=self.today)
            return
        base = _task_url(st)
        listing = self.client.get(f"{base}/checklistItems", mailbox=st.mailbox)
        for entry in listing.get("value", []):
            if entry.get("displayName") in names:
                self.client.patch(
                    f"{base}/checklistItems/{quote(entry['id'], safe='')}",
                    json={"isChecked": True},
                    mailbox=st.mailbox,
                )
        self.client.patch(base, json={"status": "completed"}, mailbox=st.mailbox)

    def decline(self, key: str, attendee: str) -> None:
        st = self.item(key)
        if self.kind == "memory":
            self.remote.decline(st.mailbox, key, attendee)
        else:
            assert st.remote_id
            self.sb.respond(st.mailbox, st.remote_id, attendee, "declined")

    def fail_next_create(self, key: str, status: int) -> None:
        assert self.kind == "memory"
        self.remote.fail_next("create", key, GraphError(f"refused ({status})", status=status))


def _local(value: dt.datetime) -> dict[str, str]:
    return {"dateTime": value.astimezone(TZ).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": TZ_NAME}


def _task_url(st: ItemState) -> str:
    assert st.remote_id and st.list_id
    return (
        f"/users/{st.mailbox}/todo/lists/{quote(st.list_id, safe='')}"
        f"/tasks/{quote(st.remote_id, safe='')}"
    )


def dump_items(dump: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(key, kind, object) for every iepsched event and task in a sandbox dump."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for mailbox, box in dump["mailboxes"].items():
        for obj in box["events"]:
            ev = event_from_graph(obj, mailbox)
            if ev is not None:
                out.append((ev.key, "event", obj))
        for obj in box["tasks"]:
            task = task_from_graph(obj, mailbox, obj.get("@sandbox.listId", ""))
            if task is not None:
                out.append((task.key, "task", obj))
    return out


def live_items(
    found: Iterable[tuple[str, str, dict[str, Any]]],
) -> list[tuple[str, dict[str, Any]]]:
    """Events not cancelled and tasks not completed (a completed recurring task leaves a copy)."""
    return [
        (key, obj)
        for key, kind, obj in found
        if not (kind == "event" and obj.get("isCancelled"))
        and not (kind == "task" and obj.get("status") == "completed")
    ]


def desired_keys(report: SyncReport, world: World) -> set[str]:
    assert report.plan is not None
    return {i.key for i in desired_items(report.plan.plans, world.district().delivery_options())}


def ops(actions: Iterable[Action]) -> list[tuple[str, str]]:
    return [(a.op, a.key) for a in actions]


def meeting_key(report: SyncReport, sid: str = SUBJECT) -> str:
    assert report.plan is not None
    plan = report.plan.get(sid)
    assert plan is not None
    return item_key(sid, plan.cycle_id or plan.due_date.isoformat(), "meeting")


@pytest.fixture(params=["memory", "graph"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "memory":
        w = World(tmp_path, "memory")
        yield w
        return
    from iepsched.sandbox import GraphSandbox

    with GraphSandbox(seed=3) as sb:
        w = World(tmp_path, "graph", sandbox=sb)
        try:
            yield w
        finally:
            w.close()


class TestSyncContract:
    """The same behaviour whichever remote sync talks to."""

    def test_first_sync_creates_meeting_and_tasks(self, world: World) -> None:
        """The first night creates one meeting per deliverable student and all of its tasks."""
        report = world.sync()
        assert report.exit_code == ExitCode.OK, report.failures
        assert report.plan is not None
        wanted = desired_keys(report, world)
        assert {a.op for a in report.actions} == {"create"}
        assert {a.key for a in report.actions} == wanted
        live = world.live()
        assert set(live) == wanted
        meetings = [k for k in live if k.endswith("/meeting")]
        delivered = {
            i.student_id
            for i in desired_items(report.plan.plans, world.district().delivery_options())
            if i.milestone == "meeting"  # other cycles may deliver early tasks only (§3.6)
        }
        assert {k.split("/")[0] for k in meetings} == delivered
        # S1031's meeting is more than 60 days away: not delivered yet.
        assert {"S1001", "S1009", "S1028"} <= delivered and "S1031" not in delivered
        assert report.counts["created"] == len(wanted)
        state = world.state()
        assert {k for k, st in state.items() if st.state == "live"} == wanted
        assert all(st.remote_id for st in state.values())

    def test_second_sync_makes_no_write(self, world: World) -> None:
        """A run after a run with nothing changed sends no write request at all."""
        world.sync()
        report = world.sync()
        assert report.actions == [] and report.exit_code == ExitCode.OK
        assert (world.last_writes, world.last_attempts) == (0, 0)
        assert report.reports == []

    def test_due_date_correction_updates_in_place(self, world: World) -> None:
        """A corrected due date updates the same cycle's items: no cancel, no recreate."""
        first = world.sync()
        meeting = meeting_key(first)
        before = set(world.live())
        plan = first.plan.get(SUBJECT)  # type: ignore[union-attr]
        assert plan is not None and plan.meeting is not None
        world.set_field(
            SUBJECT,
            last_iep_date="",
            iep_due_date=(plan.due_date + dt.timedelta(days=4)).isoformat(),
        )
        report = world.sync()
        assert report.exit_code == ExitCode.OK
        assert {a.op for a in report.actions} == {"update"}
        assert {a.student_id for a in report.actions} == {SUBJECT}
        # The booked meeting still fits: it stays, and its invitation is not touched (a PATCH
        # would email everyone on it).
        assert all(a.key != meeting for a in report.actions), report.actions
        assert set(world.live()) == before
        again = world.sync()
        assert again.actions == [] and world.last_writes == 0

        # A correction the booked meeting no longer fits: the meeting moves (PATCH), same key.
        world.set_field(
            SUBJECT, iep_due_date=(plan.meeting.date - dt.timedelta(days=3)).isoformat()
        )
        moved = world.sync()
        assert moved.exit_code == ExitCode.OK
        assert "cancel" not in {a.op for a in moved.actions}
        update = [a for a in moved.actions if a.key == meeting]
        assert [a.op for a in update] == ["update"] and {"start", "end"} <= set(update[0].changed)
        assert meeting in world.live()
        new_plan = moved.plan.get(SUBJECT)  # type: ignore[union-attr]
        assert new_plan is not None and new_plan.meeting is not None
        remote_start = parse_datetime(world.live()[meeting]["start"])
        assert remote_start == new_plan.meeting.start
        assert any("being moved" in w for w in new_plan.warning_texts)
        assert world.sync().actions == [] and world.last_writes == 0

    def test_bad_row_keeps_delivered_items(self, world: World) -> None:
        """A delivered student whose roster row became unreadable keeps every item."""
        world.sync()
        mine = {k for k in world.live() if k.startswith(f"{SUBJECT}/")}
        world.set_field(SUBJECT, birth_date="31/02/2011")
        assert SUBJECT in world.district().roster.skipped_ids
        report = world.sync()
        assert report.exit_code == ExitCode.OK
        assert [a for a in report.actions if a.student_id == SUBJECT] == []
        assert mine <= set(world.live())
        assert world.last_writes == 0

    def test_student_missing_from_roster_keeps_items(self, world: World) -> None:
        """A student missing from the roster (a truncated export?) keeps every item."""
        world.sync()
        mine = {k for k in world.live() if k.startswith(f"{SUBJECT}/")}
        world.drop_student(SUBJECT)
        report = world.sync()
        assert report.actions == [] and world.last_writes == 0
        assert mine <= set(world.live())

    def test_exited_student_meeting_cancelled_open_tasks_deleted(self, world: World) -> None:
        """An exited student's meeting is cancelled and open tasks deleted; completed ones stay."""
        first = world.sync()
        meeting = meeting_key(first)
        mine = {k for k in world.live() if k.startswith(f"{SUBJECT}/")}
        contact = next(k for k in mine if k.endswith("/parent_contact_1"))
        world.complete(contact, ["Email"])
        world.edit_config("max_cancellations = 10", "max_cancellations = 50")
        world.set_field(SUBJECT, status="exited")
        report = world.sync()
        assert report.exit_code == ExitCode.OK, report.failures
        assert {(a.op, a.key) for a in report.actions} == {
            ("cancel", meeting),
            *(("delete", k) for k in mine - {meeting, contact}),
        }
        live = world.live()
        assert not any(k.startswith(f"{SUBJECT}/") for k in live)
        cancelled = world.item(meeting)
        assert cancelled.state == "cancelled"
        assert world.cancellations() == {cancelled.remote_id: CANCEL_COMMENT}
        assert any(k == contact for k, _, _ in world.remote_items())  # completed: left alone
        assert world.sync().actions == [] and world.last_writes == 0

    def test_safety_stop_then_force(self, world: World) -> None:
        """Too many cancellations stop the run before any write (exit 3); --force-cancel applies."""
        world.sync()
        before = dict(world.live())
        world.set_field(SUBJECT, status="exited")
        world.set_field("S1001", status="exited")
        stopped = world.sync()
        assert stopped.exit_code == ExitCode.SAFETY and stopped.safety_stop
        assert (world.last_writes, world.last_attempts) == (0, 0)
        assert "max_cancellations = 10" in stopped.failures[0]
        removals = [a for a in stopped.actions if a.op in ("cancel", "delete")]
        assert len(removals) > 10
        assert set(world.live()) == set(before)
        assert {st.state for st in world.state().values()} == {"live"}
        forced = world.sync(force_cancel=True)
        assert forced.exit_code == ExitCode.OK
        assert ops(forced.actions) == ops(stopped.actions)
        assert world.last_writes >= len(removals)
        assert not any(k.split("/")[0] in (SUBJECT, "S1001") for k in world.live())
        assert world.sync().actions == [] and world.last_writes == 0

    def test_person_moving_a_meeting_is_adopted(self, world: World) -> None:
        """A meeting moved in Outlook is adopted: tasks follow, the event is not patched back."""
        first = world.sync()
        meeting = meeting_key(first)
        st = world.item(meeting)
        assert st.start is not None
        plan = first.plan.get(SUBJECT)  # type: ignore[union-attr]
        assert plan is not None
        cal = world.district().calendars.calendar_for(plan.student)
        day = cal.next_school_day(st.start.astimezone(TZ).date() + dt.timedelta(days=1))
        assert day < plan.due_date
        new_start = dt.datetime.combine(day, dt.time(13, 0), tzinfo=TZ)
        world.move_meeting(meeting, new_start)

        report = world.sync()
        assert report.exit_code == ExitCode.OK
        assert any("moved in Outlook" in line for line in report.reports)
        assert meeting not in {a.key for a in report.actions}  # not pushed back
        assert {a.op for a in report.actions} == {"update"}
        assert {a.student_id for a in report.actions} == {SUBJECT}
        live = world.live()
        assert parse_datetime(live[meeting]["start"]) == new_start
        adopted = report.plan.get(SUBJECT)  # type: ignore[union-attr]
        assert adopted is not None and adopted.meeting is not None
        assert adopted.meeting.start == new_start
        prepare = next(k for k in live if k.endswith("/prepare_meeting") and k.startswith(SUBJECT))
        m = adopted.milestone("prepare_meeting")
        assert m is not None and m.date is not None
        assert parse_date(live[prepare]["dueDateTime"]) == m.date
        assert m.date != plan.milestone("prepare_meeting").date  # type: ignore[union-attr]
        assert world.item(meeting).moved
        again = world.sync()
        assert again.actions == [] and world.last_writes == 0
        assert parse_datetime(world.live()[meeting]["start"]) == new_start

    def test_person_deleting_the_meeting_is_respected_then_rebook(self, world: World) -> None:
        """A meeting deleted in Outlook is reported, not recreated, until --rebook asks for it."""
        first = world.sync()
        meeting = meeting_key(first)
        world.delete(meeting)
        report = world.sync()
        assert report.exit_code == ExitCode.OK
        assert meeting not in {a.key for a in report.actions if a.op == "create"}
        assert any(f"--rebook {SUBJECT}" in line for line in report.reports)
        assert meeting not in world.live()
        assert world.item(meeting).state == "removed_by_person"
        quiet = world.sync()
        assert meeting not in {a.key for a in quiet.actions}
        assert meeting not in world.live()

        rebooked = world.sync(rebook=[SUBJECT])
        assert rebooked.exit_code == ExitCode.OK, rebooked.failures
        assert ("create", meeting) in ops(rebooked.actions)
        assert meeting in world.live()
        assert world.item(meeting).state == "live"
        assert world.sync().actions == [] and world.last_writes == 0

    def test_person_deleting_a_task_is_respected(self, world: World) -> None:
        """A task deleted in To Do is reported and not recreated."""
        world.sync()
        task = next(k for k in world.live() if k.startswith(SUBJECT) and k.endswith("/draft_iep"))
        world.delete(task)
        report = world.sync()
        assert any("deleted in To Do" in line for line in report.reports)
        assert task not in {a.key for a in report.actions}
        assert task not in world.live()
        assert world.sync().actions == [] and world.last_writes == 0

    def test_completed_contact_task_is_logged_once(self, world: World) -> None:
        """Completing a contact task logs the ticked methods (source todo) exactly once."""
        world.sync()
        key = next(
            k for k in world.live() if k.startswith(SUBJECT) and k.endswith("/parent_contact_1")
        )
        world.complete(key, ["Phone", "Text message"])
        report = world.sync()
        assert report.exit_code == ExitCode.OK
        assert report.counts["contacts_logged"] == 2
        logged = [c for c in world.contacts() if c.student_id == SUBJECT]
        assert sorted(c.method for c in logged) == ["phone", "text"]
        assert {c.source for c in logged} == {"todo"}
        assert world.item(key).state == "completed"
        assert key not in {a.key for a in report.actions}  # never rewritten
        world.sync()
        assert len(world.contacts()) == 2
        assert world.last_writes == 0

    def test_declines_are_reported(self, world: World) -> None:
        """An attendee declining the meeting is reported; nothing is written for it."""
        first = world.sync()
        meeting = meeting_key(first)
        plan = first.plan.get(SUBJECT)  # type: ignore[union-attr]
        assert plan is not None
        world.decline(meeting, plan.student.lea_email)
        report = world.sync()
        assert f"{SUBJECT}: {plan.student.lea_email} declined the IEP meeting." in report.reports
        assert report.actions == [] and world.last_writes == 0

    def test_calendar_item_mode_converges(self, world: World) -> None:
        """With tasks = "calendar", milestones are all-day events; re-runs write nothing."""
        world.edit_config('tasks = "todo"', 'tasks = "calendar"')
        first = world.sync()
        assert first.exit_code == ExitCode.OK, first.failures
        live = world.live()
        assert set(live) == desired_keys(first, world)
        items = [k for k in live if not k.endswith("/meeting")]
        assert items and all(live[k].get("isAllDay") for k in items)
        assert all("dueDateTime" not in live[k] for k in items)  # no To Do task anywhere
        assert world.sync().actions == [] and world.last_writes == 0
        draft = next(k for k in items if k.startswith(SUBJECT) and k.endswith("/draft_iep"))
        world.delete(draft)
        report = world.sync()
        assert any("deleted in Outlook" in line for line in report.reports)
        assert draft not in {a.key for a in report.actions} and draft not in world.live()

    def test_dry_run_writes_nothing_and_matches_the_real_run(self, world: World) -> None:
        """--dry-run writes nothing anywhere and lists exactly what the real run then does."""
        dry = world.sync(dry_run=True)
        assert (world.last_writes, world.last_attempts) == (0, 0)
        assert world.state() == {}
        real = world.sync()
        assert ops(real.actions) == ops(dry.actions)
        assert [a.as_dict() for a in real.actions] == [a.as_dict() for a in dry.actions]
        # After people's edits and roster changes too.
        meeting = meeting_key(real, "S1001")
        world.delete(meeting)
        world.set_field(SUBJECT, status="exited")
        plan = real.plan.get("S1018")  # type: ignore[union-attr]
        assert plan is not None
        world.set_field("S1018", iep_due_date=(plan.due_date + dt.timedelta(days=2)).isoformat())
        state_before = world.state()
        dry = world.sync(dry_run=True, force_cancel=True)
        assert (world.last_writes, world.last_attempts) == (0, 0)
        assert world.state() == state_before
        real = world.sync(force_cancel=True)
        assert ops(real.actions) == ops(dry.actions) != []
        assert real.reports == dry.reports


# -- beyond the shared contract ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["memory", "graph"])
def test_meeting_after_due_date_is_not_moved_every_night(kind: str, tmp_path: Path) -> None:
    """A meeting only possible after the due date stays put: the second night writes nothing.

    Regression: it used to be re-placed every night, its own event counted as busy, and so
    flipped between the two slots with a PATCH (an email to every attendee) each night.
    """
    keep = {"S1005", "S1014", "S1036", "S1009"}
    if kind == "memory":
        w = World(tmp_path, "memory", keep=keep)
        w.sync()
        report = w.sync()
    else:
        from iepsched.sandbox import GraphSandbox

        with GraphSandbox() as sb:
            w = World(tmp_path, "graph", keep=keep, sandbox=sb)
            try:
                w.sync()
                report = w.sync()
            finally:
                w.close()
    assert ops(report.actions) == []


def test_failed_write_fails_alone_and_next_run_redoes_it(tmp_path: Path) -> None:
    """A write refused for good fails alone (exit 1), the rest goes on; the next run redoes it."""
    w = World(tmp_path, "memory")
    key = f"{SUBJECT}/2027-01-25/draft_iep"
    w.fail_next_create(key, 400)
    first = w.sync()
    assert first.exit_code == ExitCode.FAILURES and first.counts["failed"] == 1
    assert [f for f in first.failures if key in f] == first.failures != []
    assert key not in w.live()
    assert w.item(key).state == "pending"
    assert len(w.live()) == len(desired_keys(first, w)) - 1
    second = w.sync()
    assert second.exit_code == ExitCode.OK
    assert ops(second.actions) == [("create", key)]
    assert set(w.live()) == desired_keys(second, w)
    assert w.sync().actions == [] and w.last_writes == 0


def test_write_refused_for_now_is_retried_in_the_same_run(tmp_path: Path) -> None:
    """A write refused for now (503) is re-read and redone in the same run: exit 0, no dupes."""
    w = World(tmp_path, "memory")
    key = f"{SUBJECT}/2027-01-25/draft_iep"
    w.fail_next_create(key, 503)
    first = w.sync()
    assert first.exit_code == ExitCode.OK, first.failures
    assert set(w.live()) == desired_keys(first, w)
    assert w.item(key).state == "live"
    assert w.sync().actions == [] and w.last_writes == 0


def test_decline_is_counted_once_when_the_mailbox_is_read_again(tmp_path: Path) -> None:
    """A decline is counted once per run, even when a retried write makes sync re-read its mailbox.

    Regression: the re-read after a write refused for now counted every decline a second time.
    """
    w = World(tmp_path, "memory")
    first = w.sync()
    plan = first.plan.get(SUBJECT)  # type: ignore[union-attr]
    assert plan is not None
    w.decline(meeting_key(first), plan.student.lea_email)
    w.set_field(
        SUBJECT, last_iep_date="", iep_due_date=(plan.due_date + dt.timedelta(days=3)).isoformat()
    )
    w.remote.fail_next("update", f"{SUBJECT}/2027-01-25/draft_iep", GraphError("busy", status=503))
    report = w.sync()
    assert report.exit_code == ExitCode.OK and report.counts["retried"] == 1
    assert report.counts["declined"] == 1


def test_sync_once_records_the_run(tmp_path: Path) -> None:
    """`sync_once` (the command's core) takes the lock and records the run with its counts."""
    from iepsched.cli.sync_cmd import sync_once
    from iepsched.core.errors import LockedError

    w = World(tmp_path, "memory")
    district = w.district()
    with StateStore(district.config.state_path) as store:
        report = sync_once(district, store, w.remote, today=TODAY)
        assert report.exit_code == ExitCode.OK
        (run,) = store.runs()
        assert run.exit_code == ExitCode.OK and run.today == TODAY and not run.dry_run
        assert run.counts["created"] == len(report.actions)
        with StateStore(district.config.state_path) as other:
            other.lock()
            with pytest.raises(LockedError):
                sync_once(district, store, w.remote, today=TODAY)
            other.unlock()


def test_logs_carry_ids_not_names(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """FERPA: what sync logs (INFO and DEBUG) names students by id, never by name."""
    w = World(tmp_path, "memory", keep=None)
    names = {v.casefold() for r in w.rows() for v in (r["first_name"], r["last_name"])}
    with caplog.at_level(logging.DEBUG, logger="iepsched"):
        w.sync()
        w.set_field(SUBJECT, status="exited")
        w.sync(force_cancel=True)
    text = "\n".join(r.getMessage() for r in caplog.records).casefold()
    assert caplog.records
    assert [n for n in names if n in text] == []


def test_later_nights_converge_and_hold_meetings(tmp_path: Path) -> None:
    """Night after night the plan converges; a meeting whose time passed is held, not touched."""
    w = World(tmp_path, "memory")
    first = w.sync()
    meeting = meeting_key(first, "S1001")
    start = w.item(meeting).start
    assert start is not None
    for day in (TODAY + dt.timedelta(days=1), start.date() + dt.timedelta(days=1)):
        w.today = day
        report = w.sync()
        assert report.exit_code == ExitCode.OK, report.failures
        assert w.sync().actions == [] and w.last_writes == 0
    held = report.plan.get("S1001")  # type: ignore[union-attr]
    assert held is not None and held.meeting is not None and held.meeting.state == "held"
    assert meeting in w.live()
    assert parse_datetime(w.live()[meeting]["start"]) == start


@pytest.mark.parametrize("kind", ["memory", "graph"])
def test_case_manager_change_moves_items(kind: str, tmp_path: Path) -> None:
    """A student handed to another case manager: items move to the new mailbox; later runs work.

    Regression: updates went to the new mailbox with the old ids (404 every night, exit 1).
    """
    from iepsched.sandbox import GraphSandbox

    old, new = "cm.okafor@pvsec.example.org", "cm.rivera@pvsec.example.org"
    with GraphSandbox() as sb:
        w = World(tmp_path, kind, sandbox=sb if kind == "graph" else None)
        try:
            first = w.sync()
            meeting = meeting_key(first)
            plan = first.plan.get(SUBJECT)  # type: ignore[union-attr]
            assert plan is not None and plan.student.case_manager_email == old
            mine = {k for k in w.live() if k.startswith(f"{SUBJECT}/")}
            done = next(k for k in mine if k.endswith("/begin_development"))
            w.complete(done, [])
            w.set_field(SUBJECT, case_manager_email=new)
            moved = w.sync()
            assert moved.exit_code == ExitCode.OK, moved.failures[:3]
            assert any("case manager changed" in line for line in moved.reports)
            assert set(w.live()) >= mine - {done}
            state = w.state()
            assert {state[k].mailbox for k in mine - {done}} == {new}
            assert state[done].mailbox == old  # completed where it was done
            assert state[meeting].remote_id in _ids_in(w, new)
            assert not _ids_in(w, old) & {state[k].remote_id for k in mine}
            w.set_field(
                SUBJECT,
                last_iep_date="",
                iep_due_date=(plan.due_date + dt.timedelta(days=3)).isoformat(),
            )
            report = w.sync()
            assert report.exit_code == ExitCode.OK, report.failures[:3]
            assert {a.op for a in report.actions} == {"update"}
            assert w.sync().actions == [] and w.last_writes == 0
        finally:
            w.close()


def _ids_in(w: World, mailbox: str) -> set[str]:
    """Ids of every live iepsched event and open task in one mailbox."""
    if w.kind == "memory":
        found = [
            *w.remote.events(mailbox),
            *(t for tl in w.remote.lists(mailbox) for t in w.remote.tasks(mailbox, tl["id"])),
        ]
    else:
        box = w.sb.dump()["mailboxes"].get(mailbox, {"events": [], "tasks": []})
        found = [*box["events"], *box["tasks"]]
    return {
        str(obj["id"])
        for obj in found
        if not obj.get("isCancelled") and obj.get("status") != "completed"
    }


def test_case_manager_change_leaves_a_held_meeting_where_it_was(tmp_path: Path) -> None:
    """A meeting that already took place is history: a new case manager gets no copy of it.

    Regression (found by the state machine): the held meeting was re-created in the new case
    manager's calendar while the old one, being in the past, was never cancelled: two meetings.
    """
    w = World(tmp_path, "memory")
    first = w.sync()
    meeting = meeting_key(first, "S1001")
    start = w.item(meeting).start
    assert start is not None
    w.today = start.astimezone(TZ).date() + dt.timedelta(days=1)
    w.sync()
    w.set_field("S1001", case_manager_email="cm.okafor@pvsec.example.org")
    report = w.sync()
    assert report.exit_code == ExitCode.OK, report.failures
    assert meeting not in {a.key for a in report.actions}
    live = w.live()  # asserts the meeting is there once
    assert parse_datetime(live[meeting]["start"]) == start
    assert w.item(meeting).mailbox == "cm.rivera@pvsec.example.org"
    assert any(k.startswith("S1001/") and k.endswith("/submit_paperwork") for k in live)
    assert w.sync().actions == [] and w.last_writes == 0


def test_case_manager_change_retries_removing_the_old_copy(tmp_path: Path) -> None:
    """The old meeting's removal failing once is retried, not taken for a person's deletion.

    Regression: the old copy's row was looked up under its own key, found missing, marked
    removed by a person (a bogus --rebook hint), and the old invitation stayed for good.
    """
    old, new = "cm.okafor@pvsec.example.org", "cm.rivera@pvsec.example.org"
    w = World(tmp_path, "memory")
    meeting = meeting_key(w.sync())
    w.set_field(SUBJECT, case_manager_email=new)
    for status, code in ((400, ExitCode.FAILURES), (503, ExitCode.OK)):
        w.remote.fail_next("cancel", meeting, GraphError("no", status=status))
        first = w.sync()
        assert first.exit_code == code, first.failures
        w.sync()
        assert not any("deleted in Outlook" in line for line in first.reports)
        assert [e for e in w.remote.events(old) if SUBJECT in e["subject"]] == []
        assert [e["subject"] for e in w.remote.events(new) if SUBJECT in e["subject"]] != []
        assert w.sync().actions == [] and w.last_writes == 0
        w.set_field(SUBJECT, case_manager_email=old)  # and back, the second time round
        old, new = new, old


def test_next_reevaluation_is_delivered_after_one_is_completed(tmp_path: Path) -> None:
    """Once a reevaluation is done, the roster's next reeval due date opens a new one.

    Regression: the reevaluation cycle never closed, so the next one counted as done.
    """
    w = World(tmp_path, "memory")
    w.sync()
    sid = "S1028"  # reevaluation due 2027-01-25, delivered on the first night
    done = sorted(k for k in w.live() if k.startswith(f"{sid}/R"))
    assert [k.rsplit("/", 1)[1] for k in done] == ["reeval_consent", "reeval_due"]
    for key in done:
        w.complete(key, [])
    w.sync()
    w.today = dt.date(2027, 2, 15)
    w.set_field(sid, reeval_due_date="2027-12-01")  # within the loaded calendars
    report = w.sync()
    plan = report.plan.get(sid)  # type: ignore[union-attr]
    assert plan is not None
    # In the annual plan, or in the reevaluation's own cycle when R is far from it (§3.6).
    consent = next(
        c.milestone("reeval_consent") for c in plan.cycles if c.milestone("reeval_consent")
    )
    assert consent is not None and consent.status != "done" and consent.date is not None
    mine = [a.key for a in report.actions if a.op == "create" and a.student_id == sid]
    if not any(k.endswith("/reeval_consent") for k in mine):
        # Its own cycle delivers the consent task once it is inside the booking horizon.
        w.today = consent.date - dt.timedelta(days=30)
        report = w.sync()
    created = {a.key for a in report.actions if a.op == "create"}
    assert any(k.startswith(f"{sid}/R") and k.endswith("/reeval_consent") for k in created)
    assert not created & set(done)


class _Killed(Exception):
    """The sync process killed mid-run (SIGKILL): nothing after it runs."""


class _KilledAfterCreates:
    """A remote whose run is killed once its creates landed, before any removal was sent (a
    batched, concurrent apply sends them in any order): nothing is confirmed in the state."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def snapshot(self, mailboxes: Iterable[str], known: Any = None) -> Any:
        return self.inner.snapshot(mailboxes, known)

    def free_busy(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.free_busy(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # the test's view of the mailboxes

    def apply(self, actions: Any) -> Iterator[Any]:
        for _ in self.inner.apply([a for a in actions if a.op == "create"]):
            pass
        raise _Killed
        yield  # a generator, like the real ones


def _moved_then_transferred(w: World) -> tuple[str, dt.datetime, str, str]:
    """SUBJECT's meeting moved by a person, one task completed and one deleted, then the
    student handed to another case manager. The meeting key, its new start, the old and new
    case managers."""
    old, new = "cm.okafor@pvsec.example.org", "cm.rivera@pvsec.example.org"
    first = w.sync()
    meeting = meeting_key(first)
    plan = first.plan.get(SUBJECT)  # type: ignore[union-attr]
    assert plan is not None and plan.student.case_manager_email == old
    st = w.item(meeting)
    assert st.start is not None
    cal = w.district().calendars.calendar_for(plan.student)
    day = cal.next_school_day(st.start.astimezone(TZ).date() + dt.timedelta(days=1))
    start = dt.datetime.combine(day, dt.time(7, 45), tzinfo=TZ)
    w.move_meeting(meeting, start)
    mine = sorted(k for k in w.live() if k.startswith(f"{SUBJECT}/"))
    w.complete(next(k for k in mine if k.endswith("/parent_contact_1")), ["Phone"])
    w.delete(next(k for k in mine if k.endswith("/create_draft_in_webkidss")))
    assert w.sync().exit_code == ExitCode.OK
    assert w.item(meeting).moved
    w.set_field(SUBJECT, case_manager_email=new)
    return meeting, start, old, new


def _meetings(w: World, key: str) -> list[tuple[str, dt.datetime]]:
    """(mailbox, start) of every live copy of one meeting, in every mailbox."""
    return [
        (mb, parse_datetime(ev["start"]))
        for mb in w.mailboxes
        for ev in w.remote.events(mb)
        if not ev.get("isCancelled") and (found := event_from_graph(ev, mb)) and found.key == key
    ]


def test_transfer_on_the_day_of_a_moved_meeting_that_already_ended(tmp_path: Path) -> None:
    """A hand-over synced after the (person-moved) meeting ended that day: the meeting stays
    where it took place, one copy; the open tasks move.

    Regression (found by the school year): the plan counted a meeting of today as not yet held,
    so it was created again in the new calendar, while the old one, being over, was never
    cancelled: two invitations.
    """
    w = World(tmp_path, "memory")
    meeting, start, old, new = _moved_then_transferred(w)
    day = start.astimezone(TZ).date()
    report = w.sync(today=day, at=start + dt.timedelta(hours=3))
    assert report.exit_code == ExitCode.OK, report.failures
    assert meeting not in {a.key for a in report.actions}
    assert _meetings(w, meeting) == [(old, start)]
    live = w.live()
    state = w.state()
    assert {state[k].mailbox for k in live if k.startswith(SUBJECT) and k != meeting} == {new}
    later = day + dt.timedelta(days=1)
    for _ in range(2):
        assert w.sync(today=later).exit_code == ExitCode.OK
        assert _meetings(w, meeting) == [(old, start)]
    assert w.sync(today=later).actions == [] and w.last_writes == 0


def test_transfer_of_a_moved_meeting_killed_mid_way(tmp_path: Path) -> None:
    """A hand-over killed after the new copies landed but before the old ones were removed:
    the next run adopts the new copies (not the old ones, same key, other mailbox), removes
    the old ones once, and the state matches the mailboxes: one meeting, at the person's time.

    Regression (found by the school year): the re-run took the old mailbox's copies for the
    new ones, then removed them: rows live in the state but missing from the mailbox.
    """
    w = World(tmp_path, "memory")
    meeting, start, _old, new = _moved_then_transferred(w)
    inner = w.remote
    w.remote = _KilledAfterCreates(inner)
    with pytest.raises(_Killed):
        w.sync()
    w.remote = inner
    assert len(_meetings(w, meeting)) == 2  # the kill left both copies
    report = w.sync()
    assert report.exit_code == ExitCode.OK, report.failures
    assert [a.op for a in report.actions if a.op == "create"] == []
    assert _meetings(w, meeting) == [(new, start)]
    live = w.live()
    state = w.state()
    for key, obj in live.items():
        if key.startswith(f"{SUBJECT}/"):
            assert state[key].mailbox == new, key
            assert state[key].remote_id == obj["id"], key
    assert state[meeting].start == start and state[meeting].moved
    assert w.sync().actions == [] and w.last_writes == 0


def test_dry_run_shows_what_a_snow_day_moves(tmp_path: Path) -> None:
    """A snow day on a booked meeting's day: the dry run names that meeting and its tasks old ->
    new (district time, text and JSON), and writes nothing."""
    from iepsched.cli.sync_cmd import change_text

    w = World(tmp_path, "memory")
    first = w.sync()
    meeting = meeting_key(first)
    old = w.item(meeting).start
    assert old is not None
    day = old.astimezone(TZ).date()
    calendar = w.root / "config" / "calendars" / "usd901-prairie-valley.toml"
    text = calendar.read_text(encoding="utf-8")
    anchor = "closed = [\n"
    assert anchor in text
    snow = f'{anchor}  {{ date = {day.isoformat()}, label = "Snow day" }},\n'
    calendar.write_text(text.replace(anchor, snow, 1), encoding="utf-8")
    state = w.state()

    dry = w.sync(dry_run=True)
    assert (w.last_writes, w.last_attempts) == (0, 0) and w.state() == state
    by_key = {a.key: a for a in dry.actions}
    moved = by_key[meeting]
    assert moved.op == "update" and moved.before == old
    assert isinstance(moved.after, dt.datetime) and moved.after.date() != day
    new = moved.after.astimezone(TZ)
    assert change_text(moved, TZ) == (f"{old.astimezone(TZ):%Y-%m-%d %H:%M} → {new:%Y-%m-%d %H:%M}")
    assert moved.as_dict()["before"] == old.isoformat(timespec="minutes")
    assert moved.as_dict()["after"] == moved.after.isoformat(timespec="minutes")
    plan = dry.plan.get(SUBJECT)  # type: ignore[union-attr]
    assert plan is not None
    was = first.plan.get(SUBJECT)  # type: ignore[union-attr]
    assert was is not None
    tasks = [
        a
        for a in dry.actions
        if a.student_id == SUBJECT and a.kind == "task" and "dueDateTime" in a.changed
    ]
    assert tasks

    def due(p: Any, key: str) -> Any:
        """The date of a task key in a plan: a milestone's, or an occurrence's (`…/pm/2`)."""
        *_, name, last = key.split("/")
        if last.isdigit():
            m = p.milestone(name)
            return next((o.date for o in m.occurrences if o.number == int(last)), None)
        m = p.milestone(last)
        return m.date if m is not None else None

    for a in tasks:
        then, now = due(was, a.key), due(plan, a.key)
        assert then is not None and now is not None
        assert (a.before, a.after) == (then, now), a.key
        assert change_text(a, TZ) == f"due {then} → {now}"
        assert a.as_dict()["before"] == str(then)

    real = w.sync()
    assert [a.as_dict() for a in real.actions] == [a.as_dict() for a in dry.actions]
    assert parse_datetime(w.live()[meeting]["start"]) == moved.after


def test_dry_run_text_names_creates_and_cancels_with_their_times(tmp_path: Path) -> None:
    """Creates show when the new item is; a cancelled meeting shows when it was."""
    from iepsched.cli.sync_cmd import change_text

    w = World(tmp_path, "memory")
    first = w.sync(dry_run=True)
    create = next(a for a in first.actions if a.kind == "task")
    assert change_text(create, TZ) == f"due {create.after}" and create.before is None
    meeting = meeting_key(w.sync())
    start = w.item(meeting).start
    assert start is not None
    w.set_field(SUBJECT, status="exited")
    gone = {a.key: a for a in w.sync(dry_run=True, force_cancel=True).actions}
    assert gone[meeting].op == "cancel"
    assert change_text(gone[meeting], TZ) == f"{start.astimezone(TZ):%Y-%m-%d %H:%M}"
    assert gone[meeting].as_dict()["after"] is None


def test_a_run_for_another_day_runs_at_the_start_of_that_day() -> None:
    """`sync --today DAY` (another day than the clock's) takes `now` as the start of DAY in the
    district's zone, so it agrees with DAY on which meetings already took place.

    Regression (found by the school year): a simulated night used the real clock, took the
    coming week's meetings for history, and so never cancelled their old copies on a hand-over.
    """
    from iepsched.cli.sync_cmd import run_clock

    real = dt.datetime.now(TZ)
    assert run_clock(TODAY, TZ) == dt.datetime.combine(TODAY, dt.time(0), tzinfo=TZ)
    clock = run_clock(real.date(), TZ)
    assert clock.date() == real.date() and abs(clock - real) < dt.timedelta(minutes=5)


def test_accept_loss_recreates_a_moved_meeting_where_the_person_put_it(tmp_path: Path) -> None:
    """A wiped mailbox's meeting that a person had moved (and sync had adopted) comes back, on
    --accept-loss, at the person's time, not at a time planned anew: people win."""
    w = World(tmp_path, "memory")
    first = w.sync()
    meeting = meeting_key(first)
    st = w.item(meeting)
    assert st.start is not None
    plan = first.plan.get(SUBJECT)  # type: ignore[union-attr]
    assert plan is not None
    cal = w.district().calendars.calendar_for(plan.student)
    day = cal.next_school_day(st.start.astimezone(TZ).date() + dt.timedelta(days=1))
    moved = dt.datetime.combine(day, dt.time(13, 0), tzinfo=TZ)
    w.move_meeting(meeting, moved)
    assert w.sync().exit_code == ExitCode.OK and w.item(meeting).moved
    for key in [k for k, s in w.state().items() if s.state == "live" and s.mailbox == st.mailbox]:
        w.delete(key)
    report = w.sync(accept_loss=True)
    assert report.exit_code == ExitCode.OK, report.failures
    assert _meetings(w, meeting) == [(st.mailbox, moved)]
    assert w.item(meeting).moved and w.item(meeting).start == moved
    assert w.sync().actions == [] and w.last_writes == 0


@pytest.mark.parametrize("kind", ["memory", "graph"])
def test_exited_students_meeting_frees_its_slot_in_the_same_run(kind: str, tmp_path: Path) -> None:
    """The slot of a meeting this run cancels (its student exited) is free to the new placements.

    Regression (issue 8, the simulated year): free/busy still showed the exited student's event,
    cancelled later in the same run, so sync placed a new meeting elsewhere (outside the booking
    horizon: not delivered) while `plan` showed it in that slot.
    """
    twin = "S1999"

    def run(w: World) -> None:
        first = w.sync()
        taken = w.item(meeting_key(first))
        assert taken.start is not None and taken.state == "live"

        def exit_and_add_twin(rows: list[dict[str, str]]) -> list[dict[str, str]]:
            row = next(r for r in rows if r["student_id"] == SUBJECT)
            row["status"] = "exited"
            return [*rows, {**row, "student_id": twin, "status": "active"}]

        w.edit_roster(exit_and_add_twin)
        second = w.sync(force_cancel=True)  # the exited student's 18 items
        assert second.exit_code == ExitCode.OK, second.failures
        assert second.plan is not None
        placed = second.plan.get(twin)
        assert placed is not None and placed.meeting is not None
        # The twin has the exited student's people and due date: the slot just freed is its
        # first choice, as `plan` (which never saw the cancelled event) shows.
        assert placed.meeting.start == taken.start
        assert w.item(meeting_key(second, twin)).start == taken.start
        assert w.item(meeting_key(first)).state == "cancelled"

    if kind == "memory":
        run(World(tmp_path, "memory", keep={SUBJECT}))
        return
    from iepsched.sandbox import GraphSandbox

    with GraphSandbox() as sb:
        w = World(tmp_path, "graph", keep={SUBJECT}, sandbox=sb)
        try:
            run(w)
        finally:
            w.close()

"""One mailbox never stops a district (SPEC §5): a case manager's mailbox Graph refuses — 403
outside the app's access policy, 404 no mailbox — is skipped with a warning naming it and its
students; the rest of the district is delivered (exit 1), nothing of it is cancelled, and the
next run that can read it delivers it without duplicates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_sync import World

from iepsched.core.errors import ExitCode
from iepsched.core.reconcile import LIVE, REMOVED_BY_PERSON
from iepsched.sandbox import GraphSandbox
from iepsched.sandbox.access import Tenant

REFUSED = "cm.rivera@pvsec.example.org"


def addresses(world: World) -> set[str]:
    """Every address the sample district names (so a limited tenant lacks only what we drop)."""
    found = set(re.findall(r"[\w.+-]+@[\w.-]+", world.roster_path.read_text(encoding="utf-8")))
    found |= set(re.findall(r"[\w.+-]+@[\w.-]+", world.config_path.read_text(encoding="utf-8")))
    return {a.lower() for a in found}


class Refusing:
    """A World whose tenant refuses one case manager's mailbox (403 or 404), then allows it."""

    def __init__(self, tmp_path: Path, kind: str, how: str) -> None:
        self.how = how
        self.sb: Any = None
        if kind == "graph":
            self.sb = GraphSandbox(seed=3).__enter__()
        self.world = World(tmp_path, kind, sandbox=self.sb)
        self.refuse()

    def refuse(self) -> None:
        others = sorted(addresses(self.world) - {REFUSED})
        if self.sb is not None:
            if self.how == "deny":
                self.sb.store.tenant = Tenant.of(None, [REFUSED])
            else:
                self.sb.store.tenant = Tenant.of(others)
        elif self.how == "deny":
            self.world.remote.deny_mailboxes = {REFUSED}
        else:
            self.world.remote.mailboxes = set(others)

    def allow(self) -> None:
        if self.sb is not None:
            self.sb.store.tenant = Tenant.of(None)
        else:
            self.world.remote.deny_mailboxes = set()
            self.world.remote.mailboxes = None

    def close(self) -> None:
        self.world.close()
        if self.sb is not None:
            self.sb.__exit__(None, None, None)


@pytest.fixture(params=["memory-deny", "memory-missing", "graph-deny", "graph-missing"])
def refusing(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Refusing]:
    kind, how = request.param.split("-")
    r = Refusing(tmp_path, kind, how)
    try:
        yield r
    finally:
        r.close()


def students_of(world: World, mailbox: str) -> set[str]:
    return {r["student_id"] for r in world.rows() if r["case_manager_email"].lower() == mailbox}


def test_a_refused_mailbox_is_skipped_and_delivered_once_allowed(refusing: Refusing) -> None:
    """The other mailboxes are delivered, exit 1, the warning names the mailbox and its
    students; once allowed, the next sync delivers it with no duplicate."""
    world = refusing.world
    mine = students_of(world, REFUSED)
    assert mine
    dry = world.sync(dry_run=True)
    assert dry.exit_code == ExitCode.FAILURES and any(REFUSED in f for f in dry.failures)
    assert not any(a.mailbox.lower() == REFUSED for a in dry.actions)
    report = world.sync()
    assert report.exit_code == ExitCode.FAILURES
    (warning,) = [f for f in report.failures if REFUSED in f]
    code = "403 ErrorAccessDenied" if refusing.how == "deny" else "404 ErrorInvalidUser"
    assert code in warning
    assert all(sid in warning for sid in mine)
    assert not any(a.mailbox.lower() == REFUSED for a in report.actions)
    delivered = {st.student_id for st in world.state().values() if st.state == LIVE}
    others = {r["student_id"] for r in world.rows()} - mine
    assert delivered & others and not delivered & mine
    assert all(st.mailbox.lower() != REFUSED for st in world.state().values())

    refusing.allow()
    again = world.sync()
    assert again.exit_code == ExitCode.OK, again.failures
    live = world.live()  # asserts every key is live exactly once
    assert any(st.student_id in mine for st in world.state().values() if st.state == LIVE)
    assert {st.key for st in world.state().values() if st.state == LIVE} <= set(live)
    assert world.sync().actions == []


def test_nothing_of_a_refused_mailbox_is_cancelled_or_taken_as_deleted(
    refusing: Refusing,
) -> None:
    """Items already delivered to a mailbox that Graph then refuses stay live in the state: not
    removed by a person, not cancelled — even for a student who exited meanwhile."""
    world = refusing.world
    refusing.allow()
    assert world.sync().exit_code == ExitCode.OK
    before = {k: st for k, st in world.state().items() if st.mailbox.lower() == REFUSED}
    assert before
    sid = sorted(students_of(world, REFUSED))[0]
    world.set_field(sid, status="exited")
    refusing.refuse()
    report = world.sync()
    assert report.exit_code == ExitCode.FAILURES
    assert not any(a.mailbox.lower() == REFUSED for a in report.actions)
    after = world.state()
    for key, st in before.items():
        assert after[key].state == st.state != REMOVED_BY_PERSON
    assert report.counts["removed_by_person"] == 0


# --- unknown is not free ----------------------------------------------------------------------

LEA = "j.albrecht@usd901.example.org"


@pytest.fixture(params=["memory", "graph"])
def outside(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """The sample district in a tenant that lacks one LEA's mailbox."""
    sb: Any = GraphSandbox(seed=3).__enter__() if request.param == "graph" else None
    world = World(tmp_path, request.param, sandbox=sb)
    others = sorted(addresses(world) - {LEA})
    if sb is not None:
        sb.store.tenant = Tenant.of(others)
    else:
        world.remote.mailboxes = set(others)
    try:
        yield world
    finally:
        world.close()
        if sb is not None:
            sb.__exit__(None, None, None)


def test_free_busy_of_an_address_outside_the_tenant_is_unknown(outside: World) -> None:
    """getSchedule's `error` entry leaves the address out of the answer (unknown), while an
    address in the tenant is answered (free: an empty list)."""
    import datetime as dt

    start = dt.datetime(2027, 1, 4, tzinfo=dt.UTC)
    other = "cm.rivera@pvsec.example.org"
    busy = outside.remote.free_busy(
        [LEA, other], start, start + dt.timedelta(days=3), organizer=other
    )
    assert LEA not in busy and busy[other] == []


def test_an_unknown_attendee_warns_on_the_plans_of_the_students_who_need_them(
    outside: World,
) -> None:
    """Each new meeting that needs the LEA whose free/busy is unknown warns, naming the LEA;
    the meeting is still placed (around everyone else's calendar) and no other plan warns."""
    report = outside.sync()
    assert report.plan is not None
    warned = [p for p in report.plan.plans if p.has_warning("free_busy_unknown")]
    assert warned
    for p in warned:
        assert LEA in p.student.required_emails and p.meeting is not None
        (text,) = [w.text for w in p.warnings if w.code == "free_busy_unknown"]
        assert LEA in text
        assert any(p.student_id in line and LEA in line for line in report.reports)
    needing = {p.student_id for p in report.plan.plans if LEA in p.student.required_emails}
    assert {p.student_id for p in warned} <= needing


def test_when_every_mailbox_is_refused_the_run_stops(tmp_path: Path) -> None:
    """No mailbox readable is the app's access, not one mailbox: the run raises Graph's error
    (exit 2) before writing anything."""
    from iepsched.core.errors import GraphError

    probe = World(tmp_path / "probe", "memory")
    mine = students_of(probe, REFUSED)
    world = World(tmp_path / "one", "memory", keep=mine)
    world.remote.deny_mailboxes = {REFUSED}
    with pytest.raises(GraphError) as info:
        world.sync()
    assert info.value.status == 403 and world.remote.writes == 0

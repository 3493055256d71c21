"""Give up per item, not per run (SPEC §5 "Safety"; issue 8 item 12): after the retry budget a
failing write fails only its item (exit 1), and the next night finishes the job without
duplicates; a mailbox Graph starts refusing in the middle of a run fails only its writes."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_regressions import TZ, _sample_world
from test_sync import World
from test_sync_mailboxes import REFUSED, addresses

from iepsched.core.errors import ExitCode, GraphThrottled
from iepsched.core.reconcile import LIVE
from iepsched.sandbox import GraphSandbox
from iepsched.sandbox.access import Tenant
from iepsched.service.sync import SyncOptions, run_sync


def test_a_write_throttled_past_the_retry_budget_fails_only_its_item(tmp_path: Path) -> None:
    """A create throttled on every pass fails alone (exit 1, its key named); the rest is
    delivered, and the next night creates it once."""
    district, store, remote = _sample_world(tmp_path)
    options = SyncOptions(today=dt.date(2026, 11, 30), now=dt.datetime(2026, 11, 30, 8, tzinfo=TZ))
    dry = run_sync(district, store, remote, dataclasses.replace(options, dry_run=True))
    event = next(a for a in dry.actions if a.kind == "event")
    for _ in range(options.max_passes + 1):
        remote.fail_next("create", event.key, GraphThrottled("busy", status=429))
    report = run_sync(district, store, remote, options)
    assert report.exit_code == ExitCode.FAILURES
    assert [f for f in report.failures if event.key in f]
    assert remote.find_event(event.mailbox, event.key) is None
    created = sum(1 for r in report.results if r.ok and r.action.op == "create")
    assert created == len(dry.actions) - 1
    remote._fail.clear()  # the throttling is over by the next night
    nxt = dataclasses.replace(options, now=options.now + dt.timedelta(days=1))
    again = run_sync(district, store, remote, nxt)
    assert again.exit_code == ExitCode.OK, again.failures
    assert [a.key for a in again.actions] == [event.key]
    assert remote.find_event(event.mailbox, event.key) is not None
    keys = [e.get("subject") for e in remote.events(event.mailbox)]
    assert len(keys) == len(set(keys))


class _RefusedAfterSnapshot:
    """A remote whose tenant starts refusing a mailbox between the snapshot and the writes."""

    def __init__(self, inner: Any, refuse: Any) -> None:
        self.inner, self.refuse = inner, refuse

    def snapshot(self, mailboxes: Iterable[str], known: Any = None) -> Any:
        snapshot = self.inner.snapshot(mailboxes, known)
        self.refuse()
        return snapshot

    def free_busy(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.free_busy(*args, **kwargs)

    def apply(self, actions: Any) -> Iterator[Any]:
        return self.inner.apply(actions)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # the test's view of the tenant


@pytest.mark.parametrize("kind", ["memory", "graph"])
@pytest.mark.parametrize("how", ["deny", "missing"])
def test_a_mailbox_refused_mid_run_fails_only_its_writes(
    tmp_path: Path, kind: str, how: str
) -> None:
    """Writes answered 403/404 for one mailbox fail per item (exit 1); the other mailboxes are
    delivered; allowed again, the next run delivers it once."""
    sb: Any = GraphSandbox(seed=3).__enter__() if kind == "graph" else None
    world = World(tmp_path, kind, sandbox=sb)
    inner = world.remote
    others = sorted(addresses(world) - {REFUSED})

    def refuse() -> None:
        if sb is not None:
            sb.store.tenant = Tenant.of(None, [REFUSED]) if how == "deny" else Tenant.of(others)
        elif how == "deny":
            inner.deny_mailboxes = {REFUSED}
        else:
            inner.mailboxes = set(others)

    try:
        world.remote = _RefusedAfterSnapshot(inner, refuse)
        report = world.sync()
        world.remote = inner
        assert report.exit_code == ExitCode.FAILURES
        failed = [r for r in report.results if not r.ok]
        assert failed and all(r.action.mailbox.lower() == REFUSED for r in failed)
        assert all(r.ok for r in report.results if r.action.mailbox.lower() != REFUSED)
        refused_events = [r for r in failed if r.action.kind == "event"]
        assert refused_events  # calendar writes are refused either way
        if sb is not None:
            sb.store.tenant = Tenant.of(None)
        else:
            inner.deny_mailboxes, inner.mailboxes = set(), None
        again = world.sync()
        assert again.exit_code == ExitCode.OK, again.failures
        world.live()  # every key live exactly once
        mine = [st for st in world.state().values() if st.mailbox.lower() == REFUSED]
        assert mine and all(st.state == LIVE for st in mine if st.kind == "event")
    finally:
        world.close()
        if sb is not None:
            sb.__exit__(None, None, None)


def test_a_removal_in_a_missing_mailbox_is_not_taken_as_done() -> None:
    """404 ErrorInvalidUser (no such mailbox) on cancel/delete fails the item: only an item's
    own 404 means it is already gone (else the state would record a removal never made)."""
    from iepsched.core.errors import GraphNotFound
    from iepsched.core.remote import Action
    from iepsched.m365.graphread import result_from_answer
    from iepsched.m365.memory import MemoryRemote

    cancel = Action("cancel", "S1/c/meeting", "S1", "event", "gone@d.org", "test", remote_id="x")
    missing = GraphNotFound("no user", status=404, code="ErrorInvalidUser")
    assert not result_from_answer(cancel, missing, "x", None).ok
    item_gone = GraphNotFound("no item", status=404, code="ErrorItemNotFound")
    assert result_from_answer(cancel, item_gone, "x", None).ok
    remote = MemoryRemote(mailboxes=["cm@d.org"])
    (result,) = remote.apply([cancel])
    assert not result.ok and result.error is not None
    assert (result.error.status, result.error.code) == (404, "ErrorInvalidUser")

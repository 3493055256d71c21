"""A run killed after its contact tasks were created but before their checklist items were
posted (a separate documented POST each): the next run adopts the tasks and gives them their
checklist, so a person can tick how the parent was contacted and the contact is logged.

Regression (found by the school year): the adopted task kept no checklist; completing it logged
nothing ("completed without ticking a method")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from test_sync import TODAY, World

import iepsched.m365.graphremote as graphremote
from iepsched.core.errors import ExitCode
from iepsched.sandbox import GraphSandbox


class _Killed(Exception):
    """The sync process killed mid-run (SIGKILL): nothing after it runs."""


def _killed(client: Any, jobs: Mapping[str, Any]) -> dict[str, Any]:
    raise _Killed


def _checklist(world: World, key: str) -> list[str]:
    (obj,) = [o for k, kind, o in world.remote_items() if k == key and kind == "task"]
    return [str(c["displayName"]) for c in obj.get("checklistItems") or []]


def test_a_contact_task_cut_off_before_its_checklist_gets_it_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contact tasks a killed run left without checklist items get them on the next run,
    and a method ticked there is logged."""
    with GraphSandbox() as sb:
        world = World(tmp_path, "graph", sandbox=sb)
        try:
            _cut_off_then_resumed(world, monkeypatch)
        finally:
            world.close()


def _cut_off_then_resumed(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(graphremote, "add_checklists", _killed)
        with pytest.raises(_Killed):
            world.sync()
    contact = next(k for k in world.live(unique=False) if k.endswith("/parent_contact_1"))
    assert _checklist(world, contact) == []  # the kill left it bare

    report = world.sync()
    assert report.exit_code == ExitCode.OK, report.failures
    assert "Phone" in _checklist(world, contact)
    assert not [a for a in report.actions if a.op == "create" and a.key == contact]

    world.complete(contact, ["Phone"])
    world.today = TODAY + dt.timedelta(days=1)
    assert world.sync().exit_code == ExitCode.OK
    assert [c.method for c in world.contacts() if c.source == "todo"] == ["phone"]

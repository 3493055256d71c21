"""The CLI's cycle-collector settings (issue 10.7): off while a one-shot command plans and
prints, fewer collections elsewhere, and the caller's settings back when the command ends."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import SAMPLE, TODAY, cli

import iepsched.service.district as district


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[bool, tuple[int, int, int]]]]:
    """The collector's state each time a command plans the district."""
    found: list[tuple[bool, tuple[int, int, int]]] = []
    plan = district.plan_with_state

    def spy(*args: Any, **kwargs: Any) -> Any:
        found.append((gc.isenabled(), gc.get_threshold()))
        return plan(*args, **kwargs)

    monkeypatch.setattr(district, "plan_with_state", spy)
    before = gc.get_threshold(), gc.isenabled()
    yield found
    gc.set_threshold(*before[0])
    if before[1]:
        gc.enable()


def test_plan_runs_without_the_collector_and_restores_it(
    seen: list[tuple[bool, tuple[int, int, int]]],
) -> None:
    """`plan --all` plans with the collector off; afterwards it is on again, as it was."""
    gc.set_threshold(700, 10, 10)
    gc.enable()
    result = cli(SAMPLE, "plan", "--all", "--today", TODAY)
    assert result.exit_code == 0
    assert seen and not seen[0][0]
    assert gc.isenabled()
    assert gc.get_threshold() == (700, 10, 10)


def test_other_commands_collect_less_often_and_restore_the_threshold(
    seen: list[tuple[bool, tuple[int, int, int]]], tmp_path: Path
) -> None:
    """`notice` (not one-shot) plans with the collector on at a 100,000 threshold, then puts
    the caller's threshold back."""
    gc.set_threshold(700, 10, 10)
    gc.enable()
    result = cli(SAMPLE, "notice", "S1004", "--today", TODAY, "--out", str(tmp_path))
    assert seen, result.output
    assert seen[0] == (True, (100_000, 10, 10))
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.isenabled()

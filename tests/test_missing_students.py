"""A student removed from the roster is named every night; the coordinator chooses (8.10)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_sync import SUBJECT, World, meeting_key

from iepsched.core.errors import ExitCode, UserError


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path, "memory")


def test_a_missing_student_is_named_every_night_and_keeps_items(world: World) -> None:
    """Each sync says which delivered students left the roster and that their items are kept."""
    world.sync()
    mine = {k for k in world.live() if k.startswith(f"{SUBJECT}/")}
    world.drop_student(SUBJECT)
    for _night in range(2):
        report = world.sync()
        assert report.exit_code == ExitCode.OK
        assert report.actions == [] and world.last_writes == 0
        said = [line for line in report.reports if SUBJECT in line and "roster" in line]
        assert len(said) == 1, report.reports
        assert "kept" in said[0] and "exited" in said[0]
    assert mine <= set(world.live())


def test_the_coordinator_can_choose_to_treat_missing_students_as_exited(world: World) -> None:
    """With [safety] missing_students = "exit", a missing student is handled like an exited one."""
    first = world.sync()
    meeting = meeting_key(first)
    world.edit_config("max_cancellations = 10", 'max_cancellations = 50\nmissing_students = "exit"')
    world.drop_student(SUBJECT)
    report = world.sync()
    assert report.exit_code == ExitCode.OK, report.failures
    assert ("cancel", meeting) in {(a.op, a.key) for a in report.actions}
    assert meeting not in world.live()


def test_treating_missing_as_exited_still_obeys_the_safety_limit(world: World) -> None:
    """A truncated export under "exit" stops at the safety limit (exit 3) and writes nothing."""
    world.sync()
    world.edit_config("max_cancellations = 10", 'max_cancellations = 10\nmissing_students = "exit"')
    rows = world.rows()
    keep = {r["student_id"] for r in rows[: len(rows) // 2]}
    world.edit_roster(lambda rs: [r for r in rs if r["student_id"] in keep])
    report = world.sync()
    assert report.exit_code == ExitCode.SAFETY
    assert world.last_writes == 0


def test_an_unknown_choice_is_a_config_error(world: World) -> None:
    """[safety] missing_students takes "keep" or "exit"; anything else names the key."""
    world.edit_config("max_cancellations = 10", 'max_cancellations = 10\nmissing_students = "drop"')
    with pytest.raises(UserError) as caught:
        world.config()
    assert "[safety] missing_students" in str(caught.value)

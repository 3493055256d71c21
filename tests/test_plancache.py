"""`plan STUDENT` answers are reused only while nothing they depend on has changed."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

import iepsched.core.schedule
from iepsched.cli import main
from iepsched.state import plancache

SAMPLE = Path(__file__).resolve().parents[1] / "config"
TODAY = "2026-11-30"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    shutil.copytree(SAMPLE, tmp_path / "config")
    return tmp_path / "config" / "iepsched.toml"


def plan(config: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--config", str(config), "plan", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def forbid_planning(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: object, **__: object) -> None:
        raise AssertionError("planned although the answer was cached")

    monkeypatch.setattr(iepsched.core.schedule, "plan_district", fail)
    monkeypatch.setattr("iepsched.service.district.plan_district", fail)


def test_a_repeated_question_is_answered_without_planning(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second identical `plan S1001` prints the same text and plans nothing."""
    first = plan(config, "S1001", "--today", TODAY)
    forbid_planning(monkeypatch)
    assert plan(config, "S1001", "--today", TODAY) == first


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_a_roster_edit_of_the_same_size_invalidates(config: Path, fmt: str) -> None:
    """Changing a due date (same length, same second) gives the new answer, not the cached one."""
    before = plan(config, "S1001", "--today", TODAY, "--format", fmt)
    roster = config.parent / "roster.csv"
    text = roster.read_text(encoding="utf-8")
    mtime = roster.stat().st_mtime_ns
    line = next(row for row in text.splitlines() if row.startswith("S1001,"))
    changed = line.replace("2026-12-15", "2026-12-16")
    assert changed != line
    roster.write_text(text.replace(line, changed), encoding="utf-8")
    os.utime(roster, ns=(mtime, mtime))  # even with the old timestamp
    after = plan(config, "S1001", "--today", TODAY, "--format", fmt)
    assert after != before
    assert "2026-12-16" in after


def test_a_sync_state_appearing_invalidates(config: Path) -> None:
    """Creating the state file (a first sync) means the answer must be planned again."""
    plan(config, "S1001", "--today", TODAY)
    state = config.parent / "state" / "iepsched.sqlite"
    state.parent.mkdir(parents=True)
    from iepsched.state.store import StateStore

    with StateStore(state):
        pass
    entry = next(plancache.cache_dir(dict(os.environ)).glob("*.json"))
    assert (
        plancache.lookup(entry.parent, config=config, student="S1001", fmt="table", today=TODAY)
        is None
    )


def test_another_day_or_format_is_another_answer(config: Path) -> None:
    """--today and --format are part of the question."""
    a = plan(config, "S1001", "--today", TODAY)
    b = plan(config, "S1001", "--today", "2026-12-01")
    c = plan(config, "S1001", "--today", TODAY, "--format", "json")
    assert len({a, b, c}) == 3


def test_changed_code_is_never_answered_from_an_old_entry(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgrade (a different code fingerprint) makes every entry stale."""
    plan(config, "S1001", "--today", TODAY)
    monkeypatch.setattr(plancache, "code_fingerprint", lambda: "another-version")
    folder = plancache.cache_dir(dict(os.environ))
    assert (
        plancache.lookup(folder, config=config, student="S1001", fmt="table", today=TODAY) is None
    )


def test_cache_files_are_private(config: Path) -> None:
    """Entries name students: the folder is 0700 and each entry 0600."""
    plan(config, "S1001", "--today", TODAY)
    folder = plancache.cache_dir(dict(os.environ))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for entry in folder.glob("*.json"):
        assert stat.S_IMODE(entry.stat().st_mode) == 0o600


def test_a_corrupt_entry_is_ignored(config: Path) -> None:
    """A damaged cache file costs a re-plan, never a wrong or failed answer."""
    first = plan(config, "S1001", "--today", TODAY)
    for entry in plancache.cache_dir(dict(os.environ)).glob("*.json"):
        entry.write_text("{not json", encoding="utf-8")
    assert plan(config, "S1001", "--today", TODAY) == first

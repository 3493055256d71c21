"""`plan STUDENT` answers are reused only while nothing they depend on has changed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

import iepsched.core.schedule
from iepsched.cli import main
from iepsched.core.settings import Config
from iepsched.inputs.config import load_config
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


def test_a_per_building_calendar_edit_invalidates(config: Path) -> None:
    """Editing a building's own calendar (same size, same second) re-plans its students."""
    before = plan(config, "S1028", "--today", TODAY)  # Bluestem High: not the default calendar
    calendar = config.parent / "calendars" / "usd902-bluestem.toml"
    text = calendar.read_text(encoding="utf-8")
    mtime = calendar.stat().st_mtime_ns
    old = '{ name = "Q3", end = 2027-03-11, report_date = 2027-03-19 }'
    assert old in text
    calendar.write_text(text.replace(old, old.replace("03-19", "03-18")), encoding="utf-8")
    os.utime(calendar, ns=(mtime, mtime))
    after = plan(config, "S1028", "--today", TODAY)
    assert "2027-03-19  upcoming" in before
    assert "2027-03-18  upcoming" in after
    assert "2027-03-19  upcoming" not in after


def test_every_path_the_config_holds_is_an_input(config: Path) -> None:
    """The cached files are walked from the Config: each configured file, the state and its WAL."""
    loaded = load_config(config)
    files = plancache.input_files(loaded)
    folder = config.parent.resolve()
    assert set(files) == {
        folder / "iepsched.toml",
        folder / "roster.csv",
        folder / "calendars" / "usd901-prairie-valley.toml",
        folder / "calendars" / "usd902-bluestem.toml",
        loaded.state_path,
        Path(f"{loaded.state_path}-wal"),
    }
    assert len(files) == len(set(files))


def test_a_new_building_calendar_is_an_input_without_listing_it(config: Path) -> None:
    """A building added to [calendar.buildings] becomes a cache input by itself."""
    loaded = load_config(config)
    extra = config.parent / "calendars" / "new-building.toml"
    buildings = {**loaded.calendar.buildings, "New School": extra}
    grown = dataclasses.replace(
        loaded, calendar=dataclasses.replace(loaded.calendar, buildings=buildings)
    )
    assert extra not in plancache.input_files(loaded)
    assert extra in plancache.input_files(grown)


@dataclasses.dataclass(frozen=True, slots=True)
class _FutureSettings:
    """A section a later version might add, naming one more input file."""

    path: Path
    names: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class _FutureConfig(Config):
    future: _FutureSettings | None = None


def test_a_new_path_field_invalidates_without_touching_the_command(
    config: Path, tmp_path: Path
) -> None:
    """A Path in a new config section is walked, stored and checked: editing it stales the entry."""
    loaded = load_config(config)
    extra = tmp_path / "future.csv"
    extra.write_text("v1", encoding="utf-8")
    future = _FutureConfig(
        **{f.name: getattr(loaded, f.name) for f in dataclasses.fields(Config)},
        future=_FutureSettings(extra),
    )
    assert extra in plancache.input_files(future)
    folder = tmp_path / "cache"
    day = dt.date.fromisoformat(TODAY)
    plancache.store(folder, config=future, student="S1", fmt="table", today=day, output="out\n")
    ask = {"config": config, "student": "S1", "fmt": "table", "today": TODAY}
    assert plancache.lookup(folder, **ask) == "out\n"
    extra.write_text("v2", encoding="utf-8")
    assert plancache.lookup(folder, **ask) is None


def test_graph_credentials_are_not_inputs(config: Path, tmp_path: Path) -> None:
    """A certificate or token cache is never hashed into an entry (and never stales one)."""
    loaded = load_config(config)
    graph = dataclasses.replace(
        loaded.graph, certificate_path=tmp_path / "key.pem", token_cache_path=tmp_path / "t.json"
    )
    files = plancache.input_files(dataclasses.replace(loaded, graph=graph))
    assert tmp_path / "key.pem" not in files
    assert tmp_path / "t.json" not in files

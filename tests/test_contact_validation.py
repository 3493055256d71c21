"""`contact log` refuses nonsense (issue 8 item 8); a damaged state file is a message."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hostile import copy_sample

import iepsched.cli.contact_cmd
import iepsched.cli.plan_cmd  # noqa: F401  (registers `plan` on main)
from iepsched.cli import main

TODAY = "2026-11-30"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the sample district (its state file is written under tmp)."""
    monkeypatch.delenv("IEPSCHED_CONFIG", raising=False)
    return copy_sample(tmp_path)


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args])


def log(config: Path, *, at: str = "2026-11-20T15:45", who: str = "R. T.", **kw: str) -> Result:
    extra = [item for key, value in kw.items() for item in (f"--{key}", value)]
    return run(
        config,
        *("contact", "log", "S1001", "--method", "phone", "--with", who),
        *("--outcome", "reached", "--at", at, "--today", TODAY, *extra),
    )


def state_file(config: Path) -> Path:
    return config.parent / "state" / "iepsched.sqlite"


def logged(config: Path) -> int:
    path = state_file(config)
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM contacts").fetchone()[0])


@pytest.mark.parametrize("at", ["0001-01-01", "1900-05-05T10:00", "2023-11-29T10:00"])
def test_contact_log_refuses_times_long_before_today(config: Path, at: str) -> None:
    """A contact dated years ago (0001-01-01, 1900, three years back) is refused, not logged."""
    result = log(config, at=at)
    assert result.exit_code == 2, result.output
    assert "--at" in result.output
    assert logged(config) == 0


def test_contact_log_refuses_a_time_that_does_not_exist_on_a_dst_day(config: Path) -> None:
    """02:30 on 2026-03-08 never happened in America/Chicago (clocks jumped): refused."""
    result = run(
        config,
        *("contact", "log", "S1001", "--method", "phone", "--with", "R. T."),
        *("--outcome", "reached", "--at", "2026-03-08T02:30", "--today", "2026-03-09"),
    )
    assert result.exit_code == 2, result.output
    assert "does not exist" in result.output
    assert logged(config) == 0


def test_contact_log_accepts_the_repeated_hour_of_a_dst_day(config: Path) -> None:
    """01:30 on 2026-11-01 happened (twice) in America/Chicago: it is logged."""
    result = run(
        config,
        *("contact", "log", "S1001", "--method", "phone", "--with", "R. T."),
        *("--outcome", "reached", "--at", "2026-11-01T01:30", "--today", TODAY),
    )
    assert result.exit_code == 0, result.output
    assert logged(config) == 1


@pytest.mark.parametrize("who", ["Ren\r\nS1002,evil", "Ren\x00T", "Ren\x1b[31mata", "Re\tnata"])
def test_contact_log_refuses_control_characters_in_with(config: Path, who: str) -> None:
    """CR/LF, NUL, escape and tab in --with would break tables and CSVs: refused with a message."""
    result = log(config, who=who)
    assert result.exit_code == 2, result.output
    assert "--with" in result.output
    assert logged(config) == 0


def test_contact_log_refuses_control_characters_in_the_note(config: Path) -> None:
    """A note with an escape sequence is refused; the log stays clean."""
    result = log(config, note="called \x1b[2J back")
    assert result.exit_code == 2, result.output
    assert "--note" in result.output
    assert logged(config) == 0


def test_contact_log_still_takes_a_plain_contact(config: Path) -> None:
    """The validation refuses only nonsense: a plain contact of ten days ago is logged."""
    result = log(config, note="left a message, will call back")
    assert result.exit_code == 0, result.output
    assert logged(config) == 1


def _damage(path: Path) -> None:
    """Zero every page after the first: 'database disk image is malformed' on the next read."""
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big") or 65536
    data[page:] = bytes(len(data) - page)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "command",
    [
        ("contact", "list"),
        ("plan", "S1001", "--today", TODAY),
        ("plan", "--all", "--today", TODAY),
    ],
)
def test_a_damaged_state_file_is_a_clear_message(config: Path, command: tuple[str, ...]) -> None:
    """A state file with zeroed pages: a message naming the file and what to do, no traceback."""
    assert log(config).exit_code == 0
    with sqlite3.connect(state_file(config)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _damage(state_file(config))
    result = run(config, *command)
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, sqlite3.DatabaseError)
    assert "Traceback" not in result.output
    assert str(state_file(config)) in result.output
    assert "damaged" in result.output


def test_contact_log_counts_only_this_cycles_contacts_like_plan(config: Path) -> None:
    """One definition of which contacts count: one from before this cycle (DUE - 1 year) is
    not "counted so far" by `contact log`, exactly as `plan` leaves it out."""
    # S1009's IEP is due 2027-01-25, so this cycle's contacts are those after 2026-01-25.
    old = run(
        config,
        *("contact", "log", "S1009", "--method", "letter", "--with", "R. T."),
        *("--outcome", "reached", "--at", "2025-12-01T10:00", "--today", TODAY),
    )
    assert old.exit_code == 0, old.output
    assert "0 counted so far" in old.output
    new = run(
        config,
        *("contact", "log", "S1009", "--method", "phone", "--with", "R. T."),
        *("--outcome", "reached", "--at", "2026-11-20T10:00", "--today", TODAY),
    )
    assert new.exit_code == 0, new.output
    assert "1 counted so far (phone)" in new.output

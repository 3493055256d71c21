"""`iepsched config check` and `iepsched calendar show|check|draft`: output and exit codes."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from cli_helpers import cli

REPO = Path(__file__).parent.parent
CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --config the CLI finds ./config/iepsched.toml: the repo's sample."""
    monkeypatch.chdir(REPO)


def run(*args: str) -> tuple[int, str]:
    result = cli(None, *args)
    return result.exit_code, result.output


def test_config_check_sample() -> None:
    """The sample district checks clean, with the one-line summary."""
    code, out = run("config", "check")
    assert (code, out) == (0, "config OK: 51 students (2 exited), 2 calendars, 0 rows skipped\n")


def test_config_check_reports_everything(tmp_path: Path) -> None:
    """Roster errors, config warnings and calendar problems print together; errors exit 2."""
    for name in ("calendar.toml", "roster.csv"):
        shutil.copy(CORPUS / "config" / name, tmp_path / name)
    shutil.copy(CORPUS / "roster" / "many_errors.csv", tmp_path / "bad.csv")
    with (tmp_path / "roster.csv").open("a") as roster:
        roster.write((tmp_path / "bad.csv").read_text().splitlines()[1].replace("S1", "S3") + "\n")
    (tmp_path / "c.toml").write_text(
        (CORPUS / "config" / "unknown_keys.toml").read_text()
        + '\n[rooms]\n"Nowhere High" = "room@x.example.org"\n'
    )
    code, out = run("--config", str(tmp_path / "c.toml"), "config", "check")
    lines = out.splitlines()
    assert code == 2
    assert [line.split(":", 1)[0] for line in lines[:-1]] == ["warning"] * 4 + ["error"] * 4 + [
        "warning"
    ]
    assert lines[4].endswith(
        "roster.csv line 4, column first_name: first_name is empty; it is required"
    )
    assert '[rooms] "Nowhere High": no student in the roster is in this building' in lines[8]
    assert lines[-1] == (
        "config has 4 errors: 2 students (0 exited), 1 calendar, 1 row skipped, 5 warnings"
    )


def test_config_check_missing_config(tmp_path: Path) -> None:
    """A missing config exits 2 and says how to point at another file."""
    code, out = run("--config", str(tmp_path / "none.toml"), "config", "check")
    assert code == 2
    assert "IEPSCHED_CONFIG environment variable" in out and "--config PATH" in out


def test_config_check_building_without_calendar(monkeypatch: pytest.MonkeyPatch) -> None:
    """A roster building with no calendar (and no default) fails the check."""
    monkeypatch.chdir(CORPUS / "config")
    code, out = run("--config", "no_default_calendar.toml", "config", "check")
    assert code == 2
    assert out.splitlines()[0] == (
        "error: no_default_calendar.toml [calendar.buildings]: no school calendar for building "
        "'South Elementary': add it under [calendar.buildings], or set [calendar] path as the "
        "default calendar (students S2 (line 3))"
    )


def test_calendar_show_month() -> None:
    """A month grid marks closures with x, lists their labels and counts school days."""
    code, out = run("calendar", "show", "--building", "Bluestem High", "--month", "2026-12")
    assert code == 0
    assert out == (
        "December 2026 — USD 902 Bluestem\n"
        "  Mon  Tue  Wed  Thu  Fri  Sat  Sun\n"
        "        1    2    3    4    5    6\n"
        "   7    8    9   10   11   12   13\n"
        "  14   15   16   17   18   19   20\n"
        "  21x  22x  23x  24x  25x  26   27\n"
        "  28x  29x  30x  31x\n"
        "  x 2026-12-21 to 2027-01-04  Winter break\n"
        "  14 school days\n"
        "\n"
        "x closed   - outside the school year   ? school year not loaded\n"
    )


def test_calendar_show_defaults_to_todays_month() -> None:
    """Without --month the month of --today is shown, for every calendar."""
    code, out = run("calendar", "show", "--today", "2027-06-15")
    assert code == 0
    assert out.count("June 2027 — ") == 2
    assert "  3-   4-" in out  # summer after the last day is outside the school year


def test_calendar_show_whole_year_and_unknown() -> None:
    """--year draws July to June; months not loaded are marked ? and named."""
    code, out = run("calendar", "show", "--building", "Cottonwood Elementary", "--year", "2028-29")
    assert code == 0
    assert out.count("school year 2028-29 is not loaded in this calendar") == 12


def test_calendar_show_bad_month() -> None:
    """A malformed --month is a usage error naming the option."""
    code, out = run("calendar", "show", "--month", "2026-13")
    assert code == 2 and "'2026-13' is not a month like 2026-12" in out


def test_calendar_check_sample() -> None:
    """The sample's only findings are the Veterans Days it keeps as school days: exit 0."""
    code, out = run("calendar", "check")
    assert code == 0
    assert out == (
        "warning: USD 901 Prairie Valley year 2026-27: 2026-11-11 Veterans Day is a school day: "
        "confirm, or close it in the calendar\n"
        "warning: USD 901 Prairie Valley year 2027-28: 2027-11-11 Veterans Day is a school day: "
        "confirm, or close it in the calendar\n"
        "calendar check OK: 2 calendars, 0 errors, 2 warnings\n"
    )


def test_calendar_check_one_building() -> None:
    """--building checks only that building's calendar."""
    code, out = run("calendar", "check", "--building", "bluestem elementary")
    assert (code, out) == (0, "calendar check OK: 1 calendar, 0 errors, 0 warnings\n")


def test_calendar_check_unloadable(tmp_path: Path) -> None:
    """A calendar that cannot be loaded exits 2 with its problems."""
    config = tmp_path / "c.toml"
    shutil.copy(CORPUS / "config" / "roster.csv", tmp_path / "roster.csv")
    shutil.copy(CORPUS / "calendars" / "no_years.toml", tmp_path / "cal.toml")
    config.write_text(
        '[district]\nname = "X"\ntimezone = "America/Chicago"\n[roster]\npath = "roster.csv"\n'
        '[calendar]\npath = "cal.toml"\n'
    )
    code, out = run("--config", str(config), "calendar", "check")
    assert code == 2
    assert "cal.toml: has no [[years]]; add one [[years]] table per school year" in out


def test_calendar_draft_stdout() -> None:
    """A draft prints to stdout when no --out is given, and parses as TOML."""
    code, out = run(
        "calendar",
        "draft",
        "--year",
        "2027-28",
        "--first-day",
        "2027-08-12",
        "--last-day",
        "2028-05-19",
        "--name",
        "USD 901",
    )
    assert code == 0
    data = tomllib.loads(out)
    assert data["name"] == "USD 901" and data["years"][0]["name"] == "2027-28"


def test_calendar_draft_file_and_force(tmp_path: Path) -> None:
    """--out writes the file once; it is not overwritten without --force."""
    out_file = tmp_path / "draft.toml"
    args = ["calendar", "draft", "--year", "2027-28", "--first-day", "2027-08-12"]
    args += ["--last-day", "2028-05-19", "--out", str(out_file)]
    assert run(*args)[0] == 0
    assert "School calendar 2027-28" in out_file.read_text()
    out_file.write_text("coordinator's edits")
    code, out = run(*args)
    assert code == 2 and "already exists; use --force to overwrite it" in out
    assert out_file.read_text() == "coordinator's edits"
    assert run(*args, "--force")[0] == 0
    assert out_file.read_text().startswith("# DRAFT")


def test_calendar_draft_bad_dates() -> None:
    """Bad draft dates are refused with the option named."""
    code, out = run(
        "calendar", "draft", "--year", "2027-28", "--first-day", "2027-08-12", "--last-day", "soon"
    )
    assert code == 2 and "'soon' is not a date like 2026-09-01" in out

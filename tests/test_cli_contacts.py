"""`iepsched contact log | list`: validation, exit codes, the requirement message, formats."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from cli_helpers import TODAY, cli, state_file
from click.testing import Result
from hostile import hostile_config


def log(config: Path, student: str, method: str, at: str, *extra: str) -> Result:
    return cli(
        config,
        "contact",
        "log",
        student,
        "--method",
        method,
        "--with",
        "Renata Thornbury",
        "--outcome",
        "reached",
        "--at",
        at,
        "--today",
        TODAY,
        *extra,
    )


def test_log_confirms_and_reports_the_requirement(sample_config: Path) -> None:
    """Logging prints a confirmation; the second contact by another method meets the rule."""
    first = log(sample_config, "S1001", "phone", "2026-11-20T15:45")
    assert first.exit_code == 0
    assert first.stdout.splitlines() == [
        "logged: S1001 phone contact with Renata Thornbury (reached) at 2026-11-20 15:45 CST",
        "contact requirement not met yet: two contacts by two different methods are due by "
        "2026-11-30; 1 counted so far (phone)",
    ]
    same = log(sample_config, "S1001", "phone", "2026-11-21")
    assert "not met yet" in same.stdout and "2 counted so far (phone)" in same.stdout
    second = log(sample_config, "S1001", "email", "2026-11-25")
    assert second.stdout.splitlines()[1] == (
        "contact requirement MET (by 2026-11-30): phone on 2026-11-20 and email on 2026-11-25"
    )


def test_late_contact_is_called_out(sample_config: Path) -> None:
    """A contact after the deadline is logged, and the message says the rule is not met."""
    result = log(sample_config, "S1005", "email", "2026-11-29")
    assert result.exit_code == 0
    assert "NOT met" in result.stdout and "(this contact is after that date)" in result.stdout


def test_unknown_student_exits_2_naming_the_roster(sample_config: Path) -> None:
    """An unknown student id is refused with exit 2 and a message naming the roster file."""
    result = log(sample_config, "S9999", "phone", "2026-11-20")
    assert result.exit_code == 2
    assert "roster.csv" in result.stderr and "'S9999'" in result.stderr
    assert not state_file(sample_config).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--method", "fax"), "'fax' is not one of"),
        (("--outcome", "maybe"), "'maybe' is not one of"),
        (("--at", "yesterday"), "is not a time like 2026-11-30T15:45"),
        (("--at", "2026-12-01T09:00"), "is after today (2026-11-30)"),
        (("--with", "   "), "say who was contacted"),
    ],
)
def test_log_validates_options(sample_config: Path, args: tuple[str, str], message: str) -> None:
    """Bad method, outcome, time, future time or empty --with: usage error, nothing logged."""
    options = {"--method": "phone", "--with": "R", "--outcome": "reached", "--at": "2026-11-20"}
    options.update(dict([args]))
    flat = [x for pair in options.items() for x in pair]
    result = cli(sample_config, "contact", "log", "S1001", *flat, "--today", TODAY)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not state_file(sample_config).exists()


def test_student_id_is_matched_case_insensitively(sample_config: Path) -> None:
    """`s1001` logs against S1001, the roster's spelling."""
    assert log(sample_config, "s1001", "phone", "2026-11-20").exit_code == 0
    listed = cli(sample_config, "contact", "list", "--format", "json")
    assert [c["student_id"] for c in json.loads(listed.stdout)] == ["S1001"]


def test_log_is_append_only(sample_config: Path) -> None:
    """Each log adds a row; the state refuses to change or delete one."""
    log(sample_config, "S1001", "phone", "2026-11-20")
    log(sample_config, "S1001", "phone", "2026-11-20")
    rows = json.loads(cli(sample_config, "contact", "list", "S1001", "--format", "json").stdout)
    assert len(rows) == 2
    db = sqlite3.connect(state_file(sample_config))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE contacts SET method = 'email'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM contacts")
    db.close()


def test_list_formats(sample_config: Path) -> None:
    """table, csv and json list the same contacts, oldest first, notes in csv and json."""
    log(sample_config, "S1002", "letter", "2026-11-22", "--note", "mailed, certified")
    log(sample_config, "S1001", "phone", "2026-11-20T08:05", "--note", "=cmd|' /C calc'!A0")
    table = cli(sample_config, "contact", "list").stdout.splitlines()
    assert table[0].split() == ["when", "student", "method", "outcome", "source", "with", "note"]
    assert table[1].startswith("2026-11-20 08:05  S1001    phone")
    assert table[-1] == "2 contacts"
    assert all(len(line) <= 100 for line in table)
    rows = list(
        csv.reader(io.StringIO(cli(sample_config, "contact", "list", "--format", "csv").stdout))
    )
    assert rows[0] == ["student_id", "at", "method", "with_whom", "outcome", "note", "source"]
    assert [r[0] for r in rows[1:]] == ["S1001", "S1002"]
    assert rows[1][5] == "'=cmd|' /C calc'!A0"
    assert rows[2][5] == "mailed, certified"
    data = json.loads(cli(sample_config, "contact", "list", "--format", "json").stdout)
    assert data[1] == {
        "student_id": "S1002",
        "at": "2026-11-22T12:00-06:00",
        "method": "letter",
        "with_whom": "Renata Thornbury",
        "outcome": "reached",
        "note": "mailed, certified",
        "source": "cli",
    }


def test_list_one_student_and_empty_log(sample_config: Path) -> None:
    """A student filter lists only theirs; an empty log says so and creates no state."""
    assert cli(sample_config, "contact", "list").stdout == "no contacts logged\n"
    assert cli(sample_config, "contact", "list", "--format", "json").stdout.strip() == "[]"
    assert not state_file(sample_config).exists()
    log(sample_config, "S1001", "phone", "2026-11-20")
    log(sample_config, "S1002", "email", "2026-11-21")
    rows = json.loads(cli(sample_config, "contact", "list", "S1002", "--format", "json").stdout)
    assert [r["student_id"] for r in rows] == ["S1002"]


def test_list_unknown_student_exits_2(sample_config: Path) -> None:
    """Listing a student who is neither on the roster nor in the log is exit 2."""
    result = cli(sample_config, "contact", "list", "NOPE")
    assert result.exit_code == 2 and "roster.csv" in result.stderr


def test_list_student_who_left_the_roster(sample_config: Path) -> None:
    """Contacts of a student no longer on the roster can still be listed (disputes)."""
    log(sample_config, "S1001", "phone", "2026-11-20")
    roster = sample_config.parent / "roster.csv"
    lines = roster.read_text().splitlines(keepends=True)
    roster.write_text("".join(line for line in lines if not line.startswith("S1001,")))
    rows = json.loads(cli(sample_config, "contact", "list", "S1001", "--format", "json").stdout)
    assert [r["student_id"] for r in rows] == ["S1001"]


def test_hostile_contact_values_survive(tmp_path: Path) -> None:
    """A name with quotes, commas and a formula is stored and listed exactly (CSV neutralised)."""
    config = hostile_config(tmp_path)
    who = '=HYPERLINK("http://x"), "Jr"'
    result = cli(
        config,
        "contact",
        "log",
        "H002",
        "--method",
        "video",
        "--with",
        who,
        "--outcome",
        "returned",
        "--at",
        "2026-11-20",
        "--note",
        "line one\nline two",
        "--today",
        TODAY,
    )
    assert result.exit_code == 0
    data = json.loads(cli(config, "contact", "list", "--format", "json").stdout)
    assert (data[0]["with_whom"], data[0]["note"]) == (who, "line one\nline two")
    rows = list(csv.reader(io.StringIO(cli(config, "contact", "list", "--format", "csv").stdout)))
    assert rows[1][3] == "'" + who and rows[1][5] == "line one\nline two"
    table = cli(config, "contact", "list").stdout
    assert "line one line two" in table

"""`iepsched delay log | list` and `iepsched meeting request | list`: validation, exit codes,
the one-line confirmation, --today dating, formats, and listing from the journal."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from cli_helpers import TODAY, cli, state_file
from click.testing import Result


def delay(config: Path, student: str = "S1001", *extra: str) -> Result:
    return cli(config, "delay", "log", student, "--reason", "parent ill", "--today", TODAY, *extra)


def ask(config: Path, student: str = "S1001", *extra: str) -> Result:
    return cli(
        config,
        "meeting",
        "request",
        student,
        "--type",
        "amendment",
        "--reason",
        "add speech minutes",
        "--today",
        TODAY,
        *extra,
    )


def listed(config: Path, group: str, *extra: str) -> list[dict[str, object]]:
    result = cli(config, group, "list", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


# -- delay log --------------------------------------------------------------------------------


def test_delay_log_confirms_with_ids_and_dates(sample_config: Path) -> None:
    """One line: the entry id, the student id, the day logged and the meeting date; no name,
    no reason."""
    result = delay(sample_config, "S1001", "--meeting-date", "2026-12-14")
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    (row,) = listed(sample_config, "delay")
    assert line == (
        f"logged: delay {str(row['id'])[:8]} for S1001 on 2026-11-30 (meeting 2026-12-14)"
    )
    assert row == {
        "id": row["id"],
        "student_id": "S1001",
        "logged_on": "2026-11-30",
        "meeting_date": "2026-12-14",
        "reason": "parent ill",
    }


def test_delay_is_dated_today_unless_told(sample_config: Path) -> None:
    """--today dates the entry; the student id is matched case-insensitively."""
    cli(sample_config, "delay", "log", "s1002", "--reason", "r", "--today", "2026-12-02")
    (row,) = listed(sample_config, "delay")
    assert (row["student_id"], row["logged_on"], row["meeting_date"]) == (
        "S1002",
        "2026-12-02",
        None,
    )


def test_delay_for_unknown_student_exits_2_naming_the_roster(sample_config: Path) -> None:
    """An id not on the roster is refused, and nothing is written."""
    result = delay(sample_config, "S9999")
    assert result.exit_code == 2
    assert "roster.csv" in result.stderr and "'S9999'" in result.stderr
    assert not state_file(sample_config).exists()


@pytest.mark.parametrize(
    ("reason", "extra", "message"),
    [
        ("   ", (), "say why"),
        ("a\x1b[31mb", (), "control characters (U+001B)"),
        ("line\nbreak", (), "control characters (U+000A)"),
        ("x" * 1001, (), "is 1,001 characters long; keep it to 1,000"),
        ("r", ("--meeting-date", "14/12/2026"), "is not a date like"),
        ("r", ("--meeting-date", "2024-01-10"), "more than two years before today"),
        ("r", ("--meeting-date", "2028-01-10"), "more than a year after today"),
        ("r", ("--today", "someday"), "is not a date like"),
    ],
)
def test_delay_log_validates(
    sample_config: Path, reason: str, extra: tuple[str, ...], message: str
) -> None:
    """Empty, control-character or over-long reasons and insane dates: exit 2, nothing logged."""
    args = ["delay", "log", "S1001", "--reason", reason]
    if "--today" not in extra:
        args += ["--today", TODAY]
    result = cli(sample_config, *args, *extra)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not state_file(sample_config).exists()


def test_a_reason_of_exactly_1000_characters_is_kept_whole(sample_config: Path) -> None:
    """The limit is inclusive, and spaces are folded before it is counted."""
    reason = "y" * 998 + "  z"
    assert cli(sample_config, "delay", "log", "S1001", "--reason", reason).exit_code == 0
    assert listed(sample_config, "delay")[0]["reason"] == "y" * 998 + " z"


def test_delay_log_is_append_only(sample_config: Path) -> None:
    """Two logs are two rows; the state refuses to change or delete one."""
    delay(sample_config)
    delay(sample_config)
    assert len(listed(sample_config, "delay", "S1001")) == 2
    db = sqlite3.connect(state_file(sample_config))
    for statement in ("UPDATE delays SET reason = 'x'", "DELETE FROM delays"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(statement)
    db.close()


def test_delay_list_formats(sample_config: Path) -> None:
    """table (fits 100 columns), csv (Excel-safe) and json list the same delays, oldest first."""
    cli(sample_config, "delay", "log", "S1002", "--reason", "=cmd|' /C calc'!A0", "--today", TODAY)
    cli(sample_config, "delay", "log", "S1001", "--reason", "snow, " * 40, "--today", "2026-11-20")
    table = cli(sample_config, "delay", "list").stdout.splitlines()
    assert table[0].split() == ["logged", "on", "student", "id", "meeting", "date", "id", "reason"]
    assert table[1].startswith("2026-11-20  S1001")
    assert table[1].endswith("…")
    assert table[-1] == "2 delays"
    assert all(len(line) <= 100 for line in table)
    rows = list(
        csv.reader(io.StringIO(cli(sample_config, "delay", "list", "--format", "csv").stdout))
    )
    assert rows[0] == ["id", "student_id", "logged_on", "meeting_date", "reason"]
    assert [r[1] for r in rows[1:]] == ["S1001", "S1002"]
    assert rows[2][4] == "'=cmd|' /C calc'!A0"
    assert len(rows[1][0]) == 32


def test_delay_list_empty_and_unknown_student(sample_config: Path) -> None:
    """An empty log says so and creates no state; an unknown student is exit 2."""
    assert cli(sample_config, "delay", "list").stdout == "no delays logged\n"
    assert not state_file(sample_config).exists()
    result = cli(sample_config, "delay", "list", "NOPE")
    assert result.exit_code == 2 and "roster.csv" in result.stderr


def test_delays_of_a_student_who_left_the_roster_are_listed(sample_config: Path) -> None:
    """A dispute outlives enrolment: the log is listed by id after the roster drops them."""
    delay(sample_config, "S1001")
    roster = sample_config.parent / "roster.csv"
    lines = roster.read_text().splitlines(keepends=True)
    roster.write_text("".join(line for line in lines if not line.startswith("S1001,")))
    assert [r["student_id"] for r in listed(sample_config, "delay", "S1001")] == ["S1001"]


def test_lists_read_the_journal_when_the_state_is_gone(sample_config: Path) -> None:
    """With the state file lost, both lists still show every journaled entry, and the next
    command that opens the state takes them back."""
    delay(sample_config, "S1001", "--meeting-date", "2026-12-14")
    ask(sample_config, "S1002", "--requested-by", "parent")
    before = (listed(sample_config, "delay"), listed(sample_config, "meeting"))
    state = state_file(sample_config)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)
    assert (listed(sample_config, "delay"), listed(sample_config, "meeting")) == before
    assert not state.exists()
    journal = state.with_name("iepsched.legal-log.jsonl")
    journal.write_text(journal.read_text(encoding="utf-8") + "{torn", encoding="utf-8")
    torn = cli(sample_config, "delay", "list", "--format", "json")
    assert json.loads(torn.stdout) == before[0]
    assert "warning:" in torn.stderr and "line 3" in torn.stderr
    delay(sample_config, "S1003")  # opens (creates) the state: the journal refills it
    db = sqlite3.connect(state)
    assert db.execute("SELECT count(*) FROM delays").fetchone()[0] == 2
    assert db.execute("SELECT count(*) FROM meeting_requests").fetchone()[0] == 1
    db.close()


# -- meeting request --------------------------------------------------------------------------


def test_meeting_request_confirms_with_ids_and_dates(sample_config: Path) -> None:
    """One line: type, entry id, student id, request date and due date (+30 days)."""
    result = ask(sample_config, "S1001", "--requested-by", "parent")
    assert result.exit_code == 0, result.output
    (row,) = listed(sample_config, "meeting")
    assert result.stdout.splitlines() == [
        f"requested: amendment {str(row['id'])[:8]} for S1001 on 2026-11-30, due 2026-12-30"
    ]
    assert row == {
        "id": row["id"],
        "student_id": "S1001",
        "type": "amendment",
        "requested_on": "2026-11-30",
        "by": None,
        "due_date": "2026-12-30",
        "open": True,
        "state": "open",
        "without_meeting": False,
        "notice_waived": False,
        "requested_by": "parent",
        "reason": "add speech minutes",
    }


def test_request_options_are_recorded(sample_config: Path) -> None:
    """--by sets the due date; --without-meeting is due in 14 days; --notice-waived is kept."""
    first = ask(sample_config, "S1001", "--by", "2026-12-18", "--notice-waived")
    assert first.stdout.endswith("due 2026-12-18, notice waived\n")
    second = ask(sample_config, "S1002", "--without-meeting")
    assert "amendment without a meeting" in second.stdout
    assert second.stdout.endswith("due 2026-12-14\n")
    rows = listed(sample_config, "meeting")
    assert [(r["by"], r["notice_waived"], r["without_meeting"]) for r in rows] == [
        ("2026-12-18", True, False),
        (None, False, True),
    ]


def test_a_second_open_request_is_refused(sample_config: Path) -> None:
    """While a student's amendment request is open, another exits 2 naming the open one; past
    its due date it is still open (overdue: the planner keeps its cycle until the meeting is
    held), so another is still refused and `meeting list` says overdue."""
    ask(sample_config, "S1001", "--by", "2026-12-10")
    (row,) = listed(sample_config, "meeting")
    again = cli(
        sample_config,
        "meeting",
        "request",
        "S1001",
        "--type",
        "amendment",
        "--reason",
        "more",
        "--today",
        "2026-12-10",
    )
    assert again.exit_code == 2
    assert (
        f"S1001 already has an open amendment request {str(row['id'])[:8]} "
        "(requested 2026-11-30, due 2026-12-10)"
    ) in again.stderr
    assert len(listed(sample_config, "meeting")) == 1
    assert ask(sample_config, "S1002").exit_code == 0  # another student is not affected
    later = cli(
        sample_config,
        "meeting",
        "request",
        "S1001",
        "--type",
        "amendment",
        "--reason",
        "more",
        "--today",
        "2026-12-11",
    )
    assert later.exit_code == 2, later.output
    assert "already has an open and overdue amendment request" in later.stderr
    opened = listed(sample_config, "meeting", "S1001", "--today", "2026-12-11")
    assert [(r["open"], r["state"]) for r in opened] == [(True, "overdue")]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--type", "annual"), "'annual' is not 'amendment'"),
        (("--by", "2026-11-29"), "2026-11-29 is before today (2026-11-30)"),
        (("--by", "2028-01-01"), "more than a year after today"),
        (("--by", "soon"), "is not a date like"),
        (("--requested-by", "mayor"), "'mayor' is not one of"),
        (("--reason", ""), "say why"),
        (("--reason", "tab\there"), "control characters (U+0009)"),
        (("--notice-waived", "--without-meeting"), "no notice of meeting to waive"),
    ],
)
def test_meeting_request_validates(
    sample_config: Path, extra: tuple[str, ...], message: str
) -> None:
    """Unknown type or requester, a --by date in the past, a bad reason, contradictory flags:
    exit 2 with the reason, nothing logged."""
    options = {"--type": "amendment", "--reason": "r"}
    flags = [x for x in extra if x in ("--notice-waived", "--without-meeting")]
    pairs = [x for x in extra if x not in flags]
    options.update(dict(zip(pairs[::2], pairs[1::2], strict=True)))
    flat = [x for pair in options.items() for x in pair]
    result = cli(sample_config, "meeting", "request", "S1001", *flat, *flags, "--today", TODAY)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not state_file(sample_config).exists()


def test_meeting_request_for_unknown_student_exits_2(sample_config: Path) -> None:
    """An id not on the roster is refused naming the roster."""
    result = ask(sample_config, "S9999")
    assert result.exit_code == 2 and "roster.csv" in result.stderr


def test_meeting_request_log_is_append_only(sample_config: Path) -> None:
    """The state refuses to change or delete a request (closing one is not an edit)."""
    ask(sample_config)
    db = sqlite3.connect(state_file(sample_config))
    for statement in ("UPDATE meeting_requests SET by_date = NULL", "DELETE FROM meeting_requests"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(statement)
    db.close()


def test_meeting_list_formats(sample_config: Path) -> None:
    """table (100 columns), csv (every column, Excel-safe) and json agree, oldest first."""
    ask(sample_config, "S1002", "--requested-by", "teacher")
    cli(
        sample_config,
        "meeting",
        "request",
        "S1001",
        "--type",
        "amendment",
        "--reason",
        "@SUM(A1)",
        "--without-meeting",
        "--today",
        "2026-11-25",
    )
    table = cli(sample_config, "meeting", "list", "--today", TODAY).stdout.splitlines()
    assert table[0].split()[:4] == ["requested", "on", "student", "id"]
    assert table[1].split()[:5] == ["2026-11-25", "S1001", "amendment", "2026-12-09", "open"]
    assert table[-1] == "2 meeting requests"
    assert all(len(line) <= 100 for line in table)
    text = cli(sample_config, "meeting", "list", "--format", "csv", "--today", TODAY).stdout
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["id", "student_id", "type"] and rows[0][-1] == "reason"
    assert rows[1][-1] == "'@SUM(A1)" and rows[1][6:9] == ["yes", "open", "yes"]
    assert rows[2][-2] == "teacher"
    assert cli(sample_config, "meeting", "list", "S1003").stdout == "no meeting requests logged\n"

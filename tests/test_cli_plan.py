"""`iepsched plan` on the sample district, through click's CliRunner."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cli_helpers import SAMPLE, TODAY, cli


def run(*args: str) -> tuple[int, str, str]:
    result = cli(SAMPLE, *args)
    return result.exit_code, result.stdout, result.stderr


def test_json_has_exactly_the_spec_fields() -> None:
    """SPEC §4's JSON fields are all present with their types (more may be added)."""
    code, out, _ = run("plan", "S1001", "--today", TODAY, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert {
        "student_id",
        "today",
        "due_date",
        "next_due_date",
        "status",
        "meeting",
        "milestones",
        "warnings",
    } <= set(data)
    assert data["student_id"] == "S1001"
    assert data["today"] == TODAY
    assert set(data["meeting"]) >= {"date", "start", "end", "state"}
    assert data["meeting"]["state"] == "proposed"
    assert data["meeting"]["start"].startswith(data["meeting"]["date"] + "T")
    first = data["milestones"][0]
    assert set(first) >= {"key", "date", "delivery", "status", "title"}
    assert {m["delivery"] for m in data["milestones"]} <= {"task", "event", "recurring_task"}


def test_json_milestones_are_in_date_order_with_nulls_last() -> None:
    """Milestones are listed by date; undated ones come last."""
    for sid in ("S1001", "S1020"):
        _, out, _ = run("plan", sid, "--today", TODAY, "--format", "json")
        dates = [m["date"] for m in json.loads(out)["milestones"]]
        dated = [d for d in dates if d is not None]
        assert dated == sorted(dated)
        assert dates[: len(dated)] == dated


def test_unplanned_student_has_null_meeting_and_a_warning_naming_the_year() -> None:
    """A due date in a school year not loaded: meeting null, unplanned, the year is named."""
    _, out, _ = run("plan", "S1020", "--today", TODAY, "--format", "json")
    data = json.loads(out)
    assert data["meeting"] is None
    assert data["status"] == "unplanned"
    assert any("2028-29" in w for w in data["warnings"])


def test_table_fits_100_columns() -> None:
    """The terminal form never exceeds 100 columns."""
    for sid in ("S1001", "S1020", "S1014"):
        code, out, _ = run("plan", sid, "--today", TODAY)
        assert code == 0
        assert max(len(line) for line in out.splitlines()) <= 100


def test_unknown_student_exits_2_naming_the_roster() -> None:
    """An unknown id is an input error: exit 2 and a message that names the roster file."""
    code, out, err = run("plan", "NOPE", "--today", TODAY)
    assert code == 2
    assert "roster.csv" in err and "'NOPE'" in err
    assert out == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("plan", "--today", TODAY), "give a STUDENT id"),
        (("plan", "--all", "--format", "ics"), "export ics"),
        (("plan", "S1001", "--format", "csv"), "--all"),
        (("plan", "S1001", "--today", "30/11/2026"), "not a date"),
    ],
)
def test_usage_errors_say_what_to_do(args: tuple[str, ...], message: str) -> None:
    """Wrong combinations are refused with exit 2 and a hint."""
    code, _, err = run(*args)
    assert code == 2
    assert message in err


def test_plan_is_deterministic() -> None:
    """Planning the same roster twice gives the same answer."""
    assert run("plan", "--all", "--today", TODAY, "--format", "json") == run(
        "plan", "--all", "--today", TODAY, "--format", "json"
    )


@pytest.mark.parametrize(
    ("student", "line"),
    [
        ("S1004", "parent contacts: not met yet (due 2027-03-29)"),
        ("S1036", "parent contacts: NOT met (was due 2026-11-24)"),
    ],
)
def test_contact_line_says_not_yet_before_the_deadline(student: str, line: str) -> None:
    """`plan` says NOT met only once the contact deadline has passed, as the report does."""
    _, out, _ = run("plan", student, "--today", TODAY)
    assert any(x.startswith(line) for x in out.splitlines())


def test_table_keeps_the_distinguishing_part_of_keys_and_titles() -> None:
    """Long milestone keys keep their quarter and long titles wrap instead of being cut."""
    _, out, _ = run("plan", "S1004", "--today", TODAY)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert "…" not in out
    for quarter in ("2026-27:Q4", "2027-28:Q1", "2027-28:Q2", "2027-28:Q3"):
        assert any(f"progress_report:{quarter}" in line for line in lines), quarter
    text = " ".join(line.strip() for line in lines)
    assert "Send written notice of the meeting to both parents" in text


def test_future_today_is_called_a_preview_on_stderr() -> None:
    """A --today after the real date says on stderr that it is a preview that changes nothing."""
    later = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    for args in (("plan", "S1004"), ("plan", "--all")):
        code, out, err = run(*args, "--today", later)
        assert code == 0, err
        assert f"preview of {later}" in err
        assert "meetings not yet held by then are assumed not held" in err
        assert "this preview changes nothing" in err
        assert "preview" not in out
    _, _, err = run("plan", "S1004", "--today", TODAY)  # in the past: no note
    assert "preview" not in err


def test_future_note_only_after_the_real_date() -> None:
    """future_note is silent for today and earlier days, and names both dates after it."""
    from iepsched.outputs.wording import future_note

    day = dt.date(2026, 12, 4)
    assert future_note(day, day) is None
    assert future_note(day - dt.timedelta(days=1), day) is None
    note = future_note(day + dt.timedelta(days=1), day)
    assert note is not None and "2026-12-05" in note and "today is 2026-12-04" in note

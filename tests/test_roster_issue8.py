"""Issue 8: a damaged roster must cost at most its damaged lines, and never leak other rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from iepsched.core.errors import UserError
from iepsched.inputs.roster import SkippedRow, read_roster
from iepsched.outputs.skipped import skipped_summary

HEADER = (
    "student_id,first_name,last_name,birth_date,building,case_manager_email,lea_email,"
    "gen_ed_emails,provider_emails,decision_maker_1_name,decision_maker_1_email,"
    "decision_maker_1_phone,student_email,last_iep_date,iep_due_date,reeval_due_date\n"
)
SENTINEL = "Zebulonsentinel"  # a name that must never appear in any message


def row(n: int, **cells: str) -> str:
    """One valid roster row for student S{n}, with some cells replaced."""
    values = {
        "student_id": f"S{n}",
        "first_name": SENTINEL if n == 3 else "Pat",
        "last_name": "Example",
        "birth_date": "2012-05-01",
        "building": "North High",
        "case_manager_email": "cm@coop.example.org",
        "lea_email": "lea@district.example.org",
        "gen_ed_emails": "t1@district.example.org",
        "provider_emails": "",
        "decision_maker_1_name": "Parent " + (SENTINEL if n == 3 else "One"),
        "decision_maker_1_email": "parent@example.org",
        "decision_maker_1_phone": "(620) 555-0100",
        "student_email": "",
        "last_iep_date": "2026-01-10",
        "iep_due_date": "",
        "reeval_due_date": "",
    }
    values.update(cells)
    return ",".join(values.values()) + "\n"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Messages name the roster as given; a relative path keeps the expected text short.
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, *rows: str) -> Path:
    roster = Path("roster.csv")
    roster.write_text(HEADER + "".join(rows), encoding="utf-8")
    return roster


def assert_no_leak(messages: list[str]) -> None:
    for message in messages:
        assert SENTINEL not in message
        assert len(message) < 400, message


def test_stray_quote_costs_only_its_line(tmp_path: Path) -> None:
    """One unbalanced quote in a 46-row roster skips its own row; the 45 others are read."""
    rows = [row(n) for n in range(1, 47)]
    rows[1] = row(2, first_name='"Pat')  # line 3: a quote opens the field and never closes
    result = read_roster(write(tmp_path, *rows))
    assert [s.student_id for s in result.students] == [f"S{n}" for n in range(1, 47) if n != 2]
    assert result.skipped == (SkippedRow(line=3, student_id="S2"),)
    (error,) = result.errors
    assert error.where.endswith("roster.csv line 3, column first_name")
    assert "quote" in error.message
    assert_no_leak([str(p) for p in result.problems])


def test_stray_quote_in_last_column_does_not_swallow(tmp_path: Path) -> None:
    """A quote left open at the end of a row does not take the next rows into that field."""
    rows = [row(n) for n in range(1, 6)]
    rows[0] = row(1, reeval_due_date='"2028-01-01')
    result = read_roster(write(tmp_path, *rows))
    assert [s.student_id for s in result.students] == ["S2", "S3", "S4", "S5"]
    assert result.skipped == (SkippedRow(line=2, student_id="S1"),)
    assert_no_leak([str(p) for p in result.problems])


def test_quoted_line_break_is_an_error_naming_its_line(tmp_path: Path) -> None:
    """A field holding a line break is an error for its line; the rows after it are read."""
    rows = [row(1, decision_maker_1_phone='"(620) 555-0100\next 4"'), row(2), row(3)]
    result = read_roster(write(tmp_path, *rows))
    assert [s.student_id for s in result.students] == ["S2", "S3"]
    assert [s.line for s in result.skipped] == [2, 3]
    assert result.skipped[0] == SkippedRow(line=2, student_id="S1")
    assert result.errors[0].where.endswith("line 2, column decision_maker_1_phone")
    assert_no_leak([str(p) for p in result.problems])


def test_wrong_number_of_fields_is_an_error(tmp_path: Path) -> None:
    """A row with more or fewer fields than the header is an error naming its line."""
    rows = [row(1), row(2).replace("North High", "North High,Annex"), row(3), "S4,Pat\n"]
    result = read_roster(write(tmp_path, *rows))
    assert [s.student_id for s in result.students] == ["S1", "S3"]
    assert result.skipped == (SkippedRow(3, "S2"), SkippedRow(5, "S4"))
    assert [p.where for p in result.errors] == ["roster.csv line 3", "roster.csv line 5"]
    assert "17 fields" in result.errors[0].message and "16" in result.errors[0].message
    assert_no_leak([str(p) for p in result.problems])


def test_messages_quote_at_most_the_offending_field_cut(tmp_path: Path) -> None:
    """A bad value is quoted cut to 60 characters; other fields and rows never appear."""
    long_email = "x" * 200 + "@@example.org"
    rows = [row(1, case_manager_email=long_email), row(2), row(3, birth_date="someday")]
    result = read_roster(write(tmp_path, *rows))
    messages = [str(p) for p in result.problems]
    assert_no_leak(messages)
    assert "x" * 61 not in messages[0] and "x" * 50 in messages[0]
    assert "Example" not in " ".join(messages)


def test_huge_field_is_a_clear_error(tmp_path: Path) -> None:
    """A field over 128 KiB (the csv module's limit) is an error naming its line, no traceback."""
    rows = [row(1), row(2, decision_maker_1_phone='"' + "9" * 200_000 + '"'), row(3)]
    result = read_roster(write(tmp_path, *rows))
    assert [s.student_id for s in result.students] == ["S1", "S3"]
    assert [s.line for s in result.skipped] == [3]
    assert result.errors[0].where.startswith("roster.csv line 3")
    assert_no_leak([str(p) for p in result.problems])


def test_field_over_a_thousand_characters_is_an_error(tmp_path: Path) -> None:
    """A field over 1,000 characters is an error naming its line and column."""
    rows = [row(1, last_name="L" * 1001), row(2, last_name="L" * 1000)]
    result = read_roster(write(tmp_path, *rows))
    assert [s.student_id for s in result.students] == ["S2"]
    (error,) = result.errors
    assert error.where == "roster.csv line 2, column last_name"
    assert "1,000" in error.message and "L" * 61 not in error.message


@pytest.mark.parametrize(
    "student_id", ['"S1\r"', '"S\n1"', "S1\x00", "S\x1b1", "S1\x0b", "\ufeffS1", "S\u202e1"]
)
def test_student_id_with_control_characters_is_refused(tmp_path: Path, student_id: str) -> None:
    """A student_id holding a line break or a control or format character is an error."""
    result = read_roster(write(tmp_path, row(1, student_id=student_id), row(2)))
    assert [s.student_id for s in result.students] == ["S2"]
    assert result.errors and result.errors[0].where.startswith("roster.csv line 2")
    assert all(s.line == 2 or s.student_id is None for s in result.skipped)


@pytest.mark.parametrize(
    "column",
    [
        "case_manager_email",
        "lea_email",
        "gen_ed_emails",
        "provider_emails",
        "student_email",
        "decision_maker_1_email",
    ],
)
@pytest.mark.parametrize(
    "email",
    [
        "../../tmp/evil@x.org",
        "a/b@x.org",
        "a\\b@x.org",
        "a..b@x.org",
        "a b@x.org",
        "a\x07b@x.org",
        "cm@localhost",
        "cm@x..org",
        "cm@x.org/../me",
        "cm?x@x.org",
        "cm#x@x.org",
        "cm%2f@x.org",
        ".cm@x.org",
    ],
)
def test_email_must_be_a_plain_address(tmp_path: Path, column: str, email: str) -> None:
    """An address that is not plain (path parts, dot-dot, spaces, no dotted domain) is refused."""
    result = read_roster(write(tmp_path, row(1, **{column: email}), row(2)))
    assert [s.student_id for s in result.students] == ["S2"]
    (error,) = result.errors
    assert error.where == f"roster.csv line 2, column {column}"


@pytest.mark.parametrize(
    "email", ["first.last@d.example.org", "o'brien@x.org", "a+tag@x.org", "a_b-c@sub.x.org"]
)
def test_plain_addresses_are_accepted(tmp_path: Path, email: str) -> None:
    """Ordinary staff addresses still pass the strict check."""
    result = read_roster(write(tmp_path, row(1, case_manager_email=email)))
    assert result.problems == ()


@pytest.mark.parametrize(
    ("cells", "column"),
    [
        ({"birth_date": "1800-01-01"}, "birth_date"),
        ({"birth_date": "1990-01-01"}, "birth_date"),  # 37 at the due date
        ({"iep_due_date": "9999-12-31"}, "iep_due_date"),
        ({"last_iep_date": "9999-12-31"}, "last_iep_date"),
        ({"last_iep_date": "1/1/1900"}, "last_iep_date"),
        ({"last_iep_date": "2026-01-10", "iep_due_date": "2035-01-01"}, "iep_due_date"),
        ({"reeval_due_date": "2099-01-01"}, "reeval_due_date"),
    ],
)
def test_implausible_dates_are_refused(tmp_path: Path, cells: dict[str, str], column: str) -> None:
    """Dates far outside a student's life or the IEP cycle are typos, refused with their column."""
    result = read_roster(write(tmp_path, row(1, **cells), row(2)))
    assert [s.student_id for s in result.students] == ["S2"]
    assert result.errors[0].where == f"roster.csv line 2, column {column}"


def test_dates_checked_against_today_when_given(tmp_path: Path) -> None:
    """With `today`, a birth date in the future or an IEP date years away is refused."""
    roster = write(
        tmp_path,
        row(1, birth_date="2026-12-01", iep_due_date="2027-03-01", last_iep_date=""),
        row(2, iep_due_date="2033-01-01", last_iep_date="", birth_date="2020-01-01"),
        row(3),
    )
    today = dt.date(2026, 9, 1)
    result = read_roster(roster, today=today)
    assert [s.student_id for s in result.students] == ["S3"]
    assert [p.where for p in result.errors] == [
        "roster.csv line 2, column birth_date",
        "roster.csv line 3, column iep_due_date",
    ]
    assert [s.student_id for s in read_roster(roster).students] == ["S1", "S2", "S3"]


def test_skipped_rows_are_typed_and_summarised(tmp_path: Path) -> None:
    """Each skipped row gives its line and its id where readable, and one summary sentence."""
    rows = [row(n) for n in range(1, 12)]
    rows[5] = row(6, birth_date="never")  # line 7
    rows[10] = '"S11,Pat\n'  # line 12: the id itself is inside the open quote
    result = read_roster(write(tmp_path, *rows))
    assert result.skipped == (SkippedRow(7, "S6"), SkippedRow(12, None))
    assert result.skipped_ids == frozenset({"S6"})
    assert result.skipped_lines == (7, 12)
    assert [str(s) for s in result.skipped] == ["line 7 (S6)", "line 12 (id unreadable)"]
    assert skipped_summary(result.skipped) == (
        "2 roster rows were skipped (lines 7, 12; student id 'S6'; 1 with no readable id)"
    )
    assert read_roster(write(tmp_path, row(1))).skipped == ()


def test_roster_without_header_row_does_not_print_its_first_student(tmp_path: Path) -> None:
    """When the first row is a student, the missing-columns error does not list its cells."""
    roster = Path("roster.csv")
    roster.write_text(row(3) + row(4), encoding="utf-8")
    with pytest.raises(UserError) as caught:
        read_roster(roster)
    (problem,) = caught.value.problems
    assert "student row" in problem.message
    assert_no_leak([str(problem)])
    assert "2012-05-01" not in str(problem) and "S3" not in str(problem)


def test_header_with_a_second_bom_is_read(tmp_path: Path) -> None:
    """A BOM doubled by a second tool does not hide the student_id header."""
    Path("roster.csv").write_bytes(b"\xef\xbb\xbf\xef\xbb\xbf" + (HEADER + row(1)).encode())
    assert [s.student_id for s in read_roster(Path("roster.csv")).students] == ["S1"]


def test_header_with_an_open_quote_is_refused_with_its_line(tmp_path: Path) -> None:
    """A stray quote in the header row is one clear error naming the header's line."""
    Path("roster.csv").write_text("\n" + HEADER.replace("building", '"building') + row(1))
    with pytest.raises(UserError) as caught:
        read_roster(Path("roster.csv"))
    assert [p.where for p in caught.value.problems] == ["roster.csv line 2"]


def test_date_messages_do_not_quote_the_other_date(tmp_path: Path) -> None:
    """A date compared with another column names that column, never its value."""
    rows = [
        row(1, last_iep_date="2026-01-10", iep_due_date="2035-01-01"),
        row(2, birth_date="1990-02-03", last_iep_date="2026-01-10"),
    ]
    result = read_roster(write(tmp_path, *rows))
    messages = [str(p) for p in result.errors]
    assert len(messages) == 2
    assert "last_iep_date" in messages[0] and "2026-01-10" not in messages[0]
    assert "2027-01-09" not in messages[1] and "2026-01-10" not in messages[1]

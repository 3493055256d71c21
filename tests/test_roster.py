"""The roster reader (SPEC §2.2): good rows become Students, bad rows are skipped and located."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from iepsched.core.errors import UserError
from iepsched.core.model import DecisionMaker
from iepsched.inputs.roster import COLUMNS, parse_date, read_roster

CORPUS = Path(__file__).parent / "corpus" / "roster"
KNOWN = ", ".join(COLUMNS)


@pytest.fixture(autouse=True)
def _in_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    # Messages name files as the user gave them; run from the corpus so they are short and exact.
    monkeypatch.chdir(CORPUS)


@pytest.mark.parametrize(
    ("name", "problems", "good", "skipped"),
    [
        (
            "bad_date.csv",
            [
                "error: bad_date.csv line 3, column birth_date: '13/45/2010' is not a date; "
                "use YYYY-MM-DD or M/D/YYYY"
            ],
            ["S1"],
            {"S2"},
        ),
        (
            "duplicates.csv",
            [
                "error: duplicates.csv line 2, column student_id: student id 'S1' appears on more "
                "than one row (lines 2, 4); neither row is planned until the roster has one row "
                "per student",
                "error: duplicates.csv line 4, column student_id: student id 'S1' appears on more "
                "than one row (lines 2, 4); neither row is planned until the roster has one row "
                "per student",
            ],
            ["S2"],
            {"S1"},
        ),
        (
            "bad_email.csv",
            [
                # An unquoted comma splits a value into two fields: the row no longer lines up.
                "error: bad_email.csv line 2: has 11 fields but the header has 10; put a value "
                "that holds a comma in double quotes, and keep empty cells as empty fields",
                "error: bad_email.csv line 3, column gen_ed_emails: "
                "'a@x.example.org, b@x.example.org': separate email addresses with ';'",
            ],
            [],
            {"S1", "S2"},
        ),
        (
            "no_due_date.csv",
            [
                "error: no_due_date.csv line 2, column iep_due_date: neither last_iep_date nor "
                "iep_due_date is given; one of them is required"
            ],
            [],
            {"S1"},
        ),
        (
            "status.csv",
            [
                "error: status.csv line 3, column status: 'graduated' is not a status; "
                "use active or exited"
            ],
            ["S1", "S3"],
            {"S2"},
        ),
        (
            "many_errors.csv",
            [
                "error: many_errors.csv line 2, column first_name: first_name is empty; "
                "it is required",
                "error: many_errors.csv line 2, column birth_date: '2012-02-30' is not a date; "
                "use YYYY-MM-DD or M/D/YYYY",
                "error: many_errors.csv line 2, column case_manager_email: 'not-an-email' is not "
                "an email address (expected name@example.org)",
                "error: many_errors.csv line 2, column last_iep_date: '2026-13-01' is not a "
                "date; use YYYY-MM-DD or M/D/YYYY",
            ],
            [],
            {"S1"},
        ),
        (
            "quoted_newline.csv",
            [
                # SPEC §2.2: a field may not hold a line break; each line is reported on its own.
                "error: quoted_newline.csv line 2, column last_name: a double quote opens this "
                "field but does not close on this line; a field may not hold a line break. "
                "Remove the stray quote or close it",
                "error: quoted_newline.csv line 3: has 9 fields but the header has 11; put a "
                "value that holds a comma in double quotes, and keep empty cells as empty fields",
                "error: quoted_newline.csv line 4, column decision_maker_1_name: "
                "decision_maker_1_name is empty but an email or phone is given",
            ],
            [],
            {"S1", "S2"},
        ),
        (
            "born_after_due.csv",
            [
                # A message shows the offending field only, not the due date it is compared to.
                "error: born_after_due.csv line 2, column birth_date: 2027-05-01 is not before "
                "the IEP due date; check the year"
            ],
            [],
            {"S1"},
        ),
        (
            "cp1252.csv",
            [
                "warning: cp1252.csv: is not UTF-8, so it was read as Windows-1252; export the "
                'roster as "CSV UTF-8" to be sure accented names are read correctly'
            ],
            ["S1"],
            set(),
        ),
        (
            "header_only.csv",
            ["warning: header_only.csv: has a header but no student rows"],
            [],
            set(),
        ),
        ("blank_rows.csv", [], ["S1", "S2"], set()),
        ("bom.csv", [], ["S1"], set()),
        ("us_dates.csv", [], ["S1", "S2"], set()),
    ],
)
def test_corpus_rows(name: str, problems: list[str], good: list[str], skipped: set[str]) -> None:
    """Each broken roster reports exactly these messages and keeps exactly the good rows."""
    result = read_roster(Path(name))
    assert [f"{p.severity}: {p}" for p in result.problems] == problems
    assert [s.student_id for s in result.students] == good
    assert result.skipped_ids == frozenset(skipped)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "empty.csv",
            "empty.csv: is empty; expected a header row with the columns student_id, first_name, "
            "last_name, birth_date, building, case_manager_email, lea_email",
        ),
        (
            "missing_columns.csv",
            "missing_columns.csv: missing required columns student_id, first_name, last_name, "
            "birth_date, lea_email (headers found: 'Student ID', 'First', 'Last', 'DOB', "
            "'building', 'case_manager_email'). If your export names them differently, map them "
            'in [roster.columns], e.g. student_id = "Header In Your File"',
        ),
        (
            "undecodable.csv",
            "undecodable.csv: is neither UTF-8 nor Windows-1252 text; export the roster as "
            "UTF-8 CSV",
        ),
        ("nowhere.csv", "nowhere.csv: roster file not found"),
    ],
)
def test_unusable_files(name: str, message: str) -> None:
    """A roster that cannot be used at all is one UserError saying why, not an empty roster."""
    with pytest.raises(UserError) as caught:
        read_roster(Path(name))
    assert [str(p) for p in caught.value.problems] == [message]


def test_header_mapping() -> None:
    """[roster.columns] maps our names to the export's headers; unknown names only warn."""
    columns = {
        "student_id": "StudentNumber",
        "first_name": "given name",
        "last_name": "Family Name",
        "birth_date": "BIRTHDATE",
        "building": "School",
        "case_manager_email": "Case Manager",
        "lea_email": "LEA Rep",
        "iep_due_date": "Annual Review Due",
        "birthdate": "DOB",
    }
    result = read_roster(Path("mapped.csv"), columns)
    assert [str(p) for p in result.problems] == [
        f"[roster.columns] birthdate: 'birthdate' is not a roster column; known: {KNOWN}"
    ]
    (student,) = result.students
    assert (student.student_id, student.due_date) == ("S1", dt.date(2027, 1, 9))


def test_values_are_normalised() -> None:
    """Emails are trimmed and lower-cased, lists split on ';', headers match in any case."""
    result = read_roster(Path("bom.csv"))
    assert result.encoding == "utf-8"
    (student,) = result.students
    assert student.first_name == "José"
    result = read_roster(Path("bad_email.csv"))
    assert result.skipped_lines == (2, 3)


def test_student_fields(tmp_path: Path) -> None:
    """A full row fills every Student field; iep_due_date wins over last_iep_date."""
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "student_id,first_name,last_name,birth_date,grade,building,case_manager_email,lea_email,"
        "gen_ed_emails,provider_emails,decision_maker_1_name,decision_maker_1_email,"
        "decision_maker_1_phone,decision_maker_2_phone,student_email,last_iep_date,iep_due_date,"
        "reeval_due_date,status\n"
        "S9, Ann , Lee ,2/29/2012, 8 ,  North   High ,CM@Coop.Example.org ,lea@d.example.org,"
        '"T1@d.example.org; t2@d.example.org;;t1@d.example.org",slp@c.example.org,'
        "Mo Lee,MO@example.org,(620) 555-0100,,s9@students.example.org,2026-01-10,2027-01-05,"
        "2028-03-01, EXITED \n",
        encoding="utf-8",
    )
    result = read_roster(roster)
    assert result.problems == ()
    (s,) = result.students
    assert s.birth_date == dt.date(2012, 2, 29)
    assert s.building == "North High"
    assert s.grade == "8"
    assert s.case_manager_email == "cm@coop.example.org"
    assert s.gen_ed_emails == ("t1@d.example.org", "t2@d.example.org")
    assert s.provider_emails == ("slp@c.example.org",)
    assert s.decision_makers == (DecisionMaker("Mo Lee", "mo@example.org", "(620) 555-0100"),)
    assert s.student_email == "s9@students.example.org"
    assert (s.last_iep_date, s.iep_due_date) == (dt.date(2026, 1, 10), dt.date(2027, 1, 5))
    assert s.due_date == dt.date(2027, 1, 5)
    assert s.reeval_due_date == dt.date(2028, 3, 1)
    assert (s.status, s.line) == ("exited", 2)


def test_absolute_path_shown_as_given(tmp_path: Path) -> None:
    """A roster outside the working folder is named by its full path in messages."""
    roster = tmp_path / "r.csv"
    roster.write_bytes((CORPUS / "bad_date.csv").read_bytes())
    (problem,) = read_roster(roster).problems
    assert problem.where == f"{roster} line 3, column birth_date"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-09-01", dt.date(2026, 9, 1)),
        ("9/1/2026", dt.date(2026, 9, 1)),
        ("09/01/2026", dt.date(2026, 9, 1)),
        ("2/29/2028", dt.date(2028, 2, 29)),
    ],
)
def test_parse_date(text: str, expected: dt.date) -> None:
    """Both roster date formats are read: YYYY-MM-DD and M/D/YYYY."""
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["2026-9-1", "20260901", "1/9/26", "2/29/2027", "13/45/2010"])
def test_parse_date_rejects(text: str) -> None:
    """Anything else, or a date that does not exist, is refused with the accepted formats."""
    with pytest.raises(ValueError, match=r"is not a date; use YYYY-MM-DD or M/D/YYYY"):
        parse_date(text)


def test_ten_thousand_rows_parse_cleanly(tmp_path: Path) -> None:
    """A 10,000-row roster of varied rows parses with no problem (timed in benchmarks/)."""
    header = (
        "student_id,first_name,last_name,birth_date,building,case_manager_email,lea_email,"
        "gen_ed_emails,provider_emails,decision_maker_1_name,decision_maker_1_email,"
        "last_iep_date,reeval_due_date,status\n"
    )
    # Realistic repetition: 40 case managers, 400 teachers, birth and IEP dates spread out.
    row = (
        "S{n},Pat,Example,{birth},North High,cm{cm}@coop.example.org,lea{lea}@d.example.org,"
        "t{t1}@d.example.org;t{t2}@d.example.org,slp@coop.example.org,Parent One,p{n}@example.org,"
        "{month}/{day}/2026,2027-03-01,active\n"
    )
    roster = tmp_path / "big.csv"
    rows = (
        row.format(
            n=n,
            birth=(dt.date(2008, 1, 1) + dt.timedelta(days=n % 4000)).isoformat(),
            cm=n % 40,
            lea=n % 25,
            t1=n % 400,
            t2=(n * 7) % 400,
            month=n % 12 + 1,
            day=n % 28 + 1,
        )
        for n in range(10_000)
    )
    roster.write_text(header + "".join(rows))
    # Its speed is measured by benchmarks/bench_plan.py (load_roster_calendars_s), not here.
    result = read_roster(roster)
    assert len(result.students) == 10_000 and result.problems == ()

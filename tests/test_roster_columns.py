"""The roster columns added in SPEC §2.2 after the first reader: names, language, addresses,
initial-track and transfer dates, behavior plans."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from iepsched.core.model import DecisionMaker, Student
from iepsched.inputs.roster import read_roster

BASE = {
    "student_id": "S1",
    "first_name": "Pat",
    "last_name": "Example",
    "birth_date": "2012-05-01",
    "building": "North High",
    "case_manager_email": "cm@coop.example.org",
    "lea_email": "lea@district.example.org",
    "last_iep_date": "2026-01-10",
}


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Messages name the roster as given; a relative path keeps the expected text short.
    monkeypatch.chdir(tmp_path)


def read(today: dt.date | None = None, **cells: str) -> tuple[list[Student], list[str]]:
    """Read a one-row roster of BASE with `cells` added or replaced: its students and messages."""
    values = {**BASE, **cells}
    roster = Path("roster.csv")
    quoted = (f'"{v}"' if "," in v else v for v in values.values())
    roster.write_text(",".join(values) + "\n" + ",".join(quoted) + "\n", encoding="utf-8")
    result = read_roster(roster, today=today)
    return list(result.students), [str(p) for p in result.problems]


def only(**cells: str) -> Student:
    """The one student of a good row."""
    students, problems = read(**cells)
    assert problems == []
    (student,) = students
    return student


def error(**cells: str) -> str:
    """The one message of a bad row (which is skipped)."""
    students, problems = read(**cells)
    assert students == []
    (message,) = problems
    return message


def test_new_columns_default_when_absent() -> None:
    """A roster without the new columns reads as before: defaults everywhere."""
    s = only()
    assert (s.case_manager_name, s.home_language, s.has_bip) == ("", "en", False)
    assert (s.initial_consent_date, s.eligibility_date) == (None, None)
    assert (s.transfer_in_date, s.transfer_type) == (None, None)


def test_new_columns_default_when_empty() -> None:
    """Empty cells of the new columns are the defaults, not errors."""
    empty = dict.fromkeys(
        (
            "case_manager_name",
            "home_language",
            "decision_maker_1_address",
            "initial_consent_date",
            "eligibility_date",
            "transfer_in_date",
            "transfer_type",
            "has_bip",
        ),
        "",
    )
    assert only(**empty) == only()


def test_case_manager_name_is_read_and_shown_instead_of_the_email() -> None:
    """case_manager_name is trimmed and spaced; views name the CM by it, else by the email."""
    s = only(case_manager_name="  Dana   Ruiz ")
    assert s.case_manager_name == "Dana Ruiz"
    assert s.case_manager_label == "Dana Ruiz"
    assert only().case_manager_label == "cm@coop.example.org"


@pytest.mark.parametrize(("text", "language"), [("en", "en"), ("es", "es"), (" ES ", "es")])
def test_home_language_values(text: str, language: str) -> None:
    """home_language is en or es in any case."""
    assert only(home_language=text).home_language == language


@pytest.mark.parametrize("text", ["fr", "spanish", "español"])
def test_home_language_other_values_are_refused(text: str) -> None:
    """Any other language is an error that lists the allowed values."""
    assert error(home_language=text) == (
        f"roster.csv line 2, column home_language: {text!r} is not a home language; use en or es"
    )


def test_decision_maker_addresses() -> None:
    """Each decision maker keeps its mailing address, commas and all."""
    s = only(
        decision_maker_1_name="Mo Lee",
        decision_maker_1_address="12 Elm St, Hays, KS 67601",
        decision_maker_2_name="Jo Lee",
        decision_maker_2_address="PO Box 9",
    )
    assert s.decision_makers == (
        DecisionMaker("Mo Lee", address="12 Elm St, Hays, KS 67601"),
        DecisionMaker("Jo Lee", address="PO Box 9"),
    )


def test_decision_maker_address_without_a_name_is_refused() -> None:
    """An address with nobody to send it to is an error on the name column."""
    assert error(decision_maker_2_address="PO Box 9") == (
        "roster.csv line 2, column decision_maker_2_name: decision_maker_2_name is empty but an "
        "address is given"
    )


def test_address_with_a_control_character_is_refused() -> None:
    """An address must be one line of text; a control character is named by its code."""
    assert error(decision_maker_1_name="Mo", decision_maker_1_address="12 Elm\x0bSt") == (
        "roster.csv line 2, column decision_maker_1_address: decision_maker_1_address holds the "
        "control character U+000B; remove it"
    )


@pytest.mark.parametrize("column", ["initial_consent_date", "eligibility_date"])
def test_initial_track_dates_in_both_formats(column: str) -> None:
    """Consent and eligibility dates are read in both roster date formats."""
    assert getattr(only(**{column: "2026-09-14"}), column) == dt.date(2026, 9, 14)
    assert getattr(only(**{column: "9/14/2026"}), column) == dt.date(2026, 9, 14)


@pytest.mark.parametrize("column", ["initial_consent_date", "eligibility_date", "transfer_in_date"])
def test_new_dates_are_checked(column: str) -> None:
    """A new date column refuses a non-date and an implausible year, naming its column."""
    extra = {"transfer_type": "in_state"} if column == "transfer_in_date" else {}
    assert error(**{column: "14/9/2026"}, **extra) == (
        f"roster.csv line 2, column {column}: '14/9/2026' is not a date; use YYYY-MM-DD or M/D/YYYY"
    )
    assert error(**{column: "1926-09-14"}, **extra) == (
        f"roster.csv line 2, column {column}: 1926-09-14 is not a plausible date (expected "
        "2000–2099); check the year"
    )


def test_new_dates_checked_against_today() -> None:
    """With `today`, a consent date years away is refused like the IEP dates."""
    students, problems = read(today=dt.date(2026, 9, 1), initial_consent_date="2032-09-14")
    assert students == []
    assert problems == [
        "roster.csv line 2, column initial_consent_date: 2032-09-14 is 5 years or more from "
        "today (2026-09-01); check the year"
    ]


def test_initial_track_row_needs_no_due_date() -> None:
    """SPEC §2.2: eligibility_date alone starts the initial track; the row is planned."""
    s = only(last_iep_date="", eligibility_date="2026-09-14")
    assert (s.due_date, s.eligibility_date) == (None, dt.date(2026, 9, 14))


def test_row_without_any_start_date_still_needs_a_due_date() -> None:
    """Neither an IEP date nor a consent/eligibility date: the clear error stays."""
    assert error(last_iep_date="") == (
        "roster.csv line 2, column iep_due_date: neither last_iep_date nor iep_due_date is "
        "given; one of them is required"
    )


@pytest.mark.parametrize(
    ("text", "kind"),
    [("in_state", "in_state"), ("out_of_state", "out_of_state"), ("Out_Of_State", "out_of_state")],
)
def test_transfer(text: str, kind: str) -> None:
    """A transfer is a date with its type, in_state or out_of_state in any case."""
    s = only(transfer_in_date="8/20/2026", transfer_type=text)
    assert (s.transfer_in_date, s.transfer_type) == (dt.date(2026, 8, 20), kind)


def test_transfer_type_other_values_are_refused() -> None:
    """Any other transfer type is an error listing the two allowed values."""
    assert error(transfer_in_date="2026-08-20", transfer_type="interstate") == (
        "roster.csv line 2, column transfer_type: 'interstate' is not a transfer type; use "
        "in_state or out_of_state"
    )


def test_transfer_type_without_a_date_is_refused() -> None:
    """A transfer type alone says nothing about when the student came: error on the date."""
    assert error(transfer_type="in_state") == (
        "roster.csv line 2, column transfer_in_date: transfer_in_date is empty but "
        "transfer_type is given; give both or neither"
    )


def test_transfer_date_without_a_type_is_refused() -> None:
    """A transfer date alone does not say which rules apply: error on the type."""
    assert error(transfer_in_date="2026-08-20") == (
        "roster.csv line 2, column transfer_type: transfer_type is empty but transfer_in_date "
        "is given; use in_state or out_of_state"
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", True),
        ("YES", True),
        ("y", True),
        ("True", True),
        ("1", True),
        ("no", False),
        ("N", False),
        ("false", False),
        ("0", False),
    ],
)
def test_has_bip_values(text: str, value: bool) -> None:
    """has_bip reads yes/no, y/n, true/false and 1/0 in any case."""
    assert only(has_bip=text).has_bip is value


@pytest.mark.parametrize("text", ["maybe", "2", "x"])
def test_has_bip_other_values_are_refused(text: str) -> None:
    """Anything else in has_bip is an error saying what to write."""
    assert error(has_bip=text) == (
        f"roster.csv line 2, column has_bip: {text!r} is not yes or no; use yes or no (y/n, "
        "true/false and 1/0 are read too)"
    )


def test_a_row_reports_all_its_bad_new_cells_in_column_order() -> None:
    """Several bad new cells are all reported, ordered by the columns of SPEC §2.2."""
    students, problems = read(has_bip="maybe", home_language="de", transfer_type="in_state")
    assert students == []
    assert [p.split(":")[0] for p in problems] == [
        "roster.csv line 2, column home_language",
        "roster.csv line 2, column transfer_in_date",
        "roster.csv line 2, column has_bip",
    ]


def test_new_columns_are_mapped_by_roster_columns() -> None:
    """[roster.columns] maps every new column to the export's own header."""
    header = (
        "student_id,first_name,last_name,birth_date,building,case_manager_email,lea_email,"
        "last_iep_date,Parent 1,CM Name,Language,Guardian 1 Address,Guardian 2 Address,"
        "Consent Received,Eligible On,Enrolled,Transfer,BIP\n"
    )
    row = (
        "S1,Pat,Example,2012-05-01,North High,cm@coop.example.org,lea@district.example.org,"
        '2026-01-10,Mo Lee,Dana Ruiz,es,"12 Elm St, Hays",,2026-09-01,2026-10-15,2026-08-20,'
        "out_of_state,Y\n"
    )
    Path("mapped.csv").write_text(header + row, encoding="utf-8")
    columns = {
        "decision_maker_1_name": "Parent 1",
        "case_manager_name": "cm name",
        "home_language": "LANGUAGE",
        "decision_maker_1_address": "Guardian 1 Address",
        "decision_maker_2_address": "Guardian 2 Address",
        "initial_consent_date": "Consent Received",
        "eligibility_date": "Eligible On",
        "transfer_in_date": "Enrolled",
        "transfer_type": "Transfer",
        "has_bip": "BIP",
    }
    result = read_roster(Path("mapped.csv"), columns)
    assert result.problems == ()
    (s,) = result.students
    assert s.case_manager_name == "Dana Ruiz" and s.home_language == "es"
    assert s.decision_makers == (DecisionMaker("Mo Lee", address="12 Elm St, Hays"),)
    assert (s.initial_consent_date, s.eligibility_date) == (
        dt.date(2026, 9, 1),
        dt.date(2026, 10, 15),
    )
    assert (s.transfer_in_date, s.transfer_type, s.has_bip) == (
        dt.date(2026, 8, 20),
        "out_of_state",
        True,
    )


def test_sample_roster_uses_the_new_columns() -> None:
    """The sample district's roster exercises each new column and still loads cleanly."""
    sample = Path(__file__).parent.parent / "config" / "roster.csv"
    result = read_roster(sample)
    assert result.problems == ()
    by_id = {s.student_id: s for s in result.students}
    assert by_id["S1017"].home_language == "es"
    assert by_id["S1017"].decision_makers[0].address == "418 Cedar St, Prairie Valley, KS"
    assert by_id["S1006"].has_bip
    assert by_id["S1001"].case_manager_label == "Daniela Rivera"
    assert by_id["S1021"].case_manager_label == "cm.tran@pvsec.example.org"  # no name given
    assert (by_id["S1048"].transfer_type, by_id["S1048"].transfer_in_date) == (
        "out_of_state",
        dt.date(2026, 11, 23),
    )

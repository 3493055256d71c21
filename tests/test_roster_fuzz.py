"""Issue 8, "prove it": whatever bytes the roster holds, the reader answers or refuses clearly.

A roster comes from a spreadsheet export a person may have edited by hand. Any input gives either
a `RosterResult` or a `UserError` (printed without a traceback); every non-blank row after the
header is either planned or reported as skipped; and no message quotes another row.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iepsched.core.errors import UserError
from iepsched.inputs.roster import SHOWN, RosterResult, read_roster

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HEADER = (
    "student_id,first_name,last_name,birth_date,building,case_manager_email,lea_email,"
    "gen_ed_emails,decision_maker_1_name,decision_maker_1_phone,last_iep_date,iep_due_date,notes"
)
SENTINEL = "Quillonsentinel"  # the name on a row that is never damaged


def valid_row(n: int) -> str:
    return (
        f"S{n},Pat,Example,2012-05-01,North High,cm@coop.example.org,lea@d.example.org,"
        f"t@d.example.org,Parent One,(620) 555-0100,2026-01-10,,"
    )


SENTINEL_ID = "Z999"
SENTINEL_ROW = (
    valid_row(0).replace("S0", SENTINEL_ID).replace("Pat", SENTINEL).replace("Parent One", SENTINEL)
)

# Pieces that break CSV readers: quotes, separators, control and format characters, cp1252-only
# punctuation, a BOM, long runs (over 1,000 characters, over the csv module's 128 KiB limit).
NASTY = st.sampled_from(
    [
        '"',
        '""',
        ",",
        ";",
        "\x00",
        "\x0b",
        "\x1b",
        "\x85",
        "\u2028",
        "\ufeff",
        "\u202e",
        "“",
        "é",
        "@",
        "..",
        "/",
        "9999-12-31",
        "1/1/1800",
        "x" * 1_001,
        "9" * 140_000,
    ]
)
FREE_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"))
PIECE = st.one_of(NASTY, FREE_TEXT)


@st.composite
def damaged_row(draw: st.DrawFn, n: int) -> str:
    """Row `n`, valid or with a few pieces inserted anywhere (never a line break)."""
    row = valid_row(n)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(row)))
        row = row[:at] + draw(PIECE) + row[at:]
    return row


@st.composite
def rosters(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A roster with our header, rows and the sentinel row, joined by assorted line endings."""
    count = draw(st.integers(0, 8))
    rows = [draw(damaged_row(n)) for n in range(1, count + 1)]
    rows.insert(draw(st.integers(0, count)), SENTINEL_ROW)
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = ending.join([HEADER, *rows]) + draw(st.sampled_from(["", ending]))
    bom = draw(st.sampled_from([b"", b"\xef\xbb\xbf"]))
    return bom + text.encode("utf-8"), rows


def read(data: bytes) -> RosterResult:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "roster.csv"
        path.write_bytes(data)
        return read_roster(path)


def row_messages(result: RosterResult) -> list[str]:
    return [p.message for p in result.problems if " line " in p.where]


@FUZZ
@given(rosters())
def test_every_row_is_planned_or_reported(roster: tuple[bytes, list[str]]) -> None:
    """Each non-blank row is a student or a skipped line; nothing is lost, nothing leaks."""
    data, rows = roster
    result = read(data)
    planned = {s.line for s in result.students}
    skipped = set(result.skipped_lines)
    assert not planned & skipped
    damaged = [row for row in rows if row != SENTINEL_ROW]
    for line, row in enumerate(rows, start=2):
        if any(not c.isspace() and c not in '",' for c in row):
            assert line in planned | skipped, (line, row[:80])
        if row == SENTINEL_ROW and not any(SENTINEL_ID in r for r in damaged):
            assert line in planned  # a damaged row never takes a good one down with it
    for problem in result.problems:
        assert SENTINEL not in str(problem)
    for message in row_messages(result):
        assert len(message) <= 300 + SHOWN, message[:400]


HEADER_WORDS = st.sampled_from(
    [
        *("student_id", "First_Name", " last_name ", "birth_date", "building"),
        *("case_manager_email", "lea_email", "iep_due_date", "last_iep_date", "status"),
        *('"', "", "\ufeff", "x" * 2_000),
    ]
)
RAW_BYTES = st.sampled_from(
    [
        *(
            b'"',
            b",",
            b"\r",
            b"\n",
            b"\r\n",
            b"\x00",
            b"\x93",
            b"\x81",
            b"\xef\xbb\xbf",
            b"\xff\xfe",
        ),
        *(b"S1", b"2012-05-01", b"cm@coop.example.org", b"9" * 140_000),
    ]
)


@st.composite
def any_bytes(draw: st.DrawFn) -> bytes:
    """Random headers, then a soup of CSV-breaking bytes, cp1252 bytes, BOMs and real values."""
    # Half the time our own header, so that the rows after it are read rather than refused.
    header = draw(st.one_of(st.just(HEADER), st.lists(HEADER_WORDS, max_size=12).map(",".join)))
    body = b"".join(draw(st.lists(st.one_of(RAW_BYTES, st.binary(max_size=20)), max_size=40)))
    return draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + header.encode() + b"\n" + body


@FUZZ
@given(st.one_of(any_bytes(), st.binary(max_size=300)))
def test_any_bytes_give_a_result_or_a_user_error(data: bytes) -> None:
    """Arbitrary bytes never raise anything but UserError, and row messages stay short."""
    try:
        result = read(data)
    except UserError as exc:
        assert exc.problems
        return
    assert set(result.skipped_lines).isdisjoint(s.line for s in result.students)
    for message in row_messages(result):
        assert len(message) <= 300 + SHOWN, message[:400]

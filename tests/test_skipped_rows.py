"""No student disappears silently (SPEC §2.2, issue 8): every command that plans the roster names
the skipped rows on stderr, puts them in its output and exits 1 after writing it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hostile import copy_sample

import iepsched.cli.export_cmd
import iepsched.cli.plan_cmd
import iepsched.cli.report_cmd  # noqa: F401  (each registers its commands on main)
from iepsched.cli import main
from iepsched.cli.skipped import skipped_notice
from iepsched.core.model import SkippedRow

TODAY = "2026-11-30"
SECRET_PHONE = "(620) 555-9999"  # another field of the bad row: never quoted in any message


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample district with two bad rows appended: one with a readable id, one without."""
    monkeypatch.delenv("IEPSCHED_CONFIG", raising=False)
    config = copy_sample(tmp_path)
    roster = config.parent / "roster.csv"
    text = roster.read_text("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    header, first = rows[0], rows[1]
    bad = dict(zip(header, first, strict=True))
    bad |= {
        "student_id": "S9001",
        "birth_date": "not-a-date",
        "decision_maker_1_phone": SECRET_PHONE,
    }
    unreadable = dict(zip(header, first, strict=True)) | {"student_id": ""}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writerow(bad)
    writer.writerow(unreadable)
    roster.write_text(text + out.getvalue(), encoding="utf-8")
    return config


BAD_LINE, UNREADABLE_LINE = 53, 54  # the sample roster has a header and 51 rows


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)


def assert_notice(result: Result) -> None:
    assert result.exit_code == 1, result.output
    assert (
        f"2 roster rows were skipped (lines {BAD_LINE}, {UNREADABLE_LINE}; student id 'S9001'"
        in (result.stderr)
    )
    assert SECRET_PHONE not in result.stderr and "Thornbury" not in result.stderr


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_plan_all_names_skipped_rows_and_exits_1(config: Path, fmt: str) -> None:
    """`plan --all` prints its rows, then names the skipped rows on stderr and exits 1."""
    result = run(config, "plan", "--all", "--format", fmt, "--today", TODAY)
    assert_notice(result)
    assert "S1001" in result.stdout


def test_plan_one_student_names_other_skipped_rows(config: Path) -> None:
    """`plan S1001` answers for S1001, and still says the roster lost two rows (exit 1)."""
    result = run(config, "plan", "S1001", "--today", TODAY)
    assert_notice(result)
    assert result.stdout.startswith("S1001")
    again = run(config, "plan", "S1001", "--today", TODAY)  # the cached answer says it too
    assert_notice(again)
    assert again.stdout == result.stdout


def test_plan_of_a_skipped_student_is_an_error(config: Path) -> None:
    """`plan S9001` (whose own row was skipped) is an error that says why (exit 2)."""
    result = run(config, "plan", "S9001", "--today", TODAY)
    assert result.exit_code == 2
    assert "was skipped" in result.stderr


def test_report_puts_skipped_rows_in_html_and_csv(config: Path, tmp_path: Path) -> None:
    """`report` writes both files, with the skipped rows in each, then exits 1."""
    html, compliance = tmp_path / "r.html", tmp_path / "c.csv"
    result = run(config, "report", "--html", str(html), "--csv", str(compliance), "--today", TODAY)
    assert_notice(result)
    page = html.read_text("utf-8")
    top = page[: page.index('id="summary"')]  # prominent: before the counts
    assert "2 roster rows were skipped" in top
    assert f"line {BAD_LINE}" in top and "S9001" in top and f"line {UNREADABLE_LINE}" in top
    assert SECRET_PHONE not in page
    rows = list(csv.DictReader(io.StringIO(compliance.read_text("utf-8-sig"))))
    skipped = [r for r in rows if r["student_status"] == "skipped_row"]
    assert "S9001" in {r["student_id"] for r in skipped}
    lines = {r["milestone"] for r in skipped}
    assert {f"roster line {BAD_LINE}", f"roster line {UNREADABLE_LINE}"} <= lines
    assert rows[: len(skipped)] == skipped  # first, where a coordinator looks
    assert all(r["last_name"] == "" and r["first_name"] == "" for r in skipped)


def test_export_names_skipped_rows_and_exits_1(config: Path, tmp_path: Path) -> None:
    """`export ics` writes its calendars, then names the skipped rows and exits 1."""
    out = tmp_path / "ics"
    result = run(config, "export", "ics", "--out", str(out), "--today", TODAY)
    assert_notice(result)
    assert len(list(out.iterdir())) == 7


def test_one_bad_row_pairs_its_line_and_id(config: Path, tmp_path: Path) -> None:
    """With one bad row, the CSV row carries both its id and its line; stderr names both."""
    roster = config.parent / "roster.csv"
    roster.write_text("\n".join(roster.read_text("utf-8").splitlines()[:-1]) + "\n", "utf-8")
    compliance = tmp_path / "c.csv"
    result = run(config, "report", "--csv", str(compliance), "--today", TODAY)
    assert result.exit_code == 1
    assert f"1 roster row was skipped (line {BAD_LINE}; student id 'S9001')" in result.stderr
    rows = list(csv.DictReader(io.StringIO(compliance.read_text("utf-8-sig"))))
    assert [
        (r["student_id"], r["milestone"]) for r in rows if r["student_status"] == "skipped_row"
    ] == [("S9001", f"roster line {BAD_LINE}")]


def test_clean_roster_says_nothing() -> None:
    """No skipped row, no notice (the commands then exit 0 as before)."""
    assert skipped_notice(()) == ""


def test_notice_cuts_a_long_id_to_60_characters() -> None:
    """A hostile id is quoted escaped and cut: a message never carries a whole long field."""
    notice = skipped_notice((SkippedRow(7, "X" * 500 + "\n"),))
    assert "X" * 59 + "…" in notice and "X" * 60 not in notice
    assert "\n" not in notice.rstrip("\n")

"""`iepsched export ics` and `iepsched report` on the sample district: files exist and parse."""

from __future__ import annotations

import csv
import datetime as dt
import io
from html.parser import HTMLParser
from pathlib import Path

import pytest
import vobject
from cli_helpers import TODAY, cli, state_file
from hostile import NAME_CELLS, hostile_config

from iepsched.outputs.report import COMPLIANCE_COLUMNS
from iepsched.state.store import StateStore


def sequences(path: Path) -> dict[str, int]:
    (cal,) = vobject.readComponents(path.read_text("utf-8"))
    return {e.uid.value: int(e.sequence.value) for e in cal.vevent_list}


def test_export_preview_writes_parsable_files_per_case_manager(
    sample_config: Path, tmp_path: Path
) -> None:
    """Without state: one file per case manager, paths on stdout, a preview note, no state."""
    out = tmp_path / "ics"
    result = cli(sample_config, "export", "ics", "--out", str(out), "--today", TODAY)
    assert result.exit_code == 0, result.output
    printed = [Path(line) for line in result.stdout.splitlines()]
    assert sorted(printed) == sorted(out.iterdir())
    assert len(printed) == 7
    assert "wrote 7 files for 49 students" in result.stderr
    assert "preview: no sync state" in result.stderr
    assert not state_file(sample_config).exists()
    for path in printed:
        (cal,) = vobject.readComponents(path.read_text("utf-8"))
        assert cal.vtimezone.tzid.value == "America/Chicago"
        assert set(sequences(path).values()) == {0}


@pytest.mark.parametrize(("by", "count"), [("building", 5), ("all", 1)])
def test_export_by_building_and_all(
    sample_config: Path, tmp_path: Path, by: str, count: int
) -> None:
    """--by building writes one file per building, --by all a single all.ics."""
    result = cli(
        sample_config, "export", "ics", "--out", str(tmp_path / by), "--by", by, "--today", TODAY
    )
    assert result.exit_code == 0
    files = sorted((tmp_path / by).iterdir())
    assert len(files) == count
    if by == "all":
        assert [f.name for f in files] == ["all.ics"]
    else:
        assert "prairie-valley-high.ics" in [f.name for f in files]


def test_export_with_state_keeps_sequence_stable(tmp_path: Path) -> None:
    """With a state file, SEQUENCE is tracked there: an unchanged re-export keeps every one."""
    config = hostile_config(tmp_path)  # four students: the state path is what matters here
    StateStore(state_file(config)).close()
    out = tmp_path / "ics"
    first = cli(config, "export", "ics", "--out", str(out), "--by", "all", "--today", TODAY)
    assert "preview" not in first.stderr
    before = sequences(out / "all.ics")
    cli(config, "export", "ics", "--out", str(out), "--by", "all", "--today", TODAY)
    assert sequences(out / "all.ics") == before
    with StateStore(state_file(config)) as store:
        assert {store.ics_sequence(uid, "changed") for uid in before} == {1}
    cli(config, "export", "ics", "--out", str(out), "--by", "all", "--today", TODAY)
    assert set(sequences(out / "all.ics").values()) == {2}  # content differs from "changed"


def test_export_refuses_a_file_as_out(sample_config: Path, tmp_path: Path) -> None:
    """--out naming an existing file is a usage error, not a traceback."""
    target = tmp_path / "file.txt"
    target.write_text("x")
    result = cli(sample_config, "export", "ics", "--out", str(target), "--today", TODAY)
    assert result.exit_code == 2


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def test_report_writes_html_and_csvs(sample_config: Path, tmp_path: Path) -> None:
    """--html, --csv and --contacts-csv write parsable files and a status summary."""
    cli(
        sample_config,
        "contact",
        "log",
        "S1001",
        "--method",
        "phone",
        "--with",
        "R",
        "--outcome",
        "reached",
        "--at",
        "2026-11-20",
        "--today",
        TODAY,
    )
    html = tmp_path / "report.html"
    compliance = tmp_path / "compliance.csv"
    contacts = tmp_path / "contacts.csv"
    result = cli(
        sample_config,
        "report",
        "--html",
        str(html),
        "--csv",
        str(compliance),
        "--contacts-csv",
        str(contacts),
        "--today",
        TODAY,
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"wrote {html}",
        f"wrote {compliance}",
        f"wrote {contacts}",
    ]
    assert (
        "49 students as of 2026-11-30: "
        "2 overdue, 1 infeasible, 1 unplanned, 13 at_risk, 32 on_track"
    ) in result.stderr
    checker = _Checker()
    checker.feed(html.read_text("utf-8"))
    assert checker.tags.count("article") == 49
    assert "S1001" in html.read_text("utf-8")
    rows = list(csv.reader(io.StringIO(compliance.read_text("utf-8-sig"), newline="")))
    assert rows[0] == list(COMPLIANCE_COLUMNS)
    assert {r[0] for r in rows[1:]} == {f"S{n}" for n in range(1001, 1052)} - {"S1012", "S1043"}
    logged = list(csv.reader(io.StringIO(contacts.read_text("utf-8-sig"), newline="")))
    assert [r[0] for r in logged[1:]] == ["S1001"]


def test_report_requires_an_output(sample_config: Path) -> None:
    """report with no output option is a usage error that says what to give."""
    result = cli(sample_config, "report", "--today", TODAY)
    assert result.exit_code == 2
    assert "--html FILE, --csv FILE or --contacts-csv FILE" in result.stderr


def test_report_missing_folder_is_a_clear_error(sample_config: Path, tmp_path: Path) -> None:
    """An output in a folder that does not exist is named, with exit 2 and no traceback."""
    result = cli(
        sample_config,
        "report",
        "--html",
        str(tmp_path / "nope" / "r.html"),
        "--csv",
        str(tmp_path / "gone" / "c.csv"),
        "--today",
        TODAY,
    )
    assert result.exit_code == 2
    assert "nope does not exist" in result.stderr and "gone does not exist" in result.stderr


def test_report_preview_creates_no_state(sample_config: Path, tmp_path: Path) -> None:
    """Without a state file the report is a preview and creates none."""
    html = tmp_path / "r.html"
    result = cli(sample_config, "report", "--html", str(html), "--today", TODAY)
    assert "preview" in result.stderr
    assert "Preview: no sync has run yet" in html.read_text("utf-8")
    assert not state_file(sample_config).exists()


def test_hostile_roster_through_every_output(tmp_path: Path) -> None:
    """Hostile names survive every output: escaped in HTML, neutralised in CSV, absent in ICS."""
    config = hostile_config(tmp_path)
    html, comp = tmp_path / "r.html", tmp_path / "c.csv"
    assert (
        cli(config, "report", "--html", str(html), "--csv", str(comp), "--today", TODAY).exit_code
        == 0
    )
    assert (
        cli(
            config, "export", "ics", "--out", str(tmp_path / "ics"), "--by", "all", "--today", TODAY
        ).exit_code
        == 0
    )
    page = html.read_text("utf-8")
    assert "<script>alert(1)</script>" not in page
    cells = [c for r in csv.reader(io.StringIO(comp.read_text("utf-8-sig"), newline="")) for c in r]
    assert '\'=HYPERLINK("http://x")' in cells and '=HYPERLINK("http://x")' not in cells
    ics = (tmp_path / "ics" / "all.ics").read_text("utf-8")
    for cell in NAME_CELLS:
        assert cell not in ics


def test_today_defaults_to_the_district_clock(sample_config: Path, tmp_path: Path) -> None:
    """Without --today the report is as of today in the district's time zone."""
    from zoneinfo import ZoneInfo

    html = tmp_path / "r.html"
    before = dt.datetime.now(ZoneInfo("America/Chicago")).date()
    assert cli(sample_config, "report", "--html", str(html)).exit_code == 0
    after = dt.datetime.now(ZoneInfo("America/Chicago")).date()
    page = html.read_text("utf-8")
    assert any(f"as of <strong>{d.isoformat()}</strong>" in page for d in (before, after))


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_only_for_a_watching_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    """The bar shows only on a terminal without -q; either way every item passes through."""
    from iepsched.cli.progress import progress, show_progress

    assert show_progress(0, _Stream(tty=True))
    assert not show_progress(-1, _Stream(tty=True))
    assert not show_progress(1, _Stream(tty=False))
    assert list(progress(range(5), label="x", length=5, enabled=False)) == [0, 1, 2, 3, 4]
    assert capsys.readouterr().err == ""
    assert list(progress(range(5), label="writing", length=5, enabled=True)) == [0, 1, 2, 3, 4]


def test_report_for_a_caseload(sample_config: Path, tmp_path: Path) -> None:
    """`report --case-manager EMAIL --building NAME` writes the HTML and CSVs for that caseload
    only, names it in the page, and counts only its students."""
    html_path, csv_path = tmp_path / "r.html", tmp_path / "c.csv"
    result = cli(
        sample_config,
        *("report", "--html", str(html_path), "--csv", str(csv_path)),
        *("--case-manager", "CM.RIVERA@pvsec.example.org", "--building", "prairie valley high"),
        *("--today", TODAY),
    )
    assert result.exit_code == 0, result.output
    page = html_path.read_text("utf-8")
    assert "Caseload: <strong>case manager Daniela Rivera (cm.rivera@pvsec.example.org), " in page
    articles = page.count('<article class="student flt"')
    assert 0 < articles < 46
    assert page.count('data-cm="cm.rivera@pvsec.example.org"') >= articles
    assert 'data-cm="cm.tran@pvsec.example.org"' not in page
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text("utf-8-sig"))))
    assert len({r["student_id"] for r in rows}) == articles
    assert result.stderr.startswith(f"{articles} students of case manager Daniela Rivera")


def test_report_unknown_caseload_writes_nothing(sample_config: Path, tmp_path: Path) -> None:
    """An unknown building is refused (exit 2, the known ones listed) before writing a file."""
    html_path = tmp_path / "r.html"
    result = cli(
        sample_config,
        "report",
        "--html",
        str(html_path),
        "--building",
        "Bluestem",
        "--today",
        TODAY,
    )
    assert result.exit_code == 2
    assert "--building: 'Bluestem' is not on the roster; known: Bluestem High, " in result.stderr
    assert not html_path.exists()


def test_report_of_a_future_day_says_it_is_a_preview(sample_config: Path, tmp_path: Path) -> None:
    """A --today after the real date puts a banner in the report and a note on stderr: meetings
    not yet held by then count as not held, and the preview changes nothing."""
    later = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    html_path = tmp_path / "r.html"
    result = cli(sample_config, "report", "--html", str(html_path), "--today", later)
    assert result.exit_code == 0, result.output
    page = html_path.read_text("utf-8")
    assert f'<p class="note future">Preview of {later}' in page
    assert "meetings not yet held by then are assumed not held" in page
    assert "this preview changes nothing" in page
    assert f"preview of {later}" in result.stderr
    past = cli(sample_config, "report", "--html", str(html_path), "--today", TODAY)
    assert 'class="note future"' not in html_path.read_text("utf-8")
    assert "preview of" not in past.stderr

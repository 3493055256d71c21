"""The "Meetings held" section follows the report's filters in headless Chromium (SPEC §6).

Skipped where `chromium` is not installed and CI is unset, like tests/test_report_browser.py.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from browser import find_chromium, render

from iepsched.core.model import Delay
from iepsched.core.timeliness import HeldMeeting, timeliness
from iepsched.inputs.config import load_config
from iepsched.outputs.report import html_report
from iepsched.service.district import load_district, plan_with_state

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 30)
D = dt.date

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> str:
    return find_chromium()


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample report with 2025-26 meetings held: S1001 (Rivera) late with a reason, S1002
    (Rivera) timely, S1009 (Okafor) late without a reason."""
    district = load_district(load_config(ROOT / "config" / "iepsched.toml"))
    plan = plan_with_state(district, today=TODAY)
    held = [
        HeldMeeting("S1001", "a", D(2025, 12, 15), D(2026, 1, 7)),
        HeldMeeting("S1002", "a", D(2026, 2, 15), D(2026, 2, 9)),
        HeldMeeting("S1009", "a", D(2026, 1, 26), D(2026, 2, 2)),
    ]
    years = timeliness(held, [Delay("S1001", D(2025, 12, 10), "LEA away", D(2026, 1, 7))])
    text = html_report(
        plan,
        district_name=district.config.district.name,
        today=TODAY,
        contacts_by_student={},
        generated_at=dt.datetime(2026, 11, 30, 6, 0, tzinfo=ZoneInfo("America/Chicago")),
        held=years,
        students={s.student_id: s for s in district.roster.students},
    )
    path = tmp_path_factory.mktemp("held") / "report.html"
    path.write_text(text, encoding="utf-8")
    return path


def _dom(chromium: str, profile: Path, url: str) -> str:
    return render(chromium, profile, "--dump-dom", url).stdout


def _counts(dom: str) -> tuple[str, str, str]:
    found = re.search(
        r'data-held="held">(\d+)</span> · timely: <span data-held="timely">(\d+)</span> '
        r'· late: <span data-held="late">(\d+)</span>',
        dom,
    )
    assert found is not None
    return found.group(1), found.group(2), found.group(3)


def _late_rows_shown(dom: str) -> list[str]:
    return re.findall(r'<tr class="flt-cl"(?![^>]*hidden)[^>]*><td>(S\d+)', dom)


def test_held_counts_and_late_rows_follow_the_case_manager(
    chromium: str, report_file: Path, tmp_path: Path
) -> None:
    """Everyone: 3 held, 1 timely, 2 late; Okafor's caseload: 1 held, late, only S1009 listed;
    a status filter does not hide held meetings (they have no status of their own)."""
    everyone = _dom(chromium, tmp_path / "p1", report_file.as_uri())
    assert _counts(everyone) == ("3", "1", "2")
    assert _late_rows_shown(everyone) == ["S1001", "S1009"]
    url = report_file.as_uri() + "?cm=cm.okafor%40pvsec.example.org&status=on_track"
    okafor = _dom(chromium, tmp_path / "p2", url)
    assert _counts(okafor) == ("1", "0", "1")
    assert _late_rows_shown(okafor) == ["S1009"]

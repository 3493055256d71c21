"""The sample district's HTML report renders in headless Chromium, on screen and in print.

Skipped only where `chromium` is not installed AND the CI variable is unset; in CI a missing
browser fails the test. The screenshot is kept in test-artifacts/ (gitignored) for a human look.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from iepsched.inputs.config import load_config
from iepsched.outputs.report import html_report
from iepsched.service.district import load_district, plan_with_state

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
TODAY = dt.date(2026, 11, 30)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; CI must install it (apt-get install chromium)")
        pytest.skip("chromium is not installed (install it to run the browser test)")
    return found


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    district = load_district(load_config(ROOT / "config" / "iepsched.toml"))
    plan = plan_with_state(district, today=TODAY)
    text = html_report(
        plan,
        district_name=district.config.district.name,
        today=TODAY,
        contacts_by_student={},
        generated_at=dt.datetime(2026, 11, 30, 6, 0, tzinfo=ZoneInfo("America/Chicago")),
    )
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(text, encoding="utf-8")
    return path


def render(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_screenshot_at_desktop_width(chromium: str, report_file: Path, tmp_path: Path) -> None:
    """Chromium renders the report at 1280 px; the screenshot is kept as a test artifact."""
    shot = tmp_path / "report.png"
    result = render(
        chromium,
        tmp_path / "profile",
        "--window-size=1280,2000",
        "--hide-scrollbars",
        f"--screenshot={shot}",
        report_file.as_uri(),
    )
    assert shot.exists(), result.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(PNG_MAGIC)
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 2000)
    assert len(data) > 50_000  # a blank page compresses to a few kB
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "report-desktop.png")


def test_print_to_pdf(chromium: str, report_file: Path, tmp_path: Path) -> None:
    """The print render produces a real multi-page PDF (print stylesheet applied)."""
    pdf = tmp_path / "report.pdf"
    result = render(
        chromium,
        tmp_path / "profile",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf}",
        report_file.as_uri(),
    )
    assert pdf.exists(), result.stderr[-2000:]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(data) > 50_000
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
    assert pages >= 10  # 46 timelines cannot fit on a few pages
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(pdf, ARTIFACTS / "report-print.pdf")


def test_filters_run_in_the_browser(chromium: str, report_file: Path, tmp_path: Path) -> None:
    """The inline script runs: the filter bar appears and ?status=at_risk hides everyone else."""
    everyone = render(chromium, tmp_path / "p1", "--dump-dom", report_file.as_uri()).stdout
    assert '<span id="f-count" aria-live="polite">46 of 46 students shown</span>' in everyone
    assert '<section id="filters" class="filters" aria-label="Filters">' in everyone
    url = report_file.as_uri() + "?status=at_risk&building=Bluestem+High"
    dom = render(chromium, tmp_path / "p2", "--dump-dom", url).stdout
    assert "2 of 46 students shown" in dom
    shown = re.findall(r'<article class="student flt" id="s-(\w+)"(?![^>]*hidden)', dom)
    assert sorted(shown) == ["S1028", "S1030"]

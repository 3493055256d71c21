"""A tiny district whose students have hostile names, for the output-safety tests.

The names try every way a roster value could break an output: a spreadsheet formula, markup,
quotes and commas, a tab, and leading characters a spreadsheet treats as a formula.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CONFIG = ROOT / "config"
TODAY = "2026-11-30"

# (student_id, first_name, last_name, iep_due_date)
HOSTILE: tuple[tuple[str, str, str, str], ...] = (
    ("H001", '=HYPERLINK("http://x")', "<script>alert(1)</script>", "2026-12-15"),
    ("H002", "Seán", 'O\'Brien, "Jr"', "2027-02-10"),
    ("H003", "Ann\tMarie", "@Evil", "2027-03-10"),
    ("H004", "+1 Zoë", "-1+2", "2027-04-14"),
)
NAME_CELLS: tuple[str, ...] = tuple(cell for row in HOSTILE for cell in row[1:3])


def roster_text() -> str:
    """The hostile roster as CSV text (the csv module quotes what needs quoting)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "student_id",
            "first_name",
            "last_name",
            "birth_date",
            "building",
            "case_manager_email",
            "lea_email",
            "iep_due_date",
        ]
    )
    for sid, first, last, due in HOSTILE:
        writer.writerow(
            [
                sid,
                first,
                last,
                "2011-05-01",
                "Prairie Valley High",
                "cm.rivera@pvsec.example.org",
                "j.albrecht@usd901.example.org",
                due,
            ]
        )
    return buffer.getvalue()


def copy_sample(tmp_path: Path) -> Path:
    """A private copy of the sample config (its state file lands under tmp); the config path."""
    target = tmp_path / "config"
    shutil.copytree(SAMPLE_CONFIG, target, ignore=shutil.ignore_patterns("state", "*.sqlite*"))
    return target / "iepsched.toml"


def hostile_config(tmp_path: Path) -> Path:
    """The sample config with the hostile roster in place of the sample one; the config path."""
    config = copy_sample(tmp_path)
    (config.parent / "roster.csv").write_text(roster_text(), encoding="utf-8")
    return config

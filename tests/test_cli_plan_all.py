"""`iepsched plan --all`: the roster table, its --sort orders, and the CSV and JSON forms."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import SAMPLE, TODAY, cli

STATUS_ORDER = ["overdue", "infeasible", "unplanned", "at_risk", "on_track"]
COLUMNS = ["student", "type", "due", "meeting", "state", "status", "next", "milestone", "date"]
ACTIVE = sorted({f"S{n}" for n in range(1001, 1052)} - {"S1012", "S1043"})  # two have exited
# SPEC §3.6: one row per open cycle. At TODAY the 49 active students have 49 first cycles (46
# annual, S1049/S1050 eligibility, S1051 initial IEP) and 16 more: 14 reevaluations (combined or
# separate, each its own row) and the transfers of S1047 and S1048, who also have an annual cycle.
ROWS = 49 + 16
# The table's type column (8 wide) for each JSON cycle_type.
SHORT = {
    "annual": "annual",
    "eligibility": "elig",
    "initial_iep": "initial",
    "amendment": "amend",
    "reevaluation": "reeval",
    "transfer": "transfer",
}
ROW_FIELDS = [
    "student_id",
    "due_date",
    "meeting",
    "meeting_state",
    "status",
    "next_milestone",
    "next_date",
    "case_manager_email",
    "building",
    "cycle_type",
    "cycle_id",
    "purposes",
]


def plan_all(*args: str, config: Path = SAMPLE) -> str:
    """stdout of `plan --all --today TODAY ARGS`, which must exit 0."""
    result = cli(config, "plan", "--all", "--today", TODAY, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def json_rows(*args: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(plan_all("--format", "json", *args))
    return rows


def table_ids(out: str) -> list[str]:
    """The student ids of the table's rows, in order (between the rule and the blank line)."""
    lines = out.splitlines()
    return [line.split()[0] for line in lines[2 : lines.index("")]]


def is_sorted_by_status(rows: list[dict[str, Any]]) -> bool:
    keys = [(STATUS_ORDER.index(r["status"]), r["due_date"], r["student_id"]) for r in rows]
    return keys == sorted(keys)


def test_table_has_a_header_a_rule_a_row_per_cycle_and_a_summary() -> None:
    """The table: header, a rule as wide, one row per open cycle of every active student, then
    the students by status and the other open cycles by type."""
    lines = plan_all().splitlines()
    assert lines[0].split() == COLUMNS
    assert lines[1] == "-" * len(lines[0])
    ids = table_ids("\n".join(lines))
    assert sorted(set(ids)) == ACTIVE and len(ids) == ROWS
    assert lines[-3] == ""
    assert lines[-2] == "49 students: 13 at_risk, 1 infeasible, 32 on_track, 2 overdue, 1 unplanned"
    assert lines[-1] == "16 more open cycles: 14 reeval, 2 transfer"


def test_table_rows_agree_with_the_json() -> None:
    """Each table row shows the same cycle type, due date, meeting, state, status and next
    milestone as the JSON row in the same place (the two share the sort)."""
    rows = json_rows()
    lines = plan_all().splitlines()
    table = lines[2 : lines.index("")]
    assert len(table) == len(rows) == ROWS
    for line, row in zip(table, rows, strict=True):
        assert line[:10].strip() == row["student_id"]
        assert line[11:19].strip() == SHORT[row["cycle_type"]]
        assert line[20:30] == row["due_date"]
        assert line[31:47].strip() == (row["meeting"] or "—")
        assert line[48:56].strip() == (row["meeting_state"] or "—")
        assert line[57:67].strip() == row["status"]
        assert line[68:89].strip() == row["next_milestone"][:21]
        assert line[90:].strip() == row["next_date"]


def test_unplanned_student_shows_dashes_for_the_meeting() -> None:
    """A student with no placeable meeting shows — for meeting and state, not a blank."""
    lines = plan_all().splitlines()
    (row,) = [line for line in lines if line.startswith("S1020 ")]
    assert row.split()[:6] == ["S1020", "annual", "2028-08-20", "—", "—", "unplanned"]


def test_table_fits_100_columns(sample_config: Path) -> None:
    """Every line of the table fits 100 columns, also with an overlong student id."""
    assert max(len(line) for line in plan_all().splitlines()) <= 100
    roster = sample_config.parent / "roster.csv"
    long_id = "S1001-" + "X" * 40
    roster.write_text(roster.read_text().replace("\nS1001,", f"\n{long_id},"))
    lines = plan_all(config=sample_config).splitlines()
    assert max(len(line) for line in lines) <= 100
    assert any(line.startswith(long_id[:10]) for line in lines)


def test_default_sort_is_status() -> None:
    """Without --sort the rows are in --sort status order, in every format."""
    for fmt in ("table", "csv", "json"):
        assert plan_all("--format", fmt) == plan_all("--format", fmt, "--sort", "status")


def test_sort_status_puts_the_students_needing_action_first() -> None:
    """--sort status: overdue, infeasible, unplanned, at_risk, on_track; by due date within."""
    rows = json_rows("--sort", "status")
    assert is_sorted_by_status(rows)
    assert [r["status"] for r in rows[:4]] == ["overdue"] * 2 + ["infeasible", "unplanned"]
    assert [r["student_id"] for r in rows[:2]] == ["S1036", "S1005"]  # due 11-16, then 11-20
    assert rows[-1]["status"] == "on_track"


def test_sort_due_is_by_due_date_then_id() -> None:
    """--sort due: earliest due date first, ties broken by student id."""
    rows = json_rows("--sort", "due")
    keys = [(r["due_date"], r["student_id"]) for r in rows]
    assert keys == sorted(keys)
    assert rows[0]["student_id"] == "S1036"
    assert not is_sorted_by_status(rows)  # a different order, not status again


def test_sort_id_is_by_student_id() -> None:
    """--sort id: the roster's ids in order, a student's cycles together (first the one `plan`
    shows at the top: the annual review, or the only cycle)."""
    rows = json_rows("--sort", "id")
    ids = [r["student_id"] for r in rows]
    assert ids == sorted(ids) and list(dict.fromkeys(ids)) == ACTIVE and len(ids) == ROWS
    firsts = {r["student_id"]: r["cycle_type"] for r in reversed(rows)}
    assert firsts["S1047"] == firsts["S1048"] == "annual"  # the transfer comes after it
    assert (firsts["S1049"], firsts["S1050"], firsts["S1051"]) == (
        "eligibility",
        "eligibility",
        "initial_iep",
    )


@pytest.mark.parametrize("order", ["status", "due", "id"])
def test_every_format_honours_the_sort(order: str) -> None:
    """The table, CSV and JSON list the same students in the same order for each --sort."""
    from_json = [r["student_id"] for r in json_rows("--sort", order)]
    rows = list(csv.DictReader(io.StringIO(plan_all("--format", "csv", "--sort", order))))
    assert [r["student_id"] for r in rows] == from_json
    assert table_ids(plan_all("--sort", order)) == from_json
    assert sorted(set(from_json)) == ACTIVE and len(from_json) == ROWS


def test_unknown_sort_is_a_usage_error() -> None:
    """--sort with an unknown key exits 2 naming the choices."""
    result = cli(SAMPLE, "plan", "--all", "--sort", "name", "--today", TODAY)
    assert result.exit_code == 2
    assert "'name' is not one of 'status', 'due', 'id'" in result.stderr


def test_csv_and_json_carry_the_same_rows() -> None:
    """CSV has exactly the JSON's fields as its header and the same values, row for row."""
    data = json_rows()
    assert all(list(r) == ROW_FIELDS for r in data)
    rows = list(csv.DictReader(io.StringIO(plan_all("--format", "csv"))))
    assert list(rows[0]) == ROW_FIELDS
    assert rows == [{k: v or "" for k, v in r.items()} for r in data]


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("--case-manager", "cm.rivera@pvsec.example.org", "case_manager_email"),
        ("--building", "Prairie Valley High", "building"),
    ],
)
def test_caseload_filters(option: str, value: str, field: str) -> None:
    """SPEC §6: `plan --all --case-manager EMAIL` / `--building NAME` list only that caseload."""
    rows = json_rows(option, value)
    assert rows and {r[field] for r in rows} == {value}
    assert len(rows) == sum(r[field] == value for r in json_rows())


def test_caseload_names_match_case_insensitively_and_combine() -> None:
    """--case-manager and --building ignore case, and both together keep their intersection."""
    rows = json_rows(
        "--case-manager", "CM.Rivera@PVSEC.example.org", "--building", "prairie valley HIGH"
    )
    assert rows
    assert {(r["case_manager_email"], r["building"]) for r in rows} == {
        ("cm.rivera@pvsec.example.org", "Prairie Valley High")
    }
    everyone = json_rows()
    assert len(rows) == sum(
        r["case_manager_email"] == "cm.rivera@pvsec.example.org"
        and r["building"] == "Prairie Valley High"
        for r in everyone
    )


def test_caseload_table_names_the_caseload_in_its_count_line() -> None:
    """The table's count line says whose caseload it counts; the filter implies --all."""
    out = cli(SAMPLE, "plan", "--building", "Bluestem High", "--today", TODAY).stdout
    ids = table_ids(out)
    lines = out.splitlines()
    count, *more = lines[lines.index("") + 1 :]
    assert count.startswith(f"{len(set(ids))} students of Bluestem High: ")
    # The caseload's other cycles (its reevaluations) are counted on their own line.
    others = len(ids) - len(set(ids))
    assert more == [f"{others} more open cycles: {others} reeval"]


@pytest.mark.parametrize(
    ("option", "typo", "closest"),
    [
        ("--case-manager", "cm.rivra@pvsec.example.org", "cm.rivera@pvsec.example.org"),
        ("--building", "Bluestem Hgh", "Bluestem High"),
    ],
)
def test_unknown_caseload_names_the_known_ones_closest_first(
    option: str, typo: str, closest: str
) -> None:
    """An unknown email or building exits 2 listing the known ones, the closest first."""
    result = cli(SAMPLE, "plan", "--all", option, typo, "--today", TODAY)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"error: {option}: {typo!r} is not on the roster; known: {closest}, " in result.stderr


def test_caseload_with_a_student_id_is_a_usage_error() -> None:
    """A caseload filter lists a caseload: given with one STUDENT id it is refused."""
    result = cli(SAMPLE, "plan", "S1001", "--building", "Bluestem High", "--today", TODAY)
    assert result.exit_code == 2
    assert "go with --all" in result.stderr


def test_plan_all_without_a_state_file_loads_no_delivery_module(tmp_path: Path) -> None:
    """`plan --all` with no state file imports neither the item builders nor the remote side
    (issue 10.7: ~20 ms of a 1 s budget went to hashlib, uuid, json and their dataclasses)."""
    import shutil
    import subprocess
    import sys

    folder = tmp_path / "district"
    shutil.copytree(SAMPLE.parent, folder, ignore=shutil.ignore_patterns("state", "*.sqlite*"))
    code = (
        "import sys\n"
        "from iepsched.cli import main\n"
        "try:\n"
        f"    main(['--config', {str(folder / 'iepsched.toml')!r}, 'plan', '--all',"
        f" '--today', {TODAY!r}])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "loaded = ('iepsched.core.items', 'iepsched.core.remote', 'iepsched.core.reconcile')\n"
        "print('loaded:', *[m for m in loaded if m in sys.modules], file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.count("\n") > ROWS  # the table was printed
    assert done.stderr.strip().splitlines()[-1] == "loaded:"


def test_planning_without_sentences_changes_nothing_but_the_warnings() -> None:
    """`sentences=False` (what `plan --all` asks for) gives every cycle of the sample district the
    same meeting, milestones, statuses and contact requirement, without the status sentences and
    overlap warnings that the roster view never shows."""
    import datetime as dt

    from iepsched.inputs.config import load_config
    from iepsched.service.district import load_district, plan_with_state

    district = load_district(load_config(SAMPLE))
    day = dt.date.fromisoformat(TODAY)
    full = plan_with_state(district, today=day).plans
    bare = plan_with_state(district, today=day, sentences=False).plans

    def kept(plans: Any) -> list[Any]:
        return [
            (
                c.student_id,
                c.cycle_type,
                c.status,
                c.own_status,
                c.meeting,
                c.milestones,
                c.contacts,
                c.due_date,
                c.due_known,
                c.combined_with,
            )
            for p in plans
            for c in p.cycles
        ]

    assert kept(bare) == kept(full)
    said = {w.code for p in full for c in p.cycles for w in c.warnings}
    assert {"infeasible", "at_risk", "double_booked"} <= said  # the sample has each
    left = {w.code for p in bare for c in p.cycles for w in c.warnings}
    assert not left & {"overdue", "infeasible", "at_risk", "double_booked", "moved_by_person"}


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_plan_all_prints_what_the_full_plan_would(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every form of `plan --all` is the same whether the planner writes the sentences or not:
    the roster view shows none of them."""
    import iepsched.service.district as district_module

    bare = cli(SAMPLE, "plan", "--all", "--today", TODAY, "--format", fmt)
    real = district_module.plan_with_state

    def with_sentences(*args: Any, **kwargs: Any) -> Any:
        kwargs["sentences"] = True
        return real(*args, **kwargs)

    monkeypatch.setattr(district_module, "plan_with_state", with_sentences)
    full = cli(SAMPLE, "plan", "--all", "--today", TODAY, "--format", fmt)
    assert bare.exit_code == full.exit_code == 0
    assert bare.output == full.output != ""

"""The district plan's own warnings (e.g. a student with no open meeting cycle, SPEC §2.2: no
student disappears silently) are said by every command that plans: plan, plan --all, report,
export and sync, on stderr, and in the report's input problems (issue 11 item 3)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hostile import copy_sample
from test_crash import make_config

import iepsched.cli.export_cmd
import iepsched.cli.plan_cmd
import iepsched.cli.report_cmd
import iepsched.cli.sync_cmd  # each registers its commands on main
import iepsched.service.district
import iepsched.service.sync
from iepsched.cli import main
from iepsched.core.model import DistrictPlan
from iepsched.outputs.skipped import district_notes
from iepsched.sandbox import GraphSandbox

TODAY = "2026-11-30"
IDLE = "S1001"
NOTE = f"{IDLE}: no open meeting cycle; add the IEP's date (last_iep_date) to the roster"


def _idle(plan: DistrictPlan) -> DistrictPlan:
    """The plan as the planner gives it when S1001's every cycle is closed: not in `plans`, named
    in `warnings`."""
    kept = tuple(p for p in plan.plans if p.student_id != IDLE)
    return DistrictPlan(plan.today, kept, (*plan.warnings, NOTE))


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample district, planned with S1001 idle."""
    monkeypatch.delenv("IEPSCHED_CONFIG", raising=False)
    real = iepsched.service.district.plan_with_state

    def fake(*args: Any, **kw: Any) -> DistrictPlan:
        return _idle(real(*args, **kw))

    monkeypatch.setattr(iepsched.service.district, "plan_with_state", fake)
    return copy_sample(tmp_path)


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_plan_all_says_the_district_warnings(config: Path, fmt: str) -> None:
    """`plan --all` writes its rows to stdout and each district warning to stderr."""
    result = run(config, "plan", "--all", "--today", TODAY, "--format", fmt)
    assert result.exit_code == 0, result.output
    assert f"warning: {NOTE}" in result.stderr
    assert NOTE not in result.stdout


def test_plan_all_of_another_caseload_leaves_it_out(config: Path) -> None:
    """A caseload without the idle student does not carry its warning."""
    result = run(config, "plan", "--all", "--today", TODAY, "--building", "No Such School")
    assert NOTE not in result.stderr


def test_plan_of_an_idle_student_says_why_nothing_is_planned(config: Path) -> None:
    """`plan S1001` says nothing is planned (not that the student exited) and why, on stderr."""
    result = run(config, "plan", IDLE, "--today", TODAY)
    assert result.exit_code == 0, result.output
    assert "exited" not in result.stdout and "nothing is planned" in result.stdout
    assert f"warning: {NOTE}" in result.stderr


def test_plan_of_another_student_does_not_name_the_idle_one(config: Path) -> None:
    """One student's plan carries only that student's district warnings."""
    result = run(config, "plan", "S1002", "--today", TODAY)
    assert result.exit_code == 0, result.output
    assert IDLE not in result.stderr


def test_report_lists_the_warning_in_input_problems_and_on_stderr(
    config: Path, tmp_path: Path
) -> None:
    """The report's input problems list the district warning; stderr says it too."""
    html = tmp_path / "r.html"
    result = run(config, "report", "--today", TODAY, "--html", str(html))
    assert result.exit_code == 0, result.output
    assert f"warning: {NOTE}" in result.stderr
    page = html.read_text("utf-8")
    problems = page.split('<section id="problems"', 1)[1].split("</section>", 1)[0]
    assert "no open meeting cycle" in problems


def test_export_says_the_district_warnings(config: Path, tmp_path: Path) -> None:
    """`export ics` names the district warnings on stderr."""
    result = run(config, "export", "ics", "--today", TODAY, "--out", str(tmp_path / "ics"))
    assert result.exit_code == 0, result.output
    assert f"warning: {NOTE}" in result.stderr


@pytest.fixture
def sb() -> Iterator[GraphSandbox]:
    with GraphSandbox(seed=3) as sandbox:
        yield sandbox


def test_sync_says_the_district_warnings(
    tmp_path: Path, sb: GraphSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sync` names the district warnings on stderr after its report."""
    real = iepsched.service.sync.plan_with_free_busy

    def fake(*args: Any, **kw: Any) -> DistrictPlan:
        plan = real(*args, **kw)
        return dataclasses.replace(plan, warnings=(*plan.warnings, NOTE), by_id={})

    monkeypatch.setattr(iepsched.service.sync, "plan_with_free_busy", fake)
    monkeypatch.setenv("IEPSCHED_CLIENT_SECRET", "x")
    monkeypatch.delenv("IEPSCHED_CONFIG", raising=False)
    toml = make_config(tmp_path, sb)
    result = CliRunner().invoke(
        main, ["-q", "--config", str(toml), "sync", "--today", TODAY, "--dry-run"]
    )
    assert f"warning: {NOTE}" in result.stderr, result.output


def test_district_notes_keep_a_caseloads_own() -> None:
    """Given students, only the warnings naming one of them are kept."""
    warnings = (NOTE, "S2002: no open meeting cycle")
    assert district_notes(warnings) == [f"warning: {w}" for w in warnings]
    assert district_notes(warnings, {"S2002"}) == ["warning: S2002: no open meeting cycle"]

"""Issue 10: `iepsched runs` shows a dry run as a dry run, with the actions it listed — not as a
night that changed nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cli_helpers import cli

from iepsched.cli.runs_cmd import runs_table
from iepsched.cli.sync_cmd import sync_once
from iepsched.inputs.config import load_config
from iepsched.m365.memory import MemoryRemote
from iepsched.service.district import load_district
from iepsched.state.store import RunRecord, StateStore

TODAY = dt.date(2026, 11, 30)


def test_a_dry_run_is_listed_with_its_action_counts(sample_config: Path) -> None:
    """A real dry run of the sample district shows "dry run, N actions (...)" in `runs`."""
    district = load_district(load_config(sample_config))
    remote = MemoryRemote(
        timezone="America/Chicago", now=dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
    )
    with StateStore(district.config.state_path) as store:
        report = sync_once(district, store, remote, today=TODAY, dry_run=True)
    assert report.actions
    creates = sum(1 for a in report.actions if a.op == "create")
    out = cli(sample_config, "runs").stdout
    row = " ".join(out.split())
    assert " dry run " in row
    assert f" {len(report.actions)} planned: {creates} create" in row
    assert "no changes" not in out


def record(dry: bool, counts: dict[str, int]) -> RunRecord:
    at = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
    return RunRecord(1, at, at, TODAY, dry, 0, counts, 0, 1.0)


def test_dry_run_texts() -> None:
    """Nothing to do, an older dry run without counts, and a real sync that changed nothing."""
    utc = dt.UTC
    assert runs_table([record(True, {"planned": 0})], utc).endswith("nothing to do")
    assert runs_table([record(True, {})], utc).endswith("not recorded")
    assert runs_table([record(False, {})], utc).endswith("no changes")
    one = runs_table([record(True, {"planned": 1, "would_update": 1, "declined": 2})], utc)
    assert one.endswith("1 planned: 1 update; 2 declined")

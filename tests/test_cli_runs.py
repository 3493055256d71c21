"""`iepsched runs`: sync history as a table and as JSON, newest first."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from cli_helpers import cli, state_file

from iepsched.state.store import StateStore


def seed(config: Path) -> None:
    """Three runs: a dry run, a clean sync, a partial failure, and one that never finished."""
    path = state_file(config)
    runs = [
        (dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC), True, 0, {"created": 0}, 0, 1.25),
        (
            dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC),
            False,
            0,
            {"created": 412, "updated": 3},
            0,
            48.5,
        ),
        (
            dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC),
            False,
            1,
            {"created": 2, "updated": 7, "failed": 2, "cancelled": 1},
            2,
            3.0,
        ),
    ]
    for started, dry, code, counts, failures, seconds in runs:
        with StateStore(path, now=started) as store:
            run_id = store.start_run(today=started.date(), dry_run=dry)
            store.finish_run(
                run_id, exit_code=code, counts=counts, failures=failures, duration_s=seconds
            )
    with StateStore(path, now=dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)) as store:
        store.start_run(today=dt.date(2026, 12, 1), dry_run=False)


def test_no_state_means_no_runs(sample_config: Path) -> None:
    """Before the first sync the command says so (and creates no state file)."""
    result = cli(sample_config, "runs")
    assert result.exit_code == 0
    assert result.stdout.startswith("no sync runs recorded yet")
    assert json.loads(cli(sample_config, "runs", "--format", "json").stdout) == []
    assert not (sample_config.parent / "state").exists()


def test_table_newest_first_with_counts_and_exit_codes(sample_config: Path) -> None:
    """The table lists runs newest first in local time, with actions, failures and exit code."""
    seed(sample_config)
    lines = cli(sample_config, "runs").stdout.splitlines()
    assert lines[0].split() == [
        "run",
        "started",
        "today",
        "mode",
        "exit",
        "seconds",
        "failed",
        "actions",
    ]
    rows = [line for line in lines[1:] if not line.startswith(" " * 8)]
    assert [row.split()[0] for row in rows] == ["4", "3", "2", "1"]
    assert "did not finish" in lines[1] and " - " in lines[1]
    # 08:00 UTC is 02:00 in Chicago; the long action list wraps under its own column.
    assert lines[2].split()[:8] == [
        "3",
        "2026-11-30",
        "02:00",
        "2026-11-30",
        "sync",
        "1",
        "3.0",
        "2",
    ]
    assert " ".join(lines[2].split()[8:] + lines[3].split()) == (
        "1 cancelled, 2 created, 2 failed, 7 updated"
    )
    assert lines[3].startswith(" " * 60)
    # A dry run recorded without its planned actions does not claim "no changes".
    assert "dry run" in lines[5] and lines[5].endswith("not recorded")
    assert all(len(line) <= 100 for line in lines)


def test_limit(sample_config: Path) -> None:
    """--limit N shows the N newest runs."""
    seed(sample_config)
    lines = cli(sample_config, "runs", "--limit", "2").stdout.splitlines()
    assert [line.split()[0] for line in lines[1:] if not line.startswith(" " * 8)] == ["4", "3"]
    assert cli(sample_config, "runs", "--limit", "0").exit_code == 2


def test_json(sample_config: Path) -> None:
    """JSON carries every field: times, mode, exit code, counts, failures, duration."""
    seed(sample_config)
    data = json.loads(cli(sample_config, "runs", "--format", "json").stdout)
    assert [r["id"] for r in data] == [4, 3, 2, 1]
    assert data[0]["exit_code"] is None and data[0]["finished_at"] is None
    assert data[1] == {
        "id": 3,
        "started_at": "2026-11-30T08:00:00+00:00",
        "finished_at": "2026-11-30T08:00:00+00:00",
        "today": "2026-11-30",
        "dry_run": False,
        "exit_code": 1,
        "counts": {"cancelled": 1, "created": 2, "failed": 2, "updated": 7},
        "failures": 2,
        "duration_s": 3.0,
    }

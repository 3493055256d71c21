"""`sync` names skipped roster rows too (SPEC §2.2, issue 8 item 1): stderr, output, exit 1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from test_crash import make_config

from iepsched.cli import main
from iepsched.sandbox import GraphSandbox

TODAY = "2026-11-30"
PHONE = "785-555-0199"


@pytest.fixture
def sb() -> Iterator[GraphSandbox]:
    with GraphSandbox(seed=3) as sandbox:
        yield sandbox


def _break_a_row(toml: Path) -> str:
    """Give S1002 an impossible birth date and a sentinel phone; returns the bad row's id."""
    roster = toml.parent / "roster.csv"
    lines = roster.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    for i, line in enumerate(lines):
        if line.startswith("S1002,"):
            cells = line.split(",")
            cells[header.index("birth_date")] = "someday"
            if "decision_maker_1_phone" in header:
                cells[header.index("decision_maker_1_phone")] = PHONE
            lines[i] = ",".join(cells)
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return "S1002"


def _sync(toml: Path, *extra: str, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.setenv("IEPSCHED_CLIENT_SECRET", "x")
    monkeypatch.delenv("IEPSCHED_CONFIG", raising=False)
    return CliRunner().invoke(main, ["-q", "--config", str(toml), "sync", "--today", TODAY, *extra])


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_sync_names_skipped_rows_and_exits_1(
    tmp_path: Path, sb: GraphSandbox, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """Good rows are synced; stderr names the skipped row, the output carries it; exit 1."""
    toml = make_config(tmp_path, sb)
    bad = _break_a_row(toml)
    result = _sync(toml, "--format", fmt, monkeypatch=monkeypatch)
    assert result.exit_code == 1, result.output
    assert "1 roster row was skipped" in result.stderr
    assert f"'{bad}'" in result.stderr and "line " in result.stderr
    assert PHONE not in result.stderr + result.stdout
    if fmt == "json":
        out = json.loads(result.stdout)
        assert out["skipped_rows"] == [{"line": 3, "student_id": bad}]
        assert out["exit_code"] == 1
    else:
        assert "skipped" in result.stdout
    assert sb.stats()["writes"] > 0  # everyone else was delivered


def test_sync_of_a_clean_roster_still_exits_0(
    tmp_path: Path, sb: GraphSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without skipped rows nothing is announced and a good run exits 0."""
    toml = make_config(tmp_path, sb)
    result = _sync(toml, monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    assert "skipped" not in result.stderr

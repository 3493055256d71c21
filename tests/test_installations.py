"""Two installations on the same mailboxes (issue 8 item 6): the second refuses, nothing is
duplicated; an installation that lost its state file still knows its own items."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import cli
from test_crash import make_config
from test_sync import dump_items, live_items

from iepsched.sandbox import GraphSandbox

TODAY = "2026-11-30"


@pytest.fixture
def sb() -> Iterator[GraphSandbox]:
    with GraphSandbox(latency_ms=0, max_retry_after=0.01) as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IEPSCHED_CLIENT_SECRET", "x")
    monkeypatch.delenv("IEPSCHED_CONFIG", raising=False)


def sync(toml: Path) -> tuple[int, str]:
    done = cli(toml, "sync", "--today", TODAY, "--format", "json")
    return done.exit_code, done.output


def held(sb: GraphSandbox) -> Counter[str]:
    """How many live copies of each key the tenant holds."""
    return Counter(key for key, _ in live_items(dump_items(sb.dump())))


def test_a_second_installation_refuses_and_duplicates_nothing(
    sb: GraphSandbox, tmp_path: Path
) -> None:
    """Two configs (two state files) on one tenant: the second stops with exit 2 naming the
    mailbox and [district] installation, and writes nothing."""
    first = make_config(tmp_path / "first", sb)
    second = make_config(tmp_path / "second", sb)
    text = second.read_text(encoding="utf-8")
    second.write_text(
        text.replace("[district]\n", '[district]\ninstallation = "second-office"\n', 1),
        encoding="utf-8",
    )
    code, _ = sync(first)
    assert code == 0
    before = held(sb)
    assert before and max(before.values()) == 1
    writes = sb.stats()["writes"]
    code, output = sync(second)
    assert code == 2, output
    assert "another installation" in output and "[district] installation" in output
    assert "'prairie-valley-special-education-cooperative'" in output
    assert "@" in output  # the mailbox is named
    assert sb.stats()["writes"] == writes
    assert held(sb) == before


def test_a_lost_state_file_does_not_make_an_installation_refuse_its_items(
    sb: GraphSandbox, tmp_path: Path
) -> None:
    """The installation id comes from the config, so after the state file is lost the same
    config still recognises its items: no refusal, and no duplicates."""
    toml = make_config(tmp_path / "only", sb)
    code, _ = sync(toml)
    assert code == 0
    before = held(sb)
    lost = list((toml.parent / "state").glob("iepsched.sqlite*"))
    assert lost
    for path in lost:
        path.unlink()
    code, output = sync(toml)
    assert code == 3, output  # a lost state is noticed (SPEC §5), not refused as foreign
    assert "holds iepsched items of another installation" not in output
    done = cli(toml, "sync", "--today", TODAY, "--format", "json", "--recover")
    assert done.exit_code == 0, done.output
    assert held(sb) == before


def test_a_district_name_without_letters_asks_for_an_installation(tmp_path: Path) -> None:
    """[district] name = ":" cannot give an installation id: a config problem, not a crash."""
    from iepsched.core.errors import UserError
    from iepsched.inputs.config import load_config

    toml = tmp_path / "iepsched.toml"
    sample = Path(__file__).resolve().parents[1] / "config" / "iepsched.toml"
    text = sample.read_text(encoding="utf-8")
    name_line = next(line for line in text.splitlines() if line.startswith("name = "))
    toml.write_text(text.replace(name_line, 'name = ":"', 1), encoding="utf-8")
    for path in ("roster.csv", "calendars", "rules.toml"):
        source = sample.parent / path
        target = tmp_path / path
        if source.is_dir():
            import shutil

            shutil.copytree(source, target)
        elif source.exists():
            target.write_bytes(source.read_bytes())
    try:
        load_config(toml)
    except UserError as exc:
        assert "[district] installation" in str(exc)
    else:
        raise AssertionError("a name with no letters or digits must ask for an installation")

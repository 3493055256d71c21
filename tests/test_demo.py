"""`iepsched demo`, run as `make demo` runs it, keeps the promises its output makes.

The demo syncs the sample district into the loopback Graph sandbox, plays a case manager who
moves a meeting and completes two parent-contact tasks, and syncs twice more. Each test runs it
on a private copy of config/, so nothing is written into the repository.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from cli_helpers import TODAY, cli, state_file
from hostile import copy_sample

from iepsched.state.store import StateStore

ROOT = Path(__file__).resolve().parents[1]


def make_demo_command() -> list[str]:
    """The Makefile's `demo` recipe, with $(BIN) as this interpreter's folder (the venv's)."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    (recipe,) = [lines[i + 1] for i, line in enumerate(lines) if line.startswith("demo:")]
    bin_dir = str(Path(sys.executable).parent)
    return shlex.split(recipe.strip().replace("$(BIN)", bin_dir))


def sections(out: str) -> dict[str, list[str]]:
    """The demo's output split at its numbered headings ("1." to "4.") and the action list."""
    found: dict[str, list[str]] = {"head": []}
    current = found["head"]
    for line in out.splitlines():
        heading = re.match(r"(\d)\. ", line)
        if heading or line == "Students who need action:":
            current = found.setdefault(heading.group(1) if heading else "action", [])
        current.append(line)
    return found


def counts(lines: list[str]) -> dict[str, int]:
    """The `N what, N what` line of a sync's summary ("no changes" is none)."""
    line = next(x.strip() for x in lines if re.fullmatch(r"\s+(no changes|\d+ \w+(, \d+ \w+)*)", x))
    return {} if line == "no changes" else {w: int(n) for n, w in re.findall(r"(\d+) (\w+)", line)}


def writes(lines: list[str]) -> int:
    """The Graph writes a sync's summary reports."""
    (n,) = [int(m.group(1)) for x in lines if (m := re.search(r", (\d+) writes,", x))]
    return n


@pytest.fixture(scope="module")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """make demo's command, run in a folder holding a copy of config/."""
    work = tmp_path_factory.mktemp("demo")
    copy_sample(work)
    env = {k: v for k, v in os.environ.items() if k != "IEPSCHED_CONFIG"}
    env["XDG_CACHE_HOME"] = str(work / "cache")
    command = make_demo_command()
    assert command[1:] == ["--config", "config/iepsched.toml", "demo"]  # reads the copy in cwd
    done = subprocess.run(
        command,
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return work, done


def test_demo_exits_0_and_tells_its_story(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """make demo's command exits 0, prints all four steps and the action list, no traceback."""
    _, done = demo_run
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    parts = sections(done.stdout)
    assert {"1", "2", "3", "4", "action"} <= set(parts)
    assert parts["head"][0] == (
        "iepsched demo — Prairie Valley Special Education Cooperative (fictional), "
        f"night of {TODAY}"
    )
    assert "(loopback only)" in parts["head"][1] and "127.0.0.1" in parts["head"][1]
    assert not any(re.match(r"\s+error: ", line) for line in done.stdout.splitlines())
    assert any(line.startswith("  S1036 [overdue]") for line in parts["action"])


def test_first_sync_books_meetings_and_tasks(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """The first sync creates items through Graph, only creates, and writes every one."""
    _, done = demo_run
    first = sections(done.stdout)["1"]
    created = counts(first)
    assert set(created) == {"created"} and created["created"] > 0
    assert writes(first) >= created["created"]


def test_moved_meeting_is_adopted_and_contacts_are_logged(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """The meeting moved in Outlook is adopted; the two completed contact tasks are logged."""
    _, done = demo_run
    parts = sections(done.stdout)
    moved = re.search(
        r"moved the IEP meeting of (S\d+) to (\d{4}-\d\d-\d\d) (\d\d:\d\d)", done.stdout
    )
    assert moved is not None
    student, day, time = moved.groups()
    completed = re.findall(
        r"completed '(S\d+) parent contact' with method ticked: (\w+)", done.stdout
    )
    assert len(completed) == 2
    second = parts["3"]
    assert any(
        line.strip().startswith(f"{student}: the IEP meeting was moved in Outlook to {day}T{time}")
        and "adopted" in line
        for line in second
    )
    tally = counts(second)
    assert tally["adopted"] == 1 and tally["contacts_logged"] == 2 and tally["completed"] == 2
    logged = re.findall(r"contact log: (S\d+) \S+ (\w+) \(todo\)", "\n".join(second))
    # Both contacts are dated the same night; the log's order between them is not specified.
    assert sorted(logged) == sorted((sid, method.lower()) for sid, method in completed)


def test_last_sync_writes_nothing(demo_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    """The third sync, with nothing changed, reports no changes and makes 0 Graph writes."""
    _, done = demo_run
    third = sections(done.stdout)["4"]
    assert counts(third) == {}
    assert writes(third) == 0


def test_demo_leaves_no_state_behind(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """Without --state the demo's state lives in a temporary folder that is gone afterwards."""
    work, done = demo_run
    match = re.search(r"; state in (\S+)$", done.stdout.splitlines()[1])
    assert match is not None
    assert not Path(match.group(1)).exists()
    assert not (work / "config" / "state").exists()
    assert sorted(p.name for p in (work / "config").iterdir()) == sorted(
        p.name for p in (ROOT / "config").iterdir() if p.name != "state"
    )


def test_demo_state_records_the_story(sample_config: Path, tmp_path: Path) -> None:
    """With --state the file shows meetings and tasks, the adopted move, contacts and 3 runs."""
    result = cli(sample_config, "demo", "--state", str(tmp_path / "state"))
    assert result.exit_code == 0, result.output
    assert not state_file(sample_config).exists()  # --state, not the config's state path
    with StateStore(tmp_path / "state" / "iepsched.sqlite") as store:
        items = store.items()
        kinds = Counter(item.kind for item in items.values() if item.remote_id)
        assert kinds["event"] > 0 and kinds["task"] > 0
        moved = [key for key, item in items.items() if item.moved]
        assert len(moved) == 1 and moved[0].endswith("/meeting")
        # Same night, two students of one mailbox: their order in the log is not specified.
        assert sorted((c.method, c.source) for c in store.contacts()) == [
            ("email", "todo"),
            ("phone", "todo"),
        ]
        runs = store.runs()
        assert [r.exit_code for r in runs] == [0, 0, 0]
        assert runs[0].counts == {} and runs[-1].counts.keys() == {"created"}


def test_demo_contacts_are_dated_on_the_simulated_night(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """A contact completed on the demo's night is dated by then (`contact log` refuses later)."""
    _, done = demo_run
    dates = re.findall(r"contact log: S\d+ (\S+) ", done.stdout)
    assert dates
    assert all(dt.date.fromisoformat(d) <= dt.date.fromisoformat(TODAY) for d in dates)

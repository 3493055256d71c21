"""`iepsched demo`, run as `make demo` runs it, keeps the promises its output makes.

The demo syncs the sample district into the loopback Graph sandbox, plays a case manager who
moves a meeting and completes two parent-contact tasks and a teacher who asks for an amendment
meeting (SPEC §3.6), syncs twice more, writes that meeting's notice and counts the cycles by
type. Each test runs it on a private copy of config/, so nothing is written into the repository.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
import stat
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
    """The demo's output split at its numbered headings ("1." to "4."), the cycles by type and
    the action list."""
    found: dict[str, list[str]] = {"head": []}
    current = found["head"]
    named = {"Students who need action:": "action", "Open cycles by type (SPEC §3.6):": "types"}
    for line in out.splitlines():
        heading = re.match(r"(\d)\. ", line)
        if heading or line in named:
            current = found.setdefault(heading.group(1) if heading else named[line], [])
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
    assert {"1", "2", "3", "4", "types", "action"} <= set(parts)
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
    assert sorted(logged) == sorted((sid, method.lower()) for sid, method in completed)


def test_last_sync_writes_nothing(demo_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    """The third sync, with nothing changed, reports no changes and makes 0 Graph writes."""
    _, done = demo_run
    third = sections(done.stdout)["4"]
    assert counts(third) == {}
    assert writes(third) == 0


def test_amendment_is_requested_booked_and_noticed(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """A teacher's amendment request is logged as `meeting request` logs it, the second sync
    books its meeting, and its notice (Spanish family) is written where the demo says."""
    _, done = demo_run
    parts = sections(done.stdout)
    (request,) = [line for line in parts["2"] if "meeting request:" in line]
    assert re.fullmatch(
        r"   meeting request: requested: amendment [0-9a-f]{8} for S1017 on 2026-11-30, "
        r"due 2026-12-30",
        request,
    )
    assert "reading goal" not in done.stdout  # the reason stays in the log, like a contact's
    assert counts(parts["3"])["created"] >= 1  # the amendment's meeting and tasks
    assert any(
        re.fullmatch(
            r"   the amendment meeting of S1017 is booked on 2026-12-\d\d \d\d:\d\d; .*", x
        )
        for x in parts["4"]
    )
    (written,) = [x for x in parts["4"] if "S1017-amendment-notice.html: " in x]
    assert "(IEP amendment), es, to the parents" in written
    assert "removed at the end: --state DIR keeps it" in "\n".join(parts["4"])


def test_summary_counts_every_meeting_type(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """The summary has a line per cycle type of SPEC §3.6, each with open cycles in the sample."""
    _, done = demo_run
    lines = sections(done.stdout)["types"][1:]
    found = {}
    for line in lines:
        match = re.fullmatch(r"  (.+): (\d+) open, (\d+) meetings? booked(, .*)?", line)
        if match:
            found[match[1]] = (int(match[2]), int(match[3]))
    assert list(found) == [
        "annual review",
        "eligibility / initial evaluation",
        "initial IEP",
        "IEP amendment",
        "reevaluation",
        "transfer IEP",
    ]
    assert all(n > 0 for n, _ in found.values())
    assert found["IEP amendment"] == (1, 1)
    assert found["initial IEP"] == (1, 1) and found["transfer IEP"] == (2, 2)
    assert "  reevaluation: 14 open, 0 meetings booked, 3 held at the annual review" in lines


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
        # Both are completed on the demo's night: same time, so no order between them.
        assert sorted((c.method, c.source) for c in store.contacts()) == [
            ("email", "todo"),
            ("phone", "todo"),
        ]
        runs = store.runs()
        assert [r.exit_code for r in runs] == [0, 0, 0]
        assert runs[0].counts == {} and runs[-1].counts.keys() == {"created"}
        # The amendment: one request in the log, one meeting booked once (SPEC §3.6).
        (request,) = store.meeting_requests()
        assert (request.student_id, request.type, request.requested_by) == (
            "S1017",
            "amendment",
            "teacher",
        )
        meetings = [
            key
            for key, item in items.items()
            if item.kind == "event" and key.startswith("S1017/amendment-")
        ]
        assert meetings == ["S1017/amendment-2026-11-30/meeting"]
        assert items[meetings[0]].remote_id
    notice = tmp_path / "state" / "notices" / "S1017-amendment-notice.html"
    assert f"{notice}: S1017 meeting " in result.stdout
    assert "Aviso de reunión" in notice.read_text(encoding="utf-8")  # the family reads Spanish
    assert stat.S_IMODE(notice.stat().st_mode) == 0o600


def test_demo_contacts_are_dated_on_the_simulated_night(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """A contact completed on the demo's night is dated by then (`contact log` refuses later)."""
    _, done = demo_run
    dates = re.findall(r"contact log: S\d+ (\S+) ", done.stdout)
    assert dates
    assert all(dt.date.fromisoformat(d) <= dt.date.fromisoformat(TODAY) for d in dates)

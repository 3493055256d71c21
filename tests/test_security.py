"""Issue 8, "prove it": secrets stay secret, private files stay private, names stay out of logs.

One demo-like night runs in-process against the loopback Graph sandbox, under a permissive umask
and with a sentinel client secret and sentinel student names: plan, report, export ics, config
check, auth status, contact log and two syncs, at -vv and at the default verbosity. Then every
output, log line and file written (state, journal, backups, report, ICS, the plan cache under
XDG_CACHE_HOME) is searched for the sentinels, and the private files' modes are checked.
Hostile names in the HTML, CSV and ICS outputs are covered by test_csv_safety, test_report and
test_cli_export_report; here only what they leave out: the terminal and the Graph payloads.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import TODAY
from click.testing import CliRunner, Result
from hostile import copy_sample

from iepsched.cli import main
from iepsched.sandbox import GraphSandbox

SECRET = "sentinel-XYZ-7f3a9c"  # IEPSCHED_CLIENT_SECRET for the whole night
FIRST, LAST = "Qwfirstsentinel", "Qwlastsentinel"  # + the row number: every student's names
STUDENT = "S1001"  # a student of the sample roster, for plan / contact log


def sentinel_names(row: int) -> tuple[str, str]:
    return f"{FIRST}{row:02d}", f"{LAST}{row:02d}"


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def write_rows(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def sentinel_roster(config: Path) -> list[str]:
    """Give every student of the sample roster sentinel names; the names, all of them."""
    roster = config.parent / "roster.csv"
    header, rows = read_rows(roster)
    names: list[str] = []
    for n, row in enumerate(rows):
        row["first_name"], row["last_name"] = sentinel_names(n)
        names += sentinel_names(n)
    write_rows(roster, header, rows)
    return names


def point_at(config: Path, sb: GraphSandbox) -> None:
    """The config's [graph] section, pointed at the sandbox (as tests/test_crash.py does)."""
    text = config.read_text(encoding="utf-8")
    endpoint = 'endpoint = "https://graph.microsoft.com/v1.0"'
    assert endpoint in text
    config.write_text(
        text.replace(
            endpoint,
            f'tenant_id = "{sb.tenant_id}"\nclient_id = "iepsched-tests"\n'
            f'authority = "{sb.authority}"\nendpoint = "{sb.graph_url}"',
        ),
        encoding="utf-8",
    )


@dataclass
class Night:
    """What the demo-like night left behind."""

    root: Path
    config: Path
    cache: Path
    names: list[str]
    results: dict[str, Result] = field(default_factory=dict)
    dump: dict[str, Any] = field(default_factory=dict)

    def written(self) -> Iterator[Path]:
        """Every file under the night's folder (config copy, state, outputs, cache)."""
        return (p for p in sorted(self.root.rglob("*")) if p.is_file())


def run(night: Night, name: str, *args: str) -> Result:
    """`iepsched --config CONFIG ARGS...` with the sentinel secret and the night's cache."""
    env = {"IEPSCHED_CLIENT_SECRET": SECRET, "XDG_CACHE_HOME": str(night.cache)}
    result = CliRunner().invoke(main, ["--config", str(night.config), *args], env=env)
    night.results[name] = result
    return result


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Night]:
    """The demo-like night, run once for the module under umask 0 (files would be 0666)."""
    root = tmp_path_factory.mktemp("night")
    config = copy_sample(root)
    out = root / "out"
    out.mkdir()
    with GraphSandbox(client_secret=SECRET) as sb:
        point_at(config, sb)
        n = Night(root, config, root / "cache", sentinel_roster(config))
        old = os.umask(0)
        try:
            for verbosity in ("-vv", "default"):
                v = [] if verbosity == "default" else [verbosity]
                today = ["--today", TODAY]
                run(n, f"config check {verbosity}", *v, "config", "check")
                run(n, f"auth status {verbosity}", *v, "auth", "status")
                run(n, f"plan {verbosity}", *v, "plan", STUDENT, *today)
                run(n, f"plan again {verbosity}", *v, "plan", STUDENT, *today)  # cache hit
                run(n, f"plan --all {verbosity}", *v, "plan", "--all", *today)
                run(n, f"sync {verbosity}", *v, "sync", *today)
                run(n, f"sync json {verbosity}", *v, "sync", "--format", "json", *today)
                report = ["--html", str(out / f"{verbosity}.html")]
                report += ["--csv", str(out / f"{verbosity}.csv")]
                report += ["--contacts-csv", str(out / f"{verbosity}.contacts.csv")]
                run(n, f"report {verbosity}", *v, "report", *report, *today)
                ics = ["--out", str(out / f"ics{verbosity}"), "--by", "all"]
                run(n, f"export ics {verbosity}", *v, "export", "ics", *ics, *today)
                contact = ["--method", "phone", "--outcome", "reached", "--with", "Dad"]
                contact += ["--at", f"{TODAY}T10:00"]
                run(n, f"contact log {verbosity}", *v, "contact", "log", STUDENT, *contact, *today)
                run(n, f"runs {verbosity}", *v, "runs")
            run(n, "sync -v", "-v", "sync", *today)
            run(n, "plan -v", "-v", "plan", STUDENT, "--format", "json", *today)
        finally:
            os.umask(old)
        n.dump = sb.dump()
        yield n


def test_the_night_ran(night: Night) -> None:
    """Every command of the night succeeded, so the checks below looked at real output."""
    failed = {name: r.output for name, r in night.results.items() if r.exit_code != 0}
    assert not failed, failed
    assert night.dump["mailboxes"]  # the sandbox only accepts SECRET: the secret was used
    assert any((night.cache / "iepsched" / "plan").iterdir())
    page = (night.root / "out" / "default.html").read_text(encoding="utf-8")
    # The sentinel roster is the one planned (the report leaves out only exited students).
    found = [name for name in night.names if name in page]
    assert set(sentinel_names(0)) <= set(found) and len(found) >= len(night.names) - 4


@pytest.mark.parametrize(
    "where, line",
    [
        ("[graph]", f'client_secret = "{SECRET}"'),
        ("[graph]", f'certificate_password = "{SECRET}"'),
        ("[district]", f'password = "{SECRET}"'),
        ("[safety]", f'api_secret_value = "{SECRET}"'),
    ],
)
def test_secret_in_the_config_file_is_refused_unquoted(
    sample_config: Path, where: str, line: str
) -> None:
    """A secret typed into the config is an error naming the key, never echoing the value."""
    text = sample_config.read_text(encoding="utf-8")
    sample_config.write_text(text.replace(f"{where}\n", f"{where}\n{line}\n", 1), "utf-8")
    result = CliRunner().invoke(main, ["-vv", "--config", str(sample_config), "config", "check"])
    assert result.exit_code == 2
    assert "secrets must not be stored in the config file" in result.output
    assert SECRET not in result.output


def test_secret_in_no_output(night: Night) -> None:
    """The client secret is in no command's stdout or stderr, not even the -vv debug log."""
    for name, result in night.results.items():
        assert SECRET not in result.stdout, name
        assert SECRET not in result.stderr, name
    assert any("DEBUG" in r.stderr for r in night.results.values())  # -vv did log


def test_secret_in_no_file(night: Night) -> None:
    """No file the night wrote (state, journal, backups, outputs, plan cache) holds the secret."""
    files = list(night.written())
    assert any(p.suffix == ".sqlite" for p in files) and any(p.suffix == ".ics" for p in files)
    for path in files:
        data = path.read_bytes()
        assert SECRET.encode() not in data, path
        assert SECRET.encode("utf-16-le") not in data, path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_files_are_0600(night: Night) -> None:
    """State, its WAL/lock, the legal-log journal, backups, token and plan caches: owner only.

    The journal (`<state>.legal-log.jsonl`) and backups (`backups/*.sqlite`) are checked when the
    night created them (they are being wired into sync); the state and the plan cache always.
    """
    state_dir = night.config.parent / "state"
    state = state_dir / "iepsched.sqlite"
    private = [p for p in state_dir.iterdir() if p.is_file() and p.name.startswith(state.name)]
    assert state in private
    private += [p for p in state_dir.glob("*.legal-log.jsonl")]
    private += [p for p in state_dir.glob("backups/*.sqlite")]
    private += [p for p in state_dir.glob("token-cache.json")]
    cache = night.cache / "iepsched" / "plan"
    entries = [p for p in cache.rglob("*") if p.is_file()]
    assert entries
    wrong = {str(p): oct(mode(p)) for p in [*private, *entries] if mode(p) != 0o600}
    assert not wrong
    folders = [cache, *(p.parent for p in state_dir.glob("backups/*.sqlite"))]
    assert all(mode(f) == 0o700 for f in folders), {str(f): oct(mode(f)) for f in folders}


def test_outputs_naming_students_are_private(night: Night) -> None:
    """The HTML report, the CSVs and the ICS files name students: written owner-only too."""
    outputs = [p for p in (night.root / "out").rglob("*") if p.is_file()]
    assert outputs
    assert {str(p): oct(mode(p)) for p in outputs if mode(p) & 0o077} == {}


def test_names_not_logged_at_info(night: Night) -> None:
    """At the default verbosity and at -v (INFO) no log line carries a student's name."""
    logs = {
        name: r.stderr
        for name, r in night.results.items()
        if name.endswith(("default", "-v")) and "-vv" not in name
    }
    assert "sync -v" in logs and any("INFO" in text for text in logs.values())
    for name, text in logs.items():
        for student in night.names:
            assert student not in text, (name, student)


def test_names_never_reach_microsoft_365(night: Night) -> None:
    """No event or task the sync wrote (subject, body, anything) carries a student's name."""
    text = json.dumps(night.dump, ensure_ascii=False)
    assert '"subject"' in text
    for student in night.names:
        assert student not in text, student


# -- the sandbox -------------------------------------------------------------------------------


def outward_address() -> str | None:
    """This machine's address on its default route, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: routing only, never reached
        except OSError:
            return None
        address: str = s.getsockname()[0]
    return None if address.startswith("127.") else address


def test_sandbox_binds_loopback_only() -> None:
    """The sandbox's socket is bound to 127.0.0.1: nothing off this machine can reach it."""
    with GraphSandbox() as sb:
        server = sb._server
        assert server is not None
        host, port = server.socket.getsockname()[:2]
        assert host == "127.0.0.1" and port == sb.port
        assert sb.graph_url.startswith(f"http://127.0.0.1:{port}/")
        other = outward_address()
        if other is not None:
            with pytest.raises(OSError):
                socket.create_connection((other, port), timeout=2).close()


# -- hostile names where the other safety tests do not look: the terminal ---------------------

TERMINAL_HOSTILE = ("\x1b]0;pwned\x07Ann", "Bob\x1b[2J", "Zoe\u202eevil", "Cy\x00d")


def test_terminal_escapes_in_names_never_reach_the_terminal(tmp_path: Path) -> None:
    """A name holding terminal escapes or NUL is refused or cleaned: `plan` never prints them."""
    config = copy_sample(tmp_path)
    roster = config.parent / "roster.csv"
    header, rows = read_rows(roster)
    for row, name in zip(rows, TERMINAL_HOSTILE, strict=False):
        row["first_name"] = name
    write_rows(roster, header, rows)
    for args in (["plan", "--all"], ["plan", rows[0]["student_id"]]):
        result = CliRunner().invoke(main, ["--config", str(config), *args, "--today", TODAY])
        assert result.exit_code in (0, 1, 2), result.output  # 1: rows skipped (SPEC §2.2)
        for raw in ("\x1b", "\x07", "\x00", "\u202e"):
            assert raw not in result.stdout and raw not in result.stderr, (args, repr(raw))


# -- no error message carries another row's data -------------------------------------------------

ROW_SENTINELS = ("first_name", "last_name", "decision_maker_1_name", "notes")


@pytest.mark.parametrize(
    "column, bad",
    [
        ("birth_date", "2011-02-30"),
        ("case_manager_email", "not an address"),
        ("iep_due_date", "someday"),
        ("student_id", ""),
    ],
)
def test_errors_quote_only_their_own_row(tmp_path: Path, column: str, bad: str) -> None:
    """A bad row's message names its row; no message quotes any other row's values."""
    config = copy_sample(tmp_path)
    roster = config.parent / "roster.csv"
    header, rows = read_rows(roster)
    header += [c for c in ROW_SENTINELS if c not in header]
    others: list[str] = []
    for n, row in enumerate(rows):
        for c in ROW_SENTINELS:
            row[c] = f"Zrow{n:02d}{c.replace('_', '')}"
            if n != 3:
                others.append(row[c])
    rows[3][column] = bad
    write_rows(roster, header, rows)
    today = ["--today", TODAY]
    commands = [
        ["config", "check"],
        ["plan", "--all", *today],
        ["plan", rows[3]["student_id"] or "S1004", *today],
        ["report", "--html", str(tmp_path / "r.html"), *today],
        ["export", "ics", "--out", str(tmp_path / "ics"), *today],
    ]
    messages = ""
    for args in commands:
        result = CliRunner().invoke(main, ["--config", str(config), *args])
        assert result.exit_code in (0, 1, 2), result.output
        # config check reports on stdout; the other commands' stdout is their output proper
        messages += result.output if args[0] == "config" else result.stderr
    assert "line 5" in messages  # the bad row (header + rows 0..3) is named (by config check)
    leaked = [value for value in others if value in messages]
    assert not leaked, messages

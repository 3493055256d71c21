"""`iepsched doctor` proves every Graph capability in a pilot mailbox and leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import cli
from sandbox_config import sandbox_config

from iepsched.m365.auth import LoopbackTokenProvider, scope_for
from iepsched.m365.doctor import SUBJECT, run_doctor
from iepsched.m365.graph import GraphClient
from iepsched.sandbox import GraphSandbox

PILOT = "pilot.cm@district.org"
LEA = "lea@district.org"
LINE = re.compile(r"^(PASS|FAIL|SKIP) \S")


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IEPSCHED_CLIENT_SECRET", "x")


@pytest.fixture
def sb() -> Iterator[GraphSandbox]:
    with GraphSandbox() as sandbox:
        yield sandbox


def left_behind(sb: GraphSandbox) -> dict[str, list[str]]:
    """Events, lists and tasks anywhere in the sandbox (cancellation notices are not items, and
    the default "Tasks" list every mailbox has is not debris)."""
    found: dict[str, list[str]] = {}
    for mailbox, held in sb.dump()["mailboxes"].items():
        items = [
            *(e.get("subject", "") for e in held["events"]),
            *(
                t.get("displayName", "")
                for t in held["lists"]
                if t.get("wellknownListName") != "defaultList"
            ),
            *(t.get("title", "") for t in held["tasks"]),
        ]
        if items:
            found[mailbox] = items
    return found


def test_all_checks_pass_and_nothing_is_left(tmp_path: Path, sb: GraphSandbox) -> None:
    """Against a well-behaved tenant every capability passes, exit 0, and the mailbox is clean."""
    result = cli(sandbox_config(tmp_path, sb), "doctor", "--mailbox", PILOT, "--attendee", LEA)
    assert result.exit_code == 0, result.output
    lines = [x for x in result.output.splitlines() if LINE.match(x)]
    assert lines and all(x.startswith("PASS") for x in lines), result.output
    names = " | ".join(lines)
    for capability in (
        "token",
        "create event",
        "repeat create",
        "read event by id",
        "find event by key",
        "update event",
        "getSchedule",
        "cancel event",
        "To Do list",
        "To Do task with linkedResource",
        "To Do checklist item",
        "To Do complete and read back",
        "clean up",
    ):
        assert f"PASS {capability}" in names, capability
    assert "roles: Calendars.ReadWrite" in names
    assert left_behind(sb) == {}
    cancelled = sb.dump()["mailboxes"][PILOT]["cancelled"]
    assert [c["event"]["subject"] for c in cancelled] == [SUBJECT]
    assert cancelled[0]["event"]["sensitivity"] == "private"


def test_a_denied_mailbox_fails_clearly_and_exits_1(tmp_path: Path) -> None:
    """A mailbox outside the app's access policy: FAIL with ErrorAccessDenied, exit 1, no debris."""
    with GraphSandbox(deny_mailboxes=[PILOT]) as sandbox:
        result = cli(sandbox_config(tmp_path, sandbox), "doctor", "--mailbox", PILOT)
        assert result.exit_code == 1, result.output
        create = next(x for x in result.output.splitlines() if "create event" in x)
        assert create.startswith("FAIL") and "ErrorAccessDenied" in create
        assert "Test-ServicePrincipalAuthorization" in create
        assert "SKIP update event — not tried: create event failed" in result.output
        assert left_behind(sandbox) == {}


def test_calendar_delivery_skips_to_do_with_a_reason(tmp_path: Path, sb: GraphSandbox) -> None:
    """With [delivery] tasks = "calendar" the To Do checks are skipped, saying why; still exit 0."""
    result = cli(sandbox_config(tmp_path, sb, tasks="calendar"), "doctor", "--mailbox", PILOT)
    assert result.exit_code == 0, result.output
    skip = [x for x in result.output.splitlines() if x.startswith("SKIP")]
    assert len(skip) == 1 and 'tasks = "calendar"' in skip[0]
    assert "To Do list" not in result.output
    assert "PASS cancel event" in result.output  # the event checks did run
    assert left_behind(sb) == {}


def test_missing_mailbox_option_is_a_usage_error(tmp_path: Path, sb: GraphSandbox) -> None:
    """Without --mailbox the command refuses to run (exit 2) and writes nothing."""
    result = cli(sandbox_config(tmp_path, sb), "doctor")
    assert result.exit_code == 2
    assert left_behind(sb) == {}


def _client(sb: GraphSandbox, timezone: str) -> tuple[GraphClient, LoopbackTokenProvider]:
    tokens = LoopbackTokenProvider(
        client_id="iepsched-tests",
        authority=sb.authority,
        scope=scope_for(sb.graph_url),
        client_secret="x",
    )
    client = GraphClient(endpoint=sb.graph_url, tokens=tokens, timezone=timezone, max_attempts=2)
    return client, tokens


def test_a_time_zone_graph_rejects_fails_clearly(sb: GraphSandbox) -> None:
    """A zone Graph does not accept (America/Detroit) fails with TimeZoneNotSupportedException."""
    client, tokens = _client(sb, "America/Detroit")
    lines: list[str] = []
    with client:
        report = run_doctor(
            client,
            tokens,
            mailbox=PILOT,
            attendee=None,
            timezone="America/Detroit",
            day=dt.date(2026, 12, 1),
            tasks="todo",
            emit=lines.append,
        )
    assert not report.ok
    create = next(x for x in lines if "create event" in x)
    assert create.startswith("FAIL") and "TimeZoneNotSupportedException" in create
    assert "[district] timezone" in create
    assert left_behind(sb) == {}


def test_a_duplicate_created_despite_the_transaction_id_is_a_failure_and_removed(
    sb: GraphSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If Graph created a second event for the same transactionId, that check fails; both go."""
    client, tokens = _client(sb, "America/Chicago")
    real_post = client.post
    calls: list[str] = []

    def forgetful_post(url: str, **kw: object) -> object:
        # A Graph that ignores transactionId: each create gets a fresh one.
        json = kw.get("json")
        if isinstance(json, dict) and "transactionId" in json:
            calls.append(url)
            kw["json"] = {**json, "transactionId": f"{json['transactionId']}-{len(calls)}"}
        return real_post(url, **kw)

    monkeypatch.setattr(client, "post", forgetful_post)
    lines: list[str] = []
    with client:
        report = run_doctor(
            client,
            tokens,
            mailbox=PILOT,
            attendee=LEA,
            timezone="America/Chicago",
            day=dt.date(2026, 12, 1),
            tasks="calendar",
            emit=lines.append,
        )
    assert not report.ok
    repeat = next(x for x in lines if "repeat create" in x)
    assert repeat.startswith("FAIL") and "second event" in repeat
    assert left_behind(sb) == {}


def test_to_do_failure_midway_still_cleans_up(
    sb: GraphSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A To Do step that fails after the list and task exist still leaves the mailbox clean."""
    client, tokens = _client(sb, "America/Chicago")
    real_post = client.post

    def no_checklists(url: str, **kw: object) -> object:
        if url.endswith("/checklistItems"):
            from iepsched.core.errors import GraphError

            raise GraphError("POST …/checklistItems: HTTP 400 invalidRequest — nope", code="x")
        return real_post(url, **kw)

    monkeypatch.setattr(client, "post", no_checklists)
    lines: list[str] = []
    with client:
        report = run_doctor(
            client,
            tokens,
            mailbox=PILOT,
            attendee=None,
            timezone="America/Chicago",
            day=dt.date(2026, 12, 1),
            tasks="todo",
            emit=lines.append,
        )
    assert not report.ok
    assert any(x.startswith("FAIL To Do checklist item — x: nope") for x in lines), lines
    assert any(x.startswith("PASS clean up") for x in lines), lines
    assert left_behind(sb) == {}


def test_a_free_busy_error_entry_is_a_failure_with_its_code(tmp_path: Path) -> None:
    """getSchedule's `error` entry for the attendee is a FAIL naming Graph's responseCode."""
    with GraphSandbox(mailboxes=[PILOT]) as sandbox:
        result = cli(
            sandbox_config(tmp_path, sandbox, tasks="calendar"),
            "doctor",
            "--mailbox",
            PILOT,
            "--attendee",
            "nobody@district.org",
        )
        assert result.exit_code == 1, result.output
        line = next(x for x in result.output.splitlines() if "getSchedule" in x)
        # The sandbox answers as Exchange does: responseCode 5009, "Unable to resolve ...".
        assert line.startswith("FAIL getSchedule (free/busy) — 5009: Unable to resolve"), line
        assert "PASS cancel event" in result.output  # the other checks still ran
        assert left_behind(sandbox) == {}


def test_a_repeat_create_answered_with_the_same_event_passes(
    sb: GraphSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Graph may answer a repeated transactionId with the event it made first: that passes too."""
    client, tokens = _client(sb, "America/Chicago")
    real_post = client.post
    first: dict[str, object] = {}

    def replaying_post(url: str, **kw: object) -> object:
        json = kw.get("json")
        if isinstance(json, dict) and "transactionId" in json and first:
            return first  # what the first create answered, as Graph does for a retry
        answer = real_post(url, **kw)
        if isinstance(json, dict) and "transactionId" in json:
            first.update(answer)
        return answer

    monkeypatch.setattr(client, "post", replaying_post)
    lines: list[str] = []
    with client:
        report = run_doctor(
            client,
            tokens,
            mailbox=PILOT,
            attendee=None,
            timezone="America/Chicago",
            day=dt.date(2026, 12, 1),
            tasks="calendar",
            emit=lines.append,
        )
    assert report.ok, lines
    assert "PASS repeat create (same transactionId) — Graph returned the same event" in lines
    assert left_behind(sb) == {}


def test_a_token_that_cannot_be_had_fails_the_first_line_and_stops() -> None:
    """When Entra refuses the app, doctor prints FAIL token with the reason and tries nothing."""
    with GraphSandbox(client_secret="the-right-secret") as sb:
        _refused_token_run(sb)


def _refused_token_run(sb: GraphSandbox) -> None:
    tokens = LoopbackTokenProvider(
        client_id="iepsched-tests",
        authority=sb.authority,
        scope=scope_for(sb.graph_url),
        client_secret="wrong-secret-value",
    )
    lines: list[str] = []
    with GraphClient(endpoint=sb.graph_url, tokens=tokens, timezone="UTC") as client:
        report = run_doctor(
            client,
            tokens,
            mailbox=PILOT,
            attendee=None,
            timezone="UTC",
            day=dt.date(2026, 12, 1),
            tasks="todo",
            emit=lines.append,
        )
    assert not report.ok and len(lines) == 1 and lines[0].startswith("FAIL token — ")
    assert "wrong-secret-value" not in lines[0]

"""The strict sandbox: which mailboxes exist, the app's access policy, token roles, room booking
policies and long Retry-After values (SPEC §5 "Sandbox"; issue 9 "A strict sandbox")."""

from __future__ import annotations

import random
from typing import Any

import pytest
import requests
from test_sandbox_traffic import batch, bearer, create_item, event_body

from iepsched.m365 import schema as graphschema
from iepsched.sandbox import GraphSandbox

WINDOW = {
    "startTime": {"dateTime": "2026-09-01T00:00:00", "timeZone": "UTC"},
    "endTime": {"dateTime": "2026-09-02T00:00:00", "timeZone": "UTC"},
}


def get(sb: GraphSandbox, auth: dict[str, str], path: str) -> requests.Response:
    return requests.get(sb.graph_url + path, headers=auth, timeout=5)


def post(sb: GraphSandbox, auth: dict[str, str], path: str, body: Any) -> requests.Response:
    return requests.post(sb.graph_url + path, json=body, headers=auth, timeout=5)


def code(resp: requests.Response) -> tuple[int, str]:
    return resp.status_code, resp.json()["error"]["code"]


# --- the tenant's mailboxes ---------------------------------------------------------------------


def test_by_default_every_address_has_a_mailbox() -> None:
    """Without `mailboxes`, any address works, so a district can try every command."""
    with GraphSandbox() as sb:
        auth = bearer(sb)
        assert get(sb, auth, "/users/anyone@any.org/events").status_code == 200


def test_an_address_outside_the_tenant_gets_graphs_404() -> None:
    """With `mailboxes`, other users' calendar and To Do paths answer 404 ErrorInvalidUser."""
    with GraphSandbox(mailboxes=["CM@d.org"]) as sb:
        auth = bearer(sb)
        assert get(sb, auth, "/users/cm@d.org/events").status_code == 200
        missing = get(sb, auth, "/users/ghost@d.org/events")
        assert code(missing) == (404, "ErrorInvalidUser")
        assert "ghost@d.org" in missing.json()["error"]["message"]
        assert code(get(sb, auth, "/users/ghost@d.org/todo/lists")) == (404, "ErrorInvalidUser")
        created = post(sb, auth, "/users/ghost@d.org/events", event_body())
        assert code(created) == (404, "ErrorInvalidUser")
        assert "ghost@d.org" not in sb.dump()["mailboxes"]


def test_get_schedule_answers_an_error_entry_for_an_unknown_address() -> None:
    """An address the tenant lacks gets a scheduleInformation with only an error, not "free"."""
    with GraphSandbox(mailboxes=["cm@d.org", "lea@d.org"]) as sb:
        auth = bearer(sb)
        body = {"schedules": ["lea@d.org", "ghost@d.org"], **WINDOW}
        reply = post(sb, auth, "/users/cm@d.org/calendar/getSchedule", body)
        assert reply.status_code == 200
        known, unknown = reply.json()["value"]
        assert known["availabilityView"] and "error" not in known
        assert unknown["scheduleId"] == "ghost@d.org"
        assert "availabilityView" not in unknown
        assert unknown["error"]["responseCode"] == "5009"
        assert "ghost@d.org" in unknown["error"]["message"]
        graphschema.validate("scheduleInformation", unknown)


def test_a_denied_mailbox_answers_403_on_calendar_paths_but_not_to_do() -> None:
    """Outside the access policy: 403 ErrorAccessDenied for events, calendarView, getSchedule;
    To Do stays open, since access policies do not cover Tasks permissions."""
    with GraphSandbox(deny_mailboxes=["out@d.org"]) as sb:
        auth = bearer(sb)
        assert code(get(sb, auth, "/users/out@d.org/events")) == (403, "ErrorAccessDenied")
        view = "/users/out@d.org/calendarView?startDateTime=2026-09-01&endDateTime=2026-09-02"
        assert code(get(sb, auth, view)) == (403, "ErrorAccessDenied")
        body = {"schedules": ["cm@d.org"], **WINDOW}
        schedule = post(sb, auth, "/users/out@d.org/calendar/getSchedule", body)
        assert code(schedule) == (403, "ErrorAccessDenied")
        assert code(post(sb, auth, "/users/out@d.org/events", event_body())) == (
            403,
            "ErrorAccessDenied",
        )
        assert get(sb, auth, "/users/out@d.org/todo/lists").status_code == 200
        assert get(sb, auth, "/users/cm@d.org/events").status_code == 200


def test_denied_and_missing_mailboxes_answer_per_batch_item() -> None:
    """Inside $batch each item gets its own 404/403 while the others succeed."""
    with GraphSandbox(mailboxes=["cm@d.org"], deny_mailboxes=["out@d.org"]) as sb:
        auth = bearer(sb)
        reply = batch(
            sb,
            auth,
            [
                create_item("1", "cm@d.org", "ok"),
                create_item("2", "ghost@d.org", "missing"),
                create_item("3", "out@d.org", "denied"),
            ],
        )
        assert reply.status_code == 200
        by_id = {r["id"]: r for r in reply.json()["responses"]}
        assert by_id["1"]["status"] == 201
        assert (by_id["2"]["status"], by_id["2"]["body"]["error"]["code"]) == (
            404,
            "ErrorInvalidUser",
        )
        assert (by_id["3"]["status"], by_id["3"]["body"]["error"]["code"]) == (
            403,
            "ErrorAccessDenied",
        )


# --- token roles ----------------------------------------------------------------------------


def roles_in(auth: dict[str, str]) -> list[str]:
    import base64
    import json

    payload = auth["Authorization"].split()[1].split(".")[1]
    return list(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["roles"])


def test_default_tokens_carry_the_roles_iepsched_needs() -> None:
    """By default the token's roles are Calendars.ReadWrite and Tasks.ReadWrite.All (no rooms role:
    iepsched reads no room directory)."""
    with GraphSandbox() as sb:
        assert sorted(roles_in(bearer(sb))) == ["Calendars.ReadWrite", "Tasks.ReadWrite.All"]


def test_a_token_without_the_needed_role_gets_403() -> None:
    """Calendars.Read can read events and free/busy but not write them; no Tasks role, no To Do."""
    with GraphSandbox(roles=["Calendars.Read"]) as sb:
        auth = bearer(sb)
        assert roles_in(auth) == ["Calendars.Read"]
        assert get(sb, auth, "/users/cm@d.org/events").status_code == 200
        body = {"schedules": ["cm@d.org"], **WINDOW}
        assert post(sb, auth, "/users/cm@d.org/calendar/getSchedule", body).status_code == 200
        assert code(post(sb, auth, "/users/cm@d.org/events", event_body())) == (
            403,
            "ErrorAccessDenied",
        )
        assert code(get(sb, auth, "/users/cm@d.org/todo/lists")) == (403, "ErrorAccessDenied")
        reply = batch(sb, auth, [create_item("1", "cm@d.org", "x")])
        assert reply.json()["responses"][0]["status"] == 403


@pytest.mark.parametrize(
    ("roles", "allowed"),
    [
        (["Calendars.ReadBasic"], {"schedule"}),
        (["Tasks.Read.All"], {"tasks_read"}),
        (["Tasks.ReadWrite.All"], {"tasks_read", "tasks_write"}),
        (["Calendars.ReadWrite"], {"schedule", "events_read", "events_write"}),
        ([], set()),
    ],
)
def test_each_operation_needs_one_of_its_documented_roles(
    roles: list[str], allowed: set[str]
) -> None:
    """getSchedule takes Calendars.ReadBasic; To Do reads take Tasks.Read.All, writes ReadWrite."""
    with GraphSandbox(roles=roles) as sb:
        auth = bearer(sb)
        schedule = {"schedules": ["a@d.org"], **WINDOW}
        outcomes = {
            "schedule": post(sb, auth, "/users/cm@d.org/calendar/getSchedule", schedule),
            "events_read": get(sb, auth, "/users/cm@d.org/events"),
            "events_write": post(sb, auth, "/users/cm@d.org/events", event_body()),
            "tasks_read": get(sb, auth, "/users/cm@d.org/todo/lists"),
            "tasks_write": post(sb, auth, "/users/cm@d.org/todo/lists", {"displayName": "IEP"}),
        }
        assert {k for k, r in outcomes.items() if r.status_code < 400} == allowed
        assert all(r.status_code == 403 for k, r in outcomes.items() if k not in allowed)


# --- rooms --------------------------------------------------------------------------------------


def meeting(room: str, subject: str = "IEP", day: int = 1) -> dict[str, Any]:
    return {
        **event_body(subject, day),
        "attendees": [
            {"emailAddress": {"address": "lea@d.org"}, "type": "required"},
            {"emailAddress": {"address": room}, "type": "resource"},
        ],
    }


def room_answer(reply: requests.Response, room: str) -> str:
    for attendee in reply.json()["attendees"]:
        if attendee["emailAddress"]["address"] == room:
            return str(attendee["status"]["response"])
    raise AssertionError(room)


def test_rooms_answer_by_their_booking_policy() -> None:
    """accept (default: free -> accepted, conflict -> declined), decline, tentative, none."""
    policies = {"no@d.org": "decline", "maybe@d.org": "tentative", "later@d.org": "none"}
    with GraphSandbox(room_policies=policies) as sb:
        auth = bearer(sb)
        url = "/users/cm@d.org/events"
        assert room_answer(post(sb, auth, url, meeting("auto@d.org")), "auto@d.org") == "accepted"
        clash = post(sb, auth, url, meeting("auto@d.org", "second"))
        assert room_answer(clash, "auto@d.org") == "declined"
        assert room_answer(post(sb, auth, url, meeting("no@d.org")), "no@d.org") == "declined"
        tentative = post(sb, auth, url, meeting("maybe@d.org"))
        assert room_answer(tentative, "maybe@d.org") == "tentativelyAccepted"
        assert room_answer(post(sb, auth, url, meeting("later@d.org")), "later@d.org") == "none"
        # The room's free/busy follows its answer: tentative shows "1", declined stays free.
        body = {"schedules": ["maybe@d.org", "no@d.org"], **WINDOW}
        view = post(sb, auth, "/users/cm@d.org/calendar/getSchedule", body).json()["value"]
        assert "1" in view[0]["availabilityView"] and set(view[1]["availabilityView"]) == {"0"}


def test_a_room_the_tenant_lacks_never_answers() -> None:
    """With `mailboxes`, a room outside the tenant leaves its invitation unanswered."""
    with GraphSandbox(mailboxes=["cm@d.org", "lea@d.org", "room@d.org"]) as sb:
        auth = bearer(sb)
        url = "/users/cm@d.org/events"
        assert room_answer(post(sb, auth, url, meeting("room@d.org")), "room@d.org") == "accepted"
        assert room_answer(post(sb, auth, url, meeting("gone@d.org")), "gone@d.org") == "none"


def test_an_unknown_room_policy_is_refused() -> None:
    """A typo in a room policy fails at configuration time, not silently at booking time."""
    with pytest.raises(ValueError, match="room policy"):
        GraphSandbox(room_policies={"r@d.org": "maybe"})


# --- Retry-After ------------------------------------------------------------------------------


def test_retry_after_max_sometimes_asks_for_many_seconds() -> None:
    """With retry_after_max, some Retry-After values are long (and some whole seconds)."""
    with GraphSandbox(seed=5, retry_after_max=30.0) as sb:
        values = [float(sb.gate.retry_after()) for _ in range(400)]
    long = [v for v in values if v > 1.0]
    assert 10 <= len(long) <= 80 and max(long) <= 30.0
    assert any(v == int(v) for v in long) and any(v != int(v) for v in long)
    assert all(v > 0 for v in values)


def test_without_retry_after_max_values_stay_short_and_unchanged() -> None:
    """The default keeps today's draws: the seeded sequence of before, all <= 1 s."""
    rng = random.Random(5)
    expected = []
    for _ in range(50):
        value, digits = rng.uniform(0.05, 1.0), rng.choice((1, 2, 3))
        text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
        expected.append(text if text not in ("", "0") else "0.1")
    with GraphSandbox(seed=5) as sb:
        assert [sb.gate.retry_after() for _ in range(50)] == expected


# --- the CLI ------------------------------------------------------------------------------------


def test_sandbox_serve_flags_reach_the_sandbox(tmp_path: Any) -> None:
    """`sandbox serve --mailbox/--deny-mailbox/--role/--room-policy/--record` configure what it
    serves."""
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exe = str(Path(sys.executable).with_name("iepsched"))
    args = [exe, "sandbox", "serve", "--port", str(port), "--mailbox", "cm@d.org"]
    args += ["--deny-mailbox", "out@d.org", "--role", "Calendars.ReadWrite"]
    args += ["--room-policy", "r@d.org=decline", "--retry-after-max", "20", "--record"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                config = requests.get(base + "/_sandbox/stats", timeout=1).json()["config"]
                logged = requests.get(base + "/_sandbox/requests", timeout=1).json()
                break
            except requests.exceptions.ConnectionError:
                time.sleep(0.05)
        else:
            raise AssertionError(proc.stderr.read() if proc.stderr else "no sandbox")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert config["mailboxes"] == ["cm@d.org", "out@d.org"]
    assert config["deny_mailboxes"] == ["out@d.org"]
    assert config["roles"] == ["Calendars.ReadWrite"]
    assert config["room_policies"] == {"r@d.org": "decline"}
    assert config["record"] is True and logged == {"requests": []}


def test_sandbox_serve_refuses_a_bad_room_policy() -> None:
    """A malformed --room-policy is a usage error (exit 2), not a traceback."""
    from click.testing import CliRunner

    from iepsched.cli.base import main

    result = CliRunner().invoke(main, ["sandbox", "serve", "--room-policy", "r@d.org=maybe"])
    assert result.exit_code == 2 and "ROOM=POLICY" in result.output

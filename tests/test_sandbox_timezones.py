"""The sandbox accepts the time-zone names Graph documents and answers others with Graph's 400."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from iepsched.sandbox import GraphSandbox, timezones

SCOPE = "https://graph.microsoft.com/.default"
UNDOCUMENTED = ("America/Detroit", "America/Boise", "US/Central", "Mars/Olympus", "")


@pytest.fixture
def session() -> Iterator[tuple[GraphSandbox, requests.Session]]:
    with GraphSandbox() as sb:
        form = {"grant_type": "client_credentials", "client_id": "app", "client_secret": "s"}
        token = requests.post(sb.token_url, data={**form, "scope": SCOPE}, timeout=5).json()
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token['access_token']}"
        yield sb, http


def _event(zone: str) -> dict[str, Any]:
    return {
        "subject": "zone check",
        "start": {"dateTime": "2026-09-01T15:30:00", "timeZone": zone},
        "end": {"dateTime": "2026-09-01T16:30:00", "timeZone": zone},
    }


def _is_zone_refusal(reply: requests.Response, zone: str) -> bool:
    error = reply.json()["error"]
    return (
        reply.status_code == 400
        and error["code"] == "TimeZoneNotSupportedException"
        and f"'{zone}'" in error["message"]
    )


def test_documented_names_are_accepted() -> None:
    """Windows names (CLDR's whole list) and every documented IANA name resolve; case is ignored."""
    for name in (*timezones.DOCUMENTED_IANA, "Central Standard Time", "Mountain Standard Time"):
        assert timezones.is_known(name), name
    assert timezones.is_known("central standard time")
    assert timezones.is_known("US Mountain Standard Time")
    assert timezones.is_known("Yukon Standard Time")  # in CLDR, not in the sandbox's own table
    assert timezones.is_known("UTC")


def test_tzdata_names_outside_the_documented_list_are_not() -> None:
    """A valid tzdata name Graph does not list (America/Detroit, America/Boise) is unknown."""
    for name in UNDOCUMENTED:
        assert not timezones.is_known(name), name


def test_prefer_header_with_an_unsupported_zone_is_refused(
    session: tuple[GraphSandbox, requests.Session],
) -> None:
    """Prefer: outlook.timezone with an undocumented zone gets 400, not a silent UTC answer."""
    sb, http = session
    url = sb.graph_url + "/users/cm@d.org/events"
    for zone in UNDOCUMENTED:
        reply = http.get(url, headers={"Prefer": f'outlook.timezone="{zone}"'}, timeout=5)
        assert _is_zone_refusal(reply, zone), (zone, reply.text)
    for zone in ("America/Chicago", "Central Standard Time", "Europe/Kiev", "Europe/Kyiv"):
        reply = http.get(url, headers={"Prefer": f'outlook.timezone="{zone}"'}, timeout=5)
        assert reply.status_code == 200, (zone, reply.text)
        assert reply.headers["Preference-Applied"] == f'outlook.timezone="{zone}"'


def test_bodies_with_an_unsupported_zone_are_refused(
    session: tuple[GraphSandbox, requests.Session],
) -> None:
    """An event or a To Do task whose dateTimeTimeZone names an undocumented zone gets 400."""
    sb, http = session
    events = sb.graph_url + "/users/cm@d.org/events"
    refused = http.post(events, json=_event("America/Detroit"), timeout=5)
    assert _is_zone_refusal(refused, "America/Detroit")
    assert http.post(events, json=_event("America/Denver"), timeout=5).status_code == 201
    lists = sb.graph_url + "/users/cm@d.org/todo/lists"
    todo = http.post(lists, json={"displayName": "zones"}, timeout=5).json()
    due = {"dateTime": "2026-09-03T00:00:00", "timeZone": "US/Central"}
    task = {"title": "t", "dueDateTime": due}
    # To Do answers a bad zone with its own 400 (invalidRequest), as for any malformed field.
    assert http.post(f"{lists}/{todo['id']}/tasks", json=task, timeout=5).status_code == 400

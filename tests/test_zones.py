"""Time-zone names on the wire: Graph takes Windows names, the config holds IANA (SPEC §5)."""

from __future__ import annotations

from pathlib import Path

import pytest
import responses

from iepsched.core.errors import UserError
from iepsched.inputs.config import load_config
from iepsched.m365.graph import GraphClient
from iepsched.m365.graphread import parse_datetime, resolve_zone
from iepsched.m365.graphwrite import graph_times, schedule_requests
from iepsched.m365.zones import iana_zone, windows_zone

CORPUS = Path(__file__).parent / "corpus" / "config"
ROOT = "https://graph.microsoft.com/v1.0"


class _Tokens:
    def token(self) -> str:
        return "tok"

    def invalidate(self) -> None:
        pass


@pytest.mark.parametrize(
    ("iana", "windows"),
    [
        ("America/Detroit", "Eastern Standard Time"),
        ("America/Boise", "Mountain Standard Time"),
        ("America/Chicago", "Central Standard Time"),
        ("America/Indiana/Indianapolis", "US Eastern Standard Time"),
        ("America/Phoenix", "US Mountain Standard Time"),
        ("Pacific/Honolulu", "Hawaiian Standard Time"),
    ],
)
def test_iana_zones_map_to_their_windows_names(iana: str, windows: str) -> None:
    """Zones Graph refuses by IANA name (Detroit, Boise) go out as their CLDR Windows name."""
    assert windows_zone(iana) == windows


def test_a_zone_without_a_windows_name_is_refused() -> None:
    """A tzdata zone CLDR has no Windows name for is an error, not a name Graph will 400 on."""
    with pytest.raises(ValueError, match="no Windows name"):
        windows_zone("EST5EDT")


def test_prefer_header_carries_the_windows_name() -> None:
    """`Prefer: outlook.timezone` is the Windows name of the configured IANA zone."""
    client = GraphClient(tokens=_Tokens(), timezone="America/Detroit")
    with responses.RequestsMock() as rs:
        rs.add("GET", f"{ROOT}/users/x/events/1", json={"id": "1"})
        client.get("/users/x/events/1")
        prefer = rs.calls[0].request.headers["Prefer"]
    client.close()
    assert 'outlook.timezone="Eastern Standard Time"' in prefer


def test_bodies_carry_windows_names() -> None:
    """Every dateTimeTimeZone of a write body and of getSchedule is labelled with a Windows name."""
    body = graph_times(
        {
            "subject": "x",
            "start": {"dateTime": "2027-01-06T07:45:00", "timeZone": "America/Boise"},
            "dueDateTime": {"dateTime": "2027-01-06T00:00:00", "timeZone": "America/Boise"},
        }
    )
    assert body["start"]["timeZone"] == body["dueDateTime"]["timeZone"] == "Mountain Standard Time"
    assert body["subject"] == "x"
    zone = resolve_zone("America/Boise")
    assert zone is not None
    start = parse_datetime({"dateTime": "2027-01-06T00:00:00", "timeZone": "America/Boise"})
    end = parse_datetime({"dateTime": "2027-01-08T00:00:00", "timeZone": "America/Boise"})
    assert start is not None and end is not None
    (req,) = schedule_requests(
        ["a@x.org"], start, end, organizer="o@x.org", zone=zone, timezone="America/Boise"
    )
    assert isinstance(req.body, dict)
    assert req.body["startTime"]["timeZone"] == "Mountain Standard Time"


def test_windows_names_graph_echoes_are_read_back() -> None:
    """A time Graph labels with any Windows name is read in that zone (CLDR, not a US list)."""
    assert iana_zone("W. Europe Standard Time") == "Europe/Berlin"
    value = parse_datetime(
        {"dateTime": "2027-01-06T07:45:00", "timeZone": "W. Europe Standard Time"}
    )
    assert value is not None and value.utcoffset() is not None
    assert value.utcoffset().total_seconds() == 3600  # type: ignore[union-attr]


def test_config_check_refuses_a_zone_graph_cannot_take(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`config check` names the file, [district] timezone and what to use instead."""
    text = (CORPUS / "minimal.toml").read_text(encoding="utf-8")
    for name in ("roster.csv", "calendar.toml"):
        (tmp_path / name).write_bytes((CORPUS / name).read_bytes())
    bad = tmp_path / "district.toml"
    bad.write_text(text.replace('"America/Chicago"', '"EST5EDT"'), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError) as caught:
        load_config(bad)
    (problem,) = [str(p) for p in caught.value.problems]
    assert problem.startswith("district.toml [district] timezone: 'EST5EDT' has no Windows")
    assert "America/New_York" in problem
    good = tmp_path / "detroit.toml"
    good.write_text(text.replace('"America/Chicago"', '"America/Detroit"'), encoding="utf-8")
    assert load_config(good).district.timezone == "America/Detroit"

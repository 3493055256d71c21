"""The Graph sandbox: auth, calendar, free/busy and To Do behave like Microsoft Graph v1.0."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import msal
import pytest
import requests

from iepsched.m365 import schema as graphschema
from iepsched.sandbox import GraphSandbox, serve

EXAMPLES = Path(__file__).parent / "graph-reference" / "examples"
PROP = "String {66f5a359-4659-4830-9070-00040ec6ac6e} Name iepschedKey"
SCOPE = "https://graph.microsoft.com/.default"


def token_for(sb: GraphSandbox, **extra: str) -> str:
    form = {"grant_type": "client_credentials", "client_id": "app", "client_secret": "s"}
    form.update({"scope": SCOPE, **extra})
    reply = requests.post(sb.token_url, data=form, timeout=5)
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


class Graph:
    """A tiny authenticated client for the tests."""

    def __init__(self, sb: GraphSandbox) -> None:
        self.sb = sb
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token_for(sb)}"

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.sb.graph_url + path

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.session.get(self.url(path), timeout=5, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.session.post(self.url(path), json=body, timeout=5, **kw)

    def patch(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.session.patch(self.url(path), json=body, timeout=5, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.session.delete(self.url(path), timeout=5, **kw)


@pytest.fixture
def sb() -> Iterator[GraphSandbox]:
    with GraphSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def g(sb: GraphSandbox) -> Graph:
    return Graph(sb)


def valid(type_name: str, obj: dict[str, Any]) -> dict[str, Any]:
    problems = graphschema.errors(type_name, obj, strict=True)
    assert problems == [], problems
    return obj


def meeting(
    start: str = "2026-09-01T15:30:00",
    end: str = "2026-09-01T16:30:00",
    zone: str = "America/Chicago",
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": "IEP S1001",
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
    }
    body.update(extra)
    return body


def attendee(address: str, kind: str = "required") -> dict[str, Any]:
    return {"emailAddress": {"address": address}, "type": kind}


def ev_path(user: str, event_id: str = "") -> str:
    return f"/users/{user}/events" + (f"/{quote(event_id, safe='')}" if event_id else "")


# --- auth ---------------------------------------------------------------------------------------


def test_graph_refuses_requests_without_a_sandbox_token(sb: GraphSandbox) -> None:
    """Graph calls without a Bearer token from this sandbox get 401 InvalidAuthenticationToken."""
    url = sb.graph_url + "/users/cm@d.org/events"
    for headers in ({}, {"Authorization": "Bearer not.a.token"}, {"Authorization": "Basic x"}):
        reply = requests.get(url, headers=headers, timeout=5)
        assert reply.status_code == 401
        error = reply.json()["error"]
        assert error["code"] == "InvalidAuthenticationToken"
        assert {"request-id", "date"} <= set(error["innerError"])
    ok = requests.get(url, headers={"Authorization": f"Bearer {token_for(sb)}"}, timeout=5)
    assert ok.status_code == 200
    with GraphSandbox() as other:  # a token from another sandbox instance is not accepted
        foreign = requests.get(
            other.graph_url + "/users/cm@d.org/events",
            headers={"Authorization": f"Bearer {token_for(sb)}"},
            timeout=5,
        )
        assert foreign.status_code == 401


def test_token_endpoint_answers_like_entra(sb: GraphSandbox) -> None:
    """The token endpoint returns Entra's token shape and Entra-style errors for bad requests."""
    good = {"grant_type": "client_credentials", "client_id": "a", "client_secret": "s"}
    reply = requests.post(sb.token_url, data={**good, "scope": SCOPE}, timeout=5).json()
    assert reply["token_type"] == "Bearer" and reply["expires_in"] == 3599
    assert reply["ext_expires_in"] == 3599 and reply["access_token"].count(".") == 2
    cases = [
        (
            {**good, "scope": "https://graph.microsoft.com/Calendars.ReadWrite"},
            400,
            "invalid_scope",
        ),
        ({**good}, 400, "invalid_request"),
        ({**good, "grant_type": "password", "scope": SCOPE}, 400, "unsupported_grant_type"),
        (
            {"grant_type": "client_credentials", "client_id": "a", "scope": SCOPE},
            401,
            "invalid_client",
        ),
    ]
    for form, status, error in cases:
        bad = requests.post(sb.token_url, data=form, timeout=5)
        assert (bad.status_code, bad.json()["error"]) == (status, error)
        assert bad.json()["error_description"].startswith("AADSTS")
    wrong_tenant = requests.post(
        sb.base_url + "/other/oauth2/v2.0/token", data={**good, "scope": SCOPE}, timeout=5
    )
    assert wrong_tenant.status_code == 400


def test_configured_client_secret_is_enforced() -> None:
    """With client_secret set, a wrong secret gets 401 invalid_client (AADSTS7000215)."""
    with GraphSandbox(client_secret="right") as sb:
        form = {"grant_type": "client_credentials", "client_id": "a", "scope": SCOPE}
        bad = requests.post(sb.token_url, data={**form, "client_secret": "wrong"}, timeout=5)
        assert bad.status_code == 401 and "AADSTS7000215" in bad.json()["error_description"]
        ok = requests.post(sb.token_url, data={**form, "client_secret": "right"}, timeout=5)
        assert ok.status_code == 200


def test_openid_configuration_and_instance_discovery_point_back(sb: GraphSandbox) -> None:
    """OIDC discovery documents name the sandbox's own token endpoint and tenant."""
    conf = requests.get(f"{sb.authority}/v2.0/.well-known/openid-configuration", timeout=5).json()
    assert conf["token_endpoint"] == sb.token_url
    assert conf["issuer"].startswith(sb.base_url)
    assert conf["device_authorization_endpoint"].startswith(sb.authority)
    found = requests.get(
        sb.base_url + "/common/discovery/instance",
        params={
            "api-version": "1.1",
            "authorization_endpoint": sb.authority + "/oauth2/v2.0/authorize",
        },
        timeout=5,
    ).json()
    assert found["tenant_discovery_endpoint"] == (
        f"{sb.authority}/v2.0/.well-known/openid-configuration"
    )


def test_msal_refuses_http_authority(sb: GraphSandbox) -> None:
    """msal 1.x only accepts https authorities, so the plain-http sandbox cannot host msal."""
    with pytest.raises(ValueError, match="https"):
        msal.ConfidentialClientApplication(
            "app", client_credential="s", authority=sb.authority, instance_discovery=False
        )


def test_msal_acquires_a_token_from_the_tls_sandbox() -> None:
    """With tls=True, msal's ConfidentialClientApplication gets a token the sandbox accepts."""
    with GraphSandbox(tls=True) as sb:
        assert sb.base_url.startswith("https://127.0.0.1:") and sb.ca_file
        session = requests.Session()
        # REQUESTS_CA_BUNDLE would override Session.verify; trust only the sandbox's cert.
        session.trust_env = False
        session.verify = sb.ca_file
        app = msal.ConfidentialClientApplication(
            "app",
            client_credential="s",
            authority=sb.authority,
            instance_discovery=False,
            http_client=session,
        )
        result = app.acquire_token_for_client(scopes=[SCOPE])
        assert "access_token" in result, result
        reply = session.get(
            sb.graph_url + "/users/cm@d.org/todo/lists",
            headers={"Authorization": "Bearer " + result["access_token"]},
            timeout=5,
        )
        assert reply.status_code == 200
        assert app.acquire_token_for_client(scopes=[SCOPE])["token_source"] == "cache"


# --- events -------------------------------------------------------------------------------------


def test_event_create_returns_a_strictly_valid_graph_event(g: Graph) -> None:
    """POST events answers 201 with Graph's full event shape; extended properties stay hidden."""
    body = meeting(
        attendees=[attendee("lea@d.org"), attendee("room1@d.org", "resource")],
        sensitivity="private",
        categories=["IEP"],
        singleValueExtendedProperties=[{"id": PROP, "value": "S1001:meeting"}],
        transactionId="6f1c1f0e-0000-4000-8000-000000000001",
    )
    reply = g.post(ev_path("CM@d.org"), body)
    assert reply.status_code == 201
    ev = valid("event", reply.json())
    assert ev["@odata.etag"] == f'W/"{ev["changeKey"]}"'
    assert ev["@odata.context"].endswith("/events/$entity")
    assert ev["id"].endswith("=") and ev["iCalUId"] and ev["webLink"]
    assert ev["start"] == {"dateTime": "2026-09-01T20:30:00.0000000", "timeZone": "UTC"}
    assert ev["originalStartTimeZone"] == "America/Chicago"
    assert ev["organizer"]["emailAddress"]["address"] == "cm@d.org"
    assert ev["attendees"][0]["status"] == {"response": "none", "time": "0001-01-01T00:00:00Z"}
    assert ev["attendees"][1]["status"]["response"] == "accepted"  # a free room accepts
    assert ev["transactionId"] == body["transactionId"]
    assert ev["isCancelled"] is False and ev["type"] == "singleInstance"
    assert "singleValueExtendedProperties" not in ev
    assert ev["createdDateTime"].endswith("Z") and len(ev["createdDateTime"]) == 28


def test_event_get_with_expand_and_select(g: Graph) -> None:
    """GET an event returns the extended property only when $expand-ed; $select trims fields."""
    ev = g.post(
        ev_path("cm@d.org"), meeting(singleValueExtendedProperties=[{"id": PROP, "value": "v"}])
    ).json()
    plain = g.get(ev_path("cm@d.org", ev["id"])).json()
    assert "singleValueExtendedProperties" not in valid("event", plain)
    expanded = g.get(
        ev_path("cm@d.org", ev["id"]),
        params={"$expand": f"singleValueExtendedProperties($filter=id eq '{PROP}')"},
    ).json()
    assert valid("event", expanded)["singleValueExtendedProperties"] == [{"id": PROP, "value": "v"}]
    other = "String {00000000-0000-0000-0000-000000000001} Name other"
    missing = g.get(
        ev_path("cm@d.org", ev["id"]),
        params={"$expand": f"singleValueExtendedProperties($filter=id eq '{other}')"},
    ).json()
    assert "singleValueExtendedProperties" not in missing
    picked = g.get(ev_path("cm@d.org", ev["id"]), params={"$select": "subject,start"}).json()
    assert set(picked) - {"@odata.context", "@odata.etag"} == {"id", "subject", "start"}


def test_filter_events_by_extended_property(g: Graph) -> None:
    """$filter on singleValueExtendedProperties/Any(...) finds events by id AND a value test."""
    for key in ("S1:meeting", "S2:meeting"):
        g.post(
            ev_path("cm@d.org"), meeting(singleValueExtendedProperties=[{"id": PROP, "value": key}])
        )
    g.post(ev_path("cm@d.org"), meeting(subject="untagged"))

    def subjects_matching(flt: str) -> int:
        reply = g.get(ev_path("cm@d.org"), params={"$filter": flt})
        assert reply.status_code == 200, reply.text
        return len(reply.json()["value"])

    # GUID and type are case-insensitive, value too; the Name part is not.
    assert (
        subjects_matching(
            "singleValueExtendedProperties/Any(ep: ep/id eq "
            "'string {66F5A359-4659-4830-9070-00040EC6AC6E} Name iepschedKey'"
            " and ep/value eq 's1:MEETING')"
        )
        == 1
    )
    assert (
        subjects_matching(
            f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP}' and ep/value ne 'x')"
        )
        == 2
    )
    assert (
        subjects_matching(
            f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP}'"
            " and startswith(ep/value, 'S2'))"
        )
        == 1
    )
    assert (
        subjects_matching(
            f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP}'"
            " and contains(ep/value, 'meet'))"
        )
        == 2
    )
    assert (
        subjects_matching(
            "singleValueExtendedProperties/Any(ep: ep/id eq "
            "'String {66f5a359-4659-4830-9070-00040ec6ac6e} Name IEPSCHEDKEY' and ep/value ne 'x')"
        )
        == 0
    )


@pytest.mark.parametrize(
    "flt",
    [
        # The id alone: every Microsoft example also tests the value (graph-facts §8).
        f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP}')",
        f"singleValueExtendedProperties/any(ep: ep/id eq '{PROP}')",
        "singleValueExtendedProperties/Any(ep: ep/value eq 'x')",
        f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP}' or ep/value eq 'x')",
        f"singleValueExtendedProperties/Any(ep: ep/id ne '{PROP}' and ep/value eq 'x')",
        f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP}' and endswith(ep/value, 'x'))",
        f"singleValueExtendedProperties/All(ep: ep/id eq '{PROP}' and ep/value eq 'x')",
        f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP}' and ep/value eq 'x'"
        " and ep/value ne 'y')",
        "attendees/any(a: a/emailAddress/address eq 'x@d.org')",
    ],
)
def test_undocumented_extended_property_filters_are_refused(g: Graph, flt: str) -> None:
    """An extended-property filter other than the documented id-AND-value forms gets Graph's 400
    ErrorInvalidUrlQueryFilter, never a silent answer (SPEC §5 "Only documented Graph")."""
    g.post(ev_path("cm@d.org"), meeting(singleValueExtendedProperties=[{"id": PROP, "value": "x"}]))
    bad = g.get(ev_path("cm@d.org"), params={"$filter": flt})
    assert bad.status_code == 400, bad.text
    assert bad.json()["error"] == {
        **bad.json()["error"],
        "code": "ErrorInvalidUrlQueryFilter",
        "message": "The query filter contains one or more invalid nodes.",
    }


@pytest.mark.parametrize(
    "flt",
    [f"id ne '{PROP}'", "startswith(id, 'String')", f"id eq '{PROP}' and id eq '{PROP}'"],
)
def test_expanding_extended_properties_needs_id_eq(g: Graph, flt: str) -> None:
    """$expand=singleValueExtendedProperties takes only the documented $filter=id eq '{id}' (or
    several joined with or); another test of the id is a 400, not a silent expansion."""
    ev = g.post(
        ev_path("cm@d.org"), meeting(singleValueExtendedProperties=[{"id": PROP, "value": "v"}])
    ).json()
    other = "String {00000000-0000-0000-0000-000000000001} Name other"
    both = g.get(
        ev_path("cm@d.org", ev["id"]),
        params={
            "$expand": f"singleValueExtendedProperties($filter=id eq '{PROP}' or id eq '{other}')"
        },
    )
    assert both.status_code == 200 and len(both.json()["singleValueExtendedProperties"]) == 1
    bad = g.get(
        ev_path("cm@d.org", ev["id"]),
        params={"$expand": f"singleValueExtendedProperties($filter={flt})"},
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "ErrorInvalidUrlQuery"


def test_duplicate_transaction_id_is_refused(g: Graph) -> None:
    """Re-using a transactionId in a mailbox gives 400 ErrorDuplicateTransactionId, no duplicate."""
    body = meeting(transactionId="tx-1")
    assert g.post(ev_path("cm@d.org"), body).status_code == 201
    again = g.post(ev_path("CM@d.org"), body)
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "ErrorDuplicateTransactionId"
    assert "already been used" in again.json()["error"]["message"]
    assert g.post(ev_path("other@d.org"), body).status_code == 201  # scope is the mailbox
    assert len(g.get(ev_path("cm@d.org")).json()["value"]) == 1


def test_prefer_outlook_timezone_converts_times(g: Graph) -> None:
    """Times come back in UTC, or in the zone of Prefer: outlook.timezone (Windows or IANA)."""
    ev = g.post(ev_path("cm@d.org"), meeting(zone="Central Standard Time")).json()
    assert ev["start"]["dateTime"] == "2026-09-01T20:30:00.0000000"
    for zone in ("America/Chicago", "Central Standard Time"):
        reply = g.get(
            ev_path("cm@d.org", ev["id"]), headers={"Prefer": f'outlook.timezone="{zone}"'}
        )
        assert reply.json()["start"] == {
            "dateTime": "2026-09-01T15:30:00.0000000",
            "timeZone": zone,
        }
        assert reply.headers["Preference-Applied"] == f'outlook.timezone="{zone}"'
    pacific = g.get(
        ev_path("cm@d.org", ev["id"]),
        headers={"Prefer": 'outlook.timezone="Pacific Standard Time", IdType="ImmutableId"'},
    ).json()
    assert pacific["end"]["dateTime"] == "2026-09-01T14:30:00.0000000"
    bad = g.post(ev_path("cm@d.org"), meeting(zone="Mars/Olympus"))
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "TimeZoneNotSupportedException"


def test_patch_updates_change_key_and_honours_if_match(g: Graph) -> None:
    """PATCH returns the event with a new changeKey/etag; a stale If-Match gets 412."""
    ev = g.post(ev_path("cm@d.org"), meeting(attendees=[attendee("lea@d.org")])).json()
    g.sb.respond("cm@d.org", ev["id"], "lea@d.org", "accepted")
    moved = g.patch(
        ev_path("cm@d.org", ev["id"]),
        {
            "start": {"dateTime": "2026-09-02T15:30:00", "timeZone": "America/Chicago"},
            "end": {"dateTime": "2026-09-02T16:30:00", "timeZone": "America/Chicago"},
        },
        headers={"If-Match": ev["@odata.etag"]},
    )
    assert moved.status_code == 412  # respond() changed the item since ev was read
    fresh = g.get(ev_path("cm@d.org", ev["id"])).json()
    moved = g.patch(
        ev_path("cm@d.org", ev["id"]),
        {
            "start": {"dateTime": "2026-09-02T15:30:00", "timeZone": "America/Chicago"},
            "end": {"dateTime": "2026-09-02T16:30:00", "timeZone": "America/Chicago"},
        },
        headers={"If-Match": fresh["@odata.etag"]},
    )
    assert moved.status_code == 200
    body = valid("event", moved.json())
    assert body["changeKey"] not in (ev["changeKey"], fresh["changeKey"])
    assert body["start"]["dateTime"] == "2026-09-02T20:30:00.0000000"
    assert body["attendees"][0]["status"]["response"] == "none"  # a new time needs a new answer
    renamed = g.patch(ev_path("cm@d.org", ev["id"]), {"subject": "IEP S1001 (moved)"}).json()
    assert renamed["subject"] == "IEP S1001 (moved)" and renamed["start"] == body["start"]
    bad = g.patch(ev_path("cm@d.org", ev["id"]), {"transactionId": "new"})
    assert bad.status_code == 400


def test_cancel_removes_the_event_and_records_the_comment(g: Graph) -> None:
    """POST cancel answers 202, no body; the event leaves the calendar; dump keeps the comment."""
    ev = g.post(ev_path("cm@d.org"), meeting(attendees=[attendee("lea@d.org")])).json()
    comment = json.loads((EXAMPLES / "cancel-event.request.json").read_text())
    reply = g.post(ev_path("cm@d.org", ev["id"]) + "/cancel", comment)
    assert reply.status_code == 202 and reply.content == b""
    gone = g.get(ev_path("cm@d.org", ev["id"]))
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "ErrorItemNotFound"
    cancelled = g.sb.dump()["mailboxes"]["cm@d.org"]["cancelled"]
    assert cancelled[0]["comment"] == comment["Comment"]
    assert valid("event", cancelled[0]["event"])["isCancelled"] is True
    unknown = g.post(ev_path("cm@d.org", ev["id"]) + "/cancel", {"comment": "x"})
    assert unknown.status_code == 404
    ev2 = g.post(ev_path("cm@d.org"), meeting()).json()
    wrong = g.post(ev_path("cm@d.org", ev2["id"]) + "/cancel", {"message": "x"})
    assert wrong.status_code == 400


def test_delete_event_then_unknown_id_is_404(g: Graph) -> None:
    """DELETE answers 204; later requests for that id get 404 ErrorItemNotFound."""
    ev = g.post(ev_path("cm@d.org"), meeting()).json()
    assert g.delete(ev_path("cm@d.org", ev["id"])).status_code == 204
    for reply in (
        g.get(ev_path("cm@d.org", ev["id"])),
        g.delete(ev_path("cm@d.org", ev["id"])),
        g.patch(ev_path("cm@d.org", ev["id"]), {"subject": "x"}),
    ):
        assert reply.status_code == 404
        assert reply.json()["error"]["code"] == "ErrorItemNotFound"


def test_event_list_pages_with_next_link(g: Graph) -> None:
    """Lists page 10 at a time by default; $top and Prefer: odata.maxpagesize set the page size."""
    for i in range(23):
        g.post(ev_path("cm@d.org"), meeting(subject=f"e{i}"))

    def walk(url: str, **kw: Any) -> list[int]:
        sizes = []
        while url:
            page = g.get(url, **kw).json()
            sizes.append(len(page["value"]))
            for item in page["value"]:
                valid("event", item)
            url = page.get("@odata.nextLink", "")
        return sizes

    assert walk(ev_path("cm@d.org")) == [10, 10, 3]
    assert walk(ev_path("cm@d.org") + "?$top=7") == [7, 7, 7, 2]
    assert walk(ev_path("cm@d.org"), headers={"Prefer": "odata.maxpagesize=12"}) == [12, 11]


def test_calendar_view_needs_a_window_and_pages(g: Graph) -> None:
    """calendarView requires startDateTime/endDateTime, returns overlapping items, and pages."""
    for day in range(1, 15):
        g.post(
            ev_path("cm@d.org"),
            meeting(f"2026-09-{day:02d}T08:00:00", f"2026-09-{day:02d}T09:00:00"),
        )
    missing = g.get("/users/cm@d.org/calendarView")
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "ErrorInvalidParameter"
    url = (
        "/users/cm@d.org/calendar/calendarView"
        "?startDateTime=2026-09-03T00:00:00-05:00&endDateTime=2026-09-15T00:00:00Z"
    )
    seen: list[str] = []
    pages = 0
    while url:
        page = g.get(url).json()
        pages += 1
        seen += [valid("event", e)["start"]["dateTime"][:10] for e in page["value"]]
        url = page.get("@odata.nextLink", "")
    assert pages == 2 and seen == [f"2026-09-{d:02d}" for d in range(3, 15)]


def test_calendar_view_expands_recurring_series(g: Graph) -> None:
    """A weekly series shows in calendarView as occurrences with seriesMasterId."""
    body = json.loads((EXAMPLES / "create-event-recurring.request.json").read_text())
    master = g.post(ev_path("cm@d.org"), body).json()
    assert master["type"] == "seriesMaster" and master["recurrence"]["pattern"]["daysOfWeek"] == [
        "monday"
    ]
    view = g.get(
        "/users/cm@d.org/calendarView",
        params={"startDateTime": "2017-09-01T00:00:00Z", "endDateTime": "2017-10-01T00:00:00Z"},
    ).json()["value"]
    assert [e["start"]["dateTime"][:10] for e in view] == [
        "2017-09-04",
        "2017-09-11",
        "2017-09-18",
        "2017-09-25",
    ]
    assert all(e["type"] == "occurrence" and e["seriesMasterId"] == master["id"] for e in view)
    one = g.get(ev_path("cm@d.org", view[1]["id"])).json()
    assert valid("event", one)["start"]["dateTime"].startswith("2017-09-11T19:00")


def test_calendar_view_delta_rounds(g: Graph) -> None:
    """calendarView/delta pages by $skiptoken, ends with a deltaLink, then reports only changes."""
    ids = [
        g.post(
            ev_path("cm@d.org"), meeting(f"2026-10-0{d}T08:00:00", f"2026-10-0{d}T09:00:00")
        ).json()["id"]
        for d in range(1, 6)
    ]
    prefer = {"Prefer": "odata.maxpagesize=2"}
    url = (
        "/users/cm@d.org/calendarView/delta"
        "?startdatetime=2026-10-01T00:00:00Z&enddatetime=2026-10-31T00:00:00Z"
    )
    first: list[str] = []
    while True:
        page = g.get(url, headers=prefer).json()
        first += [valid("event", e)["id"] for e in page["value"]]
        if "@odata.deltaLink" in page:
            delta = page["@odata.deltaLink"]
            assert "$deltatoken=" in delta
            break
        assert "$skiptoken=" in page["@odata.nextLink"]
        url = page["@odata.nextLink"]
    assert sorted(first) == sorted(ids)
    g.patch(ev_path("cm@d.org", ids[0]), {"subject": "changed"})
    g.delete(ev_path("cm@d.org", ids[1]))
    g.post(ev_path("cm@d.org", ids[2]) + "/cancel", {"comment": "bye"})
    new = g.post(ev_path("cm@d.org"), meeting("2026-10-20T08:00:00", "2026-10-20T09:00:00")).json()
    page = g.get(delta).json()
    changed = {e["id"]: e for e in page["value"]}
    assert set(changed) == {ids[0], ids[1], ids[2], new["id"]}
    assert changed[ids[0]]["subject"] == "changed"
    assert changed[ids[1]]["@removed"] == {"reason": "deleted"}
    assert changed[ids[2]]["@removed"] == {"reason": "deleted"}
    assert g.get(page["@odata.deltaLink"]).json()["value"] == []
    stale = g.get(delta.replace("$deltatoken=", "$deltatoken=x"))
    assert stale.status_code in (400, 410)


def test_me_is_refused_for_app_only_tokens(g: Graph) -> None:
    """/me is delegated-only in Graph; app-only callers must use /users/{id}."""
    reply = g.get("/me/events")
    assert (
        reply.status_code == 400 and "/me request is only valid" in reply.json()["error"]["message"]
    )


def test_invalid_bodies_are_rejected_with_the_reason(g: Graph) -> None:
    """Malformed JSON and bodies that fail Microsoft's schema get 400 naming the problem."""
    raw = g.session.post(
        g.url(ev_path("cm@d.org")),
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert raw.status_code == 400 and raw.json()["error"]["code"] == "ErrorInvalidRequest"
    typo = g.post(ev_path("cm@d.org"), meeting(isRemindOn=True))
    assert typo.status_code == 400 and "isRemindOn" in typo.json()["error"]["message"]
    enum = g.post(ev_path("cm@d.org"), meeting(sensitivity="secret"))
    assert enum.status_code == 400 and "sensitivity" in enum.json()["error"]["message"]
    backwards = g.post(ev_path("cm@d.org"), meeting("2026-09-01T10:00:00", "2026-09-01T09:00:00"))
    assert backwards.json()["error"]["code"] == "ErrorCalendarEndDateIsEarlierThanStartDate"
    no_type = g.session.post(g.url(ev_path("cm@d.org")), data=json.dumps(meeting()), timeout=5)
    assert no_type.status_code == 415
    lst = g.post("/users/cm@d.org/todo/lists", {"displayName": "L"}).json()
    bad_task = g.post(
        f"/users/cm@d.org/todo/lists/{quote(lst['id'], safe='')}/tasks",
        {"title": "t", "status": "done"},
    )
    assert bad_task.status_code == 400 and bad_task.json()["error"]["code"] == "invalidRequest"


def test_update_event_example_with_placeholders_is_rejected(g: Graph) -> None:
    """Microsoft's update-event sample has placeholder values; strict validation catches them."""
    ev = g.post(ev_path("cm@d.org"), meeting()).json()
    sample = json.loads((EXAMPLES / "update-event.request.json").read_text())
    reply = g.patch(ev_path("cm@d.org", ev["id"]), sample)
    assert reply.status_code == 400 and "responseStatus" in reply.json()["error"]["message"]
    sample.pop("responseStatus")
    fixed = g.patch(ev_path("cm@d.org", ev["id"]), sample)
    assert fixed.status_code == 200
    body = valid("event", fixed.json())
    assert body["categories"] == ["Red category"] and body["reminderMinutesBeforeStart"] == 99
    assert body["iCalUId"] == ev["iCalUId"]  # read-only properties are ignored


# --- free/busy ----------------------------------------------------------------------------------


def schedule(
    g: Graph, who: list[str], start: str, end: str, interval: int = 60, **kw: Any
) -> list[dict[str, Any]]:
    body = {
        "schedules": who,
        "startTime": {"dateTime": start, "timeZone": "America/Chicago"},
        "endTime": {"dateTime": end, "timeZone": "America/Chicago"},
        "availabilityViewInterval": interval,
    }
    reply = g.post("/users/cm@d.org/calendar/getSchedule", body, **kw)
    assert reply.status_code == 200, reply.text
    return [valid("scheduleInformation", s) for s in reply.json()["value"]]


def test_get_schedule_is_computed_from_events(g: Graph) -> None:
    """Organizer is busy; an invitee is tentative until accepting, busy after, free if declining."""
    ev = g.post(
        ev_path("cm@d.org"),
        meeting(
            "2026-09-01T09:00:00",
            "2026-09-01T10:00:00",
            attendees=[attendee("lea@d.org")],
            sensitivity="private",
        ),
    ).json()
    g.post(
        ev_path("lea@d.org"),
        meeting("2026-09-01T11:00:00", "2026-09-01T12:00:00", subject="Own", showAs="oof"),
    )
    cm, lea, nobody = schedule(
        g, ["cm@d.org", "LEA@d.org", "new@d.org"], "2026-09-01T08:00:00", "2026-09-01T12:00:00"
    )
    assert cm["availabilityView"] == "0200"
    assert cm["scheduleItems"][0]["isPrivate"] is True and "subject" not in cm["scheduleItems"][0]
    assert lea["availabilityView"] == "0103"
    assert nobody["availabilityView"] == "0000" and nobody["scheduleItems"] == []
    assert cm["workingHours"]["startTime"] == "08:00:00.0000000"
    assert cm["workingHours"]["timeZone"] == {"name": "America/Chicago"}
    g.sb.respond("cm@d.org", ev["id"], "lea@d.org", "accepted")
    assert (
        schedule(g, ["lea@d.org"], "2026-09-01T08:00:00", "2026-09-01T12:00:00")[0][
            "availabilityView"
        ]
        == "0203"
    )
    reply = requests.post(
        g.sb.base_url + "/_sandbox/respond",
        json={
            "organizer": "cm@d.org",
            "event_id": ev["id"],
            "attendee": "lea@d.org",
            "response": "declined",
        },
        timeout=5,
    )
    assert reply.status_code == 204
    assert (
        schedule(g, ["lea@d.org"], "2026-09-01T08:00:00", "2026-09-01T12:00:00")[0][
            "availabilityView"
        ]
        == "0003"
    )
    again = g.get(ev_path("cm@d.org", ev["id"])).json()
    assert again["attendees"][0]["status"]["response"] == "declined"
    items = schedule(
        g,
        ["cm@d.org"],
        "2026-09-01T08:00:00",
        "2026-09-01T12:00:00",
        headers={"Prefer": 'outlook.timezone="Central Standard Time"'},
    )[0]["scheduleItems"]
    assert items[0]["start"] == {
        "dateTime": "2026-09-01T09:00:00.0000000",
        "timeZone": "Central Standard Time",
    }


def test_rooms_accept_when_free_and_decline_conflicts(g: Graph) -> None:
    """A resource attendee auto-accepts a free slot and declines an overlapping booking."""
    room = attendee("room101@d.org", "resource")
    first = g.post(ev_path("a@d.org"), meeting(attendees=[room])).json()
    second = g.post(ev_path("b@d.org"), meeting(attendees=[room])).json()
    assert first["attendees"][0]["status"]["response"] == "accepted"
    assert second["attendees"][0]["status"]["response"] == "declined"
    view = schedule(g, ["room101@d.org"], "2026-09-01T15:00:00", "2026-09-01T17:00:00", 30)
    assert view[0]["availabilityView"] == "0220"


def test_get_schedule_limits_and_parameter_spelling(g: Graph) -> None:
    """More than 20 schedules or a window of 42+ days gets 400; PascalCase parameters work."""
    base = {
        "startTime": {"dateTime": "2026-09-01T08:00:00", "timeZone": "UTC"},
        "endTime": {"dateTime": "2026-09-01T09:00:00", "timeZone": "UTC"},
    }
    many = g.post(
        "/users/cm@d.org/calendar/getSchedule",
        {**base, "schedules": [f"u{i}@d.org" for i in range(21)]},
    )
    assert many.status_code == 400
    long = g.post(
        "/users/cm@d.org/calendar/getSchedule",
        {
            "schedules": ["a@d.org"],
            "startTime": base["startTime"],
            "endTime": {"dateTime": "2026-10-13T08:00:00", "timeZone": "UTC"},
        },
    )
    assert long.status_code == 400 and "42 days" in long.json()["error"]["message"]
    ok = g.post(
        "/users/cm@d.org/calendar/getschedule",
        {
            "Schedules": ["a@d.org"],
            "StartTime": base["startTime"],
            "EndTime": base["endTime"],
            "AvailabilityViewInterval": "15",
        },
    )
    assert ok.status_code == 200 and ok.json()["value"][0]["availabilityView"] == "0000"


# --- To Do --------------------------------------------------------------------------------------


def todo_path(user: str, list_id: str = "", *rest: str) -> str:
    path = f"/users/{user}/todo/lists"
    if list_id:
        path += "/" + quote(list_id, safe="")
    for part in rest:
        path += "/" + quote(part, safe="")
    return path


def test_todo_lists_crud(g: Graph) -> None:
    """A default list exists; create 201, get, rename, delete 204; the default can't be deleted."""
    lists = g.get(todo_path("cm@d.org")).json()["value"]
    assert [valid("todoTaskList", x)["wellknownListName"] for x in lists] == ["defaultList"]
    created = g.post(todo_path("cm@d.org"), {"displayName": "IEP tasks"})
    assert created.status_code == 201
    lst = valid("todoTaskList", created.json())
    assert lst["isOwner"] is True and lst["wellknownListName"] == "none"
    renamed = g.patch(todo_path("cm@d.org", lst["id"]), {"displayName": "IEP"}).json()
    assert renamed["displayName"] == "IEP" and renamed["@odata.etag"] != lst["@odata.etag"]
    assert g.delete(todo_path("cm@d.org", lst["id"])).status_code == 204
    assert g.get(todo_path("cm@d.org", lst["id"])).status_code == 404
    assert g.delete(todo_path("cm@d.org", lists[0]["id"])).status_code == 400


def test_todo_task_create_expand_and_date_only_due(g: Graph) -> None:
    """Tasks accept inline linkedResources/checklistItems, keep only the due date, and expand."""
    lst = g.post(todo_path("cm@d.org"), {"displayName": "IEP"}).json()
    body = {
        "title": "S1001 draft IEP",
        "importance": "High",
        "isReminderOn": True,
        "reminderDateTime": {"dateTime": "2026-09-01T08:00:00", "timeZone": "America/Chicago"},
        "dueDateTime": {"dateTime": "2026-09-03T17:45:00", "timeZone": "America/Chicago"},
        "categories": ["IEP"],
        "linkedResources": [
            {"applicationName": "iepsched", "displayName": "S1001", "externalId": "S1001:draft"}
        ],
        "checklistItems": [{"displayName": "phone"}, {"displayName": "email"}],
    }
    reply = g.post(todo_path("cm@d.org", lst["id"], "tasks"), body)
    assert reply.status_code == 201
    task = valid("todoTask", reply.json())
    assert task["importance"] == "high" and task["status"] == "notStarted"
    assert task["dueDateTime"] == {"dateTime": "2026-09-03T00:00:00.0000000", "timeZone": "UTC"}
    assert task["reminderDateTime"]["dateTime"] == "2026-09-01T13:00:00.0000000"
    assert task["linkedResources"][0]["externalId"] == "S1001:draft"
    plain = g.get(todo_path("cm@d.org", lst["id"], "tasks", task["id"])).json()
    assert "linkedResources" not in valid("todoTask", plain)
    full = g.get(
        todo_path("cm@d.org", lst["id"], "tasks", task["id"]),
        params={"$expand": "linkedResources,checklistItems"},
        headers={"Prefer": 'outlook.timezone="America/Chicago"'},
    ).json()
    assert [c["displayName"] for c in valid("todoTask", full)["checklistItems"]] == [
        "phone",
        "email",
    ]
    assert full["dueDateTime"] == {
        "dateTime": "2026-09-03T00:00:00.0000000",
        "timeZone": "America/Chicago",
    }


def test_todo_filter_status_and_paging(g: Graph) -> None:
    """Task lists filter on status (status ne 'completed'), honour $top and page with nextLink."""
    lst = g.post(todo_path("cm@d.org"), {"displayName": "IEP"}).json()
    for i in range(13):
        t = g.post(todo_path("cm@d.org", lst["id"], "tasks"), {"title": f"t{i}"}).json()
        if i % 3 == 0:
            g.patch(todo_path("cm@d.org", lst["id"], "tasks", t["id"]), {"status": "completed"})
    url = (
        todo_path("cm@d.org", lst["id"], "tasks")
        + "?$filter=status ne 'completed'&$top=4&$expand=linkedResources"
    )
    titles: list[str] = []
    while url:
        page = g.get(url).json()
        assert len(page["value"]) <= 4
        titles += [valid("todoTask", t)["title"] for t in page["value"]]
        url = page.get("@odata.nextLink", "")
    assert len(titles) == 8 and "t0" not in titles
    bad = g.get(todo_path("cm@d.org", lst["id"], "tasks"), params={"$filter": "nonsense eq 1"})
    assert bad.status_code == 400


def test_checklist_items_and_linked_resources(g: Graph) -> None:
    """checklistItems and linkedResources have their own create/list/update/delete endpoints."""
    lst = g.post(todo_path("cm@d.org"), {"displayName": "IEP"}).json()
    task = g.post(todo_path("cm@d.org", lst["id"], "tasks"), {"title": "contact"}).json()
    items = todo_path("cm@d.org", lst["id"], "tasks", task["id"], "checklistItems")
    item = g.post(items, {"displayName": "letter"})
    assert item.status_code == 201
    checked = g.patch(items + "/" + item.json()["id"], {"isChecked": True}).json()
    assert valid("checklistItem", checked)["isChecked"] is True and checked["checkedDateTime"]
    assert [valid("checklistItem", x)["displayName"] for x in g.get(items).json()["value"]] == [
        "letter"
    ]
    assert g.delete(items + "/" + item.json()["id"]).status_code == 204
    assert g.get(items).json()["value"] == []
    links = todo_path("cm@d.org", lst["id"], "tasks", task["id"], "linkedResources")
    link = g.post(links, {"applicationName": "iepsched", "displayName": "x", "externalId": "k1"})
    assert link.status_code == 201 and valid("linkedResource", link.json())["externalId"] == "k1"
    assert [x["externalId"] for x in g.get(links).json()["value"]] == ["k1"]
    after = g.get(todo_path("cm@d.org", lst["id"], "tasks", task["id"])).json()
    assert after["@odata.etag"] != task["@odata.etag"]  # sub-item changes touch the task


def test_completing_a_task_sets_completed_date(g: Graph) -> None:
    """status=completed sets completedDateTime at UTC midnight; reopening clears it."""
    lst = g.post(todo_path("cm@d.org"), {"displayName": "IEP"}).json()
    task = g.post(todo_path("cm@d.org", lst["id"], "tasks"), {"title": "x"}).json()
    path = todo_path("cm@d.org", lst["id"], "tasks", task["id"])
    done = g.patch(
        path, {"status": "completed"}, headers={"Prefer": 'outlook.timezone="America/Chicago"'}
    ).json()
    assert done["completedDateTime"]["timeZone"] == "UTC"
    assert done["completedDateTime"]["dateTime"].endswith("T00:00:00.0000000")
    reopened = g.patch(path, {"status": "inProgress"}).json()
    assert "completedDateTime" not in valid("todoTask", reopened)


def test_completing_a_recurring_task_creates_the_next_one(g: Graph) -> None:
    """Completing a 14-day recurring task creates an open task due 14 days later, links copied."""
    lst = g.post(todo_path("cm@d.org"), {"displayName": "IEP"}).json()
    task = g.post(
        todo_path("cm@d.org", lst["id"], "tasks"),
        {
            "title": "progress monitoring",
            "dueDateTime": {"dateTime": "2026-09-15T00:00:00", "timeZone": "America/Chicago"},
            "recurrence": {
                "pattern": {"type": "daily", "interval": 14},
                "range": {"type": "noEnd", "startDate": "2026-09-15"},
            },
            "linkedResources": [
                {"applicationName": "iepsched", "displayName": "S1", "externalId": "S1:pm"}
            ],
        },
    ).json()
    assert task["recurrence"]["pattern"]["interval"] == 14
    assert (
        g.post(
            todo_path("cm@d.org", lst["id"], "tasks"),
            {"title": "r", "recurrence": task["recurrence"]},
        ).status_code
        == 400
    )
    g.patch(todo_path("cm@d.org", lst["id"], "tasks", task["id"]), {"status": "completed"})
    tasks = g.get(todo_path("cm@d.org", lst["id"], "tasks") + "?$expand=linkedResources").json()[
        "value"
    ]
    assert len(tasks) == 2
    new = next(t for t in tasks if t["id"] != task["id"])
    old = next(t for t in tasks if t["id"] == task["id"])
    assert (
        valid("todoTask", new)["status"] == "notStarted" and new["title"] == "progress monitoring"
    )
    assert new["dueDateTime"]["dateTime"] == "2026-09-29T00:00:00.0000000"
    assert new["linkedResources"][0]["externalId"] == "S1:pm"
    assert new["linkedResources"][0]["id"] != task["linkedResources"][0]["id"]
    assert "recurrence" not in old and new["recurrence"]["pattern"]["type"] == "daily"


def test_patching_a_task_recurrence_fails_as_graph_does(g: Graph) -> None:
    """A PATCH carrying a todoTask recurrence gets Graph's 400 invalidRequest "Error converting
    value ... to type 'Microsoft.OData.Edm.Date'" (graph-facts §8), and the task is unchanged."""
    lst = g.post(todo_path("cm@d.org"), {"displayName": "IEP"}).json()
    task = g.post(
        todo_path("cm@d.org", lst["id"], "tasks"),
        {
            "title": "progress monitoring",
            "dueDateTime": {"dateTime": "2026-09-15T00:00:00", "timeZone": "UTC"},
            "recurrence": {
                "pattern": {"type": "daily", "interval": 14},
                "range": {"type": "noEnd", "startDate": "2026-09-15"},
            },
        },
    ).json()
    path = todo_path("cm@d.org", lst["id"], "tasks", task["id"])
    refused = g.patch(path, {"title": "renamed", "recurrence": task["recurrence"]})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "invalidRequest"
    assert error["message"].startswith(
        'Invalid JSON, Error converting value "2026-09-15" to type '
        "'Microsoft.OData.Edm.Date'. Path 'recurrence.range.startDate', line 1, position "
    )
    assert g.get(path).json()["title"] == "progress monitoring"
    assert g.patch(path, {"title": "renamed"}).json()["title"] == "renamed"


# --- dump, examples, serve ----------------------------------------------------------------------


def test_dump_holds_valid_graph_objects(g: Graph) -> None:
    """/_sandbox/dump lists each mailbox's events (with extended properties), lists and tasks."""
    g.post(ev_path("cm@d.org"), meeting(singleValueExtendedProperties=[{"id": PROP, "value": "k"}]))
    lst = g.post(todo_path("cm@d.org"), {"displayName": "IEP"}).json()
    g.post(
        todo_path("cm@d.org", lst["id"], "tasks"),
        {"title": "t", "checklistItems": [{"displayName": "c"}]},
    )
    dump = requests.get(g.sb.base_url + "/_sandbox/dump", timeout=5).json()
    box = dump["mailboxes"]["cm@d.org"]
    assert set(box) == {"events", "lists", "tasks", "cancelled"}
    assert valid("event", box["events"][0])["singleValueExtendedProperties"][0]["value"] == "k"
    task = valid("todoTask", box["tasks"][0])
    assert task["@sandbox.listId"] == lst["id"] and task["checklistItems"][0]["displayName"] == "c"
    assert task["linkedResources"] == []
    assert [valid("todoTaskList", x)["displayName"] for x in box["lists"]] == ["Tasks", "IEP"]


CREATE_EVENT_SAMPLES = [
    "create-event.request.json",
    "create-event-in-calendar.request.json",
    "create-event-multiple-locations.request.json",
    "create-event-online-meeting.request.json",
    "create-event-recurring.request.json",
    "create-event-with-extended-property.request.json",
]


@pytest.mark.parametrize("name", CREATE_EVENT_SAMPLES)
def test_microsoft_create_event_samples_are_accepted(g: Graph, name: str) -> None:
    """Each of Microsoft's create-event request samples gets 201 and a strictly valid event."""
    body = json.loads((EXAMPLES / name).read_text())
    path = "/users/danas@contoso.onmicrosoft.com/" + (
        "calendar/events" if "calendar" in name else "events"
    )
    reply = g.post(path, body, headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'})
    assert reply.status_code == 201, reply.text
    ev = valid("event", reply.json())
    assert ev["subject"] == body["subject"]
    assert ev["start"]["dateTime"] == body["start"]["dateTime"] + ".0000000"


def test_microsoft_todo_and_schedule_samples_are_accepted(g: Graph) -> None:
    """Microsoft's To Do, checklist, link, update, cancel and getSchedule samples are accepted."""

    def sample(name: str) -> Any:
        return json.loads((EXAMPLES / name).read_text())

    user = "/users/AdeleV@contoso.onmicrosoft.com"
    lst = g.post(user + "/todo/lists", sample("create-todo-list.request.json"))
    assert (
        lst.status_code == 201
        and valid("todoTaskList", lst.json())["displayName"] == "Travel items"
    )
    list_id = quote(lst.json()["id"], safe="")
    task = g.post(f"{user}/todo/lists/{list_id}/tasks", sample("create-todo-task.request.json"))
    assert (
        task.status_code == 201
        and valid("todoTask", task.json())["linkedResources"][0]["displayName"] == "Microsoft"
    )
    task_id = quote(task.json()["id"], safe="")
    item = g.post(
        f"{user}/todo/lists/{list_id}/tasks/{task_id}/checklistitems/",
        sample("create-checklist-item.request.json"),
    )
    assert item.status_code == 201 and valid("checklistItem", item.json())["isChecked"] is False
    link = g.post(
        f"{user}/todo/lists/{list_id}/tasks/{task_id}/linkedResources",
        sample("create-linked-resource.request.json"),
    )
    assert (
        link.status_code == 201
        and valid("linkedResource", link.json())["webUrl"] == "https://microsoft.com"
    )
    updated = g.patch(
        f"{user}/todo/lists/{list_id}/tasks/{task_id}", sample("update-todo-task.request.json")
    )
    assert updated.status_code == 200
    assert (
        valid("todoTask", updated.json())["dueDateTime"]["dateTime"]
        == "2020-07-25T00:00:00.0000000"
    )
    ev = g.post(user + "/events", sample("create-event.request.json")).json()
    assert (
        g.post(
            f"{user}/events/{quote(ev['id'], safe='')}/cancel", sample("cancel-event.request.json")
        ).status_code
        == 202
    )
    prefer = {"Prefer": 'outlook.timezone="Pacific Standard Time"'}
    for name in ("getschedule.request.json", "getschedule-concept.request.json"):
        reply = g.post(user + "/calendar/getSchedule", sample(name), headers=prefer)
        assert reply.status_code == 200, reply.text
        for info in reply.json()["value"]:
            valid("scheduleInformation", info)
    concept = g.post(
        user + "/calendar/getschedule", sample("getschedule-concept.request.json"), headers=prefer
    ).json()
    assert len(concept["value"][0]["availabilityView"]) == 36  # 9 hours at 15 minutes


def test_serve_blocks_until_stopped_and_reports_urls() -> None:
    """serve() starts on loopback, hands the running sandbox to on_start, returns when stopped."""
    started: list[GraphSandbox] = []
    stop = threading.Event()

    def on_start(sandbox: GraphSandbox) -> None:
        started.append(sandbox)
        health = requests.get(sandbox.base_url + "/_sandbox/health", timeout=5)
        assert health.json()["graph_url"] == sandbox.graph_url
        stop.set()

    runner = threading.Thread(
        target=serve, args=(0, 0, 0.0, 0), kwargs={"on_start": on_start, "stop_event": stop}
    )
    runner.start()
    runner.join(timeout=10)
    assert not runner.is_alive()
    assert started and started[0].authority.startswith("http://127.0.0.1:")
    assert started[0].authority.endswith("/sandbox-tenant")
    assert started[0].port == 0  # stopped


def test_binds_loopback_only(sb: GraphSandbox) -> None:
    """The server listens on 127.0.0.1 only, never on all interfaces."""
    assert sb.base_url.startswith("http://127.0.0.1:")
    assert sb._server is not None and sb._server.server_address[0] == "127.0.0.1"


def test_token_audience_must_be_graph_or_the_sandbox(sb: GraphSandbox) -> None:
    """Tokens for Graph or for the sandbox's own origin work; tokens for other resources get 401."""
    url = sb.graph_url + "/users/cm@d.org/todo/lists"
    for scope, status in (
        (f"{sb.base_url}/.default", 200),
        ("https://graph.microsoft.us/.default", 200),
        ("https://management.azure.com/.default", 401),
    ):
        auth = {"Authorization": "Bearer " + token_for(sb, scope=scope)}
        assert requests.get(url, headers=auth, timeout=5).status_code == status, scope


def test_tasks_delta_reports_changes_and_removals(g: Graph) -> None:
    """tasks/delta lists every task first, then only changed tasks and @removed deletions."""
    lst = g.post(todo_path("cm@d.org"), {"displayName": "IEP"}).json()
    ids = [
        g.post(todo_path("cm@d.org", lst["id"], "tasks"), {"title": f"t{i}"}).json()["id"]
        for i in range(3)
    ]
    url = todo_path("cm@d.org", lst["id"], "tasks", "delta")
    seen: list[str] = []
    while True:
        page = g.get(url, headers={"Prefer": "odata.maxpagesize=2"}).json()
        seen += [valid("todoTask", t)["id"] for t in page["value"]]
        if "@odata.deltaLink" in page:
            delta = page["@odata.deltaLink"]
            break
        url = page["@odata.nextLink"]
    assert sorted(seen) == sorted(ids)
    g.patch(todo_path("cm@d.org", lst["id"], "tasks", ids[0]), {"status": "completed"})
    g.delete(todo_path("cm@d.org", lst["id"], "tasks", ids[1]))
    changes = {t["id"]: t for t in g.get(delta).json()["value"]}
    assert changes[ids[0]]["status"] == "completed"
    assert changes[ids[1]]["@removed"] == {"reason": "deleted"}
    assert ids[2] not in changes


def test_event_list_orderby(g: Graph) -> None:
    """$orderby sorts collections, e.g. by start/dateTime descending."""
    for day in (3, 1, 2):
        g.post(ev_path("cm@d.org"), meeting(f"2026-09-0{day}T08:00:00", f"2026-09-0{day}T09:00:00"))
    listed = g.get(ev_path("cm@d.org"), params={"$orderby": "start/dateTime desc"}).json()
    assert [e["start"]["dateTime"][8:10] for e in listed["value"]] == ["03", "02", "01"]


def test_all_day_events_are_floating_dates(g: Graph) -> None:
    """All-day items need midnight bounds, read back as midnight in any zone, block the day."""
    bad = g.post(
        ev_path("cm@d.org"), meeting("2026-09-01T08:00:00", "2026-09-02T00:00:00", isAllDay=True)
    )
    assert bad.status_code == 400
    ev = g.post(
        ev_path("cm@d.org"), meeting("2026-09-01T00:00:00", "2026-09-02T00:00:00", isAllDay=True)
    ).json()
    assert valid("event", ev)["start"] == {
        "dateTime": "2026-09-01T00:00:00.0000000",
        "timeZone": "UTC",
    }
    pacific = g.get(
        ev_path("cm@d.org", ev["id"]),
        headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'},
    ).json()
    assert pacific["end"] == {
        "dateTime": "2026-09-02T00:00:00.0000000",
        "timeZone": "Pacific Standard Time",
    }
    day = schedule(g, ["cm@d.org"], "2026-09-01T00:00:00", "2026-09-02T00:00:00", 720)[0]
    assert day["availabilityView"] == "22"


def test_start_inside_with_block_keeps_the_running_server() -> None:
    """`with GraphSandbox() as sb: sb.start()` returns the running URL instead of failing."""
    with GraphSandbox() as sb:
        first = sb.base_url
        assert sb.start(port=0) == first
        assert requests.get(first + "/_sandbox/health", timeout=5).status_code == 200
    assert sb.port == 0

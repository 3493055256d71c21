"""The Graph HTTP client against `responses`: headers, retries, errors, paging, batching, logs."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from iepsched.core.errors import (
    GraphAuthError,
    GraphConflict,
    GraphError,
    GraphNotFound,
    GraphThrottled,
    GraphTransportError,
)
from iepsched.m365.graph import GraphClient
from iepsched.m365.graphwire import BatchRequest, GraphResponse, parse_retry_after, redact_url

EXAMPLES = Path(__file__).parent / "graph-reference" / "examples"
INDEX = json.loads((EXAMPLES / "index.json").read_text(encoding="utf-8"))["examples"]
ROOT = "https://graph.microsoft.com/v1.0"
BATCH_URL = f"{ROOT}/$batch"


class FakeTokens:
    """A token provider that hands out numbered tokens and counts invalidations."""

    def __init__(self) -> None:
        self.issued = 0
        self.invalidated = 0

    def token(self) -> str:
        self.issued += 1
        return f"tok-secret-{self.invalidated}"

    def invalidate(self) -> None:
        self.invalidated += 1


class Sleeps(list[float]):
    """Records every requested sleep instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def rs() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def tokens() -> FakeTokens:
    return FakeTokens()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(tokens: FakeTokens, sleeps: Sleeps) -> Iterator[Callable[..., GraphClient]]:
    made: list[GraphClient] = []

    def make(**kw: Any) -> GraphClient:
        kw.setdefault("tokens", tokens)
        kw.setdefault("sleep", sleeps)
        kw.setdefault("rng", random.Random(7))
        kw.setdefault("clock", lambda: 1_700_000_000.0)
        client = GraphClient(**kw)
        made.append(client)
        return client

    yield make
    for c in made:
        c.close()


@pytest.fixture
def client(make_client: Callable[..., GraphClient]) -> GraphClient:
    return make_client()


def _body(rs: responses.RequestsMock, n: int) -> str | bytes:
    body = rs.calls[n].request.body
    assert body is not None
    return body


def load(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def _status_of(entry: dict[str, Any]) -> int:
    return int(entry["statusLine"].split()[1 if entry["statusLine"].startswith("HTTP") else 0])


def _success_examples() -> list[tuple[str, str, int]]:
    """(file, method of the paired request, status) for every published 2xx response body."""
    out = []
    for i, entry in enumerate(INDEX):
        name = entry.get("file") or ""
        if entry.get("kind") != "response" or not entry.get("statusLine"):
            continue
        if name.startswith(("error-", "batch")):
            continue
        prev = INDEX[i - 1] if i else {}
        method = (
            prev.get("method") or "GET"
            if str(prev.get("kind", "")).startswith("request")
            else "GET"
        )
        out.append((name, method, _status_of(entry)))
    return out


# -- Microsoft's example bodies ---------------------------------------------------------------


@pytest.mark.parametrize(("name", "method", "status"), _success_examples())
def test_every_published_response_body_parses(
    rs: responses.RequestsMock, client: GraphClient, name: str, method: str, status: int
) -> None:
    """Each Microsoft example response, served for its request, comes back parsed and intact."""
    body = load(name)
    url = f"{ROOT}/users/cm@district.example/examples/{name}"
    rs.add(method, url, json=body, status=status)
    response = client.request(method, url, json={} if method in ("POST", "PATCH") else None)
    assert response.status == status
    assert response.body == body
    if "value" in body and "@odata.nextLink" not in body:
        rs.add("GET", url, json=body, status=200)
        assert list(client.paginate(url)) == body["value"]


def test_published_delta_round_is_followed_to_its_delta_link(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """The calendarView/delta example chain is followed by nextLink; deltaLink opens round 2."""
    chain = [e for e in INDEX if "calendarView/delta" in (e.get("url") or "")]
    files = [
        "calendarview-delta-1-initial.response.json",
        "calendarview-delta-2-skiptoken.response.json",
        "calendarview-delta-3-final-deltalink.response.json",
        "calendarview-delta-4-next-round.response.json",
    ]
    for entry, name in zip(chain, files, strict=True):
        rs.add("GET", entry["url"], json=load(name))
    pages = list(client.pages(chain[0]["url"]))
    assert len(pages) == 3
    items = [item for page in pages for item in page["value"]]
    assert items == [i for n in files[:3] for i in load(n)["value"]]
    delta_link = pages[-1]["@odata.deltaLink"]
    assert delta_link == chain[3]["url"]
    assert list(client.paginate(delta_link)) == load(files[3])["value"]


def test_published_todo_delta_page_with_delta_link_ends_paging(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """A page carrying only @odata.deltaLink is the last page."""
    entry = next(e for e in INDEX if "tasks/delta" in (e.get("url") or ""))
    rs.add("GET", entry["url"], json=load("todo-tasks-delta.response.json"))
    assert len(list(client.paginate(entry["url"]))) == len(
        load("todo-tasks-delta.response.json")["value"]
    )
    assert len(rs.calls) == 1


@pytest.mark.parametrize(
    ("name", "status", "kind", "code", "request_id"),
    [
        ("error-generic.response.json", 400, GraphError, "invalidRange", "request-id"),
        (
            "error-application-access-policy.response.json",
            403,
            GraphAuthError,
            "ErrorAccessDenied",
            "2f038156-cf40-403d-8e46-831fe42a8229",
        ),
    ],
)
def test_published_error_bodies_map_to_typed_errors(
    rs: responses.RequestsMock,
    client: GraphClient,
    name: str,
    status: int,
    kind: type[GraphError],
    code: str,
    request_id: str,
) -> None:
    """Microsoft's error examples become the right GraphError type, keeping code and request-id."""
    url = f"{ROOT}/users/cm@district.example/events"
    rs.add("GET", url, json=load(name), status=status)
    with pytest.raises(GraphError) as info:
        client.get(url)
    assert type(info.value) is kind
    assert (info.value.status, info.value.code, info.value.request_id) == (status, code, request_id)
    assert len(rs.calls) == 1  # neither is retried


def test_access_denied_message_says_what_to_check(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """A 403 explains permissions, admin consent and the RBAC scope, and never shows the token."""
    rs.add(
        "GET",
        f"{ROOT}/users/x/events",
        json=load("error-application-access-policy.response.json"),
        status=403,
    )
    with pytest.raises(GraphAuthError) as info:
        client.get("/users/x/events")
    text = str(info.value)
    assert "ErrorAccessDenied" in text
    assert "admin consent" in text and "RBAC" in text
    assert "tok-secret" not in text


def test_published_throttle_answer_is_retried_after_its_fractional_retry_after(
    rs: responses.RequestsMock, client: GraphClient, sleeps: Sleeps
) -> None:
    """The 429 example with Retry-After: 2.128 is waited out exactly, then the GET succeeds."""
    url = f"{ROOT}/users/x/events"
    rs.add(
        "GET",
        url,
        json=load("error-throttled.response.json"),
        status=429,
        headers={"Retry-After": "2.128"},
    )
    rs.add("GET", url, json={"value": []})
    assert client.get(url) == {"value": []}
    assert sleeps == [2.128]
    assert client.stats.throttled == 1 and client.stats.retries == 1


def test_throttled_past_the_budget_raises_graph_throttled(
    rs: responses.RequestsMock, make_client: Callable[..., GraphClient], sleeps: Sleeps
) -> None:
    """After max_attempts 429s: GraphThrottled, keeping Graph's code and request-id."""
    client = make_client(max_attempts=3)
    url = f"{ROOT}/users/x/events"
    rs.add(
        "GET",
        url,
        json=load("error-throttled.response.json"),
        status=429,
        headers={"Retry-After": "0.249"},
    )
    with pytest.raises(GraphThrottled) as info:
        client.get(url)
    assert len(rs.calls) == 3
    assert sleeps == [0.249, 0.249]
    err = info.value
    assert (err.status, err.code) == (429, "TooManyRequests")
    assert err.request_id == "94fb3b52-452a-4535-a601-69e0a90e3aa2"
    assert err.retry_after == pytest.approx(0.249)


# -- Retry-After forms and backoff ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "date", "expected"),
    [
        ("2.128", None, 2.128),
        ("0.249", None, 0.249),
        ("10", None, 10.0),
        (" 3 ", None, 3.0),
        ("-4", None, 0.0),
        ("nan", None, None),
        ("soon", None, None),
        ("", None, None),
        (None, None, None),
        ("Wed, 21 Oct 2015 07:28:05 GMT", "Wed, 21 Oct 2015 07:28:00 GMT", 5.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", "Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
)
def test_parse_retry_after_forms(
    value: str | None, date: str | None, expected: float | None
) -> None:
    """Retry-After is read as fractional seconds or an HTTP-date relative to the Date header."""
    assert parse_retry_after(value, date_header=date) == expected


def test_http_date_retry_after_without_date_header_uses_the_clock() -> None:
    """Without a Date header an HTTP-date Retry-After is measured against the injected clock."""
    now = 1_445_412_480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:02 GMT", now=now) == 2.0


def test_http_date_retry_after_is_honoured_on_503(
    rs: responses.RequestsMock, client: GraphClient, sleeps: Sleeps
) -> None:
    """A 503 with an HTTP-date Retry-After waits the difference to the response's Date."""
    url = f"{ROOT}/users/x/calendarView"
    rs.add(
        "GET",
        url,
        status=503,
        headers={
            "Retry-After": "Wed, 21 Oct 2015 07:28:07 GMT",
            "Date": "Wed, 21 Oct 2015 07:28:00 GMT",
        },
    )
    rs.add("GET", url, json={"value": [1]})
    assert client.get(url) == {"value": [1]}
    assert sleeps == [7.0]


def test_backoff_without_retry_after_is_jittered_and_capped(
    rs: responses.RequestsMock, make_client: Callable[..., GraphClient], sleeps: Sleeps
) -> None:
    """Without Retry-After each wait is uniform in [0, min(cap, base·2^n)] and not constant."""
    client = make_client(max_attempts=8, backoff_base=0.5, backoff_cap=2.0)
    url = f"{ROOT}/users/x/events"
    rs.add("GET", url, status=429)
    with pytest.raises(GraphThrottled):
        client.get(url)
    assert len(sleeps) == 7
    for n, slept in enumerate(sleeps, start=1):
        assert 0.0 <= slept <= min(2.0, 0.5 * 2 ** (n - 1))
    assert len(set(sleeps)) > 1


def test_retry_after_longer_than_the_limit_fails_fast(
    rs: responses.RequestsMock, make_client: Callable[..., GraphClient], sleeps: Sleeps
) -> None:
    """A Retry-After beyond max_retry_after raises GraphThrottled at once instead of sleeping."""
    client = make_client(max_retry_after=30)
    url = f"{ROOT}/users/x/events"
    rs.add("GET", url, status=429, headers={"Retry-After": "600"})
    with pytest.raises(GraphThrottled) as info:
        client.get(url)
    assert sleeps == [] and len(rs.calls) == 1
    assert info.value.retry_after == 600


@pytest.mark.parametrize("status", [429, 503, 504])
def test_throttle_statuses_are_retried_then_succeed(
    rs: responses.RequestsMock, client: GraphClient, status: int
) -> None:
    """429, 503 and 504 on a GET are retried and the later success is returned."""
    url = f"{ROOT}/users/x/events"
    rs.add("GET", url, status=status, headers={"Retry-After": "1"})
    rs.add("GET", url, status=status, headers={"Retry-After": "1"})
    rs.add("GET", url, json={"ok": True})
    assert client.get(url) == {"ok": True}
    assert len(rs.calls) == 3


def test_post_429_is_retried_because_graph_did_not_act_on_it(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """A throttled POST was refused, not applied, so it is sent again."""
    url = f"{ROOT}/users/x/todo/lists/L/tasks"
    rs.add("POST", url, status=429, headers={"Retry-After": "0.1"})
    rs.add("POST", url, json={"id": "T"}, status=201)
    assert client.post(url, json={"title": "x"}) == {"id": "T"}


@pytest.mark.parametrize("status", [503, 504])
def test_post_5xx_is_not_retried_unless_idempotent(
    rs: responses.RequestsMock, client: GraphClient, status: int
) -> None:
    """A POST answered 503/504 may have been applied: GraphTransportError, no retry."""
    url = f"{ROOT}/users/x/todo/lists/L/tasks"
    rs.add("POST", url, status=status)
    with pytest.raises(GraphTransportError) as info:
        client.post(url, json={"title": "x"})
    assert len(rs.calls) == 1
    assert info.value.status == status
    assert "may have been applied" in str(info.value)


def test_non_retriable_status_is_not_retried(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """A 500 or 400 is an answer, not a transient fault: raised at once."""
    url = f"{ROOT}/users/x/events"
    rs.add("GET", url, status=500, json={"error": {"code": "generalException", "message": "boom"}})
    with pytest.raises(GraphError) as info:
        client.get(url)
    assert type(info.value) is GraphError and info.value.code == "generalException"
    assert len(rs.calls) == 1


# -- connection errors ------------------------------------------------------------------------


def test_get_is_retried_after_a_dropped_connection(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """A GET that lost its connection is sent again."""
    url = f"{ROOT}/users/x/events"
    rs.add("GET", url, body=requests.ConnectionError("reset by peer"))
    rs.add("GET", url, body=requests.ReadTimeout("slow"))
    rs.add("GET", url, json={"value": []})
    assert client.get(url) == {"value": []}
    assert client.stats.transport_errors == 2


def test_post_is_not_retried_after_a_dropped_connection(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """A POST whose connection dropped may have been applied: GraphTransportError, sent once."""
    url = f"{ROOT}/users/cm@district.example/events"
    rs.add("POST", url, body=requests.ConnectionError(f"dropped {url}"))
    with pytest.raises(GraphTransportError) as info:
        client.post(url, json={"subject": "S1"})
    assert len(rs.calls) == 1
    text = str(info.value)
    assert "may or may not have been applied" in text
    assert "cm@district.example" not in text


def test_post_marked_idempotent_is_retried_after_a_dropped_connection(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """An event create carrying a transactionId (idempotent=True) is sent again."""
    url = f"{ROOT}/users/x/events"
    rs.add("POST", url, body=requests.ConnectionError("reset"))
    rs.add("POST", url, json={"id": "E1"}, status=201)
    body = {"subject": "x", "transactionId": str(uuid.uuid4())}
    assert client.post(url, json=body, idempotent=True) == {"id": "E1"}
    assert json.loads(_body(rs, 0)) == json.loads(_body(rs, 1))


def test_post_is_retried_when_the_connection_was_never_made(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """A connect timeout never reached Graph, so even a plain POST is safe to send again."""
    url = f"{ROOT}/users/x/todo/lists/L/tasks"
    rs.add("POST", url, body=requests.ConnectTimeout("connect timeout"))
    rs.add("POST", url, json={"id": "T"}, status=201)
    assert client.post(url, json={"title": "t"}) == {"id": "T"}


def test_connection_errors_exhaust_the_budget(
    rs: responses.RequestsMock, make_client: Callable[..., GraphClient]
) -> None:
    """A GET that keeps failing to connect stops after max_attempts with GraphTransportError."""
    client = make_client(max_attempts=3)
    url = f"{ROOT}/users/x/events"
    rs.add("GET", url, body=requests.ConnectionError("down"))
    with pytest.raises(GraphTransportError):
        client.get(url)
    assert len(rs.calls) == 3


# -- authentication ---------------------------------------------------------------------------


def test_401_invalidates_the_token_and_retries_once(
    rs: responses.RequestsMock, client: GraphClient, tokens: FakeTokens
) -> None:
    """A 401 drops the cached token, fetches a fresh one, and repeats the request once."""
    url = f"{ROOT}/users/x/events"
    rs.add("GET", url, status=401, json={"error": {"code": "InvalidAuthenticationToken"}})
    rs.add("GET", url, json={"value": []})
    assert client.get(url) == {"value": []}
    assert tokens.invalidated == 1
    assert rs.calls[0].request.headers["Authorization"] == "Bearer tok-secret-0"
    assert rs.calls[1].request.headers["Authorization"] == "Bearer tok-secret-1"


def test_second_401_raises_auth_error_with_code_and_no_token(
    rs: responses.RequestsMock, client: GraphClient, tokens: FakeTokens
) -> None:
    """A 401 after the fresh token is GraphAuthError naming Graph's code, never the token."""
    url = f"{ROOT}/users/x/events"
    rs.add("GET", url, status=401, json={"error": {"code": "InvalidAuthenticationToken"}})
    with pytest.raises(GraphAuthError) as info:
        client.get(url)
    assert len(rs.calls) == 2 and tokens.invalidated == 1
    assert info.value.code == "InvalidAuthenticationToken"
    assert "tok-secret" not in str(info.value)
    assert "client_id" in str(info.value)


def test_403_is_not_retried(
    rs: responses.RequestsMock, client: GraphClient, tokens: FakeTokens
) -> None:
    """A 403 is a permission problem; a new token would not help."""
    url = f"{ROOT}/users/x/events"
    rs.add("GET", url, status=403, json={"error": {"code": "ErrorAccessDenied"}})
    with pytest.raises(GraphAuthError):
        client.get(url)
    assert len(rs.calls) == 1 and tokens.invalidated == 0


# -- status → type mapping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (404, "ErrorItemNotFound", GraphNotFound),
        (409, "ErrorIrresolvableConflict", GraphConflict),
        (412, "ErrorIrresolvableConflict", GraphConflict),
        (400, "ErrorDuplicateTransactionId", GraphConflict),
        (400, "ErrorInvalidRequest", GraphError),
        (422, "", GraphError),
    ],
)
def test_status_and_code_map_to_typed_errors(
    rs: responses.RequestsMock, client: GraphClient, status: int, code: str, kind: type[GraphError]
) -> None:
    """404 → NotFound; 409/412/ErrorDuplicateTransactionId → Conflict; other 4xx → GraphError."""
    url = f"{ROOT}/users/x/events"
    body = {"error": {"code": code, "message": "m", "innerError": {"request-id": "rid-1"}}}
    rs.add("POST", url, status=status, json=body)
    with pytest.raises(GraphError) as info:
        client.post(url, json={})
    assert type(info.value) is kind
    assert (info.value.status, info.value.code, info.value.request_id) == (status, code, "rid-1")


def test_request_id_falls_back_to_the_response_header(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """When the body has no innerError, the request-id header is kept instead."""
    url = f"{ROOT}/users/x/events/E"
    rs.add("DELETE", url, status=404, body="", headers={"request-id": "hdr-rid"})
    with pytest.raises(GraphNotFound) as info:
        client.delete(url)
    assert info.value.request_id == "hdr-rid"


# -- headers --------------------------------------------------------------------------------------


def test_every_request_carries_graph_headers_and_timeouts(
    rs: responses.RequestsMock, make_client: Callable[..., GraphClient]
) -> None:
    """Bearer, both Prefer values, JSON content type, a fresh client-request-id, UA, timeouts."""
    client = make_client(timezone="Eastern Standard Time", timeout=(3.0, 30.0))
    url = f"{ROOT}/users/x/events"
    rs.add("POST", url, status=429)
    rs.add("POST", url, json={"id": "1"}, status=201)
    client.post("/users/x/events", json={"subject": "s"})
    ids = set()
    for call in rs.calls:
        h = call.request.headers
        assert h["Authorization"].startswith("Bearer ")
        assert 'outlook.timezone="Eastern Standard Time"' in h["Prefer"]
        assert 'IdType="ImmutableId"' in h["Prefer"]
        assert h["Content-Type"] == "application/json"
        assert h["User-Agent"].startswith("iepsched/")
        ids.add(str(uuid.UUID(h["client-request-id"])))
        assert call.request.req_kwargs["timeout"] == (3.0, 30.0)  # type: ignore[attr-defined]
        assert call.request.body is not None
        assert json.loads(call.request.body) == {"subject": "s"}
    assert len(ids) == 2


def test_get_without_body_sends_no_content_type(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """Content-Type is only sent with a body."""
    rs.add("GET", f"{ROOT}/places/microsoft.graph.room", json={"value": []})
    client.get("/places/microsoft.graph.room", params={"$top": "5"})
    assert "Content-Type" not in rs.calls[0].request.headers
    assert str(rs.calls[0].request.url).endswith("?%24top=5")


def test_token_is_never_sent_to_another_origin(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """An absolute URL outside the configured endpoint is refused before any request is made."""
    with pytest.raises(GraphError, match="another origin"):
        client.get("https://evil.example/v1.0/users/x/events")
    assert len(rs.calls) == 0


def test_national_cloud_endpoint_is_used(
    rs: responses.RequestsMock, make_client: Callable[..., GraphClient]
) -> None:
    """With the GCC High endpoint, relative URLs go to graph.microsoft.us."""
    client = make_client(endpoint="https://graph.microsoft.us/v1.0/")
    rs.add("GET", "https://graph.microsoft.us/v1.0/users/x/events", json={"value": []})
    assert client.get("/users/x/events") == {"value": []}


# -- paging ---------------------------------------------------------------------------------------


def test_paginate_follows_next_link_across_three_pages(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """paginate yields the items of every page, following the whole nextLink URL verbatim."""
    first = f"{ROOT}/users/x/todo/lists/L/tasks"
    p2 = f"{ROOT}/users/x/todo/lists/L/tasks?$skiptoken=abc%3D%3D&$top=2"
    p3 = f"{ROOT}/users/x/todo/lists/L/tasks?$skiptoken=def&$top=2"
    items = [{"id": str(n)} for n in range(5)]
    rs.add("GET", first, json={"value": items[:2], "@odata.nextLink": p2})
    rs.add("GET", p2, json={"value": items[2:4], "@odata.nextLink": p3})
    rs.add("GET", p3, json={"value": items[4:]})
    assert list(client.paginate(first, params={"$top": "2"})) == items
    assert [c.request.url for c in rs.calls][1:] == [p2, p3]
    assert rs.calls[0].request.url == first + "?%24top=2"


def test_caller_prefer_is_added_to_ours_on_every_page(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """A caller's Prefer (odata.maxpagesize) joins the time zone and ImmutableId on every page."""
    first = f"{ROOT}/users/x/calendarView/delta"
    nxt = f"{ROOT}/users/x/calendarView/delta?$skiptoken=s1"
    rs.add("GET", first, json={"value": [{"id": "1"}], "@odata.nextLink": nxt})
    rs.add("GET", nxt, json={"value": [{"id": "2"}], "@odata.deltaLink": f"{first}?$deltatoken=d"})
    pages = list(client.pages(first, headers={"Prefer": "odata.maxpagesize=1"}))
    assert pages[-1]["@odata.deltaLink"].endswith("$deltatoken=d")
    for call in rs.calls:
        prefer = call.request.headers["Prefer"]
        assert "odata.maxpagesize=1" in prefer
        assert 'outlook.timezone="UTC"' in prefer and 'IdType="ImmutableId"' in prefer


# -- batching -------------------------------------------------------------------------------------


def _batch_callback(
    answer: Callable[[dict[str, Any]], tuple[int, dict[str, str], Any]],
    seen: list[list[dict[str, Any]]] | None = None,
    shuffle: bool = True,
) -> Callable[[requests.PreparedRequest], tuple[int, dict[str, str], str]]:
    rng = random.Random(3)
    lock = threading.Lock()

    def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        assert request.body is not None
        envelope = json.loads(request.body)["requests"]
        with lock:
            if seen is not None:
                seen.append(envelope)
        out = []
        for item in envelope:
            status, headers, body = answer(item)
            out.append({"id": item["id"], "status": status, "headers": headers, "body": body})
        if shuffle:
            rng.shuffle(out)
        return 200, {"Content-Type": "application/json"}, json.dumps({"responses": out})

    return callback


def _ok(item: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    return 200, {"Content-Type": "application/json"}, {"url": item["url"]}


def test_batch_splits_45_requests_into_20_20_5(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """45 requests for one mailbox go out as envelopes of 20, 20 and 5."""
    seen: list[list[dict[str, Any]]] = []
    rs.add_callback("POST", BATCH_URL, callback=_batch_callback(_ok, seen))
    reqs = [BatchRequest(f"r{i}", "GET", f"/users/cm@x.org/events/E{i}") for i in range(45)]
    results = client.batch(reqs)
    assert [len(env) for env in seen] == [20, 20, 5]
    assert client.stats.batches == 3 and client.stats.batch_items == 45
    for i in range(45):
        got = results[f"r{i}"]
        assert isinstance(got, GraphResponse)
        assert got.body == {"url": f"/users/cm@x.org/events/E{i}"}


def test_batch_packs_each_mailboxs_last_partial_envelope_with_the_others(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """Three mailboxes of 25 items cost 3 full envelopes and one shared one, not 6 requests."""
    seen: list[list[dict[str, Any]]] = []
    rs.add_callback("POST", BATCH_URL, callback=_batch_callback(_ok, seen))
    reqs = [
        BatchRequest(f"{m}-{i}", "GET", f"/users/{m}@x.org/events/E{i}", mailbox=f"{m}@x.org")
        for m in ("a", "b", "c")
        for i in range(25)
    ]
    results = client.batch(reqs)
    assert sorted(len(env) for env in seen) == [15, 20, 20, 20]
    shared = next(env for env in seen if len(env) == 15)
    assert {item["url"].split("/")[2] for item in shared} == {"a@x.org", "b@x.org", "c@x.org"}
    for env in seen:
        if len(env) == 20:
            assert len({item["url"].split("/")[2] for item in env}) == 1
    assert all(isinstance(results[r.id], GraphResponse) for r in reqs)


@pytest.mark.parametrize(
    "per_mailbox",
    [[1] * 60, [2] * 50, [7, 13, 1, 40, 19, 21, 3], [20, 20, 5], [39] * 9, [163]],
)
def test_batch_envelopes_are_full_whatever_the_mailbox_spread(
    rs: responses.RequestsMock, client: GraphClient, per_mailbox: list[int]
) -> None:
    """N items over M mailboxes cost ceil(N / 20) envelopes of at most 20: only the last one
    may be partly filled, however the items are spread over mailboxes."""
    seen: list[list[dict[str, Any]]] = []
    rs.add_callback("POST", BATCH_URL, callback=_batch_callback(_ok, seen))
    reqs = [
        BatchRequest(f"{m}-{i}", "POST", f"/users/m{m}@x.org/events", {}, mailbox=f"m{m}@x.org")
        for m, n in enumerate(per_mailbox)
        for i in range(n)
    ]
    results = client.batch(reqs)
    sizes = sorted((len(env) for env in seen), reverse=True)
    assert len(sizes) == -(-len(reqs) // 20) and all(s <= 20 for s in sizes)
    assert sizes[:-1] == [20] * (len(sizes) - 1)
    assert all(isinstance(results[r.id], GraphResponse) for r in reqs)


def test_batch_sends_envelopes_shared_by_mailboxes_concurrently(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """Sixty one-item mailboxes make three shared envelopes that are in flight together, not
    one after another (in turn, a throttled item's Retry-After held up all the others)."""
    lock = threading.Lock()
    flying = [0, 0]  # now, most at once
    answer = _batch_callback(_ok)

    def slow(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        with lock:
            flying[0] += 1
            flying[1] = max(flying)
        time.sleep(0.2)
        with lock:
            flying[0] -= 1
        return answer(request)

    rs.add_callback("POST", BATCH_URL, callback=slow)
    reqs = [
        BatchRequest(f"r{m}", "POST", f"/users/m{m}@x.org/events", {}, mailbox=f"m{m}@x.org")
        for m in range(60)
    ]
    results = client.batch(reqs)
    assert all(isinstance(results[r.id], GraphResponse) for r in reqs)
    assert client.stats.batches == 3 and flying[1] >= 2


def test_batch_results_are_matched_by_id_not_order(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """Responses arrive shuffled; each caller id still gets its own item's answer."""
    rs.add_callback("POST", BATCH_URL, callback=_batch_callback(_ok))
    reqs = [BatchRequest(f"key-{i}", "GET", f"/users/a@x.org/events/{i}") for i in range(12)]
    results = client.batch(reqs)
    assert list(results) == [r.id for r in reqs]
    for r in reqs:
        got = results[r.id]
        assert isinstance(got, GraphResponse) and got.body == {"url": r.url}


def test_batch_items_with_bodies_carry_content_type_and_prefer(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """Items with a body get Content-Type; every item gets Prefer; URLs stay relative."""
    seen: list[list[dict[str, Any]]] = []
    rs.add_callback("POST", BATCH_URL, callback=_batch_callback(_ok, seen))
    client.batch(
        [
            BatchRequest(
                "a", "POST", "/users/u@x.org/events", body={"subject": "s"}, idempotent=True
            ),
            BatchRequest("b", "GET", f"{ROOT}/users/u@x.org/events/E1"),
            BatchRequest(
                "c",
                "PATCH",
                "/users/u@x.org/events/E2",
                body={"subject": "t"},
                headers={"If-Match": 'W/"1"'},
            ),
        ]
    )
    (envelope,) = seen
    by_url = {item["url"]: item for item in envelope}
    assert set(by_url) == {
        "/users/u@x.org/events",
        "/users/u@x.org/events/E1",
        "/users/u@x.org/events/E2",
    }
    assert by_url["/users/u@x.org/events"]["headers"]["Content-Type"] == "application/json"
    assert by_url["/users/u@x.org/events"]["body"] == {"subject": "s"}
    assert "Content-Type" not in by_url["/users/u@x.org/events/E1"]["headers"]
    assert "body" not in by_url["/users/u@x.org/events/E1"]
    assert by_url["/users/u@x.org/events/E2"]["headers"]["If-Match"] == 'W/"1"'
    for item in envelope:
        assert 'IdType="ImmutableId"' in item["headers"]["Prefer"]
    assert len({item["id"] for item in envelope}) == 3
    envelope_headers = rs.calls[0].request.headers
    assert envelope_headers["Content-Type"] == "application/json"
    assert envelope_headers["Authorization"].startswith("Bearer ")


def test_batch_throttled_items_are_retried_after_their_retry_after(
    rs: responses.RequestsMock, client: GraphClient, sleeps: Sleeps
) -> None:
    """Items answered 429 inside a 200 envelope are re-sent after their Retry-After and succeed."""
    attempts: Counter[str] = Counter()
    seen: list[list[dict[str, Any]]] = []

    def answer(item: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        attempts[item["url"]] += 1
        if item["url"].endswith(("/3", "/7")) and attempts[item["url"]] == 1:
            err = {"error": {"code": "ApplicationThrottled", "message": "MailboxConcurrency"}}
            return 429, {"Retry-After": "0.5"}, err
        return _ok(item)

    rs.add_callback("POST", BATCH_URL, callback=_batch_callback(answer, seen))
    reqs = [BatchRequest(str(i), "GET", f"/users/a@x.org/events/{i}") for i in range(10)]
    results = client.batch(reqs)
    assert all(isinstance(r, GraphResponse) for r in results.values())
    assert [len(e) for e in seen] == [10, 2]
    assert sleeps == [0.5]
    assert client.stats.throttled == 2 and client.stats.retries == 2


def test_batch_item_throttled_past_the_budget_is_reported(
    rs: responses.RequestsMock, make_client: Callable[..., GraphClient]
) -> None:
    """An item throttled on every attempt ends as GraphThrottled; its neighbours still succeed."""
    client = make_client(max_attempts=3)

    def answer(item: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        if item["url"].endswith("/bad"):
            return 429, {"retry-after": "0.1"}, {"error": {"code": "TooManyRequests"}}
        return _ok(item)

    rs.add_callback("POST", BATCH_URL, callback=_batch_callback(answer))
    results = client.batch(
        [
            BatchRequest("ok", "GET", "/users/a@x.org/events/ok"),
            BatchRequest("bad", "GET", "/users/a@x.org/events/bad"),
        ]
    )
    assert isinstance(results["ok"], GraphResponse)
    bad = results["bad"]
    assert isinstance(bad, GraphThrottled) and bad.code == "TooManyRequests"
    assert len(rs.calls) == 3


def test_batch_item_errors_are_returned_typed_not_raised(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """404/409/403/400 items come back as typed errors with code and request-id."""
    table = {
        "gone": (404, "ErrorItemNotFound", GraphNotFound),
        "dup": (400, "ErrorDuplicateTransactionId", GraphConflict),
        "etag": (412, "ErrorIrresolvableConflict", GraphConflict),
        "deny": (403, "ErrorAccessDenied", GraphAuthError),
        "bad": (400, "ErrorInvalidRequest", GraphError),
    }

    def answer(item: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        name = item["url"].rsplit("/", 1)[1]
        status, code, _ = table[name]
        body = {
            "error": {"code": code, "message": "m", "innerError": {"request-id": f"rid-{name}"}}
        }
        return status, {}, body

    rs.add_callback("POST", BATCH_URL, callback=_batch_callback(answer))
    results = client.batch([BatchRequest(n, "GET", f"/users/a@x.org/events/{n}") for n in table])
    for name, (status, code, kind) in table.items():
        err = results[name]
        assert type(err) is kind
        assert isinstance(err, GraphError)
        assert (err.status, err.code, err.request_id) == (status, code, f"rid-{name}")


def test_published_batch_response_maps_each_item(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """Microsoft's batch example (302/401/200/204, out of order) maps per id to results/errors."""
    published = load("batch.request.json")["requests"]
    rs.add("POST", BATCH_URL, json=load("batch.response.json"))
    reqs = [
        BatchRequest(f"caller-{r['id']}", r["method"], r["url"], body=r.get("body"), mailbox="me")
        for r in published
    ]
    results = client.batch(reqs)
    sent = json.loads(_body(rs, 0))["requests"]
    assert [(s["id"], s["method"], s["url"]) for s in sent] == [
        (r["id"], r["method"], r["url"]) for r in published
    ]
    assert sent[3]["headers"]["Content-Type"] == "application/json"
    r1, r2, r4 = results["caller-1"], results["caller-2"], results["caller-4"]
    assert isinstance(r1, GraphResponse) and r1.status == 302 and "location" in r1.headers
    assert isinstance(r2, GraphResponse) and r2.body["value"] == []
    assert isinstance(r4, GraphResponse) and (r4.status, r4.body) == (204, None)
    err = results["caller-3"]
    assert isinstance(err, GraphAuthError) and err.code == "Forbidden"


def test_batch_envelope_failure_retries_only_idempotent_items(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """A 504 envelope holding a plain POST: GETs go round again, the POST reports unknown."""
    seen: list[list[dict[str, Any]]] = []
    rs.add("POST", BATCH_URL, status=504)
    rs.add_callback("POST", BATCH_URL, callback=_batch_callback(_ok, seen))
    results = client.batch(
        [
            BatchRequest("get1", "GET", "/users/a@x.org/events/1"),
            BatchRequest("task", "POST", "/users/a@x.org/todo/lists/L/tasks", body={"title": "t"}),
            BatchRequest("get2", "GET", "/users/a@x.org/events/2"),
        ]
    )
    assert isinstance(results["get1"], GraphResponse) and isinstance(results["get2"], GraphResponse)
    task = results["task"]
    assert isinstance(task, GraphTransportError)
    assert "todo/lists/***/tasks" in str(task)
    assert [sorted(i["url"] for i in e) for e in seen] == [
        ["/users/a@x.org/events/1", "/users/a@x.org/events/2"]
    ]


def test_batch_envelope_of_idempotent_items_is_retried_whole(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """A dropped envelope whose items are all safe to repeat is simply sent again."""
    rs.add("POST", BATCH_URL, body=requests.ConnectionError("reset"))
    rs.add_callback("POST", BATCH_URL, callback=_batch_callback(_ok))
    results = client.batch(
        [
            BatchRequest(
                "e", "POST", "/users/a@x.org/events", body={"transactionId": "t"}, idempotent=True
            ),
            BatchRequest("g", "GET", "/users/a@x.org/events/1"),
        ]
    )
    assert all(isinstance(r, GraphResponse) for r in results.values())
    assert len(rs.calls) == 2


def test_batch_rejects_duplicate_ids(client: GraphClient) -> None:
    """Caller ids must be unique: results are keyed by them."""
    with pytest.raises(ValueError, match="unique"):
        client.batch([BatchRequest("a", "GET", "/me"), BatchRequest("a", "GET", "/me")])


def test_batch_never_exceeds_mailbox_concurrency(
    rs: responses.RequestsMock, make_client: Callable[..., GraphClient]
) -> None:
    """Across many mailboxes in parallel, no mailbox ever has more than its limit in flight."""
    limit = 4
    client = make_client(max_workers=8, max_concurrency_per_mailbox=limit)
    lock = threading.Lock()
    in_flight: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    overall = {"now": 0, "peak": 0}

    def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        assert request.body is not None
        envelope = json.loads(request.body)["requests"]
        mailbox = envelope[0]["url"].split("/")[2]
        weight = min(len(envelope), limit)  # Graph runs up to 4 items of an envelope at once
        with lock:
            in_flight[mailbox] += weight
            peak[mailbox] = max(peak[mailbox], in_flight[mailbox])
            overall["now"] += 1
            overall["peak"] = max(overall["peak"], overall["now"])
        time.sleep(0.005)
        with lock:
            in_flight[mailbox] -= weight
            overall["now"] -= 1
        out = [{"id": i["id"], "status": 200, "body": {}} for i in envelope]
        return 200, {}, json.dumps({"responses": out})

    rs.add_callback("POST", BATCH_URL, callback=callback)
    reqs = [
        BatchRequest(f"{m}-{i}", "GET", f"/users/cm{m}@x.org/events/{i}")
        for m in range(10)
        for i in range(45)
    ]
    results = client.batch(reqs)
    assert all(isinstance(r, GraphResponse) for r in results.values())
    assert max(peak.values()) <= limit
    assert overall["peak"] > 1  # mailboxes really do run in parallel


def test_concurrent_requests_respect_the_mailbox_limit(
    rs: responses.RequestsMock, make_client: Callable[..., GraphClient]
) -> None:
    """Single requests from many threads never put more than N in flight for one mailbox."""
    limit = 2
    client = make_client(max_concurrency_per_mailbox=limit)
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.005)
        with lock:
            state["now"] -= 1
        return 200, {}, "{}"

    rs.add_callback("GET", f"{ROOT}/users/one@x.org/events", callback=callback)
    threads = [
        threading.Thread(target=client.get, args=("/users/one@x.org/events",)) for _ in range(12)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(rs.calls) == 12
    assert 1 <= state["peak"] <= limit


# -- logging and redaction ------------------------------------------------------------------------


def test_redact_url_elides_users_ids_and_query_values() -> None:
    """Only Graph's own path words and query names survive redaction."""
    url = (
        f"{ROOT}/users/jane.doe@district.org/events/AAMkADNVxRAAA=?$filter=singleValueExtended"
        "Properties/Any(ep:%20ep/value%20eq%20'S123456-annual')&$top=5"
    )
    assert redact_url(url) == "/v1.0/users/***/events/***?$filter=***&$top=***"
    assert redact_url("/places/bldg2@contoso.com/microsoft.graph.roomlist/rooms") == (
        "/places/***/microsoft.graph.roomlist/rooms"
    )
    assert redact_url("/$batch") == "/$batch"


def test_logs_carry_no_upn_student_id_or_token(
    rs: responses.RequestsMock,
    client: GraphClient,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At DEBUG, logs and error messages show method/redacted path/status only."""
    # The CLI's logging set-up (run by other tests) stops "iepsched" records at its own handler.
    package_log = logging.getLogger("iepsched")
    monkeypatch.setattr(package_log, "propagate", True)
    monkeypatch.setattr(package_log, "handlers", [])
    caplog.set_level(logging.DEBUG, logger="iepsched.m365.graph")
    caplog.set_level(logging.DEBUG, logger="iepsched.m365.batching")
    caplog.set_level(logging.DEBUG)
    upn = "jane.doe@district.org"
    student = "S123456"
    events = f"{ROOT}/users/{upn}/events"
    flt = f"singleValueExtendedProperties/Any(ep: ep/value eq 'iep:{student}:annual')"
    rs.add("GET", events, status=429, headers={"Retry-After": "0.1"})
    rs.add("GET", events, json={"value": []})
    rs.add(
        "GET",
        f"{events}/missing-{student}",
        status=404,
        json={"error": {"code": "ErrorItemNotFound"}},
    )
    rs.add("POST", events, body=requests.ConnectionError(f"dropped {events}?{student}"))
    rs.add_callback(
        "POST",
        BATCH_URL,
        callback=_batch_callback(lambda item: (429, {"Retry-After": "0.1"}, {})),
    )
    client.get(events, params={"$filter": flt})
    messages = []
    with pytest.raises(GraphNotFound) as nf:
        client.get(f"/users/{upn}/events/missing-{student}")
    messages.append(str(nf.value))
    with pytest.raises(GraphTransportError) as te:
        client.post(events, json={"subject": student})
    messages.append(str(te.value))
    results = client.batch([BatchRequest(f"{student}-k", "GET", f"/users/{upn}/events/{student}")])
    messages.extend(str(r) for r in results.values())
    assert "->" in caplog.text and "/users/***/events" in caplog.text
    for text in [caplog.text, *messages]:
        assert upn not in text and "jane.doe" not in text
        assert student not in text
        assert "tok-secret" not in text


def test_stats_count_requests_batches_and_retries(
    rs: responses.RequestsMock, client: GraphClient
) -> None:
    """stats counts every HTTP request, envelope, item, retry and throttled answer."""
    rs.add("GET", f"{ROOT}/users/x/events", status=503, headers={"Retry-After": "0"})
    rs.add("GET", f"{ROOT}/users/x/events", json={})
    rs.add_callback("POST", BATCH_URL, callback=_batch_callback(_ok))
    client.get("/users/x/events")
    client.batch([BatchRequest(str(i), "GET", f"/users/x/events/{i}") for i in range(3)])
    s = client.stats
    assert (s.requests, s.batches, s.batch_items, s.retries, s.throttled) == (3, 1, 3, 1, 1)


# -- against the local Graph emulator -------------------------------------------------------------

SANDBOX_SECRET = "sandbox-secret-value"


def _sandbox_client(sb: Any, sleeps: Sleeps, **kw: Any) -> GraphClient:
    from iepsched.core.settings import GraphSettings
    from iepsched.m365.auth import make_token_provider

    tokens = make_token_provider(
        GraphSettings(
            tenant_id="", client_id="iepsched-tests", authority=sb.authority, endpoint=sb.graph_url
        ),
        client_secret=SANDBOX_SECRET,
    )
    return GraphClient(
        endpoint=sb.graph_url, tokens=tokens, sleep=sleeps, rng=random.Random(1), **kw
    )


def _event(n: int, txid: str) -> dict[str, Any]:
    return {
        "subject": f"S{n}",
        "start": {"dateTime": "2026-03-02T10:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-02T11:00:00", "timeZone": "UTC"},
        "transactionId": txid,
    }


def test_sandbox_batch_creates_converge_under_faults(sleeps: Sleeps) -> None:
    """Under emulated 429/503/dropped connections, transactionId creates land exactly once."""
    from iepsched.sandbox import GraphSandbox

    mailboxes = [f"cm{m}@district.example" for m in range(2)]
    with GraphSandbox(client_secret=SANDBOX_SECRET, seed=11, fault_rate=0.2) as sb:
        client = _sandbox_client(sb, sleeps, max_attempts=12)
        reqs = [
            BatchRequest(
                f"{box}#{n}",
                "POST",
                f"/users/{box}/events",
                body=_event(n, str(uuid.uuid5(uuid.NAMESPACE_URL, f"{box}#{n}"))),
                idempotent=True,
            )
            for box in mailboxes
            for n in range(22)
        ]
        results = client.batch(reqs)
        for rid, result in results.items():
            if isinstance(result, GraphError):
                # A create applied just before its connection dropped is refused when re-sent.
                assert isinstance(result, GraphConflict), (rid, result)
                assert result.code == "ErrorDuplicateTransactionId"
            else:
                assert result.status == 201
        for box in mailboxes:
            subjects = sorted(e["subject"] for e in client.paginate(f"/users/{box}/events"))
            assert subjects == sorted(f"S{n}" for n in range(22))
        stats = sb.stats()
        client.close()
    assert sum(stats["faults"].values()) > 0 and client.stats.retries > 0
    assert all(m["max_concurrency_seen"] <= 4 for m in stats["by_mailbox"].values())


def test_sandbox_never_sees_more_than_four_requests_per_mailbox(sleeps: Sleeps) -> None:
    """Sixteen threads on one mailbox: the emulator never counts a 5th concurrent request."""
    from iepsched.sandbox import GraphSandbox

    with GraphSandbox(client_secret=SANDBOX_SECRET, latency_ms=5) as sb:
        client = _sandbox_client(sb, sleeps, max_concurrency_per_mailbox=4)
        client.get("/users/one@district.example/events")  # warm the token
        threads = [
            threading.Thread(target=client.get, args=("/users/one@district.example/events",))
            for _ in range(16)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stats = sb.stats()
        client.close()
    box = stats["by_mailbox"]["one@district.example"]
    assert box["requests"] == 17 and box["throttled"] == 0
    assert 1 < box["max_concurrency_seen"] <= 4


def test_sandbox_401_gets_a_fresh_token(sleeps: Sleeps) -> None:
    """A token the emulator rejects is invalidated once and the request succeeds with a new one."""
    from iepsched.core.settings import GraphSettings
    from iepsched.m365.auth import make_token_provider
    from iepsched.sandbox import GraphSandbox

    with GraphSandbox(client_secret=SANDBOX_SECRET) as sb:
        real = make_token_provider(
            GraphSettings(
                tenant_id="",
                client_id="iepsched-tests",
                authority=sb.authority,
                endpoint=sb.graph_url,
            ),
            client_secret=SANDBOX_SECRET,
        )

        class StaleFirst:
            stale = True

            def token(self) -> str:
                return "eyJ.stale.token" if self.stale else real.token()

            def invalidate(self) -> None:
                self.stale = False
                real.invalidate()

        client = GraphClient(endpoint=sb.graph_url, tokens=StaleFirst(), sleep=sleeps)
        assert client.get("/users/a@district.example/events")["value"] == []
        assert client.stats.auth_retries == 1
        client.close()

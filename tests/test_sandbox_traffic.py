"""The Graph sandbox's traffic rules: $batch, throttling, injected faults and statistics."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from iepsched.m365 import schema as graphschema
from iepsched.sandbox import GraphSandbox

EXAMPLES = Path(__file__).parent / "graph-reference" / "examples"
JSON = {"Content-Type": "application/json"}


def bearer(sb: GraphSandbox) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": "app",
        "client_secret": "s",
        "scope": "https://graph.microsoft.com/.default",
    }
    token = requests.post(sb.token_url, data=form, timeout=5).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def event_body(subject: str = "IEP", day: int = 1) -> dict[str, Any]:
    return {
        "subject": subject,
        "start": {"dateTime": f"2026-09-{day:02d}T15:30:00", "timeZone": "America/Chicago"},
        "end": {"dateTime": f"2026-09-{day:02d}T16:30:00", "timeZone": "America/Chicago"},
    }


def batch(sb: GraphSandbox, auth: dict[str, str], items: list[dict[str, Any]]) -> requests.Response:
    return requests.post(
        sb.graph_url + "/$batch", json={"requests": items}, headers=auth, timeout=10
    )


def create_item(rid: str, user: str, subject: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "method": "POST",
        "url": f"/users/{user}/events",
        "headers": JSON,
        "body": event_body(subject),
        **extra,
    }


@pytest.fixture
def sb() -> Iterator[GraphSandbox]:
    with GraphSandbox() as sandbox:
        yield sandbox


# --- $batch -------------------------------------------------------------------------------------


def test_batch_answers_each_item_separately(sb: GraphSandbox) -> None:
    """A batch answers 200 with one {id,status,headers,body} per item, each evaluated on its own."""
    auth = bearer(sb)
    items = [create_item(str(i), "cm@d.org", f"e{i}") for i in range(1, 6)]
    items.append({"id": "get-missing", "method": "GET", "url": "/users/cm@d.org/events/AAMkAnone="})
    items.append({"id": "list", "method": "GET", "url": "users/cm@d.org/todo/lists"})
    items.append(
        {
            "id": "tz",
            "method": "GET",
            "url": "/users/cm@d.org/events?$top=1",
            "headers": {"Prefer": 'outlook.timezone="America/Chicago"'},
        }
    )
    reply = batch(sb, auth, items)
    assert reply.status_code == 200
    answers = {r["id"]: r for r in reply.json()["responses"]}
    assert set(answers) == {i["id"] for i in items}
    for i in range(1, 6):
        answer = answers[str(i)]
        assert answer["status"] == 201 and answer["headers"]["Content-Type"].startswith(
            "application/json"
        )
        assert graphschema.errors("event", answer["body"], strict=True) == []
    assert answers["get-missing"]["status"] == 404
    assert answers["get-missing"]["body"]["error"]["code"] == "ErrorItemNotFound"
    assert answers["list"]["status"] == 200
    assert answers["tz"]["headers"]["Preference-Applied"] == 'outlook.timezone="America/Chicago"'
    subjects = {e["subject"] for e in sb.dump()["mailboxes"]["cm@d.org"]["events"]}
    assert subjects == {f"e{i}" for i in range(1, 6)}


def test_batch_order_is_not_preserved(sb: GraphSandbox) -> None:
    """Batch answers come back in an order unrelated to the request; clients must match on id."""
    auth = bearer(sb)
    items = [
        {"id": str(i), "method": "GET", "url": "/users/cm@d.org/todo/lists"} for i in range(20)
    ]
    orders = {tuple(r["id"] for r in batch(sb, auth, items).json()["responses"]) for _ in range(3)}
    assert any(order != tuple(str(i) for i in range(20)) for order in orders)


def test_batch_depends_on_failure_gives_424(sb: GraphSandbox) -> None:
    """An item whose dependency failed answers 424 and is not run; a chain runs in order."""
    auth = bearer(sb)
    items = [
        {"id": "1", "method": "GET", "url": "/users/cm@d.org/events/AAMknope="},
        {**create_item("2", "cm@d.org", "never"), "dependsOn": ["1"]},
        {**create_item("3", "cm@d.org", "first")},
        {**create_item("4", "cm@d.org", "second"), "dependsOn": ["3"]},
    ]
    answers = {r["id"]: r for r in batch(sb, auth, items).json()["responses"]}
    assert [answers[i]["status"] for i in "1234"] == [404, 424, 201, 201]
    subjects = [e["subject"] for e in sb.dump()["mailboxes"]["cm@d.org"]["events"]]
    assert subjects == ["first", "second"]


def test_batch_envelope_errors(sb: GraphSandbox) -> None:
    """Over 20 items, duplicate ids, a body lacking Content-Type or bad dependsOn fail the batch."""
    auth = bearer(sb)
    get = {"method": "GET", "url": "/users/cm@d.org/todo/lists"}
    cases: list[list[dict[str, Any]]] = [
        [{"id": str(i), **get} for i in range(21)],
        [{"id": "a", **get}, {"id": "A", **get}],
        [{"id": "1", "method": "POST", "url": "/users/cm@d.org/events", "body": event_body()}],
        [{"id": "1", **get, "dependsOn": ["9"]}],
        [{"id": "1", **get, "dependsOn": ["2"]}, {"id": "2", **get, "dependsOn": ["1"]}],
    ]
    for items in cases:
        reply = batch(sb, auth, items)
        assert reply.status_code == 400, items
        assert reply.json()["error"]["code"] == "BadRequest"
    assert "does not contain Content-Type" in batch(sb, auth, cases[2]).json()["error"]["message"]
    assert sb.dump()["mailboxes"].get("cm@d.org", {"events": []})["events"] == []
    not_json = requests.post(
        sb.graph_url + "/$batch", data=b"[", headers={**auth, **JSON}, timeout=5
    )
    assert not_json.status_code == 400


def test_microsoft_batch_samples_get_per_item_answers(sb: GraphSandbox) -> None:
    """Microsoft's batch samples (URLs the sandbox does not serve) still get a 200 envelope."""
    auth = bearer(sb)
    sample = json.loads((EXAMPLES / "batch.request.json").read_text())
    answers = {r["id"]: r for r in batch(sb, auth, sample["requests"]).json()["responses"]}
    assert set(answers) == {"1", "2", "3", "4"}
    assert all(400 <= a["status"] < 500 for a in answers.values())
    chained = json.loads((EXAMPLES / "batch-dependson.request.json").read_text())
    answers = {r["id"]: r for r in batch(sb, auth, chained["requests"]).json()["responses"]}
    assert answers["2"]["status"] == 424 and answers["4"]["status"] == 424


# --- throttling ---------------------------------------------------------------------------------


def _concurrent(n: int, call: Any) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = call(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results


def test_mailbox_concurrency_limit_gives_429() -> None:
    """A fifth concurrent request to one mailbox gets 429 ApplicationThrottled with Retry-After."""
    with GraphSandbox(latency_ms=300, max_retry_after=0.3) as sb:
        auth = bearer(sb)
        url = sb.graph_url + "/users/cm@d.org/todo/lists"
        replies = _concurrent(6, lambda i: requests.get(url, headers=auth, timeout=10))
        codes = sorted(r.status_code for r in replies)
        assert codes == [200, 200, 200, 200, 429, 429]
        throttled = next(r for r in replies if r.status_code == 429)
        assert throttled.json()["error"] == {
            **throttled.json()["error"],
            "code": "ApplicationThrottled",
            "message": "Application is over its MailboxConcurrency limit.",
        }
        assert 0 < float(throttled.headers["Retry-After"]) <= 0.3
        other = sb.graph_url + "/users/other@d.org/todo/lists"  # other mailboxes are unaffected
        others = _concurrent(4, lambda i: requests.get(other, headers=auth, timeout=10))
        assert {r.status_code for r in others} == {200}
        stats = sb.stats()
        assert stats["throttled"] == 2
        assert stats["by_mailbox"]["cm@d.org"]["max_concurrency_seen"] == 4
        assert stats["by_mailbox"]["cm@d.org"]["throttled"] == 2


def test_batch_items_are_throttled_one_by_one() -> None:
    """Inside a 200 batch, items for a saturated mailbox answer 429 with their own Retry-After."""
    with GraphSandbox(latency_ms=300, max_retry_after=0.2) as sb:
        auth = bearer(sb)
        busy = sb.graph_url + "/users/cm@d.org/todo/lists"
        started = threading.Event()

        def hold(i: int) -> int:
            if i == 0:
                started.set()
            return requests.get(busy, headers=auth, timeout=10).status_code

        holders = [threading.Thread(target=hold, args=(i,)) for i in range(4)]
        for t in holders:
            t.start()
        started.wait()
        threading.Event().wait(0.1)  # let the four requests take their slots
        reply = batch(
            sb,
            auth,
            [
                create_item("1", "cm@d.org", "a"),
                {"id": "2", "method": "GET", "url": "/users/cm@d.org/todo/lists"},
                create_item("3", "other@d.org", "b"),
            ],
        )
        for t in holders:
            t.join(10)
        assert reply.status_code == 200
        answers = {r["id"]: r for r in reply.json()["responses"]}
        assert answers["1"]["status"] == 429 and answers["2"]["status"] == 429
        assert 0 < float(answers["1"]["headers"]["Retry-After"]) <= 0.2
        assert answers["1"]["body"]["error"]["code"] == "ApplicationThrottled"
        assert answers["3"]["status"] == 201
        assert (
            "cm@d.org" not in sb.dump()["mailboxes"]
            or not sb.dump()["mailboxes"]["cm@d.org"]["events"]
        )


def test_parallel_batches_to_one_mailbox_collide() -> None:
    """A batch fans out four items at a time, so two parallel batches to one mailbox hit 429."""
    with GraphSandbox(latency_ms=300) as sb:
        auth = bearer(sb)
        items = [
            {"id": str(i), "method": "GET", "url": "/users/cm@d.org/todo/lists"} for i in range(8)
        ]
        alone = batch(sb, auth, items).json()["responses"]
        assert {r["status"] for r in alone} == {200}  # one batch alone stays within the limit
        both = _concurrent(2, lambda i: batch(sb, auth, items).json()["responses"])
        statuses = [r["status"] for rs in both for r in rs]
        assert statuses.count(429) >= 4


def test_rate_limit_per_mailbox() -> None:
    """Past the per-mailbox request budget for 10 minutes, requests get 429 with Retry-After."""
    with GraphSandbox(rate_limit_per_10min=3) as sb:
        auth = bearer(sb)
        url = sb.graph_url + "/users/cm@d.org/todo/lists"
        codes = [requests.get(url, headers=auth, timeout=5) for _ in range(4)]
        assert [r.status_code for r in codes] == [200, 200, 200, 429]
        assert 0 < float(codes[-1].headers["Retry-After"]) <= 600
        ok = requests.get(sb.graph_url + "/users/b@d.org/todo/lists", headers=auth, timeout=5)
        assert ok.status_code == 200


# --- faults -------------------------------------------------------------------------------------


def test_faults_produce_each_kind(sb: GraphSandbox) -> None:
    """At rate 1.0 every Graph request faults: 429/503 carry Retry-After, drop closes the socket."""
    sb.gate.max_retry_after = 0.5
    auth = bearer(sb)
    url = sb.graph_url + "/users/cm@d.org/todo/lists"
    sb.set_faults(1.0, ("429",))
    throttled = requests.get(url, headers=auth, timeout=5)
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert 0 < float(throttled.headers["Retry-After"]) <= 0.5
    sb.set_faults(1.0, ("503",))
    unavailable = requests.get(url, headers=auth, timeout=5)
    assert unavailable.status_code == 503 and "Retry-After" in unavailable.headers
    assert unavailable.json()["error"]["code"] == "ServiceUnavailable"
    sb.set_faults(1.0, ("drop",))
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url, headers=auth, timeout=5)
    # The token endpoint and the control endpoints never fault.
    assert requests.get(sb.base_url + "/_sandbox/stats", timeout=5).status_code == 200
    assert bearer(sb)["Authorization"].startswith("Bearer ")
    faults = sb.stats()["faults"]
    assert (faults["429"], faults["503"], faults["drop"]) == (1, 1, 1)
    sb.set_faults(0.0)
    assert requests.get(url, headers=auth, timeout=5).status_code == 200


def test_retry_after_values_are_often_fractional(sb: GraphSandbox) -> None:
    """Injected Retry-After values vary and are usually fractional, as Graph's can be."""
    auth = bearer(sb)
    sb.set_faults(1.0, ("429", "503"))
    values = [
        requests.get(sb.graph_url + "/users/a@d.org/events", headers=auth, timeout=5).headers[
            "Retry-After"
        ]
        for _ in range(12)
    ]
    assert all(0 < float(v) <= 1.0 for v in values)
    assert sum("." in v for v in values) >= 6 and len(set(values)) > 3


def test_drop_after_write_really_applied_the_write() -> None:
    """A drop happens before the write or after it, and only the latter leaves an event behind."""
    with GraphSandbox(seed=3) as sb:
        auth = bearer(sb)
        sb.set_faults(1.0, ("drop",))
        for i in range(12):
            with pytest.raises(requests.exceptions.ConnectionError):
                requests.post(
                    sb.graph_url + "/users/cm@d.org/events",
                    json=event_body(f"e{i}"),
                    headers=auth,
                    timeout=5,
                )
        sb.set_faults(0.0)
        faults = sb.stats()["faults"]
        events = sb.dump()["mailboxes"]["cm@d.org"]["events"]
        assert faults["drop"] == 12
        assert 0 < faults["drop_after_write"] < 12
        assert len(events) == faults["drop_after_write"]
        assert sb.stats()["writes"] == len(events)


def test_a_drop_inside_a_batch_drops_the_whole_response(sb: GraphSandbox) -> None:
    """A drop fault on any batch item closes the connection without any answer."""
    auth = bearer(sb)
    sb.set_faults(1.0, ("drop",))
    with pytest.raises(requests.exceptions.ConnectionError):
        batch(sb, auth, [create_item("1", "cm@d.org", "x"), create_item("2", "cm@d.org", "y")])
    sb.set_faults(0.0)
    assert sb.stats()["batches"] == 1


def test_faults_apply_per_batch_item(sb: GraphSandbox) -> None:
    """429/503 faults hit batch items individually while the envelope stays 200."""
    auth = bearer(sb)
    sb.set_faults(0.5, ("429", "503"))
    reply = batch(sb, auth, [create_item(str(i), "cm@d.org", f"e{i}") for i in range(20)])
    assert reply.status_code == 200
    statuses = [r["status"] for r in reply.json()["responses"]]
    assert {429, 503} & set(statuses) and 201 in statuses
    for answer in reply.json()["responses"]:
        if answer["status"] in (429, 503):
            assert float(answer["headers"]["Retry-After"]) > 0
    created = len(sb.dump()["mailboxes"]["cm@d.org"]["events"])
    assert created == statuses.count(201)


# --- statistics ---------------------------------------------------------------------------------


def test_stats_counting_rules(sb: GraphSandbox) -> None:
    """Batch items count as writes (the envelope doesn't); getSchedule, tokens, /_sandbox don't."""
    auth = bearer(sb)
    sb.reset_stats()
    batch(sb, auth, [create_item(str(i), "cm@d.org", f"e{i}") for i in range(3)])
    requests.post(
        sb.graph_url + "/users/cm@d.org/calendar/getSchedule",
        json={
            "schedules": ["cm@d.org"],
            "startTime": {"dateTime": "2026-09-01T00:00:00", "timeZone": "UTC"},
            "endTime": {"dateTime": "2026-09-02T00:00:00", "timeZone": "UTC"},
        },
        headers=auth,
        timeout=5,
    )
    requests.get(sb.graph_url + "/users/cm@d.org/events", headers=auth, timeout=5)
    bearer(sb)
    requests.get(sb.base_url + "/_sandbox/dump", timeout=5)
    stats = requests.get(sb.base_url + "/_sandbox/stats", timeout=5).json()
    assert stats["http_requests"] == 4  # batch + getSchedule + GET + token
    assert stats["token_requests"] == 1
    assert (stats["batches"], stats["batch_items"]) == (1, 3)
    assert (stats["writes"], stats["write_requests"]) == (3, 3)
    assert stats["reads"] == 2
    assert stats["by_mailbox"]["cm@d.org"]["requests"] == 5
    assert stats["by_mailbox"]["cm@d.org"]["writes"] == 3
    assert requests.post(sb.base_url + "/_sandbox/reset_stats", timeout=5).status_code == 204
    assert sb.stats()["http_requests"] == 0


# --- request log ----------------------------------------------------------------------------------


def test_request_log_records_items_then_their_envelope() -> None:
    """With record=True every request is logged — a batch's items one by one, then the envelope —
    with decoded path and query, the Prefer header, the JSON body and the answer; never the
    token. Without it, asking for the log is an error rather than an empty list."""
    with GraphSandbox(record=True) as sb:
        auth = bearer(sb)
        prefer = {"Prefer": 'outlook.timezone="Central Standard Time"'}
        requests.get(
            sb.graph_url + "/users/cm@d.org/events?$top=2&$select=id",
            headers={**auth, **prefer},
            timeout=5,
        )
        batch(sb, auth, [create_item("1", "cm@d.org", "e1")])
        direct, item, envelope = sb.requests()
        assert (direct.method, direct.path, dict(direct.query)) == (
            "GET",
            "/users/cm@d.org/events",
            {"$top": "2", "$select": "id"},
        )
        assert direct.headers == {"prefer": 'outlook.timezone="Central Standard Time"'}
        assert (direct.status, direct.in_batch) == (200, False)
        assert (item.method, item.path, item.status, item.in_batch) == (
            "POST",
            "/users/cm@d.org/events",
            201,
            True,
        )
        assert item.body["subject"] == "e1"
        assert (envelope.path, envelope.status, envelope.in_batch) == ("/$batch", 200, False)
        assert "authorization" not in str(sb.requests()).lower()
        control = requests.get(sb.base_url + "/_sandbox/requests", timeout=5).json()["requests"]
        assert [(r["method"], r["path"], r["status"]) for r in control] == [
            ("GET", "/users/cm@d.org/events", 200),
            ("POST", "/users/cm@d.org/events", 201),
            ("POST", "/$batch", 200),
        ]
        sb.clear_requests()
        assert sb.requests() == []
    with GraphSandbox() as plain:
        with pytest.raises(RuntimeError, match="record=True"):
            plain.requests()
        refused = requests.get(plain.base_url + "/_sandbox/requests", timeout=5)
        assert refused.status_code == 400 and "record=True" in refused.text

"""The sandbox's $batch module on its own: envelope parsing, dependsOn order, per-item status."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iepsched.sandbox.api import GraphApi
from iepsched.sandbox.batch import BATCH_FANOUT, MAX_BATCH, Plan, execute, parse
from iepsched.sandbox.pipeline import Pipeline
from iepsched.sandbox.store import GraphError, Store
from iepsched.sandbox.throttle import Gate

JSON_HEADERS = {"content-type": "application/json"}
EVENT = {
    "subject": "IEP meeting",
    "start": {"dateTime": "2026-09-01T09:00:00", "timeZone": "UTC"},
    "end": {"dateTime": "2026-09-01T10:00:00", "timeZone": "UTC"},
}


def envelope(*items: dict[str, Any]) -> bytes:
    return json.dumps({"requests": list(items)}).encode()


def get(rid: str, url: str = "/users/cm@d.org/events", **extra: Any) -> dict[str, Any]:
    return {"id": rid, "method": "GET", "url": url, **extra}


def create(rid: str, subject: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "method": "POST",
        "url": "/users/cm@d.org/events",
        "headers": {"Content-Type": "application/json"},
        "body": {**EVENT, "subject": subject},
        **extra,
    }


def gate(seed: int = 1) -> Gate:
    return Gate(concurrency=4, rate_per_10min=10_000, seed=seed, fault_rate=0.0)


def pipeline(store: Store, seed: int = 1) -> Pipeline:
    return Pipeline(gate(seed), GraphApi(store, lambda: "http://127.0.0.1:1/v1.0"), lambda: None)


def run(store: Store, *items: dict[str, Any], seed: int = 1) -> dict[str, dict[str, Any]]:
    answer = execute(pipeline(store, seed), JSON_HEADERS, envelope(*items))
    assert answer.status == 200
    return {entry["id"]: entry for entry in answer.body["responses"]}


def bad_envelope(body: bytes, headers: dict[str, str] | None = None) -> str:
    with pytest.raises(GraphError) as caught:
        parse(headers or JSON_HEADERS, body)
    assert caught.value.status == 400
    return caught.value.message


# --- parsing ------------------------------------------------------------------------------------


def test_depends_on_ids_resolve_case_insensitively_to_the_declared_spelling() -> None:
    """dependsOn may spell an id in any case; the plan refers to the id as the batch declared it."""
    plan = parse(JSON_HEADERS, envelope(get("Alpha"), get("b", dependsOn=["ALPHA"])))
    assert plan.ids == ["Alpha", "b"]
    assert plan.depends == {"Alpha": [], "b": ["Alpha"]}


def test_relative_urls_gain_a_leading_slash_and_absolute_urls_fail_alone() -> None:
    """A URL without "/" is fixed; an absolute URL is answered 400 for that item, not the batch."""
    plan = parse(
        JSON_HEADERS,
        envelope(
            get("1", "users/cm@d.org/events"), get("2", "https://graph.microsoft.com/v1.0/me")
        ),
    )
    assert plan.requests["1"].url == "/users/cm@d.org/events"
    assert set(plan.invalid) == {"2"} and plan.invalid["2"].status == 400


@pytest.mark.parametrize(
    ("items", "wanted"),
    [
        ([get("1", dependsOn=["1"])], "depends on unknown id"),
        ([get("1", dependsOn=["9"])], "depends on unknown id"),
        ([get("1", dependsOn="2"), get("2")], "dependsOn must list ids"),
        (
            [get("a", dependsOn=["c"]), get("b", dependsOn=["a"]), get("c", dependsOn=["b"])],
            "cycle",
        ),
        ([get("x"), get("X")], "must be unique"),
        ([{"id": "1", "url": "/users/cm@d.org/events"}], "needs a 'method'"),
        ([{"method": "GET", "url": "/x"}], "needs a string 'id'"),
        ([{**create("1", "s"), "headers": {}}], "does not contain Content-Type"),
    ],
)
def test_bad_envelopes_fail_the_whole_batch(items: list[dict[str, Any]], wanted: str) -> None:
    """Self or unknown dependencies, longer cycles, repeated ids and bare writes are 400."""
    assert wanted in bad_envelope(envelope(*items))


def test_envelope_limits() -> None:
    """The envelope must be JSON with 1..20 requests."""
    assert "Content-Type" in bad_envelope(envelope(get("1")), {"content-type": "text/plain"})
    assert "'requests' is required" in bad_envelope(envelope())
    many = [get(str(i)) for i in range(MAX_BATCH + 1)]
    assert "exceeds the limit of 20" in bad_envelope(envelope(*many))
    assert len(parse(JSON_HEADERS, envelope(*many[:MAX_BATCH])).ids) == MAX_BATCH


# --- waves --------------------------------------------------------------------------------------


def test_dependent_batches_run_one_at_a_time_in_dependency_order() -> None:
    """With dependsOn, every wave holds one item and no item runs before what it depends on."""
    plan = parse(
        JSON_HEADERS,
        envelope(
            get("last", dependsOn=["middle", "first"]),
            get("middle", dependsOn=["first"]),
            get("free"),
            get("first"),
        ),
    )
    waves = list(plan.waves(gate()))
    assert all(len(wave) == 1 for wave in waves)
    order = [wave[0] for wave in waves]
    assert sorted(order) == sorted(plan.ids)
    assert order.index("first") < order.index("middle") < order.index("last")


def test_independent_items_run_four_at_a_time() -> None:
    """Without dependsOn, items run in waves of at most four, each item exactly once."""
    plan: Plan = parse(JSON_HEADERS, envelope(*(get(str(i)) for i in range(10))))
    waves = list(plan.waves(gate()))
    assert [len(w) for w in waves] == [BATCH_FANOUT, BATCH_FANOUT, 2]
    assert sorted(rid for wave in waves for rid in wave) == sorted(plan.ids)


# --- per-item status ----------------------------------------------------------------------------


def test_dependency_writes_apply_in_order() -> None:
    """A chain of dependent creates is applied in dependency order, whatever the request order."""
    store = Store()
    answers = run(
        store,
        create("3", "third", dependsOn=["2"]),
        create("1", "first"),
        create("2", "second", dependsOn=["1"]),
    )
    assert {rid: a["status"] for rid, a in answers.items()} == {"1": 201, "2": 201, "3": 201}
    held = sorted(store.mailbox("cm@d.org").events.values(), key=lambda ev: ev.seq)
    assert [ev.props["subject"] for ev in held] == ["first", "second", "third"]


def test_failed_dependencies_cascade_as_424_without_running() -> None:
    """An item whose dependency failed answers 424 naming it, and so does the next in the chain."""
    store = Store()
    answers = run(
        store,
        get("1", "/users/cm@d.org/events/missing"),
        create("2", "never", dependsOn=["1"]),
        create("3", "never either", dependsOn=["2"]),
        get("4"),
    )
    assert answers["1"]["status"] == 404
    assert answers["2"]["status"] == 424 and "'1'" in answers["2"]["body"]["error"]["message"]
    assert answers["3"]["status"] == 424 and "'2'" in answers["3"]["body"]["error"]["message"]
    assert answers["3"]["body"]["error"]["code"] == "FailedDependency"
    assert answers["4"]["status"] == 200
    assert store.mailbox("cm@d.org").events == {}


def test_an_invalid_item_fails_its_dependents() -> None:
    """An absolute-URL item answers 400, and an item depending on it answers 424."""
    answers = run(
        Store(),
        get("1", "https://graph.microsoft.com/v1.0/users/cm@d.org/events"),
        get("2", dependsOn=["1"]),
    )
    assert answers["1"]["status"] == 400 and answers["2"]["status"] == 424


def test_item_answers_carry_graph_headers_but_no_length() -> None:
    """Each item answer has request-id headers and a JSON type, and no Content-Length."""
    answers = run(Store(), get("1"), get("2", "/users/cm@d.org/events/missing"))
    for entry in answers.values():
        assert entry["headers"]["request-id"]
        assert "Content-Length" not in entry["headers"]
    assert answers["2"]["body"]["error"]["innerError"]["request-id"]


def test_answer_order_follows_the_seed_not_the_request() -> None:
    """Answers come back shuffled (clients must match ids); the same seed gives the same order."""
    items = [get(str(i)) for i in range(8)]

    def order(seed: int) -> list[str]:
        answer = execute(pipeline(Store(), seed), JSON_HEADERS, envelope(*items))
        return [entry["id"] for entry in answer.body["responses"]]

    assert order(5) == order(5)
    assert any(order(seed) != [str(i) for i in range(8)] for seed in range(3))

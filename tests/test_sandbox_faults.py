"""The sandbox's fault injector answers only as Graph does (issue 8 item 12)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from test_sandbox_traffic import batch, bearer, create_item

from iepsched.sandbox import GraphSandbox


def read_item(rid: str, user: str) -> dict[str, Any]:
    return {"id": rid, "method": "GET", "url": f"/users/{user}/events"}


def test_a_batch_envelope_is_dropped_at_the_fault_rate_not_once_per_item() -> None:
    """At a 30% fault rate a 20-item envelope is dropped about 10% of the time, not ~90%.

    Regression (issue 8 item 12): drops were drawn per item, so nearly every envelope was lost and
    a sync saw its creates applied and then retried far more often than the rate says.
    """
    with GraphSandbox(seed=4, fault_rate=0.3) as sb:
        auth = bearer(sb)
        dropped = 0
        for _ in range(60):
            try:
                batch(sb, auth, [read_item(str(i), "cm@d.org") for i in range(20)])
            except requests.exceptions.ConnectionError:
                dropped += 1
        assert sb.stats()["faults"]["drop"] == dropped
        assert 1 <= dropped <= 15  # expected 6 (0.3 x 1/3 of 60)


def test_batch_items_only_get_status_faults_graph_sends() -> None:
    """Every faulted batch item answers 429, 503 or 504 — never a 400 or another invented code."""
    with GraphSandbox(seed=9, fault_rate=1.0, fault_kinds=("429", "503", "504")) as sb:
        auth = bearer(sb)
        reply = batch(sb, auth, [create_item(str(i), "cm@d.org", f"e{i}") for i in range(20)])
        assert reply.status_code == 200
        statuses = {r["status"] for r in reply.json()["responses"]}
        assert statuses <= {429, 503, 504} and len(statuses) == 3
        for item in reply.json()["responses"]:
            if item["status"] == 504:
                assert item["body"]["error"]["code"] == "UnknownError"


def test_a_504_may_come_after_the_write_was_applied() -> None:
    """The gateway can time out after the mailbox applied a create: 504, yet the event exists."""
    with GraphSandbox(seed=2, fault_rate=1.0, fault_kinds=("504",)) as sb:
        auth = bearer(sb)
        for i in range(12):
            sent = requests.post(
                sb.graph_url + "/users/cm@d.org/events",
                json=create_item("x", "cm@d.org", f"e{i}")["body"],
                headers=auth,
                timeout=5,
            )
            assert sent.status_code == 504
            assert sent.json()["error"]["code"] == "UnknownError"
        faults = sb.stats()["faults"]
        sb.set_faults(0.0)
        events = sb.dump()["mailboxes"]["cm@d.org"]["events"]
        assert faults["504"] == 12
        assert 0 < faults["504_after_write"] == len(events) < 12


def test_a_dropped_envelope_is_all_or_nothing() -> None:
    """An envelope drop happens before any item runs or after all of them (no partial batch)."""
    with GraphSandbox(seed=1, fault_rate=1.0, fault_kinds=("drop",)) as sb:
        auth = bearer(sb)
        for n in range(8):
            with pytest.raises(requests.exceptions.ConnectionError):
                batch(sb, auth, [create_item(f"{n}-{i}", "cm@d.org", f"e{i}") for i in range(5)])
        sb.set_faults(0.0)
        created = len(sb.dump()["mailboxes"].get("cm@d.org", {"events": []})["events"])
        applied = sb.stats()["faults"]["drop_after_write"]
        assert created == 5 * applied and 0 < applied < 8


def test_a_create_retried_after_an_applied_drop_gets_graphs_duplicate_answer() -> None:
    """The only 400 a faulted sync sees: a create retried with its transactionId after the first
    attempt was applied and its answer lost — Graph's ErrorDuplicateTransactionId."""
    with GraphSandbox(seed=3) as sb:
        auth = bearer(sb)
        body = {**create_item("1", "cm@d.org", "IEP")["body"], "transactionId": "tx-1"}
        url = sb.graph_url + "/users/cm@d.org/events"
        sb.set_faults(1.0, ("drop",))
        for _ in range(4):  # until a drop lands after the write
            try:
                requests.post(url, json=body, headers=auth, timeout=5)
            except requests.exceptions.ConnectionError:
                if sb.stats()["faults"]["drop_after_write"]:
                    break
        sb.set_faults(0.0)
        retried = requests.post(url, json=body, headers=auth, timeout=5)
        assert retried.status_code == 400
        assert retried.json()["error"]["code"] == "ErrorDuplicateTransactionId"

"""GraphRemote.apply over the sandbox: task creates and their checklist POSTs fill envelopes."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from test_remote_contract import SandboxHarness, create, pick, sandbox_token_provider

from iepsched.m365.graphwire import MAX_BATCH_ITEMS
from iepsched.sandbox import GraphSandbox


@pytest.fixture
def h() -> Iterator[SandboxHarness]:
    with GraphSandbox(latency_ms=0, max_retry_after=0.01) as sb:
        harness = SandboxHarness(sb, sandbox_token_provider(sb))
        yield harness
        harness.client.close()
        harness.person.close()


def test_checklists_of_many_full_mailbox_chunks_share_envelopes(h: SandboxHarness) -> None:
    """200 task creates over 5 mailboxes, one in ten with a checklist, cost ceil(items / 20)
    envelopes: the checklist rounds of every chunk share envelopes instead of each chunk of 20
    tasks sending its two checklist POSTs a round in an envelope of their own."""
    contact, plain = pick("task", contact=True), pick("task")
    items = [
        dataclasses.replace(
            contact if n % 10 == 0 else plain,
            key=f"pack-{n}",
            student_id=f"S{n}",
            mailbox=f"cm{n // 10 % 5 + 1}@usd500.org",  # 40 tasks, 4 with a checklist
        )
        for n in range(200)
    ]
    results = list(h.remote.apply([create(item) for item in items]))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    envelopes = [b for m, u, b in h.session.sent if m == "POST" and u.endswith("/$batch")]
    sizes = [len(b["requests"]) for b in envelopes]
    checklist_posts = sum(
        1
        for b in envelopes
        for r in b["requests"]
        if urlsplit(r["url"]).path.endswith("/checklistItems")
    )
    assert checklist_posts == 20 * len(contact.create_extra["checklistItems"])
    assert len(sizes) == math.ceil(sum(sizes) / MAX_BATCH_ITEMS), sizes

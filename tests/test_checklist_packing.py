"""Checklist POSTs share full $batch envelopes while each task's items keep their order."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import pytest
from requests.structures import CaseInsensitiveDict

from iepsched.core.errors import GraphError
from iepsched.m365.checklists import ChecklistJob, add_checklists
from iepsched.m365.graph import GraphClient
from iepsched.m365.graphwire import MAX_BATCH_ITEMS, BatchRequest, GraphResponse


class RecordingBatcher:
    """Stands in for `GraphClient.batch`: answers every POST 201 and records each call."""

    def __init__(self) -> None:
        self.calls: list[list[BatchRequest]] = []

    def batch(self, requests: Sequence[BatchRequest]) -> dict[str, GraphResponse | GraphError]:
        self.calls.append(list(requests))
        return {r.id: GraphResponse(201, CaseInsensitiveDict(), {"id": r.id}) for r in requests}

    def envelopes(self) -> int:
        """Envelopes the real client would send: it packs each call into ceil(n / 20)."""
        return sum(math.ceil(len(call) / MAX_BATCH_ITEMS) for call in self.calls)


def _jobs(lengths: Sequence[int], mailboxes: int) -> dict[str, ChecklistJob]:
    return {
        str(t): ChecklistJob(
            f"cm{t % mailboxes}@x.org", "L", f"T{t}", tuple(f"step {k}" for k in range(n))
        )
        for t, n in enumerate(lengths)
    }


@pytest.mark.parametrize(
    ("lengths", "mailboxes"),
    [
        ([t % 5 + 1 for t in range(30)], 7),  # 90 items: strict rounds cost 30,24,18,12,6 -> 7
        ([2] * 102 + [1] * 33, 12),  # the benchmark's shape: rounds of 135 and 102
        ([3] * 41, 41),  # one task per mailbox, 123 items
    ],
)
def test_checklist_rounds_fill_whole_envelopes(lengths: list[int], mailboxes: int) -> None:
    """Checklist items cost ceil(items / 20) envelopes (a round's remainder waits for the next
    round instead of going out nearly empty), each task's items still POSTed once, in order,
    and at most one item per task per call."""
    jobs = _jobs(lengths, mailboxes)
    fake = RecordingBatcher()
    assert add_checklists(cast(GraphClient, fake), jobs) == {}
    assert fake.envelopes() == math.ceil(sum(lengths) / MAX_BATCH_ITEMS)
    posted: dict[str, list[str]] = {}
    for call in fake.calls:
        assert len({r.id for r in call}) == len(call)  # one in flight per task
        for r in call:
            assert r.method == "POST" and r.url == jobs[r.id].url
            assert isinstance(r.body, dict)
            posted.setdefault(r.id, []).append(str(r.body["displayName"]))
    assert posted == {j: list(job.names) for j, job in jobs.items()}


def test_few_checklists_take_one_round_per_item() -> None:
    """With 20 or fewer tasks nothing is held back: a round per item of the longest checklist."""
    fake = RecordingBatcher()
    assert add_checklists(cast(GraphClient, fake), _jobs([4, 1, 2] * 6, 3)) == {}
    assert [len(call) for call in fake.calls] == [18, 12, 6, 6]

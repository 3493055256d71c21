"""GraphRemote against the Graph sandbox: request patterns, faults, conflicts and lost answers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
import requests
from test_remote_contract import (
    CM,
    CM2,
    LIST_NAME,
    TZ,
    RecordingSession,
    SandboxHarness,
    apply_one,
    create,
    district_items,
    fake_response,
    key_of_event,
    key_of_task,
    ok,
    pick,
    sandbox_token_provider,
)

from iepsched.core.errors import GraphAuthError
from iepsched.core.items import DEFAULT_INSTALLATION, INSTALLATION_PROPERTY_ID, transaction_id
from iepsched.core.remote import KEY_PROPERTY_ID, Action, DesiredItem, Snapshot
from iepsched.m365.graphread import parse_datetime
from iepsched.m365.graphremote import GraphRemote
from iepsched.m365.graphwire import TokenProvider
from iepsched.m365.graphwrite import key_filter
from iepsched.sandbox import GraphSandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[GraphSandbox]:
    with GraphSandbox(latency_ms=0, max_retry_after=0.01) as sb:
        yield sb


@pytest.fixture(scope="module")
def sandbox_tokens(sandbox: GraphSandbox) -> TokenProvider:
    return sandbox_token_provider(sandbox)


@pytest.fixture
def h(sandbox: GraphSandbox, sandbox_tokens: TokenProvider) -> Iterator[SandboxHarness]:
    sandbox.reset()
    sandbox.set_faults(0.0)
    harness = SandboxHarness(sandbox, sandbox_tokens)
    yield harness
    sandbox.set_faults(0.0)
    harness.client.close()
    harness.person.close()


def writes_of(session: RecordingSession, method: str, path_end: str) -> int:
    """How many item requests (batched or not) had this method and path ending."""
    return sum(
        1
        for m, url, _ in session.graph_items()
        if m == method and urlsplit(url).path.rstrip("/").endswith(path_end)
    )


def test_creates_converge_without_duplicates_under_faults(h: SandboxHarness) -> None:
    """With 30% faults (429, 503, dropped connections) creates converge after re-reading and
    re-applying only what is missing, and no item is ever duplicated."""
    items = list(district_items())
    by_key = {i.key: i for i in items}
    # Reads must survive the faults too: enough attempts that 0.3**attempts is negligible.
    remote = GraphRemote(h._client(h.session, max_attempts=14), timezone=TZ)
    h.sb.set_faults(0.3)
    mailboxes = [CM, CM2]
    missing = list(by_key)
    outcomes: Counter[str] = Counter()
    for _round in range(8):
        results = list(remote.apply([create(by_key[k]) for k in missing]))
        outcomes.update("ok" if r.ok else "uncertain" if r.uncertain else "failed" for r in results)
        snapshot = remote.snapshot(mailboxes)
        missing = [k for k in by_key if k not in snapshot.events and k not in snapshot.tasks]
        if not missing:
            break
    h.sb.set_faults(0.0)
    assert missing == []
    faults = h.sb.stats()["faults"]
    assert faults["429"] + faults["503"] + faults["drop"] > 0
    assert outcomes["uncertain"] + outcomes["failed"] > 0  # the faults did reach some writes
    for mb in mailboxes:
        event_keys = [key_of_event(e) for e in h.events(mb)]
        task_keys = [key_of_task(t) for t in h.tasks(mb)]
        assert len(event_keys) == len(set(event_keys))
        assert len(task_keys) == len(set(task_keys))
        assert sorted(str(k) for k in event_keys + task_keys) == sorted(
            k for k, i in by_key.items() if i.mailbox == mb
        )
        assert [tl["displayName"] for tl in h.lists(mb)].count(LIST_NAME) == 1


def test_duplicate_transaction_id_is_settled_by_one_lookup(h: SandboxHarness) -> None:
    """ErrorDuplicateTransactionId leads to one GET by key and adopts that event, no new POST."""
    meeting = pick("event")
    first = ok(apply_one(h.remote, create(meeting)))
    h.session.sent.clear()
    second = ok(apply_one(h.remote, create(meeting)))
    assert second.remote_id == first.remote_id
    calls = [(m, urlsplit(u).path) for m, u, _ in h.session.graph_items()]
    assert calls == [("POST", f"/users/{CM}/events"), ("GET", f"/users/{CM}/events")]
    (_, lookup, _) = h.session.graph_items()[1]
    flt = parse_qs(urlsplit(lookup).query)["$filter"][0]
    assert flt == key_filter(meeting.key)
    assert f"ep/value eq '{meeting.key}'" in flt


def test_rebook_uses_the_next_generation_and_looks_up_first(h: SandboxHarness) -> None:
    """After a person deleted the event, the conflict lookup finds nothing and one create with
    the next transaction-id generation follows."""
    meeting = pick("event")
    ok(apply_one(h.remote, create(meeting)))
    h.delete(CM, meeting.key)
    h.session.sent.clear()
    ok(apply_one(h.remote, create(meeting)))
    methods = [m for m, _, _ in h.session.graph_items()]
    assert methods == ["POST", "GET", "POST"]
    assert writes_of(h.session, "POST", "/events") == 2
    assert len(h.events(CM)) == 1
    # The create under the next generation labels its times with Windows names too.
    retried = h.session.graph_items()[-1][2]
    assert retried["start"]["timeZone"] == retried["end"]["timeZone"] == "Central Standard Time"


def test_uncertain_task_create_is_never_reposted(h: SandboxHarness) -> None:
    """A task create whose answer is lost is reported uncertain and not sent again; the next
    snapshot finds the task."""
    task = pick("task")
    h.drop_after_write(task.key)
    result = apply_one(h.remote, create(task))
    assert not result.ok and result.uncertain
    assert writes_of(h.session, "POST", "/tasks") == 1
    assert task.key in h.remote.snapshot([CM]).tasks
    assert len(h.tasks(CM)) == 1


def test_a_lost_list_create_answer_is_looked_up_not_repeated(h: SandboxHarness) -> None:
    """When the To Do list create's answer is lost, the list is found by name, not created twice."""
    armed = [True]

    def drop(method: str, url: str, body: Any) -> bool:
        if armed[0] and method == "POST" and urlsplit(url).path.endswith("/todo/lists"):
            armed[0] = False
            return True
        return False

    h.session.drop_after = drop
    result = ok(apply_one(h.remote, create(pick("task"))))
    (iep,) = [tl for tl in h.lists(CM) if tl["displayName"] == LIST_NAME]
    assert result.list_id == iep["id"]
    assert writes_of(h.session, "POST", "/todo/lists") == 1


def test_snapshot_reads_are_paged_and_counted(h: SandboxHarness) -> None:
    """A snapshot costs ceil(N/page) event pages + 1 probe for another installation's events
    + 1 list read + ceil(T/page) task pages."""
    items = [i for i in district_items() if i.mailbox == CM]
    list(h.remote.apply([create(i) for i in items]))
    # A second student's worth of items in the same mailbox makes the pages more than one.
    extra = [_renamed(i, "S9") for i in items]
    list(h.remote.apply([create(i) for i in extra]))
    n_events = sum(1 for i in items + extra if i.kind == "event")
    n_tasks = sum(1 for i in items + extra if i.kind != "event")
    remote = GraphRemote(h.client, timezone=TZ, todo_list_name=LIST_NAME, page_size=5)
    h.session.sent.clear()
    snapshot = remote.snapshot([CM])
    assert len(snapshot.events) == n_events and len(snapshot.tasks) == n_tasks
    gets = [urlsplit(u) for m, u, _ in h.session.sent if m == "GET"]
    assert len(h.session.sent) == len(gets)
    expected = max(1, math.ceil(n_events / 5)) + 2 + max(1, math.ceil(n_tasks / 5))
    assert len(gets) == expected
    first = gets[0]
    assert "+" not in first.query and "%20" in first.query  # spaces percent-encoded
    query = {k: v[0] for k, v in parse_qs(first.query).items()}
    assert query["$filter"] == (  # the documented id-and-value form
        f"singleValueExtendedProperties/Any(ep: ep/id eq '{INSTALLATION_PROPERTY_ID}' "
        f"and ep/value eq '{DEFAULT_INSTALLATION}')"
    )
    assert query["$expand"] == f"singleValueExtendedProperties($filter=id eq '{KEY_PROPERTY_ID}')"
    assert query["$select"] == "id,changeKey,start,end,isCancelled,attendees,isAllDay"
    assert query["$top"] == "5"
    task_query = parse_qs(gets[-1].query) if "$expand" in parse_qs(gets[-1].query) else {}
    assert any(
        parse_qs(g.query).get("$expand") == ["linkedResources,checklistItems"] for g in gets
    ), task_query


def _renamed(item: DesiredItem, prefix: str) -> DesiredItem:
    """The same item for another (made-up) student: new key, same payload shape."""
    key = prefix + item.key
    extra = dict(item.create_extra)
    if "transactionId" in extra:
        extra["transactionId"] = transaction_id(key)
        extra["singleValueExtendedProperties"] = [
            {"id": KEY_PROPERTY_ID, "value": key},
            {"id": INSTALLATION_PROPERTY_ID, "value": DEFAULT_INSTALLATION},
        ]
    if "linkedResources" in extra:
        extra["linkedResources"] = [{**extra["linkedResources"][0], "externalId": key}]
    return dataclasses.replace(item, key=key, create_extra=extra)


def test_snapshot_ignores_items_iepsched_did_not_make(h: SandboxHarness) -> None:
    """Events without the key property and tasks without an iepsched linked resource (or in
    other lists) are not reported."""
    task = pick("task")
    ok(apply_one(h.remote, create(task)))
    snapshot = h.remote.snapshot([CM])
    when = {"dateTime": "2027-01-05T10:00:00", "timeZone": TZ}
    until = {"dateTime": "2027-01-05T11:00:00", "timeZone": TZ}
    h.person.post(
        f"/users/{CM}/events", json={"subject": "Staff lunch", "start": when, "end": until}
    )
    other = {"id": "String {00020329-0000-0000-c000-000000000046} Name other", "value": "x"}
    h.person.post(
        f"/users/{CM}/events",
        json={
            "subject": "Other app",
            "start": when,
            "end": until,
            "singleValueExtendedProperties": [other],
        },
    )
    default = next(tl["id"] for tl in h.lists(CM) if tl["displayName"] == "Tasks")
    link = {"applicationName": "iepsched", "displayName": "x", "externalId": "S1/x/y"}
    h.person.post(
        f"/users/{CM}/todo/lists/{quote(default, safe='')}/tasks",
        json={"title": "Personal", "linkedResources": [link]},
    )
    iep = quote(snapshot.lists[CM], safe="")
    foreign = {"applicationName": "Planner", "displayName": "x", "externalId": "S1/x/z"}
    h.person.post(
        f"/users/{CM}/todo/lists/{iep}/tasks", json={"title": "Other", "linkedResources": [foreign]}
    )
    again = h.remote.snapshot([CM])
    assert again.events == {} and set(again.tasks) == {task.key}


def test_free_busy_splits_windows_and_schedules_into_one_batch(h: SandboxHarness) -> None:
    """getSchedule goes out in windows shorter than 42 days and groups of at most 20 schedules,
    at 15-minute resolution, batched together."""
    emails = [f"teacher{n:02d}@usd500.org" for n in range(25)]
    start = dt.datetime(2027, 1, 4, tzinfo=dt.UTC)
    busy = h.remote.free_busy(emails, start, start + dt.timedelta(days=50), organizer=CM)
    assert busy == {e: [] for e in emails}
    items = [(u, b) for m, u, b in h.session.graph_items() if u.endswith("/calendar/getSchedule")]
    assert len(items) == 4
    assert sum(1 for m, u, _ in h.session.sent if u.endswith("/$batch")) == 1
    assert sorted(len(b["schedules"]) for _, b in items) == [5, 5, 20, 20]
    for url, body in items:
        assert unquote(url) == f"/users/{CM}/calendar/getSchedule"
        assert body["availabilityViewInterval"] == 1440
        assert body["startTime"]["timeZone"] == "Central Standard Time"  # Graph takes Windows names
        lo = dt.datetime.fromisoformat(body["startTime"]["dateTime"])
        hi = dt.datetime.fromisoformat(body["endTime"]["dateTime"])
        assert dt.timedelta(0) < hi - lo < dt.timedelta(days=42)


def test_free_busy_merges_an_event_spanning_two_windows(h: SandboxHarness) -> None:
    """An item reported by two adjacent windows is returned once."""
    meeting = pick("event")
    ok(apply_one(h.remote, create(meeting)))
    assert meeting.start is not None and meeting.end is not None
    start = meeting.start - dt.timedelta(days=41, minutes=30)  # window edge inside the meeting
    busy = h.remote.free_busy([CM], start, meeting.end + dt.timedelta(days=5), organizer=CM)
    assert [(i.start, i.end) for i in busy[CM]] == [(meeting.start, meeting.end)]


def test_snapshot_is_concurrent_across_mailboxes_and_within_limits(h: SandboxHarness) -> None:
    """Reading many mailboxes never exceeds four requests in flight per mailbox."""
    h.sb.set_latency(5)
    try:
        boxes = [f"cm{n}@usd500.org" for n in range(6)]
        snapshot = h.remote.snapshot(boxes)
    finally:
        h.sb.set_latency(0)
    assert snapshot.mailboxes == frozenset(boxes)
    by_mailbox = h.sb.stats()["by_mailbox"]
    assert all(by_mailbox[b]["max_concurrency_seen"] <= 4 for b in boxes)
    assert all(by_mailbox[b]["throttled"] == 0 for b in boxes)


def test_apply_yields_one_result_per_action_across_mailboxes(h: SandboxHarness) -> None:
    """Apply answers every action exactly once, whatever mailbox and envelope it went in."""
    items = list(district_items())
    actions = [create(i) for i in items]
    results = list(h.remote.apply(actions))
    assert sorted(r.action.key for r in results) == sorted(a.key for a in actions)
    assert all(r.ok for r in results)
    assert isinstance(h.remote.snapshot([CM, CM2]), Snapshot)
    envelopes = [b for m, u, b in h.session.sent if u.endswith("/$batch")]
    assert all(len(b["requests"]) <= 20 for b in envelopes)
    # Each mailbox's full envelopes are its own; the remainders share envelopes, so the writes
    # cost the fewest envelopes possible.
    per_box: dict[str, int] = {}
    for a in actions:
        per_box[a.mailbox] = per_box.get(a.mailbox, 0) + 1
    rest = sum(n % 20 for n in per_box.values())
    # (Checklist items follow their tasks in envelopes of their own.)
    writes = [
        b
        for b in envelopes
        if any(r["method"] != "GET" and "/checklistItems" not in r["url"] for r in b["requests"])
    ]
    assert len(writes) == sum(n // 20 for n in per_box.values()) + -(-rest // 20)


def test_cancel_of_an_event_already_gone_is_done(h: SandboxHarness) -> None:
    """A 404 on cancel (a person already deleted the event) counts as success."""
    meeting = pick("event")
    made = ok(apply_one(h.remote, create(meeting)))
    h.delete(CM, meeting.key)
    h.session.sent.clear()
    cancel = Action(
        "cancel", meeting.key, meeting.student_id, "event", CM, "exited", remote_id=made.remote_id
    )
    result = ok(apply_one(h.remote, cancel))
    assert result.remote_id == made.remote_id
    assert writes_of(h.session, "POST", "/cancel") == 1
    assert h.sb.stats()["statuses"].get("404", 0) >= 1


def test_writes_refused_by_graph_fail_alone(h: SandboxHarness) -> None:
    """A write Graph refuses (here a 400 for a bad time zone) fails alone; the rest go on."""
    good, bad = pick("task"), pick("event")
    broken = dict(bad.fields)
    broken["start"] = {"dateTime": "2027-01-06T07:45:00", "timeZone": "Mars/Olympus"}
    bad = dataclasses.replace(bad, fields=broken)
    results = {r.action.key: r for r in h.remote.apply([create(bad), create(good)])}
    assert results[good.key].ok
    failed = results[bad.key]
    assert not failed.ok and not failed.uncertain and failed.error is not None
    assert failed.error.status == 400


def test_times_in_unknown_zones_are_unknown_not_wrong() -> None:
    """A time labelled with a zone iepsched cannot resolve reads as None (no false "moved");
    Windows names and seven fractional digits are understood."""
    assert (
        parse_datetime({"dateTime": "2027-01-06T07:45:00.0000000", "timeZone": "Nowhere"}) is None
    )
    value = parse_datetime(
        {"dateTime": "2027-01-06T07:45:00.1234567", "timeZone": "Central Standard Time"}
    )
    assert value is not None and value.utcoffset() == dt.timedelta(hours=-6)


def test_tasks_fail_alone_when_the_todo_list_cannot_be_made(h: SandboxHarness) -> None:
    """If the To Do list cannot be created (Tasks permission missing), the mailbox's tasks fail
    as not sent — not uncertain — and its events still go."""

    def refuse(method: str, url: str, body: Any) -> requests.Response | None:
        if method == "POST" and urlsplit(url).path.endswith("/todo/lists"):
            error = {"error": {"code": "Forbidden", "message": "Missing Tasks.ReadWrite.All"}}
            return fake_response(403, error, url)
        return None

    h.session.before = refuse
    meeting, task = pick("event"), pick("task")
    results = {r.action.key: r for r in h.remote.apply([create(meeting), create(task)])}
    assert results[meeting.key].ok
    failed = results[task.key]
    assert not failed.ok and not failed.uncertain
    assert isinstance(failed.error, GraphAuthError)
    assert writes_of(h.session, "POST", "/tasks") == 0


def test_checklist_items_follow_the_task_create_as_documented_posts(h: SandboxHarness) -> None:
    """The task create carries no inline checklistItems; each item is its own POST to
    /tasks/{id}/checklistItems after the create answered, in the order of the desired items."""
    contact = pick("task", contact=True)
    made = ok(apply_one(h.remote, create(contact)))
    items = h.session.graph_items()
    (create_body,) = [b for m, u, b in items if m == "POST" and urlsplit(u).path.endswith("/tasks")]
    assert "checklistItems" not in create_body
    posts = [(u, b) for m, u, b in items if m == "POST" and "/checklistItems" in u]
    wanted = [i["displayName"] for i in contact.create_extra["checklistItems"]]
    assert [b for _, b in posts] == [{"displayName": n} for n in wanted]
    assert all(quote(str(made.remote_id), safe="") in u for u, _ in posts)
    (stored,) = [t for t in h.tasks(CM) if key_of_task(t) == contact.key]
    assert [i["displayName"] for i in stored["checklistItems"]] == wanted


def test_a_lost_checklist_answer_is_read_back_not_posted_twice(h: SandboxHarness) -> None:
    """A checklist POST whose answer is lost (it landed) is followed by a read of the checklist,
    and only the items still missing are posted: no duplicates."""
    contact = pick("task", contact=True)
    armed = [True]

    def drop(method: str, url: str, body: Any) -> bool:
        batch = method == "POST" and urlsplit(url).path.endswith("/$batch")
        if armed[0] and batch and any("/checklistItems" in r["url"] for r in body["requests"]):
            armed[0] = False
            return True
        return False

    h.session.drop_after = drop
    ok(apply_one(h.remote, create(contact)))
    assert not armed[0]
    (stored,) = [t for t in h.tasks(CM) if key_of_task(t) == contact.key]
    wanted = [i["displayName"] for i in contact.create_extra["checklistItems"]]
    assert [i["displayName"] for i in stored["checklistItems"]] == wanted
    reads = [u for m, u, _ in h.session.graph_items() if m == "GET" and "/checklistItems" in u]
    assert len(reads) == 1


def test_faults_never_leave_two_iep_lists(sandbox_tokens: TokenProvider) -> None:
    """At a 30% fault rate (fixed seed) three nights of task creates in twelve mailboxes leave
    exactly one iepsched list in each (issue 8 item 5: lost list creates were re-POSTed)."""
    boxes = [f"cm{i}@usd500.org" for i in range(12)]
    tasks = [i for i in district_items() if i.kind == "task"][:3]
    with GraphSandbox(latency_ms=0, max_retry_after=0.01, seed=4) as sb:
        h = SandboxHarness(sb, sandbox_token_provider(sb))
        for _ in range(3):
            sb.set_faults(0.0)
            h.remote.snapshot(boxes)
            sb.set_faults(0.3)
            list(
                h.remote.apply(
                    [create(dataclasses.replace(t, mailbox=mb)) for mb in boxes for t in tasks]
                )
            )
        sb.set_faults(0.0)
        counts = {mb: [tl["displayName"] for tl in h.lists(mb)].count(LIST_NAME) for mb in boxes}
        h.client.close()
        h.person.close()
    assert counts == dict.fromkeys(boxes, 1)


def test_two_same_named_lists_the_one_holding_our_tasks_is_used_and_reported(
    h: SandboxHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """With two "IEP deadlines" lists (an earlier fault), iepsched keeps using the one holding
    its tasks, reports the duplicate and deletes neither."""
    url = f"/users/{CM}/todo/lists"
    older = h.person.post(url, json={"displayName": LIST_NAME})["id"]
    holding = h.person.post(url, json={"displayName": LIST_NAME})["id"]
    made = ok(apply_one(h.remote, dataclasses.replace(create(pick("task")), list_id=holding)))
    assert made.list_id == holding
    fresh = GraphRemote(h.client, timezone=TZ, todo_list_name=LIST_NAME)
    with caplog.at_level("WARNING"):
        snapshot = fresh.snapshot([CM])
    assert snapshot.lists[CM] == holding
    assert "2 To Do lists named" in caplog.text
    second = ok(apply_one(fresh, create(pick("task", contact=True))))
    assert second.list_id == holding
    assert {tl["id"] for tl in h.lists(CM) if tl["displayName"] == LIST_NAME} == {older, holding}


def test_known_events_missing_from_the_listing_are_read_by_id_in_batches(
    h: SandboxHarness,
) -> None:
    """Stored event ids the listing did not return are read with GET /users/{m}/events/{id}
    inside $batch envelopes of at most 20; ids the listing returned cost nothing."""
    meeting = pick("event")
    made = ok(apply_one(h.remote, create(meeting)))
    assert made.remote_id is not None
    missing = [f"AAMkmissing{n:03d}=" for n in range(25)]
    known = {made.remote_id: CM, **dict.fromkeys(missing, CM)}
    h.session.sent.clear()
    snapshot = h.remote.snapshot([CM], known)
    assert meeting.key in snapshot.events
    by_id = [
        u
        for m, u, _ in h.session.graph_items()
        if m == "GET" and urlsplit(u).path.startswith(f"/users/{CM}/events/")
    ]
    assert sorted(unquote(urlsplit(u).path).rsplit("/", 1)[1] for u in by_id) == missing
    envelopes = [b for _, u, b in h.session.sent if u.endswith("/$batch")]
    assert envelopes and all(len(b["requests"]) <= 20 for b in envelopes)


def test_a_lost_task_create_answer_still_gets_its_checklist_once(h: SandboxHarness) -> None:
    """When a contact task's create answer is lost the result stays uncertain (the sync engine
    re-reads), but the task that landed is found in its list and gets its checklist items —
    each once — since a recovered task is never created again."""
    contact = pick("task", contact=True)
    h.drop_after_write(contact.key)
    result = apply_one(h.remote, create(contact))
    assert not result.ok and result.uncertain
    (stored,) = [t for t in h.tasks(CM) if key_of_task(t) == contact.key]
    wanted = [i["displayName"] for i in contact.create_extra["checklistItems"]]
    assert [i["displayName"] for i in stored["checklistItems"]] == wanted


def test_faults_leave_every_contact_checklist_complete_and_single(
    sandbox_tokens: TokenProvider,
) -> None:
    """At a 30% fault rate (fixed seed), creating contact tasks until each is confirmed or
    found (as the sync engine does) leaves each task once, with each checklist item once."""
    boxes = [f"cm{i}@usd500.org" for i in range(6)]
    contact = pick("task", contact=True)
    wanted = [i["displayName"] for i in contact.create_extra["checklistItems"]]
    items = [dataclasses.replace(contact, mailbox=mb) for mb in boxes]
    with GraphSandbox(latency_ms=0, max_retry_after=0.01, seed=7) as sb:
        h = SandboxHarness(sb, sandbox_token_provider(sb))
        pending = items
        for _ in range(8):
            sb.set_faults(0.0)
            h.remote.snapshot(boxes)  # as each pass of the sync engine reads first
            pending = [
                i for i in pending if not any(key_of_task(t) == i.key for t in h.tasks(i.mailbox))
            ]
            if not pending:
                break
            sb.set_faults(0.3)
            list(h.remote.apply([create(i) for i in pending]))
        sb.set_faults(0.0)
        stored = {mb: [t for t in h.tasks(mb) if key_of_task(t) == contact.key] for mb in boxes}
        h.client.close()
        h.person.close()
    for mb, tasks in stored.items():
        assert len(tasks) == 1, mb
        assert sorted(i["displayName"] for i in tasks[0]["checklistItems"]) == sorted(wanted), mb

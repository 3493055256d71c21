"""One contract for every `Remote`: MemoryRemote, and GraphRemote against the Graph sandbox —
and against a real tenant when the IEPSCHED_TEST_* environment variables name one (README,
"Testing against a real tenant"); without them those runs are skipped, saying why.

Each test runs for each harness. The harness plays the people (move, complete, delete,
decline) — in memory through MemoryRemote's helpers, against the sandbox and a tenant through
plain Graph calls — and exposes what the tenant holds and every request body the remote sent,
so all are checked the same way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

import pytest
import requests
from calendars import CHICAGO, context, student

from iepsched.core.errors import GraphAuthError, GraphError, GraphNotFound, GraphTransportError
from iepsched.core.items import METHOD_LABELS, DeliveryOptions, desired_items, transaction_id
from iepsched.core.model import CONTACT_METHODS
from iepsched.core.remote import KEY_PROPERTY_ID, Action, DesiredItem, Remote, Result, Snapshot
from iepsched.core.schedule import plan_district
from iepsched.core.settings import GraphSettings
from iepsched.m365 import schema as graphschema
from iepsched.m365.auth import make_token_provider
from iepsched.m365.graph import GraphClient
from iepsched.m365.graphremote import CANCEL_COMMENT, GraphRemote
from iepsched.m365.graphwire import TokenProvider
from iepsched.m365.graphwrite import expand_property, property_filter, query_string, tasks_url
from iepsched.m365.memory import MemoryRemote
from iepsched.m365.ownership import ForeignInstallation
from iepsched.sandbox import GraphSandbox

# A real tenant, when these name one (a certificate path may replace the secret). The mailboxes
# must be test mailboxes: every iepsched event and the iepsched To Do list in them is deleted
# before and after each test. AUTHORITY and GRAPH_ENDPOINT are for national clouds.
TENANT_VARS = (
    "IEPSCHED_TEST_TENANT_ID",
    "IEPSCHED_TEST_CLIENT_ID",
    "IEPSCHED_TEST_MAILBOX",
    "IEPSCHED_TEST_MAILBOX2",
    "IEPSCHED_TEST_ATTENDEE",
)
TENANT: dict[str, str] | None = (
    {name: os.environ[name] for name in TENANT_VARS}
    if all(os.environ.get(name) for name in TENANT_VARS)
    and (
        os.environ.get("IEPSCHED_TEST_CLIENT_SECRET") or os.environ.get("IEPSCHED_TEST_CERTIFICATE")
    )
    else None
)
NO_TENANT = (
    "no real tenant: set "
    + ", ".join(TENANT_VARS)
    + " and IEPSCHED_TEST_CLIENT_SECRET or IEPSCHED_TEST_CERTIFICATE to run the contract there"
)

TZ = "America/Chicago"
CM = TENANT["IEPSCHED_TEST_MAILBOX"].lower() if TENANT else "cm1@usd500.org"
CM2 = TENANT["IEPSCHED_TEST_MAILBOX2"].lower() if TENANT else "cm2@usd500.org"
LEA = TENANT["IEPSCHED_TEST_ATTENDEE"].lower() if TENANT else "lea1@usd500.org"
LIST_NAME = "IEP deadlines"
TODAY = dt.date(2026, 12, 1)


# -- desired items from a small hand-made district ------------------------------------------------


# A real tenant remembers every transactionId a mailbox used, deleted events' too, so each tenant
# test gets fresh student ids (hence keys and transactionIds); see the `h` fixture.
RUN = {"salt": ""}


@cache
def district_items(tasks: str = "todo", salt: str = "") -> tuple[DesiredItem, ...]:
    """Items for two students of two case managers (S1001 is 16: invited to the meeting)."""
    # Against a real tenant only its test addresses are invited (no invitation to strangers).
    others: dict[str, dict[str, Any]] = {
        "S1001": {"student_email": "s1001@usd500.org"},
        "S1002": {"lea_email": "lea2@usd500.org", "gen_ed_emails": ("gen2@usd500.org",)},
    }
    if TENANT:
        others = {sid: {"lea_email": LEA, "gen_ed_emails": ()} for sid in others}
    students = [
        student(
            f"S1001{salt}",
            birth_date=dt.date(2010, 1, 5),
            case_manager_email=CM,
            **others["S1001"],
        ),
        student(
            f"S1002{salt}",
            first_name="Avery",
            last_name="Lee",
            case_manager_email=CM2,
            due_date=dt.date(2027, 1, 27),
            **others["S1002"],
        ),
    ]
    plan = plan_district(students, context(), today=TODAY)
    return tuple(desired_items(plan.plans, DeliveryOptions(timezone=TZ, tasks=tasks)))


def pick(
    kind: str, *, contact: bool = False, mailbox: str = CM, tasks: str = "todo"
) -> DesiredItem:
    """The first item of a kind (and contact flag) in a mailbox."""
    for item in district_items(tasks, RUN["salt"]):
        if item.kind == kind and item.contact == contact and item.mailbox == mailbox:
            return item
    raise LookupError(kind)


def legacy_recurring() -> DesiredItem:
    """A recurring To Do task as iepsched delivered progress monitoring before SPEC §5 ruled
    `recurrence` out: an older state can still hold one, so the remotes must still read it."""
    task = pick("task")
    assert task.due is not None
    recurrence = {
        "pattern": {"type": "daily", "interval": 14},
        "range": {"type": "endDate", "startDate": task.due.isoformat(), "endDate": "2027-12-31"},
    }
    key = f"{task.student_id}/{task.cycle_id}/progress_monitoring"
    return dataclasses.replace(
        task,
        key=key,
        milestone="progress_monitoring",
        kind="recurring_task",
        fields={**task.fields, "recurrence": recurrence},
        create_extra={
            "linkedResources": [
                {"applicationName": "iepsched", "displayName": key, "externalId": key}
            ]
        },
    )


def create(item: DesiredItem) -> Action:
    return Action("create", item.key, item.student_id, item.kind, item.mailbox, "new", item=item)


def act(op: str, item: DesiredItem, done: Result | None = None, **kw: Any) -> Action:
    """An update/cancel/delete of an item, addressed by the ids a previous result gave."""
    return Action(
        op,  # type: ignore[arg-type]
        item.key,
        item.student_id,
        item.kind,
        item.mailbox,
        "test",
        item=item if op == "update" else None,
        remote_id=done.remote_id if done else None,
        list_id=done.list_id if done else None,
        **kw,
    )


def apply_all(remote: Remote, actions: list[Action]) -> list[Result]:
    results = list(remote.apply(actions))
    assert [r.action for r in results] == actions or sorted(
        (r.action.key, r.action.op) for r in results
    ) == sorted((a.key, a.op) for a in actions)
    return results


def apply_one(remote: Remote, action: Action) -> Result:
    (result,) = remote.apply([action])
    return result


def ok(result: Result) -> Result:
    assert result.ok, result.error
    return result


def key_of_event(obj: dict[str, Any]) -> str | None:
    for prop in obj.get("singleValueExtendedProperties") or []:
        if prop["id"].lower() == KEY_PROPERTY_ID.lower():
            return str(prop["value"])
    return None


def key_of_task(obj: dict[str, Any]) -> str | None:
    for link in obj.get("linkedResources") or []:
        if link.get("applicationName") == "iepsched":
            return str(link["externalId"])
    return None


# -- harnesses ------------------------------------------------------------------------------------


class Harness(Protocol):
    """A tenant behind a Remote, and a person acting in it."""

    @property
    def remote(self) -> Remote: ...

    def make_remote(self, **options: Any) -> Remote: ...
    def events(self, mailbox: str) -> list[dict[str, Any]]: ...
    def tasks(self, mailbox: str) -> list[dict[str, Any]]: ...
    def lists(self, mailbox: str) -> list[dict[str, Any]]: ...
    def sent(self) -> list[tuple[str, str, dict[str, Any]]]: ...
    def move(self, mailbox: str, key: str, start: dt.datetime, end: dt.datetime) -> None: ...
    def complete(self, mailbox: str, key: str, checked: tuple[str, ...], on: dt.date) -> None: ...
    def delete(self, mailbox: str, key: str) -> None: ...
    def decline(self, mailbox: str, key: str, attendee: str) -> None: ...
    def drop_after_write(self, key: str) -> None: ...
    def fail_read(self, mailbox: str, kind: str) -> None: ...


class MemoryHarness:
    """MemoryRemote and its person helpers."""

    def __init__(self) -> None:
        self.remote: MemoryRemote = MemoryRemote(timezone=TZ, todo_list_name=LIST_NAME)

    def make_remote(self, **options: Any) -> Remote:
        for name, value in options.items():
            setattr(self.remote, name, value)
        return self.remote

    def events(self, mailbox: str) -> list[dict[str, Any]]:
        return self.remote.events(mailbox)

    def tasks(self, mailbox: str) -> list[dict[str, Any]]:
        return self.remote.tasks(mailbox)

    def lists(self, mailbox: str) -> list[dict[str, Any]]:
        return self.remote.lists(mailbox)

    def sent(self) -> list[tuple[str, str, dict[str, Any]]]:
        return list(self.remote.sent)

    def move(self, mailbox: str, key: str, start: dt.datetime, end: dt.datetime) -> None:
        self.remote.move_event(mailbox, key, start, end)

    def complete(self, mailbox: str, key: str, checked: tuple[str, ...], on: dt.date) -> None:
        self.remote.complete_task(mailbox, key, checked, on=on)

    def delete(self, mailbox: str, key: str) -> None:
        self.remote.delete_item(mailbox, key)

    def decline(self, mailbox: str, key: str, attendee: str) -> None:
        self.remote.decline(mailbox, key, attendee)

    def drop_after_write(self, key: str) -> None:
        self.remote.drop_after_write(key)

    def fail_read(self, mailbox: str, kind: str) -> None:
        error: GraphError = (
            GraphAuthError("403 ErrorAccessDenied", status=403, code="ErrorAccessDenied")
            if kind == "auth"
            else GraphTransportError("connection reset")
        )
        self.remote.fail_read(mailbox, error)


class RecordingSession(requests.Session):
    """A requests session that records every request and can drop or fail chosen ones."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, Any]] = []
        # Before sending: return a Response to answer locally, or raise to fail the request.
        self.before: Callable[[str, str, Any], requests.Response | None] | None = None
        # After Graph applied the request: True drops the answer (the connection resets).
        self.drop_after: Callable[[str, str, Any], bool] | None = None

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kw: Any) -> Any:
        data = kw.get("data")
        body = json.loads(data) if data else None
        method_s = method.decode() if isinstance(method, bytes) else method
        url_s = url.decode() if isinstance(url, bytes) else url
        self.sent.append((method_s, url_s, body))
        if self.before is not None:
            local = self.before(method_s, url_s, body)
            if local is not None:
                return local
        response = super().request(method, url, *args, **kw)
        if self.drop_after is not None and self.drop_after(method_s, url_s, body):
            raise requests.ConnectionError("connection reset by peer (test: answer dropped)")
        return response

    def graph_items(self) -> list[tuple[str, str, Any]]:
        """Every Graph request as (method, path, body), $batch envelopes unpacked."""
        out: list[tuple[str, str, Any]] = []
        for method, url, body in self.sent:
            path = urlsplit(url).path.split("/v1.0", 1)[-1]
            if path == "/$batch" and isinstance(body, dict):
                for item in body["requests"]:
                    out.append((item["method"], item["url"], item.get("body")))
            else:
                query = urlsplit(url).query
                out.append((method, path + (f"?{query}" if query else ""), body))
        return out


def graph_type(method: str, url: str) -> str | None:
    """The Graph type a request body must be (None: an action or a read)."""
    path = unquote(urlsplit(url).path).rstrip("/").lower()
    if path.endswith("/cancel"):
        return "cancel"
    if path.endswith("/getschedule") or method == "GET" or method == "DELETE":
        return None
    if path.endswith("/checklistitems"):
        return "checklistItem"
    if "/todo/lists" in path:
        return "todoTask" if "/tasks" in path else "todoTaskList"
    return "event"


def fake_response(status: int, body: dict[str, Any], url: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    response.url = url
    return response


def quick_sleep(seconds: float) -> None:
    time.sleep(min(seconds, 0.005))


class SandboxHarness:
    """GraphRemote over a GraphClient against a running sandbox; people act through Graph."""

    def __init__(self, sb: GraphSandbox, tokens: TokenProvider) -> None:
        self.sb = sb
        self.tokens = tokens
        self.session = RecordingSession()
        self.client = self._client(self.session)
        self.person = self._client(requests.Session())
        self.remote: GraphRemote = GraphRemote(
            self.client, timezone=TZ, todo_list_name=LIST_NAME, page_size=100
        )

    def _client(self, session: requests.Session, **kw: Any) -> GraphClient:
        kw.setdefault("max_attempts", 4)
        return GraphClient(
            endpoint=self.sb.graph_url,
            tokens=self.tokens,
            session=session,
            timezone=TZ,
            sleep=quick_sleep,
            backoff_base=0.001,
            **kw,
        )

    def make_remote(self, **options: Any) -> Remote:
        self.remote = GraphRemote(self.client, timezone=TZ, todo_list_name=LIST_NAME, **options)
        return self.remote

    def _box(self, mailbox: str) -> dict[str, Any]:
        boxes: dict[str, dict[str, Any]] = self.sb.dump()["mailboxes"]
        return boxes.get(mailbox.lower(), {"events": [], "tasks": [], "lists": []})

    def events(self, mailbox: str) -> list[dict[str, Any]]:
        return list(self._box(mailbox)["events"])

    def tasks(self, mailbox: str) -> list[dict[str, Any]]:
        return list(self._box(mailbox)["tasks"])

    def lists(self, mailbox: str) -> list[dict[str, Any]]:
        return list(self._box(mailbox)["lists"])

    def sent(self) -> list[tuple[str, str, dict[str, Any]]]:
        out = []
        for method, url, body in self.session.graph_items():
            kind = graph_type(method, url)
            if kind is not None:
                out.append((method, kind, body))
        return out

    def _event_id(self, mailbox: str, key: str) -> str:
        (found,) = [e["id"] for e in self.events(mailbox) if key_of_event(e) == key]
        return str(found)

    def _task(self, mailbox: str, key: str) -> dict[str, Any]:
        found = [t for t in self.tasks(mailbox) if key_of_task(t) == key]
        open_ones = [t for t in found if t["status"] != "completed"]
        return (open_ones or found)[0]

    def _u(self, mailbox: str) -> str:
        return f"/users/{quote(mailbox)}"

    def move(self, mailbox: str, key: str, start: dt.datetime, end: dt.datetime) -> None:
        def local(value: dt.datetime) -> dict[str, str]:
            return {"dateTime": value.astimezone(CHICAGO).isoformat()[:19], "timeZone": TZ}

        event_id = quote(self._event_id(mailbox, key), safe="")
        self.person.patch(
            f"{self._u(mailbox)}/events/{event_id}", json={"start": local(start), "end": local(end)}
        )

    def complete(self, mailbox: str, key: str, checked: tuple[str, ...], on: dt.date) -> None:
        task = self._task(mailbox, key)
        base = (
            f"{self._u(mailbox)}/todo/lists/{quote(task['@sandbox.listId'], safe='')}"
            f"/tasks/{quote(task['id'], safe='')}"
        )
        for item in task.get("checklistItems", []):
            if item["displayName"] in checked:
                self.person.patch(f"{base}/checklistItems/{item['id']}", json={"isChecked": True})
        done = {"dateTime": f"{on}T00:00:00", "timeZone": "UTC"}
        self.person.patch(base, json={"status": "completed", "completedDateTime": done})

    def delete(self, mailbox: str, key: str) -> None:
        if any(key_of_event(e) == key for e in self.events(mailbox)):
            event_id = quote(self._event_id(mailbox, key), safe="")
            self.person.delete(f"{self._u(mailbox)}/events/{event_id}")
            return
        task = self._task(mailbox, key)
        self.person.delete(
            f"{self._u(mailbox)}/todo/lists/{quote(task['@sandbox.listId'], safe='')}"
            f"/tasks/{quote(task['id'], safe='')}"
        )

    def decline(self, mailbox: str, key: str, attendee: str) -> None:
        reply = requests.post(
            self.sb.base_url + "/_sandbox/respond",
            json={
                "organizer": mailbox,
                "event_id": self._event_id(mailbox, key),
                "attendee": attendee,
                "response": "declined",
            },
            timeout=5,
        )
        assert reply.status_code == 204, reply.text

    def drop_after_write(self, key: str) -> None:
        armed = [True]

        def drop(method: str, url: str, body: Any) -> bool:
            if armed[0] and method == "POST" and key in json.dumps(body):
                armed[0] = False
                return True
            return False

        self.session.drop_after = drop

    def fail_read(self, mailbox: str, kind: str) -> None:
        def fail(method: str, url: str, body: Any) -> requests.Response | None:
            if method != "GET" or f"/users/{mailbox}/" not in unquote(url):
                return None
            if kind == "auth":
                error = {"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}}
                return fake_response(403, error, url)
            raise requests.ConnectionError("connection reset by peer (test)")

        self.session.before = fail


class TenantHarness(SandboxHarness):
    """GraphRemote against a real tenant (TENANT); people act through Graph, what the mailboxes
    hold is read through Graph, and every iepsched item is removed before and after the test."""

    def __init__(self, env: dict[str, str]) -> None:
        authority = os.environ.get("IEPSCHED_TEST_AUTHORITY", "")
        self.endpoint = os.environ.get(
            "IEPSCHED_TEST_GRAPH_ENDPOINT", "https://graph.microsoft.com/v1.0"
        )
        certificate = os.environ.get("IEPSCHED_TEST_CERTIFICATE")
        self.tokens = make_token_provider(
            GraphSettings(
                tenant_id=env["IEPSCHED_TEST_TENANT_ID"],
                client_id=env["IEPSCHED_TEST_CLIENT_ID"],
                authority=authority,
                endpoint=self.endpoint,
                certificate_path=Path(certificate) if certificate else None,
            ),
            client_secret=os.environ.get("IEPSCHED_TEST_CLIENT_SECRET"),
            certificate_password=os.environ.get("IEPSCHED_TEST_CERTIFICATE_PASSWORD"),
        )
        self.session = RecordingSession()
        self.client = self._client(self.session)
        self.person = self._client(requests.Session())
        self.remote = GraphRemote(self.client, timezone=TZ, todo_list_name=LIST_NAME, page_size=100)

    def _client(self, session: requests.Session, **kw: Any) -> GraphClient:
        # A real tenant's Retry-After is honoured (no quick sleep).
        return GraphClient(endpoint=self.endpoint, tokens=self.tokens, session=session, timezone=TZ)

    def _events(self, mailbox: str, select: str | None = None) -> list[dict[str, Any]]:
        """Every event carrying an iepsched key (any installation), the key expanded."""
        params = {
            "$filter": property_filter(KEY_PROPERTY_ID, "", "ne"),
            "$expand": expand_property(KEY_PROPERTY_ID),
            "$top": "100",
        }
        if select:
            params["$select"] = select
        return list(self.person.paginate(f"{self._u(mailbox)}/events?{query_string(params)}"))

    def _lists(self, mailbox: str) -> list[dict[str, Any]]:
        return list(self.person.paginate(f"{self._u(mailbox)}/todo/lists"))

    def _box(self, mailbox: str) -> dict[str, Any]:
        # Only the iepsched list and the default list: a real mailbox may hold others.
        lists = [
            tl
            for tl in self._lists(mailbox)
            if tl["displayName"] == LIST_NAME or tl.get("wellknownListName") == "defaultList"
        ]
        tasks = []
        for tl in lists:
            if tl["displayName"] != LIST_NAME:
                continue
            url = tasks_url(mailbox, tl["id"], page_size=100)
            for task in self.person.paginate(url):
                tasks.append({"@sandbox.listId": tl["id"], **task})
        return {"events": self._events(mailbox), "tasks": tasks, "lists": lists}

    def decline(self, mailbox: str, key: str, attendee: str) -> None:
        pytest.skip("a decline needs the attendee to answer: the sandbox plays that, not a tenant")

    def make_remote(self, **options: Any) -> Remote:
        self.remote = GraphRemote(self.client, timezone=TZ, todo_list_name=LIST_NAME, **options)
        return self.remote

    def clean(self) -> None:
        """Delete every iepsched event and the iepsched To Do list (its tasks with it)."""
        for mailbox in (CM, CM2):
            for ev in self._events(mailbox, select="id"):
                self.person.delete(f"{self._u(mailbox)}/events/{quote(ev['id'], safe='')}")
            for tl in self._lists(mailbox):
                if tl["displayName"] == LIST_NAME:
                    self.person.delete(f"{self._u(mailbox)}/todo/lists/{quote(tl['id'], safe='')}")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[GraphSandbox]:
    with GraphSandbox(latency_ms=0, max_retry_after=0.01) as sb:
        yield sb


def sandbox_token_provider(sb: GraphSandbox) -> TokenProvider:
    """App-only tokens from the sandbox, the way the CLI gets them."""
    return make_token_provider(
        GraphSettings(
            tenant_id=sb.tenant_id,
            client_id="iepsched-tests",
            authority=sb.authority,
            endpoint=sb.graph_url,
        ),
        client_secret="sandbox-secret",
    )


@pytest.fixture(scope="module")
def sandbox_tokens(sandbox: GraphSandbox) -> TokenProvider:
    return sandbox_token_provider(sandbox)


@pytest.fixture(params=["memory", "graph", "tenant"])
def h(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "memory":
        yield MemoryHarness()
        return
    if request.param == "tenant":
        if TENANT is None:
            pytest.skip(NO_TENANT)
        tenant = TenantHarness(TENANT)
        tenant.clean()  # what an earlier, interrupted run left
        RUN["salt"] = uuid.uuid4().hex[:8].upper()
        try:
            yield tenant
        finally:  # every item the test created goes, whatever the test did
            RUN["salt"] = ""
            tenant.session.before = tenant.session.drop_after = None
            tenant.clean()
            tenant.client.close()
            tenant.person.close()
        return
    sandbox: GraphSandbox = request.getfixturevalue("sandbox")
    sandbox_tokens: TokenProvider = request.getfixturevalue("sandbox_tokens")
    sandbox.reset()
    sandbox.set_faults(0.0)
    harness = SandboxHarness(sandbox, sandbox_tokens)
    yield harness
    harness.client.close()
    harness.person.close()


def snap(h: Harness, *mailboxes: str) -> Snapshot:
    return h.remote.snapshot(list(mailboxes or (CM,)))


# -- the contract ---------------------------------------------------------------------------------


class TestRemoteContract:
    """Behaviour the sync engine relies on, identical for every Remote."""

    def test_created_event_is_found_by_key_with_its_times(self, h: Harness) -> None:
        """An event create is found again by its key, with aware start/end and a change key."""
        meeting = pick("event")
        result = ok(apply_one(h.remote, create(meeting)))
        assert result.remote_id and result.change_key
        found = snap(h).events[meeting.key]
        assert found.remote_id == result.remote_id and found.mailbox == CM
        assert found.start == meeting.start and found.end == meeting.end
        assert found.start is not None and found.start.utcoffset() is not None
        assert not found.is_cancelled and found.declined_by == ()
        assert snap(h).tasks == {}

    def test_created_tasks_keep_checklist_and_recurrence(self, h: Harness) -> None:
        """Plain, contact and recurring tasks land in the iepsched list, checklist and recurrence
        included."""
        items = [pick("task"), pick("task", contact=True), legacy_recurring()]
        results = [ok(r) for r in apply_all(h.remote, [create(i) for i in items])]
        snapshot = snap(h)
        list_id = snapshot.lists[CM]
        for item, result in zip(items, results, strict=True):
            found = snapshot.tasks[item.key]
            assert (found.remote_id, found.list_id) == (result.remote_id, result.list_id)
            assert found.list_id == list_id and found.status == "notStarted"
            assert found.checked == () and found.completed_on is None
        stored = {key_of_task(t): t for t in h.tasks(CM)}
        labels = [i["displayName"] for i in stored[items[1].key]["checklistItems"]]
        assert labels == [METHOD_LABELS[m] for m in CONTACT_METHODS]
        assert stored[items[0].key].get("checklistItems", []) == []
        recurrence = stored[items[2].key]["recurrence"]
        assert recurrence["pattern"]["type"] == "daily" and recurrence["pattern"]["interval"] == 14

    def test_calendar_items_are_all_day_events_found_by_key(self, h: Harness) -> None:
        """With tasks delivered as calendar items, each is an all-day event found by its key."""
        item = pick("calendar_item", tasks="calendar")
        ok(apply_one(h.remote, create(item)))
        found = snap(h).events[item.key]
        assert item.due is not None and found.start is not None
        assert found.start.date() == item.due and found.start.time() == dt.time(0)
        (stored,) = [e for e in h.events(CM) if key_of_event(e) == item.key]
        assert stored["isAllDay"] is True and stored["showAs"] == "free"
        assert snap(h).lists == {}

    def test_todo_list_is_created_once_and_reported(self, h: Harness) -> None:
        """The iepsched To Do list is created on first need only; the default list is untouched."""
        first, second = pick("task"), pick("task", contact=True)
        ok(apply_one(h.remote, create(first)))
        ok(apply_one(h.remote, create(second)))
        names = sorted(tl["displayName"] for tl in h.lists(CM))
        assert names == [LIST_NAME, "Tasks"]
        (iep,) = [tl for tl in h.lists(CM) if tl["displayName"] == LIST_NAME]
        assert snap(h).lists == {CM: iep["id"]}
        assert snap(h, CM2).lists == {}

    def test_update_sends_only_changed_fields(self, h: Harness) -> None:
        """An update PATCHes exactly the changed fields; others keep their stored values."""
        meeting, task = pick("event"), pick("task")
        made = {i.key: ok(apply_one(h.remote, create(i))) for i in (meeting, task)}
        new_meeting = dataclasses.replace(
            meeting,
            fields={
                **meeting.fields,
                "subject": "IEP meeting (moved room)",
                "body": {"contentType": "text", "content": "not sent"},
            },
        )
        new_task = dataclasses.replace(
            task, fields={**task.fields, "importance": "high", "title": "not sent"}
        )
        before = len(h.sent())
        updated_event = ok(
            apply_one(h.remote, act("update", new_meeting, made[meeting.key], changed=("subject",)))
        )
        updated_task = ok(
            apply_one(h.remote, act("update", new_task, made[task.key], changed=("importance",)))
        )
        patches = [(m, t, b) for m, t, b in h.sent()[before:] if m == "PATCH"]
        assert [(t, sorted(b)) for _, t, b in patches] == [
            ("event", ["subject"]),
            ("todoTask", ["importance"]),
        ]
        assert updated_event.remote_id == made[meeting.key].remote_id
        assert updated_event.change_key != made[meeting.key].change_key
        assert updated_task.change_key != made[task.key].change_key
        assert updated_task.list_id == made[task.key].list_id
        (ev,) = [e for e in h.events(CM) if key_of_event(e) == meeting.key]
        assert ev["subject"] == "IEP meeting (moved room)"
        assert meeting.fields["body"]["content"] in ev["body"]["content"]  # Graph may wrap it
        (stored_task,) = [t for t in h.tasks(CM) if key_of_task(t) == task.key]
        assert stored_task["importance"] == "high" and stored_task["title"] == task.fields["title"]
        assert snap(h).events[meeting.key].change_key == updated_event.change_key

    def test_time_update_moves_the_event(self, h: Harness) -> None:
        """Changing start/end PATCHes the times and the next snapshot shows them."""
        meeting = pick("event")
        made = ok(apply_one(h.remote, create(meeting)))
        assert meeting.start is not None and meeting.end is not None
        later = dt.timedelta(days=1, hours=7, minutes=45)
        start, end = meeting.start + later, meeting.end + later
        fields = {
            **meeting.fields,
            "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": TZ},
            "end": {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": TZ},
        }
        moved = dataclasses.replace(meeting, fields=fields, start=start, end=end)
        ok(apply_one(h.remote, act("update", moved, made, changed=("start", "end"))))
        found = snap(h).events[meeting.key]
        assert (found.start, found.end) == (start, end)

    def test_cancel_removes_the_event_and_repeating_it_is_harmless(self, h: Harness) -> None:
        """Cancel sends the fixed comment and removes the event; a second cancel is still ok."""
        meeting = pick("event")
        made = ok(apply_one(h.remote, create(meeting)))
        first = ok(apply_one(h.remote, act("cancel", meeting, made)))
        assert first.remote_id == made.remote_id
        assert meeting.key not in snap(h).events
        assert ("POST", "cancel", {"comment": CANCEL_COMMENT}) in h.sent()
        ok(apply_one(h.remote, act("cancel", meeting, made)))
        assert [e for e in h.events(CM) if key_of_event(e) == meeting.key] == []

    def test_delete_removes_tasks_and_calendar_items(self, h: Harness) -> None:
        """Delete removes a task and an all-day calendar item; deleting again is still ok."""
        task, item = pick("task"), pick("calendar_item", tasks="calendar")
        made = [ok(apply_one(h.remote, create(i))) for i in (task, item)]
        for it, done in zip((task, item), made, strict=True):
            ok(apply_one(h.remote, act("delete", it, done)))
        snapshot = snap(h)
        assert task.key not in snapshot.tasks and item.key not in snapshot.events
        for it, done in zip((task, item), made, strict=True):
            ok(apply_one(h.remote, act("delete", it, done)))

    def test_repeated_event_create_gives_one_event(self, h: Harness) -> None:
        """A second create with the same transactionId adopts the first event (no duplicate)."""
        meeting = pick("event")
        first = ok(apply_one(h.remote, create(meeting)))
        second = ok(apply_one(h.remote, create(meeting)))
        assert second.remote_id == first.remote_id
        assert [key_of_event(e) for e in h.events(CM)] == [meeting.key]

    def test_rebook_after_a_person_deleted_the_event_creates_it_again(self, h: Harness) -> None:
        """When the key's event is gone, a create moves on to the next transaction-id generation."""
        meeting = pick("event")
        first = ok(apply_one(h.remote, create(meeting)))
        for generation in (1, 2):
            h.delete(CM, meeting.key)
            assert meeting.key not in snap(h).events
            again = ok(apply_one(h.remote, create(meeting)))
            assert again.remote_id != first.remote_id
            (stored,) = [e for e in h.events(CM) if key_of_event(e) == meeting.key]
            assert stored["id"] == again.remote_id
            assert stored["transactionId"] == transaction_id(meeting.key, generation)
            assert snap(h).events[meeting.key].remote_id == again.remote_id

    def test_a_person_moving_the_meeting_is_visible(self, h: Harness) -> None:
        """A meeting dragged to another time shows its new time and a new change key."""
        meeting = pick("event")
        made = ok(apply_one(h.remote, create(meeting)))
        start = dt.datetime(2027, 1, 7, 15, 30, tzinfo=CHICAGO)
        h.move(CM, meeting.key, start, start + dt.timedelta(hours=1))
        found = snap(h).events[meeting.key]
        assert (found.start, found.end) == (start, start + dt.timedelta(hours=1))
        assert found.change_key != made.change_key

    def test_a_person_completing_a_contact_task_is_visible(self, h: Harness) -> None:
        """A completed contact task reads back with its completion date and ticked methods."""
        task = pick("task", contact=True)
        ok(apply_one(h.remote, create(task)))
        h.complete(CM, task.key, ("Phone", "Email"), dt.date(2026, 12, 10))
        found = snap(h).tasks[task.key]
        assert found.status == "completed" and found.completed_on == dt.date(2026, 12, 10)
        assert sorted(found.checked) == ["Email", "Phone"]

    def test_completing_a_recurring_task_leaves_the_next_occurrence_open(self, h: Harness) -> None:
        """The snapshot reports the open next occurrence of a recurring task, 14 days later."""
        task = legacy_recurring()
        made = ok(apply_one(h.remote, create(task)))
        h.complete(CM, task.key, (), dt.date(2027, 1, 20))
        found = snap(h).tasks[task.key]
        assert found.status == "notStarted" and found.remote_id != made.remote_id
        stored = {t["id"]: t for t in h.tasks(CM) if key_of_task(t) == task.key}
        assert task.due is not None
        assert stored[found.remote_id]["dueDateTime"]["dateTime"].startswith(
            (task.due + dt.timedelta(days=14)).isoformat()
        )
        assert stored[str(made.remote_id)]["status"] == "completed"

    def test_a_person_deleting_items_is_visible(self, h: Harness) -> None:
        """Deleted events and tasks are absent from the next snapshot."""
        meeting, task = pick("event"), pick("task")
        apply_all(h.remote, [create(meeting), create(task)])
        h.delete(CM, meeting.key)
        h.delete(CM, task.key)
        snapshot = snap(h)
        assert meeting.key not in snapshot.events and task.key not in snapshot.tasks

    def test_a_decline_is_visible(self, h: Harness) -> None:
        """An attendee's decline is listed on the event."""
        meeting = pick("event")
        ok(apply_one(h.remote, create(meeting)))
        h.decline(CM, meeting.key, LEA)
        assert snap(h).events[meeting.key].declined_by == (LEA,)

    def test_free_busy_reports_the_meeting(self, h: Harness) -> None:
        """getSchedule shows the meeting as busy for the organizer and attendees, not decliners."""
        meeting = pick("event")
        ok(apply_one(h.remote, create(meeting)))
        assert meeting.start is not None and meeting.end is not None
        start = dt.datetime(2026, 12, 1, tzinfo=CHICAGO)
        end = dt.datetime(2027, 2, 1, tzinfo=CHICAGO)
        emails = [CM, LEA, "nobody@usd500.org"]
        busy = h.remote.free_busy(emails, start, end, organizer=CM)
        assert sorted(busy) == sorted(emails)
        for email in (CM, LEA):
            assert [(i.start, i.end) for i in busy[email]] == [(meeting.start, meeting.end)]
        assert busy["nobody@usd500.org"] == []
        h.decline(CM, meeting.key, LEA)
        assert h.remote.free_busy([LEA], start, end, organizer=CM) == {LEA: []}

    def test_actions_without_a_remote_id_find_their_item_by_key(self, h: Harness) -> None:
        """Cancel/delete of an item whose create was never confirmed find it by key; an update
        of an item that does not exist fails as not found."""
        meeting, task = pick("event"), pick("task")
        apply_all(h.remote, [create(meeting), create(task)])
        ok(apply_one(h.remote, act("cancel", meeting)))
        ok(apply_one(h.remote, act("delete", task)))
        snapshot = snap(h)
        assert meeting.key not in snapshot.events and task.key not in snapshot.tasks
        failed = apply_one(h.remote, act("update", task, changed=("title",)))
        assert not failed.ok and isinstance(failed.error, GraphNotFound)
        ok(apply_one(h.remote, act("cancel", meeting)))  # nothing there: done

    def test_lost_answers_never_duplicate(self, h: Harness) -> None:
        """A dropped answer: the event create still answers (retried, adopted); the task create
        is uncertain — and each item exists exactly once."""
        meeting, task = pick("event"), pick("task")
        h.drop_after_write(meeting.key)
        event_result = ok(apply_one(h.remote, create(meeting)))
        h.drop_after_write(task.key)
        task_result = apply_one(h.remote, create(task))
        assert not task_result.ok and task_result.uncertain
        assert isinstance(task_result.error, GraphTransportError)
        snapshot = snap(h)
        assert snapshot.events[meeting.key].remote_id == event_result.remote_id
        assert task.key in snapshot.tasks
        assert [key_of_event(e) for e in h.events(CM)] == [meeting.key]
        assert [key_of_task(t) for t in h.tasks(CM)] == [task.key]

    def test_a_refused_mailbox_is_reported_and_the_others_read(self, h: Harness) -> None:
        """A mailbox Graph refuses (403 outside the access policy) is named in Snapshot.unread
        with Graph's code and left out of Snapshot.mailboxes; the other mailboxes are read."""
        task = pick("task", mailbox=CM2)
        meeting = pick("event")
        ok(apply_one(h.remote, create(task)))
        ok(apply_one(h.remote, create(meeting)))
        h.fail_read(CM2, "auth")
        snapshot = h.remote.snapshot([CM, CM2])
        assert snapshot.mailboxes == frozenset({CM}) and set(snapshot.unread) == {CM2}
        error = snapshot.unread[CM2]
        assert isinstance(error, GraphAuthError)
        assert (error.status, error.code) == (403, "ErrorAccessDenied")
        assert meeting.key in snapshot.events and task.key not in snapshot.tasks

    def test_an_unreadable_mailbox_fails_or_is_reported_missing(self, h: Harness) -> None:
        """Other read failures raise by default; when skipping is allowed the mailbox is left out
        of Snapshot.mailboxes and nothing of it is reported."""
        task = pick("task", mailbox=CM2)
        ok(apply_one(h.remote, create(task)))
        h.fail_read(CM2, "transport")
        with pytest.raises(GraphTransportError):
            h.remote.snapshot([CM, CM2])
        remote = h.make_remote(skip_unreadable_mailboxes=True)
        h.fail_read(CM2, "transport")
        snapshot = remote.snapshot([CM, CM2])
        assert snapshot.mailboxes == frozenset({CM}) and snapshot.tasks == {}

    def test_every_body_sent_and_every_stored_item_is_valid_graph(self, h: Harness) -> None:
        """Request bodies (creates, PATCHes, list create) and stored items validate strictly."""
        items = [
            pick("event"),
            pick("task"),
            pick("task", contact=True),
            legacy_recurring(),
            pick("calendar_item", tasks="calendar"),
        ]
        made = apply_all(h.remote, [create(i) for i in items])
        changed = [
            act("update", item, done, changed=tuple(sorted(item.fields)))
            for item, done in zip(items, made, strict=True)
        ]
        apply_all(h.remote, changed)
        sent = h.sent()
        assert {t for _, t, _ in sent} >= {"event", "todoTask", "todoTaskList"}
        for method, type_name, body in sent:
            if type_name != "cancel":
                assert graphschema.errors(type_name, body, strict=True) == [], (method, body)
        for ev in h.events(CM):
            assert graphschema.errors("event", ev, strict=True) == []
        for task in h.tasks(CM):
            assert graphschema.errors("todoTask", task, strict=True) == []
        for tl in h.lists(CM):
            assert graphschema.errors("todoTaskList", tl, strict=True) == []

    def test_a_second_snapshot_of_an_unchanged_tenant_is_equal(self, h: Harness) -> None:
        """Reading twice gives the same snapshot (ids and change keys are stable between writes)."""
        items = district_items(salt=RUN["salt"])
        apply_all(h.remote, [create(i) for i in items if i.mailbox == CM])
        assert snap(h, CM, CM2) == snap(h, CM, CM2)
        assert snap(h, CM, CM2).mailboxes == frozenset({CM, CM2})

    def test_a_deleted_event_reads_back_as_gone(self, h: Harness) -> None:
        """An event a person deleted is absent from the snapshot, an update of it by its id is
        404 (not found), and cancelling it is done (nothing to cancel)."""
        meeting = pick("event")
        made = ok(apply_one(h.remote, create(meeting)))
        assert meeting.key in snap(h).events
        h.delete(CM, meeting.key)
        assert meeting.key not in snap(h).events
        failed = apply_one(h.remote, act("update", meeting, made, changed=("subject",)))
        assert not failed.ok and isinstance(failed.error, GraphNotFound)
        ok(apply_one(h.remote, act("cancel", meeting, made)))

    def test_a_delivered_event_is_read_by_its_stored_id_and_404_is_gone(self, h: Harness) -> None:
        """An event the state knows (id -> mailbox) but the installation listing does not return
        (one written before installations were recorded) is read by its id; once a person
        deleted it, that read is a 404 and the event is reported gone."""
        meeting = pick("event")
        extra = dict(meeting.create_extra)
        extra["singleValueExtendedProperties"] = [{"id": KEY_PROPERTY_ID, "value": meeting.key}]
        untagged = dataclasses.replace(meeting, create_extra=extra)
        made = ok(apply_one(h.remote, create(untagged)))
        assert made.remote_id is not None
        assert meeting.key not in snap(h).events  # not this installation's by its properties
        known = {made.remote_id: CM}
        found = h.remote.snapshot([CM], known).events[meeting.key]
        assert found.remote_id == made.remote_id and found.start == meeting.start
        h.delete(CM, meeting.key)
        assert meeting.key not in h.remote.snapshot([CM], known).events

    def test_another_installations_items_stop_the_snapshot(self, h: Harness) -> None:
        """A mailbox holding another installation's event or task makes the snapshot refuse,
        naming the mailbox and both installations; the owner still reads its items."""
        meeting, task = pick("event"), pick("task", mailbox=CM2)
        apply_all(h.remote, [create(meeting), create(task)])
        owner = snap(h, CM, CM2)
        assert meeting.key in owner.events and task.key in owner.tasks
        other = h.make_remote(installation="second-office")
        for mailbox in (CM, CM2):
            with pytest.raises(ForeignInstallation) as caught:
                other.snapshot([mailbox])
            message = str(caught.value)
            assert mailbox in message and "'iepsched'" in message and "second-office" in message
            assert "[district] installation" in message
        assert [key_of_event(e) for e in h.events(CM)] == [meeting.key]


# -- MemoryRemote's own test hooks ----------------------------------------------------------------


def test_memory_fail_next_fails_once_without_applying() -> None:
    """fail_next makes the next matching action fail unapplied; the one after succeeds."""
    remote = MemoryRemote(timezone=TZ)
    task = pick("task")
    remote.fail_next("create", task.key, GraphError("boom", status=500))
    failed = apply_one(remote, create(task))
    assert not failed.ok and not failed.uncertain and remote.tasks(CM) == []
    ok(apply_one(remote, create(task)))
    assert remote.write_count == {"create": 1, "create_list": 1}


# -- the contract can catch a bug in GraphRemote's reading of Graph JSON --------------------------


def test_memory_remote_does_not_share_graphremotes_mapping() -> None:
    """MemoryRemote loads neither graphremote nor graphread: their bugs cannot hide in the fake."""
    import subprocess
    import sys

    code = (
        "import sys, iepsched.m365.memory; "
        "print(sorted(m for m in sys.modules if m.startswith('iepsched.m365.graph')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = out.stdout.strip()
    assert "graphremote" not in loaded and "graphread" not in loaded, loaded


def test_contract_catches_a_graphremote_time_mapping_bug(
    sandbox: GraphSandbox, sandbox_tokens: TokenProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A GraphRemote reading bug (times read as UTC whatever their label) fails the contract on the
    Graph side while MemoryRemote still passes it: the two mappings are independent."""
    import iepsched.m365.graphread as graphread

    real = graphread.parse_datetime

    def ignores_the_zone(value: Any) -> dt.datetime | None:
        parsed = real(value)
        return parsed.replace(tzinfo=dt.UTC) if parsed is not None else None

    monkeypatch.setattr(graphread, "parse_datetime", ignores_the_zone)
    contract = TestRemoteContract()
    contract.test_created_event_is_found_by_key_with_its_times(MemoryHarness())
    sandbox.reset()
    sandbox.set_faults(0.0)
    harness = SandboxHarness(sandbox, sandbox_tokens)
    try:
        with pytest.raises(AssertionError):
            contract.test_created_event_is_found_by_key_with_its_times(harness)
    finally:
        harness.client.close()
        harness.person.close()

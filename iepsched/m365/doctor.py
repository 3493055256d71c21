"""`iepsched doctor`: prove, in one pilot mailbox, every Graph capability iepsched relies on.

Each check sends the documented request form the sync sends (SPEC §5 "Proving a real tenant"):
an event created with a ``transactionId`` and iepsched's key extended property, the same create
repeated, the event read by id and found with the documented filter (property id AND value),
updated, the free/busy of an attendee, the event cancelled; a To Do list, a task with a
``linkedResource``, a checklist item posted to ``.../checklistItems``, the task completed and read
back. Everything created is marked "iepsched doctor — safe to delete", private, and removed at the
end — also when a check fails midway.

The checks run against a `GraphClient` (its public get/post/patch/delete); the caller decides the
day of the test event and the time-zone name sent in bodies (the same one the client sends in
``Prefer: outlook.timezone``), so this module reads neither the clock nor the environment.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import quote

from iepsched.core.errors import GraphError, GraphNotFound
from iepsched.core.remote import APPLICATION_NAME, KEY_PROPERTY_ID

from .authstatus import token_claims

__all__ = [
    "SUBJECT",
    "Check",
    "DoctorClient",
    "DoctorReport",
    "run_doctor",
]

SUBJECT = "iepsched doctor — safe to delete"
_BODY = (
    "Created by `iepsched doctor`, the Microsoft 365 self-test of iepsched, which removes it when "
    "it finishes. If you can see it, the test was interrupted: it is safe to delete."
)
_CANCEL_COMMENT = "iepsched doctor test event — nothing to do."

Outcome = Literal["PASS", "FAIL", "SKIP"]

# What an administrator can do about the error codes a pilot mailbox typically answers with.
_HINTS: dict[str, str] = {
    "ErrorAccessDenied": "the app may not use this mailbox: check the RBAC for Applications scope "
    "(Test-ServicePrincipalAuthorization) or the application access policy; changes take up to "
    "2 hours",
    "TimeZoneNotSupportedException": "Graph does not accept this time-zone name: [district] "
    "timezone must be a Windows name or one of the IANA names Microsoft documents",
    "ErrorInvalidUser": "no such mailbox: check the UPN",
    "MailboxNotEnabledForRESTAPI": "the mailbox is not in Exchange Online or has no licence",
    "ErrorMailRecipientNotFound": "no such attendee: check the address",
    "ErrorProxyRequestNotAllowed": "free/busy of this attendee is not shared with the app",
}


class DoctorClient(Protocol):
    """What the doctor needs of `GraphClient`: its public request methods."""

    def get(self, url: str, **kw: Any) -> Any: ...

    def post(self, url: str, **kw: Any) -> Any: ...

    def patch(self, url: str, **kw: Any) -> Any: ...

    def delete(self, url: str, **kw: Any) -> Any: ...


class _Tokens(Protocol):
    def token(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Check:
    """One capability's outcome, printed as one line."""

    name: str
    outcome: Outcome
    detail: str = ""

    def line(self) -> str:
        """``PASS name — detail`` (the detail only when there is one)."""
        return f"{self.outcome} {self.name}" + (f" — {self.detail}" if self.detail else "")


@dataclass(frozen=True, slots=True)
class DoctorReport:
    """Every check, in the order they ran; `ok` when none failed."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.outcome != "FAIL" for c in self.checks)


class _Failed(Exception):
    """A check's own verdict that Graph's answer is wrong (not a Graph error)."""


def _seg(value: str) -> str:
    """A path segment: mailbox addresses keep their @, ids are encoded."""
    return quote(value, safe="@")


def _query(params: Mapping[str, str]) -> str:
    """A query string with spaces as %20 (never '+'), as the sync sends it."""
    return "&".join(f"{k}={quote(v, safe=chr(39) + '(),')}" for k, v in params.items())


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def describe_error(exc: GraphError) -> str:
    """Graph's error code and message (without the request line), with a hint when we have one."""
    text = str(exc)
    message = text.split(" — ", 1)[1] if " — " in text else text
    # The client's summary goes on with the request-id and a general hint: keep the request-id
    # (Microsoft support asks for it), put our more specific hint in place of the general one.
    at = message.find(" (request-id ")
    request_id = ""
    if at >= 0:
        request_id = message[at + 2 : message.find(")", at) if ")" in message[at:] else None]
        message = message[:at]
    code = exc.code or (f"HTTP {exc.status}" if exc.status else type(exc).__name__)
    hint = _HINTS.get(exc.code or "")
    return (
        f"{code}: {message}"
        + (f" ({hint})" if hint else "")
        + (f" [{request_id}]" if request_id else "")
    )


@dataclass
class _Run:
    client: DoctorClient
    mailbox: str
    attendee: str
    timezone: str
    day: dt.date
    emit: Callable[[str], None]
    checks: list[Check] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # ids to remove at the end
    tasks: list[tuple[str, str]] = field(default_factory=list)  # (list id, task id)
    lists: list[str] = field(default_factory=list)

    @property
    def box(self) -> str:
        return f"/users/{_seg(self.mailbox)}"

    def record(self, name: str, outcome: Outcome, detail: str = "") -> Check:
        check = Check(name, outcome, detail)
        self.checks.append(check)
        self.emit(check.line())
        return check

    def step(self, name: str, action: Callable[[], str], *, needs: str | None = None) -> bool:
        """Run one check; `needs` names the failed check that makes this one impossible."""
        if needs is not None:
            self.record(name, "SKIP", f"not tried: {needs} failed")
            return False
        try:
            detail = action()
        except GraphError as exc:
            self.record(name, "FAIL", describe_error(exc))
            return False
        except _Failed as exc:
            self.record(name, "FAIL", str(exc))
            return False
        self.record(name, "PASS", detail)
        return True

    def when(self, hour: int, minute: int) -> dict[str, str]:
        moment = dt.datetime.combine(self.day, dt.time(hour, minute))
        return {"dateTime": moment.isoformat(timespec="seconds"), "timeZone": self.timezone}


# -- the checks ------------------------------------------------------------------------------------


def _token_check(tokens: _Tokens) -> str:
    """An app-only token and the roles it carries (decoded for display, never printed)."""
    try:
        claims = token_claims(tokens.token())
    except ValueError:  # not a JWT: Graph still decides; there are just no roles to show
        return "token acquired (not a JWT, so its roles cannot be shown)"
    roles = sorted(str(r) for r in claims.get("roles") or [])
    app = str(claims.get("appid") or claims.get("azp") or "?")
    if roles:
        return f"app {app}, roles: {', '.join(roles)}"
    # With RBAC for Applications the mailbox grants live in Exchange, not in the token.
    return f"app {app}, no roles in the token (access may come from RBAC for Applications)"


class _EventChecks:
    def __init__(self, run: _Run) -> None:
        self.run = run
        self.key = f"doctor:{uuid.uuid4()}"
        self.transaction_id = str(uuid.uuid4())
        self.event_id = ""

    def body(self) -> dict[str, Any]:
        return {
            "subject": SUBJECT,
            "body": {"contentType": "text", "content": _BODY},
            "start": self.run.when(7, 0),
            "end": self.run.when(7, 15),
            "sensitivity": "private",
            "showAs": "free",
            "isReminderOn": False,
            "transactionId": self.transaction_id,
            "singleValueExtendedProperties": [{"id": KEY_PROPERTY_ID, "value": self.key}],
        }

    def create(self) -> str:
        created = self.run.client.post(f"{self.run.box}/events", json=self.body(), idempotent=True)
        if not isinstance(created, dict) or not created.get("id"):
            raise _Failed("Graph answered without the new event's id")
        self.event_id = str(created["id"])
        self.run.events.append(self.event_id)
        return f"on {self.run.day.isoformat()} 07:00 {self.run.timezone}, private"

    def repeat(self) -> str:
        try:
            again = self.run.client.post(
                f"{self.run.box}/events", json=self.body(), idempotent=True
            )
        except GraphError as exc:
            if exc.code == "ErrorDuplicateTransactionId":
                return "Graph refused the duplicate (ErrorDuplicateTransactionId)"
            raise
        other = str(again.get("id") or "") if isinstance(again, dict) else ""
        if other == self.event_id:
            return "Graph returned the same event"
        if other:
            self.run.events.append(other)
        raise _Failed("Graph created a second event with the same transactionId")

    def read(self) -> str:
        params = {
            "$select": "id,subject,sensitivity",
            "$expand": f"singleValueExtendedProperties($filter=id eq {_literal(KEY_PROPERTY_ID)})",
        }
        url = f"{self.run.box}/events/{_seg(self.event_id)}?{_query(params)}"
        got = self.run.client.get(url)
        values = [
            p.get("value")
            for p in (got or {}).get("singleValueExtendedProperties") or []
            if str(p.get("id", "")).lower() == KEY_PROPERTY_ID.lower()
        ]
        if values != [self.key]:
            raise _Failed("the event came back without iepsched's key property")
        return "key property read back"

    def find(self) -> str:
        clause = f"ep/id eq {_literal(KEY_PROPERTY_ID)} and ep/value eq {_literal(self.key)}"
        params = {"$filter": f"singleValueExtendedProperties/Any(ep: {clause})", "$select": "id"}
        page = self.run.client.get(f"{self.run.box}/events?{_query(params)}")
        found = [str(e.get("id")) for e in (page or {}).get("value") or []]
        if found != [self.event_id]:
            raise _Failed(f"the key filter found {len(found)} events, expected exactly this one")
        return "the extended-property filter (id and value) finds exactly this event"

    def update(self) -> str:
        patch = {"start": self.run.when(7, 15), "end": self.run.when(7, 30)}
        got = self.run.client.patch(f"{self.run.box}/events/{_seg(self.event_id)}", json=patch)
        start = str(((got or {}).get("start") or {}).get("dateTime") or "")
        if not start.startswith(f"{self.run.day.isoformat()}T07:15"):
            raise _Failed(f"the moved event starts at {start or 'nothing'}, expected 07:15")
        return "moved to 07:15"

    def schedule(self) -> str:
        body = {
            "schedules": [self.run.attendee],
            "startTime": self.run.when(8, 0),
            "endTime": self.run.when(17, 0),
            "availabilityViewInterval": 30,
        }
        got = self.run.client.post(f"{self.run.box}/calendar/getSchedule", json=body)
        entries = [e for e in (got or {}).get("value") or [] if isinstance(e, dict)]
        if not entries:
            raise _Failed("getSchedule answered no schedule")
        error = entries[0].get("error")
        if isinstance(error, dict):
            code = str(error.get("responseCode") or "error")
            hint = _HINTS.get(code)
            message = str(error.get("message") or "")
            raise _Failed(f"{code}: {message}" + (f" ({hint})" if hint else ""))
        return f"free/busy of {self.run.attendee}: {entries[0].get('availabilityView', '')}"

    def cancel(self) -> str:
        url = f"{self.run.box}/events/{_seg(self.event_id)}/cancel"
        self.run.client.post(url, json={"comment": _CANCEL_COMMENT})
        try:
            left = self.run.client.get(f"{self.run.box}/events/{_seg(self.event_id)}")
        except GraphNotFound:
            return "cancelled (moved to Deleted Items)"
        if isinstance(left, dict) and left.get("isCancelled"):
            return "cancelled"
        raise _Failed("the event is still in the calendar, not cancelled")


class _TodoChecks:
    def __init__(self, run: _Run) -> None:
        self.run = run
        self.key = f"doctor:{uuid.uuid4()}"
        self.list_id = ""
        self.task_id = ""

    @property
    def lists_url(self) -> str:
        return f"{self.run.box}/todo/lists"

    @property
    def task_url(self) -> str:
        return f"{self.lists_url}/{_seg(self.list_id)}/tasks/{_seg(self.task_id)}"

    def find_or_create_list(self) -> str:
        url: str | None = self.lists_url
        while url:
            page = self.run.client.get(url) or {}
            for found in page.get("value") or []:
                if found.get("displayName") == SUBJECT:
                    self.list_id = str(found["id"])
                    self.run.lists.append(self.list_id)  # ours, from an interrupted run
                    return "found the test list of an earlier run"
            url = page.get("@odata.nextLink")
        created = self.run.client.post(self.lists_url, json={"displayName": SUBJECT})
        self.list_id = str((created or {}).get("id") or "")
        if not self.list_id:
            raise _Failed("Graph answered without the new list's id")
        self.run.lists.append(self.list_id)
        return "created a test list"

    def create_task(self) -> str:
        body = {
            "title": SUBJECT,
            "body": {"contentType": "text", "content": _BODY},
            "dueDateTime": {
                "dateTime": f"{self.run.day.isoformat()}T00:00:00",
                "timeZone": self.run.timezone,
            },
            "linkedResources": [
                {
                    "applicationName": APPLICATION_NAME,
                    "displayName": SUBJECT,
                    "externalId": self.key,
                }
            ],
        }
        created = self.run.client.post(f"{self.lists_url}/{_seg(self.list_id)}/tasks", json=body)
        self.task_id = str((created or {}).get("id") or "")
        if not self.task_id:
            raise _Failed("Graph answered without the new task's id")
        self.run.tasks.append((self.list_id, self.task_id))
        got = self.run.client.get(f"{self.task_url}?{_query({'$expand': 'linkedResources'})}")
        ids = [link.get("externalId") for link in (got or {}).get("linkedResources") or []]
        if self.key not in ids:
            raise _Failed("the task came back without its linkedResource externalId")
        return "linkedResource externalId read back"

    def checklist(self) -> str:
        made = self.run.client.post(
            f"{self.task_url}/checklistItems", json={"displayName": "iepsched doctor check"}
        )
        if not isinstance(made, dict) or not made.get("id"):
            raise _Failed("Graph answered without the checklist item's id")
        return "POST .../checklistItems"

    def complete(self) -> str:
        self.run.client.patch(self.task_url, json={"status": "completed"})
        got = self.run.client.get(self.task_url) or {}
        done = ((got.get("completedDateTime") or {}).get("dateTime")) or ""
        if got.get("status") != "completed" or not done:
            raise _Failed(
                f"read back status {got.get('status')!r}, completedDateTime {done or 'missing'}"
            )
        return f"status completed, completedDateTime {done[:10]}"


def _clean_up(run: _Run) -> None:
    """Remove what this run created; a 404 means it is already gone."""
    left: list[str] = []
    removed = 0
    targets = [
        *(f"{run.box}/events/{_seg(e)}" for e in run.events),
        *(f"{run.box}/todo/lists/{_seg(lst)}/tasks/{_seg(t)}" for lst, t in run.tasks),
        *(f"{run.box}/todo/lists/{_seg(lst)}" for lst in run.lists),
    ]
    for url in targets:
        try:
            run.client.delete(url)
            removed += 1
        except GraphNotFound:
            removed += 1
        except GraphError as exc:
            left.append(describe_error(exc))
    if left:
        run.record(
            "clean up",
            "FAIL",
            f"{len(left)} item(s) left, subject {SUBJECT!r} — delete them by hand; {left[0]}",
        )
    elif targets:
        run.record("clean up", "PASS", f"removed the {removed} item(s) it created")


def run_doctor(
    client: DoctorClient,
    tokens: _Tokens,
    *,
    mailbox: str,
    attendee: str | None,
    timezone: str,
    day: dt.date,
    tasks: Literal["todo", "calendar"],
    emit: Callable[[str], None] = lambda line: None,
) -> DoctorReport:
    """Run every check in `mailbox` (free/busy of `attendee`, else of the mailbox itself).

    `timezone` is the zone name sent in request bodies; `day` the day of the test event. Each
    line goes to `emit` as soon as it is known.
    """
    run = _Run(client, mailbox, attendee or mailbox, timezone, day, emit)
    if not run.step("token", lambda: _token_check(tokens)):
        return DoctorReport(tuple(run.checks))
    try:
        ev = _EventChecks(run)
        created = run.step("create event (transactionId, extended property)", ev.create)
        blocked = None if created else "create event"
        run.step("repeat create (same transactionId)", ev.repeat, needs=blocked)
        run.step("read event by id", ev.read, needs=blocked)
        run.step("find event by key (extended-property filter)", ev.find, needs=blocked)
        run.step("update event", ev.update, needs=blocked)
        run.step("getSchedule (free/busy)", ev.schedule)
        run.step("cancel event", ev.cancel, needs=blocked)
        if tasks == "calendar":
            run.record(
                "To Do",
                "SKIP",
                '[delivery] tasks = "calendar": tasks arrive as all-day calendar items, which the '
                "event checks cover; Tasks.ReadWrite.All is not needed",
            )
        else:
            todo = _TodoChecks(run)
            listed = run.step("To Do list (find or create)", todo.find_or_create_list)
            made = run.step(
                "To Do task with linkedResource",
                todo.create_task,
                needs=None if listed else "To Do list",
            )
            needs = None if made else "To Do task"
            run.step("To Do checklist item", todo.checklist, needs=needs)
            run.step("To Do complete and read back", todo.complete, needs=needs)
    finally:
        _clean_up(run)
    return DoctorReport(tuple(run.checks))

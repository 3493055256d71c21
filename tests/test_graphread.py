"""GraphRemote's reading of Graph JSON, checked on Microsoft's own example responses.

MemoryRemote has its own reading (`memoryread`), so these examples — Windows zone names, seven
fractional digits, ETags — are where `graphread` meets shapes that iepsched did not write itself.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from iepsched.core.remote import APPLICATION_NAME, KEY_PROPERTY_ID, Action, RemoteEvent
from iepsched.m365.graphread import (
    busy_from_schedule,
    event_from_graph,
    parse_date,
    result_from_answer,
    task_from_graph,
)
from iepsched.m365.graphwire import GraphResponse

EXAMPLES = Path(__file__).parent / "graph-reference" / "examples"
PACIFIC = ZoneInfo("America/Los_Angeles")
MAILBOX = "cm1@usd500.org"


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return data


def keyed_event(key: str = "S1001:meeting") -> dict[str, Any]:
    """Microsoft's create-event answer, as iepsched's $expand of its key property returns it."""
    obj = copy.deepcopy(example("create-event.response.json"))
    obj["singleValueExtendedProperties"] = [{"id": KEY_PROPERTY_ID, "value": key}]
    return obj


def test_event_example_reads_times_in_the_windows_zone_it_is_labelled_with() -> None:
    """Microsoft's event (Pacific Standard Time, 7 fraction digits) reads as aware Pacific time."""
    event = event_from_graph(keyed_event(), MAILBOX)
    assert event == RemoteEvent(
        key="S1001:meeting",
        remote_id="AAMkAGI1AAAt9AHjAAA=",
        mailbox=MAILBOX,
        change_key="ZlnW4RIAV06KYYwlrfNZvQAALfZeRQ==",
        start=dt.datetime(2017, 4, 15, 11, 0, tzinfo=PACIFIC),
        end=dt.datetime(2017, 4, 15, 12, 0, tzinfo=PACIFIC),
        is_cancelled=False,
        declined_by=(),
    )


def test_event_example_lists_declines_and_needs_the_key() -> None:
    """A declining attendee is listed (lower-cased); an event without iepsched's key is not ours."""
    obj = keyed_event()
    obj["attendees"][0]["status"] = {"response": "declined", "time": "2017-04-14T09:00:00Z"}
    obj["attendees"][0]["emailAddress"]["address"] = "SamanthaB@contoso.onmicrosoft.com"
    event = event_from_graph(obj, MAILBOX)
    assert event is not None and event.declined_by == ("samanthab@contoso.onmicrosoft.com",)
    assert event_from_graph(example("create-event.response.json"), MAILBOX) is None


def test_event_without_change_key_takes_it_from_the_etag() -> None:
    """When $select leaves out changeKey, the weak ETag's inner value is the change key."""
    obj = keyed_event()
    del obj["changeKey"]
    event = event_from_graph(obj, MAILBOX)
    assert event is not None and event.change_key == "ZlnW4RIAV06KYYwlrfNZvQAALfZeRQ=="


def test_todo_example_is_ours_only_with_iepscheds_linked_resource() -> None:
    """Microsoft's To Do task is ours when a linked resource is iepsched's, keyed by externalId."""
    obj = copy.deepcopy(example("create-todo-task.response.json"))
    assert task_from_graph(obj, MAILBOX, "list-1") is None  # linked to "Microsoft", not us
    obj["linkedResources"].append({"applicationName": APPLICATION_NAME, "externalId": "S1001:t"})
    task = task_from_graph(obj, MAILBOX, "list-1")
    assert task is not None
    assert (task.key, task.remote_id, task.list_id) == (
        "S1001:t",
        "AlMKXwbQAAAJws6wcAAAA=",
        "list-1",
    )
    assert task.status == "notStarted" and task.completed_on is None
    assert task.change_key == "xzyPKP0BiUGgld+lMKXwbQAAnBoTIw=="


def test_completed_date_is_the_written_date_not_converted() -> None:
    """To Do's completedDateTime (UTC midnight) gives its written date, never the day before."""
    value = {"dateTime": "2026-12-01T00:00:00.0000000", "timeZone": "UTC"}
    assert parse_date(value) == dt.date(2026, 12, 1)


def test_getschedule_example_gives_busy_items_per_schedule() -> None:
    """Microsoft's getSchedule answer yields each busy item with its schedule id, in Pacific."""
    busy = list(busy_from_schedule(example("getschedule.response.json")))
    assert busy[0] == (
        "adelev@contoso.onmicrosoft.com",
        dt.datetime(2019, 3, 15, 12, 0, tzinfo=PACIFIC),
        dt.datetime(2019, 3, 15, 14, 0, tzinfo=PACIFIC),
    )
    assert {schedule for schedule, _, _ in busy} == {
        "adelev@contoso.onmicrosoft.com",
        "meganb@contoso.onmicrosoft.com",
    }


def test_create_answer_gives_the_new_id_and_change_key() -> None:
    """A 201 answer to an event create gives the result its new id and change key."""
    action = Action("create", "S1001:meeting", "S1001", "event", MAILBOX, "new")
    answer = GraphResponse(201, {}, example("create-event.response.json"))
    result = result_from_answer(action, answer, None, None)
    assert result.ok and result.remote_id == "AAMkAGI1AAAt9AHjAAA="
    assert result.change_key == "ZlnW4RIAV06KYYwlrfNZvQAALfZeRQ=="

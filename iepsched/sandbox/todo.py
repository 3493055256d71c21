"""Microsoft To Do semantics: lists, tasks, checklist items, linked resources, recurrence.

Quirks emulated on purpose (clients must cope with them on the real service):

* ``dueDateTime``/``startDateTime`` keep only the date: whatever time was sent, the task comes
  back at ``T00:00:00.0000000`` of that date, labelled UTC (or the ``Prefer: outlook.timezone``
  zone). Compare dates, not instants.
* ``completedDateTime`` is set when the status becomes ``completed`` and is always returned as
  UTC midnight of the completion day, whatever zone is preferred.
* Completing a recurring task creates the next occurrence as a *new* task (new id) with the next
  due date, the same title/body/importance/categories/reminder setting, copies of its linked
  resources (new ids) and its checklist items unchecked; the completed task keeps its data but
  loses its recurrence, so exactly one open task carries the series.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from . import recurrence, shapes, timezones
from .store import GraphError, Mailbox, Store, Task, TaskList, Tombstone
from .view import View

READ_ONLY = {
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "bodyLastModifiedDateTime",
    "hasAttachments",
    "attachments",
    "attachmentSessions",
    "extensions",
}
_DATE_FIELDS = {"dueDateTime", "startDateTime", "reminderDateTime", "completedDateTime"}
_NAV = {"checklistItems", "linkedResources"}


def _bad(message: str) -> GraphError:
    return GraphError(400, "invalidRequest", message)


def not_found(what: str) -> GraphError:
    """To Do's 404 for an unknown list, task, checklist item or linked resource."""
    return GraphError(404, "ErrorItemNotFound", f"The specified {what} was not found.")


# --- lists ---------------------------------------------------------------------------------------


def find_list(box: Mailbox, list_id: str) -> TaskList:
    """The list with `list_id` or a 404."""
    found = box.lists.get(list_id)
    if found is None:
        raise not_found("task list")
    return found


def create_list(store: Store, box: Mailbox, body: dict[str, Any]) -> TaskList:
    """POST /todo/lists."""
    name = body.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise _bad("displayName is required to create a task list.")
    tl = TaskList(shapes.outlook_id(), name, "none", shapes.change_key(), store.next_seq())
    box.lists[tl.id] = tl
    return tl


def patch_list(store: Store, tl: TaskList, body: dict[str, Any]) -> None:
    """PATCH /todo/lists/{id}: only displayName is writable."""
    if "displayName" in body:
        if not isinstance(body["displayName"], str) or not body["displayName"].strip():
            raise _bad("displayName cannot be empty.")
        tl.display_name = body["displayName"]
    tl.change_key = shapes.change_key()
    tl.seq = store.next_seq()


def delete_list(store: Store, box: Mailbox, tl: TaskList) -> None:
    """DELETE /todo/lists/{id}; the default list cannot be deleted."""
    if tl.wellknown == "defaultList":
        raise _bad("The default task list cannot be deleted.")
    del box.lists[tl.id]
    for task in tl.tasks.values():
        box.tombstones.append(Tombstone(task.id, store.next_seq(), "task", tl.id))


def render_list(tl: TaskList, view: View, *, context: bool = True) -> dict[str, Any]:
    """A todoTaskList as Graph returns it."""
    obj: dict[str, Any] = {}
    if context:
        obj["@odata.context"] = (
            f"{view.graph_url}/$metadata#users('{quote(view.user_segment)}')/todo/lists/$entity"
        )
    obj.update(
        {
            "@odata.etag": shapes.etag(tl.change_key),
            "displayName": tl.display_name,
            "isOwner": True,
            "isShared": False,
            "wellknownListName": tl.wellknown,
            "id": tl.id,
        }
    )
    return obj


# --- tasks ---------------------------------------------------------------------------------------


def find_task(tl: TaskList, task_id: str) -> Task:
    """The task with `task_id` or a 404."""
    found = tl.tasks.get(task_id)
    if found is None:
        raise not_found("task")
    return found


def _date_of(value: Any, field: str) -> date | None:
    if value is None:
        return None
    try:
        instant = timezones.to_utc(value)
    except timezones.UnknownTimeZone as exc:
        raise _bad(f"{field}.timeZone {exc} is not a supported time zone.") from exc
    except ValueError as exc:
        raise _bad(f"{field}: {exc}") from exc
    assert isinstance(value, dict)
    text = str(value["dateTime"])
    naive, has_offset = timezones.parse_local(text)
    if has_offset:
        zone = timezones.resolve(str(value.get("timeZone") or "UTC"))
        return instant.astimezone(zone).date()
    return naive.date()


def _instant(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return timezones.to_utc(value)
    except timezones.UnknownTimeZone as exc:
        raise _bad(f"{field}.timeZone {exc} is not a supported time zone.") from exc
    except ValueError as exc:
        raise _bad(f"{field}: {exc}") from exc


def _recurrence(value: Any, due: date | None, zone: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if due is None:
        raise _bad("A recurring task needs a dueDateTime.")
    try:
        normalized = recurrence.normalize(value, datetime(due.year, due.month, due.day), zone)
    except GraphError as exc:
        raise _bad(exc.message) from exc
    return normalized


def _new_checklist_item(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    name = body.get("displayName")
    if not isinstance(name, str):
        raise _bad("displayName is required for a checklist item.")
    item: dict[str, Any] = {
        "displayName": name,
        "createdDateTime": timezones.format_stamp(store.now()),
        "isChecked": bool(body.get("isChecked", False)),
        "id": str(uuid.uuid4()),
    }
    if item["isChecked"]:
        item["checkedDateTime"] = timezones.format_stamp(store.now())
    return item


def _new_linked_resource(body: dict[str, Any]) -> dict[str, Any]:
    item = {k: copy.deepcopy(v) for k, v in body.items() if k != "id" and "@" not in k}
    item["id"] = str(uuid.uuid4())
    return item


def create_task(store: Store, box: Mailbox, tl: TaskList, body: dict[str, Any]) -> Task:
    """POST .../tasks, with linkedResources and checklistItems deep-inserted when given."""
    now = store.now()
    props: dict[str, Any] = {
        "title": "",
        "body": {"content": "", "contentType": "text"},
        "importance": "normal",
        "status": "notStarted",
        "categories": [],
        "isReminderOn": False,
    }
    task = Task(
        id=shapes.outlook_id(),
        list_id=tl.id,
        change_key=shapes.change_key(),
        created=now,
        modified=now,
        body_modified=now,
        seq=store.next_seq(),
        props=props,
    )
    _apply(store, task, body, creating=True)
    for raw in body.get("checklistItems") or []:
        item = _new_checklist_item(store, raw)
        task.checklist[item["id"]] = item
    for raw in body.get("linkedResources") or []:
        item = _new_linked_resource(raw)
        task.linked[item["id"]] = item
    tl.tasks[task.id] = task
    return task


def _apply(store: Store, task: Task, body: dict[str, Any], *, creating: bool) -> bool:
    """Write `body` into `task`; returns True when the task just became completed."""
    was_completed = task.props["status"] == "completed"
    for key, value in body.items():
        if key in READ_ONLY or key in _DATE_FIELDS or key in _NAV or key == "recurrence":
            continue
        if key == "title" and not isinstance(value, str):
            raise _bad("title must be a string.")
        task.props[key] = copy.deepcopy(value)
        if key == "body":
            task.body_modified = store.now()
    if "dueDateTime" in body:
        task.due = _date_of(body["dueDateTime"], "dueDateTime")
    if "startDateTime" in body:
        task.start_date = _date_of(body["startDateTime"], "startDateTime")
    if "reminderDateTime" in body:
        task.reminder = _instant(body["reminderDateTime"], "reminderDateTime")
    if "recurrence" in body or (task.props.get("recurrence") and "dueDateTime" in body):
        zone = "UTC"
        due_value = body.get("dueDateTime")
        if isinstance(due_value, dict) and isinstance(due_value.get("timeZone"), str):
            zone = due_value["timeZone"]
        raw = body.get("recurrence", task.props.get("recurrence"))
        if raw and "recurrence" not in body:  # due moved: the series now starts there
            raw = {**raw, "range": {**raw["range"], "startDate": None}}
        task.props["recurrence"] = _recurrence(raw, task.due, zone)
    elif task.props.get("recurrence") and task.due is None:
        raise _bad("A recurring task needs a dueDateTime.")
    now_completed = task.props["status"] == "completed"
    if now_completed and "completedDateTime" in body and body["completedDateTime"] is not None:
        task.completed = _date_of(body["completedDateTime"], "completedDateTime")
    elif now_completed and not was_completed:
        task.completed = store.now().astimezone(UTC).date()
    elif not now_completed:
        task.completed = None
    return now_completed and not was_completed and not creating


def patch_task(store: Store, box: Mailbox, tl: TaskList, task: Task, body: dict[str, Any]) -> None:
    """PATCH a task; completing a recurring one spawns the next occurrence."""
    just_completed = _apply(store, task, body, creating=False)
    touch(store, task)
    if just_completed and task.props.get("recurrence"):
        _spawn_next(store, tl, task)


def touch(store: Store, task: Task) -> None:
    """Record a change on `task` (new changeKey/etag, lastModifiedDateTime, delta sequence)."""
    task.change_key = shapes.change_key()
    task.modified = store.now()
    task.seq = store.next_seq()


def _spawn_next(store: Store, tl: TaskList, task: Task) -> None:
    rec = task.props["recurrence"]
    task.props["recurrence"] = None
    assert task.due is not None
    nxt = next_due(rec, task.due)
    if nxt is None:
        return
    new_rec = copy.deepcopy(rec)
    if new_rec["range"]["type"] == "numbered":
        new_rec["range"]["numberOfOccurrences"] -= 1
    now = store.now()
    clone = Task(
        id=shapes.outlook_id(),
        list_id=tl.id,
        change_key=shapes.change_key(),
        created=now,
        modified=now,
        body_modified=now,
        seq=store.next_seq(),
        props={
            **copy.deepcopy(task.props),
            "status": "notStarted",
            "recurrence": new_rec,
        },
        due=nxt,
        start_date=None,
        reminder=task.reminder + (nxt - task.due) if task.reminder else None,
    )
    for item in task.checklist.values():
        fresh = {**item, "id": str(uuid.uuid4()), "isChecked": False}
        fresh.pop("checkedDateTime", None)
        fresh["createdDateTime"] = timezones.format_stamp(now)
        clone.checklist[fresh["id"]] = fresh
    for item in task.linked.values():
        fresh = {**copy.deepcopy(item), "id": str(uuid.uuid4())}
        clone.linked[fresh["id"]] = fresh
    tl.tasks[clone.id] = clone


def next_due(rec: dict[str, Any], due: date) -> date | None:
    """The first date after `due` that the recurrence pattern allows, within its range."""
    pattern, rng = rec["pattern"], rec["range"]
    if rng["type"] == "numbered" and rng["numberOfOccurrences"] <= 1:
        return None
    last = date.fromisoformat(rng["endDate"]) if rng["type"] == "endDate" else None
    # The grid is anchored on the current due date, as To Do computes "next" from it.
    day = due + timedelta(days=1)
    for _ in range(366 * 5):
        if last and day > last:
            return None
        if recurrence.matches(pattern, due, day):
            return day
        day += timedelta(days=1)
    return None


def delete_task(store: Store, box: Mailbox, tl: TaskList, task: Task) -> None:
    """DELETE a task (tombstoned for tasks/delta)."""
    del tl.tasks[task.id]
    box.tombstones.append(Tombstone(task.id, store.next_seq(), "task", tl.id))


def render_task(
    task: Task,
    view: View,
    *,
    expand: set[str] | None = None,
    select: list[str] | None = None,
    context: str | None = "entity",
    list_segment: str = "",
) -> dict[str, Any]:
    """A todoTask as Graph returns it; `expand` may hold checklistItems/linkedResources."""
    p = task.props
    obj: dict[str, Any] = {}
    if context == "entity":
        obj["@odata.context"] = (
            f"{view.graph_url}/$metadata#users('{quote(view.user_segment)}')/todo/lists"
            f"('{quote(list_segment)}')/tasks/$entity"
        )
    obj["@odata.etag"] = shapes.etag(task.change_key)
    obj["importance"] = p.get("importance", "normal")
    obj["isReminderOn"] = bool(p.get("isReminderOn", False))
    obj["status"] = p.get("status", "notStarted")
    obj["title"] = p.get("title", "")
    obj["createdDateTime"] = timezones.format_stamp(task.created)
    obj["lastModifiedDateTime"] = timezones.format_stamp(task.modified)
    obj["hasAttachments"] = False
    obj["categories"] = list(p.get("categories") or [])
    obj["id"] = task.id
    obj["body"] = copy.deepcopy(p.get("body") or {"content": "", "contentType": "text"})
    obj["bodyLastModifiedDateTime"] = timezones.format_stamp(task.body_modified)
    if task.completed is not None:
        obj["completedDateTime"] = timezones.output_midnight(task.completed, None)
    if task.due is not None:
        obj["dueDateTime"] = timezones.output_midnight(task.due, view.zone)
    if task.start_date is not None:
        obj["startDateTime"] = timezones.output_midnight(task.start_date, view.zone)
    if task.reminder is not None:
        obj["reminderDateTime"] = timezones.output(task.reminder, view.zone)
    if p.get("recurrence"):
        obj["recurrence"] = copy.deepcopy(p["recurrence"])
    expand = expand or set()
    if "checklistItems" in expand:
        obj["checklistItems"] = [copy.deepcopy(v) for v in task.checklist.values()]
    if "linkedResources" in expand:
        obj["linkedResources"] = [copy.deepcopy(v) for v in task.linked.values()]
    if select:
        keep = {"@odata.context", "@odata.etag", "id", *select, *expand}
        obj = {k: v for k, v in obj.items() if k in keep}
    return obj


# --- checklist items and linked resources ------------------------------------------------------


def add_checklist_item(store: Store, task: Task, body: dict[str, Any]) -> dict[str, Any]:
    """POST .../checklistItems."""
    item = _new_checklist_item(store, body)
    task.checklist[item["id"]] = item
    touch(store, task)
    return item


def patch_checklist_item(
    store: Store, task: Task, item: dict[str, Any], body: dict[str, Any]
) -> None:
    """PATCH .../checklistItems/{id}: displayName and isChecked."""
    if "displayName" in body:
        item["displayName"] = body["displayName"]
    if "isChecked" in body:
        checked = bool(body["isChecked"])
        if checked and not item.get("isChecked"):
            item["checkedDateTime"] = timezones.format_stamp(store.now())
        if not checked:
            item.pop("checkedDateTime", None)
        item["isChecked"] = checked
    touch(store, task)


def add_linked_resource(store: Store, task: Task, body: dict[str, Any]) -> dict[str, Any]:
    """POST .../linkedResources."""
    item = _new_linked_resource(body)
    task.linked[item["id"]] = item
    touch(store, task)
    return item


def patch_linked_resource(
    store: Store, task: Task, item: dict[str, Any], body: dict[str, Any]
) -> None:
    """PATCH .../linkedResources/{id}."""
    for key, value in body.items():
        if key != "id" and "@" not in key:
            item[key] = copy.deepcopy(value)
    touch(store, task)


# --- delta ---------------------------------------------------------------------------------------


def delta_entries(
    box: Mailbox, tl: TaskList, since: int, snap: int, view: View
) -> list[tuple[tuple[int, str], dict[str, Any]]]:
    """((seq, id), item) pairs for a tasks/delta round, in cursor order."""
    out: list[tuple[tuple[int, str], dict[str, Any]]] = []
    for task in tl.tasks.values():
        if since < task.seq <= snap:
            out.append(((task.seq, task.id), render_task(task, view, context=None)))
    if since:
        for tomb in box.tombstones:
            if tomb.kind == "task" and tomb.list_id == tl.id and since < tomb.seq <= snap:
                out.append(
                    ((tomb.seq, tomb.id), {"id": tomb.id, "@removed": {"reason": "deleted"}})
                )
    out.sort(key=lambda pair: pair[0])
    return out

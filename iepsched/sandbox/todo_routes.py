"""Microsoft To Do routes: lists, their tasks (and delta), checklist items, linked resources."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from . import shapes, todo
from .context import RequestContext
from .filters import task_matcher
from .messages import Reply
from .store import GraphError, Mailbox


def route(ctx: RequestContext, box: Mailbox, rest: list[str], names: list[str]) -> Reply:
    """Everything under /users/{u}/todo/lists; `rest`/`names` are the segments after it."""
    n = len(names)
    base = f"users('{ctx.user}')/todo/lists"
    if n == 0:
        ctx.allow("GET", "POST")
        if ctx.method == "POST":
            body = ctx.json_body("todoTaskList", code="invalidRequest")
            tl = todo.create_list(ctx.store, box, body)
            return Reply(201, todo.render_list(tl, ctx.view), wrote=True)
        lists = [todo.render_list(tl, ctx.view, context=False) for tl in box.lists.values()]
        return ctx.page(lists, base)
    tl = todo.find_list(box, rest[0])
    if n == 1:
        ctx.allow("GET", "PATCH", "DELETE")
        if ctx.method == "GET":
            return Reply(200, todo.render_list(tl, ctx.view), read=True)
        ctx.check_if_match(tl.change_key)
        if ctx.method == "DELETE":
            todo.delete_list(ctx.store, box, tl)
            return Reply(204, wrote=True)
        body = ctx.json_body("todoTaskList", code="invalidRequest")
        todo.patch_list(ctx.store, tl, body)
        return Reply(200, todo.render_list(tl, ctx.view), wrote=True)
    if names[1] != "tasks":
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[1]}'.")
    tasks_base = f"{base}('{quote(tl.id)}')/tasks"
    if n == 2:
        ctx.allow("GET", "POST")
        if ctx.method == "POST":
            body = ctx.json_body("todoTask", code="invalidRequest")
            task = todo.create_task(ctx.store, box, tl, shapes.canonical("todoTask", body))
            expand: set[str] = {k for k in ("checklistItems", "linkedResources") if k in body}
            out = todo.render_task(task, ctx.view, expand=expand, list_segment=tl.id)
            return Reply(201, out, wrote=True)
        return _list_tasks(ctx, tl, tasks_base)
    if n == 3 and names[2] == "delta":
        ctx.allow("GET")
        state = ctx.delta_state(box.key, f"tasks:{tl.id}")
        if state is None:
            state = {"since": 0, "snap": ctx.store.seq}
        entries = todo.delta_entries(box, tl, state["since"], state["snap"], ctx.view)
        return ctx.delta_page(
            entries,
            state,
            f"tasks:{tl.id}",
            f"todo/lists/{quote(tl.id)}/tasks/delta",
            "Collection(todoTask)",
        )
    task = todo.find_task(tl, rest[2])
    if n == 3:
        ctx.allow("GET", "PATCH", "DELETE")
        if ctx.method == "GET":
            wanted = set(ctx.expand_names({"checklistItems", "linkedResources"}))
            body = todo.render_task(
                task, ctx.view, expand=wanted, select=ctx.select(), list_segment=tl.id
            )
            return Reply(200, body, read=True)
        ctx.check_if_match(task.change_key)
        if ctx.method == "DELETE":
            todo.delete_task(ctx.store, box, tl, task)
            return Reply(204, wrote=True)
        patch_body = ctx.json_body("todoTask", code="invalidRequest")
        for nav in ("checklistItems", "linkedResources"):
            if nav in patch_body:
                raise GraphError(
                    400, "invalidRequest", f"{nav} cannot be changed with PATCH on the task."
                )
        if "recurrence" in patch_body:
            raise _recurrence_refused(ctx.req.body, patch_body["recurrence"])
        todo.patch_task(ctx.store, box, tl, task, shapes.canonical("todoTask", patch_body))
        return Reply(200, todo.render_task(task, ctx.view, list_segment=tl.id), wrote=True)
    kind = names[3]
    if kind not in ("checklistitems", "linkedresources"):
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[3]}'.")
    is_checklist = kind == "checklistitems"
    type_name = "checklistItem" if is_checklist else "linkedResource"
    coll = task.checklist if is_checklist else task.linked
    nav_name = "checklistItems" if is_checklist else "linkedResources"
    item_base = f"{tasks_base}('{quote(task.id)}')/{nav_name}"
    if n == 4:
        ctx.allow("GET", "POST")
        if ctx.method == "POST":
            body = ctx.json_body(type_name, code="invalidRequest")
            item = (
                todo.add_checklist_item(ctx.store, task, body)
                if is_checklist
                else todo.add_linked_resource(ctx.store, task, body)
            )
            out = {
                "@odata.context": f"{ctx.view.graph_url}/$metadata#{item_base}/$entity",
                **item,
            }
            return Reply(201, out, wrote=True)
        return ctx.page([dict(v) for v in coll.values()], item_base)
    if n == 5:
        ctx.allow("GET", "PATCH", "DELETE")
        found = coll.get(rest[4])
        if found is None:
            raise todo.not_found("checklist item" if is_checklist else "linked resource")
        item = found
        if ctx.method == "GET":
            out = {
                "@odata.context": f"{ctx.view.graph_url}/$metadata#{item_base}/$entity",
                **item,
            }
            return Reply(200, out, read=True)
        if ctx.method == "DELETE":
            del coll[item["id"]]
            todo.touch(ctx.store, task)
            return Reply(204, wrote=True)
        body = ctx.json_body(type_name, code="invalidRequest")
        if is_checklist:
            todo.patch_checklist_item(ctx.store, task, item, body)
        else:
            todo.patch_linked_resource(ctx.store, task, item, body)
        out = {"@odata.context": f"{ctx.view.graph_url}/$metadata#{item_base}/$entity", **item}
        return Reply(200, out, wrote=True)
    raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[-1]}'.")


def _list_tasks(ctx: RequestContext, tl: Any, tasks_base: str) -> Reply:
    expand = set(ctx.expand_names({"checklistItems", "linkedResources"}))
    flt = ctx.query_option("$filter")
    matcher = task_matcher(flt) if flt is not None else None
    select = ctx.select()
    rendered = []
    for task in tl.tasks.values():
        full = todo.render_task(task, ctx.view, expand=expand, context=None)
        if matcher is not None and not matcher(full):
            continue
        rendered.append(
            todo.render_task(task, ctx.view, expand=expand, select=select, context=None)
            if select
            else full
        )
    return ctx.page(ctx.order(rendered), tasks_base)


def _recurrence_refused(raw: bytes, recurrence: Any) -> GraphError:
    """Graph's answer to a PATCH carrying a todoTask ``recurrence``: it cannot read back the dates
    it wrote (microsoft-graph-docs #10503, #4330; msgraph-sdk-dotnet #2677 for endDate)."""
    rng = recurrence.get("range") if isinstance(recurrence, dict) else None
    rng = rng if isinstance(rng, dict) else {}
    field = next((f for f in ("startDate", "endDate") if isinstance(rng.get(f), str)), None)
    if field is None:
        return GraphError(400, "invalidRequest", "Invalid JSON. Path 'recurrence'.")
    value = str(rng[field])
    text = raw.decode("utf-8", "replace")
    at = text.find(f'"{field}"')
    at = text.find(f'"{value}"', max(at, 0))
    position = at + len(value) + 2 if at >= 0 else len(text)
    return GraphError(
        400,
        "invalidRequest",
        f"Invalid JSON, Error converting value \"{value}\" to type 'Microsoft.OData.Edm.Date'. "
        f"Path 'recurrence.range.{field}', line 1, position {position}.",
    )

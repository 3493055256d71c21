"""Calendar routes: events and their cancel, calendarView and its delta, getSchedule."""

from __future__ import annotations

from datetime import datetime

from . import calendarview, events, getschedule, shapes
from .context import RequestContext
from .event_render import filter_view, render
from .filters import event_matcher
from .messages import Reply
from .store import GraphError, Mailbox


def events_collection(ctx: RequestContext, box: Mailbox) -> Reply:
    """GET lists the mailbox's events (filtered, ordered, paged); POST creates one."""
    if ctx.method == "POST":
        body = ctx.json_body("event", code="ErrorInvalidRequest")
        ev = events.create(ctx.store, box, shapes.canonical("event", body))
        return Reply(201, render(ev, ctx.view), wrote=True)
    expand = ctx.ext_expand()
    select = ctx.select()
    flt = ctx.query_option("$filter")
    matcher = event_matcher(flt) if flt is not None else None
    items = [ev for ev in box.events.values() if matcher is None or matcher(filter_view(ev))]
    rendered = [
        render(ev, ctx.view, expand_ext=expand, select=select, context=None) for ev in items
    ]
    rendered = ctx.order(rendered)
    return ctx.page(rendered, f"users('{ctx.user}')/events")


def event_item(ctx: RequestContext, box: Mailbox, event_id: str) -> Reply:
    """GET an event or occurrence; PATCH or DELETE a single event or series (If-Match honoured)."""
    ev, occ = events.find(box, event_id)
    if ctx.method == "GET":
        body = render(
            ev, ctx.view, expand_ext=ctx.ext_expand(), select=ctx.select(), occurrence=occ
        )
        return Reply(200, body, read=True)
    if occ is not None:
        raise GraphError(
            400, "ErrorInvalidRequest", "The sandbox does not support changing one occurrence."
        )
    ctx.check_if_match(ev.change_key)
    if ctx.method == "DELETE":
        events.remove(ctx.store, box, ev)
        return Reply(204, wrote=True)
    body = ctx.json_body("event", code="ErrorInvalidRequest")
    events.patch(ctx.store, box, ev, shapes.canonical("event", body))
    return Reply(200, render(ev, ctx.view), wrote=True)


def cancel(ctx: RequestContext, box: Mailbox, event_id: str) -> Reply:
    """POST /events/{id}/cancel: the organizer cancels, with an optional comment."""
    ev, occ = events.find(box, event_id)
    if occ is not None:
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            "The sandbox does not support cancelling one occurrence.",
        )
    body = ctx.json_body(None, code="ErrorInvalidRequest", required=False) or {}
    params = {k.lower(): v for k, v in body.items()}
    unknown = set(params) - {"comment"}
    if unknown:
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            f"The parameter '{sorted(unknown)[0]}' in the request payload is not a valid "
            "parameter for the operation 'cancel'.",
        )
    comment = params.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise GraphError(400, "ErrorInvalidRequest", "comment must be a string.")
    events.cancel(ctx.store, box, ev, comment, ctx.view)
    return Reply(202, wrote=True)


def calendar_view(ctx: RequestContext, box: Mailbox) -> Reply:
    """GET /calendarView: single events and occurrences overlapping the required window."""
    lo, hi = calendarview.window(ctx.query)
    select = ctx.select()
    expand = ctx.ext_expand()
    flt = ctx.query_option("$filter")
    matcher = event_matcher(flt) if flt is not None else None
    rendered = []
    for ev, occ in calendarview.calendar_view(box, lo, hi):
        if matcher is not None and not matcher(filter_view(ev)):
            continue
        rendered.append(
            render(ev, ctx.view, expand_ext=expand, select=select, context=None, occurrence=occ)
        )
    return ctx.page(ctx.order(rendered), f"users('{ctx.user}')/calendarView")


def calendar_delta(ctx: RequestContext, box: Mailbox) -> Reply:
    """GET /calendarView/delta: a first round lists the window, later rounds what changed."""
    for option in ("$select", "$expand", "$filter", "$orderby", "$search"):
        if ctx.query_option(option) is not None:
            raise GraphError(
                400,
                "ErrorInvalidUrlQuery",
                f"{option} is not supported for calendarView/delta.",
            )
    state = ctx.delta_state(box.key, "calendarView")
    if state is None:
        lo, hi = calendarview.window(ctx.query)
        state = {"lo": lo.isoformat(), "hi": hi.isoformat(), "since": 0, "snap": ctx.store.seq}
    lo, hi = datetime.fromisoformat(state["lo"]), datetime.fromisoformat(state["hi"])
    entries = calendarview.delta_entries(
        ctx.store, box, lo, hi, state["since"], state["snap"], ctx.view
    )
    return ctx.delta_page(entries, state, "calendarView", "calendarView/delta", "Collection(event)")


def get_schedule(ctx: RequestContext) -> Reply:
    """POST /calendar/getSchedule: free/busy of up to 20 addresses."""
    body = ctx.json_body(None, code="ErrorInvalidRequest")
    value = getschedule.get_schedule(ctx.store, body, ctx.view.zone)
    return Reply(
        200,
        {
            "@odata.context": f"{ctx.view.graph_url}/$metadata"
            "#Collection(microsoft.graph.scheduleInformation)",
            "value": value,
        },
        read=True,
    )

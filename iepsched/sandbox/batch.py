"""JSON batching (``POST /v1.0/$batch``): envelope parsing, dependsOn order, per-item answers.

A batch runs its items the way Graph fans them out to Outlook: at most four unordered items at a
time (one at a time when the batch uses ``dependsOn``); the latency applies once per batch. An item
whose dependency did not succeed answers 424 without running; the answers come back in no
particular order, so clients match them by id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .httpd import Drop, HttpAnswer, answer, error
from .messages import ItemRequest, Reply
from .pipeline import Pipeline
from .store import GraphError
from .throttle import Gate

MAX_BATCH = 20
BATCH_FANOUT = 4  # Graph sends at most four unordered batch items to Outlook at a time
_METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}


def execute(
    pipeline: Pipeline,
    headers: Mapping[str, str],
    body: bytes,
    roles: frozenset[str] | None = None,
) -> HttpAnswer:
    """Run a batch request and answer it; raises :class:`Drop` when a fault drops it.

    Items are checked against the envelope token's `roles`, each on its own."""
    stats = pipeline.gate.stats
    stats.add("batches")
    try:
        plan = parse(headers, body, roles)
    except GraphError as exc:
        pipeline.sleep()
        return error(exc.status, exc.code, exc.message)
    stats.add("batch_items", len(plan.ids))
    # A dropped connection loses the envelope, so it is drawn once for it (items draw statuses).
    envelope_fault = pipeline.gate.draw_fault("envelope")
    if envelope_fault == "drop_before":
        stats.fault("drop")
        pipeline.sleep()
        raise Drop()
    results: dict[str, Reply] = {}
    first = True
    for wave in plan.waves(pipeline.gate):
        runnable: list[str] = []
        for rid in wave:
            failed = [d for d in plan.depends[rid] if not 200 <= results[d].status < 300]
            if failed:
                results[rid] = Reply(
                    424,
                    {
                        "error": {
                            "code": "FailedDependency",
                            "message": f"Request {failed[0]!r}, which this request "
                            "depends on, failed.",
                        }
                    },
                )
            elif rid in plan.invalid:
                results[rid] = plan.invalid[rid]
                if pipeline.log is not None:  # refused unparsed: still a request the client sent
                    refused = plan.requests[rid]
                    pipeline.log.add(
                        refused.method,
                        refused.url,
                        refused.headers,
                        refused.body,
                        status=results[rid].status,
                        answer=results[rid].body,
                        in_batch=True,
                    )
            else:
                runnable.append(rid)
        if not runnable:
            continue
        replies = pipeline.run(
            [plan.requests[r] for r in runnable], first_wave=first, in_batch=True
        )
        first = False
        for rid, reply in zip(runnable, replies, strict=True):
            results[rid] = reply
    if first:
        pipeline.sleep()
    if envelope_fault == "drop_after":
        stats.fault("drop")
        if any(reply.wrote for reply in results.values()):
            stats.fault("drop_after_write")
        raise Drop()
    responses = []
    for rid in plan.ids:
        reply = results[rid]
        decorated = answer(reply)
        item_headers = dict(decorated.headers or {})
        item_headers.pop("Content-Length", None)
        entry: dict[str, Any] = {"id": rid, "status": decorated.status, "headers": item_headers}
        entry["body"] = decorated.body
        responses.append(entry)
    pipeline.gate.shuffle(responses)  # Graph does not keep the order; clients must match ids
    return HttpAnswer(200, {"responses": responses})


@dataclass
class Plan:
    """A parsed batch: ids in request order, their requests, dependencies and early answers."""

    ids: list[str]
    requests: dict[str, ItemRequest]
    depends: dict[str, list[str]]
    invalid: dict[str, Reply]

    def waves(self, gate: Gate) -> Iterable[list[str]]:
        """Groups of ids run together: four unordered at a time, or one at a time in dependency
        order when the batch uses dependsOn."""
        if any(self.depends.values()):
            done: set[str] = set()
            pending = list(self.ids)
            while pending:
                ready = next(r for r in pending if all(d in done for d in self.depends[r]))
                pending.remove(ready)
                done.add(ready)
                yield [ready]
            return
        order = list(self.ids)
        gate.shuffle(order)
        for start in range(0, len(order), BATCH_FANOUT):
            yield order[start : start + BATCH_FANOUT]


def parse(
    envelope_headers: Mapping[str, str], body: bytes, roles: frozenset[str] | None = None
) -> Plan:
    """The batch's items, ids and resolved dependencies; 400 GraphError for a bad envelope."""
    if "json" not in envelope_headers.get("content-type", "").lower():
        raise GraphError(
            400, "BadRequest", "A $batch request must have Content-Type: application/json."
        )
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GraphError(400, "BadRequest", f"Invalid batch payload format: {exc}") from exc
    requests = payload.get("requests") if isinstance(payload, dict) else None
    if not isinstance(requests, list) or not requests:
        raise GraphError(400, "BadRequest", "Invalid batch payload format: 'requests' is required.")
    if len(requests) > MAX_BATCH:
        raise GraphError(
            400,
            "BadRequest",
            f"The number of requests in a batch exceeds the limit of {MAX_BATCH} "
            f"({len(requests)} were sent).",
        )
    ids: list[str] = []
    seen: set[str] = set()
    plan = Plan(ids, {}, {}, {})
    for raw in requests:
        if not isinstance(raw, dict):
            raise GraphError(400, "BadRequest", "Each batch request must be a JSON object.")
        rid = raw.get("id")
        if not isinstance(rid, str) or not rid:
            raise GraphError(400, "BadRequest", "Each batch request needs a string 'id'.")
        if rid.lower() in seen:
            raise GraphError(
                400, "BadRequest", f"Batch request ids must be unique; {rid!r} repeats."
            )
        seen.add(rid.lower())
        ids.append(rid)
        method = str(raw.get("method") or "").upper()
        url = raw.get("url")
        if method not in _METHODS or not isinstance(url, str) or not url:
            raise GraphError(
                400, "BadRequest", f"Batch request {rid!r} needs a 'method' and a relative 'url'."
            )
        item_headers_raw = raw.get("headers") or {}
        if not isinstance(item_headers_raw, dict):
            raise GraphError(
                400, "BadRequest", f"Batch request {rid!r}: 'headers' must be an object."
            )
        item_headers = {str(k).lower(): str(v) for k, v in item_headers_raw.items()}
        has_body = "body" in raw and raw["body"] is not None
        if method in ("POST", "PATCH", "PUT") and (
            not has_body or "content-type" not in item_headers
        ):
            raise GraphError(
                400,
                "BadRequest",
                f"Write request id : {rid} does not contain Content-Type header or body.",
            )
        item_body = raw.get("body")
        if not has_body:
            data = b""
        elif isinstance(item_body, str):
            data = item_body.encode()
        else:
            data = json.dumps(item_body).encode()
        depends = raw.get("dependsOn") or []
        if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
            raise GraphError(400, "BadRequest", f"Batch request {rid!r}: dependsOn must list ids.")
        plan.depends[rid] = depends
        if url.lower().startswith(("http://", "https://")):
            plan.invalid[rid] = Reply(
                400,
                {
                    "error": {
                        "code": "BadRequest",
                        "message": "Batch request URLs must be relative to the version root, "
                        "e.g. /users/{id}/events.",
                    }
                },
            )
            url = "/"
        if not url.startswith("/"):
            url = "/" + url
        # Auth is the envelope's; items inherit it (their own Authorization is ignored).
        plan.requests[rid] = ItemRequest(method, url, item_headers, data, roles)
    by_lower = {i.lower(): i for i in ids}
    for rid in ids:
        resolved = []
        for dep in plan.depends[rid]:
            if dep.lower() not in by_lower or dep.lower() == rid.lower():
                raise GraphError(
                    400, "BadRequest", f"Batch request {rid!r} depends on unknown id {dep!r}."
                )
            resolved.append(by_lower[dep.lower()])
        plan.depends[rid] = resolved
    _check_acyclic(plan)
    return plan


def _check_acyclic(plan: Plan) -> None:
    done: set[str] = set()
    pending = list(plan.ids)
    while pending:
        ready = [r for r in pending if all(d in done for d in plan.depends[r])]
        if not ready:
            raise GraphError(400, "BadRequest", "Batch dependsOn contains a cycle.")
        for r in ready:
            pending.remove(r)
            done.add(r)

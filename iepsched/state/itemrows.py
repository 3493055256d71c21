"""The state's items table: one row per item (or per old copy being removed), both ways.

Kinds, states and intents read back are checked against the values the code knows, so a state
file changed by something else is a clear error, not a string that silently matches nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any, TypeVar

from ..core.errors import Problem, UserError
from ..core.model import ITEM_KINDS, ITEM_STATUSES, OPS, ItemState, Op

T = TypeVar("T", bound=str)


def iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def as_datetime(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def as_date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def item_of_row(row: sqlite3.Row, where: str) -> ItemState:
    """An items row as an ItemState; a kind, state or intent iepsched does not know is an error."""
    intent = row["intent"]
    return ItemState(
        key=row["key"],
        student_id=row["student_id"],
        cycle_id=row["cycle_id"],
        milestone=row["milestone"],
        kind=one_of(row["kind"], ITEM_KINDS, "kind", where),
        mailbox=row["mailbox"],
        state=one_of(row["state"], ITEM_STATUSES, "state", where),
        remote_id=row["remote_id"],
        list_id=row["list_id"],
        change_key=row["change_key"],
        hash=row["hash"],
        field_hashes=json.loads(row["field_hashes"]) if row["field_hashes"] else {},
        intent=None if intent is None else one_of(intent, OPS, "intent", where),
        start=as_datetime(row["start"]),
        end=as_datetime(row["end"]),
        completed_on=as_date(row["completed_on"]),
        moved=bool(row["moved"]),
        moving_from=row["moving_from"] or None,
    )


def one_of(value: object, allowed: tuple[T, ...], what: str, where: str) -> T:
    """`value` as one of `allowed`: a value the code does not know is a clear error, not a
    string that silently matches nothing."""
    for choice in allowed:
        if value == choice:
            return choice
    raise UserError(
        Problem(
            where,
            f"has {what} {value!r}, which is not one of {', '.join(map(str, allowed))}; "
            "the state file was changed by something other than iepsched",
        )
    )


_ITEM_COLUMNS = (
    "key, moving_from, student_id, cycle_id, milestone, kind, mailbox, remote_id, list_id, "
    "change_key, hash, field_hashes, state, intent, start, end, completed_on, moved, updated_at"
)
INSERT_ITEM = f"INSERT INTO items ({_ITEM_COLUMNS}) VALUES ({', '.join('?' * 19)})"
REPLACE_ITEM = INSERT_ITEM.replace("INSERT", "INSERT OR REPLACE", 1)
NOTE_INTENT = (
    INSERT_ITEM + " ON CONFLICT(key, moving_from) DO UPDATE SET intent = excluded.intent, "
    "updated_at = excluded.updated_at"
)


def item_values(item: ItemState, intent: Op | None, stamp: str) -> tuple[Any, ...]:
    """The row of `_ITEM_COLUMNS` for an item."""
    return (*_row(item), intent, *_times(item), stamp)


def _row(item: ItemState) -> tuple[Any, ...]:
    return (
        item.key,
        item.moving_from or "",
        item.student_id,
        item.cycle_id,
        item.milestone,
        item.kind,
        item.mailbox,
        item.remote_id,
        item.list_id,
        item.change_key,
        item.hash,
        json.dumps(dict(item.field_hashes), sort_keys=True) if item.field_hashes else None,
        item.state,
    )


def _times(item: ItemState) -> tuple[Any, ...]:
    return (iso(item.start), iso(item.end), iso(item.completed_on), int(item.moved))

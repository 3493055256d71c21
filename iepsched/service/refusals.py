"""Mailboxes Graph refuses, for the sync engine (SPEC §5 "One mailbox never stops a district").

A case manager's mailbox outside the app's access policy (403) or without a mailbox or licence
(404) is skipped for the night: nothing is written to it, nothing of it is cancelled or recorded
as deleted by a person, and its students are protected like a bad roster row. The run warns,
naming the mailbox and the students, syncs every other mailbox and exits 1; the next run that can
read the mailbox delivers it (its pending rows and keys make that a no-duplicate catch-up).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from ..core.errors import GraphError
from ..core.model import ItemState
from ..core.reconcile import LIVE, PENDING
from ..core.remote import Action
from .district import District

log = logging.getLogger(__name__)


def students_of(
    district: District, items: Mapping[str, ItemState], unread: Iterable[str]
) -> dict[str, list[str]]:
    """Refused mailbox (lower-cased) -> the ids of the students whose items live or would go
    there (its case manager's active students, and students with delivered items in it)."""
    boxes = {m.lower() for m in unread}
    out: dict[str, set[str]] = {m: set() for m in boxes}
    for s in district.students:
        if s.status == "active" and s.case_manager_email.lower() in boxes:
            out[s.case_manager_email.lower()].add(s.student_id)
    for st in items.values():
        if st.state in (LIVE, PENDING) and st.mailbox.lower() in boxes:
            out[st.mailbox.lower()].add(st.student_id)
    return {m: sorted(ids) for m, ids in out.items()}


def refusal_message(mailbox: str, error: GraphError, students: Iterable[str]) -> str:
    """The warning naming the case manager's mailbox, Graph's reason and the students."""
    why = " ".join(str(x) for x in (error.status or "", error.code) if x) or str(error)
    ids = ", ".join(students) or "none"
    return (
        f"mailbox {mailbox} could not be read ({why}): skipped this run — nothing written to it, "
        f"nothing of it cancelled; students waiting for it: {ids}. Check the app's access "
        "policy and the mailbox's licence; the next run that can read it delivers them."
    )


def warn_refused(
    district: District, items: Mapping[str, ItemState], unread: Mapping[str, GraphError]
) -> tuple[frozenset[str], list[str]]:
    """The students to protect and one warning per refused mailbox."""
    by_box = students_of(district, items, unread)
    messages = []
    for mailbox, error in sorted(unread.items()):
        message = refusal_message(mailbox, error, by_box.get(mailbox.lower(), []))
        log.warning("%s", message)
        messages.append(message)
    return frozenset(s for ids in by_box.values() for s in ids), messages


def writable(actions: Iterable[Action], unread: Iterable[str]) -> list[Action]:
    """The actions that do not write to a refused mailbox."""
    boxes = {m.lower() for m in unread}
    return [a for a in actions if a.mailbox.lower() not in boxes]


def all_refused(unread: Mapping[str, GraphError]) -> GraphError:
    """The error to stop with when Graph refused every mailbox: the app's access or the
    tenant is wrong, not one mailbox (the CLI explains it; exit 2, nothing written)."""
    mailbox, error = sorted(unread.items())[0]
    return type(error)(
        f"no mailbox could be read ({len(unread)} refused), e.g. {mailbox}: {error}",
        status=error.status,
        code=error.code,
        request_id=error.request_id,
    )

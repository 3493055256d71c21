"""The iepsched To Do list of each mailbox: found by name, created once, remembered.

`GraphRemote` asks for a mailbox's list before it creates tasks there. A snapshot records what it
saw (`saw`): a mailbox read with no list gets one created in a batch packed across mailboxes; a
mailbox never read is looked at first, and a create that did not clearly succeed makes the next
attempt look again before creating another (issue 8 item 5: at 30% faults, lost list creates were
re-POSTed and every mailbox ended with two lists, tasks split between them). When two lists with
the name exist anyway, iepsched uses the one holding most of its tasks (else the oldest),
consistently, and reports the duplicate; it never deletes a list (a person may use it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence

from ..core.errors import GraphError, GraphTransportError
from .graph import GraphClient
from .graphwire import OUTCOME_UNKNOWN_STATUSES, BatchRequest, GraphResponse
from .graphwrite import seg

__all__ = ["TodoLists"]

log = logging.getLogger(__name__)


class TodoLists:
    """List ids per mailbox for one `GraphRemote` (thread-safe; mailboxes run in parallel)."""

    def __init__(self, client: GraphClient, name: str) -> None:
        self.client = client
        self.name = name
        self._lock = threading.Lock()
        # mailbox (lower-case) -> list id, or None when the last snapshot saw no such list
        self._ids: dict[str, str | None] = {}
        # mailbox (lower-case) -> ids of every list named `name`, when there is more than one
        self.duplicates: dict[str, tuple[str, ...]] = {}

    def saw(self, mailbox: str, list_id: str | None) -> None:
        """What a snapshot found in `mailbox` (None: no iepsched list there)."""
        with self._lock:
            self._ids[mailbox.lower()] = list_id

    def known(self, mailbox: str) -> str | None:
        """The list id remembered for `mailbox`, if any (no request)."""
        with self._lock:
            return self._ids.get(mailbox.lower())

    def find(self, mailbox: str) -> list[str]:
        """Ids of the To Do lists named `name`, in Graph's order."""
        return [
            str(obj["id"])
            for obj in self.client.paginate(f"/users/{seg(mailbox)}/todo/lists", mailbox=mailbox)
            if obj.get("displayName") == self.name and isinstance(obj.get("id"), str)
        ]

    def for_mailboxes(self, mailboxes: Sequence[str]) -> dict[str, str | GraphError]:
        """The To Do list of each mailbox; lists missing where a snapshot looked are created in
        one batch (packed across mailboxes), the rest one by one."""
        out: dict[str, str | GraphError] = {}
        create: list[str] = []
        for mailbox in mailboxes:
            low = mailbox.lower()
            with self._lock:
                known, seen = self._ids.get(low), low in self._ids
            if known:
                out[mailbox] = known
            elif seen:
                create.append(mailbox)
        if create:
            body = {"displayName": self.name}
            requests = [
                BatchRequest(str(i), "POST", f"/users/{seg(m)}/todo/lists", body, mailbox=m)
                for i, m in enumerate(create)
            ]
            answers = self.client.batch(requests)
            for req, mailbox in zip(requests, create, strict=True):
                answer = answers[req.id]
                if isinstance(answer, GraphResponse) and isinstance(answer.body, Mapping):
                    list_id = answer.body.get("id")
                    if isinstance(list_id, str):
                        out[mailbox] = self._remember(mailbox.lower(), list_id)
                        continue
                # Lost or refused: the list may exist now, so the careful path looks first.
                self._forget(mailbox.lower())
        for mailbox in mailboxes:
            if mailbox not in out:
                try:
                    out[mailbox] = self.ensure(mailbox)
                except GraphError as exc:
                    out[mailbox] = exc
        return out

    def ensure(self, mailbox: str) -> str:
        """The iepsched To Do list id, created when the mailbox has none (cached).

        Never creates blindly: unless a snapshot of this run just looked, the lists are read
        first; after a create whose outcome is unknown they are read again before another.
        """
        low = mailbox.lower()
        with self._lock:
            known = self._ids.get(low)
            seen = low in self._ids
        if known:
            return known
        if not seen:  # not read by a snapshot yet (or a create since was uncertain): look
            found = self.find(mailbox)
            if found:
                return self._remember(low, self.choose(mailbox, found))
        for attempt in range(2):
            try:
                body = self._create(mailbox)
            except GraphError as exc:
                self._forget(low)  # whatever happened, the next call looks before creating
                if attempt or not _outcome_unknown(exc):
                    raise
                found = self.find(mailbox)
                if found:
                    return self._remember(low, self.choose(mailbox, found))
                continue
            return self._remember(low, body)
        raise AssertionError("unreachable")  # pragma: no cover

    def choose(
        self, mailbox: str, list_ids: Sequence[str], counts: Mapping[str, int] | None = None
    ) -> str:
        """Of the lists named `name`, the one iepsched uses: the one holding most of its tasks,
        else the first Graph lists (the oldest). A second list is reported, never deleted: it
        is a person's list now (they may have moved tasks into it)."""
        held = counts or {}
        chosen = max(list_ids, key=lambda lid: (held.get(lid, 0), -list_ids.index(lid)))
        if len(list_ids) > 1:
            with self._lock:
                self.duplicates[mailbox.lower()] = tuple(list_ids)
            log.warning(
                "mailbox %s has %d To Do lists named %r; iepsched uses one and leaves the others "
                "(merge or delete them in To Do)",
                mailbox,
                len(list_ids),
                self.name,
            )
        return chosen

    def _create(self, mailbox: str) -> str:
        url = f"/users/{seg(mailbox)}/todo/lists"
        body = self.client.post(url, json={"displayName": self.name}, mailbox=mailbox)
        if not isinstance(body, Mapping) or not isinstance(body.get("id"), str):
            raise GraphError("creating the To Do list: Graph answered without an id")
        log.info("created the To Do list %r in a mailbox", self.name)
        return str(body["id"])

    def _forget(self, low: str) -> None:
        with self._lock:
            self._ids.pop(low, None)

    def _remember(self, low: str, list_id: str) -> str:
        with self._lock:
            self._ids[low] = list_id
        return list_id


def _outcome_unknown(error: GraphError) -> bool:
    """The create may have happened: no answer, or a gateway error after it was sent."""
    return isinstance(error, GraphTransportError) or error.status in OUTCOME_UNKNOWN_STATUSES

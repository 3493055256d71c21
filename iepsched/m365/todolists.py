"""The iepsched To Do list of each mailbox: found by name, created once, remembered.

`GraphRemote` asks for a mailbox's list before it creates tasks there. A snapshot records what it
saw (`saw`): a mailbox read with no list gets one created in a batch packed across mailboxes; a
mailbox never read is looked at first, and a create whose answer was lost looks again before
creating another (a blind re-POST would leave two same-named lists).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence

from ..core.errors import GraphError, GraphTransportError
from .graph import GraphClient
from .graphwire import BatchRequest, GraphResponse
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

    def saw(self, mailbox: str, list_id: str | None) -> None:
        """What a snapshot found in `mailbox` (None: no iepsched list there)."""
        with self._lock:
            self._ids[mailbox.lower()] = list_id

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
                # Lost or refused: the careful path looks before creating again.
        for mailbox in mailboxes:
            if mailbox not in out:
                try:
                    out[mailbox] = self.ensure(mailbox)
                except GraphError as exc:
                    out[mailbox] = exc
        return out

    def ensure(self, mailbox: str) -> str:
        """The iepsched To Do list id, created when the mailbox has none (cached)."""
        low = mailbox.lower()
        with self._lock:
            known = self._ids.get(low)
            seen = low in self._ids
        if known:
            return known
        if not seen:  # not read by a snapshot yet: look before creating
            found = self.find(mailbox)
            if found:
                return self._remember(low, found[0])
        url = f"/users/{seg(mailbox)}/todo/lists"
        try:
            body = self.client.post(url, json={"displayName": self.name}, mailbox=mailbox)
        except GraphTransportError:
            # The answer was lost; the list may exist now. Look before creating it again.
            found = self.find(mailbox)
            if found:
                return self._remember(low, found[0])
            body = self.client.post(url, json={"displayName": self.name}, mailbox=mailbox)
        if not isinstance(body, Mapping) or not isinstance(body.get("id"), str):
            raise GraphError("creating the To Do list: Graph answered without an id")
        log.info("created the To Do list %r in a mailbox", self.name)
        return self._remember(low, str(body["id"]))

    def _remember(self, low: str, list_id: str) -> str:
        with self._lock:
            self._ids[low] = list_id
        return list_id

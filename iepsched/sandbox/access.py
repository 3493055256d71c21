"""Who may touch what: the tenant's mailboxes, the app's access policy and the token's roles.

Checked for every request and every ``$batch`` item before the resource runs, in Graph's order:
the token's application roles (403), then the mailbox — absent from the tenant (404) or outside
the app's access policy (403).

* Missing mailbox: ``404 ErrorInvalidUser`` "The requested user '{upn}' is invalid." — what Graph
  answers app-only calendar calls for a user it cannot resolve (observed:
  microsoftgraph/microsoft-graph-docs#4097, microsoft-graph-explorer-v4#4038).
* Outside the application access policy / RBAC for Applications scope: ``403 ErrorAccessDenied``
  "Access to OData is disabled." (graph-facts §5, §6: auth-limit-mailbox-access.md). Those
  policies cover Calendars.* but not Tasks.* (graph-facts §3), so To Do paths stay reachable.
* Missing role: ``403 ErrorAccessDenied`` "Access is denied. Check credentials and try again.",
  Outlook's answer to a token without the permission the operation lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .store import GraphError

# The application permissions iepsched needs (SPEC §5; graph-facts §6): the default grant.
# (Not Place.Read.All: iepsched reads no room directory; rooms are configured by address.)
DEFAULT_ROLES = ("Calendars.ReadWrite", "Tasks.ReadWrite.All")

# Any one of these roles allows the operation (least privileged first), from the permission
# tables of Microsoft's API pages (graph-facts §1-§3, §6).
CALENDAR_READ = ("Calendars.Read", "Calendars.ReadWrite")  # event get/list, calendarView, delta
CALENDAR_WRITE = ("Calendars.ReadWrite",)  # user-post-events, event-update/-delete/-cancel
SCHEDULE_READ = ("Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite")  # getSchedule
TASKS_READ = ("Tasks.Read.All", "Tasks.ReadWrite.All")  # list lists/tasks, get task, delta
TASKS_WRITE = ("Tasks.ReadWrite.All",)  # create/update/delete lists, tasks and their parts

CALENDAR_SEGMENTS = ("events", "calendarview", "calendar", "calendars")


@dataclass(frozen=True)
class Tenant:
    """Which mailboxes exist (None: any address) and which lie outside the app's policy."""

    mailboxes: frozenset[str] | None = None
    denied: frozenset[str] = frozenset()

    @classmethod
    def of(cls, mailboxes: Iterable[str] | None, denied: Iterable[str] = ()) -> Tenant:
        """Normalised (lower-cased) sets; a denied mailbox exists too."""
        deny = frozenset(m.strip().lower() for m in denied)
        if mailboxes is None:
            return cls(None, deny)
        return cls(frozenset(m.strip().lower() for m in mailboxes) | deny, deny)

    def exists(self, address: str) -> bool:
        """Whether the tenant has a mailbox at `address`."""
        return self.mailboxes is None or address.strip().lower() in self.mailboxes

    def check(self, user: str, first_segment: str) -> None:
        """Raise Graph's 404/403 when `user` is not in the tenant or outside the policy."""
        key = user.strip().lower()
        if not self.exists(key):
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")
        if key in self.denied and first_segment.lower() in CALENDAR_SEGMENTS:
            raise GraphError(403, "ErrorAccessDenied", "Access to OData is disabled.")


def required_roles(method: str, names: list[str]) -> tuple[str, ...]:
    """The roles any one of which allows `method` on ``/users/{u}/`` + `names` (lower-cased)."""
    reads = method.upper() in ("GET", "HEAD")
    if names[:1] == ["todo"]:
        return TASKS_READ if reads else TASKS_WRITE
    if names[-1:] == ["getschedule"]:
        return SCHEDULE_READ
    return CALENDAR_READ if reads else CALENDAR_WRITE


def check_roles(roles: frozenset[str] | None, method: str, names: list[str]) -> None:
    """403 when the token's `roles` (None: not checked) hold none of the roles needed."""
    if roles is None:
        return
    if not roles.intersection(required_roles(method, names)):
        raise GraphError(
            403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
        )

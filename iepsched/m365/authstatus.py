"""What the app may do, for `iepsched auth status`: the token's claims and a probe of a mailbox.

The token alone does not say what the app may do: once Exchange RBAC for Applications scopes the
app to the staff mailboxes (README, *Register the app*), the tenant-wide Calendars role is removed
from Entra and so from the token, although the scoped mailboxes are fully accessible. So
`probe_access` asks Graph — read-only requests in one mailbox — and the roles in the token are
only shown. The token itself is never printed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import quote

from iepsched.core.errors import GraphError

__all__ = [
    "AuthStatus",
    "Probe",
    "describe_status",
    "needed_roles",
    "probe_access",
    "role_advice",
    "token_claims",
]

CALENDARS_ROLE = "Calendars.ReadWrite"
TASKS_ROLE = "Tasks.ReadWrite.All"


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT access token, decoded WITHOUT verifying its signature.

    Only for reporting what a token grants; Graph does the verifying.
    """
    pieces = token.split(".")
    if len(pieces) < 2:
        raise ValueError("not a JWT access token")
    payload = pieces[1] + "=" * (-len(pieces[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise ValueError("not a JWT access token") from exc
    if not isinstance(claims, dict):
        raise ValueError("not a JWT access token")
    return claims


@dataclass(frozen=True, slots=True)
class AuthStatus:
    """What `iepsched auth status` reports; never the token itself."""

    app_id: str
    tenant: str
    kind: str  # "application" (roles) or "delegated" (scp)
    permissions: tuple[str, ...]
    expires_at: dt.datetime | None  # UTC
    audience: str
    authority: str
    endpoint: str


def describe_status(token: str, *, authority: str, endpoint: str) -> AuthStatus:
    """Summarise a token's claims (app id, tenant, permissions, expiry) with the configuration."""
    claims = token_claims(token)
    roles = claims.get("roles") or []
    scp = claims.get("scp") or ""
    permissions = tuple(sorted(str(r) for r in roles)) if roles else tuple(sorted(scp.split()))
    exp = claims.get("exp")
    expires_at = dt.datetime.fromtimestamp(exp, tz=dt.UTC) if isinstance(exp, int | float) else None
    return AuthStatus(
        app_id=str(claims.get("appid") or claims.get("azp") or ""),
        tenant=str(claims.get("tid") or ""),
        kind="application" if roles else ("delegated" if scp else "unknown"),
        permissions=permissions,
        expires_at=expires_at,
        audience=str(claims.get("aud") or ""),
        authority=authority,
        endpoint=endpoint,
    )


def needed_roles(tasks: Literal["todo", "calendar"]) -> tuple[str, ...]:
    """The application permissions the delivery mode needs (rooms need none of their own)."""
    return (CALENDARS_ROLE, TASKS_ROLE) if tasks == "todo" else (CALENDARS_ROLE,)


class _Reader(Protocol):
    def get(self, url: str, **kw: Any) -> Any: ...

    def post(self, url: str, **kw: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class Probe:
    """One read-only request in a mailbox, and whether Graph allowed it."""

    capability: str
    role: str  # the application permission it exercises
    ok: bool
    detail: str = ""  # Graph's error code and message when refused


def _error_text(exc: GraphError) -> str:
    text = str(exc)
    message = text.split(" — ", 1)[1] if " — " in text else text
    message = message.split(" (request-id ")[0]
    return f"{exc.code or f'HTTP {exc.status}'}: {message}"


def probe_access(
    client: _Reader,
    mailbox: str,
    *,
    tasks: Literal["todo", "calendar"],
    day: dt.date,
    timezone: str,
) -> tuple[Probe, ...]:
    """Read `mailbox`'s calendar, its free/busy on `day`, and (To Do delivery) its To Do lists."""
    box = f"/users/{quote(mailbox, safe='@')}"

    def calendar() -> None:
        client.get(f"{box}/events?$top=1&$select=id")

    def free_busy() -> None:
        window = {
            "schedules": [mailbox],
            "startTime": {"dateTime": f"{day.isoformat()}T08:00:00", "timeZone": timezone},
            "endTime": {"dateTime": f"{day.isoformat()}T09:00:00", "timeZone": timezone},
            "availabilityViewInterval": 30,
        }
        got = client.post(f"{box}/calendar/getSchedule", json=window)
        for entry in (got or {}).get("value") or []:
            error = entry.get("error") if isinstance(entry, dict) else None
            if isinstance(error, dict):
                code = error.get("responseCode") or "error"
                raise GraphError(f"getSchedule — {error.get('message', '')}", code=str(code))

    def todo_lists() -> None:
        client.get(f"{box}/todo/lists")

    checks: list[tuple[str, str, Callable[[], None]]] = [
        ("read calendar", CALENDARS_ROLE, calendar),
        ("free/busy (getSchedule)", CALENDARS_ROLE, free_busy),
    ]
    if tasks == "todo":
        checks.append(("read To Do lists", TASKS_ROLE, todo_lists))
    probes = []
    for capability, role, action in checks:
        try:
            action()
        except GraphError as exc:
            probes.append(Probe(capability, role, False, _error_text(exc)))
        else:
            probes.append(Probe(capability, role, True))
    return tuple(probes)


def role_advice(
    status: AuthStatus, probes: tuple[Probe, ...], needed: tuple[str, ...]
) -> list[str]:
    """What to do about each needed permission, judged by what Graph allowed, not by the token."""
    advice = []
    granted = set(status.permissions)
    for role in needed:
        tried = [p for p in probes if p.role == role]
        works = bool(tried) and all(p.ok for p in tried)
        if works and role not in granted:
            advice.append(
                f"{role}: not in the token, but Graph allowed it — granted by Exchange RBAC for "
                "Applications; nothing to do (do not add the tenant-wide permission back)"
            )
        elif works:
            advice.append(f"{role}: works")
        elif role == TASKS_ROLE:
            advice.append(
                f"{role}: refused — grant it with admin consent in Entra (RBAC for Applications "
                'cannot scope To Do), or set [delivery] tasks = "calendar"'
            )
        else:
            advice.append(
                f"{role}: refused — add this mailbox to the app's RBAC for Applications scope "
                "(check with Test-ServicePrincipalAuthorization; changes take up to 2 hours), "
                "or grant the permission in Entra if you do not scope the app"
            )
    return advice

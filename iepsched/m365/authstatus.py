"""What a Graph access token grants, for `iepsched auth status` (never the token itself)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["AuthStatus", "describe_status", "token_claims"]


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

"""The identity platform's HTTP routes: the token endpoint and OpenID/instance discovery.

What they answer comes from :class:`auth.TokenService`; this module only maps paths to it.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote

from .auth import TokenService
from .httpd import HttpAnswer
from .throttle import Stats


def route(
    tokens: TokenService,
    stats: Stats,
    method: str,
    path: str,
    query: str,
    body: bytes,
) -> HttpAnswer:
    """Answer a request outside /v1.0 and /_sandbox: 404 when it is no identity route."""
    parts = [unquote(p) for p in path.split("/") if p]
    lowered = [p.lower() for p in parts]
    if method == "POST" and len(parts) == 4 and lowered[1:] == ["oauth2", "v2.0", "token"]:
        stats.add("token_requests")
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        status, payload = tokens.issue(parts[0], form)
        return HttpAnswer(status, payload, {"Content-Type": "application/json; charset=utf-8"})
    discovery = ["v2.0", ".well-known", "openid-configuration"]
    if method == "GET" and len(parts) == 4 and lowered[1:] == discovery:
        if parts[0].lower() not in (tokens.tenant_id.lower(), "common", "organizations"):
            return HttpAnswer(
                400,
                {
                    "error": "invalid_tenant",
                    "error_description": f"Tenant '{parts[0]}' not found.",
                },
            )
        return HttpAnswer(200, tokens.openid_configuration(parts[0]))
    if method == "GET" and lowered == ["common", "discovery", "instance"]:
        params = dict(parse_qsl(query))
        return HttpAnswer(200, tokens.instance_discovery(params.get("authorization_endpoint")))
    if method == "GET" and lowered[1:] == ["discovery", "v2.0", "keys"]:
        return HttpAnswer(200, {"keys": []})
    return HttpAnswer(
        404,
        {"error": {"code": "NotFound", "message": f"The sandbox serves no {method} {path}."}},
    )

"""The sandbox's stand-in for Microsoft Entra ID: client-credentials tokens and OIDC discovery.

Tokens are JWT-shaped (header.payload.signature, HS256 with a per-sandbox key) so a client that
peeks at ``exp`` or ``roles`` sees sensible values; only this sandbox instance accepts them.
Errors use Entra's shape: ``{"error", "error_description", "error_codes", ...}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

TOKEN_LIFETIME_S = 3599
GRAPH_AUDIENCES = (
    "https://graph.microsoft.com",
    "https://graph.microsoft.us",
    "https://dod-graph.microsoft.us",
    "00000003-0000-0000-c000-000000000000",
)
ROLES = ["Calendars.ReadWrite", "Tasks.ReadWrite.All"]  # the default grant
_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenService:
    """Issues and checks access tokens for one sandbox tenant."""

    def __init__(
        self,
        tenant_id: str,
        base_url: Callable[[], str],
        *,
        client_secret: str | None = None,
        roles: Iterable[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`roles` are the application permissions granted to every client (default
        :data:`ROLES`, what iepsched needs); they go into each token's ``roles`` claim."""
        self.tenant_id = tenant_id
        self.roles = list(ROLES if roles is None else roles)
        self._base_url = base_url
        self._client_secret = client_secret
        self._key = secrets.token_bytes(32)
        self._clock = clock

    # --- token endpoint ------------------------------------------------------------------------

    def issue(self, tenant: str, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """(status, JSON body) for ``POST /{tenant}/oauth2/v2.0/token``."""
        if tenant.lower() != self.tenant_id.lower():
            return self._fail(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        grant = form.get("grant_type")
        if grant is None:
            return self._missing("grant_type")
        if grant != "client_credentials":
            return self._fail(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant}'; the sandbox issues "
                "client_credentials tokens only.",
            )
        client_id = form.get("client_id")
        if not client_id:
            return self._missing("client_id")
        secret = form.get("client_secret")
        assertion = form.get("client_assertion")
        if secret is None and assertion is None:
            return self._fail(
                401,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the "
                "'client_credentials' grant type.",
            )
        if assertion is not None and form.get("client_assertion_type") != _ASSERTION_TYPE:
            return self._fail(
                400,
                "invalid_request",
                50027,
                f"client_assertion_type must be '{_ASSERTION_TYPE}'.",
            )
        if (
            secret is not None
            and self._client_secret is not None
            and not hmac.compare_digest(secret, self._client_secret)
        ):
            return self._fail(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                "the client secret value, not the client secret ID.",
            )
        scope = form.get("scope")
        if not scope:
            return self._missing("scope")
        scopes = scope.split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            return self._fail(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        audience = scopes[0].removesuffix("/.default")
        now = int(self._clock())
        payload = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_S,
            "appid": client_id,
            "azp": client_id,
            "idtyp": "app",
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
            "roles": list(self.roles),
            "sub": client_id,
            "tid": self.tenant_id,
            "ver": "1.0",
            "uti": uuid.uuid4().hex,
        }
        return 200, {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_S,
            "ext_expires_in": TOKEN_LIFETIME_S,
            "access_token": self._sign(payload),
        }

    def _sign(self, payload: dict[str, Any]) -> str:
        header = {"typ": "JWT", "alg": "HS256", "kid": "iepsched-sandbox"}
        signing_input = (
            _b64(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64(json.dumps(payload, separators=(",", ":")).encode())
        )
        signature = hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"

    def _missing(self, name: str) -> tuple[int, dict[str, Any]]:
        return self._fail(
            400,
            "invalid_request",
            900144,
            f"The request body must contain the following parameter: '{name}'.",
        )

    def _fail(self, status: int, error: str, code: int, text: str) -> tuple[int, dict[str, Any]]:
        trace = str(uuid.uuid4())
        return status, {
            "error": error,
            "error_description": f"AADSTS{code}: {text} Trace ID: {trace}",
            "error_codes": [code],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(self._clock())),
            "trace_id": trace,
            "correlation_id": str(uuid.uuid4()),
        }

    # --- Graph side ----------------------------------------------------------------------------

    def check(self, authorization: str | None) -> str | None:
        """None when the Authorization header carries a valid token, else Graph's message."""
        if not authorization or not authorization.strip():
            return "Access token is empty."
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "Access token is empty."
        parts = token.strip().split(".")
        if len(parts) != 3:
            return "IDX14100: JWT is not well formed, there are no dots (.)."
        expected = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            valid = hmac.compare_digest(expected, _unb64(parts[2]))
            payload = json.loads(_unb64(parts[1]))
        except (ValueError, TypeError):
            return "Invalid JWT token. The token is malformed."
        if not valid:
            return "Access token validation failure. Invalid signature (not this sandbox's)."
        if not isinstance(payload, dict) or payload.get("exp", 0) < self._clock():
            return "Lifetime validation failed, the token is expired."
        audience = str(payload.get("aud", "")).rstrip("/")
        if audience not in GRAPH_AUDIENCES and audience != self._base_url().rstrip("/"):
            return "Access token validation failure. Invalid audience."
        return None

    def roles_of(self, authorization: str) -> frozenset[str]:
        """The ``roles`` claim of a token :meth:`check` accepted."""
        token = authorization.strip().partition(" ")[2].strip()
        payload = json.loads(_unb64(token.split(".")[1]))
        roles = payload.get("roles") if isinstance(payload, dict) else None
        return frozenset(str(r) for r in roles) if isinstance(roles, list) else frozenset()

    # --- discovery -----------------------------------------------------------------------------

    def openid_configuration(self, tenant: str) -> dict[str, Any]:
        """``/{tenant}/v2.0/.well-known/openid-configuration``, pointing back at the sandbox."""
        base = self._base_url()
        root = f"{base}/{tenant}"
        return {
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{root}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{self.tenant_id}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "ver"],
            "kerberos_endpoint": f"{root}/kerberos",
            "tenant_region_scope": "NA",
            "cloud_instance_name": "iepsched-sandbox",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": base.split("://", 1)[-1],
            "rbac_url": "https://pas.windows.net",
        }

    def instance_discovery(self, authorization_endpoint: str | None) -> dict[str, Any]:
        """``/common/discovery/instance``, shaped like login.microsoftonline.com's answer."""
        base = self._base_url()
        tenant = self.tenant_id
        if authorization_endpoint:
            path = authorization_endpoint.split("://", 1)[-1].split("/")
            if len(path) > 1 and path[1]:
                tenant = path[1]
        host = base.split("://", 1)[-1]
        return {
            "tenant_discovery_endpoint": f"{base}/{tenant}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }

"""Token providers for Microsoft Graph: the one the configuration asks for (`make_token_provider`).

The providers live in `tokens` (app-only: msal, and the loopback sandbox) and `authstatus` (what a
token grants, what a mailbox allows); Entra basics (scopes, authorities, error hints, certificates)
in `entra`. Their public names are re-exported here. iepsched signs in only as the app: there is no
delegated (personal) sign-in, because nothing would use its token (README).

The `[graph]` settings arrive validated by the config loader (`iepsched.inputs.config_graph`, the
one place authority, endpoint and tenant are checked, each reported with file, section and key).
This module checks only what the file cannot know: that a credential is at hand. Secrets come in
as arguments: the CLI is the only reader of the environment (STYLE).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from iepsched.core.errors import Problem, UserError
from iepsched.core.settings import CLIENT_SECRET_ENV, GraphSettings

from .authstatus import AuthStatus, describe_status, token_claims
from .entra import (
    certificate_credential,
    default_authority,
    is_loopback_url,
    msal_error,
    scope_for,
)
from .tokens import AppTokenProvider, LoopbackTokenProvider

if TYPE_CHECKING:
    from .graphwire import TokenProvider

__all__ = [
    "AppTokenProvider",
    "AuthStatus",
    "LoopbackTokenProvider",
    "certificate_credential",
    "default_authority",
    "describe_status",
    "is_loopback_url",
    "make_token_provider",
    "msal_error",
    "scope_for",
    "token_claims",
]


def make_token_provider(
    graph: GraphSettings,
    *,
    client_secret: str | None = None,
    certificate_password: str | None = None,
    ca_file: str | None = None,
    app_factory: Callable[..., Any] | None = None,
    where: str = "[graph]",
) -> TokenProvider:
    """The app-only token provider for validated `[graph]` settings.

    A certificate is preferred over a secret; both go through msal. The local sandbox: a plain
    ``http://`` loopback authority gets `LoopbackTokenProvider` (msal refuses http) and needs a
    secret; an ``https://`` loopback authority uses msal without instance discovery, trusting
    `ca_file`. `where` names the settings' origin (``config/iepsched.toml [graph]``) in the
    `UserError` raised when no credential is at hand.
    """
    if not graph.client_id or not (graph.tenant_id or graph.authority):
        # A caller's bug, not a user's: the CLI checks these with `config.require_graph` first.
        raise ValueError("make_token_provider needs client_id and tenant_id (or authority)")
    authority = graph.resolved_authority.rstrip("/")
    scope = scope_for(graph.endpoint)
    loopback = is_loopback_url(authority)
    if loopback and urlsplit(authority).scheme == "http":
        if not client_secret:
            raise UserError(
                Problem(
                    f"env {CLIENT_SECRET_ENV}",
                    "the plain-http sandbox signs in with a client secret only; set it",
                )
            )
        return LoopbackTokenProvider(
            client_id=graph.client_id,
            authority=authority,
            scope=scope,
            client_secret=client_secret,
        )
    credential: str | dict[str, Any]
    if graph.certificate_path:
        credential = certificate_credential(
            graph.certificate_path, certificate_password, where=f"{where} certificate_path"
        )
    elif client_secret:
        credential = client_secret
    else:
        raise UserError(
            Problem(
                f"{where} certificate_path",
                f"no credential: set certificate_path (preferred) or the {CLIENT_SECRET_ENV} "
                "environment variable",
            )
        )
    return AppTokenProvider(
        client_id=graph.client_id,
        authority=authority,
        scope=scope,
        client_credential=credential,
        app_factory=app_factory,
        ca_file=ca_file,
        # Instance discovery asks login.microsoftonline.com to vouch for the host: pointless (and
        # offline-hostile) for the sandbox on this machine, worthwhile for anything else.
        instance_discovery=not loopback,
    )

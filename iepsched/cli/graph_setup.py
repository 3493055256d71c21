"""Building the Graph client from the config and the environment (the CLI's job only)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..core.errors import Problem, UserError

if TYPE_CHECKING:
    from ..core.settings import Config
    from ..m365.graph import GraphClient, TokenProvider
    from ..m365.graphremote import GraphRemote

SECRET_ENV = "IEPSCHED_CLIENT_SECRET"
CERT_PASSWORD_ENV = "IEPSCHED_CERTIFICATE_PASSWORD"


def token_provider(config: Config) -> TokenProvider:
    """App-only credentials: the certificate from the config, else the secret from the env."""
    from ..m365.auth import make_token_provider

    g = config.graph
    if not g.client_id or not (g.tenant_id or g.authority):
        where = f"{config.source} [graph]"
        raise UserError(
            Problem(
                where,
                "tenant_id and client_id are needed to reach Microsoft Graph: register the app "
                "(see the README) and fill them in, or try `iepsched demo` with the sandbox",
            )
        )
    return make_token_provider(
        tenant_id=g.tenant_id,
        client_id=g.client_id,
        authority=g.resolved_authority,
        endpoint=g.endpoint,
        certificate_path=g.certificate_path,
        client_secret=os.environ.get(SECRET_ENV) or None,
        certificate_password=os.environ.get(CERT_PASSWORD_ENV) or None,
    )


def graph_client(config: Config, tokens: TokenProvider) -> GraphClient:
    from ..m365.graph import GraphClient

    return GraphClient(
        endpoint=config.graph.endpoint,
        tokens=tokens,
        timezone=config.district.timezone,
        max_concurrency_per_mailbox=config.graph.max_concurrency_per_mailbox,
    )


def graph_remote(config: Config, client: GraphClient) -> GraphRemote:
    from ..m365.graphremote import GraphRemote

    return GraphRemote(
        client,
        timezone=config.district.timezone,
        todo_list_name=config.delivery.todo_list_name,
    )

"""Building the Graph client from the config and the environment (the CLI's job only).

The `[graph]` settings were validated when the config was loaded (`inputs.config_graph`); here
they are only required to name the app, and the secrets are read from the environment.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..core.settings import CERTIFICATE_PASSWORD_ENV, CLIENT_SECRET_ENV

if TYPE_CHECKING:
    from ..core.settings import Config
    from ..m365.graph import GraphClient
    from ..m365.graphremote import GraphRemote
    from ..m365.graphwire import TokenProvider


def token_provider(config: Config) -> TokenProvider:
    """App-only credentials: the certificate from the config, else the secret from the env."""
    from ..inputs.config import display_path, require_graph
    from ..m365.auth import make_token_provider

    return make_token_provider(
        require_graph(config),
        client_secret=os.environ.get(CLIENT_SECRET_ENV) or None,
        certificate_password=os.environ.get(CERTIFICATE_PASSWORD_ENV) or None,
        where=f"{display_path(config.source)} [graph]",
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
        installation=config.district.installation,
    )

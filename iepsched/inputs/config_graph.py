"""`[graph]`: the Entra app and the Graph endpoint, validated here and nowhere else.

The sign-in authority, the Graph endpoint and the tenant are checked when the config is loaded,
like every other key, so a mistake is reported once with file, section and key
(``config/iepsched.toml [graph] authority: ...``). The CLI's Graph setup and
`iepsched.m365.auth.make_token_provider` take the resulting `GraphSettings` as valid; what they
still check is only what the file cannot know (the secret in the environment). `require_graph`
is the one check for commands that talk to Graph: the app's ids must be filled in.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..core.errors import Problem, UserError
from ..core.settings import Config, GraphSettings
from .config_reader import Reader
from .config_values import display_path, nonempty_text, text_or_empty, whole

__all__ = ["GRAPH_KEYS", "read_graph", "require_graph"]

GRAPH_KEYS = (
    "tenant_id",
    "client_id",
    "authority",
    "endpoint",
    "certificate_path",
    "max_concurrency_per_mailbox",
    "token_cache_path",
)

# A directory (tenant) id: a GUID, or a verified domain such as district.onmicrosoft.com.
_GUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})*")


def read_graph(reader: Reader, data: Mapping[str, Any]) -> GraphSettings:
    """The `[graph]` section; problems go to `reader`, each under its key."""
    table = reader.table(data, "graph")
    reader.unknown("graph", table, GRAPH_KEYS)
    base = GraphSettings()
    before = len(reader.problems)
    tenant_id = reader.get(table, "graph", "tenant_id", _tenant, base.tenant_id)
    authority = reader.get(table, "graph", "authority", _authority, base.authority)
    endpoint = reader.get(table, "graph", "endpoint", _endpoint, base.endpoint)
    if len(reader.problems) == before:
        # Only when each value is sound on its own: one mistake, one problem.
        _same_place(reader, authority or _public_authority(tenant_id), endpoint, table)
    return GraphSettings(
        tenant_id=tenant_id,
        client_id=reader.get(table, "graph", "client_id", text_or_empty, base.client_id),
        authority=authority,
        endpoint=endpoint,
        certificate_path=reader.get(table, "graph", "certificate_path", reader.path, None),
        max_concurrency_per_mailbox=reader.get(
            table,
            "graph",
            "max_concurrency_per_mailbox",
            whole(
                minimum=1,
                maximum=4,
                why="Exchange Online allows 4 concurrent requests per mailbox",
            ),
            base.max_concurrency_per_mailbox,
        ),
        token_cache_path=reader.get(table, "graph", "token_cache_path", reader.path, None),
    )


def require_graph(config: Config) -> GraphSettings:
    """The `[graph]` settings of a command that talks to Graph: the app's ids must be there."""
    graph = config.graph
    where = f"{display_path(config.source)} [graph]"
    problems = []
    if not graph.tenant_id and not graph.authority:
        problems.append(
            Problem(
                f"{where} tenant_id",
                "missing; the directory (tenant) id of the district is needed to reach "
                "Microsoft Graph: register the app (see the README) and fill it in, or try "
                "`iepsched demo` with the sandbox",
            )
        )
    if not graph.client_id:
        problems.append(
            Problem(
                f"{where} client_id",
                "missing; the app registration's application (client) id is needed to reach "
                "Microsoft Graph: register the app (see the README) and fill it in, or try "
                "`iepsched demo` with the sandbox",
            )
        )
    if problems:
        raise UserError(problems)
    return graph


# -- converters (ValueError carries the message shown after file, section and key) --------------


def _tenant(value: Any) -> str:
    text = text_or_empty(value)
    if text and not (_GUID.fullmatch(text) or _DOMAIN.fullmatch(text)):
        raise ValueError(
            f"{text!r} is not a tenant id; use the directory (tenant) id, a GUID like "
            '"00000000-0000-0000-0000-000000000000", or a domain like district.onmicrosoft.com'
        )
    return text


def _is_loopback(host: str | None) -> bool:
    """True for this machine: 127.0.0.0/8, ::1 or localhost (where the sandbox listens)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _web_url(value: Any) -> tuple[str, str]:
    """(url without trailing slash, its path): https, or plain http to this machine only."""
    text = nonempty_text(value).rstrip("/")
    parts = urlsplit(text)
    secure = parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname))
    if not secure or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"{text!r} must be an https:// URL (http:// only for 127.0.0.1/localhost)")
    return text, parts.path.strip("/")


def _authority(value: Any) -> str:
    text, path = _web_url(value)
    if not path or "/" in path:
        raise ValueError(
            f"{text!r} must look like https://<sign-in host>/<tenant>, e.g. "
            "https://login.microsoftonline.com/<tenant id> "
            "(GCC High: https://login.microsoftonline.us/<tenant id>)"
        )
    return text


def _endpoint(value: Any) -> str:
    return _web_url(value)[0]


def _public_authority(tenant_id: str) -> str:
    return GraphSettings(tenant_id=tenant_id).resolved_authority if tenant_id else ""


def _same_place(reader: Reader, authority: str, endpoint: str, table: Mapping[str, Any]) -> None:
    """Sandbox and Microsoft settings must not be mixed: a real token must never reach a local
    process, nor a sandbox secret go to Entra."""
    if not authority:
        return
    local_authority = _is_loopback(urlsplit(authority).hostname)
    if local_authority == _is_loopback(urlsplit(endpoint).hostname):
        return
    key = "authority" if "authority" in table else "endpoint"
    reader.error(
        "graph",
        key,
        "authority and endpoint must both point at the local sandbox (127.0.0.1) or both at "
        f"Microsoft; got authority {authority} and endpoint {endpoint}",
    )

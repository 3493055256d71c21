"""A local Microsoft Graph v1.0 emulator ("sandbox") for iepsched's endpoints.

It speaks Graph's HTTP (paths, query options, Prefer headers, status codes, error bodies, JSON
batching, throttling) on 127.0.0.1 only, with injectable latency, throttling and faults, and
request statistics. It serves the demo, the integration tests and the benchmarks::

    from iepsched.sandbox import GraphSandbox

    with GraphSandbox(latency_ms=5, fault_rate=0.05, seed=1) as sb:
        sb.graph_url    # -> [graph] endpoint
        sb.authority    # -> [graph] authority
        sb.stats(), sb.dump()

It can be as strict as a locked-down tenant: ``GraphSandbox(mailboxes=[...],
deny_mailboxes=[...], roles=[...], room_policies={...})`` (see :class:`GraphSandbox`).
"""

from .server import GraphSandbox, serve, serve_forever
from .store import GraphError
from .throttle import ALL_FAULT_KINDS, FAULT_KINDS

__all__ = [
    "ALL_FAULT_KINDS",
    "FAULT_KINDS",
    "GraphError",
    "GraphSandbox",
    "serve",
    "serve_forever",
]

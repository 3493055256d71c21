"""The sample config pointed at a Graph sandbox, for CLI tests of the Graph commands."""

from __future__ import annotations

from pathlib import Path

from hostile import copy_sample

from iepsched.sandbox import GraphSandbox


def sandbox_config(tmp_path: Path, sb: GraphSandbox, *, tasks: str = "todo") -> Path:
    """A copy of the sample config with [graph] pointed at `sb` and [delivery] tasks as given."""
    toml = copy_sample(tmp_path)
    text = toml.read_text(encoding="utf-8")
    endpoint = 'endpoint = "https://graph.microsoft.com/v1.0"'
    assert endpoint in text and 'tasks = "todo"' in text
    text = text.replace(
        endpoint,
        f'tenant_id = "{sb.tenant_id}"\nclient_id = "iepsched-tests"\n'
        f'authority = "{sb.authority}"\nendpoint = "{sb.graph_url}"',
    ).replace('tasks = "todo"', f'tasks = "{tasks}"')
    toml.write_text(text, encoding="utf-8")
    return toml

"""`[graph]` is validated in one place, the config loader: each mistake once, with file and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hostile import copy_sample

from iepsched.cli import main
from iepsched.cli.graph_setup import token_provider
from iepsched.core.errors import UserError
from iepsched.inputs.config import load_config, require_graph

CORPUS = Path(__file__).parent / "corpus" / "config"
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a roster and a calendar, as the working folder (messages name files short)."""
    for name in ("roster.csv", "calendar.toml"):
        shutil.copy(CORPUS / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IEPSCHED_CLIENT_SECRET", raising=False)
    return tmp_path


def write_config(folder: Path, graph: str) -> Path:
    text = (CORPUS / "minimal.toml").read_text(encoding="utf-8") + f"\n[graph]\n{graph}\n"
    (folder / "iepsched.toml").write_text(text, encoding="utf-8")
    return Path("iepsched.toml")


def problems_of(path: Path) -> list[str]:
    with pytest.raises(UserError) as caught:
        load_config(path)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("graph", "key", "says"),
    [
        ('authority = "https://login.microsoftonline.com"', "authority", "<tenant>"),
        ('authority = "http://login.example.org/t"', "authority", "https://"),
        ('authority = "https://login.microsoftonline.com/t?x=1"', "authority", "https://"),
        ('endpoint = "graph.microsoft.com/v1.0"', "endpoint", "https://"),
        ('endpoint = "http://127.0.0.1.evil.example/v1.0"', "endpoint", "https://"),
        ('tenant_id = "https://login.microsoftonline.com/x"', "tenant_id", "tenant id"),
        ('tenant_id = "my tenant"', "tenant_id", "tenant id"),
        ('authority = "http://127.0.0.1:8731/t"', "authority", "both point at"),
        (f'tenant_id = "{TENANT}"\nendpoint = "http://127.0.0.1:8731/v1.0"', "endpoint", "both"),
    ],
)
def test_a_bad_graph_setting_is_reported_once_with_file_section_and_key(
    folder: Path, graph: str, key: str, says: str
) -> None:
    """A bad authority, endpoint or tenant is one problem, located like every config problem."""
    (problem,) = problems_of(write_config(folder, graph))
    assert problem.startswith(f"iepsched.toml [graph] {key}: ")
    assert says in problem


@pytest.mark.parametrize(
    "graph",
    [
        f'tenant_id = "{TENANT}"',
        'tenant_id = "usd500.onmicrosoft.com"',
        f'authority = "https://login.microsoftonline.us/{TENANT}/"\n'
        'endpoint = "https://graph.microsoft.us/v1.0"',
        'authority = "http://127.0.0.1:8731/sandbox-tenant"\n'
        'endpoint = "http://127.0.0.1:8731/v1.0"',
        'authority = "https://localhost:8443/t"\nendpoint = "https://[::1]:8443/v1.0"',
    ],
)
def test_sound_graph_settings_load(folder: Path, graph: str) -> None:
    """Public cloud, GCC High, a domain tenant and the loopback sandbox all load cleanly."""
    config = load_config(write_config(folder, graph))
    assert not config.graph.authority.endswith("/") and not config.graph.endpoint.endswith("/")


def test_commands_that_talk_to_graph_need_the_apps_ids(folder: Path) -> None:
    """Without tenant_id and client_id, each missing key is reported under [graph]."""
    config = load_config(write_config(folder, 'endpoint = "https://graph.microsoft.com/v1.0"'))
    with pytest.raises(UserError) as caught:
        require_graph(config)
    assert [p.where for p in caught.value.problems] == [
        "iepsched.toml [graph] tenant_id",
        "iepsched.toml [graph] client_id",
    ]


def test_token_provider_without_a_credential_names_the_config_key(folder: Path) -> None:
    """With the ids but no certificate or secret, the CLI names [graph] certificate_path."""
    config = load_config(write_config(folder, f'tenant_id = "{TENANT}"\nclient_id = "{CLIENT}"'))
    with pytest.raises(UserError) as caught:
        token_provider(config)
    (problem,) = caught.value.problems
    assert problem.where == "iepsched.toml [graph] certificate_path"
    assert "IEPSCHED_CLIENT_SECRET" in problem.message


def test_the_cli_reports_a_bad_authority_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`iepsched auth status` with a bad authority exits 2 naming [graph] authority once."""
    monkeypatch.delenv("IEPSCHED_CONFIG", raising=False)
    config = copy_sample(tmp_path)
    text = config.read_text(encoding="utf-8").replace(
        "[graph]\n",
        f'[graph]\ntenant_id = "{TENANT}"\nclient_id = "{CLIENT}"\n'
        'authority = "https://login.microsoftonline.com"\n',
        1,
    )
    config.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "auth", "status"])
    assert result.exit_code == 2
    assert result.output.count("[graph] authority") == 1

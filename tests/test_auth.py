"""Token providers: scopes per cloud, credential choice, msal wiring, JWTs; `auth` commands."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pytest
import responses
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from iepsched.core.errors import GraphAuthError, UserError
from iepsched.core.settings import GraphSettings
from iepsched.m365.auth import make_token_provider
from iepsched.m365.authstatus import describe_status, token_claims
from iepsched.m365.entra import certificate_credential, is_loopback_url, msal_error, scope_for
from iepsched.m365.tokens import AppTokenProvider, LoopbackTokenProvider

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
SECRET = "Sup3r~Secret.Value_xyz"


# -- helpers --------------------------------------------------------------------------------------


def jwt(claims: dict[str, Any]) -> str:
    """An unsigned JWT-shaped token (header.payload.signature), base64url without padding."""

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2ln"


@pytest.fixture(scope="module")
def keypair() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "iepsched-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert


@pytest.fixture
def pem_file(tmp_path: Path, keypair: tuple[rsa.RSAPrivateKey, x509.Certificate]) -> Path:
    key, cert = keypair
    path = tmp_path / "app.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    return path


@pytest.fixture
def pfx_file(tmp_path: Path, keypair: tuple[rsa.RSAPrivateKey, x509.Certificate]) -> Path:
    key, cert = keypair
    path = tmp_path / "app.pfx"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"app", key, cert, None, serialization.BestAvailableEncryption(b"pfx-pass-123")
        )
    )
    return path


class FakeConfidentialApp:
    """Stands in for msal.ConfidentialClientApplication; records how it was built and used."""

    built: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, client_id: str, **kw: Any) -> None:
        FakeConfidentialApp.built.append({"client_id": client_id, **kw})
        self.removed = 0
        self.calls: list[list[str]] = []
        self.result: dict[str, Any] = {"access_token": "at-1", "expires_in": 3599}

    def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]:
        self.calls.append(scopes)
        return self.result

    def remove_tokens_for_client(self) -> None:
        self.removed += 1


@pytest.fixture(autouse=True)
def _reset_fake() -> Iterator[None]:
    FakeConfidentialApp.built = []
    yield


# -- scopes and hosts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "scope"),
    [
        ("https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/.default"),
        ("https://graph.microsoft.us/v1.0", "https://graph.microsoft.us/.default"),
        ("https://dod-graph.microsoft.us/v1.0/", "https://dod-graph.microsoft.us/.default"),
        ("http://127.0.0.1:8731/v1.0", "http://127.0.0.1:8731/.default"),
    ],
)
def test_scope_for_uses_the_endpoint_origin(endpoint: str, scope: str) -> None:
    """The .default scope follows the endpoint's cloud (public, GCC High, DoD, sandbox)."""
    assert scope_for(endpoint) == scope


def test_scope_for_rejects_a_relative_endpoint() -> None:
    """A Graph endpoint must be an absolute URL."""
    with pytest.raises(ValueError):
        scope_for("graph.microsoft.com/v1.0")


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:5000/t", True),
        ("http://127.9.8.7/t", True),
        ("http://[::1]:5000/t", True),
        ("http://localhost:5000/t", True),
        ("http://LOCALHOST/t", True),
        ("http://10.0.0.5/t", False),
        ("http://127.0.0.1.evil.example/t", False),
        ("http://localhost.evil.example/t", False),
        ("https://login.microsoftonline.com/t", False),
        ("not a url", False),
    ],
)
def test_is_loopback_url(url: str, loopback: bool) -> None:
    """Only 127.0.0.0/8, ::1 and localhost count as this machine."""
    assert is_loopback_url(url) is loopback


# -- make_token_provider --------------------------------------------------------------------------


def test_factory_prefers_the_certificate_over_a_secret(pem_file: Path) -> None:
    """With both a certificate and a secret configured, msal gets the certificate."""
    provider = make_token_provider(
        GraphSettings(tenant_id=TENANT, client_id=CLIENT, certificate_path=pem_file),
        client_secret=SECRET,
        app_factory=FakeConfidentialApp,
    )
    assert isinstance(provider, AppTokenProvider)
    assert provider.token() == "at-1"
    (built,) = FakeConfidentialApp.built
    cred = built["client_credential"]
    assert isinstance(cred, dict)
    assert "BEGIN PRIVATE KEY" in cred["private_key"]
    assert "BEGIN CERTIFICATE" in cred["public_certificate"]
    assert "thumbprint" not in cred  # msal ≥1.35 computes a SHA-256 one itself
    assert built["authority"] == f"https://login.microsoftonline.com/{TENANT}"


def test_factory_uses_the_secret_without_a_certificate() -> None:
    """With only IEPSCHED_CLIENT_SECRET, msal gets the secret string."""
    provider = make_token_provider(
        GraphSettings(tenant_id=TENANT, client_id=CLIENT),
        client_secret=SECRET,
        app_factory=FakeConfidentialApp,
    )
    provider.token()
    assert FakeConfidentialApp.built[0]["client_credential"] == SECRET


def test_factory_without_any_credential_names_what_to_set() -> None:
    """No certificate and no secret: UserError naming certificate_path and the env var."""
    with pytest.raises(UserError) as info:
        make_token_provider(GraphSettings(tenant_id=TENANT, client_id=CLIENT))
    text = str(info.value)
    assert "certificate_path" in text and "IEPSCHED_CLIENT_SECRET" in text


def test_factory_names_the_config_file_when_no_credential_is_at_hand() -> None:
    """The missing-credential problem is located like config problems: file, [graph], key."""
    with pytest.raises(UserError) as info:
        make_token_provider(
            GraphSettings(tenant_id=TENANT, client_id=CLIENT), where="district.toml [graph]"
        )
    (problem,) = info.value.problems
    assert problem.where == "district.toml [graph] certificate_path"


def test_factory_takes_settings_validated_by_the_config_loader() -> None:
    """Without the app's ids the settings were never checked (require_graph): a caller's bug."""
    with pytest.raises(ValueError, match="client_id"):
        make_token_provider(GraphSettings(tenant_id=TENANT), client_secret=SECRET)


def test_factory_accepts_an_authority_without_tenant_id() -> None:
    """The tenant can come from the authority's path alone."""
    provider = make_token_provider(
        GraphSettings(
            tenant_id="", client_id=CLIENT, authority=f"https://login.microsoftonline.com/{TENANT}/"
        ),
        client_secret=SECRET,
        app_factory=FakeConfidentialApp,
    )
    assert isinstance(provider, AppTokenProvider)
    assert provider.authority == f"https://login.microsoftonline.com/{TENANT}"


def test_factory_for_gcc_high_uses_us_authority_and_scope() -> None:
    """GCC High: login.microsoftonline.us authority and the graph.microsoft.us scope."""
    provider = make_token_provider(
        GraphSettings(
            tenant_id=TENANT,
            client_id=CLIENT,
            authority=f"https://login.microsoftonline.us/{TENANT}",
            endpoint="https://graph.microsoft.us/v1.0",
        ),
        client_secret=SECRET,
        app_factory=FakeConfidentialApp,
    )
    provider.token()
    assert FakeConfidentialApp.built[0]["authority"] == f"https://login.microsoftonline.us/{TENANT}"
    assert isinstance(provider, AppTokenProvider)
    assert provider.scope == "https://graph.microsoft.us/.default"


def test_factory_picks_the_loopback_provider_for_the_sandbox() -> None:
    """A loopback authority and endpoint give the LoopbackTokenProvider."""
    provider = make_token_provider(
        GraphSettings(
            tenant_id="contoso",
            client_id=CLIENT,
            authority="http://127.0.0.1:8731/contoso",
            endpoint="http://127.0.0.1:8731/v1.0",
        ),
        client_secret=SECRET,
    )
    assert isinstance(provider, LoopbackTokenProvider)
    assert provider.token_endpoint == "http://127.0.0.1:8731/contoso/oauth2/v2.0/token"


def test_loopback_provider_refuses_other_hosts() -> None:
    """The plain-HTTP seam can never be pointed at another machine."""
    with pytest.raises(ValueError, match="loopback"):
        LoopbackTokenProvider(
            client_id=CLIENT,
            authority="http://login.example.org/t",
            scope="x/.default",
            client_secret=SECRET,
        )


# -- certificates ---------------------------------------------------------------------------------


def test_pfx_certificate_uses_msal_pfx_form(pfx_file: Path) -> None:
    """A .pfx becomes msal's private_key_pfx_path form with passphrase and x5c."""
    cred = certificate_credential(pfx_file, "pfx-pass-123")
    assert cred == {
        "private_key_pfx_path": str(pfx_file),
        "passphrase": "pfx-pass-123",
        "public_certificate": True,
    }


def test_wrong_pfx_password_is_a_config_error_without_the_password(pfx_file: Path) -> None:
    """A wrong certificate password names IEPSCHED_CERTIFICATE_PASSWORD and hides the value."""
    with pytest.raises(UserError) as info:
        certificate_credential(pfx_file, "not-the-password")
    assert "IEPSCHED_CERTIFICATE_PASSWORD" in str(info.value)
    assert "not-the-password" not in str(info.value)


def test_missing_certificate_file_names_the_key(tmp_path: Path) -> None:
    """A certificate_path that does not exist is reported against certificate_path."""
    with pytest.raises(UserError) as info:
        certificate_credential(tmp_path / "nope.pem", None, where="x.toml [graph] certificate_path")
    assert info.value.problems[0].where == "x.toml [graph] certificate_path"


def test_pem_without_certificate_is_rejected(tmp_path: Path, pem_file: Path) -> None:
    """A PEM holding only a key cannot authenticate (Entra needs the certificate's thumbprint)."""
    only_key = tmp_path / "key.pem"
    only_key.write_text(pem_file.read_text().split("-----BEGIN CERTIFICATE-----")[0])
    with pytest.raises(UserError, match="certificate"):
        certificate_credential(only_key, None)


def test_real_msal_signs_a_certificate_assertion(pem_file: Path) -> None:
    """Real msal accepts our PEM credential and sends a signed client assertion (no network)."""
    authority = f"https://login.microsoftonline.com/{TENANT}"
    with responses.RequestsMock() as rs:
        rs.add(
            "GET",
            f"{authority}/v2.0/.well-known/openid-configuration",
            json={
                "authorization_endpoint": f"{authority}/oauth2/v2.0/authorize",
                "token_endpoint": f"{authority}/oauth2/v2.0/token",
                "issuer": f"https://login.microsoftonline.com/{TENANT}/v2.0",
            },
        )
        rs.add(
            "POST",
            f"{authority}/oauth2/v2.0/token",
            json={"access_token": "real-at", "expires_in": 3599, "token_type": "Bearer"},
        )
        provider = make_token_provider(
            GraphSettings(tenant_id=TENANT, client_id=CLIENT, certificate_path=pem_file)
        )
        assert provider.token() == "real-at"
        assert provider.token() == "real-at"  # second call served by msal's cache
        posts = [c for c in rs.calls if c.request.method == "POST"]
        assert len(posts) == 1
        form = parse_qs(str(posts[0].request.body))
        assert form["grant_type"] == ["client_credentials"]
        assert form["scope"] == ["https://graph.microsoft.com/.default"]
        assert "client_assertion" in form and "client_secret" not in form
        header = json.loads(
            base64.urlsafe_b64decode(form["client_assertion"][0].split(".")[0] + "==")
        )
        assert header["alg"] == "PS256" and "x5t#S256" in header


@pytest.mark.parametrize("discovery", [True, False])
def test_real_msal_with_a_secret_and_invalidate(
    rs_msal: responses.RequestsMock, discovery: bool
) -> None:
    """Real msal with a secret caches the token; invalidate() makes it ask Entra again.

    msal's remove_tokens_for_client() first fetches authority aliases; when that call fails the
    provider still clears the cached token.
    """
    if discovery:
        add_instance_discovery(rs_msal)
    provider = make_token_provider(
        GraphSettings(tenant_id=TENANT, client_id=CLIENT), client_secret=SECRET
    )
    assert provider.token() == "real-at"
    assert provider.token() == "real-at"
    provider.invalidate()
    assert provider.token() == "real-at"
    posts = [c for c in rs_msal.calls if c.request.method == "POST"]
    assert len(posts) == 2
    assert parse_qs(str(posts[0].request.body))["client_secret"] == [SECRET]


def add_instance_discovery(rs: responses.RequestsMock) -> None:
    """msal asks this endpoint for authority aliases (cache clean-up, error handling)."""
    rs.add(
        "GET",
        "https://login.microsoftonline.com/common/discovery/instance",
        json={
            "tenant_discovery_endpoint": "unused",
            "metadata": [
                {
                    "preferred_network": "login.microsoftonline.com",
                    "preferred_cache": "login.windows.net",
                    "aliases": ["login.microsoftonline.com", "login.windows.net"],
                }
            ],
        },
    )


@pytest.fixture
def rs_msal() -> Iterator[responses.RequestsMock]:
    authority = f"https://login.microsoftonline.com/{TENANT}"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rs:
        rs.add(
            "GET",
            f"{authority}/v2.0/.well-known/openid-configuration",
            json={
                "authorization_endpoint": f"{authority}/oauth2/v2.0/authorize",
                "token_endpoint": f"{authority}/oauth2/v2.0/token",
                "issuer": f"https://login.microsoftonline.com/{TENANT}/v2.0",
            },
        )
        rs.add(
            "POST",
            f"{authority}/oauth2/v2.0/token",
            json={"access_token": "real-at", "expires_in": 3599, "token_type": "Bearer"},
        )
        yield rs


def test_real_msal_error_becomes_auth_error_without_the_secret() -> None:
    """Entra's invalid-secret answer is a GraphAuthError with a hint and no secret in it."""
    authority = f"https://login.microsoftonline.com/{TENANT}"
    with responses.RequestsMock() as rs:
        rs.add(
            "GET",
            f"{authority}/v2.0/.well-known/openid-configuration",
            json={
                "authorization_endpoint": f"{authority}/oauth2/v2.0/authorize",
                "token_endpoint": f"{authority}/oauth2/v2.0/token",
            },
        )
        rs.add(
            "POST",
            f"{authority}/oauth2/v2.0/token",
            status=401,
            json={
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the "
                "secret being sent in the request is the client secret value. Trace ID: abc "
                "Correlation ID: def Timestamp: 2024-01-01 00:00:00Z",
                "error_codes": [7000215],
            },
        )
        add_instance_discovery(rs)
        provider = make_token_provider(
            GraphSettings(tenant_id=TENANT, client_id=CLIENT), client_secret=SECRET
        )
        with pytest.raises(GraphAuthError) as info:
            provider.token()
    text = str(info.value)
    assert "AADSTS7000215" in text and "IEPSCHED_CLIENT_SECRET" in text
    assert "Trace ID" not in text
    assert SECRET not in text
    assert info.value.code == "AADSTS7000215"


# -- msal error mapping ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "hint"),
    [
        ([7000215], "secret is wrong"),
        ([700016], "client_id"),
        ([90002], "tenant"),
    ],
)
def test_msal_error_hints(codes: list[int], hint: str) -> None:
    """Known AADSTS codes carry a hint saying what to fix."""
    err = msal_error({"error": "invalid_client", "error_codes": codes}, action="App sign-in")
    assert hint in str(err)


def test_msal_error_scrubs_secrets_echoed_in_descriptions() -> None:
    """Even if Entra echoed the secret, the message does not contain it."""
    err = msal_error(
        {"error": "invalid_request", "error_description": f"bad value {SECRET}"},
        action="App sign-in",
        secrets=(SECRET,),
    )
    assert SECRET not in str(err) and "[redacted]" in str(err)


def test_app_provider_builds_msal_once_and_invalidates(pem_file: Path) -> None:
    """The msal app is created once and reused; invalidate removes its app tokens."""
    provider = make_token_provider(
        GraphSettings(tenant_id=TENANT, client_id=CLIENT),
        client_secret=SECRET,
        app_factory=FakeConfidentialApp,
    )
    assert isinstance(provider, AppTokenProvider)
    for _ in range(3):
        provider.token()
    provider.invalidate()
    assert len(FakeConfidentialApp.built) == 1
    app = provider._app
    assert app.calls == [["https://graph.microsoft.com/.default"]] * 3 and app.removed == 1


def test_app_provider_maps_msal_error_dict() -> None:
    """An msal error dict (no access_token) raises GraphAuthError naming the Entra code."""
    provider = make_token_provider(
        GraphSettings(tenant_id=TENANT, client_id=CLIENT),
        client_secret=SECRET,
        app_factory=FakeConfidentialApp,
    )
    assert isinstance(provider, AppTokenProvider)
    provider.token()
    provider._app.result = {
        "error": "unauthorized_client",
        "error_description": "AADSTS700016: Application with identifier 'x' was not found",
        "error_codes": [700016],
    }
    with pytest.raises(GraphAuthError, match="AADSTS700016") as info:
        provider.token()
    assert "tenant_id" in str(info.value)


# -- loopback provider ----------------------------------------------------------------------------


def test_loopback_provider_posts_client_credentials_and_caches() -> None:
    """The sandbox seam posts the client-credentials form and reuses the token until near expiry."""
    now = [1000.0]
    authority = "http://127.0.0.1:8731/contoso"
    provider = LoopbackTokenProvider(
        client_id=CLIENT,
        authority=authority,
        scope="http://127.0.0.1:8731/.default",
        client_secret=SECRET,
        clock=lambda: now[0],
    )
    with responses.RequestsMock() as rs:
        rs.add(
            "POST",
            f"{authority}/oauth2/v2.0/token",
            json={"access_token": "sb-1", "expires_in": 600, "token_type": "Bearer"},
        )
        assert provider.token() == "sb-1"
        now[0] += 250
        assert provider.token() == "sb-1"
        now[0] += 100  # past expiry minus the refresh margin (600 - 300)
        assert provider.token() == "sb-1"
        provider.invalidate()
        provider.token()
        assert len(rs.calls) == 3
        form = parse_qs(str(rs.calls[0].request.body))
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT],
        "client_secret": [SECRET],
        "scope": ["http://127.0.0.1:8731/.default"],
    }


def test_loopback_provider_error_hides_the_secret() -> None:
    """A refused sandbox sign-in is GraphAuthError without the secret."""
    authority = "http://127.0.0.1:8731/contoso"
    provider = LoopbackTokenProvider(
        client_id=CLIENT, authority=authority, scope="s", client_secret=SECRET
    )
    with responses.RequestsMock() as rs:
        rs.add(
            "POST",
            f"{authority}/oauth2/v2.0/token",
            status=401,
            json={"error": "invalid_client", "error_description": f"AADSTS7000215: got {SECRET}"},
        )
        with pytest.raises(GraphAuthError) as info:
            provider.token()
    assert "AADSTS7000215" in str(info.value) and SECRET not in str(info.value)


# -- JWT claims -----------------------------------------------------------------------------------


def test_token_claims_decodes_without_verifying() -> None:
    """The payload is read from base64url (padding restored); the signature is ignored."""
    claims = {"appid": CLIENT, "tid": TENANT, "roles": ["Calendars.ReadWrite"], "exp": 1700000000}
    assert token_claims(jwt(claims)) == claims


@pytest.mark.parametrize("bad", ["", "abc", "a.!!!.c", f"a.{base64.b64encode(b'[1]').decode()}.c"])
def test_token_claims_rejects_non_jwts(bad: str) -> None:
    """Anything that is not header.payload.signature with a JSON object payload is refused."""
    with pytest.raises(ValueError, match="not a JWT"):
        token_claims(bad)


def test_describe_status_for_an_app_token() -> None:
    """An app-only token reports app id, tenant, sorted roles and UTC expiry."""
    token = jwt(
        {
            "appid": CLIENT,
            "tid": TENANT,
            "aud": "https://graph.microsoft.com",
            "roles": ["Tasks.ReadWrite.All", "Calendars.ReadWrite"],
            "exp": 1700000000,
        }
    )
    status = describe_status(
        token,
        authority="https://login.microsoftonline.com/t",
        endpoint="https://graph.microsoft.com/v1.0",
    )
    assert status.app_id == CLIENT and status.tenant == TENANT
    assert status.kind == "application"
    assert status.permissions == ("Calendars.ReadWrite", "Tasks.ReadWrite.All")
    assert status.expires_at == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
    assert token not in repr(status)


def test_describe_status_for_a_delegated_token() -> None:
    """A delegated token reports its scp scopes."""
    status = describe_status(
        jwt({"azp": CLIENT, "tid": TENANT, "scp": "User.Read Calendars.ReadWrite"}),
        authority="a",
        endpoint="e",
    )
    assert status.kind == "delegated" and status.permissions == ("Calendars.ReadWrite", "User.Read")
    assert status.app_id == CLIENT and status.expires_at is None


# -- import cost ----------------------------------------------------------------------------------


def test_importing_graph_and_auth_loads_neither_msal_nor_requests() -> None:
    """CLI start-up stays fast: msal and requests load only when a provider/client is used."""
    code = (
        "import sys, iepsched.m365.auth, iepsched.m365.graph; "
        "print(','.join(m for m in ('msal', 'requests', 'cryptography') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == ""


# -- against the local Graph emulator -------------------------------------------------------------


def test_make_token_provider_gets_a_token_from_the_http_sandbox() -> None:
    """Plain-http sandbox: the loopback provider gets a token Graph calls are accepted with."""
    from iepsched.m365.graph import GraphClient
    from iepsched.sandbox import GraphSandbox

    with GraphSandbox(client_secret=SECRET, tenant_id="contoso-sandbox") as sb:
        provider = make_token_provider(
            GraphSettings(
                tenant_id="contoso-sandbox",
                client_id=CLIENT,
                authority=sb.authority,
                endpoint=sb.graph_url,
            ),
            client_secret=SECRET,
        )
        assert isinstance(provider, LoopbackTokenProvider)
        token = provider.token()
        assert provider.token() == token  # cached
        status = describe_status(token, authority=sb.authority, endpoint=sb.graph_url)
        with GraphClient(endpoint=sb.graph_url, tokens=provider) as client:
            assert client.get("/users/cm@district.example/events")["value"] == []
        token_requests = sb.stats()["token_requests"]
    assert status.app_id == CLIENT and status.tenant == "contoso-sandbox"
    assert "Calendars.ReadWrite" in status.permissions and status.kind == "application"
    assert token_requests == 1


def test_sandbox_rejects_a_wrong_secret_without_echoing_it() -> None:
    """A wrong secret is GraphAuthError AADSTS7000215 that never shows either secret."""
    from iepsched.sandbox import GraphSandbox

    with GraphSandbox(client_secret=SECRET) as sb:
        provider = make_token_provider(
            GraphSettings(
                tenant_id="", client_id=CLIENT, authority=sb.authority, endpoint=sb.graph_url
            ),
            client_secret="Wrong~Secret.Value",
        )
        with pytest.raises(GraphAuthError) as info:
            provider.token()
    text = str(info.value)
    assert "AADSTS7000215" in text and "IEPSCHED_CLIENT_SECRET" in text
    assert "Wrong~Secret.Value" not in text and SECRET not in text


@pytest.mark.parametrize("credential", ["secret", "certificate"])
def test_real_msal_gets_a_token_from_the_tls_sandbox(credential: str, pem_file: Path) -> None:
    """https sandbox: msal itself (no instance discovery, sandbox CA) signs in, secret or cert."""
    from iepsched.m365.graph import GraphClient
    from iepsched.sandbox import GraphSandbox

    with GraphSandbox(client_secret=SECRET, tls=True) as sb:
        assert sb.ca_file is not None
        provider = make_token_provider(
            GraphSettings(
                tenant_id="",
                client_id=CLIENT,
                authority=sb.authority,
                endpoint=sb.graph_url,
                certificate_path=pem_file if credential == "certificate" else None,
            ),
            client_secret=SECRET if credential == "secret" else None,
            ca_file=sb.ca_file,
        )
        assert isinstance(provider, AppTokenProvider)
        token = provider.token()
        provider.invalidate()  # no alias look-up at login.microsoftonline.com for a local host
        assert provider.token() != token
        with GraphClient(endpoint=sb.graph_url, tokens=provider, verify=sb.ca_file) as client:
            assert client.get("/users/cm@district.example/events")["value"] == []
        token_requests = sb.stats()["token_requests"]
    assert token_claims(token)["aud"] == sb.base_url
    assert token_requests == 2


# -- the `auth` commands --------------------------------------------------------------------------

FIRST_CM = "cm.rivera@pvsec.example.org"  # the sample roster's first case manager


def auth_cli(tmp_path: Path, sb: Any, *args: str, tasks: str = "todo") -> Any:
    """`iepsched auth ARGS` on the sample config pointed at the sandbox `sb`."""
    from cli_helpers import cli
    from sandbox_config import sandbox_config

    return cli(sandbox_config(tmp_path, sb, tasks=tasks), "auth", *args)


@pytest.fixture
def client_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IEPSCHED_CLIENT_SECRET", "x")


@pytest.mark.usefixtures("client_secret")
def test_auth_status_probes_the_first_case_manager_per_capability(tmp_path: Path) -> None:
    """auth status reads the roster's first case manager's calendar, free/busy and To Do lists."""
    from iepsched.sandbox import GraphSandbox

    with GraphSandbox() as sb:
        result = auth_cli(tmp_path, sb, "status")
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"probed mailbox:  {FIRST_CM} (the roster's first case manager)" in out
    for capability in ("read calendar", "free/busy (getSchedule)", "read To Do lists"):
        assert f"ok       {capability}" in out
    assert "Calendars.ReadWrite: works" in out and "Tasks.ReadWrite.All: works" in out
    assert "Place.Read.All" not in out  # nothing uses rooms' directory: not asked for
    assert "eyJ" not in out  # no JWT (header or payload) is ever printed


@pytest.mark.usefixtures("client_secret")
def test_auth_status_with_calendar_delivery_does_not_ask_for_tasks(tmp_path: Path) -> None:
    """With tasks delivered as calendar items, a token without Tasks.ReadWrite.All is complete."""
    from iepsched.sandbox import GraphSandbox

    with GraphSandbox(roles=["Calendars.ReadWrite"]) as sb:
        result = auth_cli(tmp_path, sb, "status", tasks="calendar")
    assert result.exit_code == 0, result.output
    assert "Tasks" not in result.output
    assert "To Do" not in result.output


@pytest.mark.usefixtures("client_secret")
def test_auth_status_in_to_do_mode_says_to_grant_tasks(tmp_path: Path) -> None:
    """Delivering to To Do without Tasks.ReadWrite.All: the probe is refused, exit 1, and why."""
    from iepsched.sandbox import GraphSandbox

    with GraphSandbox(roles=["Calendars.ReadWrite"]) as sb:
        result = auth_cli(tmp_path, sb, "status", "--mailbox", "cm@d.org")
    assert result.exit_code == 1, result.output
    assert "REFUSED  read To Do lists" in result.output
    assert "Tasks.ReadWrite.All: refused — grant it" in result.output
    assert "Calendars.ReadWrite: works" in result.output


@pytest.mark.usefixtures("client_secret")
def test_auth_status_for_a_mailbox_outside_the_scope(tmp_path: Path) -> None:
    """A mailbox outside the app's RBAC scope: calendar probes refused with Graph's code, exit 1."""
    from iepsched.sandbox import GraphSandbox

    with GraphSandbox(deny_mailboxes=["out@d.org"]) as sb:
        result = auth_cli(tmp_path, sb, "status", "--mailbox", "out@d.org")
    assert result.exit_code == 1, result.output
    assert "REFUSED  read calendar — ErrorAccessDenied" in result.output
    assert "Calendars.ReadWrite: refused — add this mailbox" in result.output


def test_rbac_scoped_access_is_not_reported_as_missing() -> None:
    """Under RBAC for Applications the token has no Calendars role, yet access works: no 'grant'."""
    from iepsched.m365.authstatus import needed_roles, probe_access, role_advice

    class Allowed:
        """A mailbox the RBAC scope covers: every read succeeds."""

        def get(self, url: str, **kw: Any) -> Any:
            return {"value": []}

        def post(self, url: str, **kw: Any) -> Any:
            return {"value": [{"scheduleId": "cm@d.org", "availabilityView": "00"}]}

    status = describe_status(
        jwt({"appid": CLIENT, "tid": TENANT, "roles": ["Tasks.ReadWrite.All"]}),
        authority="a",
        endpoint="e",
    )
    probes = probe_access(
        Allowed(), "cm@d.org", tasks="todo", day=dt.date(2026, 12, 1), timezone="UTC"
    )
    assert all(p.ok for p in probes)
    advice = role_advice(status, probes, needed_roles("todo"))
    assert advice[0].startswith("Calendars.ReadWrite: not in the token, but Graph allowed it")
    assert "refused" not in " ".join(advice)


def test_auth_login_explains_there_is_no_personal_sign_in(tmp_path: Path) -> None:
    """`auth login` exits 2 saying why iepsched signs in only as the app, and what to use."""
    from cli_helpers import SAMPLE, cli

    result = cli(SAMPLE, "auth", "login")
    assert result.exit_code == 2
    assert "no personal sign-in" in result.output and "iepsched doctor" in result.output


def test_auth_logout_removes_a_leftover_sign_in_cache(tmp_path: Path) -> None:
    """An earlier version's token cache (refresh tokens) is deleted by `auth logout`."""
    from cli_helpers import cli
    from hostile import copy_sample

    config = copy_sample(tmp_path)
    cache = config.parent / "state" / "token-cache.json"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("{}", encoding="utf-8")
    first = cli(config, "auth", "logout")
    assert first.exit_code == 0 and "removed" in first.output and not cache.exists()
    again = cli(config, "auth", "logout")
    assert again.exit_code == 0 and "no sign-in cache" in again.output

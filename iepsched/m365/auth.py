"""Token providers for Microsoft Graph (app-only, device code, loopback sandbox).

Secrets come in as arguments: the CLI is the only reader of the environment (STYLE), so this module
never touches ``os.environ``. msal and requests are imported inside the providers, so importing
this module (for ``iepsched --help``) stays cheap.

The local Graph emulator (`iepsched.sandbox`) is reached two ways, both for loopback hosts only:

* ``http://127.0.0.1:PORT/tenant`` — msal refuses any authority that is not ``https``
  (``msal.authority.canonicalize`` raises "should consist of an https url", with or without
  ``instance_discovery=False`` or ``oidc_authority``; checked in msal 1.39). For this authority
  `LoopbackTokenProvider` performs the same client-credentials POST to
  ``{authority}/oauth2/v2.0/token`` itself.
* ``https://127.0.0.1:PORT/tenant`` (``GraphSandbox(tls=True)``) — real msal works, given
  ``instance_discovery=False`` (else it asks login.microsoftonline.com about the unknown host) and
  the sandbox's CA file (`ca_file`), passed on every request because a session-level ``verify``
  loses to ``REQUESTS_CA_BUNDLE`` in requests.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import json
import logging
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from iepsched.core.errors import GraphAuthError, GraphTransportError, Problem, UserError

if TYPE_CHECKING:
    import requests

    from iepsched.m365.graphwire import TokenProvider

__all__ = [
    "DEFAULT_ENDPOINT",
    "AppTokenProvider",
    "AuthStatus",
    "DeviceCodeProvider",
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

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://graph.microsoft.com/v1.0"
DEFAULT_LOGIN_HOST = "https://login.microsoftonline.com"
SECRET_ENV = "IEPSCHED_CLIENT_SECRET"
CERT_PASSWORD_ENV = "IEPSCHED_CERTIFICATE_PASSWORD"

# Entra error codes (AADSTS…) an operator can act on, with what to do about each.
_AADSTS_HINTS: dict[int, str] = {
    7000215: f"the client secret is wrong — set {SECRET_ENV} to the secret's *value* "
    "(not its ID) from the app registration",
    7000222: f"the client secret has expired — create a new one and update {SECRET_ENV}",
    700016: "no app with this client_id exists in this tenant — check client_id and tenant_id, "
    "and that an admin has consented to the app in this tenant",
    90002: "the tenant was not found — check tenant_id and that the authority matches the cloud "
    "(GCC High uses https://login.microsoftonline.us)",
    900023: "tenant_id is not a valid tenant GUID or domain",
    700027: "the certificate was not accepted — upload its public certificate to the app "
    "registration (Certificates & secrets) and check it has not expired",
    700024: "the client assertion is outside its valid time range — check this machine's clock",
    7000218: "the app registration does not allow public client flows — enable 'Allow public "
    "client flows' under Authentication to use device-code sign-in",
    65001: "admin consent has not been granted for the requested permissions",
    500011: "the Graph resource was not found in this tenant — the endpoint and authority may be "
    "in different clouds",
    70011: "the requested scope is invalid — app-only tokens need '<graph endpoint>/.default'",
    53003: "a Conditional Access policy blocked the sign-in",
    50076: "multi-factor authentication is required — sign in again with `iepsched auth login`",
    70043: "the sign-in has expired — sign in again with `iepsched auth login`",
    700082: "the sign-in has expired — sign in again with `iepsched auth login`",
}


# ---------------------------------------------------------------------------------------------
# Pure helpers


def scope_for(endpoint: str) -> str:
    """The app-only scope for a Graph endpoint: its origin + ``/.default``.

    ``https://graph.microsoft.us/v1.0`` → ``https://graph.microsoft.us/.default`` (GCC High); tokens
    are not interchangeable between clouds.
    """
    parts = urlsplit(endpoint)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"Graph endpoint must be an absolute URL, got {endpoint!r}")
    return f"{parts.scheme}://{parts.netloc}/.default"


def default_authority(tenant_id: str) -> str:
    """The public-cloud authority for a tenant (GCC High configures its own)."""
    return f"{DEFAULT_LOGIN_HOST}/{tenant_id}"


def is_loopback_url(url: str) -> bool:
    """True when `url`'s host is this machine: 127.0.0.0/8, ::1 or ``localhost``."""
    host = urlsplit(url).hostname
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _scrub(text: str, *secrets: str | None) -> str:
    """`text` with every given secret replaced, so it can be shown or logged."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


def msal_error(
    result: Mapping[str, Any], *, action: str, secrets: tuple[str | None, ...] = ()
) -> GraphAuthError:
    """A `GraphAuthError` for an msal/Entra error dict, with a hint for the codes we know.

    The description is trimmed at Entra's "Trace ID" boilerplate and scrubbed of the secrets.
    """
    error = str(result.get("error") or "unknown_error")
    description = str(result.get("error_description") or "")
    description = description.split(" Trace ID:")[0].split("\r\n")[0].strip()
    codes = [int(c) for c in result.get("error_codes") or [] if isinstance(c, int)]
    if not codes:
        found = re.search(r"AADSTS(\d+)", description)
        if found:
            codes = [int(found.group(1))]
    hint = next((_AADSTS_HINTS[c] for c in codes if c in _AADSTS_HINTS), "")
    code_text = f"AADSTS{codes[0]}" if codes else ""
    parts = [f"{action} failed ({error}{', ' + code_text if code_text else ''})"]
    if hint:
        parts.append(hint)
    if description:
        parts.append(f"Entra said: {description[:300]}")
    message = _scrub(". ".join(parts), *secrets)
    return GraphAuthError(message, code=code_text or error)


# ---------------------------------------------------------------------------------------------
# JWT inspection (for `iepsched auth status`)


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT access token, decoded WITHOUT verifying its signature.

    Only for reporting what a token grants; Graph does the verifying.
    """
    pieces = token.split(".")
    if len(pieces) < 2:
        raise ValueError("not a JWT access token")
    payload = pieces[1] + "=" * (-len(pieces[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise ValueError("not a JWT access token") from exc
    if not isinstance(claims, dict):
        raise ValueError("not a JWT access token")
    return claims


@dataclass(frozen=True, slots=True)
class AuthStatus:
    """What `iepsched auth status` reports; never the token itself."""

    app_id: str
    tenant: str
    kind: str  # "application" (roles) or "delegated" (scp)
    permissions: tuple[str, ...]
    expires_at: dt.datetime | None  # UTC
    audience: str
    authority: str
    endpoint: str


def describe_status(token: str, *, authority: str, endpoint: str) -> AuthStatus:
    """Summarise a token's claims (app id, tenant, permissions, expiry) with the configuration."""
    claims = token_claims(token)
    roles = claims.get("roles") or []
    scp = claims.get("scp") or ""
    permissions = tuple(sorted(str(r) for r in roles)) if roles else tuple(sorted(scp.split()))
    exp = claims.get("exp")
    expires_at = dt.datetime.fromtimestamp(exp, tz=dt.UTC) if isinstance(exp, int | float) else None
    return AuthStatus(
        app_id=str(claims.get("appid") or claims.get("azp") or ""),
        tenant=str(claims.get("tid") or ""),
        kind="application" if roles else ("delegated" if scp else "unknown"),
        permissions=permissions,
        expires_at=expires_at,
        audience=str(claims.get("aud") or ""),
        authority=authority,
        endpoint=endpoint,
    )


# ---------------------------------------------------------------------------------------------
# Certificates


def _msal_version() -> tuple[int, int]:
    import msal

    nums = re.findall(r"\d+", str(getattr(msal, "__version__", "0.0")))
    major, minor = (int(n) for n in ([*nums, "0", "0"])[:2])
    return major, minor


_PEM_KEY = re.compile(
    r"-----BEGIN (?P<kind>(?:ENCRYPTED |RSA |EC )?PRIVATE KEY)-----.+?-----END (?P=kind)-----",
    re.S,
)
_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def certificate_credential(path: str | os.PathLike[str], password: str | None) -> dict[str, Any]:
    """msal's ``client_credential`` dict for a ``.pfx``/``.p12`` or PEM (key + certificate) file.

    The file is opened here, before any network call, so a wrong path or password is reported as
    a configuration problem naming the key to fix. SHA-256 thumbprints are used whenever the
    installed msal supports them (pfx: ≥1.29; PEM: ≥1.35); older msal gets a SHA-1 thumbprint
    computed with `cryptography`.
    """
    where = "config: certificate_path"
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise UserError(Problem(where, f"cannot read {file}: {exc.strerror or exc}")) from None
    passphrase = password.encode("utf-8") if password else None
    version = _msal_version()
    if file.suffix.lower() in (".pfx", ".p12"):
        from cryptography.hazmat.primitives.serialization import pkcs12

        try:
            key, cert, _ = pkcs12.load_key_and_certificates(raw, passphrase)
        except (ValueError, TypeError):
            raise UserError(
                Problem(
                    where,
                    f"cannot open {file.name}: wrong or missing password ({CERT_PASSWORD_ENV})"
                    " or not a PKCS#12 file",
                )
            ) from None
        if key is None or cert is None:
            raise UserError(
                Problem(where, f"{file.name} must hold both a private key and a certificate")
            )
        cred: dict[str, Any] = {"private_key_pfx_path": str(file)}
        if password:
            cred["passphrase"] = password
        if version >= (1, 30):
            cred["public_certificate"] = True  # send x5c (Subject Name/Issuer auth), msal ≥1.30
        return cred

    text = raw.decode("utf-8", errors="replace")
    key_match = _PEM_KEY.search(text)
    certs = _PEM_CERT.findall(text)
    if not key_match or not certs:
        raise UserError(
            Problem(
                where,
                f"{file.name} must be a PEM file holding the private key and its certificate "
                "(or a .pfx file)",
            )
        )
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    try:
        serialization.load_pem_private_key(key_match.group(0).encode(), passphrase)
        leaf = x509.load_pem_x509_certificate(certs[0].encode())
    except (ValueError, TypeError):
        raise UserError(
            Problem(
                where,
                f"cannot load the key in {file.name}: wrong or missing password "
                f"({CERT_PASSWORD_ENV}) or a malformed PEM file",
            )
        ) from None
    cred = {"private_key": key_match.group(0), "public_certificate": certs[0]}
    if password:
        cred["passphrase"] = password
    if version < (1, 35):
        # Before 1.35 msal needs a thumbprint with a PEM key; SHA-1 is what it then expects.
        cred["thumbprint"] = leaf.fingerprint(hashes.SHA1()).hex().upper()
    return cred


# ---------------------------------------------------------------------------------------------
# Providers


def _session_trusting(ca_file: str, timeout: float) -> Any:
    """A requests session for msal that verifies TLS against `ca_file` on every request."""
    import requests
    from requests.adapters import HTTPAdapter

    class _Session(requests.Session):
        def request(self, *args: Any, **kwargs: Any) -> requests.Response:
            if kwargs.get("verify") in (None, True):
                kwargs["verify"] = ca_file
            kwargs.setdefault("timeout", timeout)
            return super().request(*args, **kwargs)

    session = _Session()
    adapter = HTTPAdapter(max_retries=1)  # what msal mounts on its own session
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class AppTokenProvider:
    """App-only tokens via `msal.ConfidentialClientApplication` (client-credentials grant).

    The msal app is built on first use (its construction already calls the authority) and kept:
    its in-memory cache serves tokens until shortly before expiry.
    """

    def __init__(
        self,
        *,
        client_id: str,
        authority: str,
        scope: str,
        client_credential: str | dict[str, Any],
        app_factory: Callable[..., Any] | None = None,
        timeout: float = 30.0,
        ca_file: str | None = None,
        instance_discovery: bool = True,
    ) -> None:
        self.client_id = client_id
        self.authority = authority
        self.scope = scope
        self._credential = client_credential
        self._factory = app_factory
        self._timeout = timeout
        self._ca_file = ca_file
        self._instance_discovery = instance_discovery
        self._app: Any = None
        self._lock = threading.Lock()

    def _secrets(self) -> tuple[str | None, ...]:
        if isinstance(self._credential, str):
            return (self._credential,)
        return (self._credential.get("passphrase"),)

    def _get_app(self) -> Any:
        if self._app is None:
            factory = self._factory
            if factory is None:
                import msal

                factory = msal.ConfidentialClientApplication
            options: dict[str, Any] = {"timeout": self._timeout, "app_name": "iepsched"}
            if not self._instance_discovery:
                options["instance_discovery"] = False
            if self._ca_file:
                options["http_client"] = _session_trusting(self._ca_file, self._timeout)
            try:
                self._app = factory(
                    self.client_id,
                    client_credential=self._credential,
                    authority=self.authority,
                    **options,
                )
            except ValueError as exc:
                # msal raises ValueError for an authority it cannot use / an unknown tenant.
                text = _scrub(str(exc).split(" Also please")[0], *self._secrets())
                raise GraphAuthError(
                    f"cannot use authority {self.authority}: {text[:300]}. Check tenant_id and "
                    "authority (GCC High: https://login.microsoftonline.us/<tenant>)"
                ) from None
            except OSError as exc:
                raise GraphTransportError(
                    f"cannot reach the sign-in authority {self.authority} ({type(exc).__name__})"
                ) from None
        return self._app

    def token(self) -> str:
        """A valid access token (from msal's cache when possible)."""
        with self._lock:
            app = self._get_app()
            try:
                result = app.acquire_token_for_client(scopes=[self.scope])
            except OSError as exc:  # requests' errors are OSErrors
                raise GraphTransportError(
                    f"cannot reach the sign-in authority {self.authority} ({type(exc).__name__})"
                ) from None
        if not isinstance(result, dict) or "access_token" not in result:
            raise msal_error(result or {}, action="App sign-in", secrets=self._secrets())
        return str(result["access_token"])

    def invalidate(self) -> None:
        """Drop cached app tokens so the next `token` asks Entra for a fresh one."""
        with self._lock:
            app = self._app
            if app is None:
                return
            try:
                app.remove_tokens_for_client()
            except (OSError, ValueError, KeyError) as exc:
                # msal looks up authority aliases over the network first; when that fails, remove
                # this client's app-only access tokens from its cache directly.
                log.debug(
                    "remove_tokens_for_client failed (%s); clearing the cache directly",
                    type(exc).__name__,
                )
                cache = app.token_cache
                query = {"client_id": self.client_id, "home_account_id": None}
                for at in list(cache.search(cache.CredentialType.ACCESS_TOKEN, query=query)):
                    cache.remove_at(at)


class LoopbackTokenProvider:
    """Client-credentials tokens from the local Graph emulator (loopback hosts only).

    Exists because msal refuses non-https authorities (see module docstring). It refuses any
    authority whose host is not 127.0.0.0/8, ::1 or localhost, so it can never send a secret over
    plain HTTP to another machine.
    """

    def __init__(
        self,
        *,
        client_id: str,
        authority: str,
        scope: str,
        client_secret: str,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        timeout: tuple[float, float] = (5.0, 30.0),
    ) -> None:
        if not is_loopback_url(authority):
            raise ValueError(
                f"LoopbackTokenProvider only talks to a loopback authority, not {authority!r}"
            )
        self.client_id = client_id
        self.authority = authority.rstrip("/")
        self.scope = scope
        self._secret = client_secret
        self._session = session
        self._clock = clock
        self._timeout = timeout
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    @property
    def token_endpoint(self) -> str:
        return f"{self.authority}/oauth2/v2.0/token"

    def token(self) -> str:
        """A cached token, refreshed a little before it expires."""
        with self._lock:
            if self._token is not None and self._clock() < self._expires:
                return self._token
            import requests

            session = self._session or requests.Session()
            try:
                resp = session.post(
                    self.token_endpoint,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": self.client_id,
                        "client_secret": self._secret,
                        "scope": self.scope,
                    },
                    headers={"Accept": "application/json"},
                    timeout=self._timeout,
                )
            except requests.RequestException as exc:
                raise GraphTransportError(
                    f"cannot reach the sandbox authority {self.authority} ({type(exc).__name__})"
                ) from None
            finally:
                if self._session is None:
                    session.close()
            try:
                result = resp.json()
            except ValueError:
                result = {}
            if resp.status_code != 200 or "access_token" not in result:
                if not isinstance(result, dict) or "error" not in result:
                    result = {"error": f"http_{resp.status_code}"}
                raise msal_error(result, action="Sandbox sign-in", secrets=(self._secret,))
            lifetime = float(result.get("expires_in") or 3600)
            # Refresh early, as msal does, so a token never expires mid-request.
            self._expires = self._clock() + max(0.0, lifetime - min(300.0, lifetime / 2))
            self._token = str(result["access_token"])
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token."""
        with self._lock:
            self._token = None
            self._expires = 0.0


class DeviceCodeProvider:
    """Delegated tokens for ``iepsched auth login`` via the device-code flow.

    The msal token cache is persisted to `cache_path` with mode 0600 (it holds refresh tokens).
    The sign-in instructions go to the caller's `prompt`; the library never prints.
    """

    def __init__(
        self,
        *,
        client_id: str,
        authority: str,
        scopes: list[str],
        cache_path: str | os.PathLike[str],
        prompt: Callable[[str], None] | None = None,
        username: str | None = None,
        app_factory: Callable[..., Any] | None = None,
        cache_factory: Callable[[], Any] | None = None,
    ) -> None:
        reserved = {"openid", "profile", "offline_access"} & {s.lower() for s in scopes}
        if reserved:
            # msal adds these itself and raises ValueError when they are passed in.
            raise ValueError(f"do not pass {sorted(reserved)} scopes; msal adds them")
        self.client_id = client_id
        self.authority = authority
        self.scopes = list(scopes)
        self.cache_path = Path(cache_path)
        self.prompt = prompt
        self.username = username
        self._app_factory = app_factory
        self._cache_factory = cache_factory
        self._app: Any = None
        self._cache: Any = None
        self._force_refresh = False
        self._lock = threading.Lock()

    # -- cache file ----------------------------------------------------------------------------

    def _load_cache(self) -> Any:
        if self._cache_factory is not None:
            cache = self._cache_factory()
        else:
            import msal

            cache = msal.SerializableTokenCache()
        path = self.cache_path
        if path.exists():
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                os.chmod(path, 0o600)
                log.warning(
                    "token cache %s was readable by other users (mode %o); restricted it to 0600",
                    path,
                    mode,
                )
            cache.deserialize(path.read_text(encoding="utf-8"))
        return cache

    def _save_cache(self) -> None:
        if self._cache is None or not self._cache.has_state_changed:
            return
        path = self.cache_path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        # Created 0600 from the first byte (never world-readable, even briefly), then renamed over
        # the old file so a crash cannot leave half a cache.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # O_CREAT's mode is ignored if tmp already existed
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(self._cache.serialize())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, path)

    def _get_app(self) -> Any:
        if self._app is None:
            self._cache = self._load_cache()
            factory = self._app_factory
            if factory is None:
                import msal

                factory = msal.PublicClientApplication
            self._app = factory(self.client_id, authority=self.authority, token_cache=self._cache)
        return self._app

    # -- tokens --------------------------------------------------------------------------------

    def _silent(self) -> str | None:
        app = self._get_app()
        accounts = app.get_accounts(username=self.username) if self.username else app.get_accounts()
        if not accounts:
            return None
        result = app.acquire_token_silent(
            self.scopes, account=accounts[0], force_refresh=self._force_refresh
        )
        self._save_cache()
        if result and "access_token" in result:
            self._force_refresh = False
            return str(result["access_token"])
        return None

    def login(self) -> str:
        """Sign in: the cached account if it still works, else the device-code flow."""
        return self.token()

    def _device_flow(self) -> str:
        if self.prompt is None:
            raise GraphAuthError(
                "not signed in (or the sign-in expired); run `iepsched auth login` first"
            )
        app = self._get_app()
        flow = app.initiate_device_flow(scopes=self.scopes)
        if "user_code" not in flow:
            raise msal_error(flow, action="Starting device-code sign-in")
        self.prompt(str(flow.get("message", "")))
        result = app.acquire_token_by_device_flow(flow)
        self._save_cache()
        if not result or "access_token" not in result:
            raise msal_error(result or {}, action="Device-code sign-in")
        self._force_refresh = False
        return str(result["access_token"])

    def token(self) -> str:
        """A token for the signed-in account; runs the device flow only if a prompt was given."""
        with self._lock:
            found = self._silent()
            if found is not None:
                return found
            return self._device_flow()

    def invalidate(self) -> None:
        """Make the next `token` refresh instead of reusing the cached access token."""
        with self._lock:
            self._force_refresh = True

    def logout(self) -> None:
        """Remove every account from the cache file."""
        with self._lock:
            app = self._get_app()
            for account in app.get_accounts():
                app.remove_account(account)
            self._save_cache()


# ---------------------------------------------------------------------------------------------
# Factory


def make_token_provider(
    *,
    tenant_id: str,
    client_id: str,
    authority: str | None = None,
    endpoint: str = DEFAULT_ENDPOINT,
    certificate_path: str | os.PathLike[str] | None = None,
    client_secret: str | None = None,
    certificate_password: str | None = None,
    ca_file: str | None = None,
    app_factory: Callable[..., Any] | None = None,
) -> TokenProvider:
    """The app-only token provider the configuration asks for.

    A certificate is preferred over a secret; both go through msal. The local sandbox: a plain
    ``http://`` loopback authority gets `LoopbackTokenProvider` (msal refuses http) and needs a
    secret; an ``https://`` loopback authority uses msal without instance discovery, trusting
    `ca_file`. Sandbox and Microsoft settings cannot be mixed, so a real token is never handed to
    a local process nor a sandbox secret sent to Entra. `tenant_id` may be empty when
    `authority` is given. Raises `UserError` naming the config key or environment variable to fix.
    """
    problems: list[Problem] = []
    if not tenant_id and not authority:
        problems.append(
            Problem("config: tenant_id", "missing (the directory/tenant id of the district)")
        )
    if not client_id:
        problems.append(
            Problem("config: client_id", "missing (the app registration's application id)")
        )
    authority = (authority or (default_authority(tenant_id) if tenant_id else "")).rstrip("/")
    loopback = bool(authority) and is_loopback_url(authority)
    plain_http = urlsplit(authority).scheme == "http"
    if authority:
        parts = urlsplit(authority)
        if not parts.netloc or len(parts.path.strip("/")) == 0:
            problems.append(
                Problem(
                    "config: authority", f"{authority!r} must look like https://<host>/<tenant>"
                )
            )
        elif parts.scheme != "https" and not (loopback and plain_http):
            problems.append(
                Problem(
                    "config: authority", "must use https (plain http only for a loopback sandbox)"
                )
            )
    try:
        scope = scope_for(endpoint)
    except ValueError as exc:
        problems.append(Problem("config: endpoint", str(exc)))
        scope = ""
    if authority and endpoint and is_loopback_url(endpoint) != loopback:
        problems.append(
            Problem(
                "config: authority / endpoint",
                "both must point at the local sandbox (127.0.0.1) or both at Microsoft; "
                f"got authority {authority} and endpoint {endpoint}",
            )
        )
    if loopback and plain_http and not client_secret:
        problems.append(
            Problem(
                f"env {SECRET_ENV}",
                "the plain-http sandbox signs in with a client secret only; set it",
            )
        )
    if not (loopback and plain_http) and not certificate_path and not client_secret:
        problems.append(
            Problem(
                "config: certificate_path",
                f"no credential: set certificate_path (preferred) or the {SECRET_ENV} "
                "environment variable",
            )
        )
    if problems:
        raise UserError(problems)

    if loopback and plain_http:
        assert client_secret is not None
        return LoopbackTokenProvider(
            client_id=client_id, authority=authority, scope=scope, client_secret=client_secret
        )
    credential: str | dict[str, Any]
    if certificate_path:
        credential = certificate_credential(certificate_path, certificate_password)
    else:
        assert client_secret is not None
        credential = client_secret
    return AppTokenProvider(
        client_id=client_id,
        authority=authority,
        scope=scope,
        client_credential=credential,
        app_factory=app_factory,
        ca_file=ca_file,
        # Instance discovery asks login.microsoftonline.com to vouch for the host: pointless (and
        # offline-hostile) for the sandbox on this machine, worthwhile for anything else.
        instance_discovery=not loopback,
    )

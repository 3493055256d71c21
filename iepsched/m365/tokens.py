"""App-only token providers for Microsoft Graph: msal, and the loopback sandbox.

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

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from iepsched.core.errors import GraphAuthError, GraphTransportError

from .entra import is_loopback_url, msal_error, scrub

if TYPE_CHECKING:
    import requests

__all__ = ["AppTokenProvider", "LoopbackTokenProvider"]

log = logging.getLogger(__name__)


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
                text = scrub(str(exc).split(" Also please")[0], *self._secrets())
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

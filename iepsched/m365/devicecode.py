"""Delegated sign-in with a device code, for ``iepsched auth login`` (token cache at mode 0600)."""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from iepsched.core.errors import GraphAuthError

from .entra import msal_error

__all__ = ["DeviceCodeProvider"]

log = logging.getLogger(__name__)


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

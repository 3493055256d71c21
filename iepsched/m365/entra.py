"""Microsoft Entra sign-in basics: scopes and authorities, Entra's errors, certificate credentials.

Used by the app-only token providers (`tokens`). Secrets come in as arguments: the CLI is
the only reader of the environment (STYLE); the variable names are `core.settings`'s.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from iepsched.core.errors import GraphAuthError, Problem, UserError
from iepsched.core.settings import CERTIFICATE_PASSWORD_ENV, CLIENT_SECRET_ENV

__all__ = [
    "DEFAULT_LOGIN_HOST",
    "certificate_credential",
    "default_authority",
    "is_loopback_url",
    "msal_error",
    "scope_for",
    "scrub",
]

DEFAULT_LOGIN_HOST = "https://login.microsoftonline.com"

# Entra error codes (AADSTS…) an operator can act on, with what to do about each.
_AADSTS_HINTS: dict[int, str] = {
    7000215: f"the client secret is wrong — set {CLIENT_SECRET_ENV} to the secret's *value* "
    "(not its ID) from the app registration",
    7000222: f"the client secret has expired — create a new one and update {CLIENT_SECRET_ENV}",
    700016: "no app with this client_id exists in this tenant — check client_id and tenant_id, "
    "and that an admin has consented to the app in this tenant",
    90002: "the tenant was not found — check tenant_id and that the authority matches the cloud "
    "(GCC High uses https://login.microsoftonline.us)",
    900023: "tenant_id is not a valid tenant GUID or domain",
    700027: "the certificate was not accepted — upload its public certificate to the app "
    "registration (Certificates & secrets) and check it has not expired",
    700024: "the client assertion is outside its valid time range — check this machine's clock",
    65001: "admin consent has not been granted for the requested permissions",
    500011: "the Graph resource was not found in this tenant — the endpoint and authority may be "
    "in different clouds",
    70011: "the requested scope is invalid — app-only tokens need '<graph endpoint>/.default'",
    53003: "a Conditional Access policy blocked the sign-in",
}


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


def scrub(text: str, *secrets: str | None) -> str:
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
    message = scrub(". ".join(parts), *secrets)
    return GraphAuthError(message, code=code_text or error)


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


def certificate_credential(
    path: str | os.PathLike[str],
    password: str | None,
    *,
    where: str = "[graph] certificate_path",
) -> dict[str, Any]:
    """msal's ``client_credential`` dict for a ``.pfx``/``.p12`` or PEM (key + certificate) file.

    The file is opened here, before any network call, so a wrong path or password is reported as
    a configuration problem naming the key to fix (`where`: file, section and key). SHA-256
    thumbprints are used whenever the installed msal supports them (pfx: ≥1.29; PEM: ≥1.35);
    older msal gets a SHA-1 thumbprint computed with `cryptography`.
    """
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
                    f"cannot open {file.name}: wrong or missing password "
                    f"({CERTIFICATE_PASSWORD_ENV}) or not a PKCS#12 file",
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
                f"({CERTIFICATE_PASSWORD_ENV}) or a malformed PEM file",
            )
        ) from None
    cred = {"private_key": key_match.group(0), "public_certificate": certs[0]}
    if password:
        cred["passphrase"] = password
    if version < (1, 35):
        # Before 1.35 msal needs a thumbprint with a PEM key; SHA-1 is what it then expects.
        cred["thumbprint"] = leaf.fingerprint(hashes.SHA1()).hex().upper()
    return cred

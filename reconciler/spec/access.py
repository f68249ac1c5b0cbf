"""How a target is reached, in a spec: its URL, the CAs it is trusted with, its credentials
(the names of the environment variables that hold them, never the secrets themselves)."""

from __future__ import annotations

import ipaddress
import re
import ssl
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import idna

from reconciler.core.config import Auth
from reconciler.core.model import Json
from reconciler.core.urls import shown_url
from reconciler.spec.checks import CheckBase
from reconciler.spec.source import PathKey

AUTH_FIELDS: Mapping[str, tuple[str, ...]] = {
    "none": (),
    "bearer": ("token_env",),
    "basic": ("username_env", "password_env"),
    "oauth2_client_credentials": ("token_url", "client_id_env", "client_secret_env"),
}
AUTH_OPTIONAL: Mapping[str, tuple[str, ...]] = {
    "oauth2_client_credentials": ("scope", "token_endpoint_auth_method")
}
TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
# POSIX names (IEEE Std 1003.1, 8.1), in any case; a token (a JWT's dots, a key's dashes)
# written where a name belongs is not one.
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NO_PEM = (
    "holds no PEM certificate that can be read (empty, DER, damaged or the wrong file): "
    "give a PEM file of the CA certificates to trust"
)


class AccessRules(CheckBase):
    def _check_url(self, path: PathKey, url: str, allow_http: bool) -> bool:
        """Whether `url` can be read as a URL at all (what else is wrong is reported).

        Every URL of a spec, the target's and the token endpoint's, passes here.
        """
        odd = next((c for c in url if c.isspace() or unicodedata.category(c)[0] == "C"), None)
        if odd is not None:
            # urlsplit drops tabs and line breaks (WHATWG) and read the URL as fine; the HTTP
            # client refuses them, and plan ended as a bug. A block scalar (`url: |`) ends in one.
            hint = ", a line break such as `url: |` leaves" if odd in "\r\n" else ""
            self.error(
                path,
                f"the URL holds whitespace or a control character ({odd!r} at position "
                f"{url.index(odd) + 1}{hint}): write the URL alone, on one line",
            )
            return False
        try:
            parts = urlsplit(url)
        except ValueError:
            self.error(
                path,
                "not a URL: a '[' or ']' in its host is unmatched or holds no IPv6 address "
                "(written as in https://[2001:db8::1]/scim/v2)",
            )
            return False
        try:
            # urlsplit reads the port only when asked: unread, `:abc` or `:99999` passed
            # validate, and the HTTP client refused the URL in plan (a crash, exit 3).
            port = parts.port
        except ValueError:
            port = 0
        if port == 0:
            self.error(path, "the URL's port is not a number from 1 to 65535")
            return False
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.error(path, f"expected an http(s) URL, got {shown_url(url)!r}")
        elif not parts.hostname.isascii():
            # A host in another script can pass for a known one (a Cyrillic o, U+043E, in `okta`)
            # while the requests, and the credentials, go to its xn-- form: a different
            # domain. Written in that form, a reviewer sees which domain it is.
            self.error(path, f"the host is not ASCII: {_ascii_host(parts.hostname)}")
        elif parts.username is not None or parts.password is not None:
            # Credentials in the URL would sit in Git, and in every plan, PR comment and log
            # line that names the target; they go in `auth`, read from the environment.
            self.error(path, "the URL carries credentials (user:password@): give them in auth")
        elif parts.scheme == "http" and not _is_loopback(parts.hostname) and not allow_http:
            self.error(
                path,
                "https is required except for loopback addresses "
                "(allow_http: true overrides this, sending tokens in clear text)",
            )
        return True

    def ca_bundle(self, path: PathKey, value: Json) -> str | None:
        """A PEM file of CA certificates, relative to the spec file that names it."""
        if value is None or not self.string(path, value, nullable=False):
            return None
        where = Path(self.loc(path).file).parent / str(value)
        if not where.is_file():
            self.error(path, f"CA bundle {value!r} not found (looked for {where.as_posix()})")
            return None
        try:
            # Loaded as the run loads it: a file with no PEM certificate in it (empty, DER,
            # damaged, the wrong file) passed here, then stopped plan in TLS set-up.
            ssl.create_default_context(cafile=where.as_posix())
        except ssl.SSLError:
            self.error(path, f"CA bundle {value!r} {NO_PEM}")
            return None
        except OSError as exc:
            self.error(path, f"CA bundle {value!r} cannot be read ({exc.strerror})")
            return None
        return where.as_posix()

    def auth(self, path: PathKey, body: Json, allow_http: bool) -> Auth:
        if not isinstance(body, dict):
            self.error(path, "expected a mapping such as {type: bearer, token_env: NAME}")
            return Auth()
        kind = self.choice((*path, "type"), body.get("type"), tuple(AUTH_FIELDS))
        if kind is None:
            return Auth()
        required = AUTH_FIELDS[kind]
        allowed = ("type", *required, *AUTH_OPTIONAL.get(kind, ()))
        for key, value in body.items():
            if key not in allowed:
                if key in ("token", "password", "client_secret", "username", "client_id"):
                    self.error(
                        (*path, key),
                        "secrets are never written in specs (secrets come from environment "
                        f"variables: use {key}_env)",
                    )
                else:
                    self.unknown(path, key, allowed, f"{kind} auth setting")
            elif (
                key != "type"
                and self.string((*path, key), value, nullable=False)
                and key.endswith("_env")
                and not ENV_NAME.fullmatch(str(value))
            ):
                # What is there may be the secret itself, pasted by mistake: never shown.
                self.error(
                    (*path, key),
                    "not the name of an environment variable (letters, digits and _, not "
                    "starting with a digit); give the name of the variable that holds the "
                    "secret, never the secret (the value is not shown here)",
                )
        for key in required:
            if key not in body:
                self.error(path, f"{kind} auth needs '{key}'")
        token_url = body.get("token_url")
        if kind == "oauth2_client_credentials" and isinstance(token_url, str) and token_url:
            # The client secret goes there: the same rules as the target's own URL.
            self._check_url((*path, "token_url"), token_url, allow_http)
        method = body.get("token_endpoint_auth_method")
        if method is not None and "token_endpoint_auth_method" in allowed:
            self.choice((*path, "token_endpoint_auth_method"), method, TOKEN_ENDPOINT_AUTH_METHODS)
        fields = {k: v for k, v in body.items() if k in allowed and k != "type"}
        return Auth(type=kind, **{k: str(v) for k, v in fields.items()})


def _ascii_host(host: str) -> str:
    """What to write instead of a non-ASCII host: its IDNA form, the one the HTTP client
    connects to (IDNA 2008, as httpx2 encodes it), or why there is none."""
    try:
        return f"write it as {idna.encode(host).decode('ascii')!r} if that is the host meant"
    except idna.IDNAError:
        return "it has no IDNA (xn--) form either; check the letters"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
